"""The account lock and the close's one snapshot, on SQLite and on a real PostgreSQL.

* A member writes templates and texts from another process, one transaction each, as fast as it
  can, while the owner closes the account (three times over, restoring in between): every write
  the member saw commit is in the backup, restore brings back exactly the rows the close deleted,
  and the member's next write fails with "this account has been closed".
* Two owners of two accounts change their plans from two processes: every change appends an
  audit event, and the chain verifies afterwards (it never forks).
* A write to a closed account, or (PostgreSQL) one being closed, is refused with the typed error,
  in the service and as one line on the command line; a close that died leaves the account open.
* The close's reference check names the table and count it found.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select, text

from . import harness as h

ROOT = Path(__file__).resolve().parents[2]
CYCLES = 3
WRITES_BEFORE_CLOSE = 5  # the member's writes seen committed before the owner starts to close
DEADLINE_S = 60.0


@dataclass(frozen=True)
class Backend:
    name: str
    url: str
    env: dict[str, str]


@pytest.fixture(params=["sqlite", "postgresql"])
def place(request, tmp_path: Path) -> Backend:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'crm.sqlite3'}"
    else:
        server = request.getfixturevalue("postgres_server")
        name = f"locks_{uuid.uuid4().hex[:12]}"
        server.psql(f"CREATE DATABASE {name}")
        url = server.url(name)
    env = {"CRM_TUI_DATABASE_URL": url, "CRM_TUI_BACKUP_DIR": str(tmp_path / "backups")}
    os.environ.update(env)  # put back by the reliability suites' restore_environment
    return Backend(request.param, url, env)


def _engine(place: Backend, contacts: int = 200):
    from crm_tui import db
    from crm_tui.services import demo

    engine = db.get_engine(place.url)
    demo.create(engine, contacts=contacts, seed=7)
    return engine


def _spawn(place: Backend, *args: str) -> subprocess.Popen:
    env = {**os.environ, **place.env, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    return subprocess.Popen(
        [sys.executable, "-m", "tests.reliability.worker", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_ready(proc: subprocess.Popen) -> None:
    line = proc.stdout.readline()
    assert line.strip() == "ready", line + proc.stderr.read()


def _result(proc: subprocess.Popen) -> dict:
    # read through the text streams: communicate() reads the pipes' descriptors and would miss
    # what _wait_ready's readline already buffered (a quick worker's last line with its first)
    out = proc.stdout.read()
    err = proc.stderr.read()
    proc.wait(timeout=120)
    lines = [ln for ln in out.splitlines() if ln.strip()]
    assert lines, err
    result = json.loads(lines[-1])
    assert "error" not in result, result.get("traceback") or result
    assert proc.returncode == 0, err
    return result


def _ids(engine, table: str, account_id: int) -> set[int]:
    from crm_tui import db

    with db.read_connection(engine) as conn:
        return set(conn.execute(text(f"SELECT id FROM {table} WHERE account_id = :a"), {"a": account_id}).scalars())


def _dump(engine, account_id: int, skip: tuple[str, ...] = ()) -> dict[str, list[tuple]]:
    from crm_tui import db
    from crm_tui.models import ACCOUNT_TABLES, Account

    with db.read_connection(engine) as conn:
        out = {
            m.__tablename__: [
                tuple(r)
                for r in conn.execute(
                    select(m.__table__).where(m.__table__.c.account_id == account_id).order_by(m.__table__.c.id)
                )
            ]
            for m in ACCOUNT_TABLES
            if m.__tablename__ not in skip
        }
        out["account"] = [
            tuple(r) for r in conn.execute(select(Account.__table__).where(Account.__table__.c.id == account_id))
        ]
    return out


def _poll(what, deadline_s: float = DEADLINE_S):
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        got = what()
        if got:
            return got
        time.sleep(0.01)
    raise AssertionError("timed out")


def _audit_ok(engine) -> bool:
    from crm_tui import db
    from crm_tui.services import audit

    with db.read_session(engine) as s:
        return audit.verify(s).ok


def test_a_member_writing_from_another_process_while_the_owner_closes(place: Backend) -> None:
    from crm_tui.services import closing

    engine = _engine(place)
    for cycle in range(CYCLES):
        templates = _ids(engine, "email_template", h.ACME_ID)
        texts = _ids(engine, "text_message", h.ACME_ID)
        rest = _dump(engine, h.ACME_ID, skip=("email_template", "text_message"))
        birch = _dump(engine, h.BIRCH_ID)
        proc = _spawn(place, "templates", h.ADMIN, h.PASSWORDS[h.ADMIN])
        try:
            _wait_ready(proc)
            _poll(
                lambda before=templates: len(_ids(engine, "email_template", h.ACME_ID) - before) >= WRITES_BEFORE_CLOSE
            )
            started = time.monotonic()
            receipt = closing.close_account(engine, h.sign_in(engine, h.OWNER), "Acme Realty", h.PASSWORDS[h.OWNER])
            took = time.monotonic() - started
            result = _result(proc)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
        # the member's writes ended with the closed account's refusal, nothing else
        assert (result["refusal"], result["code"]) == ("this account has been closed", "account.closed"), result
        written_templates, written_texts = set(result["templates"]), set(result["texts"])
        assert len(written_templates) >= WRITES_BEFORE_CLOSE
        # the backup holds exactly what was there: what was before and every write that committed
        assert receipt.counts["email_templates"] == len(templates | written_templates), cycle
        assert receipt.counts["text_messages"] == len(texts | written_texts), cycle
        assert _ids(engine, "email_template", h.ACME_ID) == set()
        restored = closing.restore(engine, h.OWNER)
        assert restored.counts == receipt.counts
        assert _ids(engine, "email_template", h.ACME_ID) == templates | written_templates
        assert _ids(engine, "text_message", h.ACME_ID) == texts | written_texts
        assert _dump(engine, h.ACME_ID, skip=("email_template", "text_message")) == rest
        assert _dump(engine, h.BIRCH_ID) == birch
        assert _audit_ok(engine)
        print(
            f"\n{place.name} close {cycle + 1}: {took:.2f}s with a member writing; "
            f"{len(written_templates)} writes committed, then refused",
            file=sys.stderr,
        )


def test_two_processes_appending_to_the_audit_chain_never_fork_it(place: Backend) -> None:
    from crm_tui import db
    from crm_tui.models import AuditEvent

    engine = _engine(place, contacts=10)
    n = 30
    with db.read_session(engine) as s:
        before = len(s.execute(select(AuditEvent.id)).all())
    procs = [
        _spawn(place, "plans", h.OWNER, h.PASSWORDS[h.OWNER], str(n), "enterprise,professional"),
        _spawn(place, "plans", h.OTHER_OWNER, h.PASSWORDS[h.OTHER_OWNER], str(n), "enterprise,starter"),
    ]
    try:
        for p in procs:
            _wait_ready(p)
        results = [_result(p) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.communicate()
    assert [r["changes"] for r in results] == [n, n]
    with db.read_session(engine) as s:
        prevs = s.execute(select(AuditEvent.prev_hash)).scalars().all()
    assert len(prevs) == before + 2 * n
    assert len(set(prevs)) == len(prevs)  # no two events follow the same one
    assert _audit_ok(engine)


def _member_writes(engine):
    """Every kind of write a member makes to the account, each as its service makes it."""
    from crm_tui.services import auth, billing, messages, profile, sessions, team

    def who(email):
        return auth.sign_in(engine, email, h.PASSWORDS[email])

    owner, admin, player = who(h.OWNER), who(h.ADMIN), who(h.PLAYER)
    return {
        "time zone": lambda: profile.set_time_zone(engine, admin, "Europe/Paris"),
        "plan": lambda: billing.change_plan(engine, owner, "enterprise"),
        "team add": lambda: team.add_member(engine, admin, "new.one@acme-realty.example", "New One", "team player"),
        "team remove": lambda: team.remove_member(engine, admin, player.member_id),
        "team transfer": lambda: team.transfer_ownership(engine, owner, admin.member_id, h.PASSWORDS[h.OWNER]),
        "team leave": lambda: team.leave_account(engine, player, h.PASSWORDS[h.PLAYER]),
        "messages cancel": lambda: messages.cancel(engine, owner, h.PASSWORDS[h.OWNER]),
        "command-line login": lambda: sessions.create(engine, admin),
    }


def _refusals(writes) -> dict[str, str]:
    from crm_tui.services.errors import AccountIsClosed, message

    got = {}
    for name, write in writes.items():
        try:
            write()
            got[name] = "written"
        except AccountIsClosed as exc:
            got[name] = f"{exc.code}: {message(exc)}"
    return got


def test_every_member_write_to_a_closed_account_is_refused(place: Backend) -> None:
    from crm_tui.services import closing

    engine = _engine(place, contacts=10)
    writes = _member_writes(engine)  # signed in before the close
    closing.close_account(engine, h.sign_in(engine, h.OWNER), "Acme Realty", h.PASSWORDS[h.OWNER])
    assert _refusals(writes) == dict.fromkeys(writes, "account.closed: this account has been closed")


def _run_cli(place: Backend, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
    env = {**os.environ, **place.env, "PYTHONPATH": str(ROOT / "src")}
    return subprocess.run(
        [sys.executable, "-m", "crm_tui", *args], input=stdin, capture_output=True, text=True, env=env, timeout=120
    )


def test_postgresql_a_write_while_the_account_is_closing_is_refused_and_a_dead_close_undone(
    request, tmp_path: Path
) -> None:
    from crm_tui.services import closing, locks, profile
    from crm_tui.services.errors import AccountClosed

    server = request.getfixturevalue("postgres_server")
    name = f"locks_{uuid.uuid4().hex[:12]}"
    server.psql(f"CREATE DATABASE {name}")
    place = Backend("postgresql", server.url(name), {"CRM_TUI_DATABASE_URL": server.url(name)})
    engine = _engine(place, contacts=10)
    args = ("account", "time-zone", "--email", h.ADMIN, "--set", "Europe/Paris", "--password-stdin")
    writes = _member_writes(engine)  # the members signed in before the close began
    with engine.connect() as closer:  # a close under way in another session: marked, its lock held
        locks.begin_close(closer, h.ACME_ID)
        locks.mark_closing(closer, h.ACME_ID)
        with pytest.raises(AccountClosed, match="This account is being closed by its owner"):
            h.sign_in(engine, h.PLAYER)  # nobody signs in from the mark on
        done = _run_cli(place, *args, stdin=h.PASSWORDS[h.ADMIN] + "\n")
        assert done.returncode != 0
        assert done.stdout == ""
        assert len(done.stderr.splitlines()) == 1, done.stderr
        assert "this account has been closed" in done.stderr
        assert _refusals(writes) == dict.fromkeys(writes, "account.closed: this account has been closed")
        # the closer's connection goes away without undoing its mark, as a killed process's does
        closer.invalidate()
    undone = f"Acme Realty (account {h.ACME_ID}): an unfinished close was undone; the account is open again"
    assert closing.resume(engine) == [undone]
    zone = profile.set_time_zone(engine, h.sign_in(engine, h.ADMIN), "Europe/Paris")
    assert zone.name == "Europe/Paris"
    with engine.connect() as conn:
        assert conn.execute(text("SELECT status FROM account WHERE id = :a"), {"a": h.ACME_ID}).scalar() == "active"


def test_the_lock_on_sqlite_checks_it_runs_in_a_write_transaction(tmp_path: Path) -> None:
    from crm_tui import db
    from crm_tui.services import locks

    engine = db.get_engine(f"sqlite:///{tmp_path / 'crm.sqlite3'}")
    with db.read_connection(engine) as conn:
        conn.execute(text("SELECT 1"))
        with pytest.raises(RuntimeError, match="write transaction"):
            locks.lock_account(conn, 1)


def test_the_close_names_the_rows_that_refer_to_the_account_from_outside(place: Backend) -> None:
    from crm_tui import db
    from crm_tui.services import closing

    engine = _engine(place, contacts=10)
    with db.write_connection(engine) as conn:  # a Birch Books contact owned by an Acme member: damaged
        acme_member = conn.execute(text("SELECT id FROM member WHERE account_id = :a"), {"a": h.ACME_ID}).scalar()
        conn.execute(
            text("UPDATE contact SET owner_id = :m WHERE id = (SELECT min(id) FROM contact WHERE account_id = :b)"),
            {"m": acme_member, "b": h.BIRCH_ID},
        )
    before = _dump(engine, h.ACME_ID)
    with pytest.raises(db.DatabaseError) as caught:
        closing.close_account(engine, h.sign_in(engine, h.OWNER), "Acme Realty", h.PASSWORDS[h.OWNER])
    assert str(caught.value) == (
        "1 row of contact outside this account refers to its member rows (the data is damaged); nothing was deleted"
    )
    assert _dump(engine, h.ACME_ID) == before  # as it was, the account open (status active)


def test_postgresql_a_commit_after_the_close_s_snapshot_does_not_disturb_it(request, monkeypatch) -> None:
    """The backup is read in phase (b) from a REPEATABLE READ snapshot whose only writes are the
    backup's own rows; a commit elsewhere after that snapshot (here: a member row updated) makes
    no serialization failure, and the close succeeds at the first try."""
    from crm_tui.services import backups, closing

    server = request.getfixturevalue("postgres_server")
    name = f"locks_{uuid.uuid4().hex[:12]}"
    server.psql(f"CREATE DATABASE {name}")
    place = Backend("postgresql", server.url(name), {"CRM_TUI_DATABASE_URL": server.url(name)})
    engine = _engine(place, contacts=10)
    owner = h.sign_in(engine, h.OWNER)
    writes = []
    real_write = backups.write

    def write_then_overtake(conn, account_id, created_at, **kw):
        pending = real_write(conn, account_id, created_at, **kw)
        writes.append(pending)
        with engine.begin() as other:  # another session commits after the close's snapshot
            other.execute(text("UPDATE member SET failed_logins = 1 WHERE email = :e"), {"e": h.PLAYER})
        return pending

    monkeypatch.setattr(backups, "write", write_then_overtake)
    receipt = closing.close_account(engine, owner, "Acme Realty", h.PASSWORDS[h.OWNER])
    assert len(writes) == 1
    assert receipt.counts["team_members"] == 3
    restored = closing.restore(engine, h.OWNER)
    assert restored.counts == receipt.counts


def _pg_engine(request, contacts: int = 10):
    server = request.getfixturevalue("postgres_server")
    name = f"locks_{uuid.uuid4().hex[:12]}"
    server.psql(f"CREATE DATABASE {name}")
    return _engine(Backend("postgresql", server.url(name), {}), contacts=contacts)


def _damage(conn) -> tuple[int, int]:
    """A Birch Books history entry made to point at an Acme contact: its id and its own contact."""
    row, own = conn.execute(
        text("SELECT id, contact_id FROM history_entry WHERE account_id != :a AND contact_id IS NOT NULL ORDER BY id"),
        {"a": h.ACME_ID},
    ).first()
    conn.execute(
        text("UPDATE history_entry SET contact_id = (SELECT min(id) FROM contact WHERE account_id = :a) WHERE id = :h"),
        {"a": h.ACME_ID, "h": row},
    )
    return row, own


def test_postgresql_the_reference_check_reads_the_backup_s_snapshot(request, monkeypatch) -> None:
    """On PostgreSQL the reference check runs on a connection of its own, beside the backup: it
    reads the backup's snapshot. Damaged data repaired by another session after that snapshot
    was taken is still what the check sees, so the close is refused and nothing is deleted (in
    a snapshot of its own, the check would pass while the backup held the damaged rows)."""
    from crm_tui import db
    from crm_tui.services import closing

    engine = _pg_engine(request)
    with engine.begin() as conn:
        row, own = _damage(conn)
    before = _dump(engine, h.ACME_ID)
    real_check = closing.check_outside_references
    repaired = []

    def repair_then_check(conn, account_id: int) -> None:
        with engine.begin() as other:  # committed after the close's snapshot, before the check reads
            other.execute(text("UPDATE history_entry SET contact_id = :c WHERE id = :h"), {"c": own, "h": row})
        repaired.append(True)
        real_check(conn, account_id)

    monkeypatch.setattr(closing, "check_outside_references", repair_then_check)
    with pytest.raises(db.DatabaseError) as caught:
        closing.close_account(engine, h.sign_in(engine, h.OWNER), "Acme Realty", h.PASSWORDS[h.OWNER])
    assert repaired == [True]
    assert str(caught.value) == (
        "1 row of history_entry outside this account refers to its contact rows (the data is damaged); "
        "nothing was deleted"
    )
    assert _dump(engine, h.ACME_ID) == before
    assert engine.pool.checkedout() == 0


@pytest.mark.parametrize("probe", [True, False], ids=["index-probes", "scan"])
@pytest.mark.parametrize("damage", ["history", "two-history", "owner"])
def test_postgresql_the_reference_check_finds_the_same_rows_either_way(request, monkeypatch, probe, damage) -> None:
    """The check reads a reference in one of two ways (chosen by the tables' sizes): through the
    referring column's index for each of the account's rows, or by scanning the referring table.
    Both find and count the same damaged rows."""
    from crm_tui import db
    from crm_tui.services import closing

    engine = _pg_engine(request)
    with engine.begin() as conn:
        if damage == "owner":  # a Birch Books contact owned by an Acme member
            conn.execute(
                text(
                    "UPDATE contact SET owner_id = (SELECT min(id) FROM member WHERE account_id = :a) "
                    "WHERE id = (SELECT min(id) FROM contact WHERE account_id = :b)"
                ),
                {"a": h.ACME_ID, "b": h.BIRCH_ID},
            )
        elif damage == "history":
            _damage(conn)
        else:  # and another Birch Books entry, about another Acme contact
            _damage(conn)
            conn.execute(
                text(
                    "INSERT INTO history_entry (account_id, contact_id, member_id, kind, at, summary) "
                    "SELECT :b, (SELECT max(id) FROM contact WHERE account_id = :a), "
                    "(SELECT min(id) FROM member WHERE account_id = :b), 'note', now(), 'stray'"
                ),
                {"a": h.ACME_ID, "b": h.BIRCH_ID},
            )
    monkeypatch.setattr(closing, "_probe_each", lambda conn, own_rows, other: probe)
    expected = {
        "history": "1 row of history_entry outside this account refers to its contact rows",
        "two-history": "2 rows of history_entry outside this account refer to its contact rows",
        "owner": "1 row of contact outside this account refers to its member rows",
    }[damage]
    with engine.connect() as conn, pytest.raises(db.DatabaseError) as caught:
        closing.check_outside_references(conn, h.ACME_ID)
    assert str(caught.value) == f"{expected} (the data is damaged); nothing was deleted"
    with engine.connect() as conn:  # no row outside Birch Books refers to its rows: it passes both ways
        closing.check_outside_references(conn, h.BIRCH_ID)


def test_postgresql_the_reference_check_of_a_small_account_reads_its_own_rows_only(request) -> None:
    """On a server that other, larger accounts share, the check of a small account looks up the
    rows that refer to its own through their indexes: no referring table is scanned whole, so
    its time follows the account's size, not the database's (the planner alone scans them)."""
    import pg_neighbour
    from sqlalchemy import event

    from crm_tui.services import closing

    engine = _pg_engine(request, contacts=50)
    with engine.begin() as conn:  # Birch Books grows to 40,000 history entries and to-dos
        birch = conn.execute(text("SELECT count(*) FROM contact WHERE account_id = :b"), {"b": h.BIRCH_ID}).scalar()
        for sql in pg_neighbour.GROW:
            conn.exec_driver_sql(sql, {"each": 40000 // birch, "account": h.BIRCH_ID})
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE"))
    statements: list[str] = []
    with engine.connect() as conn:
        event.listen(conn, "before_cursor_execute", lambda *args: statements.append(args[2] % args[3]))
        closing.check_outside_references(conn, h.ACME_ID)
    plans = {}
    with engine.connect() as conn:
        for sql in statements:
            if "pg_class" not in sql:
                plans[sql] = "\n".join(conn.execute(text(f"EXPLAIN {sql}")).scalars())
    grown = [sql for sql in plans if "FROM history_entry" in sql or "FROM todo" in sql]
    assert len(grown) >= 4, plans  # history and to-dos refer to contacts and to members
    for sql in grown:
        assert "Seq Scan on history_entry" not in plans[sql] and "Seq Scan on todo" not in plans[sql], plans[sql]


def test_postgresql_a_backup_that_fails_cancels_the_reference_check_beside_it(request, monkeypatch) -> None:
    """The backup fails while the reference check beside it is still running: the check's
    statement is cancelled, its thread has ended and its connection is back in the pool when the
    close reports the backup's error, and the account is open with every row."""
    import threading

    from crm_tui.services import backups, closing

    engine = _pg_engine(request)
    before = _dump(engine, h.ACME_ID)
    started = threading.Event()
    heard: list[str] = []

    def slow_check(conn, account_id: int) -> None:
        started.set()
        try:
            conn.execute(text("SELECT pg_sleep(600)"))
        except Exception as exc:
            heard.append(str(exc))
            raise

    def failing_write(conn, account_id, created_at, **kw):
        assert started.wait(30)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(closing, "check_outside_references", slow_check)
    monkeypatch.setattr(backups, "write", failing_write)
    with pytest.raises(OSError, match="No space left on device"):
        closing.close_account(engine, h.sign_in(engine, h.OWNER), "Acme Realty", h.PASSWORDS[h.OWNER])
    assert len(heard) == 1 and "canceling statement due to user request" in heard[0], heard
    assert not [t for t in threading.enumerate() if t.name == "crm-tui-reference-check"]
    assert engine.pool.checkedout() == 0
    assert _dump(engine, h.ACME_ID) == before
    with engine.connect() as conn:
        assert conn.execute(text("SELECT status FROM account WHERE id = :a"), {"a": h.ACME_ID}).scalar() == "active"


def _limited_role(request, engine, limit: int, owns: tuple[str, ...] = ()):
    """An engine on ``engine``'s database as a role that may hold ``limit`` connections at once
    (the server's connection limit reached, as far as this role can tell)."""
    from crm_tui import db

    server = request.getfixturevalue("postgres_server")
    name = engine.url.database
    role = f"solo_{name[-12:]}"
    server.psql(f"CREATE ROLE {role} LOGIN CONNECTION LIMIT {limit}", name)
    server.psql(f"GRANT ALL ON ALL TABLES IN SCHEMA public TO {role}", name)
    server.psql(f"GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO {role}", name)
    for table in owns:
        server.psql(f'ALTER TABLE "{table}" OWNER TO {role}', name)
    engine.dispose()
    return db.get_engine(server.url(name).replace("postgres@", f"{role}@"), migrate=False)


def test_postgresql_a_close_with_no_connection_to_spare_does_its_work_on_those_it_has(request) -> None:
    """The close runs its reference check, a second deleter and a second VACUUM on connections
    of their own when it can have them. A role that may hold only two at once (the close's own
    and the one holding its advisory lock): the check and the deletes run on the close's one,
    and the close succeeds; its backup restores every row."""
    from crm_tui.services import closing

    limited = _limited_role(request, _pg_engine(request), 2)
    try:
        before = _dump(limited, h.ACME_ID, skip=("member",))
        receipt = closing.close_account(limited, h.sign_in(limited, h.OWNER), "Acme Realty", h.PASSWORDS[h.OWNER])
        assert sum(receipt.counts.values()) > 0
        with limited.connect() as conn:
            assert (
                conn.execute(text("SELECT count(*) FROM contact WHERE account_id = :a"), {"a": h.ACME_ID}).scalar() == 0
            )
        closing.restore(limited, h.OWNER)
        assert _dump(limited, h.ACME_ID, skip=("member",)) == before
    finally:
        limited.dispose()


def test_postgresql_a_vacuum_with_no_connection_to_spare_vacuums_every_table_on_one(request) -> None:
    """db.checkpoint splits the tables over two connections when it can; with one to be had,
    it vacuums them all on that one, and says so."""
    from crm_tui import db

    limited = _limited_role(request, _pg_engine(request), 1, owns=("contact", "todo", "invoice"))
    try:
        scrub = db.checkpoint(limited, ["contact", "todo", "invoice"])
    finally:
        limited.dispose()
    assert scrub and scrub.text == "vacuumed 3 tables"


def test_two_restores_of_one_account_from_two_processes(place: Backend) -> None:
    """Support restores twice at once (two terminals): the tombstone's lock lets one in; the
    other is told the account has been restored already, and nothing is restored twice."""
    from crm_tui.services import closing

    engine = _engine(place, contacts=10)
    before = _dump(engine, h.ACME_ID, skip=("member",))
    closing.close_account(engine, h.sign_in(engine, h.OWNER), "Acme Realty", h.PASSWORDS[h.OWNER])
    env = {**os.environ, **place.env, "PYTHONPATH": str(ROOT / "src")}
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "crm_tui", "admin", "restore", "--email", h.OWNER],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outcomes = sorted((p.wait(timeout=120), p.stdout.read(), p.stderr.read()) for p in procs)
    (ok, ok_out, _), (refused, _, refusal) = outcomes
    assert ok == 0 and ok_out.startswith("Restored Acme Realty"), outcomes
    assert refused != 0 and refusal == "crm-tui: that account has been restored already\n", outcomes
    assert _dump(engine, h.ACME_ID, skip=("member",)) == before
    assert _audit_ok(engine)


