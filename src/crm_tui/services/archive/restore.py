"""Restoring an archive: every row it holds inserted under its original ids, inside the
caller's transaction, through the archive's database interface (:mod:`.database`)."""

from __future__ import annotations

import csv
import zipfile
from collections.abc import Callable

from sqlalchemy import func, insert, select
from sqlalchemy.engine import Connection

from crm_tui import db
from crm_tui.models import (
    Account,
    Autoresponder,
    AutoresponderStep,
    EmailTemplate,
    Member,
    MessagesService,
    SshKey,
)
from crm_tui.services.archive.database import database_for
from crm_tui.services.archive.format import (
    CSV_MEMBERS,
    DATA_MEMBERS,
    KIND_LABELS,
    KINDS,
    Progress,
    ProgressCounter,
    from_json,
    table_of,
    unneutralise,
)
from crm_tui.services.archive.portable import insert_batches
from crm_tui.services.archive.reader import MemberReader, json_to_rows, read_json, read_manifest
from crm_tui.services.errors import ArchiveError
from crm_tui.services.inputs import refuse_nul_in_archive


def import_archive(
    conn: Connection,
    zf: zipfile.ZipFile,
    *,
    unusable_password: str,
    progress: Progress | None = None,
    refuse_nul: bool = False,
) -> tuple[int, dict[str, int]]:
    """Insert everything the archive holds, under its original ids, inside the caller's
    transaction. Returns the account id and the counts inserted per kind. ``refuse_nul``:
    the archive comes from outside (an import of an export), where a NUL character is refused
    (see :mod:`crm_tui.services.inputs`); a backup of this database's own rows is not."""
    manifest = read_manifest(zf)
    if refuse_nul:
        refuse_nul_in_archive([manifest], "manifest.json")
    account = dict(manifest["account"])
    account_id = account["id"]
    acc = table_of(Account)
    if conn.execute(select(acc.c.id).where(acc.c.id == account_id)).first():
        raise ArchiveError("that account exists already; nothing was restored")
    from crm_tui.services import billing  # a plan catalogue must exist before the account

    plan_id = billing.plan_id_for(conn, account.pop("plan_code"))
    svc = account.pop("messages_service", None)
    cols = {c.name: c for c in acc.columns}
    conn.execute(
        insert(acc),
        [{"plan_id": plan_id, **{k: from_json(cols[k], v) for k, v in account.items() if k in cols}}],
    )
    if svc:
        ms_cols = {c.name: c for c in table_of(MessagesService).columns}
        conn.execute(
            insert(table_of(MessagesService)),
            [{"account_id": account_id, **{k: from_json(ms_cols[k], v) for k, v in svc.items() if k in ms_cols}}],
        )

    total = sum(manifest.get("counts", {}).values())
    tick = ProgressCounter(total, progress)
    database = database_for(conn)
    counts: dict[str, int] = {}

    team = read_json(zf, manifest, "team.json", refuse_nul=refuse_nul)
    from crm_tui.services import reserved  # a closed account's emails stay its own

    reserved.refuse_reserved(
        conn, [str(item.get("email", "")) for item in team], what="nothing was restored", except_account=account_id
    )
    mem = table_of(Member)
    for item in team:
        clash = conn.execute(
            select(mem.c.id).where(func.lower(mem.c.email) == str(item.get("email", "")).lower())
        ).first()
        if clash:
            raise ArchiveError("a team member's email now belongs to another account; nothing was restored")
    counts["team_members"] = insert_batches(
        conn, Member, json_to_rows(Member, team, account_id, {"password_hash": unusable_password})
    )
    tick(counts["team_members"])

    for name in DATA_MEMBERS[1:]:
        if name in CSV_MEMBERS:
            model = CSV_MEMBERS[name]
            reader = MemberReader(zf, manifest, name, refuse_nul=refuse_nul)
            uncell = unneutralise if name in manifest.get("formula_escaped", ()) else None
            n = database.insert_csv(conn, reader, model, account_id, uncell, tick)
            reader.check()
            kind = {v: k for k, v in KINDS.items()}[model]
            counts[kind] = n
        elif name == "email_templates.json":
            items = read_json(zf, manifest, name, refuse_nul=refuse_nul)
            counts["email_templates"] = insert_batches(
                conn, EmailTemplate, json_to_rows(EmailTemplate, items, account_id)
            )
            tick(counts["email_templates"])
        elif name == "autoresponders.json":
            items = read_json(zf, manifest, name, refuse_nul=refuse_nul)
            steps = [step for item in items for step in item.get("steps", [])]
            counts["autoresponders"] = insert_batches(
                conn, Autoresponder, json_to_rows(Autoresponder, items, account_id)
            )
            insert_batches(conn, AutoresponderStep, json_to_rows(AutoresponderStep, steps, account_id))
            tick(counts["autoresponders"])
        elif name == "ssh_keys.json" and name in manifest.get("members", {}):
            _insert_ssh_keys(conn, read_json(zf, manifest, name), account_id)
    expected = manifest.get("counts", {})
    for kind, n in counts.items():
        if kind in expected and expected[kind] != n:
            raise ArchiveError(f"the archive holds {n} {KIND_LABELS[kind]}, its manifest says {expected[kind]}")
    # rows went in under their own ids: the next ones handed out must come after them
    db.advance_id_sequences(
        conn,
        [
            Account,
            MessagesService,
            Member,
            *CSV_MEMBERS.values(),
            EmailTemplate,
            Autoresponder,
            AutoresponderStep,
            SshKey,
        ],
    )
    return account_id, counts


def _insert_ssh_keys(conn: Connection, items: list, account_id: int) -> None:
    """The members' SSH keys, except one linked meanwhile to a member of another account (a
    key belongs to one member; it stays theirs)."""
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise ArchiveError("ssh_keys.json is not a list of records")
    rows = list(json_to_rows(SshKey, items, account_id))
    t = table_of(SshKey)
    taken = set(conn.execute(select(t.c.key_data).where(t.c.key_data.in_([r.get("key_data") for r in rows]))).scalars())
    insert_batches(conn, SshKey, (r for r in rows if r.get("key_data") not in taken))


def insert_member(
    conn: Connection,
    zf: zipfile.ZipFile,
    manifest: dict,
    name: str,
    account_id: int,
    remap: dict[str, Callable[[tuple], list]],
) -> int:
    """Insert a CSV data member's rows under ``account_id`` the way restore does, each
    batch's columns named in ``remap`` replaced by what their function returns (new ids,
    remapped references); only where the connection's :class:`.portable.PortableDatabase`
    :attr:`~.portable.PortableDatabase.assigns_ids` (SQLite: the functions get stored values).
    Checks the member's checksum; a NUL refuses it (an import); returns how many rows."""
    reader = MemberReader(zf, manifest, name, refuse_nul=True)
    uncell = unneutralise if name in manifest.get("formula_escaped", ()) else None
    try:
        n = database_for(conn).insert_csv(
            conn, reader, CSV_MEMBERS[name], account_id, uncell, ProgressCounter(0, None), remap
        )
    except csv.Error as exc:
        raise ArchiveError(f"{name} is damaged: {exc}") from None
    reader.check()
    return n
