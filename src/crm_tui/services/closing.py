"""Closing an account, restoring it within 3 calendar months, and purging it after.

Closing runs in phases, each transaction short (:func:`close_account`): the account is marked
``closing``, its encrypted backup written and fsynced from one read snapshot, the close recorded
(the account is ``closed`` and restorable), then its rows deleted in batches, children first,
the account row last (:func:`finish_deletion`). After the last batch the WAL is checkpointed
(TRUNCATE), so the deleted rows leave the disk too (``secure_delete`` is on). The account's lock
(:mod:`crm_tui.services.locks`) keeps members' writes out of it from the first phase on.
"""

from __future__ import annotations

import json
import os
import textwrap
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from datetime import date, datetime, timezone
from pathlib import Path
from typing import cast

from sqlalchemy import delete, func, insert, or_, select, text, true, update
from sqlalchemy.engine import Engine
from sqlmodel import col

from crm_tui import db, tables
from crm_tui.models import ACCOUNT_TABLES, Account, Backup, BackupKey, ClosedAccount, ClosedMember, Member, Plan
from crm_tui.services import archive, audit, backups, clock, errors, locks, sessions, zones
from crm_tui.services.accounts import SUPPORT_EMAIL, count_lines, count_table
from crm_tui.services.auth import (
    UNUSABLE_PASSWORD,
    SignedIn,
    email_hash,  # sign-in reads the tombstone's hashes too
    load_actor,
    reauthenticate,
)
from crm_tui.services.clock import window_open
from crm_tui.services.errors import ArchiveError, InvalidInput, NotFound, RestoreRefused
from crm_tui.text import clean, noun, plural


@dataclass(frozen=True)
class Receipt:
    account_name: str
    closed_at: datetime
    restore_until: date
    counts: dict[str, int]
    members_signed_out: int
    support_email: str = SUPPORT_EMAIL
    plan_code: str = ""
    tenure_months: int = 0
    team_size: int = 0
    time_zone: str = ""  # the owner's (see services.zones): the receipt's times are shown in it
    audit_hash: str = ""  # the hash of the account.close audit event, the chain's link to this close
    scrubbed: str = ""  # what db.checkpoint did after the commit ("vacuumed 14 tables", ...)

    def lines(self) -> list[tuple[str, int]]:
        return count_lines(self.counts)


RECEIPT_WIDTH = 76  # fits an 80-column terminal and the goodbye screen without re-wrapping


def receipt_text(receipt: Receipt) -> str:
    """The deletion receipt, as the goodbye screen saves it and ``account close`` prints it:
    the account, when (zone named), what was deleted, who lost access, until when it can be
    restored and how, and the hash of the audit event that records the close."""

    def para(text: str) -> list[str]:
        # dates and times are kept on one line ("\0" holds their spaces while wrapping)
        return [line.replace("\0", " ") for line in textwrap.wrap(text, RECEIPT_WIDTH, break_on_hyphens=False)] + [""]

    def whole(text: str) -> str:
        return text.replace(" ", "\0")

    lines = ["Deletion receipt", ""]
    # the name is the one text a user typed: its control characters are made visible, as the
    # file may be printed to a terminal
    lines += para(
        f"The account “{clean(receipt.account_name)}” was closed and its data permanently "
        f"deleted on {whole(zones.time_text(receipt.closed_at, zones.zone_for(receipt.time_zone), year=True))}."
    )
    lines += ["Deleted:", *count_table(receipt.lines()), ""]
    n = receipt.members_signed_out
    if n:
        lines += para(f"{plural(n, 'team member')} lost access and {noun(n, 'was', 'were')} signed out.")
    lines += para(
        f"Restorable until {whole(zones.day_text(receipt.restore_until))}: email {receipt.support_email} "
        "from the owner's address to ask for a restore. After that date the data cannot "
        "be recovered."
    )
    if receipt.audit_hash:
        lines += ["Audit event (account.close), SHA-256:", f"  {receipt.audit_hash}"]
    return "\n".join(lines).rstrip("\n")


def save_receipt(receipt: Receipt, out_dir: str | os.PathLike | None = None) -> Path:
    """Write the receipt as a text file (0600, published whole, never over another file) in
    the downloads folder, or ``out_dir``; returns its path."""
    from crm_tui.services import export

    folder = export.exports_folder(out_dir)
    stem = (
        f"{export.safe_name(receipt.account_name, 'account')}-closing-receipt-"
        f"{zones.local(receipt.closed_at, zones.zone_for(receipt.time_zone)):%Y%m%d-%H%M%S}"
    )  # the owner's
    target = export._TargetFile(folder, stem, ".txt")
    try:
        target.file.write((receipt_text(receipt) + "\n").encode("utf-8"))
        target.sync()
    except BaseException:
        target.discard()
        raise
    return target.publish()


# While an account's rows are deleted the page cache may grow to this many KiB: the
# to-dos', appointments' and contacts' ordered indexes are hit at random places, and with
# SQLite's 2 MiB default a very large account re-reads and re-writes their pages over and over
# (the figures are in docs/performance.md).
DELETE_CACHE_KIB = 32 * 1024


def _references_into(table) -> list:
    """Every foreign key in the schema that points at ``table``."""
    return [fk for other in table.metadata.sorted_tables for fk in other.foreign_keys if fk.column.table is table]


# The tables a close and a purge delete rows from: what db.checkpoint vacuums on PostgreSQL.
CLOSE_TOUCHES = tuple(str(m.__tablename__) for m in (*ACCOUNT_TABLES, Account)) + ("cli_session",)
PURGE_TOUCHES = ("backup_key", "backup_chunk", "closed_member", "closed_account", "backup")

