"""What behaved differently on PostgreSQL than on SQLite, held to one behaviour on both:
closing (streamed reads on a connection that writes next), the survey summary, the contacts
search (case and speed), ids after rows went in under their own ids, the month of the
summary report, connections after a server restart, database errors as one line, NUL."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import OWNER, PASSWORDS, is_postgresql, sign_in
from sqlalchemy import event, select, text

ROOT = Path(__file__).resolve().parents[1]


# --- streamed reads --------------------------------------------------------------------------


def test_a_streamed_read_leaves_the_connection_for_the_next_statement(fresh_demo):
    """A server-side cursor for the one SELECT; the INSERT after it on the same connection
    is a plain statement (it was turned into a cursor: a syntax error on PostgreSQL)."""
    from crm_tui import db
    from crm_tui.models import Contact, Setting
    from crm_tui.services import archive

    with db.write_connection(fresh_demo) as conn:
        rows = [r for part in archive.stream(conn, select(Contact.__table__.c.id)) for r in part]
        conn.execute(Setting.__table__.insert().values(key="after-stream", value=str(len(rows))))
    with fresh_demo.connect() as conn:
        assert conn.execute(text("SELECT value FROM setting WHERE key = 'after-stream'")).scalar() == "66"


def test_closing_an_account_succeeds_and_later_writes_work(fresh_demo):
    from crm_tui.services import auth, closing, team

    receipt = closing.close_account(fresh_demo, auth.as_member(fresh_demo, OWNER), "Acme Realty", PASSWORDS[OWNER])
    assert receipt.counts["contacts"] == 60
    birch = auth.as_member(fresh_demo, "sam@birch-books.example")
    team.add_member(fresh_demo, birch, "new.one@birch-books.example", "New One", "team player")
    with fresh_demo.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM contact")).scalar() == 6  # Birch's only


# --- survey -------------------------------------------------------------------------------------


def test_the_survey_summary_counts_responses_with_a_comment(fresh_demo):
    from crm_tui.services import survey

    survey.submit(fresh_demo, "Too expensive", "prices")
    survey.submit(fresh_demo, "Too expensive", "")
    survey.submit(fresh_demo, "Too expensive", "again")
    rows = [(r.reason, r.responses, r.with_comment) for r in survey.summary(fresh_demo)]
    assert rows == [("Too expensive", 3, 2)]


# --- contacts search ----------------------------------------------------------------------------


@pytest.mark.parametrize("typed", ["adams", "ADAMS", "Adams", "aDaMs"])
def test_the_contacts_search_ignores_case(fresh_demo, typed):
    from crm_tui.services import records

    who = sign_in(fresh_demo, OWNER)
    with fresh_demo.connect() as conn:
        expected = sorted(
            conn.execute(
                text("SELECT id FROM contact WHERE account_id = :a AND last_name = 'Adams'"), {"a": who.account_id}
            ).scalars()
        )
    assert expected  # the demo has some
    page = records.contacts_page(fresh_demo, who, query=typed)
    assert sorted(r.id for r in page.rows) == expected
    assert page.total == len(expected)
    assert sorted(records.all_contact_ids(fresh_demo, who, typed)) == expected


def _seed_contacts(conn, account_id: int, owner_id: int, n: int) -> None:
    """``n`` contacts in one INSERT ... SELECT generate_series: hexadecimal names, so that a
    search for a real name matches none of them."""
    from crm_tui.models import Contact

    values = []
    for c in Contact.__table__.columns:
        if c.name == "id":
            continue
        special = {
            "account_id": str(account_id),
            "owner_id": str(owner_id),
            "last_name": "'L' || substr(md5(i::text), 1, 7)",
            "first_name": "substr(md5(i::text), 11, 8)",
            "email": "substr(md5(i::text), 19, 6) || '@x.io'",
            "company": "'Co' || mod(i, 100)",
            "created_at": "now()",
        }
        if c.name in special:
            values.append(special[c.name])
        elif c.nullable:
            values.append("NULL")
        elif c.type.python_type is bool:
            values.append("false")
        else:
            values.append("''")
    names = ", ".join(c.name for c in Contact.__table__.columns if c.name != "id")
    conn.exec_driver_sql(f"INSERT INTO contact ({names}) SELECT {', '.join(values)} FROM generate_series(1, {n}) AS i")


@pytest.mark.slow
def test_the_contacts_search_uses_the_trigram_index_at_250k_contacts(pg_demo):
    """EXPLAIN of the statements a search runs: the trigram index, no sequential pass."""
    from crm_tui.services import records

    engine = pg_demo
    who = sign_in(engine, OWNER)
    with engine.begin() as conn:  # the index is built once after the rows, as a bulk load would
        conn.exec_driver_sql("SET LOCAL statement_timeout = 0")
        conn.exec_driver_sql("SET LOCAL maintenance_work_mem = '256MB'")
        definition = conn.exec_driver_sql(
            "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_contact_search_trgm'"
        ).scalar_one()
        conn.exec_driver_sql("DROP INDEX ix_contact_search_trgm")
        _seed_contacts(conn, who.account_id, who.member_id, 250_000)
        conn.exec_driver_sql(definition)
    with engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE contact")
        assert conn.exec_driver_sql("SELECT count(*) FROM contact").scalar() > 250_000

    seen: list[tuple[str, object]] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if "FROM contact" in statement and "ILIKE" in statement:
            seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        page = records.contacts_page(engine, who, query="adams")
        ids = records.all_contact_ids(engine, who, "ADAMS")
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert page.total == len(ids) > 0
    assert {r.last_name for r in page.rows} == {"Adams"}
    assert len(seen) == 3  # the page, its count, the ids
    with engine.connect() as conn:
        for statement, parameters in seen:
            plan = "\n".join(conn.exec_driver_sql(f"EXPLAIN {statement}", parameters).scalars())
            assert "ix_contact_search_trgm" in plan, plan
            assert "Seq Scan on contact" not in plan, plan


def test_the_search_index_exists_only_on_postgresql(engine):
    from sqlalchemy import inspect

    with engine.connect() as conn:
        names = {i["name"] for i in inspect(conn).get_indexes("contact")}
    assert ("ix_contact_search_trgm" in names) == is_postgresql(engine)


# --- ids after rows went in under their own ids ------------------------------------------------


def test_after_an_import_under_original_ids_new_rows_get_new_ids(fresh_demo, db_url, tmp_path):
    """Restore an export into an empty database, then add team members and survey answers:
    each gets an id after the restored ones (PostgreSQL's sequences stood at 1)."""
    from crm_tui import db
    from crm_tui.services import auth, export, team

    exported = export.export_account(fresh_demo, sign_in(fresh_demo, OWNER), tmp_path)
    target = db.get_engine(db_url)
    account_id, counts = export.restore_from_archive(target, exported.path)
    assert counts["contacts"] == 60
    owner = auth.as_member(target, OWNER)
    with target.connect() as conn:
        before = conn.execute(text("SELECT max(id) FROM member")).scalar()
    added = [team.add_member(target, owner, f"new{i}@acme-realty.example", f"New {i}", "team player") for i in range(5)]
    assert [m.id for m in added] == sorted(m.id for m in added)
    assert min(m.id for m in added) > before
    with target.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM member WHERE account_id = :a"), {"a": account_id}).scalar() == (
            counts["team_members"] + 5
        )


