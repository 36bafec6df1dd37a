"""Regressions found walking every screen at 80×24 with the keyboard alone."""

from __future__ import annotations

from conftest import OWNER, PLAYER
from pilot_kit import SIZE, press, run, settle, sign_in, static_text  # noqa: F401


@run
async def test_signing_out_over_visited_sections_returns_to_sign_in(demo_url):
    """Signing out pops every screen; those that reload on resume must not query the
    database for a session that no longer exists (the app used to crash here)."""
    from crm_tui.tui.app import CrmApp
    from crm_tui.tui.screens.signin import SignInScreen

    app = CrmApp(database_url=demo_url)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot, PLAYER)
        await press(pilot, "1")  # Contacts, Calendar, To-Dos reload when uncovered
        await press(pilot, "2")
        await press(pilot, "3")
        await press(pilot, "4")
        await press(pilot, "p", "up", "enter")  # the last item: Sign Out
        assert isinstance(app.screen, SignInScreen)
        assert "You signed out." in static_text(app.screen, "#signin-message")
        await sign_in(pilot, OWNER)  # and the app still works
