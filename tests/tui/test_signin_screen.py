"""The sign-in screen: focus goes to the field the user must type next and the message says
which; a closed account's members are told it was closed; the demo hint shows current roles."""

from __future__ import annotations

import asyncio

import pytest
from conftest import ADMIN, OWNER, PASSWORDS, PLAYER
from pilot_kit import SIZE, press, run, settle, sign_in, static_text

pytestmark = pytest.mark.sqlite_only(
    "screen behaviour; the services under it run on both backends (service tests, and the PostgreSQL Pilot "
    "runs of contacts, closing, team, import, download, lists, messages)"
)


def fields(screen):
    from textual.widgets import Input

    return screen.query_one("#email", Input), screen.query_one("#password", Input)


@run
async def test_after_sign_out_the_email_is_empty_focused_and_asked_for(demo_url):
    from crm_tui.tui.app import CrmApp
    from crm_tui.tui.screens.signin import SignInScreen

    app = CrmApp(database_url=demo_url)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot, OWNER)
        await press(pilot, "p", "up", "enter")  # the profile menu's last item: Sign Out
        assert isinstance(app.screen, SignInScreen)
        email, password = fields(app.screen)
        assert app.focused is email
        assert email.value == "" and password.value == ""
        assert static_text(app.screen, "#signin-message") == "You signed out. Type your email to sign in."
        # and typing goes where it says
        await pilot.press(*PLAYER, "enter", *PASSWORDS[PLAYER], "enter")
        await settle(pilot)
        assert app.who is not None and app.who.email == PLAYER


@run
async def test_a_wrong_password_clears_it_focuses_it_and_asks_to_type_it_again(demo_url):
    from crm_tui.tui.app import CrmApp
    from crm_tui.tui.screens.main import MainScreen

    app = CrmApp(database_url=demo_url)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press(*OWNER, "enter", *"not-it", "enter")
        await settle(pilot)
        email, password = fields(app.screen)
        assert app.focused is password and password.value == "" and email.value == OWNER
        assert static_text(app.screen, "#signin-message") == "Wrong email or password. Type the password again."
        await pilot.press(*PASSWORDS[OWNER], "enter")
        await settle(pilot)
        assert isinstance(app.screen, MainScreen)


@pytest.mark.parametrize(
    "typed_email, typed_password, focus, message",
    [
        ("", "demo-owner", "email", "Type your email."),
        ("   ", "demo-owner", "email", "Type your email."),
        ("dana", "demo-owner", "email", "Type your email address, such as you@example.com."),
        (OWNER, "", "password", "Type your password."),
    ],
)
@run
async def test_a_missing_field_is_focused_and_named(demo_url, typed_email, typed_password, focus, message):
    """Nothing is sent to the database; focus goes to the field to type (from wherever it was)."""
    from textual.widgets import Button

    from crm_tui.tui.app import CrmApp

    app = CrmApp(database_url=demo_url)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        email, password = fields(app.screen)
        email.value, password.value = typed_email, typed_password
        app.screen.query_one("#sign-in", Button).focus()
        await press(pilot, "enter")
        assert app.who is None
        assert app.focused is (email if focus == "email" else password)
        assert static_text(app.screen, "#signin-message") == message


@run
async def test_too_many_wrong_passwords_says_how_long_and_keeps_focus_on_the_password(demo_url):
    from crm_tui.services import auth
    from crm_tui.services.errors import AuthenticationFailed
    from crm_tui.tui.app import CrmApp

    app = CrmApp(database_url=demo_url)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        for _ in range(auth.FREE_ATTEMPTS):
            with pytest.raises(AuthenticationFailed):
                await asyncio.to_thread(auth.sign_in, app.engine, PLAYER, "guess")
        await pilot.press(*PLAYER, "enter", *PASSWORDS[PLAYER], "enter")
        await settle(pilot)
        email, password = fields(app.screen)
        assert app.focused is password and password.value == ""
        message = static_text(app.screen, "#signin-message")
        assert message.startswith("Too many wrong passwords; try again in ")
        assert message.endswith(" s. Then type the password again.")


