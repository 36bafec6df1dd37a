"""The account archive: one zip format for "download my data", backups and restore.

This module writes and reads the *data members* — lossless, and the only members restore
reads. Rows stream from a database cursor into the zip; nothing holds a whole table in memory.

    manifest.json          format version, kind, account, counts, sha256 of every member
    contacts.csv  appointments.csv  todos.csv  history.csv  messages.csv  invoices.csv
    email_templates.json   autoresponders.json   team.json

CSV is RFC 4180 (``\\r\\n`` line ends, minimal quoting), UTF-8, with a header row. Text columns
are never NULL in the database, so an empty CSV field is ``NULL`` only for non-text columns.
Every CSV member starts with a UTF-8 byte-order mark (:data:`BOM`), so spreadsheet programs
(Excel, LibreOffice) read it as UTF-8: ``Zoë``, not ``ZoÃ«``. The manifest's sha256 and size
cover the bytes as written, the mark included; reading skips it, and reads archives written
before it was added (without one) alike.
"""

from __future__ import annotations

import csv
import gc
import hashlib
import io
import json
import re
import sys
import zipfile
import zlib
from collections import deque
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timezone, tzinfo
from itertools import chain, islice, repeat
from operator import itemgetter
from typing import IO, Any, Callable, Iterable, Iterator

from sqlalchemy import Integer, String, Table, TypeDecorator, func, insert, select, type_coerce
from sqlalchemy.engine import Connection

from crm_tui import __version__
from crm_tui.models import (
    Account,
    Appointment,
    Autoresponder,
    AutoresponderStep,
    Contact,
    EmailTemplate,
    HistoryEntry,
    Invoice,
    Member,
    MessagesService,
    Plan,
    TextMessage,
    Todo,
)
from crm_tui.services import clock
from crm_tui.services.errors import ArchiveError

FORMAT = "crm-tui-account-archive"
BOM = "\ufeff"  # starts every CSV member (see above)
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
BATCH = 5000

Progress = Callable[[int, int], None]

# member name -> table, in restore order (parents first)
CSV_MEMBERS: dict[str, Any] = {
    "contacts.csv": Contact,
    "appointments.csv": Appointment,
    "todos.csv": Todo,
    "history.csv": HistoryEntry,
    "messages.csv": TextMessage,
    "invoices.csv": Invoice,
}
# the user-facing kinds counted in manifests, receipts and the impact screen
KINDS: dict[str, Any] = {
    "contacts": Contact,
    "appointments": Appointment,
    "todos": Todo,
    "email_templates": EmailTemplate,
    "autoresponders": Autoresponder,
    "history": HistoryEntry,
    "text_messages": TextMessage,
    "team_members": Member,
    "invoices": Invoice,
}
KIND_LABELS = {
    "contacts": "contacts",
    "appointments": "appointments",
    "todos": "to-dos",
    "email_templates": "email templates",
    "autoresponders": "autoresponders",
    "history": "history entries",
    "text_messages": "text messages",
    "team_members": "team members",
    "invoices": "invoices",
}
DATA_MEMBERS = (
    "team.json",
    "contacts.csv",
    "email_templates.json",
    "autoresponders.json",
    "appointments.csv",
    "todos.csv",
    "history.csv",
    "messages.csv",
    "invoices.csv",
)
MEMBER_SKIP = {"account_id", "failed_logins", "last_failed_at"}


def _table(model) -> Table:
    return model.__table__


def columns(model) -> list:
    return [c for c in _table(model).columns if c.name not in MEMBER_SKIP]


@contextmanager
def bulk_work() -> Iterator[None]:
    """Pause the cyclic garbage collector while rows stream: the loops make hundreds of
    thousands of short-lived tuples and no reference cycles, and each automatic collection
    would walk them all again (about a third of a large restore's Python time)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


# --- value conversion ------------------------------------------------------------------


def to_text(value: Any) -> str:
    if value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return str(value)


# Spreadsheet formula injection (OWASP): a cell starting with one of these is opened as a
# formula by Excel, LibreOffice and Sheets. Such a cell gets a leading apostrophe (shown as
# text, not evaluated). A cell that already starts with an apostrophe gets one too, so the
# escape is reversible: on import exactly one leading apostrophe is removed.
FORMULA_START = frozenset("=+-@\t\r'")


def neutralise(text: str) -> str:
    return "'" + text if text and text[0] in FORMULA_START else text


def unneutralise(text: str) -> str:
    return text[1:] if text[:1] == "'" else text


def _to_json(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value


_PTYPES: dict = {}


def _python_type(col) -> type:
    """The Python type a column holds (looking through TypeDecorators such as AutoString)."""
    key = (col.table.name, col.name)
    if key not in _PTYPES:
        t = col.type
        if isinstance(t, TypeDecorator):
            t = t.impl_instance
        try:
            _PTYPES[key] = t.python_type
        except NotImplementedError:  # pragma: no cover - every column here has one
            _PTYPES[key] = str
    return _PTYPES[key]


def from_text(col, text: str) -> Any:
    ptype = _python_type(col)
    if ptype is str:
        return text
    if text == "":
        if col.nullable:
            return None
        raise ValueError(f"empty value for {col.name}")
    if ptype is bool:
        if text not in ("true", "false"):
            raise ValueError(f"not a boolean: {text!r}")
        return text == "true"
    if ptype is int:
        return int(text)
    if ptype is float:
        return float(text)
    if ptype is datetime:
        value = datetime.fromisoformat(text)
        if value.tzinfo is None:
            raise ValueError(f"timestamp without a time zone: {text!r}")
        return value
    if ptype is date:
        return date.fromisoformat(text)
    if ptype is bytes:
        return bytes.fromhex(text)
    return text


def _from_json(col, value: Any) -> Any:
    if value is None:
        return None
    ptype = _python_type(col)
    if ptype in (datetime, date) and isinstance(value, str):
        return from_text(col, value)
    return value


# --- writing -----------------------------------------------------------------------------


class _MemberSink:
    """Buffers text, encodes it once per block, hashes and counts what reaches the zip."""

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


@dataclass
class ArchiveWriter:
    """Streams members into a zip and records each one's sha256, size and row count."""

    out: IO[bytes]
    kind: str
    compresslevel: int = 1
    members: dict[str, dict] = field(default_factory=dict)
    formula_escaped: list[str] = field(default_factory=list)
    zone: tzinfo | None = None  # of the members' dates (an export: the member's); None: the machine's

    def __post_init__(self) -> None:
        self.zip = zipfile.ZipFile(
            self.out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=self.compresslevel
        )

    def member(self, name: str):
        return _OpenMember(self, name)

    def info(self, name: str) -> zipfile.ZipInfo:
        """A member entry dated now (local time, as zip tools show it), private when unpacked."""
        info = zipfile.ZipInfo(name, date_time=clock.now().astimezone(self.zone).timetuple()[:6])
        info.compress_type = zipfile.ZIP_DEFLATED
        info._compresslevel = self.compresslevel  # Python 3.11's name (3.13 keeps it as an alias)
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

    def __enter__(self) -> _MemberSink:
        self.raw = self.writer.zip.open(self.writer.info(self.name), "w", force_zip64=True)
        self.sink = _MemberSink(self.raw)
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
        t = _table(model)
        counts[kind] = conn.execute(
            select(func.count()).select_from(t).where(t.c.account_id == account_id)
        ).scalar_one()
    return counts


