"""Restore's fast path on SQLite stores exactly what the portable typed path stores.

The fast path turns CSV cells into SQLite's stored values itself (timestamps as
``YYYY-MM-DD HH:MM:SS.ffffff`` UTC, dates ISO, booleans 0/1) in a helper thread and inserts
them as multi-row statements; the typed path converts every cell to a Python value and inserts
through SQLAlchemy. Both import the same archives into two databases, and every stored byte
(``typeof`` and ``quote`` of every cell) is compared, for exported data and for cells written
in other valid layouts (offsets, short fractions, week dates, basic dates).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile

import pytest
from conftest import OWNER, pin_clock, sign_in
from sqlalchemy import text

# the vCard/iCalendar members: on SQLite written from the same read as their data members
VIEWS = ("contacts.vcf", "appointments.ics", "todos.ics")
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


PINNED = "2026-11-27T10:00:00+00:00"


def _export_bytes(engine, who) -> bytes:
    from crm_tui.services import export

    with engine.connect() as conn, conn.begin():
        from sqlalchemy.orm import Session

        from crm_tui.services.auth import load_actor

        account_id = load_actor(Session(bind=conn), who, "data.export").account_id
        buf = io.BytesIO()
        export.write_export_archive(conn, account_id, buf)
    return buf.getvalue()


def _rewrite(data: bytes, member: str, edit) -> bytes:
    """The archive with one CSV member's rows edited (and its manifest entry updated)."""
    src = zipfile.ZipFile(io.BytesIO(data))
    manifest = json.loads(src.read("manifest.json"))
    rows = list(csv.reader(io.StringIO(src.read(member).decode("utf-8-sig"), newline="")))
    header, body = rows[0], rows[1:]
    for row in body:
        edit(dict(zip(header, range(len(header)), strict=False)), row)
    out = io.StringIO(newline="")
    csv.writer(out, lineterminator="\r\n").writerows([header, *body])
    raw = ("\ufeff" + out.getvalue()).encode("utf-8")  # with its byte-order mark, as written
    manifest["members"][member] = {
        **manifest["members"][member],
        "sha256": hashlib.sha256(raw).hexdigest(),
        "bytes": len(raw),
    }
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            if info.filename == member:
                dst.writestr(info.filename, raw)
            elif info.filename == "manifest.json":
                dst.writestr(info.filename, json.dumps(manifest))
            else:
                dst.writestr(info.filename, src.read(info.filename))
    return buf.getvalue()


def _restore(tmp_path, name: str, data: bytes, fast: bool, monkeypatch):
    from crm_tui import db
    from crm_tui.services import archive

    monkeypatch.setitem(archive.DATABASES, "sqlite", archive.SQLiteDatabase() if fast else archive.PORTABLE)
    engine = db.get_engine(f"sqlite:///{tmp_path / name}")
    with db.write_session(engine) as s:
        account_id, counts = archive.import_archive(
            s.connection(), zipfile.ZipFile(io.BytesIO(data)), unusable_password="!"
        )
    stored = {}
    with engine.connect() as conn:
        for table in TABLES:
            cols = [r[1] for r in conn.execute(text(f'PRAGMA table_info("{table}")'))]
            key = "id" if table == "account" else "account_id"
            probe = ", ".join(f'typeof("{c}"), quote("{c}")' for c in cols)
            stored[table] = conn.execute(
                text(f'SELECT {probe} FROM "{table}" WHERE {key} = :a ORDER BY id'), {"a": account_id}
            ).all()
    return counts, stored


def _both(tmp_path, data: bytes, monkeypatch):
    typed = _restore(tmp_path, "typed.sqlite3", data, False, monkeypatch)
    fast = _restore(tmp_path, "fast.sqlite3", data, True, monkeypatch)
    return typed, fast


def test_exported_demo_account_is_stored_byte_for_byte_as_the_typed_path_stores_it(fresh_demo, tmp_path, monkeypatch):
    data = _export_bytes(fresh_demo, sign_in(fresh_demo, OWNER))
    (typed_counts, typed), (fast_counts, fast) = _both(tmp_path, data, monkeypatch)
    assert fast_counts == typed_counts and typed_counts["contacts"] == 60
    assert fast == typed


