"""What permanent deletion means on each backend (README, "What permanent deletion means on
each backend"), claim by claim.

* The step after a close or purge says what it did: SQLite checkpoints and truncates the WAL;
  PostgreSQL vacuums the tables the close or purge deleted rows from.
* After purge, on both, no key and no backup bytes are left in the database, and nothing left in
  it decrypts the backup (it is crypto-shredded).
* PostgreSQL: rows an open transaction still sees cannot be vacuumed; the step says so and the
  next one finishes it. Deleted rows' bytes can remain in the server's files (table files, WAL)
  after VACUUM: the backend makes no stronger promise, and this test shows why the README says so.
"""

from __future__ import annotations

import base64
import glob
import io
import os
import time
from pathlib import Path

import pytest
from conftest import OWNER, PASSWORDS, pin_clock
from sqlalchemy import text

ACME = "Acme Realty"
CLOSED_AT = "2027-01-10T12:00:00+00:00"
AFTER_WINDOW = "2027-04-11T12:00:00+00:00"
DELETED_EMAIL = b"priya@acme-realty.example"  # a team member of the closed account


@pytest.fixture
def demo(fresh_demo, monkeypatch, request):
    """(engine, the PostgreSQL server or None) of a database holding both demo accounts."""
    from crm_tui import db

    monkeypatch.setenv("CRM_TUI_DATABASE_URL", fresh_demo.url.render_as_string(hide_password=False))
    pin_clock(monkeypatch, CLOSED_AT)
    server = None if db.is_sqlite(fresh_demo) else request.getfixturevalue("postgres_server")
    return fresh_demo, server


def close_acme(engine):
    from crm_tui.services import auth, closing

    return closing.close_account(engine, auth.as_member(engine, OWNER), ACME, PASSWORDS[OWNER])


def vacuum_counts(engine, names) -> dict[str, int]:
    with engine.connect() as c:
        rows = c.execute(
            text("SELECT relname, vacuum_count FROM pg_stat_user_tables WHERE relname = ANY(:names)"),
            {"names": list(names)},
        ).all()
    return dict(rows)  # type: ignore[arg-type]


def wait_for(check, seconds: float = 10.0):
    """Poll ``check`` until it returns a true value or the deadline passes; return its last value."""
    deadline = time.monotonic() + seconds
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.05)


def test_the_close_says_what_it_did_to_the_deleted_rows(demo):
    from crm_tui import db
    from crm_tui.services import closing

    engine, _server = demo
    if db.is_sqlite(engine):
        receipt = close_acme(engine)
        assert receipt.scrubbed == "checkpointed and truncated the write-ahead log"
        wal = Path(engine.url.database + "-wal")
        assert not wal.exists() or wal.stat().st_size == 0
        return
    touched = closing.CLOSE_TOUCHES
    before = vacuum_counts(engine, touched)
    receipt = close_acme(engine)
    assert receipt.scrubbed == f"vacuumed {len(touched)} tables"
    # every table the close deleted rows from was vacuumed once more (the statistics arrive shortly)
    assert wait_for(lambda: all(vacuum_counts(engine, touched)[t] > before.get(t, 0) for t in touched))
    with engine.connect() as c:
        assert c.execute(text("SELECT 1 FROM setting WHERE key = 'checkpoint_pending'")).first() is None


def test_a_transaction_that_still_sees_the_rows_holds_the_vacuum_until_it_ends(demo):
    from crm_tui import db

    engine, _server = demo
    if db.is_sqlite(engine):
        pytest.skip("SQLite's counterpart is tests/test_checkpoint.py")
    reader = engine.connect()
    reader.execution_options(isolation_level="REPEATABLE READ")
    reader.execute(text("SELECT count(*) FROM member")).scalar()  # its snapshot sees Acme's rows
    try:
        receipt = close_acme(engine)
        assert "still seen by an open transaction" in receipt.scrubbed
        from crm_tui.services.closing import CLOSE_TOUCHES

        assert receipt.scrubbed.startswith(f"vacuumed {len(CLOSE_TOUCHES)} tables; ")
        with engine.connect() as c:
            pending = c.execute(text("SELECT value FROM setting WHERE key = 'checkpoint_pending'")).scalar()
        assert pending is not None and "member" in pending.split(",")
    finally:
        reader.rollback()
        reader.close()
    done = db.finish_checkpoint(engine)  # what the app runs when it opens the database
    assert done and done.text.startswith("vacuumed ")
    with engine.connect() as c:
        assert c.execute(text("SELECT 1 FROM setting WHERE key = 'checkpoint_pending'")).first() is None


def test_a_table_the_database_user_may_not_vacuum_is_named(demo):
    """A role that may delete rows but does not own the tables: VACUUM skips them, and the step
    says so instead of claiming it vacuumed them."""
    from crm_tui import db

    engine, server = demo
    if server is None:
        pytest.skip("SQLite has no table owners")
    name = engine.url.database
    role = f"clerk_{name[-12:]}"
    server.psql(f"CREATE ROLE {role} LOGIN", name)
    server.psql(f"GRANT ALL ON ALL TABLES IN SCHEMA public TO {role}", name)
    other = db.get_engine(server.url(name).replace("postgres@", f"{role}@"), migrate=False)
    try:
        scrub = db.checkpoint(other, ["text_message", "member"])
    finally:
        other.dispose()
    assert not scrub
    assert scrub.text == (
        'vacuumed 0 tables; could not vacuum 2 (skipping "member" --- only table or database owner can vacuum it)'
    )


