"""Command-line login sessions (``crm-tui login``), as ``gh auth login`` keeps one.

``login`` checks the password once and hands back a random token; the database keeps only its
SHA-256 (the token has 256 random bits, so a plain hash is enough and lets a lookup use the
index). A session ends after :data:`IDLE` without use, with ``crm-tui logout``, when its member
revokes it in My Account, and when the member leaves or is removed (the row cascades) or the
account closes. A session stands in for the password only for non-destructive commands: the
destructive ones always ask for the password again (README.md, "Who is acting").
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.engine import Connection, Engine

from crm_tui import db
from crm_tui.services import clock, errors, locks
from crm_tui.services.auth import SignedIn
from crm_tui.services.errors import AuthenticationFailed, NotFound

IDLE = timedelta(hours=12)
# A session's last use is written at most this often: a run of read commands does not write
# the database each time (and a read-only database can still be read with a session).
TOUCH_EVERY = timedelta(minutes=1)


def _table():
    from crm_tui.models import CliSession

    return CliSession.__table__


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create(engine: Engine, who: SignedIn, label: str = "", now: datetime | None = None) -> str:
    """A new session for ``who`` (whose password was just checked); returns its token. The
    member's sessions that have expired are deleted on the way."""
    now = now or clock.now()
    token = secrets.token_urlsafe(32)
    t = _table()
    with db.write_connection(engine) as conn:
        locks.lock_account(conn, who.account_id)
        _still_there(conn, who)
        conn.execute(delete(t).where(t.c.member_id == who.member_id, t.c.last_used_at <= now - IDLE))
        conn.execute(
            t.insert().values(
                member_id=who.member_id,
                token_hash=token_hash(token),
                label=label[:200],
                created_at=now,
                last_used_at=now,
            )
        )
    return token


def _still_there(conn: Connection, who: SignedIn) -> None:
    from crm_tui.services.auth import still_member

    if not still_member(conn, who):
        raise NotFound("your access to this account has ended", code=errors.ACCESS_ENDED)


@dataclass(frozen=True)
class Checked:
    session_id: int
    stale: bool  # its last use should be written (see TOUCH_EVERY)


def check(engine: Engine, token: str, member_id: int, now: datetime | None = None) -> Checked:
    """The session ``token`` names, if it is ``member_id``'s and has not expired; otherwise
    :class:`AuthenticationFailed` saying why. Reads only: :func:`touch` records the use."""
    now = now or clock.now()
    t = _table()
    with db.read_connection(engine) as conn:
        row = conn.execute(
            select(t.c.id, t.c.member_id, t.c.last_used_at).where(t.c.token_hash == token_hash(token))
        ).first()
    if row is None or row.member_id != member_id:
        raise AuthenticationFailed("not signed in", code=errors.NOT_SIGNED_IN)
    if row.last_used_at <= now - IDLE:
        raise AuthenticationFailed("the session has expired", code=errors.SESSION_EXPIRED)
    return Checked(row.id, stale=now - row.last_used_at >= TOUCH_EVERY)


def touch(engine: Engine, session_id: int, now: datetime | None = None) -> None:
    """Record that the session was used now (it then lasts :data:`IDLE` from now)."""
    t = _table()
    with db.write_connection(engine) as conn:
        conn.execute(update(t).where(t.c.id == session_id).values(last_used_at=now or clock.now()))


def end(engine: Engine, token: str) -> bool:
    """``crm-tui logout``: delete the session the token names. True if there was one."""
    t = _table()
    with db.write_connection(engine) as conn:
        return conn.execute(delete(t).where(t.c.token_hash == token_hash(token))).rowcount > 0


@dataclass(frozen=True)
class SessionRow:
    id: int
    label: str
    created_at: datetime
    last_used_at: datetime
    expires_at: datetime


def list_for(engine: Engine, who: SignedIn, now: datetime | None = None) -> list[SessionRow]:
    """``who``'s own live sessions, the most recently used first (for My Account)."""
    now = now or clock.now()
    t = _table()
    with db.read_connection(engine) as conn:
        _still_there(conn, who)
        rows = conn.execute(
            select(t.c.id, t.c.label, t.c.created_at, t.c.last_used_at)
            .where(t.c.member_id == who.member_id, t.c.last_used_at > now - IDLE)
            .order_by(t.c.last_used_at.desc(), t.c.id.desc())
        ).all()
    return [SessionRow(r.id, r.label, r.created_at, r.last_used_at, r.last_used_at + IDLE) for r in rows]


def revoke(engine: Engine, who: SignedIn, session_id: int) -> None:
    """End one of ``who``'s own sessions (My Account). Another member's is not found."""
    t = _table()
    with db.write_connection(engine) as conn:
        locks.lock_account(conn, who.account_id)
        _still_there(conn, who)
        gone = conn.execute(delete(t).where(t.c.id == session_id, t.c.member_id == who.member_id)).rowcount
    if not gone:
        raise NotFound("no such session of yours")


def end_for_account(conn: Connection, account_id: int) -> None:
    """Inside the close's transaction: end every session of the account's members."""
    from crm_tui.tables import member

    t = _table()
    conn.execute(delete(t).where(t.c.member_id.in_(select(member.c.id).where(member.c.account_id == account_id))))
