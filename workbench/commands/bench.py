"""`bench`: every area's benchmark in one table, the goal beside each figure (`--json` for machines)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from workbench.commands.common import EXIT_FAIL, EXIT_OK, Handler, Subparsers, print_json
from workbench.errors import BadInputError


def register(sub: Subparsers) -> dict[str, Handler]:
    bench = sub.add_parser(
        "bench",
        help="run the benchmarks (routing, transport, store, replay, learning, TUI) against their goals",
        description=(
            "Runs each area's benchmark in a child process and prints one table: figure, measured value, goal, "
            "verdict. A full run takes several minutes on 2 cores; --quick gives rough figures in about two. "
            "Exit status 1 when a section failed to run (a missed goal is a result, not a failure)."
        ),
    )
    bench.add_argument("--quick", action="store_true", help="fewer iterations and shorter runs: rough figures")
    bench.add_argument("--json", action="store_true", help="print one JSON object (figures, goals, per-section detail)")
    bench.add_argument("--only", metavar="AREAS", help="comma-separated areas to run (default: all); see --list")
    bench.add_argument("--list", action="store_true", help="list the areas and the figures each reports, then exit")
    return {"bench": cmd_bench}


def _areas(only: str | None) -> list[str]:
    from workbench.bench.suite import SECTIONS

    if not only:
        return list(SECTIONS)
    names = [n.strip() for n in only.split(",") if n.strip()]
    unknown = [n for n in names if n not in SECTIONS]
    if unknown or not names:
        raise BadInputError(
            f"bench --only: unknown area {', '.join(map(repr, unknown)) or '(none given)'}; "
            f"choose from {', '.join(SECTIONS)}"
        )
    return list(dict.fromkeys(names))


def _value(v: Any, unit: str) -> str:
    if v is None:
        return "-"
    if abs(v) >= 1000:
        return f"{v:,.0f} {unit}".strip()
    return f"{v:.2f} {unit}".strip() if abs(v) < 10 else f"{v:.1f} {unit}".strip()


def table(result: dict[str, Any]) -> str:
    from workbench.bench.figures import is_figure

    lines = [f"{'figure':<36}{'measured':>18}   {'goal':<30}verdict"]
    for key, fig in result.items():
        if not is_figure(fig) and not (isinstance(fig, dict) and "error" in fig):
            continue
        unit, value = fig.get("unit", ""), fig.get("value")
        verdict = "met" if fig.get("met") else ("ERROR" if fig.get("error") else "MISSED")
        if isinstance(value, dict):
            lines.append(f"{key:<36}{'':>18}   {fig['goal']:<30}{verdict}")
            each = fig.get("each", {})
            for name, v in value.items():
                mark = "" if name not in each else ("ok" if each[name] else "over")
                lines.append(f"  {name:<34}{_value(v, unit):>18}   {'':<30}{mark}")
        else:
            lines.append(f"{key:<36}{_value(value, unit):>18}   {fig['goal']:<30}{verdict}")
    for name, section in result.get("sections", {}).items():
        if section.get("error"):
            lines.append(f"error in {name}: {section['error']}")
    timing = ", ".join(f"{n} {s['seconds']:.0f} s" for n, s in result.get("sections", {}).items())
    lines.append(f"({'quick run; ' if result.get('quick') else ''}{timing})")
    return "\n".join(lines)


def cmd_bench(args: argparse.Namespace) -> int:
    from workbench.bench.suite import SECTIONS, run_all

    if args.list:
        for name, section in SECTIONS.items():
            print(f"{name:<10} {', '.join(section.keys)}")
        return EXIT_OK
    names = _areas(args.only)

    def progress(name: str, result: dict[str, Any]) -> None:
        state = f"error: {result['error']}" if result["error"] else "done"
        print(f"bench: {name} {state} ({result['seconds']:.0f} s)", file=sys.stderr, flush=True)

    result = run_all(names, args.quick, progress)
    if args.json:
        print_json(result)
    else:
        print(table(result))
    return EXIT_FAIL if any(s["error"] for s in result["sections"].values()) else EXIT_OK
