"""The few columns the app reads before its ORM models are loaded, as SQLAlchemy Core clauses.

Opening the database, signing in, the dashboard's figures, the session check and the start-up
tidy of the backup folder use only these. Importing SQLModel and pydantic and building the
nineteen model classes of :mod:`crm_tui.models` is slow (see docs/performance.md); the app does
that after the dashboard is painted (:meth:`crm_tui.tui.app.CrmApp.warm_up`) instead of before.

Each clause names only the columns those steps use, typed as the model's column is (so dates
and times are read and written exactly as the ORM does). ``tests/test_tables.py`` compares
every one with the model's table, so the two cannot drift apart.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Date, DateTime, Integer, Interval, String, column, func, select, table
from sqlalchemy.engine import Connection
from sqlalchemy.types import TypeDecorator

ROLE_OWNER = "owner"
ROLE_ADMIN = "administrator"
ROLE_TEAM_PLAYER = "team player"
ROLES = (ROLE_OWNER, ROLE_ADMIN, ROLE_TEAM_PLAYER)


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


account = table("account", column("id", Integer), column("name", String))

member = table(
    "member",
    column("id", Integer),
    column("account_id", Integer),
    column("email", String),
    column("name", String),
    column("role", String),
    column("password_hash", String),
    column("failed_logins", Integer),
    column("last_failed_at", UTCDateTime),
    column("time_zone", String),
)

contact = table("contact", column("id", Integer), column("account_id", Integer))

appointment = table(
    "appointment",
    column("id", Integer),
    column("account_id", Integer),
    column("start", UTCDateTime),
    column("description", String),
)

todo = table(
    "todo",
    column("id", Integer),
    column("account_id", Integer),
    column("summary", String),
    column("priority", Integer),
    column("due", Date),
    column("status", String),
)

closed_account = table(
    "closed_account",
    column("id", Integer),
    column("account_id", Integer),
    column("state", String),
    column("owner_email_hash", String),
    column("closed_at", UTCDateTime),
    column("restore_until", Date),
)

closed_member = table(
    "closed_member",
    column("closed_account_id", Integer),
    column("email_hash", String),
    column("password_hash", String),
)

backup = table("backup", column("id", Integer), column("file_name", String), column("purged_at", UTCDateTime))

backup_key = table("backup_key", column("backup_id", Integer))

setting = table("setting", column("key", String), column("value", String))

ALL = (account, member, contact, appointment, todo, closed_account, closed_member, backup, backup_key, setting)


def database_is_empty(conn: Connection) -> bool:
    """No account, open or closed, has ever been here (the app then creates the demo)."""
    accounts = conn.execute(select(func.count()).select_from(account)).scalar_one()
    closed = conn.execute(select(func.count()).select_from(closed_account)).scalar_one()
    return accounts == 0 and closed == 0
