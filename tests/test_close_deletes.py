"""How closing deletes an account's rows: table by table with SQLite's foreign-key enforcement
off for that one transaction, its own reference checks in its place, and every pooled
connection back to enforcing foreign keys (and to the default page cache) afterwards."""

from __future__ import annotations

import pytest
from conftest import OTHER_OWNER, OWNER, PASSWORDS
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

ACME = "Acme Realty"


def counts(engine) -> dict[str, int]:
    from crm_tui.models import ACCOUNT_TABLES

    with engine.connect() as conn:
        found = {
            m.__tablename__: conn.execute(text(f'SELECT count(*) FROM "{m.__tablename__}"')).scalar()
            for m in ACCOUNT_TABLES
        }
        found["account"] = conn.execute(text("SELECT count(*) FROM account")).scalar()
        found["closed_account"] = conn.execute(text("SELECT count(*) FROM closed_account")).scalar()
        found["backup"] = conn.execute(text("SELECT count(*) FROM backup")).scalar()
    return found


def assert_every_connection_enforces_foreign_keys(engine) -> None:
    """Check out several connections at once, so the pooled ones are all seen."""
    conns = [engine.connect() for _ in range(4)]
    try:
        if engine.dialect.name == "sqlite":  # PostgreSQL always enforces them
            for conn in conns:
                assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
                assert conn.exec_driver_sql("PRAGMA cache_size").scalar() == -2000
                assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 1000
        conn = conns[0]
        conn.rollback()  # the pragmas above began a transaction
        with pytest.raises(IntegrityError):
            with conn.begin():
                conn.exec_driver_sql(
                    "UPDATE history_entry SET contact_id = 987654321 WHERE id = (SELECT min(id) FROM history_entry)"
                )
    finally:
        for conn in conns:
            conn.close()


@pytest.fixture
def acme(fresh_demo, tmp_path, monkeypatch):
    from crm_tui.services import auth

    monkeypatch.setenv("CRM_TUI_BACKUP_DIR", str(tmp_path / "backups"))
    return fresh_demo, auth.as_member(fresh_demo, OWNER)


def schema(engine) -> tuple[int, set]:
    """The schema's version number (every CREATE or DROP raises it; SQLite's) and every index's
    definition."""
    with engine.connect() as conn:
        if engine.dialect.name != "sqlite":
            return (
                None,
                set(conn.exec_driver_sql("SELECT indexname, tablename, indexdef FROM pg_indexes").all()),
            )
        return (
            conn.exec_driver_sql("PRAGMA schema_version").scalar(),
            set(conn.exec_driver_sql("SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'index'").all()),
        )


def assert_intact(conn) -> None:
    """References resolve and indexes match their tables (SQLite's checks; PostgreSQL keeps
    both by itself)."""
    if conn.dialect.name == "sqlite":
        assert conn.exec_driver_sql("PRAGMA foreign_key_check").all() == []
        assert conn.exec_driver_sql("PRAGMA integrity_check").all() == [("ok",)]


@pytest.mark.parametrize("batch", [None, 3, "growing"], ids=["default-batches", "batches-of-3", "growing-batches"])
def test_closing_deletes_every_row_of_the_account_and_no_other(acme, monkeypatch, batch):
    """Phase (d) deletes in batches, each its own transaction: with batches of 3 rows every table
    of the demo account takes several, and the rows of the other account are all still there;
    the same with batches that double from 2 rows up to 16 (a generous aim: each is quick), each
    deleter's own (PostgreSQL has two)."""
    import threading

    from crm_tui.models import ACCOUNT_TABLES
    from crm_tui.services import closing

    sizes: dict[str, list[int]] = {}  # by thread: each deleter of phase (d) sizes its own batches
    if batch == "growing":
        monkeypatch.setattr(closing, "DELETE_BATCHES", closing.Batches(first=2, most=16, aim=60.0))
        real = closing.Batches.next

        def grown(self, rows: int, held: float) -> int:
            sizes.setdefault(threading.current_thread().name, []).append(rows)
            return real(self, rows, held)

        monkeypatch.setattr(closing.Batches, "next", grown)
    elif batch:
        monkeypatch.setattr(closing, "DELETE_BATCHES", closing.Batches.fixed(batch))
    engine, who = acme
    version, indexes = schema(engine)
    with engine.connect() as conn:
        others = {
            m.__tablename__: conn.execute(
                text(f'SELECT count(*) FROM "{m.__tablename__}" WHERE account_id != :a'), {"a": who.account_id}
            ).scalar()
            for m in ACCOUNT_TABLES
        }
    closing.close_account(engine, who, ACME, PASSWORDS[OWNER])
    with engine.connect() as conn:
        for m in ACCOUNT_TABLES:
            t = m.__tablename__
            assert (
                conn.execute(text(f'SELECT count(*) FROM "{t}" WHERE account_id = :a'), {"a": who.account_id}).scalar()
                == 0
            ), t
            assert conn.execute(text(f'SELECT count(*) FROM "{t}"')).scalar() == others[t], t
        assert conn.execute(text("SELECT count(*) FROM account WHERE id = :a"), {"a": who.account_id}).scalar() == 0
        assert_intact(conn)
    after_version, after_indexes = schema(engine)
    assert after_indexes == indexes  # every index is as it was
    assert after_version == version  # the batches change rows only, never the schema
    assert_every_connection_enforces_foreign_keys(engine)
    if batch == "growing":  # the batches grew, carried on from one table to the next
        assert len(sizes) == (1 if engine.dialect.name == "sqlite" else closing.DELETE_WAYS)
        for grew in sizes.values():
            assert grew[:5] == [2, 4, 8, 16, 16] and max(grew) == 16


