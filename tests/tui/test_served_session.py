"""A session ``crm-tui serve`` started, run in Pilot with the context the served entry point
builds from the CRM_TUI_SERVE_* variables: a linked key opens the member's dashboard without
the password; an unknown key signs in with the password and is offered for linking; exports
land in the member's own folder with the sftp line to fetch them; a session whose member is
removed ends the app with the usual message; the demo's goodbye restores one key away."""

from __future__ import annotations

import stat
import time

from conftest import ADMIN, OWNER, PASSWORDS, PLAYER
from pilot_kit import SIZE, count, press, rows, run, settle, sign_in, static_text
from ssh_kit import make_key, needs_keygen


def served(tmp_path, *, member_id: int | None = None, key: str = "", demo: bool = False):
    from crm_tui.session_context import SessionContext

    return SessionContext.from_served_environ(
        {
            "CRM_TUI_SERVE_MEMBER_ID": "" if member_id is None else str(member_id),
            "CRM_TUI_SERVE_KEY": key,
            "CRM_TUI_SERVE_EXPORTS": str(tmp_path / "served-exports"),
            "CRM_TUI_SERVE_HOST": "crm.example.org",
            "CRM_TUI_SERVE_PORT": "2222",
            "CRM_TUI_SERVE_DEMO": "1" if demo else "",
        }
    )


def linked_key(url: str, folder, email: str) -> tuple[int, str]:
    """A key made by ssh-keygen, linked to ``email`` through the service; (member id, line)."""
    from crm_tui import db
    from crm_tui.services import auth, ssh_keys

    engine = db.get_engine(url)
    member_id = auth.as_member(engine, email).member_id
    line = make_key(folder).with_suffix(".pub").read_text()
    ssh_keys.add(engine, member_id, line)
    db.dispose_all()
    return member_id, line


async def until(pilot, condition, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await pilot.pause(0.05)


def test_the_context_comes_from_the_serve_variables_only():
    from crm_tui.session_context import SessionContext

    ctx = SessionContext.from_served_environ(
        {
            "CRM_TUI_SERVE_MEMBER_ID": "7",
            "CRM_TUI_SERVE_KEY": "ssh-ed25519 AAAA x",
            "CRM_TUI_SERVE_EXPORTS": "/srv/exports",
            "CRM_TUI_SERVE_HOST": "2001:db8::1",
            "CRM_TUI_SERVE_PORT": "22",
            "CRM_TUI_SERVE_DEMO": "1",
            "SSH_CONNECTION": "1 2 10.0.0.5 22",  # not a served session's fact
        }
    )
    assert (ctx.served, ctx.member_id, ctx.public_key, ctx.demo) == (True, 7, "ssh-ed25519 AAAA x", True)
    assert (ctx.ssh_host, ctx.ssh_port) == ("2001:db8::1", "22")
    from pathlib import Path

    assert ctx.scp_line(Path("/srv/exports/7/acme.zip")) == "sftp [2001:db8::1]:acme.zip ."
    assert ctx.scp_line(Path("/elsewhere/acme.zip")) is None
    unknown = SessionContext.from_served_environ({"CRM_TUI_SERVE_MEMBER_ID": ""})
    assert unknown.member_id is None and unknown.served and not unknown.demo


@needs_keygen
@run
async def test_a_linked_key_opens_the_members_dashboard_without_the_password(demo_url, tmp_path):
    from crm_tui.tui.app import CrmApp
    from crm_tui.tui.screens.main import MainScreen

    member_id, line = linked_key(demo_url, tmp_path, PLAYER)
    app = CrmApp(database_url=demo_url, session_context=served(tmp_path, member_id=member_id, key=line))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await until(pilot, lambda: isinstance(app.screen, MainScreen))
        await settle(pilot)
        assert app.who.email == PLAYER and app.signed_in_by_key
        assert not any(s.__class__.__name__ == "LinkKeyModal" for s in app.screen_stack)


@needs_keygen
@run
async def test_an_unknown_key_signs_in_with_the_password_then_is_offered_for_linking(demo_url, tmp_path):
    from crm_tui.services import ssh_keys
    from crm_tui.tui.app import CrmApp
    from crm_tui.tui.screens.signin import SignInScreen
    from crm_tui.tui.screens.ssh_keys import LinkKeyModal

    line = make_key(tmp_path, comment="dana@laptop").with_suffix(".pub").read_text()
    app = CrmApp(database_url=demo_url, session_context=served(tmp_path, key=line))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, SignInScreen)
        await sign_in_then_modal(pilot, OWNER)
        assert isinstance(app.screen, LinkKeyModal)
        title = static_text(app.screen, "#link-key-title")
        assert title == f"Link this SSH key to {OWNER}? (y/n)"
        assert app.focused.id == "link-key-no"
        await press(pilot, "y")
        assert not isinstance(app.screen, LinkKeyModal)
        parsed = ssh_keys.parse_public_key(line)
        owner_id = app.who.member_id
        assert ssh_keys.member_for_key(app.engine, parsed.algorithm, parsed.key_data) == owner_id
        assert rows(app.engine, "SELECT comment FROM ssh_key") == [("dana@laptop",)]