def test_after_a_restore_from_backup_new_rows_get_new_ids(fresh_demo):
    """Close, restore (under original ids), then add members: no id is handed out twice."""
    from crm_tui.services import auth, closing, team

    closing.close_account(fresh_demo, auth.as_member(fresh_demo, OWNER), "Acme Realty", PASSWORDS[OWNER])
    closing.restore(fresh_demo, OWNER)
    owner = auth.as_member(fresh_demo, OWNER)
    for i in range(4):
        team.add_member(fresh_demo, owner, f"after{i}@acme-realty.example", f"After {i}", "team player")
    with fresh_demo.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM member WHERE email LIKE 'after%'")).scalar() == 4


def test_advancing_the_sequences_never_moves_one_back(engine):
    from datetime import date

    from crm_tui import db
    from crm_tui.models import Setting, SurveyResponse

    with db.write_connection(engine) as conn:
        for _ in range(3):
            conn.execute(
                SurveyResponse.__table__.insert().values(
                    submitted_on=date(2026, 12, 1),
                    reason="Other",
                    comment="",
                    plan_code="",
                    tenure_months=0,
                    team_size=0,
                )
            )
        conn.execute(text("DELETE FROM survey_response"))
        db.advance_id_sequences(conn, [SurveyResponse, Setting])  # empty now; Setting has no id
        new = conn.execute(
            SurveyResponse.__table__.insert()
            .values(
                submitted_on=date(2026, 12, 1), reason="Other", comment="", plan_code="", tenure_months=0, team_size=0
            )
            .returning(SurveyResponse.__table__.c.id)
        ).scalar()
    assert new == 4


# --- the month of the summary report -----------------------------------------------------------


