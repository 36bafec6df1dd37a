"""A copy of a database (a file copy, a restored server backup) shares the original's backup
folder id; nothing it does may delete a backup the original refers to. A sweep removes only
its own database's unfinished work: a ``.pending`` file whose writer is gone."""

from __future__ import annotations

import fcntl
import io
import os
import shutil
import signal
import sys
from pathlib import Path

import pytest
from conftest import OWNER, PASSWORDS

pytestmark = pytest.mark.sqlite_only(
    "copies of a SQLite database file and of the backup folder it owns (backups kept in a PostgreSQL database: "
    "see pg-backups)"
)

ACME = "Acme Realty"


def run_cli(argv, monkeypatch, capsys, stdin=""):
    from crm_tui import cli, db

    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    capsys.readouterr()
    try:
        code = cli.main(argv)
    finally:
        db.dispose_all()
    out, err = capsys.readouterr()
    return code, out, err


def copy_database(src: Path, dst: Path) -> Path:
    """``cp`` of a database whose WAL has been folded back in (as after any close or purge)."""
    shutil.copyfile(src, dst)
    return dst


@pytest.fixture
def original(fresh_demo, tmp_path):
    from crm_tui import db

    path = Path(fresh_demo.url.database)
    db.checkpoint(fresh_demo)
    return path


def backup_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and p.name != "owner")


def test_a_copy_of_the_database_never_removes_the_originals_backups(original, tmp_path, monkeypatch, capsys):
    """The issue's steps: purge, copy the file, close on the original, then purge on the
    copy and start the app on it (its start-up sweep); the original still restores."""
    from crm_tui import db, paths
    from crm_tui.services import backups

    url = f"sqlite:///{original}"
    assert run_cli(["--database-url", url, "admin", "purge"], monkeypatch, capsys)[0] == 0
    copy = copy_database(original, tmp_path / "copy.sqlite3")
    code, out, err = run_cli(
        ["--database-url", url, "account", "close", "--email", OWNER, "--confirm", ACME, "--password-stdin"],
        monkeypatch,
        capsys,
        stdin=PASSWORDS[OWNER] + "\n",
    )
    assert code == 0, err
    files = backup_files(paths.backup_dir())
    assert len(files) == 1 and files[0].suffix == ".crmbak"
    copy_url = f"sqlite:///{copy}"
    code, out, err = run_cli(["--database-url", copy_url, "admin", "purge"], monkeypatch, capsys)
    assert code == 0, err
    backups.sweep(db.get_engine(copy_url))  # what the app runs when it starts on the copy
    db.dispose_all()
    assert backup_files(paths.backup_dir()) == files
    code, out, err = run_cli(["--database-url", url, "admin", "restore", "--email", OWNER], monkeypatch, capsys)
    assert code == 0, err
    assert "Restored Acme Realty" in out


def test_a_copy_made_after_the_close_restores_without_taking_the_file_from_the_original(
    original, tmp_path, monkeypatch, capsys
):
    from crm_tui import db, paths
    from crm_tui.services import auth, closing

    engine = db.get_engine(f"sqlite:///{original}")
    closing.close_account(engine, auth.as_member(engine, OWNER), ACME, PASSWORDS[OWNER])
    db.dispose_all()
    copy = copy_database(original, tmp_path / "copy.sqlite3")
    files = backup_files(paths.backup_dir())
    copied = db.get_engine(f"sqlite:///{copy}")
    closing.restore(copied, OWNER)  # reads the original's file ...
    assert auth.as_member(copied, OWNER).account_name == ACME
    assert backup_files(paths.backup_dir()) == files  # ... and leaves it where it was
    closing.restore(db.get_engine(f"sqlite:///{original}"), OWNER)
    assert backup_files(paths.backup_dir()) == []  # the original's restore removes its own file


def test_a_whole_data_folder_copied_elsewhere_is_the_owner_of_its_copied_backups(original, tmp_path, monkeypatch):
    """Database and backup folder copied together (a move to another disk): the copy's
    backups are its own; its restore removes the file as the original's would."""
    from crm_tui import db, paths
    from crm_tui.services import auth, closing

    engine = db.get_engine(f"sqlite:///{original}")
    closing.close_account(engine, auth.as_member(engine, OWNER), ACME, PASSWORDS[OWNER])
    db.dispose_all()
    moved = tmp_path / "moved"
    moved.mkdir()
    copy = copy_database(original, moved / "crm.sqlite3")
    shutil.copytree(paths.backup_dir(), moved / "backups")
    monkeypatch.setenv("CRM_TUI_BACKUP_DIR", str(moved / "backups"))
    closing.restore(db.get_engine(f"sqlite:///{copy}"), OWNER)
    assert backup_files(moved / "backups") == []