@needs_keygen
@run
async def test_declining_the_link_stores_nothing_and_a_linked_key_is_not_offered(demo_url, tmp_path):
    from crm_tui.tui.app import CrmApp
    from crm_tui.tui.screens.main import MainScreen
    from crm_tui.tui.screens.ssh_keys import LinkKeyModal

    line = make_key(tmp_path).with_suffix(".pub").read_text()
    app = CrmApp(database_url=demo_url, session_context=served(tmp_path, key=line))
    async with app.run_test(size=SIZE) as pilot:
        await sign_in_then_modal(pilot, ADMIN)
        assert isinstance(app.screen, LinkKeyModal)
        await press(pilot, "n")
        assert isinstance(app.screen, MainScreen)
        assert count(app.engine, "SELECT count(*) FROM ssh_key") == 0
    # a key linked to someone else (whose session the server did not open: say, a closed
    # window) is never offered to the person signing in with a password
    _member, theirs = linked_key(demo_url, tmp_path, PLAYER)
    app = CrmApp(database_url=demo_url, session_context=served(tmp_path, key=theirs))
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot, ADMIN)
        await settle(pilot)
        assert isinstance(app.screen, MainScreen)


async def sign_in_then_modal(pilot, email: str) -> None:
    from textual.widgets import Input

    await settle(pilot)
    pilot.app.screen.query_one("#email", Input).value = email
    pilot.app.screen.query_one("#password", Input).value = PASSWORDS[email]
    pilot.app.screen.query_one("#password", Input).focus()
    await press(pilot, "enter")


@needs_keygen
@run
async def test_a_removed_members_key_session_is_refused_with_the_usual_message(demo_url, tmp_path):
    """The server looked the key up a moment before the member was removed."""
    from crm_tui import db
    from crm_tui.services import auth, team
    from crm_tui.tui.app import CrmApp
    from crm_tui.tui.screens.signin import SignInScreen

    member_id, line = linked_key(demo_url, tmp_path, PLAYER)
    engine = db.get_engine(demo_url)
    team.remove_member(engine, auth.as_member(engine, OWNER), member_id)
    app = CrmApp(database_url=demo_url, session_context=served(tmp_path, member_id=member_id, key=line))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, SignInScreen) and app.who is None
        message = static_text(app.screen, "#signin-message")
        assert message == "Your access to this account has ended. Sign in with your email and password."


@needs_keygen
@run
async def test_the_session_ends_when_the_member_is_removed(demo_url, tmp_path):
    from crm_tui import db
    from crm_tui.services import auth, team
    from crm_tui.tui.app import CrmApp

    member_id, line = linked_key(demo_url, tmp_path, PLAYER)
    app = CrmApp(database_url=demo_url, session_context=served(tmp_path, member_id=member_id, key=line))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await until(pilot, lambda: app.who is not None)
        engine = db.get_engine(demo_url)
        team.remove_member(engine, auth.as_member(engine, OWNER), member_id)
        await until(pilot, lambda: app.exit_note != "")  # the session check runs every 2 s
    assert app.exit_note == "You are no longer a member of this account. Your access has ended."
    assert app.return_code == 0


@run
async def test_an_export_lands_in_the_members_folder_with_the_sftp_line(demo_url, tmp_path):
    from crm_tui.tui.app import CrmApp
    from crm_tui.tui.screens.download import DownloadScreen

    context = served(tmp_path)
    app = CrmApp(database_url=demo_url, session_context=context)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot, OWNER)
        await press(pilot, "p", "down", "down", "down", "enter")
        assert isinstance(app.screen, DownloadScreen), app.screen
        await until(pilot, lambda: app.screen.result is not None)
        await settle(pilot)
        folder = tmp_path / "served-exports" / str(app.who.member_id)
        written = app.screen.result.path
        assert written.parent == folder and written.exists()
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
        assert static_text(app.screen, "#download-scp") == (
            f"Fetch it to your own computer:\n  sftp -P 2222 crm.example.org:{written.name} ."
        )
        assert list((tmp_path / "served-exports").iterdir()) == [folder]


