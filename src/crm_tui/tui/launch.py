"""Start the app. Kept tiny: it imports Textual, not the database stack (that loads in a
worker after the first screen is painted)."""

from __future__ import annotations


def run_app(database_url: str | None = None) -> int:
    from crm_tui.tui.app import CrmApp

    app = CrmApp(database_url=database_url)
    app.run()
    return app.return_code or 0
