"""The archive on PostgreSQL: COPY out and in (services/archive/postgresql.py) gives the same
bytes as SQLite's and the portable implementation, and stores what the typed path stores.

Each round trip starts from an account built on SQLite and exported there, restores it into a
real PostgreSQL (the ``postgres_server`` fixture) and exports it again: every data member must
come back byte for byte, through COPY and through the portable typed path alike."""

from __future__ import annotations

import csv
import io
import itertools
import json
import zipfile

import pytest
from conftest import OWNER, sign_in
from hypothesis import HealthCheck, given, settings
from sqlalchemy import delete, func, insert, select, text
from test_archive_fast_restore import _rewrite
from test_archive_roundtrip import DATA_MEMBERS, accounts, build, export_bytes

TABLES = (
    "account",
    "member",
    "contact",
    "email_template",
    "autoresponder",
    "autoresponder_step",
    "appointment",
    "todo",
    "history_entry",
    "text_message",
    "messages_service",
    "invoice",
)
_databases = itertools.count(1)


@pytest.fixture
def pg_url(postgres_server) -> str:
    name = f"archive_{next(_databases)}"
    postgres_server.psql(f"CREATE DATABASE {name}")
    return postgres_server.url(name)


@pytest.fixture
def pg_engine(pg_url):
    from crm_tui import db

    return db.get_engine(pg_url)


@pytest.fixture(params=["postgresql", "portable"])
def pg_archive(request, monkeypatch) -> str:
    """Each implementation of the archive's database interface on PostgreSQL: COPY, and the
    portable typed path."""
    from crm_tui.services import archive
    from crm_tui.services.archive.postgresql import PostgreSQLDatabase

    own = request.param == "postgresql"
    monkeypatch.setitem(archive.DATABASES, "postgresql", PostgreSQLDatabase() if own else archive.PORTABLE)
    return request.param


def restore(engine, data: bytes):
    from crm_tui import db
    from crm_tui.services import archive

    with db.write_session(engine) as s:
        return archive.import_archive(s.connection(), zipfile.ZipFile(io.BytesIO(data)), unusable_password="!")


def stored(engine, account_id: int) -> dict:
    """Every row the account owns, as PostgreSQL gives it back (typed values), by id."""
    out = {}
    with engine.connect() as conn:
        for table in TABLES:
            key = "id" if table == "account" else "account_id"
            out[table] = [
                tuple(r)
                for r in conn.execute(text(f'SELECT * FROM "{table}" WHERE {key} = :a ORDER BY id'), {"a": account_id})
            ]
    return out


def same_data_members(a: bytes, b: bytes) -> None:
    first, second = zipfile.ZipFile(io.BytesIO(a)), zipfile.ZipFile(io.BytesIO(b))
    for name in DATA_MEMBERS:
        assert second.read(name) == first.read(name), name
    m1, m2 = (json.loads(z.read("manifest.json")) for z in (first, second))
    for key in ("account", "counts", "format_version", "formula_escaped"):
        assert m1[key] == m2[key], key


def _for_postgresql(spec: dict) -> dict:
    """What PostgreSQL can hold: no U+0000 in text (SQLite's text can hold it; such a cell is
    refused, see :func:`test_a_nul_character_is_refused_in_one_line`), and invoice amounts
    within the column's 32-bit INTEGER (SQLite's integers have 64 bits)."""
    spec = _without_nul(spec)
    spec["invoices"] = [(n, d, t, max(-(2**31), min(2**31 - 1, a))) for n, d, t, a in spec["invoices"]]
    return spec


