"""Sign-in, re-authentication, throttling and the role table.

Signing in, the password check and the session check are written against the Core clauses of
:mod:`crm_tui.tables`, not the ORM classes: they run before the app has loaded its models (see
that module). The functions that take a :class:`~sqlalchemy.orm.Session` load them on use."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select, update
from sqlalchemy.engine import Connection, Engine

from crm_tui import db, tables
from crm_tui.services import clock, errors, roles
from crm_tui.services.errors import (
    AccountClosed,
    AuthenticationFailed,
    InvalidInput,
    NotFound,
    PermissionDenied,
    Throttled,
)
from crm_tui.services.inputs import refuse_nul
from crm_tui.text import initials

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from crm_tui.models import Member

SUPPORT_EMAIL = "cases@allclients.com"

# --- the role table of the product: crm_tui.services.roles ----------------------------

ALL = roles.ALL
PERMISSIONS = roles.PERMISSIONS
REFUSALS = roles.REFUSALS


def can(role: str, action: str) -> bool:
    return roles.may(role, action)


def authorize(member: Member, action: str) -> None:
    if not roles.may(member.role, action):
        raise PermissionDenied(roles.refusal(action))


# --- passwords ---------------------------------------------------------------------

_SCRYPT = {"n": 2**14, "r": 8, "p": 1}
UNUSABLE_PASSWORD = "!"


def hash_password(password: str) -> str:
    salt = os.urandom(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, dklen=32, **_SCRYPT)
    b64 = base64.b64encode
    return f"scrypt${_SCRYPT['n']}${_SCRYPT['r']}${_SCRYPT['p']}${b64(salt).decode()}${b64(digest).decode()}"


def check_password(password: str, encoded: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = encoded.split("$")
        if scheme != "scrypt":
            return False
        got = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), dklen=32, n=int(n), r=int(r), p=int(p))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, base64.b64decode(digest))


MIN_PASSWORD_LENGTH = 8


def check_new_password(password: str, email: str = "") -> None:
    """Refuse a password a new owner chooses that is too short or is their email address."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(
            f"a password needs at least {MIN_PASSWORD_LENGTH} characters",
            code=errors.PASSWORD_TOO_WEAK,
            field="password",
        )
    if email and password.strip().lower() == normalise_email(email):
        raise InvalidInput("the password cannot be your email address", code=errors.PASSWORD_TOO_WEAK, field="password")


_DUMMY_HASH = "scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="


def _check_once(password: str, encoded: str) -> bool:
    """:func:`check_password`, spending one hash's work even when ``encoded`` is no hash (an
    unusable password), so an answer never comes sooner for one email than for another."""
    if not encoded.startswith("scrypt$"):
        check_password(password, _DUMMY_HASH)
        return False
    return check_password(password, encoded)


_EMAIL_PEPPER = b"crm-tui/owner-email/v1:"


def email_hash(email: str) -> str:
    """What a tombstone keeps of an email (its owner's, each member's): enough to find it,
    not to read it."""
    return hashlib.sha256(_EMAIL_PEPPER + normalise_email(email).encode()).hexdigest()


# --- throttling: after 5 wrong passwords in a row, a growing delay ---------------------

FREE_ATTEMPTS = 5
MAX_DELAY_S = 300.0


def delay_after(failures: int) -> float:
    """Seconds to wait before the next attempt, after ``failures`` wrong passwords in a row."""
    if failures < FREE_ATTEMPTS:
        return 0.0
    return min(MAX_DELAY_S, 2.0 ** (failures - FREE_ATTEMPTS + 1))


def _check_throttle(member: Any, now: datetime) -> None:
    """``member``: anything with ``failed_logins`` and ``last_failed_at`` (a row will do)."""
    wait = delay_after(member.failed_logins)
    if wait and member.last_failed_at is not None:
        remaining = (member.last_failed_at - now).total_seconds() + wait
        if remaining > 0:
            raise Throttled(f"too many wrong passwords; try again in {int(remaining) + 1} s", remaining)


def _verify(engine: Engine, member_id: int, password: str, now: datetime) -> None:
    """Check a password, counting failures in a transaction of its own (it must persist).

    The slow hash runs outside any transaction, so a sign-in never holds the write lock.
    Once the delay applies, an attempt is counted as failed *before* its hash is checked (and
    forgiven if the password is right): attempts started together cannot all pass the same
    open window, so the delay holds for parallel guessing too."""
    with db.read_connection(engine) as conn:
        member = _throttle_row(conn, member_id)
        _check_throttle(member, now)
        stored, failures = member.password_hash, member.failed_logins
    claimed = False
    if failures >= FREE_ATTEMPTS:
        with db.write_connection(engine) as conn:
            member = _throttle_row(conn, member_id)
            _check_throttle(member, now)
            _count_failure(conn, member_id, now)
            claimed = True
    ok = check_password(password, stored)
    if (ok and failures) or (not ok and not claimed):
        with db.write_connection(engine) as conn:
            _throttle_row(conn, member_id)
            if ok:
                m = tables.member
                conn.execute(update(m).where(m.c.id == member_id).values(failed_logins=0, last_failed_at=None))
            else:
                _count_failure(conn, member_id, now)
    if not ok:
        raise AuthenticationFailed("wrong password", code=errors.WRONG_PASSWORD, field="password")


