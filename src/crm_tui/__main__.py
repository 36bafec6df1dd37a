from crm_tui.start import run

raise SystemExit(run())