def _without_nul(value):
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, dict):
        return {k: _without_nul(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_without_nul(v) for v in value)
    return value


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(spec=accounts().map(_for_postgresql))
def test_export_restore_export_is_lossless_on_postgresql(tmp_path, pg_engine, pg_archive, spec):
    """Awkward text (line breaks, quotes, formulas, emoji, 2,000-character cells, empty cells),
    timestamps from year 1 to 9999, dates, booleans and large integers survive SQLite → archive
    → PostgreSQL → archive byte for byte."""
    from crm_tui import db
    from crm_tui.models import Account

    source = db.get_engine(f"sqlite:///{tmp_path / 'source.db'}")
    account_id = build(source, spec)
    try:
        first = export_bytes(source, account_id)
        restored_id, counts = restore(pg_engine, first)
        assert restored_id == account_id
        assert counts == json.loads(zipfile.ZipFile(io.BytesIO(first)).read("manifest.json"))["counts"]
        same_data_members(first, export_bytes(pg_engine, account_id))
    finally:
        for engine in (source, pg_engine):
            with db.write_session(engine) as s:
                s.execute(delete(Account).where(Account.id == account_id))


def test_copy_and_the_typed_path_store_and_write_the_same(fresh_demo, postgres_server, monkeypatch):
    """The demo account restored through COPY and through the typed path, into two databases:
    the same rows, and each database exports the same bytes through either path."""
    from crm_tui import db
    from crm_tui.services import archive
    from crm_tui.services.archive.postgresql import PostgreSQLDatabase

    data = export_bytes(fresh_demo, sign_in(fresh_demo, OWNER).account_id)
    engines, exports = {}, {}
    for path, impl in (("copy", PostgreSQLDatabase()), ("typed", archive.PORTABLE)):
        name = f"both_{path}_{next(_databases)}"
        postgres_server.psql(f"CREATE DATABASE {name}")
        monkeypatch.setitem(archive.DATABASES, "postgresql", impl)
        engines[path] = db.get_engine(postgres_server.url(name))
        account_id, _counts = restore(engines[path], data)
        exports[path] = export_bytes(engines[path], account_id)
    assert stored(engines["copy"], account_id) == stored(engines["typed"], account_id)
    assert stored(engines["copy"], account_id)["contact"]  # not two empty accounts
    same_data_members(data, exports["copy"])
    same_data_members(data, exports["typed"])
    monkeypatch.setitem(archive.DATABASES, "postgresql", PostgreSQLDatabase())
    same_data_members(data, export_bytes(engines["typed"], account_id))


def test_restore_from_an_export_file_into_postgresql(pg_archive, fresh_demo, pg_engine, tmp_path):
    """A user's export restores into PostgreSQL; team members need new passwords; the restored
    account exports the same data members; new rows get new ids (the sequences moved on)."""
    from crm_tui.models import Contact
    from crm_tui.services import auth, export
    from crm_tui.services.errors import AuthenticationFailed

    result = export.export_account(fresh_demo, sign_in(fresh_demo, OWNER), out_dir=tmp_path)
    account_id, counts = export.restore_from_archive(pg_engine, result.path)
    assert counts == result.counts
    with pytest.raises(AuthenticationFailed):
        auth.sign_in(pg_engine, OWNER, "demo-owner")
    (tmp_path / "again").mkdir()
    again = export.export_account(pg_engine, auth.as_member(pg_engine, OWNER), out_dir=tmp_path / "again")
    z1, z2 = zipfile.ZipFile(result.path), zipfile.ZipFile(again.path)
    assert all(z1.read(n) == z2.read(n) for n in DATA_MEMBERS)
    t = Contact.__table__
    with pg_engine.begin() as conn:
        top = conn.execute(select(t.c.id).order_by(t.c.id.desc()).limit(1)).scalar_one()
        owner = conn.execute(text("SELECT id FROM member WHERE account_id = :a LIMIT 1"), {"a": account_id}).scalar()
        new = conn.execute(
            insert(t).values(account_id=account_id, owner_id=owner, first_name="New", created_at=func.now())
        ).inserted_primary_key[0]
    assert new > top


def test_exported_text_is_utc_whatever_the_session_zone(fresh_demo, postgres_server, monkeypatch):
    """Timestamps are written in UTC as on SQLite, also when the database's sessions run in
    another zone (the database formats them: COPY for the data members, the queries of the
    vCards' REV and the calendars' DTSTART, DTEND and COMPLETED)."""
    from conftest import pin_clock

    from crm_tui import db

    pin_clock(monkeypatch, "2026-11-27T10:00:00+00:00")
    data = export_bytes(fresh_demo, sign_in(fresh_demo, OWNER).account_id)
    name = f"zoned_{next(_databases)}"
    postgres_server.psql(f"CREATE DATABASE {name}")
    postgres_server.psql(f"ALTER DATABASE {name} SET timezone TO 'America/New_York'")
    engine = db.get_engine(postgres_server.url(name))
    account_id, _counts = restore(engine, data)
    with engine.connect() as conn:
        assert conn.execute(text("SHOW timezone")).scalar() == "America/New_York"
    again = export_bytes(engine, account_id)
    same_data_members(data, again)
    first, second = zipfile.ZipFile(io.BytesIO(data)), zipfile.ZipFile(io.BytesIO(again))
    for name in ("contacts.vcf", "appointments.ics", "todos.ics"):
        assert second.read(name) == first.read(name), name


def test_members_longer_than_a_block(fresh_demo, pg_engine, monkeypatch):
    """Rows split over many COPY blocks, out and in, give the same bytes."""
    from crm_tui.services.archive import postgresql

    monkeypatch.setattr(postgresql, "BATCH", 7)
    data = export_bytes(fresh_demo, sign_in(fresh_demo, OWNER).account_id)
    account_id, counts = restore(pg_engine, data)
    assert counts["contacts"] > 7 * 3
    same_data_members(data, export_bytes(pg_engine, account_id))


@pytest.mark.parametrize(
    "column,value,message",
    [
        ("created_at", "2025-01-07T09:30:00", "timestamp without a time zone"),
        ("created_at", "2025-13-07T09:30:00+00:00", "month must be in 1..12"),
        ("created_at", "", "empty value for created_at"),
        ("birthday", "2025-02-30", "day is out of range"),
        ("phone1_text_ok", "yes", "not a boolean"),
        ("owner_id", "x1", "invalid literal for int()"),
    ],
)
def test_bad_cells_are_refused_and_nothing_is_restored(
    fresh_demo, pg_engine, pg_archive, monkeypatch, column, value, message
):
    from crm_tui.services.archive import postgresql
    from crm_tui.services.errors import ArchiveError

    monkeypatch.setattr(postgresql, "BATCH", 4)  # the bad row in a later block than the first
    data = export_bytes(fresh_demo, sign_in(fresh_demo, OWNER).account_id)
    lines = list(csv.reader(io.StringIO(zipfile.ZipFile(io.BytesIO(data)).read("contacts.csv").decode("utf-8-sig"))))
    bad_id = lines[6][0]

    def edit(col, row):
        if row[col["id"]] == bad_id:
            row[col[column]] = value

    with pytest.raises(ArchiveError) as caught:
        restore(pg_engine, _rewrite(data, "contacts.csv", edit))
    assert "contacts.csv line 7" in str(caught.value) and message in str(caught.value)
    with pg_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM contact")).scalar() == 0


def test_a_row_the_database_refuses_is_a_one_line_archive_error(fresh_demo, pg_engine):
    from crm_tui.services.errors import ArchiveError

    data = export_bytes(fresh_demo, sign_in(fresh_demo, OWNER).account_id)

    def edit(col, row):
        row[col["id"]] = "1"  # every contact with the same id

    with pytest.raises(ArchiveError, match="contacts.csv: the database refused a row .*duplicate key") as caught:
        restore(pg_engine, _rewrite(data, "contacts.csv", edit))
    assert "\n" not in str(caught.value)
    with pg_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM account")).scalar() == 0


def test_a_nul_character_is_refused_in_one_line(fresh_demo, pg_engine):
    from crm_tui.services.errors import ArchiveError

    data = export_bytes(fresh_demo, sign_in(fresh_demo, OWNER).account_id)

    def edit(col, row):
        row[col["notes"]] = "before\x00after"

    with pytest.raises(ArchiveError, match="contacts.csv: the database refused a row .*NUL") as caught:
        restore(pg_engine, _rewrite(data, "contacts.csv", edit))
    assert "\n" not in str(caught.value)


def test_view_members_are_those_written_on_sqlite(fresh_demo, pg_engine, monkeypatch):
    """The vCards, iCalendar files and the rest of an export read on PostgreSQL through psycopg's
    own server-side cursor: the same bytes as on SQLite."""
    from conftest import pin_clock

    pin_clock(monkeypatch, "2026-11-27T10:00:00+00:00")
    data = export_bytes(fresh_demo, sign_in(fresh_demo, OWNER).account_id)
    account_id, _counts = restore(pg_engine, data)
    again = zipfile.ZipFile(io.BytesIO(export_bytes(pg_engine, account_id)))
    first = zipfile.ZipFile(io.BytesIO(data))
    assert sorted(first.namelist()) == sorted(again.namelist())
    views = [n for n in first.namelist() if n not in DATA_MEMBERS and n != "manifest.json"]
    assert {"contacts.vcf", "appointments.ics", "todos.ics"} <= set(views)
    for name in views:
        assert again.read(name) == first.read(name), name


@pytest.mark.parametrize("fmt", ["csv", "vcf", "google", "outlook"])
@pytest.mark.parametrize("chosen", [False, True], ids=["all", "chosen"])
def test_contacts_exports_are_those_written_on_sqlite(fresh_demo, pg_engine, tmp_path, monkeypatch, fmt, chosen):
    """Group Actions' contact files (all contacts, or some) from PostgreSQL: SQLite's bytes."""
    from conftest import pin_clock

    from crm_tui.services import auth, export

    pin_clock(monkeypatch, "2026-11-27T10:00:00+00:00")
    restore(pg_engine, export_bytes(fresh_demo, sign_in(fresh_demo, OWNER).account_id))
    files = []
    for name, engine in (("sqlite", fresh_demo), ("pg", pg_engine)):
        who = auth.as_member(engine, OWNER)
        with engine.connect() as conn:
            ids = conn.execute(
                text("SELECT id FROM contact WHERE account_id = :a ORDER BY id"), {"a": who.account_id}
            ).scalars()
            picked = [i for k, i in enumerate(ids) if k % 3 == 0] if chosen else None
        (tmp_path / name).mkdir()
        files.append(export.export_contacts(engine, who, picked, fmt, out_dir=tmp_path / name).path.read_bytes())
    assert files[0] == files[1]
    assert len(files[0]) > 1000


def _read_ahead_threads() -> list:
    import threading

    return [t for t in threading.enumerate() if t.name == "crm-tui-read-ahead"]


def test_rows_read_ahead_come_in_order_and_a_reader_left_early_frees_the_connection(pg_engine):
    """The view members' rows are fetched a batch ahead on a thread: every row comes once, in
    order; a reader that stops early leaves no thread behind and the connection usable."""
    from crm_tui.services.archive.postgresql import driver_batches

    query = text("SELECT g FROM generate_series(1, 50) AS g ORDER BY g")
    with pg_engine.connect() as conn, conn.begin():
        assert [r[0] for batch in driver_batches(conn, query, size=7) for r in batch] == list(range(1, 51))
        batches = driver_batches(conn, query, size=10)
        assert [r[0] for r in next(batches)] == list(range(1, 11))
        batches.close()
        assert not _read_ahead_threads()
        assert conn.execute(text("SELECT count(*) FROM generate_series(1, 3)")).scalar() == 3


def test_an_error_while_reading_ahead_reaches_the_reader(pg_engine):
    import psycopg

    from crm_tui.services.archive.postgresql import driver_batches

    query = text("SELECT 100 / (g - 25) FROM generate_series(1, 50) AS g")  # made as fetched
    got = []
    with pg_engine.connect() as conn, conn.begin():
        with pytest.raises(psycopg.errors.DivisionByZero):
            for batch in driver_batches(conn, query, size=10):
                got.extend(batch)
    assert len(got) == 20  # the batches before the one holding the error
    assert not _read_ahead_threads()
