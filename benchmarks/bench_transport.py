"""Time per request of the workbench's HttpTransport against the mock server, next to raw httpx on the same server.

    python benchmarks/bench_transport.py [--quick] [--json]

The measurement lives in `workbench.bench.transport` (its docstring says what is compared and how), so an
installed `clawft-workbench bench` runs it too. Goal: the transport takes at most 1.2x raw httpx's time.
"""

from __future__ import annotations

import argparse
import json

from workbench.bench.transport import run, table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer requests (a smoke run)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON instead of a table")
    args = parser.parse_args()
    result = run(quick=args.quick)
    print(json.dumps(result, indent=2) if args.json else table(result))


if __name__ == "__main__":
    main()
