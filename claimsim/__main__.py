from claimsim.cli import main

raise SystemExit(main())
