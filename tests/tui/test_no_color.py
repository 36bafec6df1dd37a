"""Under NO_COLOR, at 80×24: what the closing confirmation's buttons say is readable and their
state shows without colour."""

from __future__ import annotations

import pytest
from conftest import OWNER
from pilot_kit import SIZE, press, run, sign_in

pytestmark = pytest.mark.sqlite_only(
    "screen behaviour; the services under it run on both backends (service tests, and the PostgreSQL Pilot "
    "runs of contacts, closing, team, import, download, lists, messages)"
)


def _luminance(color) -> float:
    def channel(c: int) -> float:
        c /= 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = color.get_truecolor()
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(style) -> float:
    """WCAG contrast ratio between a segment's text and background colours."""
    lighter, darker = sorted((_luminance(style.color), _luminance(style.bgcolor)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def label_segments(app, widget) -> list:
    """The segments drawn for ``widget``'s label, as the terminal receives them (NO_COLOR's
    filter applied): those of its row, within its columns, holding its text."""
    region = widget.region
    label = str(widget.label)
    segments, x = [], 0
    for segment in app.screen._compositor.render_strips()[region.y]:
        end = x + segment.cell_length
        if x < region.right and end > region.x and segment.text.strip() and segment.text.strip() in label:
            segments.append(segment)
        x = end
    assert "".join(s.text for s in segments).strip() == label, segments
    return segments


@run
async def test_the_disabled_delete_button_is_readable_and_told_apart_without_colour(demo_url, monkeypatch):
    from textual.widgets import Button

    from crm_tui.tui.app import CrmApp
    from crm_tui.tui.screens.close_confirm import CloseConfirmScreen

    monkeypatch.setenv("NO_COLOR", "1")
    app = CrmApp(database_url=demo_url)
    async with app.run_test(size=SIZE) as pilot:
        assert app.no_color
        await sign_in(pilot, OWNER)
        await press(pilot, "p", "down", "enter", "end", "enter")
        screen = app.screen
        assert isinstance(screen, CloseConfirmScreen)
        delete = screen.query_one("#close-delete", Button)
        assert delete.disabled

        for segment in label_segments(app, delete):
            assert segment.style.bold
            assert contrast(segment.style) >= 7, segment  # grey on grey before: 2.8
        disabled_background = label_segments(app, delete)[0].style.bgcolor

        # the focused Cancel is reversed; once the name matches, Delete is a block of its own
        for segment in label_segments(app, screen.query_one("#close-cancel", Button)):
            assert segment.style.reverse
        await press(pilot, "tab", *"Acme Realty")
        assert not delete.disabled
        enabled = label_segments(app, delete)
        assert all(s.style.bgcolor != disabled_background for s in enabled)
        assert all(contrast(s.style) >= 4.5 for s in enabled)
