"""The keys help (?) at 80×24: every key of a screen with many keys can be scrolled into view
from the keyboard, and ? or Esc closes it."""

from __future__ import annotations

import pytest
from conftest import OWNER
from pilot_kit import SIZE, press, run, settle, sign_in

pytestmark = pytest.mark.sqlite_only(
    "screen behaviour; the services under it run on both backends (service tests, and the PostgreSQL Pilot "
    "runs of contacts, closing, team, import, download, lists, messages)"
)


def terminal_lines(app) -> list[str]:
    return ["".join(seg.text for seg in line) for line in app.screen._compositor.render_strips()]


def row_text(row) -> str:
    """How a row starts on the terminal: its keys, a space, the first word of what they do."""
    return f"{row.shown} {row.description.split()[0]}"


@run
async def test_every_key_of_contacts_is_scrolled_into_view_by_keys_at_80x24(demo_url):
    from textual.containers import VerticalScroll

    from crm_tui.tui.app import CrmApp
    from crm_tui.tui.screens.contacts import ContactsScreen
    from crm_tui.tui.screens.keys_help import KeysScreen, key_rows

    app = CrmApp(database_url=demo_url)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot, OWNER)
        await press(pilot, "1")
        contacts = app.screen
        assert isinstance(contacts, ContactsScreen)
        expected = key_rows(contacts)
        # every key the screen answers to (but Textual's system keys) has its row
        bound = {key for key, (_ns, b, _e, _t) in contacts.active_bindings.items() if not b.system and b.description}
        assert bound == {key for row in expected for key in row.keys}
        assert {"space", "enter", "g", "slash", "n", "question_mark", "ctrl+q"} <= bound

        await press(pilot, "question_mark")
        keys = app.screen
        assert isinstance(keys, KeysScreen)
        assert keys.rows == expected
        listing = keys.query_one("#keys-list", VerticalScroll)
        assert app.focused is listing
        assert listing.max_scroll_y > 0  # more keys than rows: the list has to scroll

        seen: set[str] = set()
        for step in range(len(expected) + 1):
            screen_text = "\n".join(terminal_lines(app))
            seen |= {row_text(row) for row in expected if row_text(row) in screen_text}
            if listing.scroll_y >= listing.max_scroll_y:
                break
            await press(pilot, "down" if step % 2 else "pagedown")
        assert seen == {row_text(row) for row in expected}
        assert listing.scroll_y == listing.max_scroll_y
        await press(pilot, "home")
        assert listing.scroll_y == 0

        await press(pilot, "question_mark")  # ? again closes it
        assert app.screen is contacts
        await press(pilot, "question_mark", "escape")  # and so does Esc
        assert app.screen is contacts


@run
async def test_keys_from_the_command_palette_opens_the_same_panel(demo_url):
    from crm_tui.tui.app import CrmApp
    from crm_tui.tui.screens.keys_help import KeysScreen, key_rows

    app = CrmApp(database_url=demo_url)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot, OWNER)
        dashboard = app.screen
        expected = key_rows(dashboard)
        await press(pilot, "ctrl+p")
        await pilot.press(*"Keys")
        await settle(pilot)
        await press(pilot, "enter")
        assert isinstance(app.screen, KeysScreen)
        assert app.screen.rows == expected
        assert not dashboard.query("HelpPanel")
        await press(pilot, "escape")
        assert app.screen is dashboard
