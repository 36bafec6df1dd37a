"""Import an archive from the sign-in screen, at 80×24: the form, its refusals, the one-time
temporary passwords, and signing in to the new account."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from conftest import ADMIN, OWNER, PASSWORDS, PLAYER, dump_database
from pilot_kit import NOW, SIZE, press, run, settle, static_text

NEW_OWNER = "newowner@example.org"
NEW_PASSWORD = "a-new-password"


def export_close_purge(url: str, folder) -> str:
    """Dana's export, then her account closed and purged (the window long past)."""
    from crm_tui import db
    from crm_tui.services import auth, closing, export

    engine = db.get_engine(url)
    dana = auth.sign_in(engine, OWNER, PASSWORDS[OWNER])
    folder.mkdir()
    path = export.export_account(engine, dana, out_dir=folder).path
    closing.close_account(engine, dana, "Acme Realty", PASSWORDS[OWNER])
    later = datetime.fromisoformat(NOW).astimezone(timezone.utc) + timedelta(days=200)
    assert closing.purge(engine, now=later).purged == 1
    return str(path)


async def fill_form(pilot, path: str, email: str, name: str, password: str, again: str) -> None:
    """Type into the form as a user does: each field, Tab to the next, Enter at the end."""
    from textual.widgets import Input

    for selector, value in (
        ("#import-path", path),
        ("#import-email", email),
        ("#import-name", name),
        ("#import-password", password),
        ("#import-again", again),
    ):
        field = pilot.app.screen.query_one(selector, Input)
        assert pilot.app.focused is field, (selector, pilot.app.focused)
        field.value = ""
        await pilot.press(*value)
        await pilot.press("enter" if selector == "#import-again" else "tab")
    await settle(pilot)


async def open_import(pilot):
    from crm_tui.tui.screens.import_archive import ImportArchiveScreen
    from crm_tui.tui.screens.signin import SignInScreen

    await settle(pilot)
    assert isinstance(pilot.app.screen, SignInScreen)
    await press(pilot, "ctrl+o")
    assert isinstance(pilot.app.screen, ImportArchiveScreen), pilot.app.screen


@run
async def test_import_from_the_sign_in_screen_shows_the_passwords_once_then_signs_in(demo_url, tmp_path):
    from textual.widgets import Input

    from crm_tui.services import auth
    from crm_tui.tui.app import CrmApp
    from crm_tui.tui.screens.import_done import ImportDoneScreen
    from crm_tui.tui.screens.main import MainScreen
    from crm_tui.tui.screens.signin import SignInScreen

    path = export_close_purge(demo_url, tmp_path / "exports")
    app = CrmApp(database_url=demo_url)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        footer = " ".join(str(b.binding.description) for b in app.screen.active_bindings.values() if b.binding.show)
        assert "Import an archive" in footer
        await open_import(pilot)
        before = dump_database(app.engine)

        await fill_form(pilot, path, NEW_OWNER, "Acme Again", NEW_PASSWORD, NEW_PASSWORD + "x")
        assert "two passwords differ" in static_text(app.screen, "#import-message")
        assert app.screen.query_one("#import-password", Input).value == ""
        assert dump_database(app.engine) == before

        await press(pilot, *NEW_PASSWORD, "enter", *NEW_PASSWORD, "enter")
        assert isinstance(app.screen, ImportDoneScreen), static_text(app.screen, "#import-message")
        summary = static_text(app.screen, "#import-done-summary")
        assert "“Acme Again” is a new account" in summary and NEW_OWNER in summary
        shown = static_text(app.screen, "#import-done-passwords")
        lines = {line.split()[0]: line.split()[1] for line in shown.splitlines() if "@" in line}
        assert set(lines) == {ADMIN, PLAYER}
        for email, password in lines.items():  # each one-time password works
            assert auth.sign_in(app.engine, email, password).account_name == "Acme Again"
        assert app.focused.id == "import-done-sign-in"

        await press(pilot, "enter")  # Sign in: back to the sign-in form, the email filled in
        assert isinstance(app.screen, SignInScreen)
        assert app.screen.query_one("#email", Input).value == NEW_OWNER
        assert app.focused.id == "password"
        assert "Account imported" in static_text(app.screen, "#signin-message")
        await press(pilot, *NEW_PASSWORD, "enter")
        await settle(pilot)
        assert isinstance(app.screen, MainScreen)
        assert (app.who.email, app.who.role, app.who.account_name) == (NEW_OWNER, "owner", "Acme Again")


