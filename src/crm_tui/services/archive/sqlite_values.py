"""SQLite's stored values and the archive's text, both ways, a cell or a whole column at a time.

SQLAlchemy stores on SQLite timestamps as naive UTC text ``YYYY-MM-DD HH:MM:SS.ffffff``, dates
as ``YYYY-MM-DD``, booleans as 0/1. Writing, those become the text the typed path writes
(:func:`.format.to_text`) without a datetime object per cell; restoring, a CSV cell becomes
exactly what SQLAlchemy would store, every value validated as :func:`.format.from_text`
validates it (tests/test_archive_fast_restore.py checks the stored bytes are the same)."""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable
from datetime import date, datetime, timezone
from operator import itemgetter
from typing import Any

from crm_tui.services.archive.format import FORMULA_START, cell_converter, from_text, neutral_cell, python_type

# --- stored values -> CSV text ---------------------------------------------------------------


def datetime_text(value: str | None) -> str:
    """``2025-11-07 02:55:00.000000`` (stored UTC) -> ``2025-11-07T02:55:00+00:00``."""
    if value is None:
        return ""
    if len(value) == 26 and value[10] == " " and value[19] == ".":
        frac = value[20:]
        return f"{value[:10]}T{value[11:19]}{'' if frac == '000000' else '.' + frac}+00:00"
    parsed = datetime.fromisoformat(value)
    parsed = parsed.replace(tzinfo=timezone.utc) if parsed.tzinfo is None else parsed.astimezone(timezone.utc)
    return parsed.isoformat()


def date_text(value: str | None) -> str:
    if value is None:
        return ""
    if len(value) == 10 and value[4] == "-" and value[7] == "-":
        return value
    return date.fromisoformat(value[:10]).isoformat()


def bool_text(value) -> str:
    return "" if value is None else ("true" if value else "false")


# need it turned into CSV text a whole column of a batch at a time (the same text as
# ``to_text`` and ``neutralise``): one regular expression checks a column's layout and string
# replacements do the rest; a column that does not match goes cell by cell.
_STORED_DT = r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}"
_STORED_DT_COLUMN = re.compile(f"(?:(?:{_STORED_DT}|None)\n)*(?:{_STORED_DT}|None)")
_STORED_DATE = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
_STORED_DATE_COLUMN = re.compile(f"(?:(?:{_STORED_DATE}|None)\n)*(?:{_STORED_DATE}|None)")
_BOOL_TEXT = {0: "false", 1: "true", None: ""}


def datetime_texts(values) -> list:
    """Stored timestamps (``2025-11-07 02:55:00.000000``, or NULL) -> ``2025-11-07T02:55:00+00:00``
    (``""`` for NULL)."""
    joined = "\n".join(map(str, values))  # NULL -> "None", which the pattern allows as a line
    if not _STORED_DT_COLUMN.fullmatch(joined) or "None" in values:
        return [datetime_text(v) for v in values]
    joined = (joined.replace(" ", "T") + "\n").replace(".000000\n", "\n").replace("\n", "+00:00\n")
    return joined.replace("None+00:00\n", "\n").split("\n")[:-1]


def date_texts(values) -> list:
    if not _STORED_DATE_COLUMN.fullmatch("\n".join(map(str, values))) or "None" in values:
        return [date_text(v) for v in values]
    return values  # the stored text, and NULL (which the csv writer writes as "")


def _bool_texts(values) -> list:
    try:
        return list(map(_BOOL_TEXT.__getitem__, values))
    except (KeyError, TypeError):
        return [bool_text(v) for v in values]


_FIRST = itemgetter(slice(0, 1))


def _neutral_texts(values) -> list:
    if None in values:
        return [neutral_cell(v) for v in values]
    if FORMULA_START.isdisjoint(map(_FIRST, values)):  # first characters, all in C
        return values
    return ["'" + v if v[:1] in FORMULA_START else v for v in values]


def column_texts(col, neutral: bool = False) -> Callable[[tuple], list] | None:
    """Turns a whole column of stored SQLite values into CSV text; None when the csv writer
    writes the stored values as they are (text, integers, NULL as "")."""
    ptype = python_type(col)
    if ptype is str:
        return _neutral_texts if neutral else None
    if ptype is datetime:
        return datetime_texts
    if ptype is date:
        return date_texts
    if ptype is bool:
        return _bool_texts
    if ptype in (int, float):
        return None
    convert = cell_converter(col, neutral)
    return lambda values: [convert(v) for v in values]


