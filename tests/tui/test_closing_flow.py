"""The owner's closing flow in the terminal app, through keys only, at 80×24 — then the
database is checked, the account restored through the service, and the owner signs in again."""

from __future__ import annotations

import asyncio

import pytest
from conftest import ADMIN, OWNER, PASSWORDS, PLAYER
from pilot_kit import SIZE, burst, count, run, settle, sign_in, static_text  # noqa: F401
from sqlalchemy import text


def acme_id(engine) -> int | None:
    with engine.connect() as conn:
        return conn.execute(text("SELECT id FROM account WHERE name = 'Acme Realty'")).scalar()


def menu_ids(app) -> list[str]:
    from textual.widgets import OptionList

    options = app.screen.query_one("#profile-options", OptionList)
    return [options.get_option_at_index(i).id for i in range(options.option_count)]


async def open_from_profile_menu(pilot, item: str) -> None:
    """p, then Down to the menu's ``item`` (its option id) and Enter, as a user does."""
    await pilot.press("p")
    await pilot.pause()
    await pilot.press(*["down"] * menu_ids(pilot.app).index(item), "enter")
    await settle(pilot)


async def open_billing_by_keys(pilot) -> None:
    from crm_tui.tui.screens.billing import BillingScreen

    await pilot.press("p")
    await pilot.pause()
    assert menu_ids(pilot.app)[1] == "billing"
    await pilot.press("down", "enter")
    await settle(pilot)
    assert isinstance(pilot.app.screen, BillingScreen)


async def open_confirmation_by_keys(pilot) -> None:
    """Billing & Plan, scroll to the danger zone, reach the red button with Tab, press it."""
    from textual.containers import VerticalScroll
    from textual.widgets import Button

    from crm_tui.tui.screens.close_confirm import CloseConfirmScreen

    await open_billing_by_keys(pilot)
    screen = pilot.app.screen
    button = screen.query_one("#close-account", Button)
    page = screen.query_one("#billing-page", VerticalScroll)
    # At 80×24 the button is below the fold: the user has to scroll, as the article says.
    assert page.scroll_y == 0
    assert not page.region.contains_region(button.region)
    await pilot.press("pagedown", "pagedown")
    await pilot.pause()
    assert page.scroll_y > 0
    for _ in range(6):
        if pilot.app.focused is button:
            break
        await pilot.press("tab")
    assert pilot.app.focused is button
    assert page.region.contains_region(button.region)
    assert str(button.label) == "Cancel & Permanently Delete Your Account"
    await pilot.press("enter")
    await settle(pilot)
    assert isinstance(pilot.app.screen, CloseConfirmScreen)


async def owner_at_confirmation(pilot):
    """The owner signed in (fields filled) and at the confirmation screen, by keys."""
    await sign_in(pilot, OWNER)
    await open_confirmation_by_keys(pilot)
    return pilot.app.screen


def at_confirmation(demo_url, check):
    """Run ``await check(app, pilot, confirm)`` in the app at 80×24 with the owner signed in
    and at the confirmation screen; returns the app (closed by then)."""
    from crm_tui.tui.app import CrmApp

    app = CrmApp(database_url=demo_url)

    async def body():
        async with app.run_test(size=SIZE) as pilot:
            await check(app, pilot, await owner_at_confirmation(pilot))

    run(body())
    return app


