"""The server's parts on their own: durations, the per-address window, the child's
environment, the SFTP path rules, the exports sweep, the host key, the demo sandboxes."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import asyncssh
import pytest

from crm_tui.serve.child import child_environment
from crm_tui.serve.config import format_duration, parse_duration
from crm_tui.serve.limits import ConnectionRate, session_refusal
from crm_tui.serve.sftp import ExportsSFTPServer, sweep_exports

DAY = 24 * 3600


@pytest.mark.parametrize("text, seconds", [("90s", 90), ("30m", 1800), ("1h", 3600), ("45", 45), ("1.5m", 90)])
def test_durations_are_read_with_their_unit(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "ten minutes", "5d", "-1m"])
def test_a_duration_without_a_known_unit_is_refused(text):
    with pytest.raises(ValueError):
        parse_duration(text)


def test_durations_are_named_in_words():
    assert [format_duration(s) for s in (1800, 3600, 60, 4, 1, 90)] == [
        "30 minutes", "1 hour", "1 minute", "4 seconds", "1 second", "90 seconds",
    ]  # fmt: skip


def test_new_connections_are_counted_per_address_in_a_sliding_window():
    now = [0.0]
    rate = ConnectionRate(2, 60, clock=lambda: now[0])
    assert rate.admit("10.0.0.1") and rate.admit("10.0.0.1")
    assert not rate.admit("10.0.0.1")  # the third within the minute
    assert rate.admit("10.0.0.2")  # another address has its own count
    now[0] = 59.9
    assert not rate.admit("10.0.0.1")  # refusals are not counted, but the window has not moved yet
    now[0] = 60.1
    assert rate.admit("10.0.0.1")
    rate.forget_idle()
    now[0] = 500
    rate.forget_idle()
    assert not rate._seen


def test_session_caps_are_worded_for_the_person_refused():
    assert session_refusal(1, 0, None, 2, 1) == ""
    assert "server is full (2 sessions)" in session_refusal(2, 0, None, 2, 1)
    assert "1 session open already" in session_refusal(1, 1, 7, 5, 1)
    assert "3 sessions open already" in session_refusal(3, 3, 7, 5, 3)
    assert session_refusal(3, 3, None, 5, 3) == ""  # an unknown key counts in the total only


def test_the_childs_environment_takes_only_the_whitelist():
    client = {
        "LANG": "de_DE.UTF-8",
        "LC_TIME": "C",
        "LC_EVIL-NAME": "x",
        "COLORTERM": "truecolor",
        "NO_COLOR": "1",
        "FOO": "bar",
        "LD_PRELOAD": "/tmp/x.so",
        "PATH": "/client/bin",
        "CRM_TUI_SERVE_MEMBER_ID": "1",
        "PYTHONPATH": "/client",
        "LC_ALL": "\x1b[31m",
    }
    server = {"PATH": "/usr/bin", "HOME": "/srv", "TZ": "UTC", "SECRET": "s", "CRM_TUI_BACKUP_DIR": "/b"}
    session = {"CRM_TUI_DATABASE_URL": "sqlite:///x", "CRM_TUI_SERVE_MEMBER_ID": ""}
    env = child_environment("xterm-256color", client, server, session)
    assert env == {
        "PATH": "/usr/bin",
        "HOME": "/srv",
        "TZ": "UTC",
        "CRM_TUI_BACKUP_DIR": "/b",
        "LANG": "de_DE.UTF-8",
        "LC_TIME": "C",
        "COLORTERM": "truecolor",
        "NO_COLOR": "1",
        "TERM": "xterm-256color",
        "CRM_TUI_DATABASE_URL": "sqlite:///x",
        "CRM_TUI_SERVE_MEMBER_ID": "",
    }
    assert child_environment("", {}, {}, {})["TERM"] == "xterm-256color"


@pytest.fixture
def exports(tmp_path: Path) -> Path:
    root = tmp_path / "exports"
    (root / "1").mkdir(parents=True)
    (root / "2").mkdir()
    (root / "1" / "mine.zip").write_bytes(b"mine")
    (root / "2" / "theirs.zip").write_bytes(b"theirs")
    (root / "1" / "link").symlink_to(root / "2" / "theirs.zip")
    (root / "1" / "folder-link").symlink_to(root / "2", target_is_directory=True)
    return root


def test_sftp_paths_stay_in_the_members_folder(exports: Path):
    server = ExportsSFTPServer(None, exports / "1")  # type: ignore[arg-type]  (no channel needed here)
    root = os.fsencode(os.path.realpath(exports / "1"))
    assert server.map_path(b"/mine.zip") == root + b"/mine.zip"
    assert server.map_path(b"mine.zip") == root + b"/mine.zip"
    assert server.map_path(b"/") == root and server.map_path(b".") == root
    assert server.map_path(b"/a/../mine.zip") == root + b"/mine.zip"
    assert server.map_path(b"/etc/passwd") == root + b"/etc/passwd"  # inside, where nothing is
    for path in (b"..", b"../2/theirs.zip", b"/../../etc/passwd", b"a/../../x", b"link", b"folder-link/theirs.zip"):
        with pytest.raises(asyncssh.SFTPPermissionDenied):
            server.map_path(path)
    for write in (asyncssh.FXF_WRITE, asyncssh.FXF_CREAT, asyncssh.FXF_APPEND, asyncssh.FXF_TRUNC):
        with pytest.raises(asyncssh.SFTPPermissionDenied):
            server.open(b"mine.zip", asyncssh.FXF_READ | write, asyncssh.SFTPAttrs())
    with server.open(b"mine.zip", asyncssh.FXF_READ, asyncssh.SFTPAttrs()) as f:  # type: ignore[attr-defined]
        assert f.read() == b"mine"
    (exports / "3").symlink_to(exports / "2", target_is_directory=True)
    with pytest.raises(asyncssh.SFTPPermissionDenied):
        ExportsSFTPServer(None, exports / "3")  # type: ignore[arg-type]  (a member's folder that is a link)


def test_exports_older_than_seven_days_are_swept(exports: Path):
    old = time.time() - 8 * DAY
    os.utime(exports / "2" / "theirs.zip", (old, old))
    os.utime(exports / "1" / "link", (old, old), follow_symlinks=False)
    (exports / "1" / "sub").mkdir()
    (exports / "1" / "sub" / "old.csv").write_text("x")
    os.utime(exports / "1" / "sub" / "old.csv", (old, old))
    target = exports.parent / "outside.txt"
    target.write_text("kept")
    os.utime(target, (old, old))
    (exports / "1" / "outside-link").symlink_to(target)

    assert sweep_exports(exports, 7 * DAY) == 3  # theirs.zip, the old link, sub/old.csv
    assert sorted(p.name for p in (exports / "1").iterdir()) == ["folder-link", "mine.zip", "outside-link"]
    assert not (exports / "2" / "theirs.zip").exists() and (exports / "2").is_dir()  # members' folders stay
    assert target.read_text() == "kept"  # a link is never followed
    assert sweep_exports(exports.parent / "missing", 7 * DAY) == 0


def test_the_host_key_is_made_private_once_and_an_unprotected_one_refused(tmp_path: Path):
    from crm_tui.serve import hostkey
    from crm_tui.services.errors import InvalidInput

    path = tmp_path / "keys" / "host"
    key, created = hostkey.load_or_create(path)
    assert created and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    again, created = hostkey.load_or_create(path)
    assert not created and hostkey.fingerprint(again) == hostkey.fingerprint(key)
    assert key.algorithm == b"ssh-ed25519"
    path.chmod(0o644)
    with pytest.raises(InvalidInput, match="can be read by others"):
        hostkey.load_or_create(path)


def test_demo_sandboxes_are_private_copies_of_one_template(tmp_path: Path):
    import sqlite3

    from crm_tui.serve.sandbox import Sandboxes

    boxes = Sandboxes(tmp_path / "demo")
    boxes.seed(contacts=3)
    one, two = boxes.make(), boxes.make()
    assert one.folder != two.folder
    for box in (one, two):
        assert stat.S_IMODE(box.folder.stat().st_mode) == 0o700
        with sqlite3.connect(box.folder / "crm.sqlite3") as conn:
            assert conn.execute("SELECT count(*) FROM account").fetchone()[0] == 2
    boxes.destroy(one)
    assert not one.folder.exists() and two.folder.exists()
    old = time.time() - 7200
    os.utime(two.folder, (old, old))
    assert boxes.sweep(3600) == 1 and not two.folder.exists()
    boxes.close()
    assert not (tmp_path / "demo").exists()


def test_serve_refuses_what_it_cannot_use_in_one_line(capsys, tmp_path: Path):
    from crm_tui.cli import main

    assert main(["serve", "--demo", "--database-url", f"sqlite:///{tmp_path / 'x.sqlite3'}"]) == 1
    assert capsys.readouterr().err == (
        "crm-tui: --demo gives every visitor a database of their own: leave out --database-url\n"
    )
    assert main(["serve", "--database-url", f"sqlite:///{tmp_path / 'missing.sqlite3'}"]) == 1
    assert "there is no database at" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["serve", "--idle-timeout", "soon"])
    assert "not a duration: 'soon'" in capsys.readouterr().err
