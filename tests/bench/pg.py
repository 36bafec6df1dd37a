"""The benchmark's PostgreSQL: a throw-away server (tests/pg_server.py), and databases holding
the rows of the cached SQLite benchmark databases.

A built database is loaded once per run: the schema from the app's own migrations, every row
copied from the SQLite file with ``COPY … FROM STDIN`` (SQLite's stored text is what
PostgreSQL reads: UTC timestamps, ISO dates, booleans as 0/1), the id sequences moved past the
ids, ``ANALYZE``. Each measured run works on ``CREATE DATABASE … TEMPLATE`` of it.

The server runs as the unprivileged ``postgres`` user when the benchmark runs as root; every
client (the app's probes, ``psql``) reaches it over its Unix socket.
"""

from __future__ import annotations

import sqlite3
import sys
import time
from dataclasses import dataclass

from tests import pg_neighbour, pg_server
from tests.bench import data

# tables in the order their rows can be inserted (parents first)
LOAD_ORDER = (
    "plan",
    "account",
    "member",
    "contact",
    "email_template",
    "autoresponder",
    "autoresponder_step",
    "appointment",
    "todo",
    "history_entry",
    "messages_service",
    "text_message",
    "invoice",
)


@dataclass(frozen=True)
class PgBuilt:
    name: str  # the pristine database (a template)
    account_id: int
    owner_email: str
    account_name: str
    contacts: int


class PgBench:
    def __init__(self) -> None:
        t = time.perf_counter()
        self.server = pg_server.start()
        self.seconds = time.perf_counter() - t

    def stop(self) -> None:
        pg_server.remove(self.server)

    @property
    def psql_bin(self) -> str:
        return str(self.server.bin_dir / "psql")

    def url(self, name: str) -> str:
        return self.server.url(name)

    def dsn(self, name: str) -> str:
        return self.server.dsn(name)

    def _admin(self):
        import psycopg

        return psycopg.connect(self.dsn("postgres"), autocommit=True)

    def create_empty(self, name: str) -> str:
        """A fresh database with the app's schema and plans; returns its URL."""
        from crm_tui import db
        from crm_tui.services import billing

        with self._admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
        url = self.url(name)
        engine = db.get_engine(url)
        with db.write_session(engine) as s:
            billing.ensure_plans(s.connection())
        engine.dispose()
        db._engines.pop(url, None)
        return url

    def load(self, built: data.Built, name: str) -> PgBuilt:
        """A pristine PostgreSQL copy of a built SQLite benchmark database."""
        import psycopg

        t = time.perf_counter()
        self.create_empty(name)
        src = sqlite3.connect(built.path)
        with psycopg.connect(self.dsn(name)) as conn:
            conn.execute("SET TimeZone TO 'UTC'")  # SQLite's timestamps are naive UTC text
            conn.execute("DELETE FROM plan")
            cur = conn.cursor()
            for table in LOAD_ORDER:
                rows = src.execute(f'SELECT * FROM "{table}"')
                names = [d[0] for d in rows.description]
                quoted = ", ".join(f'"{n}"' for n in names)
                with cur.copy(f'COPY "{table}" ({quoted}) FROM STDIN') as copy:
                    while batch := rows.fetchmany(10_000):
                        for row in batch:
                            copy.write_row(row)
                cur.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), max(id)) FROM \"{table}\" "
                    "HAVING max(id) IS NOT NULL"
                )
            conn.commit()
        src.close()
        with psycopg.connect(self.dsn(name), autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")
            conn.execute("CHECKPOINT")
        print(f"  loaded {name} into PostgreSQL in {time.perf_counter() - t:.1f} s", file=sys.stderr)
        return PgBuilt(name, built.account_id, built.owner_email, built.account_name, built.contacts)

    def grow(self, built: PgBuilt, rows: int) -> None:
        """Give the largest account other than ``built``'s ``rows`` more history entries and as
        many more to-dos, about its own contacts (made by the server), then ``VACUUM ANALYZE``:
        a neighbour far larger than the account, as on a server many teams share."""
        import psycopg

        t = time.perf_counter()
        with psycopg.connect(self.dsn(built.name)) as conn:
            conn.execute("SET statement_timeout = 0")
            (other, contacts) = conn.execute(
                "SELECT account_id, count(*) FROM contact WHERE account_id <> %s GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1",
                (built.account_id,),
            ).fetchone()
            each = max(1, rows // contacts)
            for sql in pg_neighbour.GROW:
                conn.execute(sql, {"each": each, "account": other})
            conn.commit()
        with psycopg.connect(self.dsn(built.name), autocommit=True) as conn:
            conn.execute("SET statement_timeout = 0")
            conn.execute("VACUUM ANALYZE")
            conn.execute("CHECKPOINT")
        grown = each * contacts
        print(
            f"  grew account {other} of {built.name} by 2 × {grown:,} rows in {time.perf_counter() - t:.1f} s",
            file=sys.stderr,
        )

    def fresh(self, built: PgBuilt, name: str = "run") -> str:
        """A private copy of a pristine database; returns its URL."""
        with self._admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{built.name}" STRATEGY FILE_COPY')
        return self.url(name)
