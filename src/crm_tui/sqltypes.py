"""The datetime type of the Core view of the schema (:mod:`crm_tui.schema_core`)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import DateTime, Interval
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator):
    """The models' datetime columns (SQLModel's ``UTCDateTime``, which cannot be imported
    without importing SQLModel itself): aware datetimes stored in UTC, read back aware."""

    impl = DateTime
    cache_ok = True

    def __init__(self) -> None:
        super().__init__(timezone=True)

    def coerce_compared_value(self, op: Any, value: Any) -> Any:
        if isinstance(value, timedelta):
            return Interval()
        return self

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.utcoffset() is None:
            raise ValueError("datetime values must be aware (use crm_tui.services.clock.now())")
        return value.astimezone(timezone.utc)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.utcoffset() is None:  # SQLite keeps UTC without an offset
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)
