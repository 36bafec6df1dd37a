"""Importing an account archive (a "download my data" export) as a NEW account.

The way back after the 3-month restore window: whoever holds the zip makes a new account of
it, whose owner they are. Unlike support's restore (``closing.restore``, which puts rows back
under their original ids), every row gets a new id and every reference is remapped, so an
archive can be imported while its original account still exists, or twice.

- The archive is verified whole first (:func:`archive.verify_archive`: manifest, every
  member's checksum, size and row count); a damaged or foreign file is refused with one line
  and nothing changes. Everything is inserted in one write transaction.
- The archive's owner becomes the importer: the given email and password, the archive
  owner's name, time zone and records (contacts, appointments, to-dos, history).
- Every other team member comes back with their role and a one-time temporary password,
  returned once for the new owner to hand over.
- A team member whose email is taken (by a member of another account, by a closed account
  that can still be restored, or the importer's own email) does not come back as a member:
  their contacts, appointments, to-dos and history become the new owner's (nothing is lost),
  and the result names them.
- The importer's own email must be free; otherwise the import is refused.
"""

from __future__ import annotations

import itertools
import os
import secrets
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, StatementError

from crm_tui import db
from crm_tui.models import (
    ROLE_OWNER,
    ROLES,
    Account,
    Autoresponder,
    AutoresponderStep,
    ClosedAccount,
    ClosedMember,
    EmailTemplate,
    Member,
    MessagesService,
)
from crm_tui.services import archive, audit, billing, clock
from crm_tui.services.auth import check_new_password, email_hash, hash_password, normalise_email
from crm_tui.services.errors import ArchiveError, InvalidInput, NotFound
from crm_tui.services.inputs import refuse_nul, refuse_nul_in_archive
from crm_tui.services.team import EMAIL_PATTERN

MAX_ACCOUNT_NAME = 120
BATCH = 1000


@dataclass(frozen=True)
class TemporaryPassword:
    """A team member who came back, and the password to hand them (shown once)."""

    email: str
    name: str
    role: str
    password: str


@dataclass(frozen=True)
class Imported:
    account_id: int
    account_name: str
    owner_email: str
    counts: dict[str, int]
    members: tuple[TemporaryPassword, ...]
    not_members: tuple[str, ...]  # emails already taken: their records are the owner's now


def check_request(email: str, account_name: str, password: str) -> tuple[str, str]:
    """The owner's email and the account name, cleaned; refuses what cannot be used."""
    refuse_nul(account_name, "an account name", field="account_name")
    email = normalise_email(email)
    if not EMAIL_PATTERN.match(email) or not email.isprintable():
        raise InvalidInput(f"not an email address: {email!r}")
    name = " ".join(account_name.split())
    if not name:
        raise InvalidInput("the new account needs a name")
    if len(name) > MAX_ACCOUNT_NAME or not name.isprintable():
        raise InvalidInput(f"an account name is at most {MAX_ACCOUNT_NAME} printable characters")
    check_new_password(password, email)
    return email, name


def _email_in_use(conn: Connection, email: str) -> str | None:
    """Why ``email`` cannot be given to a member now, or None if it is free."""
    m = Member.__table__
    if conn.execute(select(m.c.id).where(func.lower(m.c.email) == normalise_email(email))).first():
        return "in use"
    # a closed account keeps its members' emails until it is restored or purged
    c, cm = ClosedAccount.__table__, ClosedMember.__table__
    digest = email_hash(email)
    if conn.execute(select(c.c.id).where(c.c.state == "closed", c.c.owner_email_hash == digest)).first():
        return "reserved"
    reserved = conn.execute(
        select(cm.c.id)
        .join(c, c.c.id == cm.c.closed_account_id)
        .where(c.c.state == "closed", cm.c.email_hash == digest)
    ).first()
    return "reserved" if reserved else None


def _ids(rows: Iterable[dict], what: str) -> None:
    for row in rows:
        if not isinstance(row.get("id"), int):
            raise ArchiveError(f"{what} has a record without an id")


