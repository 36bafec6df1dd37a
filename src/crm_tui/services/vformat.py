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
from collections.abc import Iterable
from datetime import date, datetime, timezone
from functools import lru_cache

CRLF = "\r\n"
FOLD_AT = 75  # octets per physical line, CRLF excluded (RFC 5545 §3.1, RFC 6350 §3.2)
PRODID = "-//crm-tui//account archive//EN"

_UID_NAMESPACE = uuid.UUID("5b0f8a3e-6f43-4a8e-9a57-3f0a6c1e2d41")
# control characters other than TAB (\n and \r are handled as line breaks first)
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_NEEDS_ESCAPE = re.compile(r"[\\;,\r\n\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@lru_cache(maxsize=64)
def _account_token(account_id: int) -> str:
    return uuid.uuid5(_UID_NAMESPACE, f"account/{account_id}").hex[:16]


def uid(account_id: int, kind: str, row_id: int) -> str:
    """A stable UID for one row: the same account, kind and id always give the same UID
    (calendar programs then update an event on a second import instead of duplicating it)."""
    return f"{kind}-{row_id}-{_account_token(account_id)}@crm-tui"


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
    return _fold(line)


def _fold(line: str) -> str:
    data = line.encode("utf-8")
    if len(data) <= FOLD_AT:
        return line + CRLF
    return (b"\r\n ".join(_fold_parts(data)) + b"\r\n").decode("utf-8")


def _fold_parts(data: bytes) -> list[bytes]:
    """The physical lines of one content line (UTF-8) longer than 75 octets."""
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
    return parts


def line(name: str, value: str, params: str = "") -> str:
    """A folded content line whose value is already escaped (or is not TEXT)."""
    return fold(f"{name}{params}:{value}")


def text_line(name: str, value: str, params: str = "") -> str:
    if _NEEDS_ESCAPE.search(value):
        value = escape(value)
    text = f"{name}{params}:{value}"
    if len(text) <= FOLD_AT // 4 or (len(text) <= FOLD_AT and text.isascii()):
        return text + CRLF
    return _fold(text)


def structured(parts: Iterable[str]) -> str:
    """A structured value (N, ADR): components escaped one by one, joined by ``;``."""
    return ";".join(escape(p) for p in parts)


def utc_stamp(value: datetime | str) -> str:
    """A DATE-TIME in UTC form, e.g. ``20250107T093000Z``, from an aware datetime or from
    UTC text such as ``2025-01-07 09:30:00.000000`` (how SQLite stores timestamps)."""
    if isinstance(value, str):
        if len(value) >= 19 and value[4] == "-" and value[13] == ":":
            return f"{value[:4]}{value[5:7]}{value[8:10]}T{value[11:13]}{value[14:16]}{value[17:19]}Z"
        value = datetime.fromisoformat(value)
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
    if value.tzinfo is not timezone.utc:
        value = value.astimezone(timezone.utc)
    return f"{value.year:04d}{value.month:02d}{value.day:02d}T{value.hour:02d}{value.minute:02d}{value.second:02d}Z"


def date_value(value: date | str) -> str:
    """A DATE, e.g. ``20250107``, from a date or from ISO text ``2025-01-07``."""
    if isinstance(value, str):
        value = date.fromisoformat(value[:10])
    return f"{value.year:04d}{value.month:02d}{value.day:02d}"


def _emit(lines: list[str]) -> str:
    """Join unfolded content lines with CRLF, folding only the lines that need it."""
    text = CRLF.join(lines)
    longest = max(map(len, lines))
    if longest <= FOLD_AT // 4 or (longest <= FOLD_AT and text.isascii()):
        return text + CRLF
    # values never hold a raw CR or LF (they are escaped), so CRLF splits lines exactly
    if max(map(len, text.encode("utf-8").split(b"\r\n"))) <= FOLD_AT:
        return text + CRLF
    return "".join([fold(ln) for ln in lines])


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
    birthday: date | str | None = None,
    categories: Iterable[str] = (),
    note: str = "",
    revised: datetime | str | None = None,
) -> str:
    """One vCard 3.0. ``phones`` are (number, can receive texts) pairs; the first email and the
    first phone are marked preferred (``TYPE=PREF``, vCard 3.0's form of 4.0's ``PREF=1``).

    A card with a company and no personal name is a company's card: the company is its FN
    and N, with ``X-ABShowAs:COMPANY`` (Apple Contacts then files and shows it as a company).
    ``revised`` is the REV: when the contact last changed."""
    emails = [e for e in emails if e]
    phones = [(n, t) for n, t in phones if n]
    categories = [c for c in categories if c]
    business = bool(company) and not first_name and not last_name
    full = " ".join([p for p in (first_name, last_name) if p]) or company or (emails[0] if emails else "(no name)")
    # one search over all the values; most cards need no escaping at all
    values = "".join(
        [
            uid,
            full,
            last_name,
            first_name,
            company,
            street,
            city,
            state,
            postal_code,
            country,
            note,
            *emails,
            *categories,
            *(n for n, _t in phones),
        ]
    )
    esc = escape if _NEEDS_ESCAPE.search(values) else str
    out = [
        "BEGIN:VCARD",
        "VERSION:3.0",
        f"UID:{esc(uid)}",
        f"FN:{esc(full)}",
        f"N:{esc(company)};;;;" if business else f"N:{esc(last_name)};{esc(first_name)};;;",
    ]
    if company:
        out.append(f"ORG:{esc(company)}")
    if business:
        out.append("X-ABShowAs:COMPANY")
    for k, email in enumerate(emails):
        out.append(f"EMAIL;TYPE=INTERNET{',PREF' if k == 0 else ''}:{esc(email)}")
    for k, (number, texts) in enumerate(phones):
        out.append(f"TEL;TYPE={'CELL' if texts else 'VOICE'}{',PREF' if k == 0 else ''}:{esc(number)}")
    if street or city or state or postal_code or country:
        out.append(f"ADR;TYPE=HOME:;;{esc(street)};{esc(city)};{esc(state)};{esc(postal_code)};{esc(country)}")
    if birthday:
        out.append(f"BDAY:{birthday if isinstance(birthday, str) else birthday.isoformat()}")
    cats = [esc(c) for c in categories]
    if cats:
        out.append(f"CATEGORIES:{','.join(cats)}")
    if note:
        out.append(f"NOTE:{esc(note)}")
    if revised:
        out.append(f"REV:{utc_stamp(revised)}")
    out.append("END:VCARD")
    return _emit(out)