def test_postgresql_a_write_waits_for_the_account_lock_then_fails_as_busy(request, monkeypatch) -> None:
    """A transaction that holds the account's lock and never ends does not hang the others: they
    wait a bounded time (here shortened), then fail as busy, in words."""
    from crm_tui.services import locks, profile
    from crm_tui.services.errors import message

    server = request.getfixturevalue("postgres_server")
    name = f"locks_{uuid.uuid4().hex[:12]}"
    server.psql(f"CREATE DATABASE {name}")
    engine = _engine(Backend("postgresql", server.url(name), {}), contacts=10)
    admin = h.sign_in(engine, h.ADMIN)
    monkeypatch.setattr(locks, "LOCK_TIMEOUT_MS", 300)
    with engine.connect() as holder:
        holder.execute(text("SELECT id FROM account WHERE id = :a FOR UPDATE"), {"a": h.ACME_ID})
        started = time.monotonic()
        with pytest.raises(Exception) as caught:
            profile.set_time_zone(engine, admin, "Europe/Paris")
        waited = time.monotonic() - started
        holder.rollback()
    assert 0.3 <= waited < 10
    assert message(caught.value) == "the database is busy or unavailable; please try again"
    assert profile.set_time_zone(engine, admin, "Europe/Paris").name == "Europe/Paris"  # once it is free