def account_record(conn: Connection, account_id: int) -> dict:
    acc = _table(Account)
    plan = _table(Plan)
    row = conn.execute(
        select(acc, plan.c.code.label("plan_code"))
        .join(plan, plan.c.id == acc.c.plan_id)
        .where(acc.c.id == account_id)
    ).mappings().first()
    if row is None:
        raise ArchiveError(f"no account with id {account_id}")
    record = {k: _to_json(v) for k, v in row.items() if k != "plan_id"}
    ms = _table(MessagesService)
    svc = conn.execute(select(ms).where(ms.c.account_id == account_id)).mappings().first()
    record["messages_service"] = (
        {k: _to_json(v) for k, v in svc.items() if k != "account_id"} if svc else None
    )
    return record


def _text_cell(value: Any) -> str:
    return "" if value is None else value


def _neutral_cell(value: Any) -> str:
    if not value:
        return ""
    return "'" + value if value[0] in FORMULA_START else value


def cell_converter(col, neutral: bool = False) -> Callable[[Any], str]:
    """The function turning one column's value into its CSV text (see :func:`from_text`)."""
    if _python_type(col) is str:
        return _neutral_cell if neutral else _text_cell
    return to_text


# On SQLite, timestamps, dates and booleans are read as the stored text/integers and turned
# into CSV text directly: the same text as the typed path (``to_text``), without building a
# datetime per cell (that dominated the time of a large export).


def _sqlite_datetime_text(value: str | None) -> str:
    """``2025-11-07 02:55:00.000000`` (stored UTC) -> ``2025-11-07T02:55:00+00:00``."""
    if value is None:
        return ""
    if len(value) == 26 and value[10] == " " and value[19] == ".":
        frac = value[20:]
        return f"{value[:10]}T{value[11:19]}{'' if frac == '000000' else '.' + frac}+00:00"
    parsed = datetime.fromisoformat(value)
    parsed = parsed.replace(tzinfo=timezone.utc) if parsed.tzinfo is None else parsed.astimezone(timezone.utc)
    return parsed.isoformat()


def _sqlite_date_text(value: str | None) -> str:
    if value is None:
        return ""
    if len(value) == 10 and value[4] == "-" and value[7] == "-":
        return value
    return date.fromisoformat(value[:10]).isoformat()


def _bool_text(value) -> str:
    return "" if value is None else ("true" if value else "false")


def select_as_text(conn: Connection, cols: list, neutral: bool = False) -> tuple[list, list[Callable[[Any], str]]]:
    """Column expressions to SELECT and, for each, the function making its CSV text."""
    sqlite = conn.dialect.name == "sqlite"
    exprs: list = []
    convert: list = []
    for col in cols:
        ptype = _python_type(col)
        if sqlite and ptype is datetime:
            exprs.append(type_coerce(col, String).label(col.name))
            convert.append(_sqlite_datetime_text)
        elif sqlite and ptype is date:
            exprs.append(type_coerce(col, String).label(col.name))
            convert.append(_sqlite_date_text)
        elif sqlite and ptype is bool:
            exprs.append(type_coerce(col, Integer).label(col.name))
            convert.append(_bool_text)
        else:
            exprs.append(col)
            convert.append(cell_converter(col, neutral))
    return exprs, convert


def stream(conn: Connection, statement) -> Iterator[list]:
    """Rows of a SELECT, fetched from a server-side cursor one batch at a time."""
    result = conn.execution_options(stream_results=True, yield_per=BATCH).execute(statement)
    for partition in result.partitions(BATCH):
        yield partition


