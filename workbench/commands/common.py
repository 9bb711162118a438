"""What every command module shares: exit codes, the global flags, JSON output."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

EXIT_OK, EXIT_FAIL, EXIT_BAD_INPUT = 0, 1, 2

Handler = Callable[[argparse.Namespace], int]
# argparse's subparsers object; its class is private, so name it once here.
Subparsers = Any


def add_globals(parser: argparse.ArgumentParser, *, top: bool = False) -> None:
    """--db, --config, --seed. Accepted before or after the subcommand.

    On subcommands the default is SUPPRESS, so a flag given before the subcommand is not overwritten.
    """
    default = None if top else argparse.SUPPRESS
    parser.add_argument("--db", default=default, metavar="PATH",
                        help="DuckDB file (env CLAWFT_WORKBENCH_DB; ':memory:' for a throwaway store)")
    parser.add_argument("--config", default=default, metavar="FILE",
                        help="pipeline config JSON (env CLAWFT_WORKBENCH_CONFIG)")
    parser.add_argument("--seed", type=int, default=default, metavar="N",
                        help="seed for every random choice (simulated fleet, exploration)")


def print_json(data: Any, out: Any = None) -> None:
    stream = out or sys.stdout
    json.dump(data, stream, indent=2, sort_keys=False, default=str)
    stream.write("\n")