def test_an_account_holding_few_of_a_tables_rows_leaves_the_schema_alone(fresh_demo, tmp_path, monkeypatch):
    """Birch & Co holds a tenth of the demo's rows: its close deletes them in batches and
    leaves the schema alone."""
    from crm_tui.services import auth, closing

    monkeypatch.setenv("CRM_TUI_BACKUP_DIR", str(tmp_path / "backups"))
    version, indexes = schema(fresh_demo)
    birch = auth.as_member(fresh_demo, OTHER_OWNER)
    closing.close_account(fresh_demo, birch, "Birch & Co Bookkeeping", PASSWORDS[OTHER_OWNER])
    assert schema(fresh_demo) == (version, indexes)
    with fresh_demo.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM account WHERE name = 'Birch & Co Bookkeeping'").scalar() == 0


@pytest.mark.sqlite_only("SQLite's database file bytes")
def test_a_close_in_small_batches_keeps_nothing_of_the_deleted_rows_on_disk(acme, monkeypatch):
    """Deleted in many small transactions, the contacts' names leave the table's and the
    indexes' pages (secure_delete) and the WAL (checkpointed and truncated after the last)."""
    from pathlib import Path

    from crm_tui.services import closing

    monkeypatch.setattr(closing, "DELETE_BATCHES", closing.Batches.fixed(7))

    engine, who = acme
    with engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE contact SET last_name = 'Quillfeather', first_name = 'Zanzibar' "
                "WHERE id = (SELECT min(id) FROM contact WHERE account_id = :a)"
            ),
            {"a": who.account_id},
        )
    path = Path(engine.url.database)
    closing.close_account(engine, who, ACME, PASSWORDS[OWNER])
    wal = path.with_name(path.name + "-wal")
    on_disk = path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")
    assert b"Quillfeather" not in on_disk and b"Zanzibar" not in on_disk


def test_another_accounts_row_that_refers_to_a_contact_refuses_the_close_and_deletes_nothing(acme, tmp_path):
    """Damaged data: a Birch Books history entry points at an Acme contact. With enforcement on,
    the cascade would have deleted Birch's row; the close refuses instead, and changes nothing."""
    from crm_tui import db
    from crm_tui.services import closing

    engine, who = acme
    with engine.begin() as conn:
        stray = conn.execute(
            text("SELECT min(id) FROM history_entry WHERE account_id != :a"), {"a": who.account_id}
        ).scalar()
        conn.execute(
            text(
                "UPDATE history_entry SET contact_id = (SELECT min(id) FROM contact WHERE account_id = :a) "
                "WHERE id = :h"
            ),
            {"a": who.account_id, "h": stray},
        )
    before = counts(engine)
    with pytest.raises(db.DatabaseError) as info:
        closing.close_account(engine, who, ACME, PASSWORDS[OWNER])
    assert str(info.value) == (
        "1 row of history_entry outside this account refers to its contact rows (the data is damaged); "
        "nothing was deleted"
    )
    assert counts(engine) == before
    assert not any(p.is_file() and p.name != "owner" for p in (tmp_path / "backups").rglob("*"))  # no backup left
    assert_every_connection_enforces_foreign_keys(engine)


def test_a_close_that_fails_while_recording_leaves_foreign_keys_enforced(acme, monkeypatch):
    from crm_tui.services import audit, closing

    engine, who = acme
    before = counts(engine)
    version, indexes = schema(engine)

    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(audit, "append", broken)
    with pytest.raises(RuntimeError):
        closing.close_account(engine, who, ACME, PASSWORDS[OWNER])
    assert counts(engine) == before
    assert schema(engine)[1] == indexes
    with engine.connect() as conn:
        assert_intact(conn)
        # open again: on PostgreSQL the close had marked it closing, and the failure undid that
        status = conn.execute(text("SELECT status FROM account WHERE id = :a"), {"a": who.account_id}).scalar()
        assert status == "active"
    assert_every_connection_enforces_foreign_keys(engine)


def test_other_writes_still_cascade_after_a_close(acme):
    """The schema's ON DELETE actions still work for every other delete on the same pool."""
    from crm_tui.services import auth, closing

    engine, who = acme
    closing.close_account(engine, who, ACME, PASSWORDS[OWNER])
    birch = auth.as_member(engine, "sam@birch-books.example")
    with engine.begin() as conn:
        contact = conn.execute(
            text("SELECT contact_id FROM history_entry WHERE account_id = :a AND contact_id IS NOT NULL LIMIT 1"),
            {"a": birch.account_id},
        ).scalar()
        conn.execute(text("DELETE FROM contact WHERE id = :c"), {"c": contact})
        assert (
            conn.execute(text("SELECT count(*) FROM history_entry WHERE contact_id = :c"), {"c": contact}).scalar() == 0
        )


def test_batches_follow_the_lock_time_they_aim_at():
    """Each batch is the last scaled by the aim over the lock time the last held, between half
    and twice the last, within [first, most]."""
    from crm_tui.services.closing import Batches

    b = Batches(first=1000, most=32_000, aim=0.025)
    assert b.next(1000, 0.002) == 2000  # quick: doubled, not 12.5 times
    assert b.next(8000, 0.020) == 10_000  # near the aim: scaled
    assert b.next(8000, 0.025) == 8000
    assert b.next(8000, 0.040) == 5000
    assert b.next(8000, 0.500) == 4000  # very slow: halved, no further
    assert b.next(1500, 0.500) == 1000  # never below the first
    assert b.next(20_000, 0.001) == 32_000  # never above the most
    assert b.next(1000, 0.0) == 2000  # a clock that did not move
    assert Batches.fixed(7).next(7, 0.0) == 7 and Batches.fixed(7).next(7, 9.0) == 7