def test_owner_closes_the_account_end_to_end_then_restores_and_signs_in(demo_url):
    from textual.widgets import Button, Input

    from crm_tui import db
    from crm_tui.services import closing
    from crm_tui.tui.app import CrmApp
    from crm_tui.tui.screens.goodbye import GoodbyeScreen
    from crm_tui.tui.screens.signin import SignInScreen
    from crm_tui.tui.screens.survey import SurveyScreen

    engine = db.get_engine(demo_url)
    account_id = acme_id(engine)
    contacts_before = count(engine, "SELECT count(*) FROM contact WHERE account_id = :a", a=account_id)
    assert contacts_before == 60

    async def body():
        app = CrmApp(database_url=demo_url)
        async with app.run_test(size=SIZE) as pilot:
            await sign_in(pilot, OWNER, typed=True)
            await open_confirmation_by_keys(pilot)
            confirm = app.screen

            # Everything the owner must know, before anything happens.
            assert app.focused is confirm.query_one("#close-cancel", Button)
            assert confirm.query_one("#close-delete", Button).disabled
            counts = static_text(confirm, "#close-counts")
            assert "60  contacts" in counts and "to-dos" in counts and "email templates" in counts
            team = static_text(confirm, "#close-team")
            assert "Marcus Lee" in team and "administrator" in team and "Priya Shah" in team
            assert "Twilio" in static_text(confirm, "#close-messages")
            assert "cases@allclients.com" in static_text(confirm, "#close-support")
            assert "we may be able to help" in static_text(confirm, "#close-support")
            assert "cannot be undone" in static_text(confirm, "#close-warning")
            assert "press e" in static_text(confirm, "#close-export-note")

            # Shift+Tab from Cancel: the password, then the account name.
            await pilot.press("shift+tab", "shift+tab")
            assert app.focused is confirm.query_one("#close-name", Input)
            await pilot.press(*"Acme Realty")
            await pilot.pause()
            assert not confirm.query_one("#close-delete", Button).disabled
            await pilot.press("enter", *PASSWORDS[OWNER], "enter")
            await pilot.pause()
            # Enter in the password only moves to the delete button; it takes one more press.
            assert app.focused is confirm.query_one("#close-delete", Button)
            assert acme_id(engine) == account_id
            await pilot.press("enter")
            await settle(pilot)

            # The optional survey: a reason and a comment.
            assert isinstance(app.screen, SurveyScreen)
            # Tab and Shift+Tab visit only what can be answered or pressed (nothing invisible)
            assert [w.id for w in app.screen.focus_chain] == [
                "survey-reasons",
                "survey-comment",
                "survey-submit",
                "survey-skip-button",
            ]
            await pilot.press("down", "down", "enter")  # the third reason
            await pilot.press("tab", *"found a cheaper CRM [bold]x", "enter", "enter")
            await settle(pilot)

            # The goodbye screen: the receipt and the restore date, then sign out.
            assert isinstance(app.screen, GoodbyeScreen)
            receipt = static_text(app.screen, "#goodbye-receipt")
            assert "Acme Realty" in receipt and "27 Nov 2026" in receipt and "60  contacts" in receipt
            assert "Thank you" in static_text(app.screen, "#goodbye-survey")
            assert "27 February 2027" in receipt and "cases@allclients.com" in receipt
            assert "import it into a new account" in static_text(app.screen, "#goodbye-keep")
            assert app.who is None  # the session is over: no check can pull this screen away
            await pilot.press("enter")
            await settle(pilot)
            assert isinstance(app.screen, SignInScreen)
            assert "account was closed" in static_text(app.screen, "#signin-message")

            # The database: account gone, tombstone present, survey stored without identity.
            assert acme_id(engine) is None
            assert count(engine, "SELECT count(*) FROM contact WHERE account_id = :a", a=account_id) == 0
            assert count(engine, "SELECT count(*) FROM member WHERE account_id = :a", a=account_id) == 0
            with engine.connect() as conn:
                tomb = conn.execute(
                    text("SELECT state, restore_until FROM closed_account WHERE account_id = :a"), {"a": account_id}
                ).one()
                survey = conn.execute(text("SELECT reason, comment, plan_code, team_size FROM survey_response")).all()
            assert tomb[0] == "closed" and str(tomb[1]) == "2027-02-27"
            assert survey == [("Switching to another CRM", "found a cheaper CRM [bold]x", "professional", 3)]

            # Signing in again is refused until support restores the account, saying why.
            await pilot.press(*OWNER, "enter", *PASSWORDS[OWNER], "enter")
            await settle(pilot)
            assert isinstance(app.screen, SignInScreen)
            assert static_text(app.screen, "#signin-message") == (
                "This account was closed on 27 November 2026. You can have it restored until "
                "27 February 2027 by writing to cases@allclients.com."
            )

            await asyncio.to_thread(closing.restore, engine, OWNER)
            assert count(engine, "SELECT count(*) FROM contact WHERE account_id = :a", a=account_id) == 60
            await sign_in(pilot, OWNER)
            assert app.who.account_id == account_id

    run(body())


