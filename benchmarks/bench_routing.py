"""Routing decision and selection times per router, with the goals beside them.

    python benchmarks/bench_routing.py [--quick]

Figures come from `workbench.bench.routing.measure`, which the CLI's `bench` command can call too.
"""

from __future__ import annotations

import argparse
import json

from workbench.bench.routing import measure, table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer iterations (a rough figure in seconds)")
    parser.add_argument("--json", action="store_true", help="print the raw figures as JSON instead of a table")
    args = parser.parse_args()
    figures = measure(quick=args.quick)
    print(json.dumps(figures, indent=2, sort_keys=True) if args.json else table(figures))


if __name__ == "__main__":
    main()