# --- iCalendar -------------------------------------------------------------------------------


def calendar_begin(name: str = "") -> str:
    out = ["BEGIN:VCALENDAR", "VERSION:2.0", f"PRODID:{PRODID}", "CALSCALE:GREGORIAN"]
    if name:
        out.append(f"X-WR-CALNAME:{escape(name)}")
    return _emit(out)


def calendar_end() -> str:
    return "END:VCALENDAR\r\n"


def vevent(
    *,
    uid: str,
    stamp: str,
    start: datetime | str,
    end: datetime | str,
    summary: str,
    description: str = "",
    colour: str = "",
) -> str:
    """One VEVENT; ``stamp`` is a :func:`utc_stamp` (DTSTAMP, the same for a whole file)."""
    out = [
        "BEGIN:VEVENT",
        f"UID:{escape(uid)}",
        f"DTSTAMP:{stamp}",
        f"DTSTART:{utc_stamp(start)}",
        f"DTEND:{utc_stamp(end)}",
        f"SUMMARY:{escape(summary)}",
    ]
    if description:
        out.append(f"DESCRIPTION:{escape(description)}")
    if colour and colour.isascii() and colour.isalpha():
        out.append(f"COLOR:{colour.lower()}")  # RFC 7986: a CSS3 colour name
    out.append("END:VEVENT")
    return _emit(out)


# our priorities 1 (high), 3 (normal), 5 (low) on RFC 5545's 1 (highest) .. 9 (lowest)
ICAL_PRIORITY = {1: 1, 3: 5, 5: 9}


def vtodo(
    *,
    uid: str,
    stamp: str,
    summary: str,
    description: str = "",
    priority: int | None = None,
    due: date | str | None = None,
    category: str = "",
    completed: datetime | str | None = None,
    done: bool = False,
) -> str:
    out = ["BEGIN:VTODO", f"UID:{escape(uid)}", f"DTSTAMP:{stamp}", f"SUMMARY:{escape(summary)}"]
    if description:
        out.append(f"DESCRIPTION:{escape(description)}")
    if priority in ICAL_PRIORITY:
        out.append(f"PRIORITY:{ICAL_PRIORITY[priority]}")
    if due:
        out.append(f"DUE;VALUE=DATE:{date_value(due)}")
    if category:
        out.append(f"CATEGORIES:{escape(category)}")
    out.append(f"STATUS:{'COMPLETED' if done else 'NEEDS-ACTION'}")
    if completed:
        out.append(f"COMPLETED:{utc_stamp(completed)}")
    out.append("END:VTODO")
    return _emit(out)