def _throttle_row(conn: Connection, member_id: int):
    m = tables.member
    row = conn.execute(
        select(m.c.password_hash, m.c.failed_logins, m.c.last_failed_at).where(m.c.id == member_id)
    ).first()
    if row is None:
        raise AuthenticationFailed("wrong email or password", code=errors.WRONG_CREDENTIALS)
    return row


def _count_failure(conn: Connection, member_id: int, now: datetime) -> None:
    m = tables.member
    conn.execute(update(m).where(m.c.id == member_id).values(failed_logins=m.c.failed_logins + 1, last_failed_at=now))


@dataclass(frozen=True)
class SignedIn:
    member_id: int
    account_id: int
    email: str
    name: str
    role: str
    account_name: str
    time_zone: str = ""  # the member's IANA zone; "" for the machine's (see services.zones)

    @property
    def initials(self) -> str:
        return initials(self.name) or self.email[:1].upper()


def normalise_email(email: str) -> str:
    refuse_nul(email, "an email address", field="email")
    return email.strip().lower()


def find_member(s: Session, email: str) -> Member:
    from crm_tui.models import Member

    member = s.execute(select(Member).where(func.lower(Member.email) == normalise_email(email))).scalar_one_or_none()
    if member is None:
        raise NotFound(f"no active user with the email {email.strip()!r}")
    return member


def identity(s: Session, member: Member) -> SignedIn:
    from crm_tui.models import Account

    account = s.get(Account, member.account_id)
    assert member.id is not None and account is not None  # a stored member of a stored account
    return SignedIn(
        member.id, member.account_id, member.email, member.name, member.role, account.name, member.time_zone
    )


def sign_in(engine: Engine, email: str, password: str, now: datetime | None = None) -> SignedIn:
    now = now or clock.now()
    m, a = tables.member, tables.account
    with db.read_connection(engine) as conn:
        member_id = conn.execute(
            select(m.c.id).where(func.lower(m.c.email) == normalise_email(email))
        ).scalar_one_or_none()
        closed = None if member_id is not None else _closed_membership(conn, email)
        status, member_hash = None, None
        if member_id is not None:
            status, member_hash = conn.execute(
                select(a.c.status, m.c.password_hash)
                .join_from(m, a, a.c.id == m.c.account_id)
                .where(m.c.id == member_id)
            ).one()
            if status != "active":  # being closed, or closed with its rows still being deleted
                closed = _closed_membership(conn, email)
    if member_id is None or status not in (None, "active"):
        if status == "closing":
            if _check_once(password, member_hash or _DUMMY_HASH):
                raise AccountClosed(BEING_CLOSED)
        else:
            _refuse_if_closed(closed, password, now)
        raise AuthenticationFailed("wrong email or password", code=errors.WRONG_CREDENTIALS)
    try:
        _verify(engine, member_id, password, now)
    except Throttled:
        raise
    except AuthenticationFailed:
        raise AuthenticationFailed("wrong email or password", code=errors.WRONG_CREDENTIALS) from None
    with db.read_connection(engine) as conn:
        row = conn.execute(
            select(m.c.id, m.c.account_id, m.c.email, m.c.name, m.c.role, a.c.name.label("account_name"), m.c.time_zone)
            .join_from(m, a, a.c.id == m.c.account_id)
            .where(m.c.id == member_id)
        ).first()
    if row is None:  # removed in the moment since its password was checked
        raise AuthenticationFailed("wrong email or password", code=errors.WRONG_CREDENTIALS)
    return SignedIn(*row)


def sign_in_with_key(engine: Engine, member_id: int) -> SignedIn:
    """A session ``crm-tui serve`` started for the member whose SSH key completed
    authentication: the same identity :func:`sign_in` gives, without the password (the key
    stands for it). Refused, as a session check would say it, if the member is gone or their
    account is closed."""
    m, a = tables.member, tables.account
    with db.read_connection(engine) as conn:
        row = conn.execute(
            select(m.c.id, m.c.account_id, m.c.email, m.c.name, m.c.role, a.c.name.label("account_name"), m.c.time_zone)
            .join_from(m, a, a.c.id == m.c.account_id)
            .where(m.c.id == member_id, a.c.status == "active")
        ).first()
    if row is None:
        raise AuthenticationFailed("your access to this account has ended", code=errors.ACCESS_ENDED)
    return SignedIn(*row)


BEING_CLOSED = "This account is being closed by its owner. Signing in is no longer possible."


def _closed_membership(conn: Connection, email: str):
    """What the newest closed (not yet restored or purged) account keeps of a member with this
    email: password hash, when it was closed, until when it can be restored, whether that
    member was its owner. None if there is none."""
    cm, ca = tables.closed_member, tables.closed_account
    h = email_hash(email)
    return conn.execute(
        select(cm.c.password_hash, ca.c.closed_at, ca.c.restore_until, (ca.c.owner_email_hash == h).label("owner"))
        .join_from(cm, ca, ca.c.id == cm.c.closed_account_id)
        .where(cm.c.email_hash == h, ca.c.state == "closed")
        .order_by(ca.c.closed_at.desc())
        .limit(1)
    ).first()