@pytest.mark.sqlite_only("the form's refusals (50 s); the import's own refusals run on both in test_importer")
@run
async def test_a_damaged_archive_or_bad_input_is_refused_on_the_form_and_nothing_changes(demo_url, tmp_path):
    from crm_tui.tui.app import CrmApp
    from crm_tui.tui.screens.import_archive import ImportArchiveScreen
    from crm_tui.tui.screens.signin import SignInScreen

    good = export_close_purge(demo_url, tmp_path / "exports")
    truncated = tmp_path / "truncated.zip"
    missing = tmp_path / "[bold]none[/].zip"  # markup in a path is shown as typed
    data = open(good, "rb").read()
    truncated.write_bytes(data[: len(data) // 2])
    app = CrmApp(database_url=demo_url)
    async with app.run_test(size=SIZE) as pilot:
        await open_import(pilot)
        before = dump_database(app.engine)
        for path, email, name, password, message in (
            (str(truncated), NEW_OWNER, "Acme", NEW_PASSWORD, "The archive is damaged or truncated"),
            (str(missing), NEW_OWNER, "Acme", NEW_PASSWORD, f"No archive at {missing}."),
            (good, "sam@birch-books.example", "Acme", NEW_PASSWORD, "already has a crm-tui account"),
            (good, NEW_OWNER, "Acme", "short", "at least 8 characters"),
            (good, NEW_OWNER, " ", NEW_PASSWORD, "Enter the account name"),
        ):
            app.screen.query_one("#import-path").focus()
            await pilot.pause()
            await fill_form(pilot, path, email, name, password, password)
            assert isinstance(app.screen, ImportArchiveScreen)
            shown = static_text(app.screen, "#import-message")
            assert message in shown and "\n" not in shown.strip(), shown
            assert app.screen.query_one("#import-message").has_class("-error")
        assert dump_database(app.engine) == before
        await press(pilot, "escape")
        assert isinstance(app.screen, SignInScreen)


@pytest.mark.sqlite_only("keys, focus and what a role is offered on a screen: nothing here depends on the database")
@run
async def test_escape_waits_for_an_import_under_way_so_its_passwords_are_not_lost(demo_url, tmp_path, monkeypatch):
    import threading

    from textual import events

    from crm_tui.services import importer
    from crm_tui.tui.app import CrmApp
    from crm_tui.tui.screens.import_archive import ImportArchiveScreen
    from crm_tui.tui.screens.import_done import ImportDoneScreen
    from crm_tui.tui.screens.signin import SignInScreen

    path = export_close_purge(demo_url, tmp_path / "exports")
    started, release = threading.Event(), threading.Event()
    real = importer.import_account

    def held(*args, **kwargs):
        started.set()
        assert release.wait(30)
        return real(*args, **kwargs)

    monkeypatch.setattr(importer, "import_account", held)
    app = CrmApp(database_url=demo_url)
    async with app.run_test(size=SIZE) as pilot:
        await open_import(pilot)
        form = app.screen
        for selector, value in (
            ("#import-path", path),
            ("#import-email", NEW_OWNER),
            ("#import-name", "Acme Again"),
            ("#import-password", NEW_PASSWORD),
            ("#import-again", NEW_PASSWORD),
        ):
            form.query_one(selector).value = value
        form.query_one("#import-again").focus()
        await pilot.press("enter")
        assert started.wait(30)
        form.action_back()  # what Esc does on the form while the import runs
        await pilot.pause()
        assert app.screen is form and isinstance(form, ImportArchiveScreen)
        assert "under way" in static_text(form, "#import-message")
        # Esc and Enter typed during the import reach the form or the result, never ending
        # the result before it was seen
        pilot.app.post_message(events.Key("escape", "\x1b"))
        pilot.app.post_message(events.Key("enter", "\r"))
        release.set()
        await settle(pilot)
        assert isinstance(app.screen, ImportDoneScreen)
        assert len(app.screen.result.members) == 2
        await press(pilot, "enter")  # pressed once it shows: Sign in
        assert isinstance(app.screen, SignInScreen)
