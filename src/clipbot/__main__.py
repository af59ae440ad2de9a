from clipbot.cli import main

raise SystemExit(main())