def _remap(row: dict, column: str, ids: dict[int, int], what: str, nullable: bool = False) -> None:
    old: Any = row.get(column)  # a None that is not allowed is a KeyError below, as any unknown id
    if old is None and nullable:
        return
    try:
        row[column] = ids[old]
    except (KeyError, TypeError):
        raise ArchiveError(f"{what} refers to a record the archive does not hold ({column} {old!r})") from None


def _insert(
    conn: Connection, model, rows: Iterator[dict], account_id: int, returning: bool = False
) -> tuple[int, list[tuple[int, int]]]:
    """Insert rows under new ids, a batch at a time. Returns how many, and with ``returning``
    the (old id, new id) pairs."""
    t = model.__table__
    pairs: list[tuple[int, int]] = []
    n = 0

    def flush(batch: list[dict]) -> None:
        olds = [row.pop("id", None) for row in batch]
        for row in batch:
            row["account_id"] = account_id
        if returning:
            new = conn.execute(insert(t).returning(t.c.id, sort_by_parameter_order=True), batch).scalars().all()
            pairs.extend(zip(olds, new, strict=False))
            if len({old for old, _ in pairs}) != len(pairs):
                raise ArchiveError(f"the archive repeats the id of a {t.name.replace('_', ' ')}")
        else:
            conn.execute(insert(t), batch)

    batch: list[dict] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= BATCH:
            flush(batch)
            n += len(batch)
            batch = []
    if batch:
        flush(batch)
        n += len(batch)
    return n, pairs


Refs = tuple[tuple[str, dict[int, int], bool], ...]  # (column, old id -> new id, nullable)


def _insert_csv(
    conn: Connection, zf, manifest: dict, name: str, account_id: int, refs: Refs, keep: dict[int, int] | None = None
) -> int:
    """Insert a CSV data member's rows under new ids, references remapped; ``keep`` gets
    each row's old id -> new id. On SQLite the rows take restore's fast path, with ids given
    here: the write transaction holds the database, so the next free ids are known."""
    if not archive.database_for(conn).assigns_ids:

        def rows() -> Iterator[dict]:
            for row in archive.member_rows(zf, manifest, name):
                for column, ids, nullable in refs:
                    _remap(row, column, ids, name, nullable)
                yield row

        n, pairs = _insert(conn, archive.CSV_MEMBERS[name], rows(), account_id, returning=keep is not None)
        if keep is not None:
            keep.update(pairs)
        return n
    table = archive.CSV_MEMBERS[name].__table__.name
    used = conn.execute(text(f'SELECT max(id) FROM "{table}"')).scalar() or 0
    seq = conn.execute(text("SELECT seq FROM sqlite_sequence WHERE name = :t"), {"t": table}).scalar() or 0
    next_id = itertools.count(max(used, seq) + 1)

    def new_ids(olds: tuple) -> list:
        new = [next(next_id) for _ in olds]
        if keep is not None:
            before = len(keep)
            keep.update(zip(olds, new, strict=False))
            if len(keep) != before + len(olds):
                raise ArchiveError(f"{name} repeats an id")
        return new

    def mapper(column: str, ids: dict[int, int], nullable: bool) -> Callable[[tuple], list]:
        def remap(olds: tuple) -> list:
            try:
                return [None if old is None and nullable else ids[old] for old in olds]
            except KeyError as exc:
                raise ArchiveError(
                    f"{name} refers to a record the archive does not hold ({column} {exc.args[0]!r})"
                ) from None

        return remap

    remap = {"id": new_ids, **{column: mapper(column, ids, nullable) for column, ids, nullable in refs}}
    return archive.insert_member(conn, zf, manifest, name, account_id, remap)


def _checked_team(zf, manifest: dict) -> list[dict]:
    team = list(archive.member_rows(zf, manifest, "team.json"))
    _ids(team, "team.json")
    if [m.get("role") for m in team].count(ROLE_OWNER) != 1:
        raise ArchiveError("team.json does not name exactly one owner")
    for m in team:
        if m.get("role") not in ROLES or not isinstance(m.get("email"), str):
            raise ArchiveError("team.json has a member without a known role or an email")
    return team