# --- crashes and a second process, through fork ------------------------------------------


def in_child(body) -> int:
    """Run ``body()`` in a forked child; return its exit status code (or -signal)."""
    from crm_tui import db

    db.dispose_all()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 3
        try:
            body()
            code = 0
        except BaseException:
            code = 4
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def close_in_child(url: str, patch) -> int:
    def body():
        from crm_tui import db
        from crm_tui.services import auth, closing

        patch()
        engine = db.get_engine(url)
        closing.close_account(engine, auth.as_member(engine, OWNER), ACME, PASSWORDS[OWNER])

    return in_child(body)


def die_after_commit():
    """The writer dies between the commit and the rename of its ``.pending`` file."""
    from crm_tui.services import backups

    backups.Pending.finish = lambda self: os._exit(9)


def die_before_commit():
    """The writer dies after its backup is written and fsynced, before the transaction that
    records it (phase (c)) commits."""
    from crm_tui.services import closing

    closing._record_close = lambda *args: os._exit(9)


def pending_files(root: Path) -> list[Path]:
    return sorted(root.rglob("*.pending"))


def test_a_crash_between_write_and_commit_is_tidied_by_its_own_database_only(original, tmp_path):
    from crm_tui import db, paths
    from crm_tui.services import backups, closing

    copy = copy_database(original, tmp_path / "copy.sqlite3")
    url = f"sqlite:///{original}"
    assert close_in_child(url, die_before_commit) == 9
    pending = pending_files(paths.backup_dir())
    assert len(pending) == 1
    assert backups.sweep(db.get_engine(f"sqlite:///{copy}")) == []  # not the copy's to judge
    assert pending_files(paths.backup_dir()) == pending
    done = backups.sweep(db.get_engine(url))
    assert done == [f"removed unfinished {pending[0].name}"]
    # the next start puts the account back: its dead closer's lease file goes with the mark
    undone = "Acme Realty (account 1): an unfinished close was undone; the account is open again"
    assert closing.resume(db.get_engine(url)) == [undone]
    assert backup_files(paths.backup_dir()) == []
    with pytest.raises(Exception, match="no closed account"):
        closing.restore(db.get_engine(url), OWNER)  # nothing was closed


def test_a_crash_between_commit_and_rename_is_finished_and_never_removed_by_a_copy(original, tmp_path):
    from crm_tui import db, paths
    from crm_tui.services import auth, backups, closing

    copy = copy_database(original, tmp_path / "copy.sqlite3")
    url = f"sqlite:///{original}"
    assert close_in_child(url, die_after_commit) == 9
    pending = pending_files(paths.backup_dir())
    assert len(pending) == 1
    copied = db.get_engine(f"sqlite:///{copy}")
    assert backups.sweep(copied) == []
    closing.purge(copied)
    assert pending_files(paths.backup_dir()) == pending
    engine = db.get_engine(url)
    final = pending[0].name[: -len(backups.PENDING)]
    assert backups.sweep(engine) == [f"finished {final}"]
    closing.restore(engine, OWNER)
    assert auth.as_member(engine, OWNER).account_name == ACME


