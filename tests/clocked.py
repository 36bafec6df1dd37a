"""Run the command line with the clock pinned, in a subprocess: for tests only.

    python tests/clocked.py 2026-03-10T12:00:00+00:00 -- admin purge

The installed ``crm-tui`` reads no clock setting from anywhere; this launcher pins the
in-process clock (``crm_tui.services.clock.set_fixed``), then runs ``crm_tui.cli.main``.
"""

from __future__ import annotations

import sys


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[1] != "--":
        print("usage: python tests/clocked.py ISO-TIMESTAMP -- CRM-TUI-ARGUMENTS...", file=sys.stderr)
        return 2
    from crm_tui.services import clock

    clock.set_fixed(argv[0])
    from crm_tui import cli

    return cli.main(argv[2:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
