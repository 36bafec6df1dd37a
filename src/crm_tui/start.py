"""Where the ``crm-tui`` command and ``python -m crm_tui`` begin.

Plain ``crm-tui`` (the app on the default database, by far the most common start) opens the
app without building the command-line parser: importing argparse and describing every
subcommand would delay the first paint. Anything else goes to :mod:`crm_tui.cli`.
"""

from __future__ import annotations

import os
import sys


def run() -> int:
    argv = sys.argv[1:]
    if argv:
        from crm_tui.cli import main

        code = main(argv)
    else:
        code = _app()
    _process_exit()
    return code


def _app() -> int:
    held = hold_echo(sys.stdin)
    try:
        from crm_tui.tui.launch import run_app

        return run_app(None)
    except BaseException as exc:
        from crm_tui.cli import outcome_of

        return outcome_of(exc)
    finally:
        release_echo(held)


def hold_echo(stream) -> tuple | None:
    """Stop the terminal echoing what is typed while the app starts, and return what to put
    back. Until the app takes the terminal, keys typed ahead are
    echoed by the terminal itself: a password typed ahead would show in clear on the shell's
    screen and stay there after the app quits. Input is kept (no flush), only not shown."""
    try:
        import termios

        fd = stream.fileno()
        if not os.isatty(fd):
            return None
        before = termios.tcgetattr(fd)
        quiet = termios.tcgetattr(fd)
        quiet[3] &= ~(termios.ECHO | termios.ECHONL)  # the local modes
        termios.tcsetattr(fd, termios.TCSANOW, quiet)
        return fd, before
    except Exception:  # no terminal, or no termios (Windows): nothing to hold
        return None


def release_echo(held: tuple | None) -> None:
    """Put the terminal's modes back as :func:`hold_echo` found them (the app restores the
    modes it found, which were the quiet ones)."""
    if held is None:
        return
    import termios

    fd, before = held
    try:
        termios.tcsetattr(fd, termios.TCSADRAIN, before)
    except termios.error:
        pass


def _process_exit() -> None:
    """The process is about to end. Close the database connections now (SQLite tidies its
    write-ahead log when the last one closes), then freeze the garbage collector so that the
    interpreter's final collection does not walk every object of Textual, SQLAlchemy and
    pydantic only to free memory the operating system takes back anyway (the cost is in
    docs/performance.md). Objects are still released by reference counting; only unreachable
    cycles are left to the operating system.

    Freezing the collector is a process-wide act, so it is done here, by the entry point that
    owns the process and knows it is ending, and nowhere in the library: :func:`crm_tui.cli.main`
    and :func:`crm_tui.tui.launch.run_app` are also called by tests in their own long-lived
    process, which must keep collecting."""
    import gc

    db = sys.modules.get("crm_tui.db")
    if db is not None:
        try:
            db.dispose_all()
        except Exception:  # the command's outcome is decided; closing is best effort
            pass
    gc.freeze()