def test_other_valid_layouts_are_stored_as_the_typed_path_stores_them(fresh_demo, tmp_path, monkeypatch):
    data = _export_bytes(fresh_demo, sign_in(fresh_demo, OWNER))
    layouts = [
        "2025-01-07T09:30:00+02:00",
        "2024-02-29T23:59:59.5+00:00",
        "2025-W02-3T10:00:00+00:00",
        "2025-01-07 09:30:00+00:00",
        "2025-01-07T09:30:00.123456-05:30",
        "2025-01-07T09:30Z",
        "2025-01-07T09:30:00.000001+00:00",
        "2025-01-07T09:30:00+00:00",
    ]
    days = ["20250107", "2025-W02-3", "2024-02-29", ""]

    def edit(col, row):
        k = int(row[col["id"]])
        row[col["created_at"]] = layouts[k % len(layouts)]
        row[col["birthday"]] = days[k % len(days)]
        row[col["phone1_text_ok"]] = ("true", "false")[k % 2]

    (_c1, typed), (_c2, fast) = _both(tmp_path, _rewrite(data, "contacts.csv", edit), monkeypatch)
    assert fast == typed
    assert len(fast["contact"]) == 60
    values = {cell for row in fast["contact"] for cell in row}
    assert "'2025-01-07 07:30:00.000000'" in values  # +02:00 converted to UTC
    assert "'2025-01-07 15:00:00.123456'" in values  # -05:30 converted to UTC
    assert "'2025-01-08'" in values  # week date 2025-W02-3 is Wednesday 8 January


@pytest.mark.parametrize("fractions", ["none", "all", "some"])
def test_usual_layouts_with_and_without_fractions(fresh_demo, tmp_path, monkeypatch, fractions):
    """The whole-column conversion: whole seconds, a fraction in every cell, or a mix."""
    data = _export_bytes(fresh_demo, sign_in(fresh_demo, OWNER))

    def edit(col, row):
        k = int(row[col["id"]])
        frac = {"none": False, "all": True, "some": k % 3 == 0}[fractions]
        row[col["created_at"]] = (
            f"2024-0{1 + k % 9}-1{k % 10}T0{k % 10}:3{k % 10}:5{k % 10}" + (f".{k:06d}" if frac else "") + "+00:00"
        )

    (_c1, typed), (_c2, fast) = _both(tmp_path, _rewrite(data, "contacts.csv", edit), monkeypatch)
    assert fast == typed
    values = {cell for row in fast["contact"] for cell in row}
    if fractions != "all":
        assert any(v.endswith(".000000'") and v.startswith("'2024-") for v in values)
    if fractions != "none":
        assert any(
            v.startswith("'2024-") and v.endswith("'") and not v.endswith(".000000'") and " " in v for v in values
        )


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
def test_bad_cells_are_refused_by_both_paths_alike(fresh_demo, tmp_path, monkeypatch, column, value, message):
    from crm_tui.services.errors import ArchiveError

    data = _export_bytes(fresh_demo, sign_in(fresh_demo, OWNER))

    def edit(col, row):
        if row[col["id"]] == first:
            row[col[column]] = value

    first = list(csv.reader(io.StringIO(zipfile.ZipFile(io.BytesIO(data)).read("contacts.csv").decode())))[2][0]
    bad = _rewrite(data, "contacts.csv", edit)
    errors = []
    for fast in (False, True):
        with pytest.raises(ArchiveError) as caught:
            _restore(tmp_path, f"bad-{fast}.sqlite3", bad, fast, monkeypatch)
        errors.append(str(caught.value))
    assert errors[0] == errors[1]
    assert "contacts.csv line 3" in errors[1] and message in errors[1]


def test_a_refused_row_is_a_one_line_archive_error(fresh_demo, tmp_path, monkeypatch):
    from crm_tui.services.errors import ArchiveError

    data = _export_bytes(fresh_demo, sign_in(fresh_demo, OWNER))

    def edit(col, row):
        row[col["id"]] = "1"  # every contact with the same id

    with pytest.raises(ArchiveError, match="contacts.csv: the database refused a row .*UNIQUE"):
        _restore(tmp_path, "dup.sqlite3", _rewrite(data, "contacts.csv", edit), True, monkeypatch)