def raw_batches(conn: Connection, statement, size: int = BATCH) -> Iterator[list[tuple]]:
    """SQLite: the rows of a SELECT as the driver's own tuples, ``size`` at a time, inside the
    connection's transaction. Skips SQLAlchemy's row objects (a fifth to a third of the time of
    reading a large account) and its result processing, so columns come as SQLite stores them:
    timestamps and dates as text, booleans as 0/1."""
    compiled = statement.compile(conn, compile_kwargs={"render_postcompile": True})
    params = [compiled.params[k] for k in compiled.positiontup or ()]
    cursor = conn.connection.cursor()
    try:
        cursor.execute(compiled.string, params)
        while rows := cursor.fetchmany(size):
            yield rows
    finally:
        cursor.close()


# The fastest path, on SQLite: plain columns in the driver's tuples, and the few columns that
# need it turned into CSV text a whole column of a batch at a time (the same text as
# ``to_text`` and ``neutralise``): one regular expression checks a column's layout and string
# replacements do the rest; a column that does not match goes cell by cell.
_STORED_DT = r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}"
_STORED_DT_COLUMN = re.compile(f"(?:(?:{_STORED_DT}|None)\n)*(?:{_STORED_DT}|None)")
_STORED_DATE = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
_STORED_DATE_COLUMN = re.compile(f"(?:(?:{_STORED_DATE}|None)\n)*(?:{_STORED_DATE}|None)")
_BOOL_TEXT = {0: "false", 1: "true", None: ""}


def _datetime_texts(values) -> list:
    """Stored timestamps (``2025-11-07 02:55:00.000000``, or NULL) -> ``2025-11-07T02:55:00+00:00``
    (``""`` for NULL)."""
    joined = "\n".join(map(str, values))  # NULL -> "None", which the pattern allows as a line
    if not _STORED_DT_COLUMN.fullmatch(joined) or "None" in values:
        return [_sqlite_datetime_text(v) for v in values]
    joined = (joined.replace(" ", "T") + "\n").replace(".000000\n", "\n").replace("\n", "+00:00\n")
    return joined.replace("None+00:00\n", "\n").split("\n")[:-1]


def _date_texts(values) -> list:
    if not _STORED_DATE_COLUMN.fullmatch("\n".join(map(str, values))) or "None" in values:
        return [_sqlite_date_text(v) for v in values]
    return values  # the stored text, and NULL (which the csv writer writes as "")


def _bool_texts(values) -> list:
    try:
        return list(map(_BOOL_TEXT.__getitem__, values))
    except (KeyError, TypeError):
        return [_bool_text(v) for v in values]


_FIRST = itemgetter(slice(0, 1))


def _neutral_texts(values) -> list:
    if None in values:
        return [_neutral_cell(v) for v in values]
    if FORMULA_START.isdisjoint(map(_FIRST, values)):  # first characters, all in C
        return values
    return ["'" + v if v[:1] in FORMULA_START else v for v in values]


def column_texts(col, neutral: bool = False) -> Callable[[tuple], list] | None:
    """Turns a whole column of stored SQLite values into CSV text; None when the csv writer
    writes the stored values as they are (text, integers, NULL as "")."""
    ptype = _python_type(col)
    if ptype is str:
        return _neutral_texts if neutral else None
    if ptype is datetime:
        return _datetime_texts
    if ptype is date:
        return _date_texts
    if ptype is bool:
        return _bool_texts
    if ptype in (int, float):
        return None
    convert = cell_converter(col, neutral)
    return lambda values: [convert(v) for v in values]


class Tap:
    """Something else written from a data member's rows as they are read (see
    :func:`row_batches`): called with each batch as stored; ``joined(table)`` gives the FROM
    clause that adds ``columns`` after the table's own."""

    columns: tuple = ()
    joined: Callable[[Table], Any] | None = None

    def __call__(self, rows: list) -> None:
        raise NotImplementedError


def row_batches(conn: Connection, model, account_id: int, cols: list, progress, neutral: bool = False,
                where=None, tap: "Tap | None" = None) -> Iterator[list]:
    """The CSV rows (lists of cell texts, ``None`` for "") of one table's rows in the
    account (and ``where``), in id order, a batch at a time. On SQLite, ``tap`` also gets
    each batch as stored (with its ``joined`` columns after the table's), so another member
    can be written from the same read."""
    t = _table(model)
    query = select(*cols).where(t.c.account_id == account_id)
    query = (query if where is None else query.where(where)).order_by(t.c.id)
    if fast_sqlite(conn):
        joined = tap is not None and tap.joined is not None
        if joined:
            query = query.add_columns(*tap.columns).select_from(tap.joined(t))
        convert = [(i, f) for i, f in enumerate(column_texts(c, neutral) for c in cols) if f is not None]
        for rows in raw_batches(conn, query):
            if tap is not None:
                tap(rows)
            if convert or joined:  # the joined columns are the tap's, not the member's
                by_col = list(zip(*rows))[:len(cols)]
                for i, f in convert:
                    by_col[i] = f(by_col[i])
                rows = list(zip(*by_col))
            yield rows
            progress(len(rows))
        return
    exprs, convert = select_as_text(conn, cols, neutral)
    query = query.with_only_columns(*exprs)
    for partition in stream(conn, query):
        yield [[f(v) for f, v in zip(convert, row)] for row in partition]
        progress(len(partition))


def _json_rows(conn: Connection, model, account_id: int, cols: list) -> list[dict]:
    t = _table(model)
    rows = conn.execute(select(*cols).where(t.c.account_id == account_id).order_by(t.c.id))
    return [{c.name: _to_json(v) for c, v in zip(cols, row)} for row in rows]


class _Progress:
    def __init__(self, total: int, callback: Progress | None) -> None:
        self.total, self.done, self.callback = total, 0, callback

    def __call__(self, n: int) -> None:
        self.done += n
        if self.callback:
            self.callback(min(self.done, self.total), self.total)


