"""The tables as SQLAlchemy Core clauses, for the code that runs before the ORM models load.

Opening the database, signing in, the dashboard's figures, the session check and the start-up
tidy of the backup folder use only these. Importing SQLModel and pydantic and building the
model classes of :mod:`crm_tui.models` is slow (see docs/performance.md); the app does that
after the dashboard is painted (:meth:`crm_tui.tui.app.CrmApp.warm_up`) instead of before.

The models are the one declaration of the schema. The clauses are generated from their
metadata into :mod:`crm_tui.schema_core` (``scripts/generate_tables.py``), typed as the models'
columns are, so dates and times are read and written exactly as the ORM does;
``tests/test_tables.py`` fails if that file is not what the models generate today.
docs/architecture.md, "Start-up and the two views of the schema", says why.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from crm_tui.roles import ROLE_ADMIN, ROLE_OWNER, ROLE_TEAM_PLAYER, ROLES  # noqa: F401
from crm_tui.schema_core import (  # noqa: F401  (the clauses this module serves)
    ALL,
    account,
    appointment,
    backup,
    backup_chunk,
    backup_key,
    closed_account,
    closed_member,
    contact,
    member,
    setting,
    ssh_key,
    todo,
)
from crm_tui.sqltypes import UTCDateTime  # noqa: F401


def database_is_empty(conn: Connection) -> bool:
    """No account, open or closed, has ever been here (the app then creates the demo)."""
    accounts = conn.execute(select(func.count()).select_from(account)).scalar_one()
    closed = conn.execute(select(func.count()).select_from(closed_account)).scalar_one()
    return accounts == 0 and closed == 0