def _refuse_if_closed(closed, password: str, now: datetime) -> None:
    """Raise :class:`AccountClosed` if ``closed`` (from :func:`_closed_membership`) is there and
    ``password`` is its member's. One password hash is checked either way (a made-up one when
    there is none), so timing doesn't tell which emails exist or existed, and only the right
    password learns that an account was closed."""
    ok = _check_once(password, closed.password_hash if closed is not None else _DUMMY_HASH)
    if ok and closed is not None:
        raise AccountClosed(closed_notice(closed.closed_at, closed.restore_until, bool(closed.owner), now))


def refuse_if_closed(engine: Engine, email: str, password: str, now: datetime | None = None) -> None:
    """For an email that is no member's (the CLI, before it says so): raise
    :class:`AccountClosed` with the sentence signing in shows if the email and password are
    those of a member of a closed account; otherwise return, after the same hash work."""
    with db.read_connection(engine) as conn:
        closed = _closed_membership(conn, email)
    _refuse_if_closed(closed, password, now or clock.now())


def _day(d: date | datetime) -> str:
    return f"{d.day} {d:%B %Y}"


def closed_notice(closed_at: datetime, restore_until: date, owner: bool, now: datetime) -> str:
    """What someone whose account was closed is told when signing in with the right password
    (dates in UTC, as the restore window is reckoned)."""
    closed = _day(closed_at.astimezone(timezone.utc))
    if clock.window_open(restore_until, now):
        how = (
            f"You can have it restored until {_day(restore_until)} by writing to {SUPPORT_EMAIL}."
            if owner
            else f"It can be restored until {_day(restore_until)} if its owner writes to {SUPPORT_EMAIL}."
        )
        return f"This account was closed on {closed}. {how}"
    return (
        f"This account was closed on {closed} and its data permanently deleted; its 3-month restore "
        f"window ended on {_day(restore_until)}. You're welcome to create a new account."
    )


def reauthenticate(engine: Engine, member_id: int, password: str, now: datetime | None = None) -> None:
    """Ask for the password again before a destructive step."""
    _verify(engine, member_id, password, now or clock.now())


def confirm_with_password(engine: Engine, who: SignedIn, action: str, password: str) -> None:
    """Before a destructive step: refuse a role the role table does not allow first (a wrong
    password then never counts against someone who could not act anyway), then ask for the
    password again. The step itself re-checks the role in its own write transaction."""
    with db.read_session(engine) as s:
        load_actor(s, who, action)
    reauthenticate(engine, who.member_id, password)


def as_member(engine: Engine, email: str) -> SignedIn:
    """The identity of the user with that email (the CLI acts as a user named by email)."""
    with db.read_session(engine) as s:
        return identity(s, find_member(s, email))


def session_problem(engine: Engine, who: SignedIn) -> str | None:
    """Why a signed-in session must end now, or None while it is still valid."""
    with db.read_connection(engine) as conn:
        if still_member(conn, who):
            return None
        a = tables.account
        if conn.execute(select(a.c.status).where(a.c.id == who.account_id)).scalar_one_or_none() == "closing":
            return "This account is being closed by its owner. Your access has ended."
        c = tables.closed_account
        closed = conn.execute(select(c.c.id).where(c.c.account_id == who.account_id, c.c.state == "closed")).first()
        if closed is not None:
            return "This account has been closed by its owner. Your access has ended."
        return "You are no longer a member of this account. Your access has ended."


def still_member(conn: Connection, who: SignedIn) -> bool:
    """Whether ``who`` is still a member of the account it signed in to (read in ``conn``'s
    transaction): :func:`load_actor` for Core readers that check no role."""
    m, a = tables.member, tables.account
    row = conn.execute(
        select(m.c.account_id, a.c.status).join_from(m, a, a.c.id == m.c.account_id).where(m.c.id == who.member_id)
    ).first()
    return row is not None and row.account_id == who.account_id and row.status == "active"


def load_actor(s: Session, who: SignedIn, action: str | None = None, *, lock: bool = True) -> Member:
    """The acting member, freshly read in this transaction, checked against the role table.

    In a write transaction the account's lock is taken first (:func:`crm_tui.services.locks.lock_account`:
    a write to a closed account fails with "this account has been closed"); ``lock=False`` for
    a caller that has taken it already in another state (the close)."""
    from crm_tui.models import Member
    from crm_tui.services import locks

    if lock and db.in_write_transaction(s.connection()):
        locks.lock_account(s, who.account_id)
    member = s.get(Member, who.member_id)
    if member is None or member.account_id != who.account_id:
        from crm_tui.models import Account

        account = s.get(Account, who.account_id)
        if account is None or account.status != locks.ACTIVE:  # closed (or being closed) under them
            raise errors.AccountIsClosed()
        raise NotFound("your access to this account has ended", code=errors.ACCESS_ENDED)
    if action is not None:
        authorize(member, action)
    return member
