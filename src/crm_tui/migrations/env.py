"""Alembic environment: runs against the engine handed over in ``config.attributes``.

On SQLite, migrations run in batch mode with foreign keys off, so that a table rebuild
(copy, drop, rename) does not fire ``ON DELETE CASCADE`` on the rows it moves.
"""

from alembic import context
from sqlmodel import SQLModel

import crm_tui.models  # noqa: F401  (registers the tables)
from crm_tui.db import include_in_autogenerate

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
                include_object=include_in_autogenerate,
            )
            with context.begin_transaction():
                context.run_migrations()
            connection.commit()
        finally:
            if sqlite:
                connection.exec_driver_sql("PRAGMA foreign_keys = ON")
                connection.commit()


run_migrations_online()
