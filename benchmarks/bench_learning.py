"""Learning cost per update (MicroLoRA, full SONA update, consolidation, bandits), with the goal beside each.

    python benchmarks/bench_learning.py [--quick] [--json]

Figures come from `workbench.bench.learning.measure`, which the CLI's `bench` command can call too.
"""

from __future__ import annotations

from workbench.bench.learning import measure, table
from workbench.bench.script import main

if __name__ == "__main__":
    main(__doc__ or "", measure, table, "fewer iterations (a rough figure in seconds)")