# --- CSV text -> stored values ---------------------------------------------------------------
#
# The typed path (``from_text`` per cell, a dict per row, SQLAlchemy's bind processing) is
# portable but slow: on SQLite, a CSV row becomes one tuple of exactly what SQLAlchemy would
# store, and the driver's ``executemany`` inserts a whole member. Text columns pass through
# untouched; timestamps become SQLAlchemy's SQLite storage text ``YYYY-MM-DD HH:MM:SS.ffffff``
# (UTC), dates ``YYYY-MM-DD``, booleans 0/1, integers int. Every value is still validated as
# the typed path validates it (tests/test_archive_fast_restore.py checks the stored bytes are
# the same as the typed path's).


def stored_datetime(text: str) -> str:
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
    return (
        f"{value.year:04d}-{value.month:02d}-{value.day:02d} "
        f"{value.hour:02d}:{value.minute:02d}:{value.second:02d}.{value.microsecond:06d}"
    )


def stored_date(text: str) -> str:
    value = date.fromisoformat(text)
    if len(text) == 10 and text[4] == "-" and text[7] == "-" and text[5] != "W":
        return text
    return f"{value.year:04d}-{value.month:02d}-{value.day:02d}"


_BOOLS = {"true": 1, "false": 0}


def _stored_bool(text: str) -> int:
    try:
        return _BOOLS[text]
    except KeyError:
        raise ValueError(f"not a boolean: {text!r}") from None


def stored_cell_converter(col) -> Callable[[str], Any] | None:
    """The function turning one CSV cell into the value SQLite stores; None for text."""
    ptype = python_type(col)
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
        return [stored_datetime(v) for v in values]
    deque(map(datetime.fromisoformat, values), maxlen=0)  # ranges (month 13, 30 February)
    joined = joined.replace("T", " ")
    if "." not in joined:  # whole seconds throughout
        return joined.replace("+00:00", ".000000").split("\n")
    if len(joined) == 33 * len(values) - 1:  # a fraction in every cell
        return joined.replace("+00:00", "").split("\n")
    return [v[:19] + ".000000" if len(v) == 25 else v[:26] for v in joined.split("\n")]


def _stored_dates(values: list[str]) -> list[str]:
    if not _DATE_COLUMN.fullmatch("\n".join(values)):
        return [stored_date(v) for v in values]
    deque(map(date.fromisoformat, values), maxlen=0)
    return values


# what SQLite stores for a cell, and for a whole column of cells, by the column's Python type
_STORED_CELL: dict[type, Callable[[str], Any]] = {
    datetime: stored_datetime,
    date: stored_date,
    bool: _stored_bool,
    int: int,
}
_STORED_COLUMN: dict[type, Callable[[list[str]], list]] = {
    datetime: _stored_datetimes,
    date: _stored_dates,
    bool: lambda values: list(map(_BOOLS.__getitem__, values)),
    int: lambda values: list(map(int, values)),
}


def stored_column_converter(col) -> Callable[[list[str]], list] | None:
    """Converts one column of a batch of CSV cells to stored values; None for text. Raises
    ValueError (or KeyError) on a bad cell; the caller then finds it cell by cell."""
    ptype = python_type(col)
    if ptype is str:
        return None
    fast = _STORED_COLUMN.get(ptype)
    if fast is None:
        one = stored_cell_converter(col)
        assert one is not None  # not text, so there is one
        return lambda values: [one(v) for v in values]
    nullable = col.nullable

    def column(values: list[str]) -> list:
        if "" not in values:
            return fast(values)
        if not nullable:
            raise ValueError("empty value")
        at = [i for i, v in enumerate(values) if v != ""]
        out: list = [None] * len(values)
        for i, v in zip(at, fast([values[i] for i in at]), strict=False):
            out[i] = v
        return out

    return column


# Rows go to SQLite as multi-row INSERT statements (``VALUES (…), (…), …``): one call into
# SQLite per statement instead of one per row, about a quarter less time than ``executemany``
# for the same rows. The driver lets go of the GIL while SQLite works, so a second thread
