"""The one clock of the domain: aware UTC datetimes.

``CRM_TUI_NOW`` (an ISO 8601 timestamp) pins the clock, for support drills and tests of
the restore window through the CLI.
"""

from __future__ import annotations

import calendar
import os
from datetime import date, datetime, timedelta, timezone

NOW_ENV = "CRM_TUI_NOW"


def now() -> datetime:
    pinned = os.environ.get(NOW_ENV)
    if pinned:
        value = datetime.fromisoformat(pinned)
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)
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
