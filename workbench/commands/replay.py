"""Replay commands: compare and replay pipelines over a log, tune one, export it, regenerate the sample logs."""

from __future__ import annotations

import argparse
import re
import sys
import threading
from typing import Any

from workbench.commands.common import EXIT_OK, Handler, Subparsers, add_globals, print_json
from workbench.errors import BadInputError


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

    samples = sub.add_parser("samples", help="regenerate the simulated sample logs (seeded: identical each time)")
    samples.add_argument("--out", default="sample_logs", metavar="DIR")
    samples.add_argument("--bandit", type=int, default=20_000, metavar="N", help="requests in the bandit log")
    samples.add_argument("--full", type=int, default=10_000, metavar="N", help="prompts in the full-information log")
    add_globals(samples)
    return {"compare": cmd_compare, "replay": cmd_replay, "tune": cmd_tune, "export": cmd_export,
            "samples": cmd_samples}


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
    _print_table(rows)
    if result.run_id:
        print(f"stored as replay run {result.run_id}")
    return EXIT_OK


def cmd_replay(args: argparse.Namespace) -> int:
    from workbench.api import Workbench
    from workbench.replay.curves import learning_curves
    from workbench.replay.engine import resolve_spec
    from workbench.replay.loader import load_log

    seed = args.seed if args.seed is not None else 0
    cancel = threading.Event()
    with Workbench(db=args.db, config=args.config, seed=seed) as wb:
        try:
            result = wb.compare(args.log, args.pipelines, seed=seed, progress=_progress_bar, cancel=cancel)
            log, _ = load_log(wb.store, args.log)
            specs = [resolve_spec(p, wb.config) for p in args.pipelines]
            curves = learning_curves(log, specs, seed=seed, progress=_progress_bar, cancel=cancel)
        except KeyboardInterrupt:
            cancel.set()
            raise
        curve_dicts = {c.pipeline: c.as_dict() for c in curves}
        run_id = None
        if not wb.store.read_only and curves:
            run_id = wb.store.save_replay_run(
                log=args.log, estimator=curves[0].estimator, configs={s.label: s.config.public_dict()
                                                                      for s in specs if s.config},
                results={r.pipeline: r.as_dict() for r in result.results if r.pipeline in curve_dicts},
                curves=curve_dicts, outcome_source=f"learning curves ({curves[0].estimator})", seed=seed,
            )
    rows = result.rows()
    if args.json:
        print_json({"log": args.log, "outcome_source": result.outcome_source, "results": rows,
                    "curves": curve_dicts, "run_id": run_id})
        return EXIT_OK
    print(f"log {result.log}: {result.outcome_source}")
    for note in result.notes:
        print(f"note: {note}")
    _print_table(rows)
    if curves:
        print()
        print(f"learning curves ({curves[0].estimator}; events counted / in the log):")
        for c in curves:
            d = c.as_dict()
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
    from workbench.replay.engine import resolve_spec
    from workbench.replay.export import export_config
    from workbench.replay.loader import load_log
    from workbench.replay.tune import Objective, make_executor, tune

    seed = args.seed if args.seed is not None else 0
    objective = Objective.parse(args.objective)
    with Workbench(db=args.db, config=args.config, seed=seed) as wb:
        spec = resolve_spec(args.pipeline, wb.config)
        if spec.config is None:
            raise BadInputError(f"--pipeline {args.pipeline}: a baseline has no parameters; give a config or pipeline")
        log, note = load_log(wb.store, args.log)

        def progress(rung: int, done: int, total: int) -> None:
            _progress_bar(f"rung {rung}", done, total)

        with make_executor(args.executor) as pool:
            result = tune(log, spec.config, objective, candidates=args.candidates, eta=args.eta, seed=seed,
                          executor=pool, progress=progress)
        provenance = {
            "source_log": args.log, "estimator": result.estimator, "objective": objective.text,
            "metrics": result.best.metrics, "baseline_metrics": result.baseline.metrics,
            "tuned_parameters": result.best.params, "events": result.best.n, "seed": seed,
            "search": f"successive halving, {args.candidates} candidates, eta {args.eta}, rungs {result.rungs}",
        }
        out = export_config(result.best_config(), args.out, provenance)
        run_id = None
        if not wb.store.read_only:
            run_id = wb.store.save_replay_run(
                log=args.log, estimator=f"tune ({result.estimator})",
                configs={"tuned": result.best_config().public_dict(), "base": spec.config.public_dict()},
                results={"tuned": result.best.metrics, "base": result.baseline.metrics},
                outcome_source=objective.text, seed=seed, notes=note or "",
            )
    summary = {"out": str(out), "objective": objective.text, "estimator": result.estimator,
               "best": {"trial": result.best.index, **result.best.metrics, "params": result.best.params},
               "baseline": result.baseline.metrics, "rungs": result.rungs, "run_id": run_id,
               "trials": result.rows()}
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
    from workbench.replay.engine import resolve_spec
    from workbench.replay.export import export_config

    seed = args.seed if args.seed is not None else 0
    with Workbench(db=args.db, config=args.config, seed=seed) as wb:
        spec = resolve_spec(args.pipeline, wb.config)
        if spec.config is None:
            raise BadInputError(f"--pipeline {args.pipeline}: a baseline is not a pipeline config; nothing to export")
        result = wb.compare(args.log, [args.pipeline], seed=seed, progress=_progress_bar)
    mine = next(r for r in result.rows() if r["pipeline"] == spec.label)
    provenance = {"source_log": args.log, "estimator": mine["estimator"], "outcome_source": result.outcome_source,
                  "metrics": {k: mine[k] for k in ("n", "quality", "quality_ci", "cost_per_request_usd",
                                                   "latency_p50_ms", "latency_p95_ms")}, "seed": seed}
    out = export_config(spec.config, args.out, provenance)
    if args.json:
        print_json({"out": str(out), "provenance": provenance})
    else:
        print(f"wrote {out} ({spec.label} on {args.log}: quality {_fmt(mine['quality'], pct=True)}, "
              f"{mine['estimator']})")
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