def test_the_summary_report_counts_months_in_utc_whatever_the_sessions_zone(fresh_demo):
    """A contact added at 23:30 UTC on 30 November counts in November, even where the
    database's session zone is already in December (Kiribati, UTC+14)."""
    from crm_tui import db
    from crm_tui.services import export

    with fresh_demo.begin() as conn:
        acme = conn.execute(text("SELECT id FROM account WHERE name = 'Acme Realty'")).scalar()
        conn.execute(
            text("UPDATE contact SET created_at = :t WHERE account_id = :a"),
            {
                "t": "2026-11-30 23:30:00+00:00" if is_postgresql(fresh_demo) else "2026-11-30 23:30:00.000000",
                "a": acme,
            },
        )
    if is_postgresql(fresh_demo):
        with fresh_demo.connect() as conn:
            name = conn.exec_driver_sql("SELECT current_database()").scalar()
        with fresh_demo.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
                f"ALTER DATABASE \"{name}\" SET timezone = 'Pacific/Kiritimati'"
            )
        fresh_demo.dispose()  # new connections take the zone
        with fresh_demo.connect() as conn:
            assert conn.exec_driver_sql("SHOW timezone").scalar() == "Pacific/Kiritimati"
    with db.read_connection(fresh_demo) as conn:
        rows = export.monthly_summary(conn, acme)
    contacts_by_month = {row[0]: row[1] for row in rows if row[1]}
    assert contacts_by_month == {"2026-11": 60}


# --- connections and database errors (PostgreSQL) ---------------------------------------------


def test_connections_carry_the_name_and_the_timeouts(pg_demo):
    from crm_tui import db

    with pg_demo.connect() as conn:
        assert conn.exec_driver_sql("SHOW application_name").scalar() == db.PG_APPLICATION_NAME == "crm-tui"
        assert conn.exec_driver_sql("SHOW statement_timeout").scalar() == "30s"
        assert conn.exec_driver_sql("SHOW lock_timeout").scalar() == "10s"


def test_the_first_query_after_a_server_restart_works(pg_demo, postgres_server):
    from crm_tui.services import records

    who = sign_in(pg_demo, OWNER)
    assert records.contacts_page(pg_demo, who).total == 60  # the pool now holds a connection
    postgres_server.restart()
    assert records.contacts_page(pg_demo, who).total == 60


def test_a_statement_over_the_timeout_is_one_line_for_the_user(pg_demo):
    """A lock held elsewhere longer than lock_timeout: the service's error is worded, not a bug."""
    from sqlalchemy import make_url

    from crm_tui import db
    from crm_tui.services import auth, errors, team

    url = make_url(pg_demo.url.render_as_string(hide_password=False))
    short = db.get_engine(url.update_query_dict({"options": "-c lock_timeout=200"}).render_as_string(False))
    owner = auth.as_member(short, OWNER)
    with pg_demo.connect() as holder:
        holder.exec_driver_sql("LOCK TABLE member IN ACCESS EXCLUSIVE MODE")
        with pytest.raises(Exception) as failed:
            team.add_member(short, owner, "late@acme-realty.example", "Late", "team player")
        holder.rollback()
    assert errors.code_of(failed.value) == errors.DATABASE_BUSY
    assert errors.sentence(failed.value) == "The database is busy or unavailable; please try again."
    assert "lock" in errors.message(failed.value, detail=True)