# --- many objects at once ----------------------------------------------------------------------
#
# The export writes tens of thousands of objects: these take rows as plain tuples and build a
# whole batch before folding. They give exactly the text of vcard() / vevent() / vtodo() called
# row by row (tests/test_vformat_batch.py checks that), at a fraction of the cost: one search
# per row decides whether any value needs escaping, and one search over the whole batch whether
# any line needs folding (almost never), instead of a check per line.


def _stamp(value: datetime | str) -> str:
    if value.__class__ is str and len(value) >= 19 and value[4] == "-" and value[13] == ":":
        return f"{value[:4]}{value[5:7]}{value[8:10]}T{value[11:13]}{value[14:16]}{value[17:19]}Z"
    return utc_stamp(value)


def fold_all(text: str) -> str:
    """Fold every line of ``text`` (CRLF-terminated content lines) that needs it, as
    :func:`fold` folds one line. Values never hold a raw CR or LF (they are escaped), so
    CRLF splits the text into its lines exactly."""
    if text.isascii() and max(map(len, text.split(CRLF))) <= FOLD_AT:
        return text
    lines = text.encode("utf-8").split(b"\r\n")
    if max(map(len, lines)) <= FOLD_AT:
        return text
    return b"\r\n".join([ln if len(ln) <= FOLD_AT else b"\r\n ".join(_fold_parts(ln)) for ln in lines]).decode("utf-8")


# the columns vcards() takes, in order: the contact's own, then ``revised``, when it last
# changed (the REV; the export computes it, see export.contact_revised)
CARD_COLUMNS = (
    "id",
    "first_name",
    "last_name",
    "company",
    "email",
    "email2",
    "phone1",
    "phone1_text_ok",
    "phone2",
    "phone2_text_ok",
    "phone3",
    "phone3_text_ok",
    "phone4",
    "phone4_text_ok",
    "street",
    "city",
    "state",
    "postal_code",
    "country",
    "birthday",
    "category1",
    "category2",
    "notes",
    "revised",
)


def vcards(account_id: int, rows: Iterable[tuple]) -> str:
    """The vCards of many contacts (tuples in :data:`CARD_COLUMNS` order), as one text."""
    token = _account_token(account_id)
    needs_escape = _NEEDS_ESCAPE.search
    out: list[str] = []
    add = out.append
    for (
        rid,
        first,
        last,
        company,
        email,
        email2,
        phone1,
        text1,
        phone2,
        text2,
        phone3,
        text3,
        phone4,
        text4,
        street,
        city,
        state,
        postal_code,
        country,
        birthday,
        category1,
        category2,
        note,
        revised,
    ) in rows:
        if needs_escape(
            "".join(
                (
                    first,
                    last,
                    company,
                    email,
                    email2,
                    phone1,
                    phone2,
                    phone3,
                    phone4,
                    street,
                    city,
                    state,
                    postal_code,
                    country,
                    category1,
                    category2,
                    note,
                )
            )
        ):
            add(
                vcard(
                    uid=f"contact-{rid}-{token}@crm-tui",
                    first_name=first,
                    last_name=last,
                    company=company,
                    emails=(email, email2),
                    phones=((phone1, text1), (phone2, text2), (phone3, text3), (phone4, text4)),
                    street=street,
                    city=city,
                    state=state,
                    postal_code=postal_code,
                    country=country,
                    birthday=birthday,
                    categories=(category1, category2),
                    note=note,
                    revised=revised,
                )
            )  # folded already
            continue
        if first and last:
            add(
                f"BEGIN:VCARD\r\nVERSION:3.0\r\nUID:contact-{rid}-{token}@crm-tui\r\nFN:{first} {last}\r\n"
                f"N:{last};{first};;;\r\n"
            )
        elif first or last or not company:
            add(
                f"BEGIN:VCARD\r\nVERSION:3.0\r\nUID:contact-{rid}-{token}@crm-tui\r\n"
                f"FN:{first or last or email or email2 or '(no name)'}\r\nN:{last};{first};;;\r\n"
            )
        else:  # a company's card
            add(
                f"BEGIN:VCARD\r\nVERSION:3.0\r\nUID:contact-{rid}-{token}@crm-tui\r\nFN:{company}\r\n"
                f"N:{company};;;;\r\nORG:{company}\r\nX-ABShowAs:COMPANY\r\n"
            )
        if company and (first or last):
            add(f"ORG:{company}\r\n")
        if email:
            add(f"EMAIL;TYPE=INTERNET,PREF:{email}\r\n")
            if email2:
                add(f"EMAIL;TYPE=INTERNET:{email2}\r\n")
        elif email2:
            add(f"EMAIL;TYPE=INTERNET,PREF:{email2}\r\n")
        pref = ",PREF"  # on the first phone only
        if phone1:
            add(f"TEL;TYPE={'CELL' if text1 else 'VOICE'}{pref}:{phone1}\r\n")
            pref = ""
        if phone2:
            add(f"TEL;TYPE={'CELL' if text2 else 'VOICE'}{pref}:{phone2}\r\n")
            pref = ""
        if phone3:
            add(f"TEL;TYPE={'CELL' if text3 else 'VOICE'}{pref}:{phone3}\r\n")
            pref = ""
        if phone4:
            add(f"TEL;TYPE={'CELL' if text4 else 'VOICE'}{pref}:{phone4}\r\n")
        if street or city or state or postal_code or country:
            add(f"ADR;TYPE=HOME:;;{street};{city};{state};{postal_code};{country}\r\n")
        if birthday:
            add(f"BDAY:{birthday if birthday.__class__ is str else birthday.isoformat()}\r\n")
        if category1 and category2:
            add(f"CATEGORIES:{category1},{category2}\r\n")
        elif category1 or category2:
            add(f"CATEGORIES:{category1 or category2}\r\n")
        if note:
            add(f"NOTE:{note}\r\n")
        if revised:
            add(f"REV:{_stamp(revised)}\r\n")
        add("END:VCARD\r\n")
    return fold_all("".join(out))