def test_a_copy_started_while_the_original_is_closing_leaves_its_backup_alone(original, tmp_path):
    """Two processes: the original's close has written its backup and not yet committed
    when the app starts on a copy (its sweep) and the copy is purged."""
    from crm_tui import db, paths
    from crm_tui.services import auth, backups, closing

    copy = copy_database(original, tmp_path / "copy.sqlite3")
    url = f"sqlite:///{original}"
    ready_r, ready_w = os.pipe()
    go_r, go_w = os.pipe()
    db.dispose_all()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child: the original's close, paused before its commit
        code = 3
        try:
            os.close(ready_r), os.close(go_w)
            real = backups.write

            def write_then_wait(conn, account_id, created_at, **kw):
                pending = real(conn, account_id, created_at, **kw)
                os.write(ready_w, b"written\n")
                os.read(go_r, 1)
                return pending

            backups.write = write_then_wait
            engine = db.get_engine(url)
            closing.close_account(engine, auth.as_member(engine, OWNER), ACME, PASSWORDS[OWNER])
            code = 0
        finally:
            os._exit(code)
    os.close(ready_w), os.close(go_r)
    try:
        assert os.read(ready_r, 64) == b"written\n"
        pending = pending_files(paths.backup_dir())
        assert len(pending) == 1
        copied = db.get_engine(f"sqlite:///{copy}")
        backups.sweep(copied)
        closing.purge(copied)
        assert pending_files(paths.backup_dir()) == pending
        os.write(go_w, b"g")
    finally:
        os.close(go_w)
        _, status = os.waitpid(pid, 0)
        os.close(ready_r)
    assert os.waitstatus_to_exitcode(status) == 0
    closing.restore(db.get_engine(url), OWNER)


def test_a_sweep_leaves_a_pending_file_while_its_writer_holds_it(original):
    """The writer's lock is what tells a sweep it is alive (on a server database nothing else
    would): held by another process, the file stays; once that process is gone, it goes."""
    from crm_tui import db
    from crm_tui.services import backups

    engine = db.get_engine(f"sqlite:///{original}")
    with db.write_connection(engine) as conn:
        folder = backups.database_folder(conn)
    pending = folder / ("2" * 32 + backups.SUFFIX + backups.PENDING)
    fd = os.open(pending, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    os.write(fd, b"half a backup")
    db.dispose_all()
    held_r, held_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - holds the lock until killed
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.write(held_w, b"held\n")
        while True:
            signal.pause()
    os.close(fd)
    os.close(held_w)
    try:
        assert os.read(held_r, 16) == b"held\n"
        assert backups._writer_gone(pending) is None
        assert backups.sweep(engine) == []
        assert pending.exists()
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.close(held_r)
    assert backups.sweep(engine) == [f"removed unfinished {pending.name}"]
    assert not pending.exists()


def test_a_close_that_committed_stands_when_its_file_cannot_be_renamed(original, monkeypatch):
    """The rename after the commit fails (a folder it may not write to): the close is done
    and says so; the next sweep names the file, and the account restores."""
    from crm_tui import db, paths
    from crm_tui.services import auth, backups, closing

    engine = db.get_engine(f"sqlite:///{original}")
    real = os.replace

    def refused(src, dst, *args, **kwargs):
        if str(src).endswith(backups.PENDING):
            raise PermissionError(13, "Permission denied", str(src))
        return real(src, dst, *args, **kwargs)

    monkeypatch.setattr(backups.os, "replace", refused)
    receipt = closing.close_account(engine, auth.as_member(engine, OWNER), ACME, PASSWORDS[OWNER])
    assert receipt.account_name == ACME
    assert len(pending_files(paths.backup_dir())) == 1
    monkeypatch.setattr(backups.os, "replace", real)
    closing.restore(engine, OWNER)  # its sweep finishes the file first
    assert auth.as_member(engine, OWNER).account_name == ACME
    assert pending_files(paths.backup_dir()) == [] and backup_files(paths.backup_dir()) == []


def test_an_owner_file_left_half_written_by_a_killed_process_is_swept(original):
    from crm_tui import db
    from crm_tui.services import backups

    engine = db.get_engine(f"sqlite:///{original}")
    with db.write_connection(engine) as conn:
        folder = backups.database_folder(conn)
    left = folder / f"{backups.CLAIM_TEMP}{'3' * 32}"
    left.write_bytes(b'{"pa')
    assert backups.sweep(engine) == [f"removed unfinished {left.name}"]
    assert sorted(p.name for p in folder.iterdir()) == [backups.OWNER_FILE]


def test_one_database_under_two_urls_keeps_its_one_folder(original):
    """Named by a URL (as a server database is), the same database reached two ways never
    takes itself for a copy: its id, and so its folder, stay put."""
    from crm_tui import db
    from crm_tui.services import backups

    by_path = db.get_engine(f"sqlite:///{original}")
    by_uri = db.get_engine(f"sqlite:///file:{original}?uri=true")
    folders = set()
    for engine in (by_path, by_uri, by_path, by_uri):
        backups.sweep(engine)
        with db.write_connection(engine) as conn:
            folders.add(backups.database_folder(conn))
    assert len(folders) == 1
