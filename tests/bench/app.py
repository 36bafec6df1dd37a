"""The app as the start-up benchmark runs it: ``python -m tests.bench.app signin`` exits once
the sign-in screen is painted (before the database is opened); ``python -m tests.bench.app
dashboard EMAIL PASSWORD`` types the email and password and presses Enter as a user who typed
ahead does (the sign-in starts the moment the database is open, through the same path), and
exits once the dashboard's counts are painted.

It starts as ``crm-tui`` does (:mod:`crm_tui.start`: the terminal's echo held, the session's
context from the environment, the same exit), so the figures time the installed app's start.
The database is the one ``CRM_TUI_DATABASE_URL`` names.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from crm_tui.tui import app as app_module
from crm_tui.tui.app import CrmApp


class BenchApp(CrmApp):
    # the app's own style sheet (a relative CSS_PATH is read beside the subclass's module)
    CSS_PATH = Path(app_module.__file__).with_name(CrmApp.CSS_PATH)

    def __init__(self, exit_after: str, email: str = "", password: str = "", **kwargs) -> None:
        super().__init__(**kwargs)
        self.exit_after, self.email, self.password = exit_after, email, password

    def first_painted(self) -> None:
        if self.exit_after == "signin":
            self.exit()
            return
        if self.exit_after == "dashboard":  # typed ahead, Enter included
            from textual.widgets import Input

            screen = self.screen
            screen.query_one("#email", Input).value = self.email
            screen.query_one("#password", Input).value = self.password
            screen.attempt()
        super().first_painted()

    def painted(self, what: str) -> None:
        super().painted(what)
        if what == self.exit_after:
            self.call_after_refresh(self.exit)


def main(argv: list[str]) -> int:
    from crm_tui import start
    from crm_tui.session_context import SessionContext

    exit_after, *sign_in = argv
    held = start.hold_echo(sys.stdin)
    try:
        app = BenchApp(exit_after, *sign_in, session_context=SessionContext.from_environ(os.environ))
        app.run()
        code = app.return_code or 0
    finally:
        start.release_echo(held)
    start._process_exit()
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
