"""Automation → Messages → Settings at 80×24: the owner cancels Messages; an administrator
sees the settings without the button."""

from __future__ import annotations

import pytest
from conftest import ADMIN, OWNER, PASSWORDS
from pilot_kit import burst, press, rows, run, settle, sign_in, static_text  # noqa: F401

SIZE = (80, 24)


async def open_messages(pilot) -> None:
    from crm_tui.tui.screens.messages import MessagesScreen

    await press(pilot, "4", "down", "down", "enter")
    assert isinstance(pilot.app.screen, MessagesScreen), pilot.app.screen


def texts(engine) -> int:
    return rows(
        engine, "SELECT count(*) FROM text_message t JOIN account a ON a.id = t.account_id WHERE a.name = 'Acme Realty'"
    )[0][0]


@run
async def test_owner_permanently_cancels_messages(demo_url):
    from crm_tui.tui.app import CrmApp
    from crm_tui.tui.widgets.confirm import ConfirmModal

    app = CrmApp(database_url=demo_url)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot, OWNER)
        await open_messages(pilot)
        settings = static_text(app.screen, "#messages-settings")
        assert "Active" in settings and "$25.00" in settings and "18 sent, 12 received" in settings
        assert "cancel it separately in your Twilio account" in static_text(app.screen, "#twilio-note")
        assert texts(app.engine) == 30
        await press(pilot, "x")
        # "Enter your password to confirm": typing goes to the password field
        assert isinstance(app.screen, ConfirmModal) and app.focused.id == "confirm-password"
        body = str(app.screen.query_one("#confirm-body Static").visual)
        assert "30 text messages" in body and "Twilio" in body
        await press(pilot, "escape")  # backs out; nothing deleted
        assert texts(app.engine) == 30
        await press(pilot, "x", "enter")  # Enter in the empty field: Cancel, the default
        assert not isinstance(app.screen, ConfirmModal)
        assert texts(app.engine) == 30
        await press(pilot, "x", *"wrong-password", "enter", "enter")
        assert isinstance(app.screen, ConfirmModal)
        assert "password" in static_text(app.screen, "#confirm-error").lower()
        assert texts(app.engine) == 30
        await press(pilot, *PASSWORDS[OWNER], "enter", "enter")
        await settle(pilot)
        assert not isinstance(app.screen, ConfirmModal)
        assert texts(app.engine) == 0
        assert rows(
            app.engine,
            "SELECT m.status, m.monthly_fee_cents FROM messages_service m JOIN account a "
            "ON a.id = m.account_id WHERE a.name = 'Acme Realty'",
        )[0] == ("cancelled", 0)
        settings = static_text(app.screen, "#messages-settings")
        assert "Cancelled" in settings and "0 sent, 0 received" in settings
        assert app.screen.query_one("#cancel-messages").disabled


@pytest.mark.sqlite_only("keys, focus and what a role is offered on a screen: nothing here depends on the database")
@run
async def test_a_password_typed_ahead_lands_in_the_field(demo_url):
    """The dialog opens on the password field; a password sent in one burst reaches it, and
    from Cancel "Shift+Tab, password" does too (not lost on a button)."""
    from textual.widgets import Input

    from crm_tui.tui.app import CrmApp
    from crm_tui.tui.widgets.confirm import ConfirmModal

    app = CrmApp(database_url=demo_url)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot, OWNER)
        await open_messages(pilot)
        await press(pilot, "x")
        field = app.screen.query_one("#confirm-password", Input)
        assert isinstance(app.screen, ConfirmModal) and app.focused is field
        burst(app, PASSWORDS[OWNER])
        await settle(pilot)
        assert field.value == PASSWORDS[OWNER] and app.focused is field
        field.value = ""
        await press(pilot, "tab")
        assert app.focused.id == "cancel"
        burst(app, "shift+tab", PASSWORDS[OWNER])
        await settle(pilot)
        await settle(pilot)
        assert field.value == PASSWORDS[OWNER] and app.focused is field
        assert texts(app.engine) == 30


@pytest.mark.sqlite_only("keys, focus and what a role is offered on a screen: nothing here depends on the database")
@run
async def test_administrator_sees_settings_but_cannot_cancel(demo_url):
    from crm_tui.tui.app import CrmApp

    app = CrmApp(database_url=demo_url)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot, ADMIN)
        await open_messages(pilot)
        assert "Active" in static_text(app.screen, "#messages-settings")
        assert not app.screen.query_one("#cancel-messages").display
        assert "Only the account owner" in static_text(app.screen, "#danger-note")
        await press(pilot, "x")
        assert type(app.screen).__name__ == "MessagesScreen"
        assert texts(app.engine) == 30
