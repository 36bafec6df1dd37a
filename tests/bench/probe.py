"""One measured operation in a fresh process: ``python -m tests.bench.probe OP ARGS…``.

Prints one JSON line: ``{"seconds": …, "maxrss_kib": …}``. The clock covers the operation
only (imports, engine and sign-in happen before it starts). App probes import the TUI too, so
their peak memory compares with the running app's.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import resource
import sqlite3
import sys
import time
import zipfile
import zlib
from pathlib import Path

# account tables, children before parents, and their archive members
TABLES = (
    "autoresponder_step",
    "autoresponder",
    "email_template",
    "appointment",
    "todo",
    "history_entry",
    "text_message",
    "invoice",
    "messages_service",
    "contact",
    "member",
)
INSERT_ORDER = (
    "member",
    "contact",
    "email_template",
    "autoresponder",
    "autoresponder_step",
    "appointment",
    "todo",
    "history_entry",
    "messages_service",
    "text_message",
    "invoice",
)
# export: one CSV per archive member; the view members (vcf, ics, html, summary) hold the
# rows of these tables again
EXPORT_MEMBERS = {
    "team.csv": "member",
    "contacts.csv": "contact",
    "email_templates.csv": "email_template",
    "autoresponders.csv": "autoresponder_step",
    "appointments.csv": "appointment",
    "todos.csv": "todo",
    "history.csv": "history_entry",
    "messages.csv": "text_message",
    "invoices.csv": "invoice",
    "contacts.vcf.csv": "contact",
    "appointments.ics.csv": "appointment",
    "todos.ics.csv": "todo",
    "email_templates.html.csv": "email_template",
}


def _report(seconds: float, **extra) -> None:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"seconds": seconds, "maxrss_kib": rss, **extra}))


def _raw(path: str) -> sqlite3.Connection:
    """A stdlib connection with the app's per-connection settings."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA secure_delete = ON")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA journal_mode = WAL")
    return conn


def _select(conn: sqlite3.Connection, table: str, account_id: int):
    key = "account_id" if table != "account" else "id"
    return conn.execute(f'SELECT * FROM "{table}" WHERE {key} = ? ORDER BY id', (account_id,))


# --- floors: stdlib sqlite3 -------------------------------------------------------------


def floor_close(db: str, account_id: int, out: str) -> None:
    conn = _raw(db)
    start = time.perf_counter()
    conn.execute("BEGIN IMMEDIATE")
    comp = zlib.compressobj(1)
    with open(out, "wb") as f:
        text = io.StringIO()
        w = csv.writer(text, lineterminator="\r\n")
        for table in ("account",) + TABLES:
            cur = _select(conn, table, account_id)
            w.writerow([d[0] for d in cur.description])
            while True:
                rows = cur.fetchmany(5000)
                if not rows:
                    break
                w.writerows(rows)
                f.write(comp.compress(text.getvalue().encode()))
                text.seek(0)
                text.truncate()
        f.write(comp.compress(text.getvalue().encode()))
        f.write(comp.flush())
        f.flush()
        os.fsync(f.fileno())
    conn.execute("DELETE FROM account WHERE id = ?", (account_id,))
    conn.execute("COMMIT")
    seconds = time.perf_counter() - start
    conn.close()
    _report(seconds)


def floor_export(db: str, account_id: int, out: str) -> None:
    conn = _raw(db)
    start = time.perf_counter()
    conn.execute("BEGIN")
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for member, table in EXPORT_MEMBERS.items():
            with zf.open(member, "w", force_zip64=True) as raw:
                text = io.TextIOWrapper(raw, encoding="utf-8", newline="")
                w = csv.writer(text, lineterminator="\r\n")
                cur = _select(conn, table, account_id)
                w.writerow([d[0] for d in cur.description])
                while True:
                    rows = cur.fetchmany(5000)
                    if not rows:
                        break
                    w.writerows(rows)
                text.flush()
                text.detach()
    conn.execute("COMMIT")
    seconds = time.perf_counter() - start
    conn.close()
    _report(seconds)