def backup_bytes(engine) -> tuple[bytes, bytes]:
    """(key, encrypted backup) of the only backup."""
    from crm_tui import db
    from crm_tui.models import Backup
    from crm_tui.services import backups

    with db.read_session(engine) as s:
        from sqlalchemy import select

        backup = s.execute(select(Backup)).scalars().one()
        key = backups.key_for(s, backup.id)
        conn = s.connection()
        if backup.file_name:
            sealed = backups.locate(conn, backup).read_bytes()
        else:
            rows = conn.execute(
                text("SELECT data FROM backup_chunk WHERE backup_id = :b ORDER BY seq"), {"b": backup.id}
            ).all()
            sealed = b"".join(bytes(r[0]) for r in rows)
    assert key is not None and len(key) == 32 and len(sealed) > 1000
    return key, sealed


def every_value(engine) -> list[bytes]:
    """Every value of every row of every table, as bytes."""
    from crm_tui import schema_core

    out: list[bytes] = []
    with engine.connect() as c:
        for t in schema_core.ALL:
            for row in c.execute(text(f'SELECT * FROM "{t.name}"')):
                for v in row:
                    if isinstance(v, (bytes, memoryview)):
                        out.append(bytes(v))
                    elif v is not None:
                        out.append(str(v).encode())
    return out


def test_after_purge_nothing_left_in_the_database_decrypts_the_backup(demo, monkeypatch, capsys):
    from crm_tui import cli
    from crm_tui.services import closing, crypto
    from crm_tui.services.errors import ArchiveError, RestoreRefused

    engine, _server = demo
    close_acme(engine)
    key, sealed = backup_bytes(engine)
    assert list(crypto.decrypt_stream(io.BytesIO(sealed), key))  # the key opens it

    pin_clock(monkeypatch, AFTER_WINDOW)
    capsys.readouterr()
    assert cli.main(["admin", "purge"]) == 0
    out = capsys.readouterr().out
    if engine.dialect.name == "postgresql":
        assert "Purged 1 closed account past their restore window; 1 backup kept in the database destroyed.\n" in out
        assert f"Database: vacuumed {len(closing.PURGE_TOUCHES)} tables." in out
    else:
        assert "Purged 1 closed account past their restore window; 1 backup file destroyed." in out
        assert "Database: checkpointed and truncated the write-ahead log." in out

    with engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM backup_key")).scalar() == 0
        assert c.execute(text("SELECT count(*) FROM backup_chunk")).scalar() == 0
    values = every_value(engine)
    forms = (key, key.hex().encode(), base64.b64encode(key))
    assert not [v for v in values for f in forms if f in v]  # the key is nowhere, in any spelling
    assert not [v for v in values if sealed[64:128] in v]  # nor the encrypted bytes
    for candidate in {v for v in values if len(v) == 32}:  # nothing left of a key's size opens it
        with pytest.raises(ArchiveError):
            list(crypto.decrypt_stream(io.BytesIO(sealed), candidate))
    with pytest.raises(RestoreRefused, match="permanently deleted"):
        closing.restore(engine, OWNER)


def test_postgresql_may_keep_deleted_rows_bytes_in_its_files_after_vacuum(demo, monkeypatch):
    """What the README warns of, shown: the close vacuumed, no query finds the deleted member,
    and yet its email's bytes are still in the server's table files or WAL; after the purge the
    key is in no row, and still in the WAL the close wrote."""
    from crm_tui.services import closing

    engine, server = demo
    if server is None:
        pytest.skip("SQLite: tests/reliability/test_permanent.py searches the files and finds nothing")
    close_acme(engine)
    key, _sealed = backup_bytes(engine)
    with engine.connect() as c:
        assert (
            c.execute(text("SELECT count(*) FROM member WHERE email = :e"), {"e": DELETED_EMAIL.decode()}).scalar() == 0
        )
        member_file = c.execute(text("SELECT pg_relation_filepath('member')")).scalar()
    data = Path(server.data)
    if not os.access(data, os.R_OK):
        pytest.skip("the server's data folder cannot be read by this user")
    server.psql("CHECKPOINT")  # the pages reach the table files
    wal = glob.glob(str(data / "pg_wal" / "0*"))
    files = glob.glob(str(data / member_file) + "*") + wal
    assert any(DELETED_EMAIL in Path(f).read_bytes() for f in files)

    pin_clock(monkeypatch, AFTER_WINDOW)
    assert closing.purge(engine).purged == 1
    assert not [v for v in every_value(engine) if key in v]
    assert any(key in Path(f).read_bytes() for f in glob.glob(str(data / "pg_wal" / "0*")))