# --- the entry module as the server runs it: a process on its own terminal -------------------


class Terminal:
    """``python -m crm_tui.served`` on a pseudo-terminal of 80×24, with only the variables
    the server hands a session; what it draws is read through pyte."""

    def __init__(self, env: dict[str, str]) -> None:
        import sys

        import pexpect
        import pyte

        self.screen = pyte.Screen(80, 24)
        self.stream = pyte.Stream(self.screen)
        self.raw = ""
        self.child = pexpect.spawn(
            sys.executable, ["-m", "crm_tui.served"], env=env, dimensions=(24, 80), encoding="utf-8"
        )

    def pump(self) -> bool:
        import pexpect

        try:
            data = self.child.read_nonblocking(65536, timeout=0.2)
        except pexpect.TIMEOUT:
            return True
        except pexpect.EOF:
            return False
        self.raw += data
        self.stream.feed(data)
        return True

    def text(self) -> str:
        return "\n".join(self.screen.display)

    def wait_for(self, wanted: str, seconds: float = 60.0) -> None:
        deadline = time.monotonic() + seconds
        while wanted not in self.text():
            assert time.monotonic() < deadline, f"{wanted!r} not shown:\n{self.text()}"
            self.pump()

    def wait_for_exit(self, seconds: float = 60.0) -> int:
        deadline = time.monotonic() + seconds
        while self.pump():
            assert time.monotonic() < deadline, "the app did not end"
        self.child.close()
        return self.child.exitstatus


def served_env(url: str, tmp_path, member_id: int | None, key: str) -> dict[str, str]:
    import os
    from pathlib import Path

    src = Path(__file__).resolve().parents[2] / "src"
    env = {
        name: os.environ[name] for name in ("PATH", "HOME", "TZ", "LANG") if name in os.environ
    }  # the server's whitelist
    env.update(
        {
            "TERM": "xterm-256color",
            "PYTHONPATH": str(src),
            "CRM_TUI_DATABASE_URL": url,
            "CRM_TUI_SERVE_MEMBER_ID": "" if member_id is None else str(member_id),
            "CRM_TUI_SERVE_KEY": key,
            "CRM_TUI_SERVE_EXPORTS": str(tmp_path / "served-exports"),
            "CRM_TUI_SERVE_HOST": "localhost",
            "CRM_TUI_SERVE_PORT": "2222",
            "CRM_TUI_SERVE_DEMO": "",
        }
    )
    return env


@needs_keygen
def test_the_served_process_opens_the_dashboard_and_ends_with_the_message_when_removed(demo_url, tmp_path):
    from crm_tui import db
    from crm_tui.services import auth, team

    member_id, line = linked_key(demo_url, tmp_path, PLAYER)
    term = Terminal(served_env(demo_url, tmp_path, member_id, line))
    try:
        term.wait_for("Welcome, Priya")
        engine = db.get_engine(demo_url)
        team.remove_member(engine, auth.as_member(engine, OWNER), member_id)
        assert term.wait_for_exit() == 0
    finally:
        term.child.close(force=True)
    assert "You are no longer a member of this account. Your access has ended." in term.raw


def test_the_served_process_without_a_key_shows_sign_in_and_quits_on_ctrl_q(demo_url, tmp_path):
    term = Terminal(served_env(demo_url, tmp_path, None, ""))
    try:
        term.wait_for("sign in")
        term.child.send("\x11")  # ctrl+q
        assert term.wait_for_exit() == 0
    finally:
        term.child.close(force=True)


@needs_keygen
@run
async def test_in_a_key_session_the_export_asks_for_the_password_first(demo_url, tmp_path):
    from textual.widgets import Input

    from crm_tui.tui.app import CrmApp
    from crm_tui.tui.screens.download import DownloadScreen
    from crm_tui.tui.screens.main import MainScreen
    from crm_tui.tui.widgets.confirm import ConfirmModal

    member_id, line = linked_key(demo_url, tmp_path, OWNER)
    app = CrmApp(database_url=demo_url, session_context=served(tmp_path, member_id=member_id, key=line))
    exports = tmp_path / "served-exports"
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await until(pilot, lambda: isinstance(app.screen, MainScreen))
        await press(pilot, "p", "down", "down", "down", "enter")
        assert isinstance(app.screen, ConfirmModal)
        assert "enter your password" in str(app.screen.query_one("#confirm-body").children[0].visual)
        await press(pilot, "escape")  # backs out: nothing is written
        assert isinstance(app.screen, MainScreen)
        assert not exports.exists() or not any(exports.rglob("*.zip"))

        await press(pilot, "p", "down", "down", "down", "enter")
        app.screen.query_one("#confirm-password", Input).value = "not-the-password"
        await press(pilot, "enter", "enter")
        assert isinstance(app.screen, ConfirmModal)
        assert static_text(app.screen, "#confirm-error") == "Wrong password"
        app.screen.query_one("#confirm-password", Input).value = PASSWORDS[OWNER]
        await press(pilot, "enter", "enter")
        assert isinstance(app.screen, DownloadScreen)
        await until(pilot, lambda: app.screen.result is not None)
        assert app.screen.result.path.parent == exports / str(member_id)


