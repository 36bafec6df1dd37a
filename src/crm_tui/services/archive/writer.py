"""Writing an archive: members stream into the zip, each one hashed and counted as it is
written; the data members' rows come from the account through the archive's database
interface (:mod:`.database`)."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import tzinfo
from typing import IO, Any, Protocol

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from crm_tui.models import (
    Account,
    Autoresponder,
    AutoresponderStep,
    EmailTemplate,
    Member,
    MessagesService,
    Plan,
    SshKey,
)
from crm_tui.services import clock
from crm_tui.services.archive.database import database_for
from crm_tui.services.archive.format import (
    BOM,
    CSV_MEMBERS,
    DATA_MEMBERS,
    KINDS,
    MANIFEST,
    Progress,
    ProgressCounter,
    base_manifest,
    columns,
    table_of,
    to_json,
)
from crm_tui.services.archive.portable import Tap
from crm_tui.services.archive.postgresql import PostgreSQLDatabase
from crm_tui.services.errors import ArchiveError


class MemberSink:
    """Buffers text, encodes it once per block, hashes and counts what reaches the zip."""

    rows: int | None  # set by the member's opener; the rows written, when someone counts them

    def __init__(self, raw: IO[bytes]) -> None:
        self._raw = raw
        self._parts: list[str] = []
        self._size = 0
        self.sha = hashlib.sha256()
        self.bytes = 0

    def write(self, text: str) -> int:
        self._parts.append(text)
        self._size += len(text)
        if self._size >= 1 << 16:
            self.flush()
        return len(text)

    def flush(self) -> None:
        if self._parts:
            data = "".join(self._parts).encode("utf-8")
            self._parts.clear()
            self._size = 0
            self.sha.update(data)
            self.bytes += len(data)
            self._raw.write(data)

    def write_bytes(self, data: bytes) -> None:
        """UTF-8 text already encoded (after whatever text is buffered)."""
        self.flush()
        self.sha.update(data)
        self.bytes += len(data)
        self._raw.write(data)


class BinarySink(Protocol):
    """What the zip is written to: a file, or a stream such as the backup's encrypting writer."""

    def write(self, b: bytes, /) -> int: ...
    def flush(self) -> None: ...
    def close(self) -> None: ...


@dataclass
class ArchiveWriter:
    """Streams members into a zip and records each one's sha256, size and row count."""

    out: IO[bytes] | BinarySink
    kind: str
    compresslevel: int = 1
    members: dict[str, dict] = field(default_factory=dict)
    formula_escaped: list[str] = field(default_factory=list)
    zone: tzinfo | None = None  # of the members' dates (an export: the member's); None: the machine's

    def __post_init__(self) -> None:
        self.zip = zipfile.ZipFile(self.out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=self.compresslevel)

    def member(self, name: str):
        return _OpenMember(self, name)

    def info(self, name: str) -> zipfile.ZipInfo:
        """A member entry dated now (local time, as zip tools show it), private when unpacked."""
        info = zipfile.ZipInfo(name, date_time=clock.now().astimezone(self.zone).timetuple()[:6])
        info.compress_type = zipfile.ZIP_DEFLATED
        # Python 3.11's name (3.13 keeps it as an alias); private, so typeshed does not declare it
        info._compresslevel = self.compresslevel  # type: ignore[attr-defined]
        info.external_attr = 0o100600 << 16
        return info

    def write_csv(self, name: str, header: list[str], rows: Iterable[list]) -> int:
        with self.member(name) as sink:
            sink.write(BOM)
            writer = csv.writer(sink, lineterminator="\r\n")
            writer.writerow(header)
            counted = _Counter(rows)
            writer.writerows(counted)
            sink.rows = counted.n
        return counted.n

    def write_csv_batches(self, name: str, header: list[str], batches: Iterable[list]) -> int:
        """Like :meth:`write_csv` for rows that come in batches: each batch is formatted in
        one call and reaches the member as one string."""
        with self.member(name) as sink:
            sink.write(BOM)
            buf = io.StringIO()
            writer = csv.writer(buf, lineterminator="\r\n")
            writer.writerow(header)
            n = 0
            for batch in batches:
                writer.writerows(batch)
                n += len(batch)
                sink.write(buf.getvalue())
                buf.seek(0)
                buf.truncate()
            sink.write(buf.getvalue())
            sink.rows = n
        return n

    def write_csv_blocks(self, name: str, header: list[str], blocks: Iterable[tuple[bytes, int]]) -> int:
        """Like :meth:`write_csv_batches` for rows already formatted: UTF-8 CSV bytes (``\\r\\n``
        line ends) with their number of rows, written after the header as they come."""
        with self.member(name) as sink:
            sink.write(BOM)
            buf = io.StringIO()
            csv.writer(buf, lineterminator="\r\n").writerow(header)
            sink.write(buf.getvalue())
            n = 0
            for data, rows in blocks:
                sink.write_bytes(data)
                n += rows
            sink.rows = n
        return n

    def write_json(self, name: str, payload: Any, rows: int | None = None) -> None:
        with self.member(name) as sink:
            sink.write(json.dumps(payload, ensure_ascii=False, indent=1, sort_keys=False))
            sink.write("\n")
            sink.rows = rows

    def write_text(self, name: str, text: str) -> None:
        with self.member(name) as sink:
            sink.write(text)

    def abort(self) -> None:
        """Give up after an error (the caller discards the file)."""
        try:
            self.zip.close()
        except Exception:  # the file may be closed or broken already
            pass

    def close(self, manifest: dict) -> dict:
        manifest["formula_escaped"] = self.formula_escaped
        manifest["members"] = self.members
        data = json.dumps(manifest, ensure_ascii=False, indent=1).encode("utf-8")
        self.zip.writestr(self.info(MANIFEST), data)
        self.zip.close()
        return manifest