def floor_restore(db: str, account_id: int) -> None:
    conn = _raw(db)
    saved = {}
    for table in ("account",) + INSERT_ORDER:
        cur = _select(conn, table, account_id)
        saved[table] = ([d[0] for d in cur.description], cur.fetchall())
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("DELETE FROM account WHERE id = ?", (account_id,))
    conn.execute("COMMIT")
    start = time.perf_counter()
    conn.execute("BEGIN IMMEDIATE")
    for table in ("account",) + INSERT_ORDER:
        cols, rows = saved[table]
        names = ", ".join(f'"{c}"' for c in cols)
        conn.executemany(f'INSERT INTO "{table}" ({names}) VALUES ({", ".join("?" * len(cols))})', rows)
    conn.execute("COMMIT")
    seconds = time.perf_counter() - start
    conn.close()
    _report(seconds)


# --- floors: PostgreSQL's psql -------------------------------------------------------------


def _psql(psql: str, dsn: str, script: str, stdout=None):
    """``psql`` running ``script`` (one transaction when it says so), its stdout to ``stdout``."""
    import subprocess

    return subprocess.Popen(
        [psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", dsn, "-f", "-"],
        stdin=subprocess.PIPE,
        stdout=stdout if stdout is not None else subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    ), script.encode()


def _pg_copy_out(table: str, account_id: int) -> str:
    key = "account_id" if table != "account" else "id"
    return (
        f'\\copy (SELECT * FROM "{table}" WHERE {key} = {account_id} ORDER BY id) TO STDOUT WITH (FORMAT csv, HEADER)\n'
    )


def _pg_floor_out(psql: str, dsn: str, tables, account_id: int, out: str, tail: str = "") -> None:
    """``psql`` copying the tables' rows out as CSV (then ``tail``), in one transaction, its
    output compressed with zlib level 1 into a fsynced file as it comes."""
    import subprocess

    script = "BEGIN;\n" + "".join(_pg_copy_out(t, account_id) for t in tables) + tail + "COMMIT;\n"
    proc, text = _psql(psql, dsn, script, stdout=subprocess.PIPE)
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(text)
    proc.stdin.close()
    comp = zlib.compressobj(1)
    with open(out, "wb") as f:
        while chunk := proc.stdout.read(1 << 16):
            f.write(comp.compress(chunk))
        f.write(comp.flush())
        f.flush()
        os.fsync(f.fileno())
    if proc.wait() != 0:
        raise SystemExit(proc.stderr.read().decode() if proc.stderr else "psql failed")


def pg_floor_export(psql: str, dsn: str, account_id: int, out: str) -> None:
    """Every table an export reads (data and view members) through ``psql \\copy``."""
    start = time.perf_counter()
    _pg_floor_out(psql, dsn, EXPORT_MEMBERS.values(), account_id, out)
    _report(time.perf_counter() - start)


def pg_floor_close(psql: str, dsn: str, account_id: int, out: str) -> None:
    """Every row of the account out through ``psql \\copy`` (compressed, fsynced), then a
    plain ``DELETE … WHERE account_id`` per table, one transaction."""
    deletes = "".join(f'DELETE FROM "{t}" WHERE account_id = {account_id};\n' for t in TABLES)
    start = time.perf_counter()
    _pg_floor_out(
        psql, dsn, ("account",) + TABLES, account_id, out, deletes + f"DELETE FROM account WHERE id = {account_id};\n"
    )
    _report(time.perf_counter() - start)


def pg_floor_restore(psql: str, dsn: str, account_id: int, folder: str) -> None:
    """The account's rows saved with ``psql \\copy`` and deleted (untimed), then put back
    with ``psql \\copy … FROM``, one transaction."""

    tables = ("account",) + INSERT_ORDER
    save = (
        "".join(_pg_copy_out(t, account_id).replace("TO STDOUT", f"TO '{folder}/{t}.csv'") for t in tables)
        + f"DELETE FROM account WHERE id = {account_id};\n"
    )
    proc, text = _psql(psql, dsn, save)
    proc.communicate(text)
    if proc.returncode != 0:
        raise SystemExit("psql could not save the rows")
    load = (
        "BEGIN;\n"
        + "".join(f"\\copy \"{t}\" FROM '{folder}/{t}.csv' WITH (FORMAT csv, HEADER)\n" for t in tables)
        + "COMMIT;\n"
    )
    start = time.perf_counter()
    proc, text = _psql(psql, dsn, load)
    _out, err = proc.communicate(text)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(err.decode())
    _report(seconds)


# --- the app ------------------------------------------------------------------------------


def _app(db: str, email: str, password: str):
    import crm_tui.tui.app  # noqa: F401  (the app's own footprint, for peak memory)
    from crm_tui import db as dbm
    from crm_tui.services import auth
    from crm_tui.tui import app, launch

    engine = dbm.get_engine(db if "://" in db else f"sqlite:///{db}")  # a path, or a URL (PostgreSQL)
    who = auth.sign_in(engine, email, password)
    # as the app's process is by then: its code loaded, and settled by its entry point
    app._warm_up(launch.settle_process)
    return engine, who


def app_close(db: str, email: str, password: str, name: str) -> None:
    from crm_tui.services import closing

    engine, who = _app(db, email, password)
    start = time.perf_counter()
    receipt = closing.close_account(engine, who, name, password)
    seconds = time.perf_counter() - start
    _report(seconds, rows=sum(receipt.counts.values()))


def app_close_neighbour(db: str, email: str, password: str, name: str, other_email: str, other_password: str) -> None:
    """Close the account while another process, signed in to another account of the same
    database, writes one row every 50 ms and reads its dashboard every 50 ms. Reports the close's
    time, how long the account was still usable after the close was called (until phase (a)
    committed), and the neighbour's p99 write wait and longest read wait."""
    import json
    import subprocess
    import tempfile

    from crm_tui.services import closing

    engine, who = _app(db, email, password)
    with tempfile.TemporaryDirectory() as tmp:
        out, stop = Path(tmp) / "waits.json", Path(tmp) / "stop"
        neighbour = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.bench.probe",
                "neighbour",
                db,
                other_email,
                other_password,
                str(out),
                str(stop),
            ]
        )
        deadline = time.monotonic() + 60
        while not out.with_suffix(".ready").exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.5)  # a few quiet rounds before the close
        marks: dict[str, float] = {}
        start = time.perf_counter()
        closing._phase_hook = lambda at: marks.setdefault(at, time.perf_counter() - start)
        receipt = closing.close_account(engine, who, name, password)
        seconds = time.perf_counter() - start
        time.sleep(0.3)
        stop.touch()
        neighbour.wait(60)
        waits = json.loads(out.read_text())
    writes, reads = sorted(waits["write"]), sorted(waits["read"])
    _report(
        seconds,
        rows=sum(receipt.counts.values()),
        unusable=marks.get("marked"),
        write_p99=writes[max(0, int(len(writes) * 0.99) - 1)],
        write_max=writes[-1],
        read_max=reads[-1],
        writes=len(writes),
        reads=len(reads),
    )


