"""Replay commands: compare and replay pipelines over a log, tune one, export it, regenerate the sample logs."""

from __future__ import annotations

import argparse
import re
import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from workbench.commands.common import EXIT_OK, Handler, Subparsers, add_globals, print_json
from workbench.errors import BadInputError

if TYPE_CHECKING:
    from workbench.api import Workbench

T = TypeVar("T")


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

    replay = sub.add_parser(
        "replay",
        help="replay pipelines over a log: the comparison table plus learning curves (cumulative and windowed)",
        description="Like compare, and each pipeline is also replayed event by event with outcomes fed back, "
        "so learning pipelines learn: exact curves on full-information logs, rejection sampling on bandit logs.",
    )
    replay.add_argument("log", metavar="LOG", help="a log from `clawft-workbench logs`")
    replay.add_argument("--pipeline", action="append", required=True, metavar="SPEC", dest="pipelines")
    replay.add_argument("--no-plot", action="store_true", help="no terminal chart of the curves")
    replay.add_argument("--block", type=int, default=None, metavar="N",
                        help="learning curves on full-information logs: events decided per learner state (default "
                        "1024; 1 replays event by event, exactly)")
    replay.add_argument("--json", action="store_true", help="JSON: {results: [...], curves: {...}}")
    add_globals(replay)

    tune = sub.add_parser(
        "tune",
        help="tune a pipeline's parameters on replayed traffic (successive halving) and write the tuned config",
        description="OBJECTIVE: 'max-quality:cost<=USD_PER_REQUEST' or 'min-cost:quality>=TARGET'.",
    )
    tune.add_argument("--log", required=True, metavar="NAME")
    tune.add_argument("--pipeline", required=True, metavar="SPEC", help="the config (file or pipeline) to tune")
    tune.add_argument("--objective", required=True, metavar="OBJECTIVE")
    tune.add_argument("--out", required=True, metavar="FILE", help="where to write the tuned config (JSON)")
    tune.add_argument("--candidates", type=int, default=27, metavar="N")
    tune.add_argument("--eta", type=int, default=3, metavar="K", help="keep the best 1/K of each rung")
    tune.add_argument("--executor", default="process", choices=("process", "thread", "inline"))
    tune.add_argument("--json", action="store_true")
    add_globals(tune)

    export = sub.add_parser(
        "export",
        help="write a pipeline config with its replayed metrics as provenance (loads with `config validate`)",
    )
    export.add_argument("--log", required=True, metavar="NAME")
    export.add_argument("--pipeline", required=True, metavar="SPEC")
    export.add_argument("--out", required=True, metavar="FILE")
    export.add_argument("--json", action="store_true")
    add_globals(export)

    shadow = sub.add_parser(
        "shadow",
        help="re-run a sample of a log's prompts live through a pipeline's transport, under a cost cap",
        description="Sends for real through the config's transport (the seeded simulated fleet unless the config "
        "names an http one). Stops before the next request could take the spend past --cost-cap; the "
        "trajectories are stored in the log shadow:LOG.",
    )
    shadow.add_argument("--log", required=True, metavar="NAME")
    shadow.add_argument("--pipeline", required=True, metavar="SPEC", help="a config file or a pipeline of the config")
    shadow.add_argument("--sample", type=int, default=100, metavar="N", help="prompts drawn from the log (seeded)")
    shadow.add_argument("--cost-cap", type=float, default=0.10, metavar="USD", help="never spend more than this")
    shadow.add_argument("--max-output-tokens", type=int, default=1024, metavar="N",
                        help="output cap per request (bounds each request's worst-case cost)")
    shadow.add_argument("--json", action="store_true")
    add_globals(shadow)

    samples = sub.add_parser("samples", help="regenerate the simulated sample logs (seeded: identical each time)")
    samples.add_argument("--out", default="sample_logs", metavar="DIR")
    samples.add_argument("--bandit", type=int, default=20_000, metavar="N", help="requests in the bandit log")
    samples.add_argument("--full", type=int, default=10_000, metavar="N", help="prompts in the full-information log")
    add_globals(samples)
    return {"compare": cmd_compare, "replay": cmd_replay, "tune": cmd_tune, "export": cmd_export,
            "shadow": cmd_shadow, "samples": cmd_samples}


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


