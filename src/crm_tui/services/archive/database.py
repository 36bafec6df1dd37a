"""Which implementation of the archive's database interface a connection gets: by its
dialect, SQLite's own (:mod:`.sqlite`), PostgreSQL's (:mod:`.postgresql`, COPY), else the
portable one (:mod:`.portable`)."""

from __future__ import annotations

from sqlalchemy.engine import Connection

from crm_tui.services.archive.portable import PortableDatabase
from crm_tui.services.archive.postgresql import PostgreSQLDatabase
from crm_tui.services.archive.sqlite import SQLiteDatabase

PORTABLE = PortableDatabase()
#: dialect name -> its implementation (the tests put the portable one here to run it on SQLite)
DATABASES: dict[str, PortableDatabase] = {"sqlite": SQLiteDatabase(), "postgresql": PostgreSQLDatabase()}


def database_for(conn: Connection) -> PortableDatabase:
    return DATABASES.get(conn.dialect.name, PORTABLE)
