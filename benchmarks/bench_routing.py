"""Routing decision and selection times per router, with the goals beside them.

    python benchmarks/bench_routing.py [--quick]

Figures come from `workbench.bench.routing.measure`, which the CLI's `bench` command can call too.
"""

from __future__ import annotations

from workbench.bench.routing import measure, table
from workbench.bench.script import main

if __name__ == "__main__":
    main(__doc__ or "", measure, table, "fewer iterations (a rough figure in seconds)")
