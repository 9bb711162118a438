"""`python -m workbench` is `clawft-workbench`."""

from workbench.cli import main

raise SystemExit(main())