def write_data_members(
    w: ArchiveWriter,
    conn: Connection,
    account_id: int,
    *,
    include_password_hashes: bool,
    progress: Progress | None = None,
    neutralise_formulas: bool = False,
    counts: dict[str, int] | None = None,
    taps: dict[str, Tap] | None = None,
) -> dict[str, int]:
    """Write every data member of the account; returns the counts per kind.

    With ``neutralise_formulas`` every CSV cell is escaped with :func:`neutralise` (the
    manifest's ``formula_escaped`` lists those members; import undoes it)."""
    counts = counts if counts is not None else count_rows(conn, account_id)
    tick = progress if isinstance(progress, _Progress) else _Progress(sum(counts.values()), progress)

    team_cols = [c for c in columns(Member) if include_password_hashes or c.name != "password_hash"]
    team = _json_rows(conn, Member, account_id, team_cols)
    w.write_json("team.json", team, rows=len(team))
    tick(len(team))

    for name in DATA_MEMBERS:
        if name in CSV_MEMBERS:
            model = CSV_MEMBERS[name]
            cols = columns(model)
            batches = row_batches(conn, model, account_id, cols, tick, neutralise_formulas,
                                  tap=(taps or {}).get(name))
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
    return counts


def base_manifest(kind: str, account: dict, counts: dict[str, int]) -> dict:
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "kind": kind,
        "generator": f"crm-tui {__version__}",
        "created_at": clock.now().isoformat(),
        "account": account,
        "counts": counts,
    }


def write_backup_archive(conn: Connection, account_id: int, out: IO[bytes]) -> dict:
    """The data members only (password hashes included), for the encrypted backup."""
    w = ArchiveWriter(out, "backup")
    try:
        account = account_record(conn, account_id)
        with bulk_work():
            counts = write_data_members(w, conn, account_id, include_password_hashes=True)
        return w.close(base_manifest("backup", account, counts))
    except BaseException:
        w.abort()
        raise


# --- reading ------------------------------------------------------------------------------


class _HashingReader(io.RawIOBase):
    def __init__(self, raw: IO[bytes]) -> None:
        self._raw = raw
        self.sha = hashlib.sha256()
        self.bytes = 0

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        data = self._raw.read(len(b))
        n = len(data)
        b[:n] = data
        self.sha.update(data)
        self.bytes += n
        return n


def read_manifest(zf: zipfile.ZipFile) -> dict:
    try:
        manifest = json.loads(zf.read(MANIFEST))
    except KeyError:
        raise ArchiveError("the archive has no manifest.json") from None
    except (ValueError, zipfile.BadZipFile) as exc:
        raise ArchiveError(f"the archive's manifest is damaged: {exc}") from None
    if manifest.get("format") != FORMAT:
        raise ArchiveError("not a crm-tui account archive")
    version = manifest.get("format_version")
    if version != FORMAT_VERSION:
        raise ArchiveError(f"unknown archive format version {version!r} (this crm-tui reads {FORMAT_VERSION})")
    return manifest


def open_zip(path_or_file) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path_or_file)
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise ArchiveError(f"the archive is damaged or truncated: {exc}") from None


class _MemberReader:
    """Opens a member for reading and checks its sha256 against the manifest on close."""

    def __init__(self, zf: zipfile.ZipFile, manifest: dict, name: str) -> None:
        entry = manifest.get("members", {}).get(name)
        if entry is None:
            raise ArchiveError(f"the archive lacks {name}")
        self.expected = entry["sha256"]
        self.name = name
        try:
            self.hashing = _HashingReader(zf.open(name))
        except KeyError:
            raise ArchiveError(f"the archive lacks {name}") from None

    def text(self) -> io.TextIOWrapper:
        """The member as text; a byte-order mark at its start (CSV members have one since it
        was added, older archives' do not) is skipped, while the checksum covers it."""
        return io.TextIOWrapper(io.BufferedReader(self.hashing, 1 << 16), encoding="utf-8-sig", newline="")

    def check(self) -> None:
        while self.hashing.read(1 << 16):
            pass
        if self.hashing.sha.hexdigest() != self.expected:
            raise ArchiveError(f"{self.name} does not match its checksum in the manifest")


def verify_members(zf: zipfile.ZipFile, manifest: dict, names: Iterable[str] | None = None) -> None:
    for name in names or manifest.get("members", {}):
        reader = _MemberReader(zf, manifest, name)
        try:
            reader.check()
        except (zipfile.BadZipFile, OSError, EOFError, zlib.error) as exc:
            raise ArchiveError(f"{name} is damaged: {exc}") from None


# data member -> the kind its rows are counted as in the manifest
MEMBER_KINDS = {
    "team.json": "team_members",
    "contacts.csv": "contacts",
    "email_templates.json": "email_templates",
    "autoresponders.json": "autoresponders",
    "appointments.csv": "appointments",
    "todos.csv": "todos",
    "history.csv": "history",
    "messages.csv": "text_messages",
    "invoices.csv": "invoices",
}
_OBJECT_LINES = {".vcf": ("BEGIN:VCARD",), ".ics": ("BEGIN:VEVENT", "BEGIN:VTODO")}


def _count_rows_in(reader: _MemberReader) -> int | None:
    name = reader.name
    if name.endswith(".csv"):
        n = -1
        for n, _row in enumerate(csv.reader(reader.text())):
            pass
        return n
    if name.endswith(".json"):
        payload = json.load(reader.text())
        return len(payload) if isinstance(payload, list) else None
    for suffix, starts in _OBJECT_LINES.items():
        if name.endswith(suffix):
            # a line that is exactly BEGIN:VCARD / BEGIN:VEVENT / BEGIN:VTODO: values never hold a
            # raw line break (it is escaped) and folded lines start with a space
            tails = {b"\n" + s.encode() + b"\r\n": b"\n" for s in starts}
            n = 0
            raw = io.BufferedReader(reader.hashing, 1 << 16)
            while chunk := raw.read(1 << 20):
                for token, tail in tails.items():
                    buf = tail + chunk
                    n += buf.count(token)
                    tails[token] = buf[-(len(token) - 1):]
            return n
    return None