@pytest.mark.parametrize(
    "name, password, message",
    [
        ("Acme Realty", "not-my-password", "Wrong password; nothing was deleted."),
        ("acme realty", "demo-owner", None),  # not exact: the delete button stays disabled
    ],
)
def test_wrong_name_or_password_deletes_nothing(demo_url, name, password, message):
    from textual.widgets import Button, Input

    from crm_tui import db
    from crm_tui.tui.screens.close_confirm import CloseConfirmScreen

    engine = db.get_engine(demo_url)
    account_id = acme_id(engine)

    async def check(app, pilot, confirm):
        await pilot.press("shift+tab", "shift+tab", *name, "enter", *password, "enter")
        await pilot.pause()
        delete = confirm.query_one("#close-delete", Button)
        if message is None:
            assert delete.disabled
            assert "differs in capital letters" in static_text(confirm, "#close-status")
            assert app.focused is confirm.query_one("#close-name", Input)
            await pilot.press("enter", "enter", "enter")  # nothing a key can do deletes
        else:
            assert app.focused is delete
            await pilot.press("enter")
            await settle(pilot)
            assert static_text(confirm, "#close-status") == message
            assert confirm.query_one("#close-password", Input).value == ""
            assert app.focused is confirm.query_one("#close-password", Input)
        await settle(pilot)
        assert isinstance(app.screen, CloseConfirmScreen)
        assert acme_id(engine) == account_id
        assert count(engine, "SELECT count(*) FROM contact WHERE account_id = :a", a=account_id) == 60
        assert count(engine, "SELECT count(*) FROM closed_account") == 0

    at_confirmation(demo_url, check)


@pytest.mark.sqlite_only("keys, focus and what a role is offered on a screen: nothing here depends on the database")
def test_esc_backs_out_of_the_confirmation_and_nothing_changes(demo_url):
    from crm_tui import db
    from crm_tui.tui.screens.billing import BillingScreen
    from crm_tui.tui.screens.main import MainScreen

    engine = db.get_engine(demo_url)
    account_id = acme_id(engine)

    async def check(app, pilot, confirm):
        await pilot.press("shift+tab", "shift+tab", *"Acme Realty", "enter", *PASSWORDS[OWNER])
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, BillingScreen)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, MainScreen)
        assert app.who is not None

    at_confirmation(demo_url, check)
    assert acme_id(engine) == account_id
    assert count(engine, "SELECT count(*) FROM contact WHERE account_id = :a", a=account_id) == 60
    assert count(engine, "SELECT count(*) FROM closed_account") == 0


@pytest.mark.sqlite_only("keys, focus and what a role is offered on a screen: nothing here depends on the database")
@pytest.mark.parametrize("email", [ADMIN, PLAYER])
def test_administrator_and_team_player_cannot_reach_billing(demo_url, email):
    from crm_tui.tui.app import CrmApp
    from crm_tui.tui.screens.main import MainScreen
    from crm_tui.tui.screens.profile_menu import ProfileMenu

    async def body():
        app = CrmApp(database_url=demo_url)
        async with app.run_test(size=SIZE) as pilot:
            await sign_in(pilot, email)
            await pilot.press("p")
            await pilot.pause()
            assert isinstance(app.screen, ProfileMenu)
            ids = menu_ids(app)
            assert "billing" not in ids
            assert ("download" in ids) == (email == ADMIN)
            await pilot.press("escape")
            await pilot.pause()
            app.action_open("billing")
            await settle(pilot)
            assert isinstance(app.screen, MainScreen)
            assert any("role does not give access" in str(n.message) for n in app._notifications)
            # nor through the command palette
            titles = [c.title for c in app.get_system_commands(app.screen)]
            assert "Billing & Plan" not in titles

    run(body())


