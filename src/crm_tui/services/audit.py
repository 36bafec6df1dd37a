"""Append-only, hash-chained audit log. Rows hold ids and counts, never personal data."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from crm_tui.models import AuditEvent
from crm_tui.services import clock

GENESIS = "0" * 64


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
    """Append an event inside the caller's (write) transaction."""
    # hashed as stored: UTC, whole seconds (an event given in another zone would not verify)
    at = (at or clock.now()).astimezone(timezone.utc).replace(microsecond=0)
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
