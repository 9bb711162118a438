"""Replay commands: compare pipelines on a logged traffic log, side by side."""

from __future__ import annotations

import argparse
import sys
import threading
from typing import Any

from workbench.commands.common import EXIT_OK, Handler, Subparsers, add_globals, print_json


def register(sub: Subparsers) -> dict[str, Handler]:
    compare = sub.add_parser(
        "compare",
        help="replay pipelines over a log side by side (exact on full-information logs)",
        description="SPEC: a config file, a pipeline named in the config, or a baseline: oracle, random, "
        "always:MODEL. Oracle and random are added beside every full-information comparison.",
    )
    compare.add_argument("--log", required=True, metavar="NAME", help="a log from `clawft-workbench logs`")
    compare.add_argument("--pipeline", action="append", required=True, metavar="SPEC", dest="pipelines")
    compare.add_argument("--json", action="store_true", help="a JSON list, one object per pipeline")
    add_globals(compare)
    return {"compare": cmd_compare}


def _progress_bar(label: str, done: int, total: int) -> None:
    if not sys.stderr.isatty():
        return
    width = 30
    filled = int(width * done / max(1, total))
    sys.stderr.write(f"\r{label[:28]:<28} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
    if done >= total:
        sys.stderr.write("\n")
    sys.stderr.flush()


def _fmt(x: Any, pct: bool = False, digits: int = 4) -> str:
    if x is None:
        return "-"
    return f"{100 * x:.2f}%" if pct else f"{x:.{digits}f}"


def cmd_compare(args: argparse.Namespace) -> int:
    from workbench.api import Workbench

    seed = args.seed if args.seed is not None else 0
    cancel = threading.Event()
    with Workbench(db=args.db, config=args.config, seed=seed) as wb:
        try:
            result = wb.compare(args.log, args.pipelines, seed=seed, progress=_progress_bar, cancel=cancel)
        except KeyboardInterrupt:
            cancel.set()
            raise
    rows = result.rows()
    if args.json:
        print_json(rows)
        return EXIT_OK
    print(f"log {result.log}: {result.outcome_source}")
    for note in result.notes:
        print(f"note: {note}")
    head = f"{'pipeline':<46} {'quality':>8} {'95% CI':>17} {'cost $':>10} {'$/req':>10} {'p50 ms':>8} " \
           f"{'APGR':>6} {'CPT50':>7} {'CPT80':>7} {'AIQ':>6}"
    print(head)
    print("-" * len(head))
    for r in rows:
        lo, hi = r["quality_ci"]
        print(
            f"{r['pipeline'][:46]:<46} {_fmt(r['quality'], pct=True):>8} "
            f"{_fmt(lo, pct=True) + '-' + _fmt(hi, pct=True):>17} {_fmt(r['cost_usd'], digits=3):>10} "
            f"{_fmt(r['cost_per_request_usd'], digits=6):>10} {_fmt(r['latency_p50_ms'], digits=0):>8} "
            f"{_fmt(r['apgr'], digits=3):>6} {_fmt(r['cpt50'], pct=True):>7} {_fmt(r['cpt80'], pct=True):>7} "
            f"{_fmt(r['aiq'], digits=3):>6}"
        )
    notes = sorted({n for r in rows for n in r["notes"]})
    for n in notes:
        print(f"note: {n}")
    if result.run_id:
        print(f"stored as replay run {result.run_id}")
    return EXIT_OK