class _Counter:
    def __init__(self, items: Iterable) -> None:
        self._it = iter(items)
        self.n = 0

    def __iter__(self):
        return self

    def __next__(self):
        item = next(self._it)
        self.n += 1
        return item


class _OpenMember:
    def __init__(self, writer: ArchiveWriter, name: str) -> None:
        self.writer, self.name = writer, name

    def __enter__(self) -> MemberSink:
        self.raw = self.writer.zip.open(self.writer.info(self.name), "w", force_zip64=True)
        self.sink = MemberSink(self.raw)
        self.sink.rows = None
        return self.sink

    def __exit__(self, exc_type, *_exc) -> None:
        self.sink.flush()
        self.raw.close()
        if exc_type is None:
            entry = {"sha256": self.sink.sha.hexdigest(), "bytes": self.sink.bytes}
            if self.sink.rows is not None:
                entry["rows"] = self.sink.rows
            self.writer.members[self.name] = entry


def count_rows(conn: Connection, account_id: int) -> dict[str, int]:
    counts = {}
    for kind, model in KINDS.items():
        t = table_of(model)
        counts[kind] = conn.execute(
            select(func.count()).select_from(t).where(t.c.account_id == account_id)
        ).scalar_one()
    return counts


def account_record(conn: Connection, account_id: int) -> dict:
    acc = table_of(Account)
    plan = table_of(Plan)
    row = (
        conn.execute(
            select(acc, plan.c.code.label("plan_code"))
            .join(plan, plan.c.id == acc.c.plan_id)
            .where(acc.c.id == account_id)
        )
        .mappings()
        .first()
    )
    if row is None:
        raise ArchiveError(f"no account with id {account_id}")
    record = {k: to_json(v) for k, v in row.items() if k != "plan_id"}
    ms = table_of(MessagesService)
    svc = conn.execute(select(ms).where(ms.c.account_id == account_id)).mappings().first()
    record["messages_service"] = {k: to_json(v) for k, v in svc.items() if k != "account_id"} if svc else None
    return record


def _json_rows(conn: Connection, model, account_id: int, cols: list) -> list[dict]:
    t = table_of(model)
    rows = conn.execute(select(*cols).where(t.c.account_id == account_id).order_by(t.c.id))
    return [{c.name: to_json(v) for c, v in zip(cols, row, strict=False)} for row in rows]


def write_data_members(
    w: ArchiveWriter,
    conn: Connection,
    account_id: int,
    *,
    include_password_hashes: bool,
    progress: Progress | ProgressCounter | None = None,
    neutralise_formulas: bool = False,
    counts: dict[str, int] | None = None,
    taps: Mapping[str, Tap] | None = None,
) -> dict[str, int]:
    """Write every data member of the account; returns the counts per kind.

    With ``neutralise_formulas`` every CSV cell is escaped with :func:`neutralise` (the
    manifest's ``formula_escaped`` lists those members; import undoes it)."""
    counts = counts if counts is not None else count_rows(conn, account_id)
    database = database_for(conn)
    tick = progress if isinstance(progress, ProgressCounter) else ProgressCounter(sum(counts.values()), progress)

    team_cols = [c for c in columns(Member) if include_password_hashes or c.name != "password_hash"]
    team = _json_rows(conn, Member, account_id, team_cols)
    w.write_json("team.json", team, rows=len(team))
    tick(len(team))

    for name in DATA_MEMBERS:
        if name in CSV_MEMBERS:
            model = CSV_MEMBERS[name]
            cols = columns(model)
            tap = (taps or {}).get(name)
            if isinstance(database, PostgreSQLDatabase) and tap is None and database.usable(conn, cols):
                blocks = database.csv_blocks(conn, model, account_id, cols, tick, neutralise_formulas)
                w.write_csv_blocks(name, [c.name for c in cols], blocks)
            else:
                batches = database.csv_batches(conn, model, account_id, cols, tick, neutralise_formulas, tap=tap)
                w.write_csv_batches(name, [c.name for c in cols], batches)
            if neutralise_formulas:
                w.formula_escaped.append(name)
        elif name == "email_templates.json":
            templates = _json_rows(conn, EmailTemplate, account_id, columns(EmailTemplate))
            w.write_json(name, templates, rows=len(templates))
            tick(len(templates))
        elif name == "autoresponders.json":
            responders = _json_rows(conn, Autoresponder, account_id, columns(Autoresponder))
            step_cols = [c for c in columns(AutoresponderStep)]
            steps = _json_rows(conn, AutoresponderStep, account_id, step_cols)
            by_parent: dict[int, list] = {}
            for step in steps:
                by_parent.setdefault(step["autoresponder_id"], []).append(step)
            for r in responders:
                r["steps"] = sorted(by_parent.get(r["id"], []), key=lambda s: (s["position"], s["id"]))
            w.write_json(name, responders, rows=len(responders))
            tick(len(responders))
        elif name == "ssh_keys.json":
            keys = _json_rows(conn, SshKey, account_id, columns(SshKey))
            w.write_json(name, keys, rows=len(keys))
    return counts


def write_backup_archive(conn: Connection, account_id: int, out: BinarySink, progress: Progress | None = None) -> dict:
    """The data members only (password hashes included), for the encrypted backup;
    ``progress(done, total)`` as the rows are written."""
    w = ArchiveWriter(out, "backup")
    try:
        account = account_record(conn, account_id)
        counts = write_data_members(w, conn, account_id, include_password_hashes=True, progress=progress)
        return w.close(base_manifest("backup", account, counts))
    except BaseException:
        w.abort()
        raise
