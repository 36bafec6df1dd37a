"""Purge means gone, as far as the machine allows: the backup file is overwritten before it is
unlinked, the key's row leaves the database file and its WAL, and a purge that committed but
could not remove a file says so and exits 0; the next purge removes it."""

from __future__ import annotations

import io
import os
import sys
from datetime import timezone
from pathlib import Path

import pytest
from conftest import OWNER, PASSWORDS, dump_database, pin_clock
from sqlalchemy import select

pytestmark = pytest.mark.sqlite_only(
    "backups are files only on SQLite; on PostgreSQL they are rows (tests/test_permanence_backends.py)"
)

UTC = timezone.utc
CLOSED_AT = "2027-01-10T12:00:00+00:00"
AFTER_WINDOW = "2027-04-11T12:00:00+00:00"


@pytest.fixture
def closed(fresh_demo, tmp_path, monkeypatch):
    """Acme closed; returns (engine, backup path, key)."""
    from crm_tui import db
    from crm_tui.models import Backup, BackupKey
    from crm_tui.services import auth, backups, closing

    monkeypatch.setenv("CRM_TUI_DATABASE_URL", str(fresh_demo.url))
    monkeypatch.setenv("CRM_TUI_BACKUP_DIR", str(tmp_path / "backups"))
    pin_clock(monkeypatch, CLOSED_AT)
    closing.close_account(fresh_demo, auth.as_member(fresh_demo, OWNER), "Acme Realty", PASSWORDS[OWNER])
    with db.read_session(fresh_demo) as s:
        backup = s.execute(select(Backup)).scalars().one()
        key = s.execute(select(BackupKey.key).where(BackupKey.backup_id == backup.id)).scalar_one()
        path = backups.locate(s.connection(), backup)
    assert path.exists() and len(key) == 32
    pin_clock(monkeypatch, AFTER_WINDOW)
    return fresh_demo, path, key


def database_files(engine) -> list[Path]:
    main = Path(engine.url.database)
    return [p for p in (main, main.with_name(main.name + "-wal"), main.with_name(main.name + "-shm")) if p.exists()]


def test_the_backup_is_overwritten_with_zeros_before_it_is_unlinked(closed):
    from crm_tui.services import closing

    engine, path, _key = closed
    fd = os.open(path, os.O_RDONLY)  # sees the same blocks after the name is gone
    try:
        size = os.fstat(fd).st_size
        assert size > 1000 and os.pread(fd, size, 0).count(0) < size // 2
        report = closing.purge(engine)
        assert (report.purged, report.files_removed, report.warnings) == (1, 1, ())
        assert not path.exists() and os.fstat(fd).st_nlink == 0
        assert os.fstat(fd).st_size == size
        assert os.pread(fd, size, 0) == bytes(size)
    finally:
        os.close(fd)


@pytest.mark.sqlite_only("SQLite's database file and WAL bytes")
def test_the_key_leaves_the_database_file_and_its_wal(closed):
    from crm_tui.services import closing

    engine, _path, key = closed
    assert any(key in p.read_bytes() for p in database_files(engine))  # the search would see it
    closing.purge(engine)
    for p in database_files(engine):
        assert key not in p.read_bytes(), p


@pytest.mark.sqlite_only("SQLite's secure_delete pragma")
def test_purge_refuses_a_connection_without_secure_delete(closed):
    from crm_tui import db
    from crm_tui.services import closing

    engine, path, key = closed
    before = dump_database(engine)
    engine.dispose()
    with engine.connect() as conn:  # the only pooled connection: purge gets it next
        conn.exec_driver_sql("PRAGMA secure_delete = OFF")
    with pytest.raises(db.DatabaseError, match="secure_delete is off"):
        closing.purge(engine)
    assert dump_database(engine) == before and path.exists()


def run_cli(argv, monkeypatch, capsys):
    from crm_tui import cli

    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    capsys.readouterr()
    code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_a_purge_that_cannot_remove_a_file_warns_exits_0_and_the_next_purge_removes_it(closed, monkeypatch, capsys):
    from crm_tui.services import closing

    engine, path, _key = closed
    real = Path.unlink

    def refused(self, *args, **kwargs):  # as a folder the purge may not write to answers
        if self == path:
            raise PermissionError(13, "Permission denied", str(self))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Path, "unlink", refused)
    code, out, err = run_cli(["admin", "purge"], monkeypatch, capsys)
    assert code == 0, err
    assert "Purged 1 closed account past their restore window; 0 backup files destroyed." in out
    assert err.count("\n") == 1 and err.startswith(
        f"crm-tui: warning: could not remove the backup file {path.name} (Permission denied)"
    )
    assert path.exists()
    assert [r.state for r in closing.list_closed(engine)] == ["purged"]  # the purge stands
    monkeypatch.setattr(Path, "unlink", real)
    code, out, err = run_cli(["admin", "purge"], monkeypatch, capsys)
    assert (code, err) == (0, "")
    assert "Purged 0 closed accounts past their restore window; 1 backup file destroyed." in out
    assert not path.exists()
