"""A small streaming writer of vCard 3.0 (RFC 2426 / RFC 6350 escaping) and iCalendar
(RFC 5545) text.

Each function returns the text of one object (a card, an event, a to-do) ready to append
to a file: content lines end with CRLF and are folded at 75 octets without ever splitting
a UTF-8 sequence. TEXT values escape backslash, comma, semicolon and newlines; other control
characters (which neither format allows) are dropped. UIDs are stable: derived from the
account id, the kind and the row id, so exporting twice gives the same UIDs and calendar
programs update events instead of duplicating them.
"""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime, timezone
from typing import Iterable

CRLF = "\r\n"
FOLD_AT = 75  # octets per physical line, CRLF excluded (RFC 5545 §3.1, RFC 6350 §3.2)
PRODID = "-//crm-tui//account archive//EN"

_UID_NAMESPACE = uuid.UUID("5b0f8a3e-6f43-4a8e-9a57-3f0a6c1e2d41")
# control characters other than TAB (\n and \r are handled as line breaks first)
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_NEEDS_ESCAPE = re.compile(r"[\\;,\r\n\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def uid(account_id: int, kind: str, row_id: int) -> str:
    """A stable, opaque UID for one row: the same account, kind and id give the same UID."""
    return f"{uuid.uuid5(_UID_NAMESPACE, f'{account_id}/{kind}/{row_id}')}@crm-tui"


def escape(value: str) -> str:
    """Escape a TEXT value: ``\\`` ``;`` ``,`` and line breaks (CRLF, CR, LF → ``\\n``)."""
    if not _NEEDS_ESCAPE.search(value):
        return value
    value = (
        value.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\n")
        .replace("\r", "\n")
        .replace("\n", "\\n")
    )
    return _CONTROL.sub("", value)


def fold(line: str) -> str:
    """One content line with its CRLF, folded at 75 octets on UTF-8 sequence boundaries."""
    if len(line) <= FOLD_AT // 4 or (len(line) <= FOLD_AT and line.isascii()):
        return line + CRLF
    data = line.encode("utf-8")
    if len(data) <= FOLD_AT:
        return line + CRLF
    parts: list[bytes] = []
    start, limit = 0, FOLD_AT
    n = len(data)
    while n - start > limit:
        cut = start + limit
        while data[cut] & 0xC0 == 0x80:  # never split a multi-octet sequence
            cut -= 1
        parts.append(data[start:cut])
        start, limit = cut, FOLD_AT - 1  # continuation lines begin with one space
    parts.append(data[start:])
    return (b"\r\n ".join(parts) + b"\r\n").decode("utf-8")


def line(name: str, value: str, params: str = "") -> str:
    """A folded content line whose value is already escaped (or is not TEXT)."""
    return fold(f"{name}{params}:{value}")


def text_line(name: str, value: str, params: str = "") -> str:
    return fold(f"{name}{params}:{escape(value)}")


def structured(parts: Iterable[str]) -> str:
    """A structured value (N, ADR): components escaped one by one, joined by ``;``."""
    return ";".join(escape(p) for p in parts)


def utc_stamp(value: datetime) -> str:
    """A DATE-TIME in UTC form, e.g. ``20250107T093000Z``."""
    return value.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def date_value(value: date) -> str:
    return value.strftime("%Y%m%d")


# --- vCard -----------------------------------------------------------------------------------


def vcard(
    *,
    uid: str,
    first_name: str = "",
    last_name: str = "",
    company: str = "",
    emails: Iterable[str] = (),
    phones: Iterable[tuple[str, bool]] = (),
    street: str = "",
    city: str = "",
    state: str = "",
    postal_code: str = "",
    country: str = "",
    birthday: date | None = None,
    categories: Iterable[str] = (),
    note: str = "",
    revised: datetime | None = None,
) -> str:
    """One vCard 3.0. ``phones`` are (number, can receive texts) pairs."""
    full = " ".join(p for p in (first_name, last_name) if p) or company or next(iter(emails), "") or "(no name)"
    out = ["BEGIN:VCARD\r\nVERSION:3.0\r\n", line("UID", escape(uid)), text_line("FN", full),
           line("N", structured((last_name, first_name, "", "", "")))]
    if company:
        out.append(text_line("ORG", company))
    for email in emails:
        if email:
            out.append(text_line("EMAIL", email, ";TYPE=INTERNET"))
    for number, texts in phones:
        if number:
            out.append(text_line("TEL", number, ";TYPE=CELL" if texts else ";TYPE=VOICE"))
    if street or city or state or postal_code or country:
        out.append(line("ADR", structured(("", "", street, city, state, postal_code, country)), ";TYPE=HOME"))
    if birthday is not None:
        out.append(line("BDAY", birthday.isoformat()))
    cats = [c for c in categories if c]
    if cats:
        out.append(line("CATEGORIES", ",".join(escape(c) for c in cats)))
    if note:
        out.append(text_line("NOTE", note))
    if revised is not None:
        out.append(line("REV", utc_stamp(revised)))
    out.append("END:VCARD\r\n")
    return "".join(out)


# --- iCalendar -------------------------------------------------------------------------------


def calendar_begin(name: str = "") -> str:
    out = ["BEGIN:VCALENDAR\r\nVERSION:2.0\r\n", line("PRODID", PRODID), "CALSCALE:GREGORIAN\r\n"]
    if name:
        out.append(text_line("X-WR-CALNAME", name))
    return "".join(out)


def calendar_end() -> str:
    return "END:VCALENDAR\r\n"


def vevent(
    *,
    uid: str,
    stamp: str,
    start: datetime,
    end: datetime,
    summary: str,
    description: str = "",
    colour: str = "",
) -> str:
    """One VEVENT; ``stamp`` is a :func:`utc_stamp` (DTSTAMP, the same for a whole file)."""
    out = ["BEGIN:VEVENT\r\n", line("UID", escape(uid)), line("DTSTAMP", stamp),
           line("DTSTART", utc_stamp(start)), line("DTEND", utc_stamp(end)), text_line("SUMMARY", summary)]
    if description:
        out.append(text_line("DESCRIPTION", description))
    if colour and colour.isalpha() and colour.isascii():
        out.append(line("COLOR", colour.lower()))  # RFC 7986: a CSS3 colour name
    out.append("END:VEVENT\r\n")
    return "".join(out)


# our priorities 1 (high), 3 (normal), 5 (low) on RFC 5545's 1 (highest) .. 9 (lowest)
ICAL_PRIORITY = {1: 1, 3: 5, 5: 9}


def vtodo(
    *,
    uid: str,
    stamp: str,
    summary: str,
    description: str = "",
    priority: int | None = None,
    due: date | None = None,
    category: str = "",
    completed: datetime | None = None,
    done: bool = False,
) -> str:
    out = ["BEGIN:VTODO\r\n", line("UID", escape(uid)), line("DTSTAMP", stamp), text_line("SUMMARY", summary)]
    if description:
        out.append(text_line("DESCRIPTION", description))
    if priority in ICAL_PRIORITY:
        out.append(line("PRIORITY", str(ICAL_PRIORITY[priority])))
    if due is not None:
        out.append(line("DUE", date_value(due), ";VALUE=DATE"))
    if category:
        out.append(line("CATEGORIES", escape(category)))
    out.append(line("STATUS", "COMPLETED" if done else "NEEDS-ACTION"))
    if completed is not None:
        out.append(line("COMPLETED", utc_stamp(completed)))
    out.append("END:VTODO\r\n")
    return "".join(out)
