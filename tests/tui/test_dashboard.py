"""The dashboard: its figures are the database's, and the first one after signing in is read
once, by the sign-in's worker, while the screen is drawn."""

from __future__ import annotations

import pytest
from conftest import OTHER_OWNER, OWNER, PLAYER
from pilot_kit import NOW, SIZE, count, rows, run, settle, sign_in, static_text
from sqlalchemy import create_engine

pytestmark = pytest.mark.sqlite_only(
    "screen behaviour; the services under it run on both backends (service tests, and the PostgreSQL Pilot "
    "runs of contacts, closing, team, import, download, lists, messages)"
)


def expected(engine, email: str) -> dict:
    acc = count(engine, "SELECT account_id FROM member WHERE email = :e", e=email)
    now = NOW.replace("T", " ").replace("+00:00", ".000000")
    return {
        "contacts": count(engine, "SELECT count(*) FROM contact WHERE account_id = :a", a=acc),
        "upcoming": count(
            engine, "SELECT count(*) FROM appointment WHERE account_id = :a AND start >= :n", a=acc, n=now
        ),
        "open": count(engine, "SELECT count(*) FROM todo WHERE account_id = :a AND status = 'open'", a=acc),
        "next": [
            r[0]
            for r in rows(
                engine,
                "SELECT description FROM appointment WHERE account_id = :a AND start >= :n ORDER BY start LIMIT 5",
                a=acc,
                n=now,
            )
        ],
        "todos": [
            r[0]
            for r in rows(
                engine,
                "SELECT summary FROM todo WHERE account_id = :a AND status = 'open' "
                "ORDER BY due IS NULL, due, priority LIMIT 5",
                a=acc,
            )
        ],
    }


def test_the_service_returns_the_databases_figures(demo_url):
    from conftest import PASSWORDS

    from crm_tui import db
    from crm_tui.services import auth
    from crm_tui.services.dashboard import dashboard

    engine = db.get_engine(demo_url)
    for email in (OWNER, PLAYER, OTHER_OWNER):
        want = expected(engine, email)
        d = dashboard(engine, auth.sign_in(engine, email, PASSWORDS[email]))
        assert (d.contacts, d.upcoming_appointments, d.open_todos) == (want["contacts"], want["upcoming"], want["open"])
        assert [text for _when, text in d.next_appointments] == want["next"]
        assert [text for _due, _prio, text in d.next_todos] == want["todos"]
        assert want["contacts"] > 0 and want["open"] > 0 and want["next"]


@run
async def test_after_signing_in_the_tiles_show_the_databases_counts(demo_url):
    from crm_tui.tui.app import CrmApp

    engine = create_engine(demo_url)
    want = expected(engine, OWNER)
    app = CrmApp(database_url=demo_url)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot, OWNER, typed=True)
        assert static_text(app.screen, "#tile-contacts") == f"Contacts\n{want['contacts']:,}"
        assert static_text(app.screen, "#tile-appointments") == f"Upcoming\n{want['upcoming']:,}"
        assert static_text(app.screen, "#tile-todos") == f"Open to-dos\n{want['open']:,}"
        assert want["next"][0] in static_text(app.screen, "#next-appointments")
        assert want["todos"][0] in static_text(app.screen, "#next-todos")
        assert not app.dashboard_pending


@run
async def test_the_first_dashboard_is_read_once(demo_url, monkeypatch):
    """Signing in reads the dashboard's figures in the sign-in's worker; the dashboard
    screen, shown meanwhile, does not ask a second time. Coming back to it later does."""
    from crm_tui.services import dashboard as service
    from crm_tui.tui.app import CrmApp

    calls = []
    real = service.dashboard
    monkeypatch.setattr(service, "dashboard", lambda *a, **k: calls.append(1) or real(*a, **k))
    app = CrmApp(database_url=demo_url)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot, OWNER)
        assert len(calls) == 1
        await pilot.press("1")
        await settle(pilot)
        await pilot.press("escape")
        await settle(pilot)
        assert len(calls) == 2


@run
async def test_a_failed_first_read_is_asked_again_by_the_dashboard(demo_url, monkeypatch):
    from crm_tui.services import dashboard as service
    from crm_tui.tui.app import CrmApp

    real, calls = service.dashboard, []

    def flaky(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("database is locked")
        return real(*args, **kwargs)

    monkeypatch.setattr(service, "dashboard", flaky)
    engine = create_engine(demo_url)
    want = expected(engine, OWNER)
    app = CrmApp(database_url=demo_url)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot, OWNER)
        assert len(calls) == 2
        assert static_text(app.screen, "#tile-contacts") == f"Contacts\n{want['contacts']:,}"


