"""`clawft-workbench`: the TUI by default, headless subcommands for scripts and CI.

Exit codes: 0 ok, 1 runtime failure, 2 bad input. Bad input never prints a traceback.
Each area's commands live in `workbench/commands/<area>.py` with a `register(subparsers)`; heavy
imports happen inside the commands so `--help` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from workbench.commands.common import EXIT_BAD_INPUT, EXIT_FAIL, EXIT_OK, Handler, add_globals
from workbench.errors import BadInputError, WorkbenchError

# Modules whose `register(subparsers) -> {command: handler}` adds commands, in --help order.
COMMAND_MODULES: tuple[str, ...] = (
    "workbench.commands.core",
    "workbench.commands.replay",
    "workbench.commands.transport",
    "workbench.commands.store",
    "workbench.commands.bench",
)


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, Handler]]:
    parser = argparse.ArgumentParser(
        prog="clawft-workbench",
        description="The operator's bench for LLM routing. With no command, opens the TUI.",
    )
    add_globals(parser, top=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    handlers: dict[str, Handler] = {}
    for name in COMMAND_MODULES:
        handlers.update(importlib.import_module(name).register(sub))
    return parser, handlers


def cmd_tui(args: argparse.Namespace) -> int:
    from workbench.tui.app import run

    return run(args.db, args.config, args.seed)


def main(argv: Sequence[str] | None = None) -> int:
    parser, handlers = build_parser()
    args = parser.parse_args(argv)
    handler = handlers.get(args.command or "", cmd_tui)
    try:
        return handler(args)
    except BadInputError as exc:  # ConfigError included
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except WorkbenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAIL
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`... | head`): stop quietly, and keep Python's exit-time flush quiet too.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