def verify_archive(zf: zipfile.ZipFile, progress: Callable[[int], None] | None = None, *,
                   count: bool = True) -> dict:
    """Re-read a whole archive: the manifest, then every member's sha256, size and row
    count, and the data members' counts against the manifest's. Returns the manifest.

    ``count=False`` is for an archive this process has just written: its rows were counted
    as they were written and the sha256 covers those very bytes, so re-reading checks the
    checksums and sizes only (parsing every CSV again cost a third of a large export)."""
    manifest = read_manifest(zf)
    members = manifest.get("members", {})
    present = set(zf.namelist()) - {MANIFEST}
    if present != set(members):
        extra = sorted(present - set(members)) or sorted(set(members) - present)
        raise ArchiveError(f"the archive's members do not match its manifest ({extra[0]})")
    counts = manifest.get("counts", {})
    for name, entry in members.items():
        reader = _MemberReader(zf, manifest, name)
        try:
            rows = _count_rows_in(reader) if count else entry.get("rows")
            reader.check()
        except (zipfile.BadZipFile, OSError, EOFError, ValueError, csv.Error, zlib.error) as exc:
            raise ArchiveError(f"{name} is damaged: {exc}") from None
        if reader.hashing.bytes != entry.get("bytes"):
            raise ArchiveError(f"{name} does not have the size its manifest gives")
        if "rows" in entry and rows is not None and rows != entry["rows"]:
            raise ArchiveError(f"{name} holds {rows} rows, its manifest says {entry['rows']}")
        kind = MEMBER_KINDS.get(name)
        if kind in counts and rows is not None and rows != counts[kind]:
            raise ArchiveError(f"{name} holds {rows} rows, the manifest counts {counts[kind]} {KIND_LABELS[kind]}")
        if progress is not None:
            progress(rows if rows is not None and not name.startswith("reports/") else int(name.endswith(".html")))
    return manifest


def _read_json(zf: zipfile.ZipFile, manifest: dict, name: str) -> Any:
    reader = _MemberReader(zf, manifest, name)
    try:
        payload = json.load(reader.text())
    except ValueError as exc:
        raise ArchiveError(f"{name} is damaged: {exc}") from None
    reader.check()
    return payload


def _insert_batches(conn: Connection, model, rows: Iterable[dict]) -> int:
    t = _table(model)
    batch: list[dict] = []
    n = 0
    for row in rows:
        batch.append(row)
        if len(batch) >= BATCH:
            conn.execute(insert(t), batch)
            n += len(batch)
            batch = []
    if batch:
        conn.execute(insert(t), batch)
        n += len(batch)
    return n


def _json_to_rows(model, items: list[dict], account_id: int, defaults: dict | None = None) -> Iterator[dict]:
    cols = {c.name: c for c in columns(model)}
    for item in items:
        row = {"account_id": account_id}
        row.update(defaults or {})
        for name, col in cols.items():
            if name in item:
                row[name] = _from_json(col, item[name])
        yield row


def _csv_header(reader: _MemberReader, model) -> tuple[Iterator[list[str]], list[str], dict]:
    """Open a CSV member: its row reader, its checked header, and the model's columns by name."""
    cols = {c.name: c for c in columns(model)}
    rows = csv.reader(reader.text())
    try:
        header = next(rows)
    except StopIteration:
        raise ArchiveError(f"{reader.name} is empty") from None
    unknown = [h for h in header if h not in cols]
    if unknown:
        raise ArchiveError(f"{reader.name} has unknown columns: {', '.join(unknown)}")
    if len(set(header)) != len(header):
        raise ArchiveError(f"{reader.name} has a repeated column")
    return rows, header, cols


def _csv_to_rows(reader: _MemberReader, model, account_id: int, uncell: Callable[[str], str] | None) -> Iterator[dict]:
    rows, header, cols = _csv_header(reader, model)
    picked = [cols[h] for h in header]
    for lineno, values in enumerate(rows, start=2):
        if len(values) != len(picked):
            raise ArchiveError(f"{reader.name} line {lineno}: expected {len(picked)} fields, got {len(values)}")
        row = {"account_id": account_id}
        try:
            for col, value in zip(picked, values):
                if uncell is not None:
                    value = uncell(value)
                row[col.name] = from_text(col, value)
        except ValueError as exc:
            raise ArchiveError(f"{reader.name} line {lineno}: {exc}") from None
        yield row


# --- restore's fast path on SQLite ---------------------------------------------------------------
#
# The typed path (``from_text`` per cell, a dict per row, SQLAlchemy's bind processing) is
# portable but slow: on SQLite, a CSV row becomes one tuple of exactly what SQLAlchemy would
# store, and the driver's ``executemany`` inserts a whole member. Text columns pass through
# untouched; timestamps become SQLAlchemy's SQLite storage text ``YYYY-MM-DD HH:MM:SS.ffffff``
# (UTC), dates ``YYYY-MM-DD``, booleans 0/1, integers int. Every value is still validated as
# the typed path validates it (tests/test_archive_fast_restore.py checks the stored bytes are
# the same as the typed path's).


_FAST_SQLITE = True  # tests turn it off (export and restore) to compare with the typed path