def test_an_unreachable_server_is_one_line_in_the_cli_and_in_the_app(tmp_path):
    from crm_tui import db
    from crm_tui.services import errors

    url = f"postgresql+psycopg://postgres@/crm?host={tmp_path}&port=9"  # nothing listens there
    with pytest.raises(db.DatabaseError) as refused:
        db.get_engine(url)
    line = errors.sentence(refused.value)
    assert line is not None and "\n" not in line and line.startswith("Cannot reach the database server: ")
    out = subprocess.run(
        [sys.executable, "-m", "crm_tui", "--database-url", url, "admin", "survey"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        timeout=60,
    )
    assert out.returncode != 0
    assert out.stdout == ""
    assert out.stderr.startswith("crm-tui: cannot reach the database server: "), out.stderr
    assert out.stderr.count("\n") == 1, out.stderr
    assert "Traceback" not in out.stderr


# --- NUL characters ----------------------------------------------------------------------------


def test_nul_is_refused_where_people_type_and_nothing_changes(fresh_demo):
    from conftest import dump_database

    from crm_tui.services import auth, errors, records, survey, team

    owner = sign_in(fresh_demo, OWNER)
    before = dump_database(fresh_demo)
    attempts = [
        (lambda: team.add_member(fresh_demo, owner, "nul@acme-realty.example", "Bad\x00Name", "team player"), "name"),
        (lambda: team.add_member(fresh_demo, owner, "nul\x00@acme-realty.example", "Name", "team player"), "email"),
        (lambda: survey.submit(fresh_demo, "Other", "a\x00comment"), "comment"),
        (lambda: records.contacts_page(fresh_demo, owner, query="ad\x00ams"), "query"),
        (lambda: auth.sign_in(fresh_demo, "dana\x00@acme-realty.example", "x"), "email"),
    ]
    for attempt, field in attempts:
        with pytest.raises(errors.InvalidInput) as refused:
            attempt()
        assert refused.value.field == field
        assert "cannot contain a NUL character" in str(refused.value)
    assert dump_database(fresh_demo) == before


def _with_nul(archive_path: Path, member: str) -> Path:
    """A copy of the archive whose ``member`` holds a NUL (the manifest's checksum updated)."""
    import hashlib

    out = archive_path.with_name("nul-" + archive_path.name)
    with zipfile.ZipFile(archive_path) as src, zipfile.ZipFile(out, "w") as dst:
        manifest = json.loads(src.read("manifest.json"))
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == member:
                if member.endswith(".json"):
                    items = json.loads(data)
                    items[0]["name"] = "bad\x00name"
                    data = json.dumps(items).encode()
                else:
                    lines = data.split(b"\r\n")
                    lines[1] = lines[1].replace(b",", b",\x00", 1)
                    data = b"\r\n".join(lines)
                manifest["members"][member]["sha256"] = hashlib.sha256(data).hexdigest()
                manifest["members"][member]["bytes"] = len(data)
            if info.filename != "manifest.json":
                dst.writestr(info.filename, data)
        dst.writestr("manifest.json", json.dumps(manifest))
    return out


@pytest.mark.parametrize("member", ["contacts.csv", "team.json"])
def test_an_archive_holding_nul_is_refused_and_nothing_is_imported(fresh_demo, db_url, tmp_path, member):
    from conftest import dump_database

    from crm_tui import db
    from crm_tui.services import errors, export

    exported = export.export_account(fresh_demo, sign_in(fresh_demo, OWNER), tmp_path)
    bad = _with_nul(exported.path, member)
    target = db.get_engine(db_url)
    before = dump_database(target)
    with pytest.raises(errors.ArchiveError) as refused:
        export.restore_from_archive(target, bad)
    assert "NUL character" in str(refused.value) and member in str(refused.value)
    assert dump_database(target) == before


def test_nul_check_reads_bytes_not_lines():
    """The reader refuses a NUL wherever it sits in a member, also past the first buffer."""
    from crm_tui.services.archive.reader import _HashingReader
    from crm_tui.services.errors import ArchiveError

    raw = io.BytesIO(b"x" * 200_000 + b"\x00" + b"y" * 10)
    reader = io.BufferedReader(_HashingReader(raw, "contacts.csv", refuse_nul=True), 1 << 16)
    with pytest.raises(ArchiveError, match="contacts.csv holds a NUL"):
        while reader.read(1 << 16):
            pass


@pytest.mark.parametrize("member", ["contacts.csv", "team.json"])
def test_importing_an_archive_holding_nul_as_a_new_account_is_refused(fresh_demo, tmp_path, member):
    from conftest import dump_database

    from crm_tui.services import errors, export, importer

    exported = export.export_account(fresh_demo, sign_in(fresh_demo, OWNER), tmp_path)
    bad = _with_nul(exported.path, member)
    before = dump_database(fresh_demo)
    with pytest.raises(errors.ArchiveError) as refused:
        importer.import_account(
            fresh_demo, bad, email="new.owner@example.com", account_name="Copy", password="a long new password"
        )
    assert "NUL character" in str(refused.value) and member in str(refused.value)
    assert dump_database(fresh_demo) == before


def test_a_backup_of_older_sqlite_data_holding_nul_still_restores(fresh_demo):
    """A SQLite database from before NUL was refused may hold one: closing backs it up and
    restore brings it back (it is this database's own data, not an import)."""
    if is_postgresql(fresh_demo):
        pytest.skip("PostgreSQL never held a NUL")
    from crm_tui.services import auth, closing

    with fresh_demo.begin() as conn:
        conn.execute(text("UPDATE contact SET notes = :n WHERE last_name = 'Adams'"), {"n": "old\x00note"})
    closing.close_account(fresh_demo, auth.as_member(fresh_demo, OWNER), "Acme Realty", PASSWORDS[OWNER])
    closing.restore(fresh_demo, OWNER)
    with fresh_demo.connect() as conn:
        notes = conn.execute(text("SELECT notes FROM contact WHERE last_name = 'Adams'")).scalars().all()
    assert notes and all(n == "old\x00note" for n in notes)


def test_a_server_that_went_away_is_a_message_not_a_bug(pg_demo, postgres_server):
    """Stopped mid-session: the next service call fails with the app's one message (and its
    code); once the server is back, the same engine works again."""
    from crm_tui.services import errors, records

    who = sign_in(pg_demo, OWNER)
    assert records.contacts_page(pg_demo, who).total == 60
    postgres_server.stop()
    try:
        with pytest.raises(Exception) as failed:
            records.contacts_page(pg_demo, who)
    finally:
        postgres_server.restart()
    assert errors.code_of(failed.value) == errors.DATABASE_BUSY
    assert errors.sentence(failed.value) == "The database is busy or unavailable; please try again."
    assert records.contacts_page(pg_demo, who).total == 60
