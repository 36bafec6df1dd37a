from crm_tui.cli import main

raise SystemExit(main())