def import_account(
    engine: Engine,
    path: str | os.PathLike,
    *,
    email: str,
    account_name: str,
    password: str,
    now=None,
    progress: Callable[[str], None] | None = None,
) -> Imported:
    """Make a new account of the archive at ``path``, owned by ``email`` (see the module's
    docstring). Refuses (:class:`ArchiveError`, :class:`InvalidInput`) without changing
    anything."""
    email, account_name = check_request(email, account_name, password)
    path = Path(path)
    if not path.is_file():
        raise ArchiveError(f"no archive at {path}")
    say = progress or (lambda _text: None)
    with archive.open_zip(path) as zf:
        say("Checking the archive…")
        try:
            manifest = archive.verify_archive(zf)
            refuse_nul_in_archive([manifest], "manifest.json")
        except (KeyError, TypeError, AttributeError):  # a manifest of the right format but wrong shape
            raise ArchiveError("the archive's manifest is damaged") from None
        account = manifest.get("account")
        if not isinstance(account, dict) or not isinstance(account.get("plan_code"), str):
            raise ArchiveError("the archive's manifest does not describe an account")
        try:
            team = _checked_team(zf, manifest)
        except (ValueError, TypeError) as exc:
            raise ArchiveError(f"team.json holds a value crm-tui cannot read ({exc})") from None
        owner = next(m for m in team if m["role"] == ROLE_OWNER)
        others = [m for m in team if m is not owner]
        # the slow hashes before the write transaction, which never waits on them
        owner_hash = hash_password(password)
        temporary = {m["id"]: secrets.token_urlsafe(9) for m in others}
        hashes = {mid: hash_password(p) for mid, p in temporary.items()}
        say("Importing…")
        now = now or clock.now()
        with db.write_session(engine) as s:
            conn = s.connection()
            why = _email_in_use(conn, email)
            if why == "in use":
                raise InvalidInput(f"{email} already has a crm-tui account; nothing was imported")
            if why == "reserved":
                raise InvalidInput(
                    f"{email} belongs to a closed account that can still be restored "
                    "(ask support); use another email; nothing was imported"
                )
            try:
                result = _import(
                    conn, zf, manifest, account, team, email, account_name, owner_hash, temporary, hashes, now
                )
            except (ValueError, TypeError) as exc:  # a JSON member's value of the wrong kind
                raise ArchiveError(
                    f"the archive holds a value crm-tui cannot read ({exc}); nothing was imported"
                ) from None
            except (StatementError, DBAPIError) as exc:
                first = str(getattr(exc, "orig", None) or exc).strip().splitlines()
                raise ArchiveError(
                    f"the database refused a row of the archive ({first[0] if first else 'error'}); "
                    "nothing was imported"
                ) from None
            audit.append(
                s,
                "account.import",
                actor=audit.actor_of(result.members_map[owner["id"]]),
                account_id=result.account_id,
                details={
                    "counts": result.counts,
                    "kind": manifest.get("kind"),
                    "new_account": True,
                    "temporary_passwords": len(result.members),
                    "members_not_restored": len(result.not_members),
                },
                at=now,
            )
    return Imported(result.account_id, account_name, email, result.counts, result.members, result.not_members)


@dataclass
class _Result:
    account_id: int
    counts: dict[str, int]
    members: tuple[TemporaryPassword, ...]
    not_members: tuple[str, ...]
    members_map: dict[int, int]


