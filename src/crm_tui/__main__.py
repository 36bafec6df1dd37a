from crm_tui.cli import run

raise SystemExit(run())
