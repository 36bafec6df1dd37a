"""PostgreSQL: a trigram index serving the contacts search

The search looks for each term anywhere in a contact's last name, first name, email or
company, ignoring case (ILIKE '%term%' on PostgreSQL). A b-tree cannot serve a pattern with
a leading wildcard; a GIN index of trigrams (pg_trgm) can. SQLite needs nothing: its search
reads the table in one pass. Where pg_trgm is not installed on the server, the search still
works, by reading the table.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

INDEX = "ix_contact_search_trgm"


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    available = bind.exec_driver_sql("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'").first()
    if available is None:
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.execute(
        f"CREATE INDEX IF NOT EXISTS {INDEX} ON contact USING gin "
        "(last_name gin_trgm_ops, first_name gin_trgm_ops, email gin_trgm_ops, company gin_trgm_ops)"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"DROP INDEX IF EXISTS {INDEX}")