def close_acme(engine):
    from crm_tui.services import auth, closing

    closing.close_account(engine, auth.as_member(engine, OWNER), "Acme Realty", PASSWORDS[OWNER])


@pytest.mark.parametrize(
    "who, how",
    [
        (OWNER, "You can have it restored until 27 February 2027 by writing to cases@allclients.com."),
        (ADMIN, "It can be restored until 27 February 2027 if its owner writes to cases@allclients.com."),
    ],
)
@run
async def test_a_member_of_a_closed_account_is_told_it_was_closed_and_how_to_restore_it(demo_url, who, how):
    from crm_tui.tui.app import CrmApp
    from crm_tui.tui.screens.signin import SignInScreen

    app = CrmApp(database_url=demo_url)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await asyncio.to_thread(close_acme, app.engine)
        await pilot.press(*who, "enter", *PASSWORDS[who], "enter")
        await settle(pilot)
        assert isinstance(app.screen, SignInScreen) and app.who is None
        message = static_text(app.screen, "#signin-message")
        assert message == f"This account was closed on 27 November 2026. {how}"
        email, password = fields(app.screen)
        assert app.focused is email and password.value == ""
        # the demo hint, read before the account was closed, no longer offers its users
        hint = static_text(app.screen, "#demo-hint")
        assert OWNER not in hint and ADMIN not in hint and "sam@birch-books.example" in hint
        # whole, within the box, at 80x24
        region = app.screen.query_one("#signin-message").region
        assert region.height == 3 and region.bottom <= SIZE[1] - 1
        # a wrong password for the same email learns nothing
        await pilot.press(*who, "enter", *"guess", "enter")
        await settle(pilot)
        assert static_text(app.screen, "#signin-message") == "Wrong email or password. Type the password again."


@run
async def test_the_demo_hint_shows_the_roles_after_a_transfer_of_ownership(demo_url):
    from crm_tui.services import auth, team
    from crm_tui.tui.app import CrmApp

    def hint_roles() -> dict[str, str]:
        lines = static_text(app.screen, "#demo-hint").splitlines()[1:]
        return {line.split()[0]: line.split(None, 2)[2] for line in lines}

    app = CrmApp(database_url=demo_url)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert hint_roles()[OWNER] == "owner" and hint_roles()[ADMIN] == "administrator"
        await sign_in(pilot, OWNER)
        marcus = auth.as_member(app.engine, ADMIN).member_id
        await asyncio.to_thread(team.transfer_ownership, app.engine, app.who, marcus, PASSWORDS[OWNER])
        # the session check (a 2-second timer) notices the new role and closes any open menu,
        # so it runs before the profile menu is opened, as it would for a member who waits
        app.check_session()
        await settle(pilot)
        assert app.who.role == "administrator"
        await press(pilot, "p", "up", "enter")  # Sign Out
        assert hint_roles()[OWNER] == "administrator" and hint_roles()[ADMIN] == "owner"
        assert hint_roles()[PLAYER] == "team player"


@run
async def test_when_the_database_cannot_answer_the_password_stays_for_enter_to_try_again(demo_url, monkeypatch):
    from sqlalchemy.exc import OperationalError

    from crm_tui.services import auth
    from crm_tui.tui.app import CrmApp
    from crm_tui.tui.screens.main import MainScreen

    real = auth.sign_in
    calls: list[str] = []

    def busy_once(engine, email, password, now=None):
        calls.append(email)
        if len(calls) == 1:
            raise OperationalError("SELECT", {}, Exception("database is locked"))
        return real(engine, email, password, now)

    monkeypatch.setattr(auth, "sign_in", busy_once)
    app = CrmApp(database_url=demo_url)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press(*OWNER, "enter", *PASSWORDS[OWNER], "enter")
        await settle(pilot)
        email, password = fields(app.screen)
        assert app.focused is password and password.value == PASSWORDS[OWNER]
        assert static_text(app.screen, "#signin-message") == "The database is busy or unavailable; please try again."
        await press(pilot, "enter")
        assert isinstance(app.screen, MainScreen) and len(calls) == 2