def _import(
    conn: Connection,
    zf,
    manifest: dict,
    account: dict,
    team: list[dict],
    email: str,
    account_name: str,
    owner_hash: str,
    temporary: dict[int, str],
    hashes: dict[int, str],
    now,
) -> _Result:
    acc = Account.__table__
    try:
        plan_id = billing.plan_id_for(conn, account["plan_code"])
    except NotFound:
        raise ArchiveError(
            f"the archive's plan {account['plan_code']!r} is not offered here; nothing was imported"
        ) from None
    # the plan and the billing details come along; the name, status and dates are the new account's
    kept: dict[str, Any] = {
        k: account[k] for k in ("card_brand", "card_last4", "card_expiry") if isinstance(account.get(k), str)
    }
    if isinstance(account.get("billing_day"), int):
        kept["billing_day"] = account["billing_day"]
    account_id = conn.execute(
        insert(acc).returning(acc.c.id),
        [
            {
                "name": account_name,
                "slug": "-".join(account_name.lower().replace("&", "and").split()),
                "plan_id": plan_id,
                "status": "active",
                "created_at": now,
                **kept,
            }
        ],
    ).scalar_one()
    svc = account.get("messages_service")
    if isinstance(svc, dict):
        ms = MessagesService.__table__
        cols = {c.name: c for c in ms.columns if c.name not in ("id", "account_id")}
        conn.execute(
            insert(ms),
            [{"account_id": account_id, **{k: archive.from_json(cols[k], v) for k, v in svc.items() if k in cols}}],
        )

    # team: the archive's owner is the importer; the others come back if their email is free
    members: dict[int, int] = {}
    came_back: list[TemporaryPassword] = []
    not_members: list[str] = []
    seen = {email}
    rows: list[dict] = []
    for m in team:  # in the archive's order, which new ids keep
        if m["role"] == ROLE_OWNER:
            owner = m
            rows.append({**m, "email": email, "password_hash": owner_hash})
            continue
        address = normalise_email(m["email"])
        if address in seen or _email_in_use(conn, address):
            not_members.append(address)
            continue
        seen.add(address)
        rows.append({**m, "email": address, "password_hash": hashes[m["id"]]})
        came_back.append(TemporaryPassword(address, str(m.get("name", "")), m["role"], temporary[m["id"]]))
    n, pairs = _insert(conn, Member, iter(rows), account_id, returning=True)
    members.update(pairs)
    owner_id = members[owner["id"]]
    for m in team:
        members.setdefault(m["id"], owner_id)  # not back as a member: their records are the owner's
    counts = {"team_members": n}

    def rows_of(name: str, refs: tuple[tuple[str, dict[int, int], bool], ...]) -> Iterator[dict]:
        for row in archive.member_rows(zf, manifest, name):
            for column, ids, nullable in refs:
                _remap(row, column, ids, name, nullable)
            yield row

    contacts: dict[int, int] = {}
    counts["contacts"] = _insert_csv(
        conn, zf, manifest, "contacts.csv", account_id, (("owner_id", members, False),), keep=contacts
    )

    templates: dict[int, int] = {}
    n, pairs = _insert(conn, EmailTemplate, rows_of("email_templates.json", ()), account_id, returning=True)
    templates.update(pairs)
    counts["email_templates"] = n

    responders = list(archive.member_rows(zf, manifest, "autoresponders.json"))
    _ids(responders, "autoresponders.json")
    steps = {r["id"]: r.pop("steps") for r in responders}
    n, pairs = _insert(conn, Autoresponder, iter(responders), account_id, returning=True)
    counts["autoresponders"] = n
    step_rows: list[dict] = []
    for old, new in pairs:
        for step in steps[old]:
            _remap(step, "template_id", templates, "autoresponders.json")
            step["autoresponder_id"] = new
            step_rows.append(step)
    _insert(conn, AutoresponderStep, iter(step_rows), account_id)

    contact_ref = ("contact_id", contacts, True)
    for name, kind, refs in (
        ("appointments.csv", "appointments", (("owner_id", members, False), contact_ref)),
        ("todos.csv", "todos", (("assignee_id", members, False), contact_ref)),
        ("history.csv", "history", (("member_id", members, False), contact_ref)),
        ("messages.csv", "text_messages", (contact_ref,)),
        ("invoices.csv", "invoices", ()),
    ):
        counts[kind] = _insert_csv(conn, zf, manifest, name, account_id, refs)

    expected = manifest.get("counts", {})
    read = {**counts, "team_members": len(team)}
    for kind, n in read.items():
        if kind in expected and expected[kind] != n:
            raise ArchiveError(
                f"the archive holds {n} {archive.KIND_LABELS[kind]}, its manifest says "
                f"{expected[kind]}; nothing was imported"
            )
    ordered = {kind: counts.get(kind, 0) for kind in archive.KINDS}
    return _Result(account_id, ordered, tuple(came_back), tuple(not_members), members)