def _print_table(rows: list[dict[str, Any]]) -> None:
    head = f"{'pipeline':<46} {'estimator':<10} {'quality':>8} {'95% CI':>17} {'cost $':>10} {'$/req':>10} " \
           f"{'p50 ms':>8} {'APGR':>6} {'CPT50':>7} {'CPT80':>7} {'AIQ':>6}"
    print(head)
    print("-" * len(head))
    for r in rows:
        lo, hi = r["quality_ci"]
        print(
            f"{r['pipeline'][:46]:<46} {r['estimator'][:10]:<10} {_fmt(r['quality'], pct=True):>8} "
            f"{_fmt(lo, pct=True) + '-' + _fmt(hi, pct=True):>17} {_fmt(r['cost_usd'], digits=3):>10} "
            f"{_fmt(r['cost_per_request_usd'], digits=6):>10} {_fmt(r['latency_p50_ms'], digits=0):>8} "
            f"{_fmt(r['apgr'], digits=3):>6} {_fmt(r['cpt50'], pct=True):>7} {_fmt(r['cpt80'], pct=True):>7} "
            f"{_fmt(r['aiq'], digits=3):>6}"
        )
    for n in sorted({n for r in rows for n in r["notes"]}):
        print(f"note: {n}")


def _cancellable(args: argparse.Namespace, op: Callable[[Workbench, int, threading.Event], T]) -> T:
    """Run `op(workbench, seed, cancel)` on a Workbench from the global flags; Ctrl+C cancels the run."""
    from workbench.api import Workbench

    seed = args.seed if args.seed is not None else 0
    cancel = threading.Event()
    with Workbench(db=args.db, config=args.config, seed=seed) as wb:
        try:
            return op(wb, seed, cancel)
        except KeyboardInterrupt:
            cancel.set()
            raise


def cmd_compare(args: argparse.Namespace) -> int:
    result = _cancellable(
        args, lambda wb, seed, cancel: wb.compare(args.log, args.pipelines, seed=seed, progress=_progress_bar,
                                                  cancel=cancel)
    )
    rows = result.rows()
    if args.json:
        print_json(rows)
        return EXIT_OK
    print(f"log {result.log}: {result.outcome_source}")
    for note in result.notes:
        print(f"note: {note}")
    _print_table(rows)
    if result.run_id:
        print(f"stored as replay run {result.run_id}")
    return EXIT_OK


def cmd_replay(args: argparse.Namespace) -> int:
    report = _cancellable(
        args, lambda wb, seed, cancel: wb.replay(args.log, args.pipelines, seed=seed, progress=_progress_bar,
                                                 cancel=cancel, block=args.block)
    )
    result, curves, run_id = report.comparison, report.curves, report.run_id
    if args.json:
        print_json(report.as_dict())
        return EXIT_OK
    rows = result.rows()
    print(f"log {result.log}: {result.outcome_source}")
    for note in result.notes:
        print(f"note: {note}")
    _print_table(rows)
    if curves:
        print()
        print(f"learning curves ({curves[0].estimator}; events counted / in the log):")
        for c in curves:
            d = c.as_dict()
            print(f"  {c.pipeline[:40]:<40} feedback {d['feedback']}")
            regret = f", regret vs oracle {d['regret'][-1]:.1f}" if d["regret"] else ""
            print(f"  {c.pipeline[:40]:<40} {d['accepted']:>7}/{d['events']:<7} final mean reward "
                  f"{d['mean_reward'][-1]:.4f}, last-{d['window']} window {d['windowed_reward'][-1]:.4f}{regret}")
        if not args.no_plot:
            print(_plot(curves))
    if run_id:
        print(f"stored as replay run {run_id}")
    return EXIT_OK


