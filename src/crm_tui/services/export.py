"""The user's exports: "download all my data" (the account archive with its view members)
and Contacts → Group Actions (chosen contacts as CSV or vCard). Restore from an export too.

Files are created 0600 under a temporary name in the target folder, written from a database
cursor, fsynced, verified by re-reading (every checksum and row count), and only then given
their final name ``<account-slug>-<YYYY-MM-DD>.zip`` (``-2``, ``-3``… if that exists; an
existing file is never overwritten). File names come from the account's slug, filtered to
``[a-z0-9-]``, never from other user text.
"""

from __future__ import annotations

import csv
import hashlib
import html
import itertools
import os
import re
import tempfile
import unicodedata
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from operator import itemgetter
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Integer, String, and_, cast, func, select, type_coerce
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from crm_tui import db, paths
from crm_tui.models import Account, Appointment, ClosedAccount, Contact, EmailTemplate, HistoryEntry, TextMessage, Todo
from crm_tui.services import archive, audit, clock, contact_csv, vformat, zones
from crm_tui.services.archive import ArchiveWriter, Progress, ProgressCounter
from crm_tui.services.archive.postgresql import driver_batches
from crm_tui.services.auth import UNUSABLE_PASSWORD, SignedIn, load_actor
from crm_tui.services.errors import ArchiveError, InvalidInput, NotFound

VIEW_KINDS = ("contacts", "appointments", "todos", "email_templates")
# Contacts → Group Actions: format -> what it is, and the end of its file name
FORMATS = {
    "csv": ("CSV (every field)", ".csv"),
    "vcf": ("vCard", ".vcf"),
    "google": ("Google Contacts CSV", "-google.csv"),
    "outlook": ("Outlook CSV", "-outlook.csv"),
}
_ID_CHUNK = 500


@dataclass(frozen=True)
class ExportResult:
    path: Path
    size: int
    sha256: str
    counts: dict[str, int]


# --- names and files ---------------------------------------------------------------------------