def test_export_reads_timestamps_of_another_layout_the_typed_way(fresh_demo, monkeypatch):
    """The export's fast SELECT slices stored timestamps; one stored in another layout (here
    without a fraction, as a hand-made row might be) is read the typed way instead. Every data
    member comes out as the typed path alone writes it."""
    from crm_tui.services import archive

    pin_clock(monkeypatch, PINNED)  # both exports stamp the same time
    engine = fresh_demo
    who = sign_in(engine, OWNER)
    with engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE contact SET created_at = '2025-01-07 09:30:00' WHERE id IN "
                "(SELECT id FROM contact WHERE account_id = :a ORDER BY id LIMIT 3)"
            ),
            {"a": who.account_id},
        )
        conn.execute(
            text(
                "UPDATE todo SET due = '2025-01-07 00:00:00' WHERE id IN "
                "(SELECT id FROM todo WHERE account_id = :a AND due IS NOT NULL ORDER BY id LIMIT 2)"
            ),
            {"a": who.account_id},
        )
    archives = {}
    for fast in (True, False):
        monkeypatch.setitem(archive.DATABASES, "sqlite", archive.SQLiteDatabase() if fast else archive.PORTABLE)
        archives[fast] = zipfile.ZipFile(io.BytesIO(_export_bytes(engine, who)))
    for name in (*archive.DATA_MEMBERS, *VIEWS):
        assert archives[True].read(name) == archives[False].read(name), name
    assert b"2025-01-07T09:30:00+00:00" in archives[True].read("contacts.csv")
    assert "\uffff" not in archives[True].read("contacts.csv").decode()


@pytest.mark.sqlite_only("SQLite's fast export against the typed path (PostgreSQL has only the typed one)")
def test_export_fast_columns_write_what_the_typed_path_writes(fresh_demo, tmp_path, monkeypatch):
    """The fast export converts whole columns (timestamps, dates, booleans, formula escapes)
    at once. Cells starting with every formula character or holding one after a NUL, empty
    cells, fractions and whole seconds, NULL dates and timestamps: every data member, and
    Group Actions' CSV, come out as the typed path writes them."""
    from crm_tui.services import archive, export

    pin_clock(monkeypatch, PINNED)  # both exports stamp the same time (DTSTAMP)
    engine = fresh_demo
    who = sign_in(engine, OWNER)
    starts = ["=1+1", "+1 555", "-x", "@SUM(A1)", "\tab", "\rcr", "'quoted", "a\x00=b", "=", "", "plain"]
    with engine.begin() as conn:
        ids = [
            r[0]
            for r in conn.execute(
                text("SELECT id FROM contact WHERE account_id = :a ORDER BY id"), {"a": who.account_id}
            )
        ]
        for k, cid in enumerate(ids):
            conn.execute(
                text(
                    "UPDATE contact SET company = :c, notes = :n, city = :y, birthday = :b, "
                    "created_at = :t, phone2_text_ok = :p WHERE id = :id"
                ),
                {
                    "c": starts[k % len(starts)],
                    "n": starts[(k + 3) % len(starts)],
                    "y": starts[(k + 5) % len(starts)],
                    "b": None if k % 3 else f"19{50 + k % 40}-0{1 + k % 9}-1{k % 10}",
                    "t": f"2024-0{1 + k % 9}-1{k % 10} 0{k % 10}:1{k % 10}:2{k % 10}."
                    + ("000000" if k % 2 else f"{k:06d}"),
                    "p": k % 2,
                    "id": cid,
                },
            )
        conn.execute(
            text(
                "UPDATE todo SET completed_at = NULL, due = NULL WHERE id IN (SELECT id FROM todo "
                "WHERE account_id = :a ORDER BY id LIMIT 4)"
            ),
            {"a": who.account_id},
        )
    archives, groups = {}, {}
    for fast in (True, False):
        monkeypatch.setitem(archive.DATABASES, "sqlite", archive.SQLiteDatabase() if fast else archive.PORTABLE)
        archives[fast] = zipfile.ZipFile(io.BytesIO(_export_bytes(engine, who)))
        out = tmp_path / f"group-{fast}"
        out.mkdir()
        groups[fast] = export.export_contacts(engine, who, ids[:25], "csv", out_dir=out).path.read_bytes()
    for name in (*archive.DATA_MEMBERS, *VIEWS):
        assert archives[True].read(name) == archives[False].read(name), name
    assert groups[True] == groups[False]
    contacts = archives[True].read("contacts.csv").decode()
    assert "'=1+1" in contacts and "'@SUM(A1)" in contacts and "''quoted" in contacts
    assert "a\x00=b" in contacts and "'+1 555" in contacts