@pytest.mark.sqlite_only("keys, focus and what a role is offered on a screen: nothing here depends on the database")
@pytest.mark.parametrize("start, between", [("name", "tab"), ("name", "enter"), ("cancel", "tab")])
def test_name_and_password_typed_ahead_in_one_burst_land_in_their_own_fields(demo_url, start, between):
    """Over a slow link "name, Tab (or Enter), password" can arrive together, and so can the
    Tab from Cancel (where focus starts) before them: the password must not land, in clear, in
    the name field, nor anything be lost on Cancel; and a typed-ahead Enter after the password
    only moves to the delete button, which still takes its own press."""
    from textual.widgets import Button, Input

    from crm_tui import db

    engine = db.get_engine(demo_url)
    account_id = acme_id(engine)

    async def check(app, pilot, confirm):
        assert app.focused is confirm.query_one("#close-cancel", Button)
        first = ["tab"]
        if start == "name":
            await pilot.press("shift+tab", "shift+tab")
            assert app.focused is confirm.query_one("#close-name", Input)
            first = []
        burst(app, *first, "Acme Realty", between, PASSWORDS[OWNER], "enter", "enter")
        await settle(pilot)
        await settle(pilot)
        assert confirm.query_one("#close-name", Input).value == "Acme Realty"
        assert confirm.query_one("#close-password", Input).value == PASSWORDS[OWNER]
        assert app.focused is confirm.query_one("#close-delete", Button)
        assert app.screen is confirm and acme_id(engine) == account_id
        # the second Enter reached the button ahead of its focus: the screen says why nothing happened
        assert status_of(confirm) == "Nothing deleted yet: keys typed ahead never delete. Press Enter again."
        await pilot.press("shift+tab")  # off the button: the hint goes, as it is about the button
        await settle(pilot)
        assert status_of(confirm) == ""
        await pilot.press("tab", "enter")  # pressed on the button: that one deletes
        await settle(pilot)
        assert app.screen is not confirm and acme_id(engine) is None

    at_confirmation(demo_url, check)


def status_of(confirm) -> str:
    return static_text(confirm, "#close-status").strip()


@pytest.mark.sqlite_only("keys, focus and what a role is offered on a screen: nothing here depends on the database")
def test_a_survey_answer_typed_ahead_lands_where_meant(demo_url):
    """Reason, Tab, comment, Enter in one burst: the comment reaches its field (not the list of
    reasons it was typed after), and Enter moves to Submit."""
    from textual.widgets import Button, Input, RadioSet

    from crm_tui.tui.screens.goodbye import GoodbyeScreen
    from crm_tui.tui.screens.survey import SurveyScreen

    async def check(app, pilot, confirm):
        burst(app, "tab", "Acme Realty", "tab", PASSWORDS[OWNER], "enter")
        await settle(pilot)
        assert app.focused is confirm.query_one("#close-delete", Button)
        assert "Press Enter again" not in status_of(confirm)  # that Enter was the password's: nothing held back
        await pilot.press("enter")
        await settle(pilot)
        survey = app.screen
        assert isinstance(survey, SurveyScreen)
        burst(app, "down", "enter", "tab", "too pricey", "enter")
        await settle(pilot)
        await settle(pilot)
        assert survey.query_one(RadioSet).pressed_index == 1
        assert survey.query_one("#survey-comment", Input).value == "too pricey"
        assert app.focused is survey.query_one("#survey-submit", Button)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, GoodbyeScreen)

    app = at_confirmation(demo_url, check)
    with app.engine.connect() as conn:
        assert conn.execute(text("SELECT reason, comment FROM survey_response")).all() == [
            ("Missing features I need", "too pricey")
        ]


