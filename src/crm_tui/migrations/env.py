"""Alembic environment: runs against the engine handed over in ``config.attributes``.

On SQLite, migrations run in batch mode with foreign keys off, so that a table rebuild
(copy, drop, rename) does not fire ``ON DELETE CASCADE`` on the rows it moves.
"""

from alembic import context
from sqlmodel import SQLModel

import crm_tui.models  # noqa: F401  (registers the tables)

config = context.config
target_metadata = SQLModel.metadata


def run_migrations_online() -> None:
    engine = config.attributes["engine"]
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            connection.exec_driver_sql("PRAGMA foreign_keys = OFF")
            connection.commit()
        try:
            context.configure(
                connection=connection,
                target_metadata=target_metadata,
                render_as_batch=sqlite,
            )
            with context.begin_transaction():
                context.run_migrations()
            connection.commit()
        finally:
            if sqlite:
                connection.exec_driver_sql("PRAGMA foreign_keys = ON")
                connection.commit()


run_migrations_online()