NAME_MISMATCH = "the account name you typed does not match"


def name_problem(typed: str, name: str) -> str | None:
    """Why ``typed`` is not the account name, in words (lower case, no full stop); None when
    it is. Spaces around the name and capital letters, easy to miss, are named."""
    if typed == name:
        return None
    if not typed:
        return "type the account name to confirm"
    if typed.strip() == name.strip():
        if name != name.strip():
            return "the account name begins or ends with a space: type it exactly as shown"
        ends = [
            where
            for where, extra in (("start", len(typed) - len(typed.lstrip())), ("end", len(typed) - len(typed.rstrip())))
            if extra
        ]
        spaces = len(typed) - len(typed.strip())
        return (
            f"the name you typed has {'a space' if spaces == 1 else 'spaces'} at the "
            f"{' and at the '.join(ends)}; the account name does not"
        )
    if typed.casefold() == name.casefold():
        return "the name you typed differs in capital letters: type it exactly as shown"
    return NAME_MISMATCH


def close_account(
    engine: Engine, who: SignedIn, confirm_name: str, password: str, progress: Progress | None = None
) -> Receipt:
    """Close the owner's account; refused unless the name matches exactly and the password is
    right. The same phases on both backends, each transaction short (docs/architecture.md,
    "Closing in phases"):

    (a) a short write transaction takes the account's lock, checks it is active and marks it
        ``closing``: from its commit members cannot sign in or write to it (their writes fail
        with "this account has been closed"), so a write either landed before and is in the
        backup, or is refused. Who is closing it is held for the phases (a)-(c): PostgreSQL's
        session advisory lock (:func:`locks.begin_close`), SQLite's :class:`locks.SqliteCloseLease`;
    (b) the backup is written, encrypted and fsynced, from one read snapshot (SQLite: a read
        transaction, which does not block writers in WAL mode; PostgreSQL: REPEATABLE READ, whose
        only writes are the backup's own row and chunks); the rows of other accounts that refer
        to this one's are looked for in the same snapshot (damaged data: nothing is deleted);
    (c) a short write transaction records the backup's row and key, the tombstone, the closed
        members' hashes and the audit event, ends command-line sessions and marks the account
        ``closed``: from here it is restorable;
    (d) its rows are deleted in batches (:data:`DELETE_BATCHES`), each its own short
        write transaction, children first, the account row last (:func:`finish_deletion`);
        then the WAL is checkpointed and truncated (SQLite) or the tables vacuumed (PostgreSQL).

    A failure or crash in (a)-(b) leaves the account as it was (here, or at the next start:
    :func:`resume`); one in (d) is resumed by :func:`resume`. The receipt is returned once (d)
    is done; ``progress(table, done, total)`` is called as (b) writes the backup (``table`` is
    :data:`BACKING_UP`) and after each batch of (d)."""
    with db.read_session(engine) as s:
        owner = load_actor(s, who, "account.close")
        account = s.get(Account, owner.account_id)
        assert account is not None  # the signed-in owner's own account
        problem = name_problem(confirm_name, account.name)
        if problem:
            raise InvalidInput(
                f"{problem}; nothing was deleted", code=errors.NAME_MISMATCH, field="name", undone="deleted"
            )
    reauthenticate(engine, who.member_id, password)
    backups.sweep(engine)

    account_id = who.account_id
    lease = _mark_closing(engine, account_id)  # (a)
    try:
        pending: backups.Pending | None = None
        try:
            _phase_hook("marked")
            facts, pending = _backup_snapshot(engine, who, confirm_name, progress)  # (b)
            _phase_hook("backed_up")
            receipt = _record_close(engine, who, facts, pending)  # (c)
        except BaseException:
            if pending is not None:
                pending.abandon()
            try:
                _unmark_closing(engine, account_id)
            except Exception:
                pass  # the mark of a close whose lease is released is undone at the next start (resume)
            raise
        try:
            pending.finish()
        except OSError:
            pass  # the close stands: its row and key are committed; the next sweep names the file
        _phase_hook("recorded")
        finish_deletion(engine, account_id, progress)  # (d), still under the lease: resume leaves it be
    finally:
        lease.release()
    scrub = db.checkpoint(engine, CLOSE_TOUCHES)
    return replace(receipt, scrubbed=scrub.text)


Progress = Callable[[str, int, int], None]

# What ``progress`` is given for a table while phase (b) writes the backup (every row of the
# account, all tables together); then each table's name while phase (d) deletes its rows.
BACKING_UP = "(backup)"


