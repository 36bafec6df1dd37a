"""The archive format: the manifest, the members and what they hold, the format version, and
how a column's value is written as CSV/JSON text and read back (see the package's docstring)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from sqlalchemy import Table, TypeDecorator

from crm_tui import __version__
from crm_tui.models import (
    Appointment,
    Autoresponder,
    Contact,
    EmailTemplate,
    HistoryEntry,
    Invoice,
    Member,
    SshKey,
    TextMessage,
    Todo,
)
from crm_tui.services import clock

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
    "ssh_keys.json",  # the members' SSH public keys (crm-tui serve); not in archives made before it
)
MEMBER_SKIP = {"account_id", "failed_logins", "last_failed_at"}


def table_of(model) -> Table:
    return model.__table__


def columns(model) -> list:
    """A model's columns as members hold them (no ``account_id``, no sign-in throttling)."""
    return [c for c in table_of(model).columns if c.name not in MEMBER_SKIP]


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

# JSON data member -> its table
JSON_MEMBERS: dict[str, Any] = {
    "team.json": Member,
    "email_templates.json": EmailTemplate,
    "autoresponders.json": Autoresponder,
    "ssh_keys.json": SshKey,
}


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


class ProgressCounter:
    """Adds up rows done and reports ``(done, total)`` to a :data:`Progress` callback."""

    def __init__(self, total: int, callback: Progress | None) -> None:
        self.total, self.done, self.callback = total, 0, callback

    def __call__(self, n: int) -> None:
        self.done += n
        if self.callback:
            self.callback(min(self.done, self.total), self.total)


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


def to_json(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value


_PTYPES: dict = {}


def python_type(col) -> type:
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
    ptype = python_type(col)
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


def from_json(col, value: Any) -> Any:
    if value is None:
        return None
    ptype = python_type(col)
    if ptype in (datetime, date) and isinstance(value, str):
        return from_text(col, value)
    return value


# --- writing -----------------------------------------------------------------------------


def text_cell(value: Any) -> str:
    return "" if value is None else value


def neutral_cell(value: Any) -> str:
    if not value:
        return ""
    return "'" + value if value[0] in FORMULA_START else value


def cell_converter(col, neutral: bool = False) -> Callable[[Any], str]:
    """The function turning one column's value into its CSV text (see :func:`from_text`)."""
    if python_type(col) is str:
        return neutral_cell if neutral else text_cell
    return to_text


# On SQLite, timestamps, dates and booleans are read as the stored text/integers and turned
# into CSV text directly: the same text as the typed path (``to_text``), without building a
# datetime per cell (that dominated the time of a large export).