def neighbour(db: str, email: str, password: str, out: str, stop: str) -> None:
    """The other account's member: one row written, then the dashboard read, every 50 ms each,
    until ``stop`` exists; the time each took, in seconds, to ``out`` (JSON)."""
    import json

    from sqlalchemy import insert

    from crm_tui import db as dbm
    from crm_tui import tables
    from crm_tui.services import auth, dashboard, locks

    engine = dbm.get_engine(f"sqlite:///{db}")
    who = auth.sign_in(engine, email, password)
    dashboard.dashboard(engine, who)
    Path(out).with_suffix(".ready").touch()
    waits: dict[str, list[float]] = {"write": [], "read": []}
    while not Path(stop).exists():
        t = time.perf_counter()
        with dbm.write_session(engine) as s:
            locks.lock_account(s, who.account_id)
            s.execute(
                insert(tables.todo).values(
                    account_id=who.account_id,
                    assignee_id=who.member_id,
                    summary="bench",
                    details="",
                    priority=3,
                    category="",
                    status="open",
                )
            )
        waits["write"].append(time.perf_counter() - t)
        time.sleep(0.05)
        t = time.perf_counter()
        dashboard.dashboard(engine, who)
        waits["read"].append(time.perf_counter() - t)
        time.sleep(0.05)
    Path(out).write_text(json.dumps(waits))