@run
async def test_figures_that_come_late_fill_in_a_dashboard_already_open(demo_url, monkeypatch):
    """When reading the figures takes longer than the app waits (a very large account), the
    dashboard opens with placeholders and the figures fill in when they arrive; they are
    still read once."""
    import threading

    from conftest import PASSWORDS
    from textual.widgets import Input

    from crm_tui.services import dashboard as service
    from crm_tui.tui.app import FIGURES_WAIT_SECONDS, CrmApp
    from crm_tui.tui.screens.main import MainScreen

    release, calls, real = threading.Event(), [], service.dashboard

    def slow(*args, **kwargs):
        calls.append(1)
        release.wait(30)
        return real(*args, **kwargs)

    monkeypatch.setattr(service, "dashboard", slow)
    want = expected(create_engine(demo_url), OWNER)
    app = CrmApp(database_url=demo_url)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.screen.query_one("#email", Input).value = OWNER
        app.screen.query_one("#password", Input).value = PASSWORDS[OWNER]
        app.screen.query_one("#password", Input).focus()
        await pilot.press("enter")
        for _ in range(int(20 / 0.02)):  # the password check, then the app's wait for the figures
            # the screen is current before its widgets are mounted: wait for the tile too
            if isinstance(app.screen, MainScreen) and app.screen.query("#tile-contacts"):
                break
            await pilot.pause(0.02)
        assert isinstance(app.screen, MainScreen) and not release.is_set()
        assert static_text(app.screen, "#tile-contacts") == "Contacts\n…"
        assert FIGURES_WAIT_SECONDS < 1
        release.set()
        await settle(pilot)
        assert static_text(app.screen, "#tile-contacts") == f"Contacts\n{want['contacts']:,}"
        assert static_text(app.screen, "#tile-todos") == f"Open to-dos\n{want['open']:,}"
        assert len(calls) == 1 and not app.dashboard_pending


@run
async def test_signing_out_and_in_again_works_after_a_dashboard_that_opened_with_its_figures(demo_url):
    from crm_tui.tui.app import CrmApp

    app = CrmApp(database_url=demo_url)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot, OWNER)
        app.sign_out("You signed out.")
        await settle(pilot)
        await sign_in(pilot, PLAYER)
        assert app.who.email == PLAYER
        assert static_text(app.screen, "#tile-contacts") != "Contacts\n…"


@run
async def test_email_enter_password_enter_typed_ahead_in_one_burst_signs_in(demo_url):
    """Over a slow link the keys of "email, Enter, password, Enter" can arrive together:
    every key after the first Enter belongs to the password field."""
    from conftest import PASSWORDS
    from textual import events

    from crm_tui.tui.app import CrmApp
    from crm_tui.tui.screens.main import MainScreen

    app = CrmApp(database_url=demo_url)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        keys = [*OWNER, "enter", *PASSWORDS[OWNER], "enter"]
        for key in keys:  # queued at once, as a burst from the terminal is
            char = key if len(key) == 1 else ("\r" if key == "enter" else None)
            name = {"@": "at", ".": "full_stop", "-": "minus"}.get(key, key)
            app.post_message(events.Key(name, char))
        await settle(pilot)
        await settle(pilot)
        assert isinstance(app.screen, MainScreen), app.screen
        assert app.who.email == OWNER


@pytest.mark.parametrize("typo", [False, True], ids=["typed-right", "corrected-with-backspace"])
@run
async def test_email_tab_password_enter_typed_ahead_in_one_burst_signs_in(demo_url, typo):
    """A typo put right with Backspace inside the burst counts as put right: Backspace is a
    binding, which Textual runs only after the keys typed behind it have been inserted."""
    from conftest import PASSWORDS
    from pilot_kit import burst

    from crm_tui.tui.app import CrmApp
    from crm_tui.tui.screens.main import MainScreen

    password = PASSWORDS[OWNER]
    typed = [password[:-1], "x", "backspace", password[-1]] if typo else [password]
    app = CrmApp(database_url=demo_url)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        burst(app, OWNER, "tab", *typed, "enter")
        await settle(pilot)
        await settle(pilot)
        assert isinstance(app.screen, MainScreen), app.screen
        assert app.who.email == OWNER


