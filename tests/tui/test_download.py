"""Download My Data: the export runs in a worker with a progress bar, then shows the file's
path, size and sha256 (checked against the file), and over SSH a ready scp line."""

from __future__ import annotations

import getpass
import hashlib
import zipfile
from pathlib import Path

from conftest import ADMIN, OWNER
from pilot_kit import SIZE, run, settle, sign_in, static_text  # noqa: F401
from test_closing_flow import open_from_profile_menu


def scp_line(path, environ):
    from crm_tui.session_context import SessionContext

    return SessionContext.from_environ({"LOGNAME": getpass.getuser(), **environ}).scp_line(path)


def test_scp_line_from_ssh_connection(isolated_dirs):
    user = getpass.getuser()
    file = Path.home() / "Downloads" / "acme-realty-2026-11-27.zip"
    assert scp_line(file, {}) is None
    assert (
        scp_line(file, {"SSH_CONNECTION": "10.0.0.9 50022 10.0.0.5 22"})
        == f"scp {user}@10.0.0.5:Downloads/acme-realty-2026-11-27.zip ."
    )
    assert (
        scp_line(file, {"SSH_CONNECTION": "::1 50022 fe80::1 2222"})
        == f"scp -P 2222 {user}@[fe80::1]:Downloads/acme-realty-2026-11-27.zip ."
    )
    assert (
        scp_line(Path("/srv/my exports/a.zip"), {"SSH_CONNECTION": "1 2 10.0.0.5 22"})
        == f"scp {user}@10.0.0.5:'/srv/my exports/a.zip' ."
    )
    assert (
        scp_line(file, {"SSH_CONNECTION": "10.0.0.9 50022 10.0.0.5 22", "LOGNAME": "dana"})
        == "scp dana@10.0.0.5:Downloads/acme-realty-2026-11-27.zip ."
    )


def test_the_session_context_comes_from_the_environment_once_at_start(monkeypatch):
    """The app reads how the user is connected from what the entry point handed it, not from
    the process's environment as it is later."""
    from crm_tui.session_context import SessionContext
    from crm_tui.tui import launch
    from crm_tui.tui.app import CrmApp

    monkeypatch.setenv("SSH_CONNECTION", "203.0.113.7 53422 192.0.2.10 2222")
    made = {}
    monkeypatch.setattr(CrmApp, "run", lambda self: made.setdefault("app", self))
    launch.run_app("sqlite://")
    assert made["app"].session_context == SessionContext("192.0.2.10", "2222", getpass.getuser())
    assert CrmApp().session_context.over_ssh is False  # nothing said: not over SSH


def test_owner_downloads_from_the_profile_menu_over_ssh(demo_url, monkeypatch):
    from textual.widgets import ProgressBar

    from crm_tui.session_context import SessionContext
    from crm_tui.tui.app import CrmApp
    from crm_tui.tui.screens.download import DownloadScreen

    over_ssh = SessionContext.from_environ({"SSH_CONNECTION": "203.0.113.7 53422 192.0.2.10 22"})

    async def body():
        app = CrmApp(database_url=demo_url, session_context=over_ssh)
        async with app.run_test(size=SIZE) as pilot:
            await sign_in(pilot, OWNER)
            await open_from_profile_menu(pilot, "download")
            s = app.screen
            assert isinstance(s, DownloadScreen)
            bar = s.query_one("#download-bar", ProgressBar)
            assert bar.total and bar.progress == bar.total
            assert static_text(s, "#download-status").startswith("Done: ")
            result = static_text(s, "#download-result")
            path = Path.home() / "Downloads" / "acme-realty-2026-11-27.zip"
            data = path.read_bytes()
            assert "File:    ~/Downloads/acme-realty-2026-11-27.zip" in result
            assert f"({len(data):,} bytes)" in result
            assert f"SHA-256: {hashlib.sha256(data).hexdigest()}" in result
            assert f"scp {getpass.getuser()}@192.0.2.10:Downloads/acme-realty-2026-11-27.zip ." in static_text(
                s, "#download-scp"
            )
            with zipfile.ZipFile(path) as zf:
                assert "contacts.csv" in zf.namelist()
            assert app.focused.id == "download-done"
            await pilot.press("enter")
            await settle(pilot)
            assert not isinstance(app.screen, DownloadScreen)

    run(body())


def test_export_is_one_key_away_from_the_confirmation(demo_url):
    from test_closing_flow import open_confirmation_by_keys

    from crm_tui.tui.app import CrmApp
    from crm_tui.tui.screens.close_confirm import CloseConfirmScreen
    from crm_tui.tui.screens.download import DownloadScreen

    async def body():
        app = CrmApp(database_url=demo_url)
        async with app.run_test(size=SIZE) as pilot:
            await sign_in(pilot, OWNER)
            await open_confirmation_by_keys(pilot)
            await pilot.press("e")
            await settle(pilot)
            assert isinstance(app.screen, DownloadScreen)
            assert static_text(app.screen, "#download-status").startswith("Done: ")
            await pilot.press("escape")
            await settle(pilot)
            assert isinstance(app.screen, CloseConfirmScreen)
            note = static_text(app.screen, "#close-export-note")
            assert note.startswith("Exported: ~/Downloads/acme-realty-2026-11-27.zip")
            assert app.focused.id == "close-cancel"

    run(body())


def test_administrator_can_download(demo_url):
    from crm_tui.tui.app import CrmApp
    from crm_tui.tui.screens.download import DownloadScreen

    async def body():
        app = CrmApp(database_url=demo_url)
        async with app.run_test(size=SIZE) as pilot:
            await sign_in(pilot, ADMIN)
            app.action_open("download")
            await settle(pilot)
            assert isinstance(app.screen, DownloadScreen)
            assert "SHA-256:" in static_text(app.screen, "#download-result")

    run(body())


def test_the_contacts_export_notice_gives_the_same_scp_line(isolated_dirs):
    """Group Actions' export and Download My Data word the fetch command alike."""
    from types import SimpleNamespace

    from crm_tui.session_context import SessionContext
    from crm_tui.tui.screens.contacts import export_notice

    result = SimpleNamespace(path=Path.home() / "Downloads" / "acme.zip", size=10, sha256="ab", counts={"contacts": 2})
    over_ssh = SessionContext(ssh_host="10.0.0.5", ssh_port="2222", user="dana")
    assert export_notice(result, over_ssh).plain.endswith(
        "Fetch it from your computer with:\n  scp -P 2222 dana@10.0.0.5:Downloads/acme.zip ."
    )
    assert "Fetch" not in export_notice(result, SessionContext()).plain
