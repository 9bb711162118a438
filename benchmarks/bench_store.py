"""Trajectory store speed: enqueue latency, bulk and live ingest, where the time goes, and DuckDB's own ceiling.

    python benchmarks/bench_store.py [--quick] [--json]

Figures come from `workbench.bench.store.run` (what each one times, and which one the 200k/s ingest goal is
measured on, is in that module's docstring); `clawft-workbench bench` runs the same code.
"""

from __future__ import annotations

from workbench.bench.script import main
from workbench.bench.store import run, table

if __name__ == "__main__":
    main(__doc__ or "", run, table, "20,000 live records and 3 repeats instead of 100,000 and 5 (noisier figures)")