def safe_name(text: str, fallback: str, limit: int = 60) -> str:
    """Lower-case ASCII letters, digits and single hyphens only; ``fallback`` if nothing is left."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    name = re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")[:limit].strip("-")
    return name or fallback


# Windows' reserved device names: reserved with any extension too (CON.html), whatever the case
_RESERVED = frozenset(["con", "prn", "aux", "nul", *(f"{d}{n}" for d in ("com", "lpt") for n in "0123456789¹²³")])
_KEEP = ("L", "N", "M")  # letters, digits and combining marks, of any script


def file_stem(text: str, fallback: str, limit: int = 100) -> str:
    """A file name (without its extension) from user text that keeps the text's own letters:
    ``日本語テンプレート``, ``zoë-s-offer``. Normalised to NFC and lower-cased; anything but
    letters, digits and combining marks (separators, dots, spaces, punctuation, control and
    format characters such as a right-to-left override) becomes a single hyphen, and hyphens
    are trimmed from both ends; so the name is never empty, hidden, ``.`` or ``..``, and never
    holds a path. At most ``limit`` bytes of UTF-8 (cut between characters, never inside a
    letter and its marks); a name Windows reserves (``con``, ``com1``…) gets ``-file``;
    ``fallback`` if nothing is left."""
    out: list[str] = []
    for ch in unicodedata.normalize("NFC", text).lower():
        kind = unicodedata.category(ch)[0]
        if kind in _KEEP and (kind != "M" or (out and out[-1] != "-")):  # a mark only on a letter
            out.append(ch)
        elif out and out[-1] != "-":
            out.append("-")
    stem = "".join(out).strip("-")
    if len(stem.encode("utf-8")) > limit:
        cut = stem.encode("utf-8")[:limit].decode("utf-8", "ignore")
        while cut and unicodedata.category(stem[len(cut)])[0] == "M":  # a letter's marks go with it
            cut = cut[:-1]
        stem = unicodedata.normalize("NFC", cut).strip("-")
    if not stem:
        return fallback
    return f"{stem}-file" if stem in _RESERVED else stem


def exports_folder(out_dir: str | os.PathLike | None) -> Path:
    if out_dir is None:
        folder = paths.downloads_dir()
        try:
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            raise InvalidInput(f"cannot create the downloads folder {folder}: {exc.strerror}") from None
        return folder
    folder = Path(out_dir).expanduser()
    if not folder.exists():
        raise InvalidInput(f"the folder {folder} does not exist")
    if not folder.is_dir():
        raise InvalidInput(f"{folder} is not a folder")
    return folder


class _TargetFile:
    """A private (0600) temporary file in the target folder, published without overwriting."""

    def __init__(self, folder: Path, stem: str, suffix: str) -> None:
        self.folder, self.stem, self.suffix = folder, stem, suffix
        self.tmp: Path | None = None
        fd = self._unnamed(folder)
        if fd is None:
            try:
                fd, name = tempfile.mkstemp(prefix=f".{stem}-", suffix=".part", dir=folder)
            except OSError as exc:
                raise InvalidInput(f"cannot write to {folder}: {exc.strerror}") from None
            self.tmp = Path(name)
        self.file: IO[bytes] = os.fdopen(fd, "w+b")

    @staticmethod
    def _unnamed(folder: Path) -> int | None:
        """Linux: a file without a name until it is published, so a process killed half-way
        leaves no partial copy of the data behind. None where that is not available."""
        flag = getattr(os, "O_TMPFILE", 0)
        if not flag or not os.path.isdir("/proc/self/fd"):
            return None
        try:
            return os.open(folder, flag | os.O_RDWR, 0o600)
        except OSError:
            return None

    def sync(self) -> None:
        self.file.flush()
        os.fsync(self.file.fileno())

    def publish(self) -> Path:
        if self.tmp is None:
            self.file.flush()
            fds = os.open("/proc/self/fd", os.O_RDONLY)
            try:
                for n in itertools.count(1):
                    final = self.folder / (f"{self.stem}{self.suffix}" if n == 1 else f"{self.stem}-{n}{self.suffix}")
                    try:  # linkat(fds, "<fd>", final, AT_SYMLINK_FOLLOW): names it; never overwrites
                        os.link(str(self.file.fileno()), final, src_dir_fd=fds, follow_symlinks=True)
                    except FileExistsError:
                        continue
                    self.file.close()
                    return final
            finally:
                os.close(fds)
        tmp = self.tmp
        assert tmp is not None  # the branch above returns when there is no temporary name
        self.file.close()
        for n in itertools.count(1):
            final = self.folder / (f"{self.stem}{self.suffix}" if n == 1 else f"{self.stem}-{n}{self.suffix}")
            try:
                os.link(tmp, final)  # fails if the name exists: never overwrites
            except FileExistsError:
                continue
            except OSError:  # a file system without hard links
                if final.exists():
                    continue
                os.replace(tmp, final)
                return final
            tmp.unlink()
            return final
        raise AssertionError("unreachable")  # pragma: no cover

    def discard(self) -> None:
        try:
            self.file.close()  # flushing may fail again (a full disk): remove the file anyway
        except OSError:
            pass
        finally:
            if self.tmp is not None:
                self.tmp.unlink(missing_ok=True)


def _sha256_of(path: Path) -> tuple[str, int]:
    h = hashlib.sha256()
    size = 0
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
            size += len(chunk)
    return h.hexdigest(), size


def _stamp(time_zone: str = "") -> str:
    """Today's date in the member's zone (``time_zone``: see services.zones), as exports name it."""
    return zones.date_of(clock.now(), zones.zone_for(time_zone)).isoformat()


# --- view members --------------------------------------------------------------------------------

_CONTACT_COLS = vformat.CARD_COLUMNS


# a timestamp as SQLite stores it: UTC, ``2025-01-07 09:30:00.000000``
_SQLITE_STAMP = "YYYY-MM-DD HH24:MI:SS.US"


def _utc_text(col, name: str):
    """PostgreSQL: a timestamp as the UTC text SQLite stores (whatever the session's time zone)."""
    return func.to_char(func.timezone("UTC", col), _SQLITE_STAMP, type_=String).label(name)


def _raw(conn: Connection, col):
    """Read timestamps and dates as UTC text (on SQLite the stored text; on PostgreSQL the same
    text, made by the server) and, on SQLite, booleans as 0/1: the writers take those as they
    are, without a datetime object per cell (making one and converting it to UTC cost more than
    the vCard or event it goes into)."""
    ptype = archive.python_type(col)
    if conn.dialect.name == "postgresql":
        if ptype is datetime:
            return _utc_text(col, col.name)
        if ptype is date:
            return func.to_char(col, "YYYY-MM-DD", type_=String).label(col.name)
        return col
    if conn.dialect.name != "sqlite":
        return col
    if ptype in (datetime, date):
        return type_coerce(col, String).label(col.name)
    if ptype is bool:
        return type_coerce(col, Integer).label(col.name)
    return col


def contact_revised(dialect: str):
    """When a contact last changed, for its vCard's REV. Contacts have no ``updated_at``
    column (and nothing edits a contact's fields after it is added): a contact's record
    changes when it is added and whenever a call, note or email is logged in its history,
    so this is the newest of ``created_at`` and its latest history entry. One lookup per
    contact on the history's ``contact_id`` index. On SQLite and PostgreSQL UTC text (see
    :func:`_raw`)."""
    t, h = Contact.__table__, HistoryEntry.__table__
    latest = select(func.max(h.c.at)).where(h.c.contact_id == t.c.id).scalar_subquery()
    if dialect == "sqlite":  # max() of several arguments; the timestamps' text sorts as they do
        return type_coerce(func.max(t.c.created_at, func.coalesce(latest, t.c.created_at)), String).label("revised")
    if dialect == "postgresql":  # greatest() ignores NULLs
        return _utc_text(func.greatest(t.c.created_at, latest, type_=t.c.created_at.type), "revised")
    return func.greatest(t.c.created_at, latest, type_=t.c.created_at.type).label("revised")


def _contact_select(conn: Connection, account_id: int, where=None):
    t = Contact.__table__
    q = select(*(_raw(conn, t.c[n]) for n in _CONTACT_COLS[:-1]), contact_revised(conn.dialect.name)).where(
        t.c.account_id == account_id
    )
    if where is not None:
        q = q.where(where)
    return q.order_by(t.c.id)


def _batches(conn: Connection, query) -> Iterator[Sequence[Any]]:
    """The rows of a view member's query; on SQLite the driver's own tuples (the queries read
    stored text already, see :func:`_raw`)."""
    if conn.dialect.name == "sqlite":
        return archive.raw_batches(conn, query)
    if conn.dialect.name == "postgresql":  # psycopg's own tuples, from its server-side cursor
        return driver_batches(conn, query)
    return archive.stream(conn, query)


def write_vcards(sink, conn: Connection, account_id: int, tick, where=None) -> int:
    n = 0
    for part in _batches(conn, _contact_select(conn, account_id, where)):
        sink.write(vformat.vcards(account_id, part))
        n += len(part)
        tick(len(part))
    return n


def write_events(sink, conn: Connection, account_id: int, stamp: str, tick) -> int:
    a, c = Appointment.__table__, Contact.__table__
    q = (
        select(
            a.c.id,
            a.c.description,
            _raw(conn, a.c.start),
            _raw(conn, a.c.end),
            a.c.colour,
            c.c.first_name,
            c.c.last_name,
            c.c.email,
        )
        .select_from(a.outerjoin(c, c.c.id == a.c.contact_id))
        .where(a.c.account_id == account_id)
        .order_by(a.c.id)
    )
    return _write_calendar(sink, conn, q, "Appointments", vformat.vevents, account_id, stamp, tick)


def write_todos(sink, conn: Connection, account_id: int, stamp: str, tick) -> int:
    t, c = Todo.__table__, Contact.__table__
    q = (
        select(
            t.c.id,
            t.c.summary,
            t.c.details,
            t.c.priority,
            _raw(conn, t.c.due),
            t.c.category,
            t.c.status,
            _raw(conn, t.c.completed_at),
            c.c.first_name,
            c.c.last_name,
            c.c.email,
        )
        .select_from(t.outerjoin(c, c.c.id == t.c.contact_id))
        .where(t.c.account_id == account_id)
        .order_by(t.c.id)
    )
    return _write_calendar(sink, conn, q, "To-dos", vformat.vtodos, account_id, stamp, tick)


def _write_calendar(sink, conn: Connection, query, title: str, render, account_id: int, stamp: str, tick) -> int:
    """One iCalendar file: its rows streamed a batch at a time through ``render``."""
    sink.write(vformat.calendar_begin(title))
    n = 0
    for part in _batches(conn, query):
        sink.write(render(account_id, stamp, part))
        n += len(part)
        tick(len(part))
    sink.write(vformat.calendar_end())
    return n


_CSP = "default-src 'none'; img-src * data:; style-src 'unsafe-inline'"


def template_html(name: str, subject: str, body: str) -> str:
    """A stand-alone page a browser or mail program opens. The body is the template's own
    HTML; a Content-Security-Policy keeps scripts in it from running when opened."""
    if "<" not in body:  # a plain-text template
        body = f'<pre style="white-space: pre-wrap">{html.escape(body)}</pre>'
    return (
        '<!DOCTYPE html>\n<html>\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">\n'
        f"<title>{html.escape(subject or name)}</title>\n</head>\n<body>\n"
        f"<p><b>Template:</b> {html.escape(name)}<br>\n<b>Subject:</b> {html.escape(subject)}</p>\n<hr>\n"
        f"{body}\n</body>\n</html>\n"
    )


def write_templates(w: ArchiveWriter, conn: Connection, account_id: int, tick) -> int:
    t = EmailTemplate.__table__
    used: set[str] = set()  # case-folded, so that no two names are one on a case-insensitive disk
    n = 0
    for r in conn.execute(
        select(t.c.id, t.c.name, t.c.subject, t.c.body).where(t.c.account_id == account_id).order_by(t.c.id)
    ):
        base = file_stem(r.name, f"template-{r.id}")
        name = base
        k = 1
        while name.casefold() in used:
            k += 1
            name = f"{base}-{k}"
        used.add(name.casefold())
        w.write_text(f"email_templates/{name}.html", template_html(r.name, r.subject, r.body))
        n += 1
    tick(n)
    return n


SUMMARY_HEADER = ["month", "contacts_added", "appointments", "todos_completed", "messages_sent"]


def monthly_summary(conn: Connection, account_id: int) -> list[list]:
    """Per calendar month (UTC): contacts added, appointments, to-dos completed, messages sent."""

    def per_month(table, col, *where) -> dict[str, int]:
        if conn.dialect.name == "postgresql":
            # a timestamptz cast to text follows the session's time zone: take the month in UTC
            month = func.to_char(func.timezone("UTC", col), "YYYY-MM")
        else:  # SQLite stores naive UTC text: its first seven characters are the month
            month = func.substr(cast(col, String), 1, 7)
        q = (
            select(month, func.count())
            .where(table.c.account_id == account_id, col.is_not(None), *where)
            .group_by(month)
        )
        return {m: n for m, n in conn.execute(q)}

    c, a, t, m = Contact.__table__, Appointment.__table__, Todo.__table__, TextMessage.__table__
    series = [
        per_month(c, c.c.created_at),
        per_month(a, a.c.start),
        per_month(t, t.c.completed_at, t.c.status == "closed"),
        per_month(m, m.c.sent_at, m.c.direction == "out"),
    ]
    months = sorted(set().union(*series))
    return [[month, *(s.get(month, 0) for s in series)] for month in months]


README = """\
{account} — all your data, exported by crm-tui on {date} ({zone})

This folder holds two kinds of files.

Files for other programs
  contacts.vcf            your {contacts} contacts as vCards (version 3.0). Import them into an
                          address book: Apple Contacts, Google Contacts, Outlook, Thunderbird.
  appointments.ics        your {appointments} appointments as calendar events (iCalendar). Import
                          into Google Calendar, Apple Calendar, Outlook or Thunderbird.
  todos.ics               your {todos} to-dos as iCalendar tasks (Thunderbird, Apple Reminders
                          via Calendar, Outlook, any CalDAV task app).
  email_templates/*.html  each email template as a web page: open in a browser or mail program.
  reports/summary.csv     per month: contacts added, appointments, to-dos completed and
                          text messages sent. Opens in Excel, LibreOffice Calc, Numbers or Sheets.

Complete data (crm-tui can restore an account from these)
  contacts.csv, appointments.csv, todos.csv, history.csv, messages.csv, invoices.csv
                          spreadsheets (CSV, UTF-8, one header row) with every field.
  email_templates.json, autoresponders.json, team.json
                          templates, autoresponders with their steps, and team members (JSON).
                          Passwords are not included.
  ssh_keys.json           the team's SSH public keys (for signing in over SSH); public, not secret.
  manifest.json           the format version, the number of rows of each kind and a SHA-256
                          checksum of every file, to check nothing was damaged.

Why some spreadsheet cells start with an apostrophe: a cell whose text starts with = + - @
(a phone number such as +1 512 555 0100, say), a tab, a carriage return or an apostrophe is
written with one extra apostrophe in front. Spreadsheet programs then show it as text and never
run it as a formula: a contact's name such as =HYPERLINK(...) must not become a live formula in
your spreadsheet. crm-tui removes exactly that one apostrophe when it restores an account from
these files, so nothing is lost. The CSV files start with a UTF-8 byte-order mark, so Excel and
LibreOffice show accented and other non-English letters (Zoë, 日本語) as they are.
"""


class _Spill(archive.Tap):
    """A view member written from its data member's rows while they are read (one read of
    the table instead of two), kept in an unnamed private temporary file until its turn."""

    def __init__(self, render, tick, columns: tuple = (), joined=None) -> None:
        self.render, self.tick, self.columns, self.joined = render, tick, columns, joined
        self.file = tempfile.TemporaryFile()
        self.rows = 0

    def __call__(self, rows: list) -> None:
        self.file.write(self.render(rows).encode("utf-8"))
        self.rows += len(rows)
        self.tick(len(rows))

    def copy_to(self, sink) -> int:
        self.file.seek(0)
        while chunk := self.file.read(1 << 20):
            sink.write_bytes(chunk)
        return self.rows


def _view_spills(account_id: int, stamp: str, tick) -> dict[str, _Spill]:
    """On SQLite: the vCard and iCalendar members, written from the reads of contacts.csv,
    appointments.csv and todos.csv (the calendars join each row's contact)."""
    c = Contact.__table__

    def getter(model, wanted, joined=("first_name", "last_name", "email")) -> itemgetter:
        names = [col.name for col in archive.columns(model)] + list(joined)
        return itemgetter(*[names.index(n) for n in wanted])

    cards = getter(Contact, _CONTACT_COLS, joined=("revised",))
    events = getter(Appointment, ("id", "description", "start", "end", "colour", "first_name", "last_name", "email"))
    todos = getter(
        Todo,
        (
            "id",
            "summary",
            "details",
            "priority",
            "due",
            "category",
            "status",
            "completed_at",
            "first_name",
            "last_name",
            "email",
        ),
    )
    contact = (c.c.first_name, c.c.last_name, c.c.email)

    def with_contact(t):
        return t.outerjoin(c, c.c.id == t.c.contact_id)

    return {
        "contacts.csv": _Spill(
            lambda rows: vformat.vcards(account_id, map(cards, rows)), tick, (contact_revised("sqlite"),), lambda t: t
        ),
        "appointments.csv": _Spill(
            lambda rows: vformat.vevents(account_id, stamp, map(events, rows)), tick, contact, with_contact
        ),
        "todos.csv": _Spill(
            lambda rows: vformat.vtodos(account_id, stamp, map(todos, rows)), tick, contact, with_contact
        ),
    }


def write_view_members(
    w: ArchiveWriter,
    conn: Connection,
    account_id: int,
    account: dict,
    counts: dict[str, int],
    tick,
    stamp: str,
    spilled: dict[str, _Spill],
    time_zone: str = "",
) -> dict[str, int]:
    """The view members; those in ``spilled`` were written while their data members were
    read and are copied in."""
    views: dict[str, int] = {}
    with w.member("contacts.vcf") as sink:
        if "contacts.csv" in spilled:
            sink.rows = views["contacts"] = spilled["contacts.csv"].copy_to(sink)
        else:
            sink.rows = views["contacts"] = write_vcards(sink, conn, account_id, tick)
    for kind, title, write in (("appointments", "Appointments", write_events), ("todos", "To-dos", write_todos)):
        with w.member(f"{kind}.ics") as sink:
            spill = spilled.get(f"{kind}.csv")
            if spill is None:
                sink.rows = views[kind] = write(sink, conn, account_id, stamp, tick)
                continue
            sink.write(vformat.calendar_begin(title))
            sink.rows = views[kind] = spill.copy_to(sink)
            sink.write(vformat.calendar_end())
    views["email_templates"] = write_templates(w, conn, account_id, tick)
    summary = monthly_summary(conn, account_id)
    w.write_csv("reports/summary.csv", SUMMARY_HEADER, ([archive.neutralise(str(v)) for v in row] for row in summary))
    w.write_text(
        "README.txt",
        README.format(
            account=account["name"],
            date=_stamp(time_zone),
            zone=zones.zone_name(zones.zone_for(time_zone)),
            contacts=counts["contacts"],
            appointments=counts["appointments"],
            todos=counts["todos"],
        ),
    )
    return views


def rows_to_write(counts: dict[str, int]) -> int:
    """Rows an export writes: every data row, and the contacts, appointments, to-dos and
    templates once more as view members."""
    return sum(counts.values()) + sum(counts[k] for k in VIEW_KINDS)


def write_export_archive(
    conn: Connection,
    account_id: int,
    out: IO[bytes],
    progress: Progress | ProgressCounter | None = None,
    counts: dict[str, int] | None = None,
    time_zone: str = "",
) -> dict:
    """Data members (no password hashes, formulas neutralised) and view members; README.txt
    is dated in ``time_zone`` (the exporting member's)."""
    counts = counts if counts is not None else archive.count_rows(conn, account_id)
    tick = progress if isinstance(progress, ProgressCounter) else ProgressCounter(rows_to_write(counts), progress)
    w = ArchiveWriter(out, "export", zone=zones.zone_for(time_zone))
    spills: dict[str, _Spill] = {}
    try:
        account = archive.account_record(conn, account_id)
        stamp = vformat.utc_stamp(clock.now())
        if archive.database_for(conn).taps:
            spills = _view_spills(account_id, stamp, tick)
        archive.write_data_members(
            w,
            conn,
            account_id,
            include_password_hashes=False,
            progress=tick,
            neutralise_formulas=True,
            counts=counts,
            taps=spills,
        )
        write_view_members(w, conn, account_id, account, counts, tick, stamp, spills, time_zone)
        return w.close(archive.base_manifest("export", account, counts))
    except BaseException:
        w.abort()
        raise
    finally:
        for spill in spills.values():
            spill.file.close()


# --- services --------------------------------------------------------------------------------------


def _account_slug(conn: Connection, account_id: int) -> str:
    t = Account.__table__
    slug, name = conn.execute(select(t.c.slug, t.c.name).where(t.c.id == account_id)).one()
    return safe_name(slug or name, "account")


def export_account(
    engine: Engine, who: SignedIn, out_dir: str | os.PathLike | None = None, progress: Progress | None = None
) -> ExportResult:
    """ "Download all my data": the whole account as one verified archive (owner and
    administrators only)."""
    folder = exports_folder(out_dir)
    with db.snapshot_connection(engine) as conn:  # the members, counts and manifest agree
        actor = load_actor(Session(bind=conn), who, "data.export")
        account_id = actor.account_id
        counts = archive.count_rows(conn, account_id)
        # the bar covers writing, then re-reading every row to verify it
        tick = ProgressCounter(2 * rows_to_write(counts), progress)
        target = _TargetFile(folder, f"{_account_slug(conn, account_id)}-{_stamp(actor.time_zone)}", ".zip")
        try:
            manifest = write_export_archive(conn, account_id, target.file, tick, counts, actor.time_zone)
            target.sync()
        except BaseException:
            target.discard()
            raise
    try:
        target.file.seek(0)
        with zipfile.ZipFile(target.file) as zf:
            checked = archive.verify_archive(zf, progress=tick, count=False)
        if checked["counts"] != manifest["counts"]:  # pragma: no cover - verify_archive reads the same file
            raise ArchiveError("the export could not be verified")
        path = target.publish()
    except BaseException:
        target.discard()
        raise
    sha, size = _sha256_of(path)
    counts = manifest["counts"]
    with db.write_session(engine) as s:
        audit.append(
            s,
            "data.export",
            actor=audit.actor_of(who.member_id),
            account_id=account_id,
            details={"counts": counts, "bytes": size},
        )
    return ExportResult(path, size, sha, counts)


def _contact_ids_in_account(conn: Connection, account_id: int, ids: list[int]) -> None:
    t = Contact.__table__
    found = 0
    for k in range(0, len(ids), _ID_CHUNK):
        chunk = ids[k : k + _ID_CHUNK]
        found += conn.execute(
            select(func.count()).select_from(t).where(t.c.account_id == account_id, t.c.id.in_(chunk))
        ).scalar_one()
    if found != len(ids):
        missing = len(ids) - found
        raise NotFound(
            f"{missing} of the chosen contacts {'is' if missing == 1 else 'are'} not in your "
            "account; nothing was exported"
        )


def _chunked_where(ids: list[int] | None) -> Iterator:
    t = Contact.__table__
    if ids is None:
        yield None
        return
    for k in range(0, len(ids), _ID_CHUNK):
        chunk = ids[k : k + _ID_CHUNK]
        yield and_(t.c.id.in_(chunk))


def export_contacts(
    engine: Engine,
    who: SignedIn,
    ids: list[int] | None,
    fmt: str,
    out_dir: str | os.PathLike | None = None,
    progress: Progress | None = None,
) -> ExportResult:
    """Contacts → Group Actions: the chosen contacts (``ids``; None for all) as the lossless
    CSV, vCard, Google Contacts CSV or Outlook CSV (see :data:`FORMATS`)."""
    if fmt not in FORMATS:
        raise InvalidInput(f"unknown format {fmt!r}; choose {', '.join(FORMATS)}")
    if ids is not None:
        try:
            ids = sorted({int(i) for i in ids})
        except (TypeError, ValueError):
            raise InvalidInput("contact ids must be whole numbers") from None
        if not ids:
            raise InvalidInput("no contacts were chosen")
    folder = exports_folder(out_dir)
    with db.snapshot_connection(engine) as conn:  # the count (the progress bar's total) and the rows agree
        actor = load_actor(Session(bind=conn), who, "data.export")
        account_id = actor.account_id
        t = Contact.__table__
        if ids is not None:
            _contact_ids_in_account(conn, account_id, ids)
            total = len(ids)
        else:
            total = conn.execute(select(func.count()).select_from(t).where(t.c.account_id == account_id)).scalar_one()
        tick = ProgressCounter(total, progress)
        target = _TargetFile(
            folder, f"{_account_slug(conn, account_id)}-contacts-{_stamp(actor.time_zone)}", FORMATS[fmt][1]
        )
        try:
            n = 0
            w = archive.MemberSink(target.file)
            if fmt == "csv":
                cols = archive.columns(Contact)
                database = archive.database_for(conn)
                w.write(archive.BOM)  # for spreadsheet programs, as the archive's CSV members
                writer = csv.writer(w, lineterminator="\r\n")
                writer.writerow([c.name for c in cols])
                for where in _chunked_where(ids):
                    for part in database.csv_batches(conn, Contact, account_id, cols, tick, neutral=True, where=where):
                        writer.writerows(part)
                        n += len(part)
            elif fmt == "vcf":
                for where in _chunked_where(ids):
                    n += write_vcards(w, conn, account_id, tick, where)
            else:
                n = write_import_csv(w, conn, account_id, fmt, ids, tick)
            w.flush()
            target.sync()
        except BaseException:
            target.discard()
            raise
    try:
        target.file.seek(0)
        text = (line.decode("utf-8") for line in target.file)
        if fmt != "vcf":
            got = sum(1 for _ in csv.reader(text)) - 1
        else:
            got = sum(1 for ln in text if ln.rstrip("\r\n") == "BEGIN:VCARD")
        if got != n or n != total:
            raise ArchiveError(f"the export could not be verified: {got} contacts written, {total} chosen")
        path = target.publish()
    except BaseException:
        target.discard()
        raise
    sha, size = _sha256_of(path)
    with db.write_session(engine) as s:
        audit.append(
            s,
            "contacts.export",
            actor=audit.actor_of(who.member_id),
            account_id=account_id,
            details={"contacts": n, "format": fmt, "all": ids is None},
        )
    return ExportResult(path, size, sha, {"contacts": n})


def write_import_csv(sink, conn: Connection, account_id: int, fmt: str, ids: list[int] | None, tick) -> int:
    """The contacts (``ids``; None for all) as a Google Contacts CSV (``fmt`` "google") or an
    Outlook CSV ("outlook"): see :mod:`contact_csv`. Outlook's starts with a byte-order mark."""
    header, render = (
        (contact_csv.GOOGLE_HEADER, contact_csv.google_rows)
        if fmt == "google"
        else (contact_csv.OUTLOOK_HEADER, contact_csv.outlook_rows)
    )
    if fmt == "outlook":
        sink.write(archive.BOM)
    writer = csv.writer(sink, lineterminator="\r\n")
    writer.writerow(header)
    t = Contact.__table__
    n = 0
    for where in _chunked_where(ids):
        q = select(*(_raw(conn, t.c[c]) for c in contact_csv.COLUMNS)).where(t.c.account_id == account_id)
        for part in _batches(conn, (q if where is None else q.where(where)).order_by(t.c.id)):
            writer.writerows(render(part))
            n += len(part)
            tick(len(part))
    return n


def restore_from_archive(
    engine: Engine, path: str | os.PathLike, progress: Progress | None = None
) -> tuple[int, dict[str, int]]:
    """Import an unencrypted archive (a user's export) into this database, in one
    transaction, under its original ids. An export has no password hashes: its team members
    get unusable passwords and must set new ones."""
    path = Path(path)
    if not path.is_file():
        raise ArchiveError(f"no archive at {path}")
    with archive.open_zip(path) as zf:
        manifest = archive.verify_archive(zf)
        account_id = manifest["account"]["id"]
        with db.write_session(engine) as s:
            conn = s.connection()
            closed = conn.execute(
                select(ClosedAccount.__table__.c.id).where(
                    ClosedAccount.__table__.c.account_id == account_id, ClosedAccount.__table__.c.state == "closed"
                )
            ).first()
            if closed:
                raise ArchiveError(
                    "that account is closed and awaits restore from its backup "
                    "('crm-tui admin restore'); nothing was imported"
                )
            account_id, counts = archive.import_archive(
                conn, zf, unusable_password=UNUSABLE_PASSWORD, progress=progress, refuse_nul=True
            )
            audit.append(
                s,
                "account.import",
                actor="support",
                account_id=account_id,
                details={"counts": counts, "kind": manifest.get("kind")},
            )
    return account_id, counts
