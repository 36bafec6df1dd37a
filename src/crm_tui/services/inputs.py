"""Checks every user-given string passes before it reaches the database.

A NUL character (``\\x00``) is refused everywhere text comes in: PostgreSQL cannot store one in
a text column (its driver fails on it), and SQLite would store a string that other programs cut
short at it. Refused the same way on both databases, with the field named.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from crm_tui.services.errors import ArchiveError, InvalidInput

NUL = "\x00"


def refuse_nul(value: str | None, what: str, *, field: str | None = None) -> None:
    """Refuse ``value`` if it holds a NUL character; ``what`` names it for the user."""
    if value and NUL in value:
        raise InvalidInput(f"{what} cannot contain a NUL character (\\x00)", field=field)


def refuse_nul_in_archive(values: Iterable[Any], where: str) -> None:
    """Refuse an archive whose text (``values``: cells, JSON values, nested) holds a NUL."""
    for value in values:
        if isinstance(value, str):
            if NUL in value:
                raise ArchiveError(f"{where} holds a NUL character (\\x00), which cannot be stored; nothing changed")
        elif isinstance(value, dict):
            refuse_nul_in_archive(value.keys(), where)
            refuse_nul_in_archive(value.values(), where)
        elif isinstance(value, list | tuple):
            refuse_nul_in_archive(value, where)
