"""Contact Support, as shown at 80×24."""

from __future__ import annotations

import pytest
from conftest import OWNER
from pilot_kit import SIZE, run, sign_in
from test_closing_flow import open_from_profile_menu


@pytest.mark.sqlite_only("how a screen wraps its text: nothing here depends on the database")
@pytest.mark.parametrize("size", [SIZE, (120, 40)], ids=["80x24", "120x40"])
def test_a_paragraph_is_wrapped_at_the_screen_width(demo_url, size):
    """The paragraph asking to write before closing was broken by hand after "we": at 80
    columns "we" stood alone on a line, then the rest. Now each line holds as many words as fit."""
    from textual.widgets import Static

    from crm_tui.tui.app import CrmApp
    from crm_tui.tui.screens.support import SupportScreen

    async def body():
        app = CrmApp(database_url=demo_url)
        async with app.run_test(size=size) as pilot:
            await sign_in(pilot, OWNER)
            await open_from_profile_menu(pilot, "support")
            assert isinstance(app.screen, SupportScreen)
            text = app.screen.query(Static).last()
            lines = [strip.text.rstrip() for strip in text.render_lines(text.size.region)]
            start = next(i for i, line in enumerate(lines) if line.startswith("Before you close"))
            end = next(i for i in range(start, len(lines)) if lines[i].endswith("better."))
            paragraph = lines[start : end + 1]
            assert " ".join(paragraph) == (
                "Before you close your account, write to us: many issues can be resolved, and we "
                "may find a plan that fits your needs better."
            )
            width = text.size.width
            for line, after in zip(paragraph, paragraph[1:], strict=False):
                assert len(line) + 1 + len(after.split()[0]) > width, (line, after)  # the next word did not fit
            assert all(len(line) <= size[0] for line in lines)

    run(body())
