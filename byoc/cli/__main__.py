"""`python -m byoc.cli`: the `byoc` command."""

from . import main

raise SystemExit(main())
