"""Searching the raw bytes of the database files for an account's personal strings."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path

from . import harness as h

# Text columns of the account's tables that hold personal data or the user's own writing.
PERSONAL = {
    "account": ("name", "slug"),
    "member": ("email", "name"),
    "contact": (
        "first_name",
        "last_name",
        "company",
        "email",
        "email2",
        "phone1",
        "phone2",
        "phone3",
        "phone4",
        "street",
        "notes",
    ),
    "email_template": ("name", "subject", "body"),
    "autoresponder": ("name",),
    "appointment": ("description",),
    "todo": ("summary", "details"),
    "history_entry": ("summary",),
    "messages_service": ("phone_number",),
    "text_message": ("phone", "body"),
    "invoice": ("number", "description"),
}
MIN_LEN = 6


def add_markers(place: h.Place, account_id: int = h.ACME_ID) -> None:
    """Rows whose text is certainly nowhere else: a long (overflow-page) note, a template
    body, a text message, a history entry, a to-do and an appointment."""
    from sqlalchemy import select

    from crm_tui import db
    from crm_tui.models import Appointment, Contact, EmailTemplate, HistoryEntry, Member, TextMessage, Todo

    h.use(place)
    engine = db.get_engine(place.url)
    at = datetime(2026, 3, 1, tzinfo=timezone.utc)
    with db.write_session(engine) as s:
        owner = s.execute(select(Member.id).where(Member.account_id == account_id, Member.role == "owner")).scalar_one()
        c = Contact(
            account_id=account_id,
            owner_id=owner,
            first_name="Quillon",
            last_name="Marchbanks-Zephyr",
            email="quillon.zephyr@unique-mail.example",
            phone1="+1 (555) 010-7788",
            notes="Private note about Quillon: " + "vault-code-7Q9X " * 400,
            created_at=at,
        )
        s.add(c)
        s.flush()
        s.add_all(
            [
                EmailTemplate(
                    account_id=account_id,
                    name="Zephyr welcome",
                    subject="Welcome Quillon",
                    body="<p>Secret template body ZXQ-4471</p>",
                ),
                TextMessage(
                    account_id=account_id,
                    contact_id=c.id,
                    direction="out",
                    phone="+1 (555) 010-7788",
                    body="Texting Quillon about lockbox 8841",
                    sent_at=at,
                ),
                HistoryEntry(
                    account_id=account_id,
                    contact_id=c.id,
                    member_id=owner,
                    kind="note",
                    at=at,
                    summary="Quillon mentioned the Hollowbrook estate",
                ),
                Todo(
                    account_id=account_id,
                    assignee_id=owner,
                    contact_id=c.id,
                    summary="Call Quillon re Hollowbrook",
                    details="Ask about the Tamsworth offer",
                ),
                Appointment(
                    account_id=account_id,
                    owner_id=owner,
                    contact_id=c.id,
                    description="Viewing Hollowbrook with Quillon",
                    start=at + timedelta(days=19),
                    end=at + timedelta(days=19, hours=1),
                    colour="blue",
                ),
            ]
        )
    db.checkpoint(engine)


def unique_strings(path: Path, account_id: int = h.ACME_ID) -> list[str]:
    """The account's personal strings (at least MIN_LEN characters) that appear nowhere in
    the rest of the database, so that finding one on disk can only mean a leak."""
    conn = h.connect(path)
    try:
        mine: set[str] = set()
        for table, cols in PERSONAL.items():
            key = "id" if table == "account" else "account_id"
            for row in conn.execute(f'SELECT {", ".join(cols)} FROM "{table}" WHERE {key} = ?', (account_id,)):
                mine.update(v for v in row if isinstance(v, str) and len(v) >= MIN_LEN)
        rest = []
        for table in h.table_names(conn):
            cols = [r[1] for r in conn.execute(f'PRAGMA table_info("{table}")')]
            where = ""
            if table == "account":
                where = f" WHERE id != {account_id}"
            elif "account_id" in cols and table in PERSONAL:
                where = f" WHERE account_id != {account_id}"
            for row in conn.execute(f'SELECT * FROM "{table}"{where}'):
                rest.extend(v for v in row if isinstance(v, str))
        rest.extend(r[0] or "" for r in conn.execute("SELECT sql FROM sqlite_master"))
        corpus = "\x00".join(rest)
        return sorted(s for s in mine if s not in corpus)
    finally:
        conn.close()


def files_of(path: Path) -> list[Path]:
    return [p for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")) if p.exists()]


def leaks(strings: list[str], files: list[Path]) -> dict[str, list[str]]:
    """Which strings each file's raw bytes contain (UTF-8, as SQLite stores text)."""
    found: dict[str, list[str]] = {}
    for f in files:
        data = f.read_bytes()
        hits = [s for s in strings if s.encode() in data]
        if hits:
            found[f.name] = hits
    return found


def create_with_secure_delete_off(path: Path) -> None:
    """A database file made by the sqlite3 tool's library with secure_delete off, before
    the app ever opens it."""
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA secure_delete = OFF")
    assert conn.execute("PRAGMA secure_delete").fetchone()[0] == 0
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("CREATE TABLE created_elsewhere (x TEXT)")
    conn.execute("INSERT INTO created_elsewhere VALUES ('made before crm-tui opened the file')")
    conn.commit()
    conn.close()
