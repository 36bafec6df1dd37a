"""Reading an archive: the manifest, each member checked against its sha256 and size as it is
read, the whole archive verified, and the data members' rows as typed values."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
import zlib
from collections.abc import Callable, Iterator
from typing import IO, Any

from crm_tui.models import Autoresponder, AutoresponderStep
from crm_tui.services.archive.format import (
    CSV_MEMBERS,
    FORMAT,
    FORMAT_VERSION,
    JSON_MEMBERS,
    KIND_LABELS,
    MANIFEST,
    MEMBER_KINDS,
    columns,
    from_json,
    from_text,
    unneutralise,
)
from crm_tui.services.errors import ArchiveError
from crm_tui.services.inputs import refuse_nul_in_archive


class _HashingReader(io.RawIOBase):
    """A member's bytes, hashed as they are read. With ``refuse_nul`` (a member read to be
    stored), a NUL byte, which no database here can store (see :mod:`crm_tui.services.inputs`),
    refuses the archive."""

    def __init__(self, raw: IO[bytes], name: str = "", refuse_nul: bool = False) -> None:
        self._raw = raw
        self.name = name
        self.refuse_nul = refuse_nul
        self.sha = hashlib.sha256()
        self.bytes = 0

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        data = self._raw.read(len(b))
        if self.refuse_nul and b"\x00" in data:
            raise ArchiveError(f"{self.name} holds a NUL character (\\x00), which cannot be stored; nothing changed")
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


class MemberReader:
    """Opens a member for reading and checks its sha256 against the manifest on close.
    ``refuse_nul``: the member comes from outside (an import), so a NUL in it refuses the
    archive. A backup of this database's own rows is read as it was written: a SQLite
    database from before NUL was refused may hold one, and restoring it must still work."""

    def __init__(self, zf: zipfile.ZipFile, manifest: dict, name: str, *, refuse_nul: bool = False) -> None:
        entry = manifest.get("members", {}).get(name)
        if entry is None:
            raise ArchiveError(f"the archive lacks {name}")
        self.expected = entry["sha256"]
        self.name = name
        try:
            self.hashing = _HashingReader(zf.open(name), name, refuse_nul=refuse_nul)
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


_OBJECT_LINES = {".vcf": ("BEGIN:VCARD",), ".ics": ("BEGIN:VEVENT", "BEGIN:VTODO")}


def _count_rows_in(reader: MemberReader) -> int | None:
    name = reader.name
    if name.endswith(".csv"):
        return sum(1 for _row in csv.reader(reader.text())) - 1  # the header is no row
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
                    tails[token] = buf[-(len(token) - 1) :]
            return n
    return None


def verify_archive(zf: zipfile.ZipFile, progress: Callable[[int], None] | None = None, *, count: bool = True) -> dict:
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
        reader = MemberReader(zf, manifest, name)
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
        if kind is not None and kind in counts and rows is not None and rows != counts[kind]:
            raise ArchiveError(f"{name} holds {rows} rows, the manifest counts {counts[kind]} {KIND_LABELS[kind]}")
        if progress is not None:
            progress(rows if rows is not None and not name.startswith("reports/") else int(name.endswith(".html")))
    return manifest


def read_json(zf: zipfile.ZipFile, manifest: dict, name: str, *, refuse_nul: bool = False) -> Any:
    reader = MemberReader(zf, manifest, name, refuse_nul=refuse_nul)
    try:
        payload = json.load(reader.text())
    except ValueError as exc:
        raise ArchiveError(f"{name} is damaged: {exc}") from None
    reader.check()
    if refuse_nul:
        refuse_nul_in_archive([payload], name)  # a "\\u0000" escape
    return payload


def json_to_rows(model, items: list[dict], account_id: int, defaults: dict | None = None) -> Iterator[dict]:
    cols = {c.name: c for c in columns(model)}
    for item in items:
        row = {"account_id": account_id}
        row.update(defaults or {})
        for name, col in cols.items():
            if name in item:
                row[name] = from_json(col, item[name])
        yield row


def csv_header(reader: MemberReader, model) -> tuple[Iterator[list[str]], list[str], dict]:
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


def csv_rows(reader: MemberReader, model, account_id: int, uncell: Callable[[str], str] | None) -> Iterator[dict]:
    rows, header, cols = csv_header(reader, model)
    picked = [cols[h] for h in header]
    for lineno, values in enumerate(rows, start=2):
        if len(values) != len(picked):
            raise ArchiveError(f"{reader.name} line {lineno}: expected {len(picked)} fields, got {len(values)}")
        row = {"account_id": account_id}
        try:
            for col, value in zip(picked, values, strict=False):
                if uncell is not None:
                    value = uncell(value)
                row[col.name] = from_text(col, value)
        except ValueError as exc:
            raise ArchiveError(f"{reader.name} line {lineno}: {exc}") from None
        yield row


def member_rows(zf: zipfile.ZipFile, manifest: dict, name: str) -> Iterator[dict]:
    """The rows of one data member as typed column values, ids and references as the
    archive holds them (no ``account_id``); a spreadsheet cell's formula escape is undone.
    Each autoresponder's row carries its steps' rows under ``"steps"``. The member's
    checksum is checked once its last row has been read (a CSV member) or before the first
    (a JSON member); a mismatch raises :class:`ArchiveError`. For an import: a NUL refuses it."""
    if name in CSV_MEMBERS:
        reader = MemberReader(zf, manifest, name, refuse_nul=True)
        uncell = unneutralise if name in manifest.get("formula_escaped", ()) else None
        try:
            for row in csv_rows(reader, CSV_MEMBERS[name], 0, uncell):
                del row["account_id"]
                yield row
        except csv.Error as exc:
            raise ArchiveError(f"{name} is damaged: {exc}") from None
        reader.check()
        return
    model = JSON_MEMBERS.get(name)
    if model is None:
        raise ArchiveError(f"{name} is not a data member")
    items = read_json(zf, manifest, name, refuse_nul=True)
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise ArchiveError(f"{name} is not a list of records")
    for item, row in zip(items, json_to_rows(model, items, 0), strict=False):
        del row["account_id"]
        if model is Autoresponder:
            steps = item.get("steps", [])
            if not isinstance(steps, list) or not all(isinstance(step, dict) for step in steps):
                raise ArchiveError(f"{name} has an autoresponder whose steps are not records")
            row["steps"] = [
                {k: v for k, v in step.items() if k != "account_id"}
                for step in json_to_rows(AutoresponderStep, steps, 0)
            ]
        yield row