def fast_sqlite(conn: Connection) -> bool:
    """Whether reading and writing members take the SQLite paths (raw tuples, stored values)."""
    return conn.dialect.name == "sqlite" and _FAST_SQLITE


def _sqlite_stored_datetime(text: str) -> str:
    value = datetime.fromisoformat(text)  # validates (in C)
    if value.tzinfo is None:
        raise ValueError(f"timestamp without a time zone: {text!r}")
    # the common layouts, as isoformat() writes UTC: slice instead of formatting
    if text[10:11] == "T" and text[5] != "W" and text[13] == ":" and text[16] == ":":
        if len(text) == 25 and text[19:] == "+00:00":
            return f"{text[:10]} {text[11:19]}.000000"
        if len(text) == 32 and text[26:] == "+00:00" and text[19] == ".":
            return f"{text[:10]} {text[11:26]}"
    value = value.astimezone(timezone.utc)
    return (f"{value.year:04d}-{value.month:02d}-{value.day:02d} "
            f"{value.hour:02d}:{value.minute:02d}:{value.second:02d}.{value.microsecond:06d}")


def _sqlite_stored_date(text: str) -> str:
    value = date.fromisoformat(text)
    if len(text) == 10 and text[4] == "-" and text[7] == "-" and text[5] != "W":
        return text
    return f"{value.year:04d}-{value.month:02d}-{value.day:02d}"


_BOOLS = {"true": 1, "false": 0}


def _sqlite_stored_bool(text: str) -> int:
    try:
        return _BOOLS[text]
    except KeyError:
        raise ValueError(f"not a boolean: {text!r}") from None


def _sqlite_converter(col) -> Callable[[str], Any] | None:
    """The function turning one CSV cell into the value SQLite stores; None for text."""
    ptype = _python_type(col)
    if ptype is str:
        return None
    convert = _STORED_CELL.get(ptype)
    if convert is None:
        return lambda text: from_text(col, text)
    name, nullable = col.name, col.nullable

    def cell(text: str) -> Any:
        if text == "":
            if nullable:
                return None
            raise ValueError(f"empty value for {name}")
        return convert(text)

    return cell


# A whole column of a batch at once: one regular expression checks that every timestamp (or
# date) has the usual layout, ``map`` over the C parser validates the values, and string
# replacements make the stored text. A column that does not match goes cell by cell.
_ISO_DT = r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{6})?\+00:00"
_DT_COLUMN = re.compile(f"(?:{_ISO_DT}\n)*{_ISO_DT}")
_DATE_COLUMN = re.compile(r"(?:[0-9]{4}-[0-9]{2}-[0-9]{2}\n)*[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _stored_datetimes(values: list[str]) -> list[str]:
    joined = "\n".join(values)
    if not _DT_COLUMN.fullmatch(joined):
        return [_sqlite_stored_datetime(v) for v in values]
    deque(map(datetime.fromisoformat, values), maxlen=0)  # ranges (month 13, 30 February)
    joined = joined.replace("T", " ")
    if "." not in joined:  # whole seconds throughout
        return joined.replace("+00:00", ".000000").split("\n")
    if len(joined) == 33 * len(values) - 1:  # a fraction in every cell
        return joined.replace("+00:00", "").split("\n")
    return [v[:19] + ".000000" if len(v) == 25 else v[:26] for v in joined.split("\n")]


def _stored_dates(values: list[str]) -> list[str]:
    if not _DATE_COLUMN.fullmatch("\n".join(values)):
        return [_sqlite_stored_date(v) for v in values]
    deque(map(date.fromisoformat, values), maxlen=0)
    return values


# what SQLite stores for a cell, and for a whole column of cells, by the column's Python type
_STORED_CELL: dict[type, Callable[[str], Any]] = {
    datetime: _sqlite_stored_datetime, date: _sqlite_stored_date, bool: _sqlite_stored_bool, int: int,
}
_STORED_COLUMN: dict[type, Callable[[list[str]], list]] = {
    datetime: _stored_datetimes, date: _stored_dates,
    bool: lambda values: list(map(_BOOLS.__getitem__, values)), int: lambda values: list(map(int, values)),
}


def _column_converter(col) -> Callable[[list[str]], list] | None:
    """Converts one column of a batch of CSV cells to stored values; None for text. Raises
    ValueError (or KeyError) on a bad cell; the caller then finds it cell by cell."""
    ptype = _python_type(col)
    if ptype is str:
        return None
    fast = _STORED_COLUMN.get(ptype)
    if fast is None:
        one = _sqlite_converter(col)
        return lambda values: [one(v) for v in values]
    nullable = col.nullable

    def column(values: list[str]) -> list:
        if "" not in values:
            return fast(values)
        if not nullable:
            raise ValueError("empty value")
        at = [i for i, v in enumerate(values) if v != ""]
        out: list = [None] * len(values)
        for i, v in zip(at, fast([values[i] for i in at])):
            out[i] = v
        return out

    return column


# Rows go to SQLite as multi-row INSERT statements (``VALUES (…), (…), …``): one call into
# SQLite per statement instead of one per row, about a quarter less time than ``executemany``
# for the same rows. The driver lets go of the GIL while SQLite works, so a second thread
# reads, parses and converts the next rows of the CSV meanwhile (two threads that both run
# Python per row would take turns instead).
ROWS_PER_STATEMENT = 1000
_SWITCH_INTERVAL = 0.0005  # s: how long the inserting thread may wait for the GIL per statement


def _variable_limit(dbapi_conn) -> int:
    getlimit = getattr(dbapi_conn, "getlimit", None)  # Python 3.11+
    if getlimit is None:
        return 999  # the smallest limit SQLite has shipped with
    import sqlite3

    return getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)


