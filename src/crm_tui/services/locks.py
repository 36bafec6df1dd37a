"""The account lock: one helper, one order, for every write to an account's data.

Every transaction that writes an account's rows (a member's write, a team change, Messages
cancelled, a close) calls :func:`lock_account` before anything else, and then takes any other
lock it needs in this order (docs/architecture.md, "Locks"):

1. the account's row (this module);
2. the audit chain's head (:func:`crm_tui.services.audit.lock_head`), only when it appends.

On PostgreSQL the lock is ``SELECT status FROM account WHERE id = :a FOR UPDATE``: writers of one
account queue one behind the other (other accounts never wait), and a close waits for the writes
already under way and holds off the ones that come after. On SQLite a write transaction begins
with ``BEGIN IMMEDIATE``, which already lets one writer at a time into the whole database: the
helper takes no lock there but checks that it runs inside such a transaction.

Either way, once the lock is held the account's state is read and checked: a write to an account
that is closed, or being closed, fails with :class:`AccountIsClosed` ("this account has been
closed"). The states are those of ``account.status``: ``active``; ``closing`` (PostgreSQL: from
the moment a close marks it until that close commits); then the row is gone (closed, or never
there). A ``closing`` mark left by a close that died before it committed (its process killed, its
connection lost) is recognised by the close's session-level advisory lock being free: the account
is then as it was, and the first writer sets it back to ``active``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import func, select, update

from crm_tui import db, tables
from crm_tui.services import errors

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection
    from sqlalchemy.orm import Session

ACTIVE = "active"
CLOSING = "closing"
CLOSED = "closed"  # backed up and recorded (tombstone, key, audit event); its rows still being deleted

CLOSED_MESSAGE = errors.ACCOUNT_CLOSED_MESSAGE

# PostgreSQL: how long a transaction waits for a lock, from the account's on (milliseconds):
# the connections' own lock timeout, set again here so that a URL's ``options`` cannot lift it.
LOCK_TIMEOUT_MS = db.PG_LOCK_TIMEOUT_MS

# The advisory-lock class (the first of PostgreSQL's two int4 keys) of a close in progress; the
# second key is the account's id. Held at session level by the closing connection, from before
# the account is marked ``closing`` until the close has committed or the mark is undone.
CLOSE_LOCK_CLASS = 0x43524D01


AccountIsClosed = errors.AccountIsClosed


def _connection(where: Connection | Session) -> Connection:
    from sqlalchemy.engine import Connection

    return where if isinstance(where, Connection) else where.connection()


def lock_account(where: Connection | Session, account_id: int, *, expect: str = ACTIVE) -> None:
    """Take the account's lock in the current write transaction (``where``: its connection or
    ORM session), then check the account is in the state ``expect`` (``active`` for a write;
    ``closing`` for the close that marked it). Raises :class:`AccountIsClosed` when it is
    closed or being closed. Taking it again in the same transaction is harmless."""
    conn = _connection(where)
    a = tables.account
    if db.is_sqlite(conn.engine):
        if not db.in_write_transaction(conn):
            raise RuntimeError("the account lock is taken inside a write transaction (db.write_session)")
        status = conn.execute(select(a.c.status).where(a.c.id == account_id)).scalar_one_or_none()
    else:
        # wait for the lock a bounded time, then fail as busy rather than hang behind a
        # transaction that never ends
        conn.exec_driver_sql(f"SET LOCAL lock_timeout = {int(LOCK_TIMEOUT_MS)}")
        status = conn.execute(select(a.c.status).where(a.c.id == account_id).with_for_update()).scalar_one_or_none()
        if status == CLOSING and expect == ACTIVE and not close_running(conn, account_id):
            # a close that died before it committed: the account is as it was
            conn.execute(update(a).where(a.c.id == account_id).values(status=ACTIVE))
            status = ACTIVE
    if status is None or status != expect:
        if expect == ACTIVE or status is None:
            raise AccountIsClosed()
        raise db.DatabaseError(
            f"the account is {status} where {expect} was expected; nothing was changed", undone="changed"
        )


def close_running(conn: Connection, account_id: int) -> bool:
    """PostgreSQL: whether a close of the account is under way in some session (its advisory
    lock is held). Tried without waiting; a shared hold taken here ends with the transaction."""
    got = conn.execute(select(func.pg_try_advisory_xact_lock_shared(CLOSE_LOCK_CLASS, account_id))).scalar()
    return not got


def begin_close(conn: Connection, account_id: int) -> None:
    """PostgreSQL, on a connection outside any transaction: mark a close of the account as
    under way (a session-level advisory lock, waiting for another close of it to finish)."""
    with conn.begin():
        conn.execute(select(func.pg_advisory_lock(CLOSE_LOCK_CLASS, account_id)))


def try_begin_close(conn: Connection, account_id: int) -> bool:
    """:func:`begin_close` without waiting: False while another session holds it."""
    with conn.begin():
        return bool(conn.execute(select(func.pg_try_advisory_lock(CLOSE_LOCK_CLASS, account_id))).scalar())


def end_close(conn: Connection, account_id: int) -> None:
    with conn.begin():
        conn.execute(select(func.pg_advisory_unlock(CLOSE_LOCK_CLASS, account_id)))


def mark_closing(conn: Connection, account_id: int) -> None:
    """PostgreSQL, in a short transaction of its own: lock the account (waiting for the writes
    under way), check it is active, and mark it ``closing``; from its commit every writer is
    refused. Call :func:`begin_close` first."""
    a = tables.account
    with conn.begin():
        lock_account(conn, account_id)
        conn.execute(update(a).where(a.c.id == account_id).values(status=CLOSING))


def unmark_closing(conn: Connection, account_id: int) -> None:
    """Undo :func:`mark_closing` after a close that failed (a no-op once the row is gone)."""
    a = tables.account
    with conn.begin():
        conn.execute(select(a.c.id).where(a.c.id == account_id).with_for_update())
        conn.execute(update(a).where(a.c.id == account_id, a.c.status == CLOSING).values(status=ACTIVE))


def status_for_update(conn: Connection, account_id: int, *, shared: bool = False) -> str | None:
    """The account's state, its lock taken (PostgreSQL: the row locked; SQLite: the caller's
    BEGIN IMMEDIATE); None when its row is gone. ``shared`` (PostgreSQL): the row locked
    ``FOR SHARE``, which other shared holders take at once and which excludes, both ways, every
    holder of the account's lock proper (``FOR UPDATE``): phase (d) of a close, whose deleters
    of one account work together while a restore or a writer waits for them (and they for it)."""
    a = tables.account
    q = select(a.c.status).where(a.c.id == account_id)
    if not db.is_sqlite(conn.engine):
        conn.exec_driver_sql(f"SET LOCAL lock_timeout = {int(LOCK_TIMEOUT_MS)}")
        q = q.with_for_update(read=shared)
    return conn.execute(q).scalar_one_or_none()


class SqliteCloseLease:
    """SQLite: who is closing an account. The closing process holds an exclusive ``flock`` on
    ``close-<account id>.lock`` in the database's backup folder from before it marks the account
    ``closing`` until it has deleted the account's rows (or undone the mark); the kernel drops the lock
    when the process dies, so a ``closing`` mark whose file can be locked by someone else was
    left by a close that died (:func:`crm_tui.services.closing.resume`)."""

    def __init__(self, folder, account_id: int) -> None:
        self.path = folder / f"close-{int(account_id)}.lock"
        self._fd = -1

    def try_take(self) -> bool:
        import fcntl
        import os

        while True:
            fd = os.open(self.path, os.O_CREAT | os.O_RDWR, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                try:  # still the file at that name (a releasing holder unlinks it, locked)
                    same = os.stat(self.path).st_ino == os.fstat(fd).st_ino
                except FileNotFoundError:
                    same = False
            except BlockingIOError:
                os.close(fd)
                return False
            except BaseException:
                os.close(fd)
                raise
            if same:
                self._fd = fd
                return True
            os.close(fd)

    def release(self) -> None:
        """Remove the file, then drop the lock (in that order: see :meth:`try_take`)."""
        import os

        if self._fd >= 0:
            try:
                self.path.unlink(missing_ok=True)
            finally:
                os.close(self._fd)
                self._fd = -1


RETRYABLE_SQLSTATES = ("40001", "40P01")  # serialization failure, deadlock detected


def is_retryable(exc: BaseException) -> bool:
    """Whether a database error is PostgreSQL's "try the transaction again" (a repeatable-read
    snapshot overtaken by a concurrent commit, or a deadlock it broke)."""
    from sqlalchemy.exc import DBAPIError

    return isinstance(exc, DBAPIError) and getattr(exc.orig, "sqlstate", None) in RETRYABLE_SQLSTATES
