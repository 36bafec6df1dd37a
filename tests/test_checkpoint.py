"""Problems found in files under another engineer's hands, kept as failing expectations
(strict xfail) until they are fixed there."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from conftest import OWNER, PASSWORDS


@pytest.mark.xfail(strict=True, reason="db.checkpoint ignores a busy wal_checkpoint(TRUNCATE) result "
                                       "(db.py checkpoint, closing.close_account): the close reports "
                                       "success while the database file still holds the deleted "
                                       "rows (their zeroed pages never leave the WAL)")
def test_closing_while_another_connection_reads_leaves_no_deleted_text_on_disk(
        fresh_demo, monkeypatch, tmp_path):
    from crm_tui import db
    from crm_tui.services import auth, closing

    url = str(fresh_demo.url)
    db.dispose_all()
    monkeypatch.setattr(db, "BUSY_TIMEOUT_MS", 300)  # the real 60 s would only make it slower
    monkeypatch.setenv("CRM_TUI_BACKUP_DIR", str(tmp_path / "backups"))
    engine = db.get_engine(url)
    path = Path(engine.url.database)
    reader = sqlite3.connect(path)  # e.g. a team member's session or an export, mid-read
    try:
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM contact").fetchone()
        closing.close_account(engine, auth.as_member(engine, OWNER), "Acme Realty", PASSWORDS[OWNER])
        wal = path.with_name(path.name + "-wal")
        on_disk = path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")
        assert b"priya@acme-realty.example" not in on_disk  # a deleted member's email
    finally:
        reader.close()