@pytest.fixture
def small_statements(monkeypatch):
    """Seven rows per INSERT (batches of 35): the demo's 60 contacts take full statements, a
    shorter last one and a second batch, as a large account's members do."""
    from crm_tui.services.archive import sqlite

    monkeypatch.setattr(sqlite, "ROWS_PER_STATEMENT", 7)


def _reader_threads() -> list:
    import threading

    return [t for t in threading.enumerate() if t.name == "crm-tui-restore-reader"]


def test_rows_split_over_many_statements_are_stored_as_the_typed_path_stores_them(
    fresh_demo, tmp_path, monkeypatch, small_statements
):
    import sys

    switch = sys.getswitchinterval()
    data = _export_bytes(fresh_demo, sign_in(fresh_demo, OWNER))
    (typed_counts, typed), (fast_counts, fast) = _both(tmp_path, data, monkeypatch)
    assert fast_counts == typed_counts and typed_counts["contacts"] == 60
    assert fast == typed
    assert len(fast["contact"]) == 60 and len(fast["history_entry"]) == typed_counts["history"]
    assert sys.getswitchinterval() == switch and not _reader_threads()


def test_a_bad_cell_in_a_later_batch_names_its_line(fresh_demo, tmp_path, monkeypatch, small_statements):
    from crm_tui.services.errors import ArchiveError

    data = _export_bytes(fresh_demo, sign_in(fresh_demo, OWNER))
    ids = [r[0] for r in csv.reader(io.StringIO(zipfile.ZipFile(io.BytesIO(data)).read("contacts.csv").decode()))]

    def edit(col, row):
        if row[col["id"]] == ids[50]:  # line 51: the second batch of 35
            row[col["created_at"]] = "2025-02-30T10:00:00+00:00"

    with pytest.raises(ArchiveError, match=r"contacts.csv line 51: day is out of range"):
        _restore(tmp_path, "late.sqlite3", _rewrite(data, "contacts.csv", edit), True, monkeypatch)
    assert not _reader_threads()


def test_a_row_refused_late_stops_the_reading_thread_and_restores_nothing(
    fresh_demo, tmp_path, monkeypatch, small_statements
):
    from crm_tui import db
    from crm_tui.services.errors import ArchiveError

    data = _export_bytes(fresh_demo, sign_in(fresh_demo, OWNER))
    ids = [r[0] for r in csv.reader(io.StringIO(zipfile.ZipFile(io.BytesIO(data)).read("contacts.csv").decode()))]

    def edit(col, row):
        if row[col["id"]] == ids[40]:
            row[col["id"]] = ids[3]  # a repeated id, in the second batch

    with pytest.raises(ArchiveError, match="contacts.csv: the database refused a row .*UNIQUE"):
        _restore(tmp_path, "late-dup.sqlite3", _rewrite(data, "contacts.csv", edit), True, monkeypatch)
    assert not _reader_threads()
    engine = db.get_engine(f"sqlite:///{tmp_path / 'late-dup.sqlite3'}")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM contact")).scalar_one() == 0
        assert conn.execute(text("SELECT count(*) FROM account")).scalar_one() == 0


@pytest.mark.parametrize(
    "column",
    [
        ("2025-11-07 02:55:00.000000", "2025-11-07 02:55:00.120000", None),
        (None, None),
        ("2025-11-07 02:55:00.000000", "2025-11-07 02:55:00", None),  # one cell in another layout
    ],
)
def test_whole_timestamp_columns_match_cell_by_cell(column):
    from crm_tui.services.archive import sqlite_values

    assert sqlite_values.datetime_texts(column) == [sqlite_values.datetime_text(v) for v in column]


def test_stored_text_none_is_not_taken_for_null():
    from crm_tui.services.archive import sqlite_values

    for convert in (sqlite_values.datetime_texts, sqlite_values.date_texts):
        with pytest.raises(ValueError):  # as cell by cell: not a timestamp or date
            convert(
                ("2025-01-07", "None")
                if convert is sqlite_values.date_texts
                else ("2025-11-07 02:55:00.000000", "None")
            )


@pytest.mark.parametrize("column", [("2025-01-07", None, "1999-12-31"), (None,), ("2025-01-07", "2025-01-07 00:00:00")])
def test_whole_date_columns_match_cell_by_cell(column):
    from crm_tui.services.archive import sqlite_values

    expected = [sqlite_values.date_text(v) for v in column]
    assert [v or "" for v in sqlite_values.date_texts(column)] == expected
