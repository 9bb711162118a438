"""Event-loop lag of the Live screen under 1,000 decisions per second, and its first paint.

    python benchmarks/bench_tui.py [--quick] [--json]

The measurement lives in `workbench.tui.bench` (its docstring says what the two workloads are), so an
installed `clawft-workbench bench` runs it too. Goals: lag p99 <= 100 ms; first paint <= 1.5 s.
"""

from __future__ import annotations

import argparse
import json

from workbench.tui.bench import run, table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="10 s per workload instead of 60 s")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON instead of a table")
    args = parser.parse_args()
    result = run(quick=args.quick)
    print(json.dumps(result, indent=2) if args.json else table(result))


if __name__ == "__main__":
    main()
