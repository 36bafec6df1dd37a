"""Team Members at 80×24: an administrator removes a member through the modal; a member's
open session ends when the owner closes the account."""

from __future__ import annotations

import asyncio

import pytest
from conftest import ADMIN, OWNER, PASSWORDS, PLAYER
from pilot_kit import press, rows, run, settle, sign_in, static_text, table_text  # noqa: F401

SIZE = (80, 24)


def counts_of(engine, member_email: str) -> tuple[int, int, int]:
    (mid,) = rows(engine, "SELECT id FROM member WHERE email = :e", e=member_email)[0]
    return tuple(
        rows(engine, f"SELECT count(*) FROM {t} WHERE {c} = :m", m=mid)[0][0]
        for t, c in (("contact", "owner_id"), ("todo", "assignee_id"), ("appointment", "owner_id"))
    )


async def open_team(pilot) -> None:
    from crm_tui.tui.screens.team import TeamScreen

    await press(pilot, "p")
    await press(pilot, "down", "enter")  # My Account, then Team Members (no Billing for non-owners)
    assert isinstance(pilot.app.screen, TeamScreen), pilot.app.screen


@run
async def test_administrator_removes_a_member_through_the_modal(demo_url):
    from crm_tui.tui.app import CrmApp
    from crm_tui.tui.widgets.confirm import ConfirmModal

    app = CrmApp(database_url=demo_url)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot, ADMIN)
        await open_team(pilot)
        engine = app.engine
        owner_before = counts_of(engine, OWNER)
        p_contacts, p_todos, p_appts = counts_of(engine, PLAYER)
        assert [r[2] for r in table_text(app.screen)] == ["owner", "administrator", "team player"]
        await press(pilot, "down", "down", "r")
        modal = app.screen
        assert isinstance(modal, ConfirmModal)
        body = str(modal.query_one("#confirm-body Static").visual)
        assert f"{p_contacts} contacts move to the owner, Dana Whitfield" in body
        assert f"{p_todos} to-dos move to Dana Whitfield" in body
        assert f"{p_appts} calendar appointments are permanently deleted" in body
        assert app.focused.id == "cancel"
        await press(pilot, "enter")  # Enter on the focused Cancel: nothing happens
        assert counts_of(engine, PLAYER) == (p_contacts, p_todos, p_appts)
        await press(pilot, "r", "tab", "enter")  # again, then Remove member
        assert rows(engine, "SELECT count(*) FROM member WHERE email = :e", e=PLAYER)[0][0] == 0
        assert counts_of(engine, OWNER) == (owner_before[0] + p_contacts, owner_before[1] + p_todos, owner_before[2])
        assert [r[0] for r in table_text(app.screen)] == ["Dana Whitfield", "Marcus Lee"]


@pytest.mark.sqlite_only("keys, focus and what a role is offered on a screen: nothing here depends on the database")
@run
async def test_team_player_is_offered_only_leave(demo_url):
    from crm_tui.tui.app import CrmApp
    from crm_tui.tui.widgets.confirm import ConfirmModal

    app = CrmApp(database_url=demo_url)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot, PLAYER)
        await open_team(pilot)
        shown = {b.binding.action for b in app.screen.active_bindings.values() if b.enabled}
        assert "leave" in shown and not {"add", "remove", "transfer"} & shown
        await press(pilot, "r", "a", "t")  # not offered: nothing opens
        assert type(app.screen).__name__ == "TeamScreen"
        await press(pilot, "l")
        assert isinstance(app.screen, ConfirmModal) and app.focused.id == "confirm-password"
        await press(pilot, "enter")  # Enter in the empty password field: Cancel
        assert type(app.screen).__name__ == "TeamScreen"
        await press(pilot, "l", *PASSWORDS[PLAYER], "enter", "enter")
        await settle(pilot)
        assert type(app.screen).__name__ == "SignInScreen"
        assert "You left Acme Realty" in static_text(app.screen, "#signin-message")
        assert rows(app.engine, "SELECT count(*) FROM member WHERE email = :e", e=PLAYER)[0][0] == 0


@run
async def test_members_session_ends_when_the_owner_closes_the_account(demo_url):
    from crm_tui.services import auth, closing
    from crm_tui.tui.app import CrmApp
    from crm_tui.tui.screens.signin import SignInScreen

    app = CrmApp(database_url=demo_url)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot, PLAYER)
        await press(pilot, "1")
        owner = auth.sign_in(app.engine, OWNER, PASSWORDS[OWNER])
        # A check that runs while the close is under way ends the session with "This account is
        # being closed" (tests/test_close_phases.py); this test is about the message after it,
        # so the check waits for the close: the timer is paused, and a check it started finishes.
        app._session_timer.pause()
        await app.workers.wait_for_complete()
        await asyncio.to_thread(closing.close_account, app.engine, owner, "Acme Realty", PASSWORDS[OWNER])
        app._session_timer.resume()
        # the session check runs every 2 s; give it up to 20 s on a busy machine
        for _ in range(100):
            if isinstance(app.screen, SignInScreen):
                break
            await pilot.pause(0.2)
        await settle(pilot)
        assert isinstance(app.screen, SignInScreen)
        assert "This account has been closed by its owner" in static_text(app.screen, "#signin-message")
        assert app.who is None


@pytest.mark.sqlite_only("keys, focus and what a role is offered on a screen: nothing here depends on the database")
@run
async def test_the_transfer_dialog_takes_the_password_typed_and_enter_alone_cancels(demo_url):
    """It says "Enter your password to confirm": focus starts in the password field, so typing
    lands there; Enter in the empty field is Cancel, and transfers nothing."""
    from crm_tui.tui.app import CrmApp
    from crm_tui.tui.widgets.confirm import ConfirmModal

    def role_of(engine, email):
        return rows(engine, "SELECT role FROM member WHERE email = :e", e=email)[0][0]

    app = CrmApp(database_url=demo_url)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot, OWNER)
        await press(pilot, "p", "down", "down", "enter")  # My Account, Billing & Plan, Team Members
        assert type(app.screen).__name__ == "TeamScreen"
        await press(pilot, "down", "t")  # Marcus Lee
        assert isinstance(app.screen, ConfirmModal) and app.focused.id == "confirm-password"
        await press(pilot, "enter")
        assert type(app.screen).__name__ == "TeamScreen"
        assert role_of(app.engine, OWNER) == "owner"
        await press(pilot, "t", *PASSWORDS[OWNER], "enter")
        assert app.focused.id == "confirm" and role_of(app.engine, OWNER) == "owner"
        await press(pilot, "enter")
        assert type(app.screen).__name__ == "TeamScreen"
        assert (role_of(app.engine, OWNER), role_of(app.engine, ADMIN)) == ("administrator", "owner")
