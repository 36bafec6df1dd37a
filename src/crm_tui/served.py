"""The app for one session ``crm-tui serve`` started: ``python -m crm_tui.served``.

The server runs this module on the session's own terminal (a PTY), with an environment it
built: the database (``CRM_TUI_DATABASE_URL``) and the facts of the session, the
``CRM_TUI_SERVE_*`` variables (:meth:`crm_tui.session_context.SessionContext.from_served_environ`).
They are read here, once, as :mod:`crm_tui.tui.launch` reads a local session's. A member whose
SSH key completed authentication opens on their dashboard; anyone else signs in with a
password. When the session ends (signed out, removed, the account closed) the process ends,
with its last words printed on the terminal, and the server closes the channel.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping


def run_served(environ: Mapping[str, str]) -> int:
    from crm_tui.session_context import SessionContext
    from crm_tui.tui.app import CrmApp
    from crm_tui.tui.launch import settle_process

    context = SessionContext.from_served_environ(environ)
    app = CrmApp(
        database_url=environ.get("CRM_TUI_DATABASE_URL") or None, session_context=context, settled=settle_process
    )
    app.run()
    if app.exit_note:
        from crm_tui.text import clean

        print(clean(app.exit_note), flush=True)
    return app.return_code or 0


def main() -> int:
    from crm_tui.start import _process_exit, hold_echo, release_echo

    held = hold_echo(sys.stdin)  # keys typed ahead (a password) are not echoed while the app starts
    try:
        code = run_served(os.environ)
    except BaseException as exc:
        from crm_tui.cli import outcome_of

        code = outcome_of(exc)
    finally:
        release_echo(held)
    _process_exit()
    return code


if __name__ == "__main__":
    sys.exit(main())
