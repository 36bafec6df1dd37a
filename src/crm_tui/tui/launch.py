"""Start the app. Kept tiny: it imports Textual, not the database stack (that loads in a
worker after the first screen is painted)."""

from __future__ import annotations

import os


def run_app(database_url: str | None = None) -> int:
    """Run the app for the session this process serves: how the user is connected is read
    from the environment here, once, and handed to the app."""
    from crm_tui.session_context import SessionContext
    from crm_tui.tui.app import CrmApp

    app = CrmApp(
        database_url=database_url,
        session_context=SessionContext.from_environ(os.environ),
        settled=settle_process,
    )
    app.run()
    return app.return_code or 0


def settle_process() -> None:
    """Called once the app's code is all loaded (Textual, SQLAlchemy, the models): the objects
    made so far live as long as the process, so the garbage collector is told to stop walking
    them (``gc.freeze``). Without it each automatic collection during a close, an export or a
    restore walks every one of them again, about a fifth of a heavy close's time (see
    docs/performance.md). Cycles among those objects that later become garbage are left to the
    operating system at exit, as at exit anyway.

    A process-wide act, so it is done by the entry point that owns the process and passed to
    the app; the app made by tests, in a long-lived test process, is given none."""
    import gc

    gc.freeze()
