"""Start the app. Kept tiny: it imports Textual, not the database stack (that loads in a
worker after the first screen is painted)."""

from __future__ import annotations

import os


def run_app(database_url: str | None = None) -> int:
    """Run the app for the session this process serves: how the user is connected is read
    from the environment here, once, and handed to the app."""
    from crm_tui.session_context import SessionContext
    from crm_tui.tui.app import CrmApp

    app = CrmApp(database_url=database_url, session_context=SessionContext.from_environ(os.environ))
    app.run()
    return app.return_code or 0
