"""Append-only, hash-chained audit log. Rows hold ids and counts, never personal data.

Appends are serialised so the chain never forks: each one first locks the chain's head, a row
of the ``setting`` table (``audit.head``, holding the newest event's hash), reads the newest
event, appends after it and writes the head again (:func:`lock_head`). On SQLite the write
transaction's BEGIN IMMEDIATE already lets one writer in at a time; on PostgreSQL the head's
row lock queues the appenders, and a repeatable-read transaction (the close's) that a
concurrent append overtook gets a serialization failure there instead of a stale head. In the
lock order (:mod:`crm_tui.services.locks`) the head comes after the account's row."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import select, text, update
from sqlalchemy.orm import Session
from sqlmodel import col

from crm_tui.models import AuditEvent
from crm_tui.services import clock

GENESIS = "0" * 64
HEAD_KEY = "audit.head"


def lock_head(s: Session) -> None:
    """Lock the chain's head for the rest of the caller's write transaction (made on first
    use, so databases from before it need no migration). Taking it again is harmless."""
    from crm_tui.tables import setting as t

    conn = s.connection()
    head = select(t.c.value).where(t.c.key == HEAD_KEY).with_for_update()
    if conn.execute(head).first() is None:
        conn.execute(
            text("INSERT INTO setting (key, value) VALUES (:k, :v) ON CONFLICT (key) DO NOTHING"),
            {"k": HEAD_KEY, "v": GENESIS},
        )
        conn.execute(head).first()


def _digest(prev_hash: str, at: datetime, actor: str, action: str, account_id, details_json: str) -> str:
    payload = json.dumps(
        [prev_hash, at.isoformat(), actor, action, account_id, details_json],
        separators=(",", ":"),
        ensure_ascii=True,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def append(
    s: Session,
    action: str,
    *,
    actor: str,
    account_id: int | None,
    details: dict | None = None,
    at: datetime | None = None,
) -> AuditEvent:
    """Append an event inside the caller's (write) transaction, holding the chain's head."""
    from crm_tui.tables import setting

    # hashed as stored: UTC, whole seconds (an event given in another zone would not verify)
    at = (at or clock.now()).astimezone(timezone.utc).replace(microsecond=0)
    lock_head(s)
    prev = s.execute(select(col(AuditEvent.hash)).order_by(col(AuditEvent.id).desc()).limit(1)).scalar()
    prev = prev or GENESIS
    details_json = json.dumps(details or {}, sort_keys=True, separators=(",", ":"))
    event = AuditEvent(
        at=at,
        actor=actor,
        action=action,
        account_id=account_id,
        details_json=details_json,
        prev_hash=prev,
        hash=_digest(prev, at, actor, action, account_id, details_json),
    )
    s.add(event)
    s.flush()
    s.execute(update(setting).where(setting.c.key == HEAD_KEY).values(value=event.hash))
    return event


@dataclass
class ChainReport:
    events: int
    ok: bool
    first_bad_id: int | None = None


def verify(s: Session) -> ChainReport:
    prev = GENESIS
    count = 0
    for ev in s.execute(select(AuditEvent).order_by(col(AuditEvent.id))).scalars():
        count += 1
        expected = _digest(prev, ev.at, ev.actor, ev.action, ev.account_id, ev.details_json)
        if ev.prev_hash != prev or ev.hash != expected:
            return ChainReport(count, False, ev.id)
        prev = ev.hash
    return ChainReport(count, True)


def operator() -> str:
    """The actor of an ``admin`` command: the operating-system user running it (the
    effective uid's name, which the environment cannot change), as ``operator:<name>``."""
    import os

    try:
        import pwd

        name = pwd.getpwuid(os.geteuid()).pw_name
    except (ImportError, KeyError, AttributeError):  # no pwd module (Windows) or no passwd entry
        import getpass

        try:
            name = getpass.getuser()
        except Exception:
            name = f"uid-{os.getuid()}" if hasattr(os, "getuid") else "unknown"
    return f"operator:{name}"


def actor_of(member_id: int | None) -> str:
    return f"member:{member_id}" if member_id is not None else "support"