def _who(first: str | None, last: str | None, email: str | None) -> str:
    if first and last:
        name = f"{first} {last}"
    else:
        name = first or last or ""
    if email:
        name = f"{name} <{email}>" if name else email
    return f"With {name}" if name else ""


def vevents(account_id: int, stamp: str, rows: Iterable[tuple]) -> str:
    """Many VEVENTs from tuples (id, summary, start, end, colour, contact's first name, last
    name, email); the description names the contact."""
    token = _account_token(account_id)
    needs_escape = _NEEDS_ESCAPE.search
    out: list[str] = []
    add = out.append
    for rid, summary, start, end, colour, first, last, email in rows:
        description = _who(first, last, email)
        has_description = bool(description)  # tested before escaping, as vevent() does
        if needs_escape(summary) or needs_escape(description):
            summary, description = escape(summary), escape(description)
        add(
            f"BEGIN:VEVENT\r\nUID:appointment-{rid}-{token}@crm-tui\r\nDTSTAMP:{stamp}\r\n"
            f"DTSTART:{_stamp(start)}\r\nDTEND:{_stamp(end)}\r\nSUMMARY:{summary}\r\n"
        )
        if has_description:
            add(f"DESCRIPTION:{description}\r\n")
        if colour and colour.isascii() and colour.isalpha():
            add(f"COLOR:{colour.lower()}\r\n")
        add("END:VEVENT\r\n")
    return fold_all("".join(out))


def vtodos(account_id: int, stamp: str, rows: Iterable[tuple]) -> str:
    """Many VTODOs from tuples (id, summary, details, priority, due, category, status,
    completed, contact's first name, last name, email); the description is the details and
    the contact, a blank line between."""
    token = _account_token(account_id)
    needs_escape = _NEEDS_ESCAPE.search
    out: list[str] = []
    add = out.append
    due_values: dict = {}  # a batch holds few distinct dates
    for rid, summary, details, priority, due, category, status, completed, first, last, email in rows:
        who = _who(first, last, email)
        has_description, has_category = bool(details or who), bool(category)  # before escaping, as vtodo()
        if details and who:
            if needs_escape(details) or needs_escape(who):
                description = escape(f"{details}\n\n{who}")
            else:  # the one line break pair, escaped as escape() would
                description = f"{details}\\n\\n{who}"
            if needs_escape(summary) or needs_escape(category):
                summary, category = escape(summary), escape(category)
        else:
            description = details or who
            if needs_escape(summary) or needs_escape(description) or needs_escape(category):
                summary, description, category = escape(summary), escape(description), escape(category)
        add(f"BEGIN:VTODO\r\nUID:todo-{rid}-{token}@crm-tui\r\nDTSTAMP:{stamp}\r\nSUMMARY:{summary}\r\n")
        if has_description:
            add(f"DESCRIPTION:{description}\r\n")
        if priority in ICAL_PRIORITY:
            add(f"PRIORITY:{ICAL_PRIORITY[priority]}\r\n")
        if due:
            value = due_values.get(due)
            if value is None:
                value = due_values[due] = date_value(due)
            add(f"DUE;VALUE=DATE:{value}\r\n")
        if has_category:
            add(f"CATEGORIES:{category}\r\n")
        add("STATUS:COMPLETED\r\n" if status == "closed" else "STATUS:NEEDS-ACTION\r\n")
        if completed:
            add(f"COMPLETED:{_stamp(completed)}\r\n")
        add("END:VTODO\r\n")
    return fold_all("".join(out))
