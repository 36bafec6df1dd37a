"""Closing while another connection still reads: the deleted rows leave the disk as soon as
that reader lets go — the checkpoint the close could not finish is left pending and completed
when the app next opens the database (or by purge)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from conftest import OWNER, PASSWORDS

pytestmark = pytest.mark.sqlite_only("SQLite's WAL checkpoint after a close")


def _on_disk(path: Path) -> bytes:
    wal = path.with_name(path.name + "-wal")
    return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


def _pending(path: Path) -> bool:
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT 1 FROM setting WHERE key = 'checkpoint_pending'").fetchone() is not None


def test_a_reader_held_across_the_close_delays_the_scrub_until_it_ends(fresh_demo, monkeypatch, tmp_path):
    from crm_tui import db
    from crm_tui.services import auth, closing

    url = str(fresh_demo.url)
    db.dispose_all()
    monkeypatch.setattr(db, "CHECKPOINT_WAIT_MS", 200)  # the real 10 s would only make it slower
    monkeypatch.setenv("CRM_TUI_BACKUP_DIR", str(tmp_path / "backups"))
    engine = db.get_engine(url)
    path = Path(engine.url.database)
    reader = sqlite3.connect(path)  # e.g. a team member's session, mid-read
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM contact").fetchone()
    closing.close_account(engine, auth.as_member(engine, OWNER), "Acme Realty", PASSWORDS[OWNER])
    assert _pending(path)  # the close could not finish its checkpoint, and says so
    reader.close()

    assert db.finish_checkpoint(engine)  # what the app runs when it opens the database
    assert not _pending(path)
    assert b"priya@acme-realty.example" not in _on_disk(path)  # a deleted member's email
    wal = path.with_name(path.name + "-wal")
    assert not wal.exists() or wal.stat().st_size == 0


def test_without_a_reader_the_close_scrubs_at_once(fresh_demo, tmp_path, monkeypatch):
    from crm_tui import db
    from crm_tui.services import auth, closing

    monkeypatch.setenv("CRM_TUI_BACKUP_DIR", str(tmp_path / "backups"))
    path = Path(fresh_demo.url.database)
    closing.close_account(fresh_demo, auth.as_member(fresh_demo, OWNER), "Acme Realty", PASSWORDS[OWNER])
    assert not _pending(path)
    assert b"priya@acme-realty.example" not in _on_disk(path)
    assert db.finish_checkpoint(fresh_demo)


def test_writers_go_between_the_tries_of_a_checkpoint_a_reader_holds_back(fresh_demo, monkeypatch, tmp_path):
    """While a reader holds an older snapshot, the close's final checkpoint keeps trying (here for
    2 s), but each try holds other writers off only briefly: a writer that does not wait at all
    (busy_timeout 0) gets in between the tries, while the checkpoint is still trying. A single try
    holds SQLite's write lock from its start to its end: no writer would get in meanwhile."""
    import threading
    import time

    from crm_tui import db
    from crm_tui.services import auth, closing

    url = str(fresh_demo.url)
    db.dispose_all()
    monkeypatch.setattr(db, "CHECKPOINT_WAIT_MS", 2000)
    monkeypatch.setenv("CRM_TUI_BACKUP_DIR", str(tmp_path / "backups"))
    engine = db.get_engine(url)
    path = Path(engine.url.database)
    reader = sqlite3.connect(path)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM contact").fetchone()
    span: list[float] = []  # when the close's checkpoint began and ended
    real = db.checkpoint

    def checkpoint(*args, **kwargs):
        span.append(time.monotonic())
        try:
            return real(*args, **kwargs)
        finally:
            span.append(time.monotonic())

    monkeypatch.setattr(db, "checkpoint", checkpoint)
    closer = threading.Thread(
        target=closing.close_account, args=(engine, auth.as_member(engine, OWNER), "Acme Realty", PASSWORDS[OWNER])
    )
    closer.start()
    writer = sqlite3.connect(path, isolation_level=None, timeout=0)
    got_in: list[float] = []
    try:
        while closer.is_alive():
            try:
                writer.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError:  # "database is locked"
                time.sleep(0.005)
                continue
            writer.execute("COMMIT")
            got_in.append(time.monotonic())
            time.sleep(0.005)
    finally:
        closer.join(60)
        reader.close()
        writer.close()
    began, ended = span
    assert ended - began > 1.5  # the reader held the checkpoint back for its whole 2 s
    # writers got in while it was still trying, well after its first try began
    assert [t for t in got_in if began + 0.5 < t < ended - 0.1]
    assert _pending(path)  # and the scrub was left pending, as before
    assert db.finish_checkpoint(engine)
    assert b"priya@acme-realty.example" not in _on_disk(path)