def _hold_database(monkeypatch):
    """Keep the app's database from opening until the returned event is set."""
    import threading

    from crm_tui import db

    opened = threading.Event()
    real = db.get_engine

    def held(*args, **kwargs):
        assert opened.wait(30), "the test never let the database open"
        return real(*args, **kwargs)

    monkeypatch.setattr(db, "get_engine", held)
    return opened


@pytest.mark.parametrize("enter", ["enter", "ctrl+j"])
@run
async def test_enter_pressed_while_the_database_opens_signs_in_once_it_is_open(demo_url, monkeypatch, enter):
    """A user who types email, Tab, password, Enter before the database is open is signed in
    as soon as it is, without pressing Enter again; the screen says so meanwhile. An Enter
    typed before the app had the terminal arrives as a line feed (Ctrl+J) and counts too."""
    from conftest import PASSWORDS
    from pilot_kit import burst

    from crm_tui.tui.app import CrmApp
    from crm_tui.tui.screens.main import MainScreen
    from crm_tui.tui.screens.signin import SignInScreen

    opened = _hold_database(monkeypatch)
    app = CrmApp(database_url=demo_url)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        burst(app, OWNER, "tab", PASSWORDS[OWNER], enter)
        await pilot.pause()
        await pilot.pause()
        assert isinstance(app.screen, SignInScreen) and app.engine is None
        assert static_text(app.screen, "#signin-message") == "Signing in as soon as the database is open…"
        opened.set()
        await settle(pilot)
        await settle(pilot)
        assert isinstance(app.screen, MainScreen), app.screen
        assert app.who.email == OWNER
        figures = expected(create_engine(demo_url), OWNER)
        assert static_text(app.screen, "#tile-contacts").split("\n")[-1].replace(",", "") == str(figures["contacts"])


@pytest.mark.parametrize("change", ["escape", "empty"])
@run
async def test_a_sign_in_typed_ahead_can_be_taken_back_before_the_database_opens(demo_url, monkeypatch, change):
    """Esc (which clears the password) takes a waiting sign-in back; Enter on an empty form
    asks for the email and password and waits for nothing."""
    from conftest import PASSWORDS
    from pilot_kit import burst

    from crm_tui.tui.app import CrmApp
    from crm_tui.tui.screens.signin import SignInScreen

    opened = _hold_database(monkeypatch)
    app = CrmApp(database_url=demo_url)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        if change == "escape":
            burst(app, OWNER, "tab", PASSWORDS[OWNER], "enter", "escape")
        else:
            burst(app, OWNER, "enter", "enter")
        await pilot.pause()
        await pilot.pause()
        message = static_text(app.screen, "#signin-message")
        assert message == ("Opening the database…" if change == "escape" else "Type your password.")
        opened.set()
        await settle(pilot)
        await settle(pilot)
        assert isinstance(app.screen, SignInScreen) and app.who is None
        assert app.engine is not None


@run
async def test_section_keys_typed_behind_a_waiting_sign_in_reach_the_dashboard(demo_url, monkeypatch):
    """'email Tab password Enter 2 3 1' typed while the database is still opening: the section
    keys wait for the dashboard and take the user to Contacts, none lost on the sign-in screen."""
    from conftest import PASSWORDS
    from pilot_kit import burst

    from crm_tui.tui import keyflow
    from crm_tui.tui.app import CrmApp
    from crm_tui.tui.screens.contacts import ContactsScreen

    # the database takes longer to open than the key flow waits for workers
    monkeypatch.setattr(keyflow, "WORKER_WAIT_SECONDS", 0.05)
    opened = _hold_database(monkeypatch)
    app = CrmApp(database_url=demo_url)
    async with app.run_test(size=SIZE) as pilot:
        while not any(w.group == "open-database" for w in app.workers):
            await pilot.pause()
        burst(app, OWNER, "tab", PASSWORDS[OWNER], "enter", "2", "3", "1")
        for _ in range(20):  # a second or so: more than the key flow waits for a worker
            await pilot.pause(0.05)
        opened.set()
        await settle(pilot)
        await settle(pilot)
        assert isinstance(app.screen, ContactsScreen), app.screen_stack
        assert [type(s).__name__ for s in app.screen_stack[1:3]] == ["SignInScreen", "MainScreen"]