@dataclass(frozen=True)
class Batches:
    """How many rows each write transaction of phase (d) deletes. The first batch holds
    ``first`` rows; each next one is the last scaled by ``aim`` over the time the last held the
    write lock, between half and twice the last, never fewer than ``first`` or more than
    ``most``. What a row costs depends on the account's size: deleting a 250,000-contact
    account's to-dos in the table's order touches nearly every page of their (account, status,
    due) index in every batch, so a fixed batch of 1,000 rows writes those pages 250 times over
    (the whole close 5.6 times the time of a 50,000-contact one's, for 5 times the rows), while
    batches sized by their lock time delete 7,000 to 24,000 rows each for about the same pages
    (docs/performance.md, "Closing in phases")."""

    first: int
    most: int
    aim: float = 0.025

    @classmethod
    def fixed(cls, rows: int) -> Batches:
        return cls(first=rows, most=rows)

    def next(self, rows: int, held: float) -> int:
        """The next batch's rows: ``rows`` scaled by how far ``held`` (the lock time of a batch
        of ``rows``) was from the aim, by at most a factor of two either way."""
        scaled = rows * 2 if held <= self.aim / 2 else int(rows * self.aim / held)
        return max(self.first, min(self.most, rows * 2, max(rows // 2, scaled)))


# Chosen by measurement (docs/performance.md, "Closing in phases"): on this machine a batch of
# 1,000 rows holds SQLite's write lock 2-8 ms; aiming at 25 ms leaves room under the ~50 ms
# another account's writer should wait at most.
DELETE_BATCHES = Batches(first=1000, most=32_000)

# PostgreSQL: a batch's row locks are on rows of the closed account only, which no one else
# may write, and other accounts' writers never wait for them; its batches aim at ten times the
# lock time (0.25 s: the progress bar still moves a few times a second). Its batches find their
# rows through the account_id index in no order: ordered by id, the planner walks the primary
# key from the start, past every lower row of other accounts and every row deleted by the
# batches before (a 50,000-contact account's to-dos and history took 8.8 s instead of 1.7 s).
SHARED_AIM_FACTOR = 10

# SQLite: the WAL is checkpointed once the batches since the last checkpoint have held the
# write lock this long (seconds), about four batches: a to-do or appointment index page
# rewritten by each of them is copied back to the database file once, not four times (at
# 250,000 contacts: 2.5 s of checkpoints after every batch, 0.7 s after every 0.1 s).
CHECKPOINT_AFTER = 0.1


def _phase_hook(boundary: str) -> None:
    """Called at each boundary between the close's phases ("marked", "backed_up",
    "recorded") and after each batch of (d) ("batch"): the crash tests raise or exit here."""


class _PgLease:
    """PostgreSQL: who is closing an account — the advisory lock ``conn`` holds for it."""

    def __init__(self, conn, account_id: int) -> None:
        self.conn = conn
        self.account_id = account_id

    def release(self) -> None:
        try:
            locks.end_close(self.conn, self.account_id)
        except Exception:
            self.conn.invalidate()  # never hand a connection holding the close's lock back to the pool
        finally:
            self.conn.close()


def _mark_closing(engine: Engine, account_id: int):
    """Phase (a): the account marked ``closing`` in a short transaction, under this process's
    lease (returned; released by the caller once the close is recorded or undone)."""
    if not db.is_sqlite(engine):
        conn = engine.connect()
        lease = _PgLease(conn, account_id)
        try:
            locks.begin_close(conn, account_id)
        except BaseException:
            conn.close()
            raise
        try:
            locks.mark_closing(conn, account_id)
        except BaseException:
            lease.release()
            raise
        return lease
    with db.write_connection(engine) as conn:
        locks.lock_account(conn, account_id)
        folder = backups.prepare_folder(conn)
        assert folder is not None  # SQLite keeps its backups in a folder
        sqlite_lease = locks.SqliteCloseLease(folder, account_id)
        if not sqlite_lease.try_take():
            raise errors.AccountIsClosed()  # another process is closing it
        try:
            conn.execute(update(tables.account).where(tables.account.c.id == account_id).values(status=locks.CLOSING))
        except BaseException:
            sqlite_lease.release()
            raise
    return sqlite_lease


def _unmark_closing(engine: Engine, account_id: int) -> None:
    with db.write_connection(engine) as conn:
        _undo_close(conn, account_id)


def _undo_close(conn, account_id: int) -> bool:
    """In a write transaction, for a close that did not reach phase (c): the account back to
    ``active``, and the backup rows it committed in phase (b) (PostgreSQL: a row without a key
    that no tombstone names, and its chunks) deleted. False if the account is not ``closing``."""
    a, b, k, ca = tables.account, tables.backup, tables.backup_key, tables.closed_account
    if locks.status_for_update(conn, account_id) != locks.CLOSING:
        return False
    conn.execute(update(a).where(a.c.id == account_id).values(status=locks.ACTIVE))
    orphans = select(b.c.id).where(
        b.c.account_id == account_id,
        b.c.purged_at.is_(None),
        b.c.file_name == backups.IN_DATABASE,
        b.c.id.not_in(select(k.c.backup_id)),
        b.c.id.not_in(select(ca.c.backup_id).where(ca.c.backup_id.is_not(None))),
    )
    for backup_id in conn.execute(orphans).scalars().all():
        conn.execute(delete(tables.backup_chunk).where(tables.backup_chunk.c.backup_id == backup_id))
        conn.execute(delete(b).where(b.c.id == backup_id))
    return True


@dataclass
class _Facts:
    account_name: str
    created_at: datetime
    plan_code: str
    owner_id: int
    owner_email: str
    time_zone: str
    members: list
    now: datetime


def _backup_snapshot(
    engine: Engine, who: SignedIn, confirm_name: str, progress: Progress | None = None
) -> tuple[_Facts, backups.Pending]:
    """Phase (b): everything the close records, and the backup, read from one snapshot (SQLite:
    a read transaction, rolled back; PostgreSQL: REPEATABLE READ, committing only the backup's
    row and chunks, which no one can read before phase (c) records its key). The backup's rows
    are reported as ``progress(BACKING_UP, done, total)``."""
    from sqlalchemy.orm import Session

    sqlite = db.is_sqlite(engine)
    with engine.connect() as conn:
        if not sqlite:
            conn.execution_options(isolation_level="REPEATABLE READ")
        trans = conn.begin()
        pending = None
        beside: db.Beside[None] | None = None
        try:
            with Session(bind=conn, expire_on_commit=False) as s:
                a = tables.account
                status = conn.execute(select(a.c.status).where(a.c.id == who.account_id)).scalar_one_or_none()
                if status != locks.CLOSING:
                    raise db.DatabaseError(
                        f"the account is {status or 'gone'} where closing was expected; nothing was deleted",
                        undone="deleted",
                    )
                owner = load_actor(s, who, "account.close", lock=False)
                account = s.get(Account, owner.account_id)
                assert account is not None and account.id is not None
                problem = name_problem(confirm_name, account.name)
                if problem:
                    raise InvalidInput(
                        f"{problem}; nothing was deleted", code=errors.NAME_MISMATCH, field="name", undone="deleted"
                    )
                plan = s.get(Plan, account.plan_id)
                assert plan is not None  # plan_id is a foreign key
                members = s.execute(
                    select(col(Member.id), col(Member.email), col(Member.password_hash)).where(
                        col(Member.account_id) == account.id
                    )
                ).all()
                # PostgreSQL: on a second connection, in this snapshot, while the backup is written
                beside = None if sqlite else _check_beside(engine, conn, account.id)
                if beside is None:  # SQLite, or no second connection to be had
                    check_outside_references(conn, account.id)
                facts = _Facts(
                    account.name,
                    account.created_at,
                    plan.code,
                    cast(int, owner.id),
                    owner.email,
                    owner.time_zone,
                    list(members),
                    clock.now(),
                )
                pending = backups.write(
                    conn,
                    account.id,
                    facts.now,
                    record=False,
                    progress=None if progress is None else (lambda done, total: progress(BACKING_UP, done, total)),
                )
                if beside is not None:
                    beside.result()
            if sqlite:
                trans.rollback()  # a read transaction: nothing to commit
            else:
                trans.commit()
        except BaseException:
            if beside is not None:
                beside.stop()
            if trans.is_active:
                trans.rollback()
            if pending is not None:
                pending.abandon()
            raise
    return facts, pending


def _check_beside(engine: Engine, conn, account_id: int) -> db.Beside[None] | None:
    """:func:`check_outside_references` on PostgreSQL beside ``conn``, in its snapshot: the
    server looks for references while it hands ``conn`` the backup's rows."""
    return db.Beside.start(
        engine, conn, lambda beside: check_outside_references(beside, account_id), "crm-tui-reference-check"
    )


def _record_close(engine: Engine, who: SignedIn, facts: _Facts, pending: backups.Pending) -> Receipt:
    """Phase (c): one short write transaction makes the account closed and restorable."""
    with db.write_session(engine) as s:
        conn = s.connection()
        status = locks.status_for_update(conn, who.account_id)
        if status != locks.CLOSING:
            raise db.DatabaseError(
                f"the account is {status or 'gone'} where closing was expected; nothing was deleted", undone="deleted"
            )
        audit.lock_head(s)
        backup_id = backups.record(conn, pending)
        s.add(BackupKey(backup_id=backup_id, key=pending.key))
        counts = pending.manifest["counts"]
        until = clock.restore_until(facts.now)
        tombstone = ClosedAccount(
            account_id=who.account_id,
            owner_email_hash=email_hash(facts.owner_email),
            member_ids=",".join(str(m.id) for m in facts.members),
            closed_at=facts.now,
            restore_until=until,
            counts_json=json.dumps(counts, sort_keys=True),
            backup_id=backup_id,
        )
        s.add(tombstone)
        s.flush()
        # what signing in needs to tell these people the account was closed: hashes only
        s.execute(
            insert(ClosedMember.__table__),
            [
                {"closed_account_id": tombstone.id, "email_hash": email_hash(m.email), "password_hash": m.password_hash}
                for m in facts.members
            ],
        )
        sessions.end_for_account(conn, who.account_id)  # command-line logins refer to members
        conn.execute(update(tables.account).where(tables.account.c.id == who.account_id).values(status=locks.CLOSED))
        event = audit.append(
            s,
            "account.close",
            actor=audit.actor_of(facts.owner_id),
            account_id=who.account_id,
            details={"counts": counts, "restore_until": until.isoformat()},
        )
        pending.check()  # the backup is still there as the close commits
    return Receipt(
        account_name=facts.account_name,
        closed_at=facts.now,
        restore_until=until,
        counts=counts,
        members_signed_out=len(facts.members) - 1,
        plan_code=facts.plan_code,
        tenure_months=clock.months_between(facts.created_at, facts.now),
        team_size=len(facts.members),
        time_zone=facts.time_zone,
        audit_hash=event.hash,
    )


# tables outside the account's own whose rows referring to it the close deletes itself, in
# phase (c): its members' command-line sessions (sessions.end_for_account)
ENDED_BY_THE_CLOSE = ("cli_session",)


def check_outside_references(conn, account_id: int) -> None:
    """In the close's snapshot: no row outside the account refers to one of its rows (that
    would be damaged data; the account's own writers are refused from phase (a), so its own rows
    are all deleted in phase (d)). Raises :class:`db.DatabaseError` naming what it found."""
    for model in (*reversed(ACCOUNT_TABLES), Account):
        t = model.__table__
        mine = t.c.id == account_id if model is Account else t.c.account_id == account_id
        own_rows: int | None = None
        for fk in _references_into(t):
            other = fk.parent.table
            if other.name in ENDED_BY_THE_CLOSE:
                continue
            outside = []
            if "account_id" in other.c:
                outside.append(or_(other.c.account_id != account_id, other.c.account_id.is_(None)))
            if own_rows is None and conn.dialect.name == "postgresql":
                own_rows = conn.execute(select(func.count()).select_from(t).where(mine)).scalar_one()
            if own_rows is not None and _probe_each(conn, own_rows, other):
                # the rows referring to each of the account's rows, through the referring column's
                # index: a lateral subquery with an aggregate is not flattened into a join
                found = select(func.count().label("n")).select_from(other).where(fk.parent == fk.column, *outside)
                per_row = found.lateral(f"{other.name}_refs")
                query = select(func.coalesce(func.sum(per_row.c.n), 0)).select_from(t).join(per_row, true()).where(mine)
            else:  # every row of the referring table, against the account's ids (one hash join)
                refers = fk.parent.in_(select(fk.column).where(mine))
                query = select(func.count()).select_from(other).where(refers, *outside)
            total = conn.execute(query).scalar_one()
            if total:
                raise db.DatabaseError(
                    f"{plural(total, f'row of {other.name}', f'rows of {other.name}')} outside this account "
                    f"{noun(total, 'refers', 'refer')} to its {t.name} rows (the data is damaged); nothing was deleted",
                    undone="deleted",
                )


# What an index probe costs against a row of a table scan, both in memory: measured with the
# reference check on the benchmark's data (50,000 contacts of 150,000), about 1.2 against 0.2
# microseconds. PostgreSQL's planner prices a probe as a read from disk and scans the referring
# table even for an account that holds a small share of it, so a close would read every other
# account's rows: on a server shared by many teams, the check would grow with all of them.
PROBE_COST = 6


def _probe_each(conn, own_rows: int, other) -> bool:
    """PostgreSQL: whether probing ``other``'s index once for each of the account's ``own_rows``
    costs less than scanning ``other`` whole (by the planner's estimate of its rows; a table
    never analysed is scanned, as before)."""
    estimate = conn.execute(
        text("SELECT reltuples FROM pg_class WHERE oid = to_regclass(:name)"), {"name": other.name}
    ).scalar()
    return estimate is not None and own_rows * PROBE_COST < estimate


def remaining_rows(engine: Engine, account_id: int) -> dict[str, int]:
    """How many rows of each of the account's tables are left (children first)."""
    with db.read_connection(engine) as conn:
        found = {}
        for model in reversed(ACCOUNT_TABLES):
            t = model.__table__
            found[t.name] = conn.execute(
                select(func.count()).select_from(t).where(t.c.account_id == account_id)
            ).scalar_one()
        return found


def finish_deletion(engine: Engine, account_id: int, progress: Progress | None = None) -> bool:
    """Phase (d): delete a closed account's rows in batches (sized by :data:`DELETE_BATCHES`), each a
    short write transaction that first checks the account is still ``closed`` (its lock taken),
    children first, the account row last. On PostgreSQL :data:`DELETE_WAYS` connections delete
    each table's rows together, each its share of them (by id), in rounds of one batch each,
    holding the account's lock shared. Safe to run again, or in two processes at once, after a
    crash anywhere. Returns False when there was nothing to do (the account is not closed)."""
    a = tables.account
    with db.read_connection(engine) as conn:
        if conn.execute(select(a.c.status).where(a.c.id == account_id)).scalar_one_or_none() != locks.CLOSED:
            return False
    totals = remaining_rows(engine, account_id)
    sqlite = db.is_sqlite(engine)
    batches = DELETE_BATCHES if sqlite else replace(DELETE_BATCHES, aim=DELETE_BATCHES.aim * SHARED_AIM_FACTOR)
    ways = 1 if sqlite else DELETE_WAYS
    since = 0.0
    with ExitStack() as stack:
        first, after_batch = stack.enter_context(_deletion_connection(engine))
        conns = [first]
        while len(conns) < ways and (more := db.another_connection(db.write_engine(engine))) is not None:
            conns.append(stack.enter_context(more))  # as many as there are to be had, up to ways
        ways = len(conns)
        deleters = [_Deleter(conn, account_id, part, ways, batches) for part, conn in enumerate(conns)]
        helpers = stack.enter_context(ThreadPoolExecutor(ways - 1, "crm-tui-delete")) if ways > 1 else None
        for model in reversed(ACCOUNT_TABLES):
            t = model.__table__
            total, done = totals[t.name], 0
            if progress is not None and total:
                progress(t.name, 0, total)
            for d in deleters:
                d.finished = False
            busy = list(deleters)
            while busy:  # a round: one batch of each deleter with rows left, at the same time
                here, *rest = busy
                others = [helpers.submit(d.batch, t) for d in rest] if helpers is not None else []
                try:
                    outcomes = [here.batch(t)]
                finally:
                    outcomes += [f.result() for f in others]  # every batch of the round has ended
                for gone, held in outcomes:
                    if gone is None:
                        return False  # no longer closed: restored meanwhile
                    since += held
                    done += gone
                    if gone:
                        _phase_hook("batch")
                        if progress is not None:
                            progress(t.name, min(done, total), max(total, done))
                if since >= CHECKPOINT_AFTER:
                    after_batch()
                    since = 0.0
                busy = [d for d in busy if not d.finished]
        conn = deleters[0].conn
        with conn.begin():
            if locks.status_for_update(conn, account_id) != locks.CLOSED:
                return False
            conn.execute(delete(tables.account).where(tables.account.c.id == account_id))
        after_batch()
    return True


# PostgreSQL: how many connections delete a closed account's rows together in phase (d). A
# contact's delete is mostly the server looking for rows that refer to it, four tables' worth:
# two connections use two of the server's cores for it (the heavy account's contacts 0.77 s with
# one, 0.44 s with two; docs/performance.md).
DELETE_WAYS = 2


class _Deleter:
    """One connection's share of phase (d): the rows whose id is ``part`` modulo ``ways``, a batch
    at a time. :meth:`batch` deletes one batch of a table, sizes the next one, and says when its
    share of the table is gone (:attr:`finished`)."""

    def __init__(self, conn, account_id: int, part: int, ways: int, batches: Batches) -> None:
        self.conn = conn
        self.account_id = account_id
        self.part = part
        self.ways = ways
        self.batches = batches
        self.rows = batches.first
        self.finished = False
        self.sqlite = db.is_sqlite(conn.engine)

    def batch(self, t) -> tuple[int | None, float]:
        """Delete up to :attr:`rows` of the share's rows of table ``t``, in a write transaction of its
        own that first takes the account's lock (shared by the deleters, on PostgreSQL); returns
        the rows deleted (None when the account is no longer closed) and how long it held the lock."""
        conn, account, rows = self.conn, self.account_id, self.rows
        left = False
        started = time.perf_counter()
        with conn.begin():
            if locks.status_for_update(conn, account, shared=not self.sqlite) != locks.CLOSED:
                return None, time.perf_counter() - started
            if self.sqlite:  # in id order: free there (the account_id index holds rowid order), and local
                ids = select(t.c.id).where(t.c.account_id == account).order_by(t.c.id).limit(rows)
                gone = conn.execute(delete(t).where(t.c.id.in_(ids.scalar_subquery()))).rowcount
            else:  # found through the account_id index, deleted where they lie (no primary-key probe)
                share = "" if self.ways == 1 else f" AND id % {int(self.ways)} = {int(self.part)}"
                mine = f'FROM "{t.name}" WHERE account_id = :account{share}'
                gone = conn.execute(
                    text(f'DELETE FROM "{t.name}" WHERE ctid = ANY(ARRAY(SELECT ctid {mine} LIMIT :rows))'),
                    {"account": account, "rows": rows},
                ).rowcount
                if gone < rows:
                    # Fewer than asked: the share is gone, unless a second process finishing this
                    # close at the same moment holds some of its rows, which this batch then
                    # skipped (or waited for, and found deleted) while rows after them are left.
                    # Going on to the parent table then would fail its foreign keys.
                    left = conn.execute(text(f"SELECT EXISTS (SELECT 1 {mine})"), {"account": account}).scalar()
        held = time.perf_counter() - started
        self.finished = gone < rows and not left
        if gone == rows:
            self.rows = self.batches.next(rows, held)
        return gone, held


@contextmanager
def _deletion_connection(engine: Engine):
    """One connection for every batch of phase (d), each batch its own write transaction on it
    (SQLite: BEGIN IMMEDIATE), and what to call after each batch's commit. On SQLite its page
    cache is raised to DELETE_CACHE_KIB and kept warm from batch to batch; foreign-key
    enforcement is off (the references were checked in the close's snapshot, and children go
    first: enforced, each deleted contact would look up its appointments, to-dos, history and
    texts, gone by then); and the WAL is checkpointed by the returned callable (PASSIVE: it waits
    for no reader or writer), which the caller runs after a batch's commit, outside its write
    transaction, once its batches have held the lock :data:`CHECKPOINT_AFTER` since the last,
    rather than by SQLite's automatic checkpoint, which runs inside the COMMIT of whichever
    connection crosses its threshold. All are put back before the connection returns to the
    pool, or it is discarded."""
    with db.write_engine(engine).connect() as conn:
        if not db.is_sqlite(engine):
            yield conn, lambda: None
            return
        driver = conn.connection.driver_connection
        assert driver is not None  # a checked-out connection always has its driver's
        cache = driver.execute("PRAGMA cache_size").fetchone()[0]
        automatic = driver.execute("PRAGMA wal_autocheckpoint").fetchone()[0]
        driver.execute("PRAGMA foreign_keys = OFF")
        driver.execute(f"PRAGMA cache_size = {-DELETE_CACHE_KIB}")
        driver.execute("PRAGMA wal_autocheckpoint = 0")
        try:
            yield conn, lambda: driver.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        finally:
            try:
                driver.execute(f"PRAGMA cache_size = {cache}")
                driver.execute(f"PRAGMA wal_autocheckpoint = {int(automatic)}")
                driver.execute("PRAGMA foreign_keys = ON")
                restored = driver.execute("PRAGMA foreign_keys").fetchone()[0] == 1
            except Exception:
                restored = False
            if not restored:
                conn.invalidate()


def resume(engine: Engine) -> list[str]:
    """At the start of a crm-tui process (and ``crm-tui admin resume``): put right what a close
    that died left. An account marked ``closing`` whose closer is gone (no process holds its
    lease) is set back to ``active`` and the backup it was writing removed (SQLite: the
    ``.pending`` file, by :func:`backups.sweep`; PostgreSQL: the key-less backup row and its
    chunks); an account ``closed`` with rows left has its deletion finished. Returns what it
    did, in words."""
    a = tables.account
    done: list[str] = []
    sqlite = db.is_sqlite(engine)
    with db.read_connection(engine) as conn:
        found = conn.execute(select(a.c.id, a.c.status, a.c.name).where(a.c.status != locks.ACTIVE)).all()
    for account_id, status, name in found:
        which = f"{clean(name)} (account {account_id})"
        if status == locks.CLOSING:
            lease = None
            with db.write_connection(engine) as conn:
                if sqlite:
                    folder = backups.prepare_folder(conn)
                    assert folder is not None
                    lease = locks.SqliteCloseLease(folder, account_id)
                    if not lease.try_take():
                        continue  # its closer is at work
                    running = False
                else:
                    running = locks.close_running(conn, account_id)
                try:
                    if not running and _undo_close(conn, account_id):
                        done.append(f"{which}: an unfinished close was undone; the account is open again")
                finally:
                    if lease is not None:
                        lease.release()
        elif status == locks.CLOSED:
            held = _try_lease(engine, account_id)
            if held is None:
                continue  # its closer is deleting its rows
            try:
                if finish_deletion(engine, account_id):
                    done.append(f"{which}: finished deleting the rows of its close")
            finally:
                held.release()
    if sqlite:
        _remove_stale_leases(engine)
    if done:
        backups.sweep(engine)
        db.checkpoint(engine, CLOSE_TOUCHES)
    return done


class _NoLease:
    def release(self) -> None:
        pass


def _try_lease(engine: Engine, account_id: int):
    """The lease on closing the account, taken without waiting (for :func:`resume`, finishing a
    close's phase (d)); None while another process holds it (its closer is still at work)."""
    if db.is_sqlite(engine):
        with db.read_connection(engine) as conn:
            folder = backups.own_folder(conn)
        if folder is None:
            return _NoLease()  # no close ever took a lease in this database's folder
        lease = locks.SqliteCloseLease(folder, account_id)
        return lease if lease.try_take() else None
    conn = engine.connect()
    try:
        got = locks.try_begin_close(conn, account_id)
    except BaseException:
        conn.close()
        raise
    if not got:
        conn.close()
        return None
    return _PgLease(conn, account_id)


def _remove_stale_leases(engine: Engine) -> None:
    """SQLite: remove the lease files of closers that died before marking the account, or after
    recording its close (the account is not ``closing``: nothing else to undo). A file whose
    lock is held belongs to a close at work. In a write transaction, so no close is between
    taking its lease and committing its mark meanwhile; only when there are lease files (a
    write transaction at every process's start would queue it behind any writer)."""
    with db.read_connection(engine) as conn:
        folder = backups.own_folder(conn)
    if folder is None or not any(folder.glob("close-*.lock")):
        return
    with db.write_connection(engine) as conn:
        for path in sorted(folder.glob("close-*.lock")):
            try:
                account_id = int(path.stem.removeprefix("close-"))
            except ValueError:
                continue
            lease = locks.SqliteCloseLease(folder, account_id)
            if not lease.try_take():
                continue
            try:
                if locks.status_for_update(conn, account_id) == locks.CLOSING:
                    _undo_close(conn, account_id)  # its closer is gone
            finally:
                lease.release()


@dataclass(frozen=True)
class ClosedInfo:
    tombstone_id: int
    account_id: int
    closed_at: datetime
    restore_until: date
    state: str
    counts: dict[str, int]
    restorable: bool

    def as_json(self) -> dict:
        return {
            "tombstone_id": self.tombstone_id,
            "account_id": self.account_id,
            "closed_at": self.closed_at.isoformat(),
            "restore_until": self.restore_until.isoformat(),
            "state": self.state,
            "counts": self.counts,
            "restorable": self.restorable,
        }


def list_closed(engine: Engine, now: datetime | None = None) -> list[ClosedInfo]:
    now = now or clock.now()
    with db.read_session(engine) as s:
        rows = s.execute(select(ClosedAccount).order_by(col(ClosedAccount.closed_at))).scalars()
        return [
            ClosedInfo(
                cast(int, t.id),
                t.account_id,
                t.closed_at,
                t.restore_until,
                t.state,
                json.loads(t.counts_json),
                t.state == "closed" and window_open(t.restore_until, now),
            )
            for t in rows
        ]


@dataclass(frozen=True)
class Restored:
    account_id: int
    account_name: str
    counts: dict[str, int]


def _tombstone_for(s, email: str) -> ClosedAccount:
    """The owner's newest tombstone, locked for the rest of the transaction: a closed account's
    lock (its row is gone), so two restores, or a restore and a purge, of it queue one behind
    the other and the second sees what the first did."""
    rows = (
        s.execute(
            select(ClosedAccount)
            .where(col(ClosedAccount.owner_email_hash) == email_hash(email))
            .order_by(col(ClosedAccount.closed_at).desc(), col(ClosedAccount.id))
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        .scalars()
        .all()
    )
    if not rows:
        raise NotFound(f"no closed account whose owner's email is {email.strip()!r}")
    for row in rows:
        if row.state == "closed":
            return row
    return rows[0]


def restore(engine: Engine, email: str, now: datetime | None = None, *, actor: str = "support") -> Restored:
    """Support's restore: everything returns, team members included, in one transaction.
    ``actor`` is who the audit log names (the CLI passes ``operator:<os user>``)."""
    now = now or clock.now()
    backups.sweep(engine)
    with db.read_session(engine) as s:  # a close whose deletion (phase (d)) is unfinished: finish it first
        ca = ClosedAccount.__table__
        unfinished = list(
            s.execute(
                select(ca.c.account_id).where(ca.c.owner_email_hash == email_hash(email), ca.c.state == "closed")
            ).scalars()
        )
    for account_id in unfinished:
        finish_deletion(engine, account_id)
    with db.write_session(engine) as s:
        t = _tombstone_for(s, email)
        if t.state == "restored":
            raise RestoreRefused("that account has been restored already")
        if t.state == "purged":
            raise RestoreRefused(
                f"the account was closed on {t.closed_at:%d %b %Y} and its data has been permanently "
                "deleted (the 3-month window has passed); you're welcome to create a new account"
            )
        if not window_open(t.restore_until, now):  # not purged yet: say what is true now
            raise RestoreRefused(
                f"the account was closed on {t.closed_at:%d %b %Y} and its 3-month restore window ended "
                f"on {t.restore_until:%d %B %Y} (UTC); it can no longer be restored (its backup is destroyed "
                "at the next purge); you're welcome to create a new account"
            )
        backup = s.get(Backup, t.backup_id) if t.backup_id else None
        key = backups.key_for(s, cast(int, backup.id)) if backup else None
        if backup is None or key is None:
            raise RestoreRefused("the backup of that account no longer exists; it cannot be restored")
        conn = s.connection()
        opened, where = backups.open_backup(conn, cast(int, backup.id), backup.file_name, key)
        with opened as plain:
            zf = archive.open_zip(plain)
            manifest = archive.read_manifest(zf)
            if manifest["account"]["id"] != t.account_id:
                raise ArchiveError("the backup belongs to another account; nothing was restored")
            account_id, counts = archive.import_archive(conn, zf, unusable_password=UNUSABLE_PASSWORD)
        s.execute(Account.__table__.update().where(Account.__table__.c.id == account_id).values(status="active"))
        name = s.execute(select(col(Account.name)).where(col(Account.id) == account_id)).scalar_one()
        t.state = "restored"
        t.restored_at = now
        s.execute(delete(ClosedMember).where(col(ClosedMember.closed_account_id) == t.id))
        # The account is live again: its backup is no longer needed.
        backups.destroy(conn, cast(int, backup.id))
        backup.purged_at = now
        audit.append(s, "account.restore", actor=actor, account_id=account_id, details={"counts": counts}, at=now)
    if where is not None and where.own:  # a copy of another database leaves the file it shares alone
        try:
            where.path.unlink(missing_ok=True)
        except OSError:
            pass  # the key is gone; the next purge removes the file
    return Restored(account_id, name, counts)


@dataclass(frozen=True)
class PurgeReport:
    purged: int
    files_removed: int
    # files the purge could not remove (it committed: the keys are gone); the next one retries
    warnings: tuple[str, ...] = ()
    scrubbed: str = ""  # what db.checkpoint did after the commit
    in_database: int = 0  # backups destroyed whose encrypted bytes were rows of the database


def newest_recorded_time(s) -> datetime | None:
    """The latest moment this database has recorded an event at (audit events, closings,
    restores, purges, backups)."""
    from crm_tui.models import AuditEvent

    found = [
        s.execute(select(func.max(column))).scalar()
        for column in (
            AuditEvent.at,
            ClosedAccount.closed_at,
            ClosedAccount.restored_at,
            ClosedAccount.purged_at,
            Backup.created_at,
            Backup.purged_at,
        )
    ]
    found = [t if t.tzinfo else t.replace(tzinfo=timezone.utc) for t in found if t is not None]
    return max(found) if found else None


def _check_secure_delete(conn) -> None:
    if conn.dialect.name != "sqlite":
        return
    if conn.exec_driver_sql("PRAGMA secure_delete").scalar() != 1:
        raise db.DatabaseError("SQLite's secure_delete is off on this connection; nothing was purged")


def purge(engine: Engine, now: datetime | None = None, *, actor: str = "system") -> PurgeReport:
    """Destroy the backups of accounts whose restore window has passed: the key (its row
    deleted with ``secure_delete`` on, the WAL that held it checkpointed and truncated), then
    the file (overwritten with zeros and fsynced before it is unlinked).

    Refused when the clock reads earlier than the newest time the database has recorded (a
    clock set back would otherwise decide which windows have passed). Once the keys are
    destroyed the purge stands: a file it cannot remove is reported in ``warnings`` and
    removed by the next purge."""
    now = now or clock.now()
    with db.write_session(engine) as s:
        newest = newest_recorded_time(s)
        if newest is not None and now < newest:
            raise InvalidInput(
                f"the clock reads {now:%Y-%m-%d %H:%M:%S} UTC, earlier than {newest:%Y-%m-%d %H:%M:%S} UTC "
                "recorded in the database (has the clock been set back?); nothing was purged"
            )
        conn = s.connection()
        _check_secure_delete(conn)
        # each closed account's lock (its tombstone's row), taken in the order of their ids
        due = [
            t
            for t in s.execute(
                select(ClosedAccount)
                .where(col(ClosedAccount.state) == "closed")
                .order_by(col(ClosedAccount.id))
                .with_for_update()
                .execution_options(populate_existing=True)
            ).scalars()
            if not window_open(t.restore_until, now)
        ]
        in_database = 0
        for t in due:
            if t.backup_id:
                backup = s.get(Backup, t.backup_id)
                in_database += backup is not None and backup.file_name == backups.IN_DATABASE
                backups.destroy(conn, t.backup_id)  # its key, and its chunks if it has any
                if backup is not None:
                    backup.purged_at = now
            t.state = "purged"
            t.purged_at = now
            s.execute(delete(ClosedMember).where(col(ClosedMember.closed_account_id) == t.id))
            audit.append(s, "account.purge", actor=actor, account_id=t.account_id, details={}, at=now)
    notes: list[str] = []
    scrub = db.checkpoint(engine, PURGE_TOUCHES)  # the deleted keys leave the WAL; completes an earlier one
    if not scrub:
        notes.append(scrub.text)
    # Then the files: these, and any an earlier restore or purge could not remove. A copy of
    # another database leaves the files it shares with it alone (see backups).
    try:
        backups.sweep(engine)
        removed, warnings = backups.remove_destroyed(engine)
    except Exception as exc:  # the purge has committed: report, never undo or hide it
        reason = getattr(exc, "strerror", None) or str(getattr(exc, "orig", None) or exc).splitlines()[0]
        removed, warnings = [], [f"could not remove the backup files ({reason}); the next purge tries again"]
    return PurgeReport(len(due), len(removed), tuple(notes + warnings), scrub.text, in_database)
