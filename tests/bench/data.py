"""Benchmark databases, built fast and cached.

The schema comes from the app's own migrations (``db.get_engine``); the rows are written with
stdlib ``sqlite3`` ``executemany`` in the exact formats the app stores (timestamps as
``YYYY-MM-DD HH:MM:SS.ffffff`` UTC, dates ISO, booleans 0/1, text never NULL).

Every database holds ten "other" accounts of 10 000 contacts (built once into ``base.sqlite3``
and copied) plus one measured account. Each contact has five child rows: one appointment,
one to-do, two history entries and one text message.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import sys
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

PASSWORD = "bench-password"
OTHERS = 10
OTHER_CONTACTS = 10_000
CHILDREN_PER_CONTACT = 5
FORMAT_TAG = "v1"  # bump when the generated data changes, to rebuild caches

FIRST = (
    "James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara "
    "Richard Susan Joseph Jessica Zoë José Björn Chloé Aisha Kenji Olusegun Mateo"
).split()
LAST = (
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Müller "
    "O'Brien Kowalski Okafor Tanaka Johansson Dubois Rossi Novak Nguyen Lee Walker"
).split()
CITIES = (
    ("Austin", "TX", "787"),
    ("Denver", "CO", "802"),
    ("Portland", "OR", "972"),
    ("Raleigh", "NC", "276"),
    ("Boise", "ID", "837"),
    ("Madison", "WI", "537"),
)
T0 = datetime(2023, 1, 1, 9, 0)


def _ts(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%d %H:%M:%S.%f")


@dataclass(frozen=True)
class Built:
    path: Path
    account_id: int
    owner_email: str
    account_name: str
    contacts: int


def owner_email(label: str) -> str:
    return f"owner-{label}@bench.example"


def account_name(label: str) -> str:
    return f"Bench {label.title()} Co"


def _hash() -> str:
    from crm_tui.services.auth import hash_password

    return hash_password(PASSWORD)


def _create_schema(path: Path) -> None:
    from crm_tui import db
    from crm_tui.services import billing

    url = f"sqlite:///{path}"
    engine = db.get_engine(url)
    with db.write_session(engine) as s:
        billing.ensure_plans(s.connection())
    db.checkpoint(engine)
    engine.dispose()
    db._engines.pop(url, None)


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = OFF")
    return conn


def add_account(conn: sqlite3.Connection, label: str, contacts: int, password_hash: str) -> int:
    """One account with three members, ``contacts`` contacts and five children per contact."""
    cur = conn.cursor()
    plan_id = cur.execute("SELECT id FROM plan ORDER BY id LIMIT 1").fetchone()[0]
    name = account_name(label)
    created = _ts(T0)
    cur.execute(
        "INSERT INTO account (name, slug, plan_id, status, created_at, card_brand, card_last4,"
        " card_expiry, billing_day) VALUES (?, ?, ?, 'active', ?, 'Visa', '4242', '12/30', 3)",
        (name, name.lower().replace(" ", "-"), plan_id, created),
    )
    acc = cur.lastrowid
    members = []
    for email, mname, role in (
        (owner_email(label), f"Owner {label}", "owner"),
        (f"admin-{label}@bench.example", f"Admin {label}", "administrator"),
        (f"player-{label}@bench.example", f"Player {label}", "team player"),
    ):
        cur.execute(
            "INSERT INTO member (account_id, email, name, role, password_hash, created_at,"
            " failed_logins) VALUES (?, ?, ?, ?, ?, ?, 0)",
            (acc, email, mname, role, password_hash, created),
        )
        members.append(cur.lastrowid)

    def contact_rows():
        for i in range(contacts):
            first, last = FIRST[i % len(FIRST)], LAST[(i * 7) % len(LAST)]
            city, state, zip3 = CITIES[i % len(CITIES)]
            yield (
                acc,
                members[i % 3],
                first,
                last,
                "Harbor Homes" if i % 3 == 0 else "",
                f"{first}.{last}{i}@example.com".lower(),
                "",
                f"+1 (512) 555-{i % 10000:04d}",
                i % 2,
                "",
                0,
                "",
                0,
                "",
                0,
                f"{10 + i % 9000} Maple St",
                city,
                state,
                f"{zip3}{i % 100:02d}",
                "USA",
                (date(1950 + i % 50, 1 + i % 12, 1 + i % 28).isoformat() if i % 3 == 0 else None),
                "Buyer" if i % 2 else "Lead",
                "",
                "Met at an open house." if i % 2 == 0 else "",
                _ts(T0 + timedelta(minutes=i)),
            )

    cur.executemany(
        "INSERT INTO contact (account_id, owner_id, first_name, last_name, company, email, email2,"
        " phone1, phone1_text_ok, phone2, phone2_text_ok, phone3, phone3_text_ok, phone4,"
        " phone4_text_ok, street, city, state, postal_code, country, birthday, category1,"
        " category2, notes, created_at) VALUES (" + ",".join("?" * 25) + ")",
        contact_rows(),
    )
    first_cid = cur.execute("SELECT min(id) FROM contact WHERE account_id = ?", (acc,)).fetchone()[0]
    cids = range(first_cid, first_cid + contacts)

    def appointments():
        for k, cid in enumerate(cids):
            start = T0 + timedelta(days=k % 1200, hours=k % 8)
            yield (
                acc,
                members[k % 3],
                cid,
                f"Showing at {k} Oak Ave",
                _ts(start),
                _ts(start + timedelta(minutes=45)),
                "blue",
            )

    def todos():
        for k, cid in enumerate(cids):
            due = (T0 + timedelta(days=k % 1200)).date()
            closed = k % 3 == 0
            yield (
                acc,
                members[k % 3],
                cid,
                f"Call back #{k}",
                "See history." if k % 2 else "",
                (1, 3, 5)[k % 3],
                due.isoformat(),
                "Phone Call",
                "closed" if closed else "open",
                _ts(T0 + timedelta(days=k % 1200, hours=7)) if closed else None,
            )

    def history():
        for k, cid in enumerate(cids):
            for j in range(2):
                yield (
                    acc,
                    cid,
                    members[(k + j) % 3],
                    ("call", "note")[j],
                    _ts(T0 + timedelta(days=k % 1000, minutes=j)),
                    f"Talked about timing ({k}/{j}); wants to list in spring.",
                )

    def texts():
        for k, cid in enumerate(cids):
            yield (
                acc,
                cid,
                ("out", "in")[k % 2],
                f"+1 (737) 555-{k % 10000:04d}",
                f"Hi, checking in about the listing #{k}",
                _ts(T0 + timedelta(hours=k)),
            )

    cur.executemany(
        "INSERT INTO appointment (account_id, owner_id, contact_id, description, start,"
        ' "end", colour) VALUES (?,?,?,?,?,?,?)',
        appointments(),
    )
    cur.executemany(
        "INSERT INTO todo (account_id, assignee_id, contact_id, summary, details, priority,"
        " due, category, status, completed_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
        todos(),
    )
    cur.executemany(
        "INSERT INTO history_entry (account_id, contact_id, member_id, kind, at, summary) VALUES (?,?,?,?,?,?)",
        history(),
    )
    cur.execute(
        "INSERT INTO messages_service (account_id, phone_number, status, monthly_fee_cents,"
        " activated_at) VALUES (?, '+1 (512) 555-0100', 'active', 2500, ?)",
        (acc, created),
    )
    cur.executemany(
        "INSERT INTO text_message (account_id, contact_id, direction, phone, body, sent_at) VALUES (?,?,?,?,?,?)",
        texts(),
    )
    templates = []
    for t in range(8):
        cur.execute(
            "INSERT INTO email_template (account_id, name, subject, body) VALUES (?,?,?,?)",
            (acc, f"Template {t}", f"Subject {t}", f"<p>Hello {{first_name}}, #{t}</p>"),
        )
        templates.append(cur.lastrowid)
    for r in range(3):
        cur.execute("INSERT INTO autoresponder (account_id, name, active) VALUES (?,?,1)", (acc, f"Sequence {r}"))
        rid = cur.lastrowid
        cur.executemany(
            "INSERT INTO autoresponder_step (account_id, autoresponder_id, position, delay,"
            " unit, template_id) VALUES (?,?,?,?, 'days', ?)",
            [(acc, rid, p + 1, p * 3, templates[(r + p) % 8]) for p in range(3)],
        )
    cur.executemany(
        "INSERT INTO invoice (account_id, number, issued_on, description, amount_cents,"
        " status) VALUES (?,?,?,?,?, 'paid')",
        [(acc, f"INV-{acc:04d}-{m:02d}", date(2025, m, 1).isoformat(), "Plan", 4900) for m in range(1, 13)],
    )
    return acc


def _finish(conn: sqlite3.Connection) -> None:
    conn.execute("ANALYZE")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


def build_base(folder: Path, password_hash: str, others: int, other_contacts: int) -> Path:
    path = folder / f"base-{others}x{other_contacts}-{FORMAT_TAG}.sqlite3"
    if path.exists():
        return path
    tmp = path.with_suffix(".building")
    tmp.unlink(missing_ok=True)
    _create_schema(tmp)
    conn = _connect(tmp)
    conn.execute("BEGIN")
    for n in range(others):
        add_account(conn, f"other{n + 1}", other_contacts, password_hash)
    conn.execute("COMMIT")
    _finish(conn)
    os.replace(tmp, path)
    return path


def build(
    folder: Path,
    label: str,
    contacts: int,
    *,
    others: int = OTHERS,
    other_contacts: int = OTHER_CONTACTS,
    alone: bool = False,
) -> Built:
    """The database for ``label``: a cached, pristine file (callers copy it before writing)."""
    folder.mkdir(parents=True, exist_ok=True)
    suffix = "alone" if alone else f"{others}x{other_contacts}"
    path = folder / f"{label}-{contacts}-{suffix}-{FORMAT_TAG}.sqlite3"
    if not path.exists():
        t = datetime.now()
        password_hash = _hash()
        tmp = path.with_suffix(".building")
        tmp.unlink(missing_ok=True)
        if alone:
            _create_schema(tmp)
        else:
            shutil.copyfile(build_base(folder, password_hash, others, other_contacts), tmp)
        conn = _connect(tmp)
        conn.execute("BEGIN")
        add_account(conn, label, contacts, password_hash)
        conn.execute("COMMIT")
        _finish(conn)
        os.replace(tmp, path)
        print(f"  built {path.name} in {(datetime.now() - t).total_seconds():.1f} s", file=sys.stderr)
    conn = sqlite3.connect(path)
    acc = conn.execute(
        "SELECT a.id FROM account a JOIN member m ON m.account_id = a.id WHERE m.email = ?", (owner_email(label),)
    ).fetchone()[0]
    conn.close()
    return Built(path, acc, owner_email(label), account_name(label), contacts)


def copy(built: Built, dest: Path) -> Built:
    """A private copy of a pristine database (destructive runs work on copies).

    The copy is flushed to disk before it is used: otherwise the first fsync of a measured
    run (the checkpoint after a close) would also write back the whole fresh copy, a cost
    that grows with the file rather than with the work, and that no real database has."""
    for suffix in ("", "-wal", "-shm"):
        Path(str(dest) + suffix).unlink(missing_ok=True)
    shutil.copyfile(built.path, dest)
    fd = os.open(dest, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    return Built(dest, built.account_id, built.owner_email, built.account_name, built.contacts)
