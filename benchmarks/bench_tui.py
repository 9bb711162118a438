"""Event-loop lag of the Live screen under 1,000 decisions per second, and its first paint.

    python benchmarks/bench_tui.py [--quick] [--json]

The measurement lives in `workbench.tui.bench` (its docstring says what the two workloads are), so an
installed `clawft-workbench bench` runs it too. Goals: lag p99 <= 100 ms; first paint <= 1.5 s.
"""

from __future__ import annotations

from workbench.bench.script import main
from workbench.tui.bench import run, table

if __name__ == "__main__":
    main(__doc__ or "", run, table, "10 s per workload instead of 60 s")
