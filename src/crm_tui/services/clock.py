"""The one clock of the domain: aware UTC datetimes.

Nothing outside the program moves it: no environment variable or file is read. Tests pin it
in-process with :func:`set_fixed` (``tests/clocked.py`` does the same for a command run in
a subprocess); the installed app and CLI never call it.
"""

from __future__ import annotations

import calendar
from datetime import date, datetime, timedelta, timezone

# Set only by set_fixed (tests); None means the system clock.
_fixed: datetime | None = None


def parse(value: str | datetime) -> datetime:
    """An ISO 8601 timestamp (or a datetime) as an aware UTC datetime; naive means UTC."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def set_fixed(value: str | datetime | None) -> None:
    """Pin the clock to ``value`` (None: the system clock again). For tests only."""
    global _fixed
    _fixed = None if value is None else parse(value)


def now() -> datetime:
    if _fixed is not None:
        return _fixed
    return datetime.now(timezone.utc)


def add_months(day: date, months: int) -> date:
    """``day`` plus calendar months, clamped to the end of the target month."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    last = calendar.monthrange(year, month)[1]
    return date(year, month, min(day.day, last))


def restore_until(closed_at: datetime) -> date:
    """The last day a closed account can be restored: 3 calendar months after closing."""
    return add_months(closed_at.astimezone(timezone.utc).date(), 3)


def window_open(restore_until: date, now: datetime) -> bool:
    """Restorable through the last second of ``restore_until`` (UTC)."""
    end = datetime.combine(restore_until + timedelta(days=1), datetime.min.time(), tzinfo=timezone.utc)
    return now < end


def months_between(start: datetime, end: datetime) -> int:
    months = (end.year - start.year) * 12 + (end.month - start.month)
    if end.day < start.day:
        months -= 1
    return max(0, months)


def shown(at: datetime) -> str:
    """A moment as people read it, with its zone named: "27 Nov 2026 10:00 UTC".

    The one place times are worded for people: shown in UTC for now; members' own time zones
    (Member.time_zone) are to be applied here."""
    if at.tzinfo is None:  # as the database gives it back: UTC
        at = at.replace(tzinfo=timezone.utc)
    return f"{at.astimezone(timezone.utc):%d %b %Y %H:%M} UTC"