def app_export(db: str, email: str, password: str, out: str) -> None:
    from crm_tui.services import export

    engine, who = _app(db, email, password)
    start = time.perf_counter()
    result = export.export_account(engine, who, out_dir=out)
    seconds = time.perf_counter() - start
    _report(seconds, bytes=result.size)


def app_contacts_export(db: str, email: str, password: str, fmt: str, out: str) -> None:
    """Contacts → Group Actions → export all, in ``fmt`` (csv, vcf, google, outlook)."""
    from crm_tui.services import export

    engine, who = _app(db, email, password)
    start = time.perf_counter()
    result = export.export_contacts(engine, who, None, fmt, out_dir=out)
    seconds = time.perf_counter() - start
    _report(seconds, bytes=result.size)


def app_restore(db: str, email: str, password: str, name: str) -> None:
    from crm_tui.services import closing

    engine, who = _app(db, email, password)
    closing.close_account(engine, who, name, password)
    start = time.perf_counter()
    restored = closing.restore(engine, email)
    seconds = time.perf_counter() - start
    _report(seconds, rows=sum(restored.counts.values()))


def app_demo(url: str, contacts: int) -> None:
    """Both demo accounts seeded into an empty database (its schema made beforehand)."""
    import crm_tui.tui.app  # noqa: F401
    from crm_tui import db as dbm
    from crm_tui.services import demo

    engine = dbm.get_engine(url if "://" in url else f"sqlite:///{url}")
    start = time.perf_counter()
    demo.create(engine, contacts=contacts, seed=1)
    seconds = time.perf_counter() - start
    _report(seconds)


def app_first_page(db: str, email: str, password: str) -> None:
    """The Contacts key → first page, through the app when the Contacts screen exists."""
    try:
        import crm_tui.tui.screens.contacts  # noqa: F401
    except ImportError:
        screen = False
    else:
        screen = True
    if not screen:
        from crm_tui.services import records

        engine, who = _app(db, email, password)
        start = time.perf_counter()
        page = records.contacts_page(engine, who)
        seconds = time.perf_counter() - start
        _report(seconds, rows=len(page.rows), via="service")
        return
    asyncio.run(_first_page_in_app(db, email, password))


async def _first_page_in_app(db: str, email: str, password: str) -> None:
    from textual.widgets import DataTable

    from crm_tui.tui.app import CrmApp

    engine, who = _app(db, email, password)
    app = CrmApp(engine=engine)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        app.signed_in(who)
        for _ in range(500):
            await pilot.pause(0.01)
            if app.screen.__class__.__name__ == "MainScreen":
                break
        await pilot.pause(0.3)
        key = _contacts_key()
        start = time.perf_counter()
        await pilot.press(key)
        rows = 0
        while time.perf_counter() - start < 60:
            tables = app.screen.query(DataTable)
            rows = tables.first().row_count if tables else 0
            if rows:
                break
            await asyncio.sleep(0.002)
        await app.screen.wait_for_refresh() if hasattr(app.screen, "wait_for_refresh") else None
        seconds = time.perf_counter() - start
    _report(seconds, rows=rows, via="screen")


def _contacts_key() -> str:
    from crm_tui.tui.routes import ROUTES

    for c in ROUTES:
        if c.id == "contacts" and c.key:
            return c.key
    raise SystemExit("no key opens Contacts")


OPS = {
    "floor-close": floor_close,
    "floor-export": floor_export,
    "floor-restore": floor_restore,
    "app-close": app_close,
    "app-close-neighbour": app_close_neighbour,
    "neighbour": neighbour,
    "app-export": app_export,
    "app-contacts-export": app_contacts_export,
    "app-restore": app_restore,
    "app-first-page": app_first_page,
    "app-demo": app_demo,
    "pg-floor-export": pg_floor_export,
    "pg-floor-close": pg_floor_close,
    "pg-floor-restore": pg_floor_restore,
}

if __name__ == "__main__":
    op, *args = sys.argv[1:]
    fn = OPS[op]
    fn(*[int(a) if a.isdigit() else a for a in args])