def footer_keys(screen) -> str:
    return " ".join(f"{b.key} {b.description}" for (_n, b, enabled, _t) in screen.active_bindings.values() if enabled)


@run
async def test_the_demo_goodbye_restores_one_key_away_then_signs_in_again(demo_url, tmp_path):
    from crm_tui.services import closing
    from crm_tui.tui.app import CrmApp
    from crm_tui.tui.screens.goodbye import GoodbyeScreen, after_closing
    from crm_tui.tui.screens.signin import SignInScreen

    app = CrmApp(database_url=demo_url, session_context=served(tmp_path, demo=True))
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot, OWNER)
        receipt = closing.close_account(app.engine, app.who, "Acme Realty", PASSWORDS[OWNER])
        after_closing(app, receipt)
        await settle(pilot)
        await press(pilot, "escape")  # skips the survey
        assert isinstance(app.screen, GoodbyeScreen)
        assert "u Restore (demo)" in footer_keys(app.screen)
        assert "press u to restore" in static_text(app.screen, "#goodbye-keep")
        assert count(app.engine, "SELECT count(*) FROM account WHERE name = 'Acme Realty'") == 0
        await press(pilot, "u")
        await until(pilot, lambda: isinstance(app.screen, SignInScreen))
        await settle(pilot)
        assert static_text(app.screen, "#signin-message").startswith("Acme Realty was restored")
        assert count(app.engine, "SELECT count(*) FROM account WHERE name = 'Acme Realty'") == 1
        await sign_in(pilot, OWNER)  # her password works again
        assert app.who.email == OWNER


@run
async def test_outside_the_demo_the_goodbye_offers_no_restore_and_signing_out_ends_the_session(demo_url, tmp_path):
    from crm_tui.services import closing
    from crm_tui.tui.app import CrmApp
    from crm_tui.tui.screens.goodbye import GoodbyeScreen, after_closing

    app = CrmApp(database_url=demo_url, session_context=served(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot, OWNER)
        receipt = closing.close_account(app.engine, app.who, "Acme Realty", PASSWORDS[OWNER])
        after_closing(app, receipt)
        await settle(pilot)
        await press(pilot, "escape")
        assert isinstance(app.screen, GoodbyeScreen)
        assert "Restore" not in footer_keys(app.screen)
        await press(pilot, "u")
        assert isinstance(app.screen, GoodbyeScreen)
        assert count(app.engine, "SELECT count(*) FROM account WHERE name = 'Acme Realty'") == 0
        await press(pilot, "r")  # the receipt goes to her folder, with the sftp line
        saved = static_text(app.screen, "#goodbye-saved")
        folder = tmp_path / "served-exports" / str(app.screen.member_id)
        names = [p.name for p in folder.iterdir()]
        assert len(names) == 1 and f"sftp -P 2222 crm.example.org:{names[0]} ." in saved
        await press(pilot, "s")
    assert app.exit_note == "Your account was closed. You have been signed out."


@run
async def test_a_served_sign_in_offers_no_import_from_the_servers_disk(demo_url, tmp_path):
    from crm_tui.tui.app import CrmApp
    from crm_tui.tui.screens.signin import SignInScreen

    app = CrmApp(database_url=demo_url, session_context=served(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "Import" not in footer_keys(app.screen)
        await press(pilot, "ctrl+o")
        assert isinstance(app.screen, SignInScreen)
    app = CrmApp(database_url=demo_url)  # a local session still offers it
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "Import an archive" in footer_keys(app.screen)


def test_a_served_session_without_an_exports_folder_writes_nowhere(tmp_path):
    import pytest

    from crm_tui.session_context import SessionContext

    ctx = SessionContext.from_served_environ({"CRM_TUI_SERVE_HOST": "h"})
    with pytest.raises(OSError, match="no exports folder"):
        ctx.export_folder(3)
    assert SessionContext().export_folder(3) is None  # a local session: the downloads folder
    made = served(tmp_path).export_folder(3)
    assert made == tmp_path / "served-exports" / "3" and stat.S_IMODE(made.stat().st_mode) == 0o700
