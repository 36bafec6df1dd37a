"""Where the closing backup is kept, on each backend.

* PostgreSQL (shared by several hosts): in the database, as ``backup_chunk`` rows written in the
  close's transaction, so a process on another host (another HOME, no shared folder) restores it,
  and nobody sees a half-written backup; purge deletes the chunks with the key.
* SQLite: a file in the database's backup folder, written under the writer's lock; the folder is
  recorded in the database, so another user's process on the same machine finds it too.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from conftest import CLOCKED, OWNER, PASSWORDS
from sqlalchemy import text

ACME = "Acme Realty"
CLOSED_AT = "2027-01-10T12:00:00+00:00"
RESTORE_AT = "2027-01-20T12:00:00+00:00"
SRC = Path(__file__).resolve().parent.parent / "src"


@pytest.fixture
def shared_db(fresh_demo):
    """(url, engine) of a database holding both demo accounts, on each backend."""
    return fresh_demo.url.render_as_string(hide_password=False), fresh_demo


def host_env(root: Path, url: str) -> dict[str, str]:
    """The environment of a crm-tui process with its own HOME and XDG folders under ``root``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "CRM_TUI_"))}
    env.update(
        HOME=str(root),
        XDG_DATA_HOME=str(root / "data"),
        XDG_CONFIG_HOME=str(root / "config"),
        XDG_CACHE_HOME=str(root / "cache"),
        XDG_STATE_HOME=str(root / "state"),
        CRM_TUI_DATABASE_URL=url,
        PYTHONPATH=str(SRC),
        TZ="UTC",
    )
    return env


def run_cli(env: dict, when: str, *argv: str, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(CLOCKED), when, "--", *argv],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


def counts(engine) -> dict[str, int]:
    with engine.connect() as c:
        return {
            t: c.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()
            for t in ("backup", "backup_key", "backup_chunk", "contact")
        }


def test_a_backup_written_by_one_process_is_restored_by_another_with_its_own_home(shared_db, tmp_path):
    from crm_tui.services import auth

    url, engine = shared_db
    closer, support = host_env(tmp_path / "owner-host", url), host_env(tmp_path / "support-host", url)
    before = counts(engine)
    done = run_cli(
        closer, CLOSED_AT, "account", "close", "--email", OWNER, "--confirm", ACME, "--password-stdin",
        stdin=PASSWORDS[OWNER] + "\n",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Deletion receipt" in done.stdout
    after = counts(engine)
    assert after["backup"] == before["backup"] + 1 and after["contact"] < before["contact"]
    if engine.dialect.name == "postgresql":
        assert after["backup_chunk"] >= 1  # kept in the database
        assert not (tmp_path / "owner-host" / "data" / "crm-tui" / "backups").exists()
    else:
        assert after["backup_chunk"] == 0  # a file, in the closing user's folder
        assert list((tmp_path / "owner-host" / "data" / "crm-tui" / "backups").rglob("*.crmbak"))
    assert not (tmp_path / "support-host").exists()

    restored = run_cli(support, RESTORE_AT, "admin", "restore", "--email", OWNER)
    assert restored.returncode == 0, restored.stderr
    assert restored.stdout.startswith(f"Restored {ACME}")
    assert auth.as_member(engine, OWNER).account_name == ACME
    assert counts(engine)["contact"] == before["contact"]
    assert counts(engine)["backup_key"] == before["backup_key"]  # the restore destroyed its backup
    assert counts(engine)["backup_chunk"] == 0


def pending_files(root: Path) -> list[Path]:
    return sorted(root.rglob("*.crmbak.pending")) if root.exists() else []


def test_a_sweep_in_another_process_never_removes_a_backup_still_being_written(shared_db, tmp_path):
    """The close is paused after writing its backup, before its commit, in a child process;
    meanwhile this process does what the app does at start-up and what purge does. The close
    then commits, and its backup restores."""
    from crm_tui import db, paths
    from crm_tui.services import auth, backups, closing

    url, engine = shared_db
    postgres = engine.dialect.name == "postgresql"
    before = counts(engine)
    ready_r, ready_w = os.pipe()
    go_r, go_w = os.pipe()
    db.dispose_all()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child: a close paused before its commit
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
            child = db.get_engine(url)
            closing.close_account(child, auth.as_member(child, OWNER), ACME, PASSWORDS[OWNER])
            code = 0
        finally:
            os._exit(code)
    os.close(ready_w), os.close(go_r)
    sweeper: threading.Thread | None = None
    try:
        assert os.read(ready_r, 64) == b"written\n"
        engine = db.get_engine(url)
        if postgres:
            # Nothing of the backup is visible before the close commits: nothing to sweep.
            assert counts(engine) == before
            assert backups.sweep(engine) == []
            closing.purge(engine)
            assert db.finish_checkpoint(engine)
            assert pending_files(paths.backup_dir()) == []
        else:
            [pending] = pending_files(paths.backup_dir())
            # The folder's sweep, as if no close had committed a row for the file: the writer's
            # lock keeps it from the file.
            done: list[str] = []
            backups._sweep_folder(pending.parent, {}, set(), done)
            assert done == [] and pending.exists()
            # The whole sweep waits for the close's write transaction, then leaves the file to it.
            sweeper = threading.Thread(target=backups.sweep, args=(engine,))
            sweeper.start()
        os.write(go_w, b"g")
    finally:
        os.close(go_w)
        _, status = os.waitpid(pid, 0)
        os.close(ready_r)
        if sweeper is not None:
            sweeper.join(timeout=120)
    assert os.waitstatus_to_exitcode(status) == 0
    assert counts(engine)["backup"] == before["backup"] + 1
    if not postgres:
        assert pending_files(paths.backup_dir()) == []
        assert len(list(paths.backup_dir().rglob("*.crmbak"))) == 1
    pin_clock_restore = closing.restore(engine, OWNER)
    assert pin_clock_restore.account_name == ACME


@pytest.mark.sqlite_only("a backup file is written on SQLite only")
def test_a_close_whose_backup_file_was_removed_does_not_commit(fresh_demo, monkeypatch):
    """SQLite: if the pending file is gone when the close is about to commit (someone ignored
    the lock), nothing is deleted."""
    from crm_tui.services import auth, backups, closing
    from crm_tui.services.errors import ArchiveError

    before = counts(fresh_demo)
    real = backups.write

    def write_then_lose(conn, account_id, created_at, **kw):
        pending = real(conn, account_id, created_at, **kw)
        pending.path.unlink()
        return pending

    monkeypatch.setattr(backups, "write", write_then_lose)
    with pytest.raises(ArchiveError, match="was removed while it was being written; nothing was deleted"):
        closing.close_account(fresh_demo, auth.as_member(fresh_demo, OWNER), ACME, PASSWORDS[OWNER])
    assert counts(fresh_demo) == before
    assert auth.as_member(fresh_demo, OWNER).account_name == ACME