def pause_close_at(monkeypatch, when):
    """Wrap ``closing.close_account`` so that its worker stops at the first progress report
    for which ``when(table, done, total)`` holds (after the screen was given it) until ``go`` is
    set; returns (held, go)."""
    import threading

    from crm_tui.services import closing

    held, go = threading.Event(), threading.Event()
    real = closing.close_account

    def close_and_pause(engine, who, name, password, progress=None):
        def report(table, done, total):
            progress(table, done, total)
            if when(table, done, total) and not held.is_set():
                held.set()
                go.wait(60)

        return real(engine, who, name, password, report)

    monkeypatch.setattr(closing, "close_account", close_and_pause)
    return held, go


async def shows_status(confirm, expected: str) -> bool:
    """Poll with a deadline: the screen shows the close's latest figures on its next tick."""
    for _ in range(100):
        if static_text(confirm, "#close-status") == expected:
            return True
        await asyncio.sleep(0.05)
    return False


def test_the_confirmation_shows_the_deletion_moving_as_the_rows_go(demo_url, monkeypatch):
    """Once the close is recorded its rows go in batches: the screen shows a progress bar and
    "Deleting 14 of 60 contacts…" while they do, at 80×24, then the survey as before."""

    from textual.widgets import Button, Input, ProgressBar

    from crm_tui.services import closing
    from crm_tui.tui.screens.survey import SurveyScreen

    monkeypatch.setattr(closing, "DELETE_BATCHES", closing.Batches.fixed(7))
    # the second batch of contacts: hold there
    held, go = pause_close_at(monkeypatch, lambda table, done, total: table == "contact" and done == 14)

    async def check(app, pilot, confirm):
        bar = confirm.query_one("#close-progress", ProgressBar)
        assert not bar.display  # nothing to show before the delete is pressed
        await pilot.press("shift+tab", "shift+tab", *"Acme Realty", "enter", *PASSWORDS[OWNER], "enter")
        await pilot.pause()
        assert app.focused is confirm.query_one("#close-delete", Button)
        await pilot.press("enter")
        for _ in range(600):  # poll with a deadline: the worker reaches the second batch
            if held.is_set():
                break
            await asyncio.sleep(0.05)
        assert held.is_set()
        try:
            assert await shows_status(confirm, "The account is closed. Deleting 14 of 60 contacts…")
            assert bar.display and (bar.progress, bar.total) == (14, 60)
            assert app.screen.region.contains_region(bar.region)  # visible at 80×24
            assert confirm.query_one("#close-name", Input).disabled  # nothing to change meanwhile
        finally:
            go.set()
        await settle(pilot)
        assert isinstance(app.screen, SurveyScreen)

    at_confirmation(demo_url, check)


def test_the_confirmation_shows_the_backup_being_written_before_the_rows_go(demo_url, monkeypatch):
    """Before anything is deleted the backup is written (on a big account, most of the close):
    the bar and "Closing: writing the encrypted backup, N of T records…" show how far it is."""
    from textual.widgets import ProgressBar

    from crm_tui.services import closing
    from crm_tui.tui.screens.survey import SurveyScreen

    seen: list[tuple[int, int]] = []

    def second_backup_report(table, done, total) -> bool:  # part of the way through: hold there
        if table == closing.BACKING_UP:
            seen.append((done, total))
        return len(seen) == 2

    held, go = pause_close_at(monkeypatch, second_backup_report)

    async def check(app, pilot, confirm):
        bar = confirm.query_one("#close-progress", ProgressBar)
        await pilot.press("shift+tab", "shift+tab", *"Acme Realty", "enter", *PASSWORDS[OWNER], "enter", "enter")
        for _ in range(600):  # poll with a deadline: the worker reaches the backup's second report
            if held.is_set():
                break
            await asyncio.sleep(0.05)
        assert held.is_set()
        done, total = seen[1]
        try:
            assert 0 < done < total
            assert await shows_status(confirm, f"Closing: writing the encrypted backup, {done:,} of {total:,} records…")
            assert bar.display and (bar.progress, bar.total) == (done, total)
            assert app.screen.region.contains_region(bar.region)
        finally:
            go.set()
        await settle(pilot)
        assert isinstance(app.screen, SurveyScreen)
        assert seen[-1][0] == seen[-1][1]  # the backup's last report: every record written

    at_confirmation(demo_url, check)
