"""ctrl+c quits, as terminal users expect, from every screen, unless text is selected (then it
copies the selection, and the app stays)."""

from __future__ import annotations

import pytest
from conftest import OWNER
from pilot_kit import SIZE, run, settle, sign_in

pytestmark = pytest.mark.sqlite_only(
    "screen behaviour; the services under it run on both backends (service tests, and the PostgreSQL Pilot "
    "runs of contacts, closing, team, import, download, lists, messages)"
)


def test_ctrl_c_quits_from_the_sign_in_screen(demo_url):
    from crm_tui.tui.app import CrmApp

    async def body():
        app = CrmApp(database_url=demo_url)
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            assert app.focused is not None and app.focused.id == "email"
            await pilot.press("ctrl+c")
            await pilot.pause()
            assert not app.is_running

    run(body())


def test_ctrl_c_quits_from_a_section_and_from_a_modal(demo_url):
    from crm_tui.tui.app import CrmApp
    from crm_tui.tui.screens.profile_menu import ProfileMenu

    async def body():
        app = CrmApp(database_url=demo_url)
        async with app.run_test(size=SIZE) as pilot:
            await sign_in(pilot, OWNER)
            await pilot.press("1", "p")
            await settle(pilot)
            assert isinstance(app.screen, ProfileMenu)
            await pilot.press("ctrl+c")
            await pilot.pause()
            assert not app.is_running

    run(body())


def test_ctrl_c_with_text_selected_in_a_field_copies_and_stays(demo_url):
    from textual.widgets import Input
    from textual.widgets.input import Selection

    from crm_tui.tui.app import CrmApp

    async def body():
        app = CrmApp(database_url=demo_url)
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            field = app.screen.query_one("#email", Input)
            field.value = "dana@acme-realty.example"
            field.selection = Selection(0, 4)
            await pilot.press("ctrl+c")
            await settle(pilot)
            assert app.is_running
            assert app.clipboard == "dana"

    run(body())
