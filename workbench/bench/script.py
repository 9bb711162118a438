"""What every `benchmarks/bench_<area>.py` script does: parse --quick / --json, run, print a table or JSON."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any


def main(doc: str, run: Callable[..., Any], table: Callable[[Any], str], quick_help: str) -> None:
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help=quick_help)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON instead of a table")
    args = parser.parse_args()
    result = run(quick=args.quick)
    print(json.dumps(result, indent=2, sort_keys=True, default=str) if args.json else table(result))
