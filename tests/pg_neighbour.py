"""A neighbour account far larger than the one under test, as on a PostgreSQL server many teams
share: its rows are made by the server. Used by the tests (``import pg_neighbour``) and the
benchmark (``from tests import pg_neighbour``)."""

from __future__ import annotations

# ``each`` history entries and ``each`` to-dos about every contact of ``account`` (psycopg's
# parameter style: run with the driver, ``exec_driver_sql`` under SQLAlchemy)
GROW = tuple(
    f"INSERT INTO {table} ({columns}) SELECT c.account_id, c.id, c.owner_id, {values} "
    "FROM contact c CROSS JOIN generate_series(1, %(each)s) WHERE c.account_id = %(account)s"
    for table, columns, values in (
        ("history_entry", "account_id, contact_id, member_id, kind, at, summary", "'note', now(), 'grown'"),
        (
            "todo",
            "account_id, contact_id, assignee_id, summary, details, priority, category, status",
            "'grown', '', 3, '', 'open'",
        ),
    )
)