def _plot(curves: list[Any]) -> str:
    import plotext as plt

    plt.clear_figure()
    plt.plotsize(100, 22)
    plt.theme("clear")
    for c in curves:
        d = c.as_dict(points=100)
        plt.plot(d["position"], d["windowed_reward"], label=c.pipeline[:30])
    plt.title("windowed mean reward (quality) along the log")
    plt.xlabel("event in the log")
    # Plain text: the chart goes to terminals, pipes and files alike, so no colour codes.
    return re.sub(r"\x1b\[[0-9;]*m", "", str(plt.build()))


def cmd_tune(args: argparse.Namespace) -> int:
    from workbench.api import Workbench
    from workbench.replay.tune import Objective

    seed = args.seed if args.seed is not None else 0
    objective = Objective.parse(args.objective)

    def progress(rung: int, done: int, total: int) -> None:
        _progress_bar(f"rung {rung}", done, total)

    with Workbench(db=args.db, config=args.config, seed=seed) as wb:
        report = wb.tune(args.log, args.pipeline, objective, out=args.out, candidates=args.candidates, eta=args.eta,
                         executor=args.executor, seed=seed, progress=progress)
    result, out, run_id = report.result, report.out, report.run_id
    note = report.notes[0] if report.notes else None
    summary = report.summary()
    if args.json:
        print_json(summary)
        return EXIT_OK
    if note:
        print(f"note: {note}")
    print(f"objective {objective.text} on {args.log} ({result.estimator}); rungs {result.rungs} events")
    for label, m in (("base", result.baseline.metrics), ("tuned", result.best.metrics)):
        feasible = "meets" if objective.feasible(m) else "misses"
        print(f"  {label:<6} quality {_fmt(m['quality'], pct=True):>8}  "
              f"$/req {_fmt(m['cost_per_request_usd'], digits=6)}  "
              f"p50 {_fmt(m['latency_p50_ms'], digits=0)} ms  ({feasible} the constraint)")
    for k, v in result.best.params.items():
        print(f"  {k} = {v}")
    print(f"wrote {out}")
    if run_id:
        print(f"stored as replay run {run_id}")
    return EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:
    from workbench.api import Workbench

    seed = args.seed if args.seed is not None else 0
    with Workbench(db=args.db, config=args.config, seed=seed) as wb:
        report = wb.export(args.log, args.pipeline, args.out, seed=seed, progress=_progress_bar)
    if args.json:
        print_json({"out": str(report.out), "provenance": report.provenance})
    else:
        quality = report.provenance["metrics"]["quality"]
        print(f"wrote {report.out} ({report.pipeline} on {args.log}: quality {_fmt(quality, pct=True)}, "
              f"{report.provenance['estimator']})")
    return EXIT_OK


def cmd_shadow(args: argparse.Namespace) -> int:
    result = _cancellable(
        args, lambda wb, seed, cancel: wb.shadow(
            args.log, args.pipeline, sample=args.sample, cost_cap_usd=args.cost_cap,
            max_output_tokens=args.max_output_tokens, seed=seed, progress=_progress_bar, cancel=cancel,
        )
    )
    d = result.as_dict()
    if args.json:
        print_json(d)
        return EXIT_OK
    print(f"shadow of {args.log} through {result.pipeline}: {d['n']} of {d['sampled']} sampled requests, "
          f"${d['cost_usd']:.6f} of a ${d['cost_cap_usd']:.6f} cap ({d['stopped']})")
    print(f"  quality {_fmt(d['quality'], pct=True)}  $/req {_fmt(d['cost_per_request_usd'], digits=6)}  "
          f"p50 {_fmt(d['latency_p50_ms'], digits=0)} ms  failures {_fmt(d['failure_rate'], pct=True)}")
    for note in d["notes"]:
        print(f"note: {note}")
    return EXIT_OK


def cmd_samples(args: argparse.Namespace) -> int:
    from workbench.sim.traffic import write_samples

    seed = args.seed if args.seed is not None else 0
    if args.bandit < 1 or args.full < 1:
        raise BadInputError("samples: --bandit and --full must be at least 1")
    counts = write_samples(args.out, n_bandit=args.bandit, n_full=args.full, seed=seed,
                           progress=lambda d, t: _progress_bar("simulating", d, t))
    for log, rows in counts.items():
        print(f"{log}: {rows} rows -> {args.out}/{log}.parquet")
    return EXIT_OK