def _values_sql(table: str, names: list[str], rows: int) -> str:
    one = f"({', '.join('?' * len(names))})"
    quoted = ", ".join(f'"{n}"' for n in names)
    return f'INSERT INTO "{table}" ({quoted}) VALUES {", ".join([one] * rows)}'


class _Feed:
    """Runs a generator of batches in a helper thread, a few batches ahead of the consumer.
    An exception in the generator reaches the consumer; a consumer that stops early stops it."""

    def __init__(self, batches: Iterator[list], depth: int = 4) -> None:
        import queue
        import threading

        self._batches = batches
        self._queue: Any = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="crm-tui-restore-reader", daemon=True)
        self._thread.start()

    def _put(self, item: Any) -> bool:
        import queue

        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def _run(self) -> None:
        try:
            with bulk_work():
                for batch in self._batches:
                    if not self._put(batch):
                        return
        except BaseException as exc:  # handed to the consumer, which raises it
            self._put(exc)
        else:
            self._put(None)

    def __iter__(self) -> Iterator[list]:
        while True:
            item = self._queue.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield item

    def close(self) -> None:
        self._stop.set()
        self._thread.join()


def _insert_csv_sqlite(conn: Connection, reader: _MemberReader, model, account_id: int,
                       uncell: Callable[[str], str] | None, tick: _Progress,
                       remap: dict[str, Callable[[tuple], list]] | None = None) -> int:
    """``remap``: column name -> a function given a batch's stored values of that column
    (in row order) and returning the values to insert instead (an import's new ids)."""
    rows, header, cols = _csv_header(reader, model)
    remapped = [(header.index(name), f) for name, f in (remap or {}).items() if name in header]
    if remap and len(remapped) != len(remap):
        missing = sorted(set(remap) - set(header))
        raise ArchiveError(f"{reader.name} lacks the column {missing[0]}")
    width = len(header)
    by_column = [(i, f) for i, f in enumerate(_column_converter(cols[h]) for h in header) if f is not None]
    by_cell = [(i, f) for i, f in enumerate(_sqlite_converter(cols[h]) for h in header) if f is not None]
    dbapi = conn.connection.dbapi_connection
    per = max(1, min(ROWS_PER_STATEMENT, _variable_limit(dbapi) // (width + 1)))

    def cell_by_cell(batch: list[list[str]], first_line: int) -> list:
        """The slow way, which names the line of the first bad cell."""
        out = []
        for lineno, row in enumerate(batch, start=first_line):
            row = list(row)
            try:
                for i, f in by_cell:
                    row[i] = f(row[i])
            except ValueError as exc:
                raise ArchiveError(f"{reader.name} line {lineno}: {exc}") from None
            row.append(account_id)
            out.append(row)
        return out

    def batches() -> Iterator[list]:
        """Lists of rows as SQLite stores them (``per`` rows each but the last)."""
        line = 2
        while batch := list(islice(rows, per * 5)):
            if len(set(map(len, batch))) != 1 or len(batch[0]) != width:
                bad = next(k for k, row in enumerate(batch) if len(row) != width)
                raise ArchiveError(f"{reader.name} line {line + bad}: expected {width} fields, "
                                   f"got {len(batch[bad])}")
            if uncell is not None:
                batch = [[v[1:] if v[:1] == "'" else v for v in row] for row in batch]
            by_col = list(zip(*batch))
            try:
                for i, f in by_column:
                    by_col[i] = f(by_col[i])
            except (ValueError, KeyError):
                stored = cell_by_cell(batch, line)
                if not remapped:
                    yield stored
                    line += len(batch)
                    continue
                by_col = list(zip(*stored))[:width]
            for i, f in remapped:
                by_col[i] = f(by_col[i])
            yield list(zip(*by_col, repeat(account_id, len(batch))))
            line += len(batch)

    import sqlite3

    table = _table(model).name
    names = [*header, "account_id"]
    full = _values_sql(table, names, per)
    cursor = conn.connection.cursor()  # the driver's, inside the caller's transaction
    feed = _Feed(batches())
    switch = sys.getswitchinterval()
    sys.setswitchinterval(min(switch, _SWITCH_INTERVAL))
    n = 0
    try:
        for batch in feed:
            for at in range(0, len(batch), per):
                part = batch[at:at + per]
                sql = full if len(part) == per else _values_sql(table, names, len(part))
                cursor.execute(sql, list(chain.from_iterable(part)))
            n += len(batch)
            tick(len(batch))
    except sqlite3.Error as exc:
        raise ArchiveError(f"{reader.name}: the database refused a row ({exc}); nothing was restored") from None
    finally:
        sys.setswitchinterval(switch)
        feed.close()
        cursor.close()
    return n


def import_archive(
    conn: Connection,
    zf: zipfile.ZipFile,
    *,
    unusable_password: str,
    progress: Progress | None = None,
) -> tuple[int, dict[str, int]]:
    """Insert everything the archive holds, under its original ids, inside the caller's
    transaction. Returns the account id and the counts inserted per kind."""
    manifest = read_manifest(zf)
    account = dict(manifest["account"])
    account_id = account["id"]
    acc = _table(Account)
    if conn.execute(select(acc.c.id).where(acc.c.id == account_id)).first():
        raise ArchiveError("that account exists already; nothing was restored")
    from crm_tui.services import billing  # a plan catalogue must exist before the account

    plan_id = billing.plan_id_for(conn, account.pop("plan_code"))
    svc = account.pop("messages_service", None)
    cols = {c.name: c for c in acc.columns}
    conn.execute(
        insert(acc),
        [{"plan_id": plan_id, **{k: _from_json(cols[k], v) for k, v in account.items() if k in cols}}],
    )
    if svc:
        ms_cols = {c.name: c for c in _table(MessagesService).columns}
        conn.execute(
            insert(_table(MessagesService)),
            [{"account_id": account_id, **{k: _from_json(ms_cols[k], v) for k, v in svc.items() if k in ms_cols}}],
        )

    total = sum(manifest.get("counts", {}).values())
    tick = _Progress(total, progress)
    counts: dict[str, int] = {}

    team = _read_json(zf, manifest, "team.json")
    from crm_tui.services import reserved  # a closed account's emails stay its own

    reserved.refuse_reserved(conn, [str(item.get("email", "")) for item in team],
                             what="nothing was restored", except_account=account_id)
    mem = _table(Member)
    for item in team:
        clash = conn.execute(
            select(mem.c.id).where(func.lower(mem.c.email) == str(item.get("email", "")).lower())
        ).first()
        if clash:
            raise ArchiveError("a team member's email now belongs to another account; nothing was restored")
    counts["team_members"] = _insert_batches(
        conn, Member, _json_to_rows(Member, team, account_id, {"password_hash": unusable_password})
    )
    tick(counts["team_members"])

    for name in DATA_MEMBERS[1:]:
        if name in CSV_MEMBERS:
            model = CSV_MEMBERS[name]
            reader = _MemberReader(zf, manifest, name)
            uncell = unneutralise if name in manifest.get("formula_escaped", ()) else None
            if fast_sqlite(conn):
                n = _insert_csv_sqlite(conn, reader, model, account_id, uncell, tick)
            else:
                n = _insert_batches(conn, model, _counted(_csv_to_rows(reader, model, account_id, uncell), tick))
            reader.check()
            kind = {v: k for k, v in KINDS.items()}[model]
            counts[kind] = n
        elif name == "email_templates.json":
            items = _read_json(zf, manifest, name)
            counts["email_templates"] = _insert_batches(conn, EmailTemplate, _json_to_rows(EmailTemplate, items, account_id))
            tick(counts["email_templates"])
        elif name == "autoresponders.json":
            items = _read_json(zf, manifest, name)
            steps = [step for item in items for step in item.get("steps", [])]
            counts["autoresponders"] = _insert_batches(conn, Autoresponder, _json_to_rows(Autoresponder, items, account_id))
            _insert_batches(conn, AutoresponderStep, _json_to_rows(AutoresponderStep, steps, account_id))
            tick(counts["autoresponders"])
    expected = manifest.get("counts", {})
    for kind, n in counts.items():
        if kind in expected and expected[kind] != n:
            raise ArchiveError(f"the archive holds {n} {KIND_LABELS[kind]}, its manifest says {expected[kind]}")
    return account_id, counts


def _counted(rows: Iterator[dict], tick: _Progress) -> Iterator[dict]:
    n = 0
    for row in rows:
        yield row
        n += 1
        if n % BATCH == 0:
            tick(BATCH)
    tick(n % BATCH)


# --- reading data members row by row (for importing as a new account) ------------------------

JSON_MEMBERS: dict[str, Any] = {
    "team.json": Member,
    "email_templates.json": EmailTemplate,
    "autoresponders.json": Autoresponder,
}


def member_rows(zf: zipfile.ZipFile, manifest: dict, name: str) -> Iterator[dict]:
    """The rows of one data member as typed column values, ids and references as the
    archive holds them (no ``account_id``); a spreadsheet cell's formula escape is undone.
    Each autoresponder's row carries its steps' rows under ``"steps"``. The member's
    checksum is checked once its last row has been read (a CSV member) or before the first
    (a JSON member); a mismatch raises :class:`ArchiveError`."""
    if name in CSV_MEMBERS:
        reader = _MemberReader(zf, manifest, name)
        uncell = unneutralise if name in manifest.get("formula_escaped", ()) else None
        try:
            for row in _csv_to_rows(reader, CSV_MEMBERS[name], 0, uncell):
                del row["account_id"]
                yield row
        except csv.Error as exc:
            raise ArchiveError(f"{name} is damaged: {exc}") from None
        reader.check()
        return
    model = JSON_MEMBERS.get(name)
    if model is None:
        raise ArchiveError(f"{name} is not a data member")
    items = _read_json(zf, manifest, name)
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise ArchiveError(f"{name} is not a list of records")
    for item, row in zip(items, _json_to_rows(model, items, 0)):
        del row["account_id"]
        if model is Autoresponder:
            steps = item.get("steps", [])
            if not isinstance(steps, list) or not all(isinstance(step, dict) for step in steps):
                raise ArchiveError(f"{name} has an autoresponder whose steps are not records")
            row["steps"] = [{k: v for k, v in step.items() if k != "account_id"}
                            for step in _json_to_rows(AutoresponderStep, steps, 0)]
        yield row


def insert_member_sqlite(conn: Connection, zf: zipfile.ZipFile, manifest: dict, name: str, account_id: int,
                         remap: dict[str, Callable[[tuple], list]]) -> int:
    """SQLite: insert a CSV data member's rows under ``account_id`` the way restore does
    (stored values straight from the text, multi-row statements), each batch's columns
    named in ``remap`` replaced by what their function returns (new ids, remapped
    references). Checks the member's checksum; returns how many rows."""
    reader = _MemberReader(zf, manifest, name)
    uncell = unneutralise if name in manifest.get("formula_escaped", ()) else None
    try:
        n = _insert_csv_sqlite(conn, reader, CSV_MEMBERS[name], account_id, uncell, _Progress(0, None), remap)
    except csv.Error as exc:
        raise ArchiveError(f"{name} is damaged: {exc}") from None
    reader.check()
    return n
