"""Replay, tune and export as whole operations with result objects: what `Workbench` and the CLI both call."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from collections.abc import Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from workbench.config import WorkbenchConfig
from workbench.errors import BadInputError
from workbench.replay.compare import Comparison, compare
from workbench.replay.curves import Curve, learning_curves
from workbench.replay.engine import Progress, resolve_spec
from workbench.replay.export import export_config
from workbench.replay.loader import load_log
from workbench.replay.shadow import ShadowResult, shadow_async
from workbench.replay.tune import Objective, TuneProgress, TuneResult, make_executor, tune

if TYPE_CHECKING:
    import os

    from workbench.store import TrajectoryStore


@dataclass(frozen=True)
class ReplayReport:
    """A comparison plus each pipeline's learning curve (outcomes fed back event by event)."""

    comparison: Comparison
    curves: list[Curve]
    run_id: str | None = None

    @property
    def log(self) -> str:
        return self.comparison.log

    def rows(self) -> list[dict[str, Any]]:
        return self.comparison.rows()

    def table(self) -> pl.DataFrame:
        return self.comparison.table()

    def curve_dicts(self) -> dict[str, dict[str, Any]]:
        return {c.pipeline: c.as_dict() for c in self.curves}

    def curves_table(self, points: int = 200) -> pl.DataFrame:
        """Long form: one row per (pipeline, sampled event) with cumulative and windowed mean reward."""
        frames = []
        for c in self.curves:
            d = c.as_dict(points=points)
            k = len(d["position"])
            frames.append(pl.DataFrame({
                "pipeline": [c.pipeline] * k, "block": [d["block"]] * k, "position": d["position"],
                "mean_reward": d["mean_reward"],
                "windowed_reward": d["windowed_reward"],
                "regret": d["regret"] if d["regret"] is not None else [None] * k,
            }, schema_overrides={"regret": pl.Float64}))
        return pl.concat(frames) if frames else pl.DataFrame()

    def as_dict(self) -> dict[str, Any]:
        return {"log": self.log, "outcome_source": self.comparison.outcome_source, "results": self.rows(),
                "curves": self.curve_dicts(), "run_id": self.run_id}

    def _repr_html_(self) -> str:
        return self.comparison._repr_html_() + "<p>learning curves</p>" + self.curves_table(points=20)._repr_html_()


@dataclass(frozen=True)
class TuneReport:
    """A finished tuning run: the search result, where the tuned config was written, and the stored run."""

    result: TuneResult
    provenance: dict[str, Any]
    out: Path | None = None
    run_id: str | None = None
    notes: tuple[str, ...] = field(default=())

    def config(self) -> WorkbenchConfig:
        return self.result.best_config()

    def summary(self) -> dict[str, Any]:
        r = self.result
        return {"out": None if self.out is None else str(self.out), "objective": r.objective.text,
                "estimator": r.estimator, "best": {"trial": r.best.index, **r.best.metrics, "params": r.best.params},
                "baseline": r.baseline.metrics, "rungs": r.rungs, "run_id": self.run_id, "trials": r.rows()}

    def table(self) -> pl.DataFrame:
        """Every trial, best of the last rung first: rung, events, score, feasibility, metrics, parameters."""
        rows = [{k: v for k, v in row.items() if not isinstance(v, (dict, list))} for row in self.result.rows()]
        return pl.DataFrame(rows, infer_schema_length=None)

    def _repr_html_(self) -> str:
        head = f"<p>tuned on <b>{self.result.log}</b> for {self.result.objective.text} ({self.result.estimator})</p>"
        return head + self.table()._repr_html_()


@dataclass(frozen=True)
class ExportReport:
    """A config written with its replayed metrics as provenance."""

    out: Path
    pipeline: str
    provenance: dict[str, Any]
    comparison: Comparison

    def table(self) -> pl.DataFrame:
        return self.comparison.table().filter(pl.col("pipeline") == self.pipeline)

    def _repr_html_(self) -> str:
        return f"<p>wrote <code>{self.out}</code></p>" + self.table()._repr_html_()


def run_replay(
    store: TrajectoryStore,
    base: WorkbenchConfig,
    log: str,
    pipelines: Sequence[str],
    *,
    seed: int = 0,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    save: bool = True,
    block: int | None = None,
) -> ReplayReport:
    """Compare `pipelines` over `log`, then replay each config pipeline with outcomes fed back for its learning
    curve (in blocks of `block` events where the batched replay applies; see `curves.learning_curves`)."""
    comparison = compare(store, log, pipelines, base, seed=seed, progress=progress, cancel=cancel, save=save)
    events, _ = load_log(store, log)
    specs = [resolve_spec(p, base) for p in pipelines]
    curves = learning_curves(events, specs, seed=seed, progress=progress, cancel=cancel, block=block)
    curve_dicts = {c.pipeline: c.as_dict() for c in curves}
    run_id = None
    if save and not store.read_only and curves:
        run_id = store.save_replay_run(
            log=log, estimator=curves[0].estimator,
            configs={s.label: s.config.public_dict() for s in specs if s.config},
            results={r.pipeline: r.as_dict() for r in comparison.results if r.pipeline in curve_dicts},
            curves=curve_dicts, outcome_source=f"learning curves ({curves[0].estimator})", seed=seed,
        )
    return ReplayReport(comparison, curves, run_id)


def run_tune(
    store: TrajectoryStore,
    base: WorkbenchConfig,
    log: str,
    pipeline: str,
    objective: str | Objective,
    *,
    out: str | os.PathLike[str] | None = None,
    candidates: int = 27,
    eta: int = 3,
    executor: str | Executor = "process",
    seed: int = 0,
    progress: TuneProgress | None = None,
    cancel: threading.Event | None = None,
    save: bool = True,
) -> TuneReport:
    """Tune `pipeline` on `log` against `objective`; write the tuned config to `out` (if given) and store the run."""
    goal = objective if isinstance(objective, Objective) else Objective.parse(objective)
    spec = resolve_spec(pipeline, base)
    if spec.config is None:
        raise BadInputError(f"--pipeline {pipeline}: a baseline has no parameters; give a config or pipeline")
    events, note = load_log(store, log)
    if isinstance(executor, str):
        with make_executor(executor) as pool:
            result = tune(events, spec.config, goal, candidates=candidates, eta=eta, seed=seed, executor=pool,
                          progress=progress, cancel=cancel)
    else:
        result = tune(events, spec.config, goal, candidates=candidates, eta=eta, seed=seed, executor=executor,
                      progress=progress, cancel=cancel)
    provenance = {
        "source_log": log, "estimator": result.estimator, "objective": goal.text,
        "metrics": result.best.metrics, "baseline_metrics": result.baseline.metrics,
        "tuned_parameters": result.best.params, "events": result.best.n, "seed": seed,
        "search": f"successive halving, {candidates} candidates, eta {eta}, rungs {result.rungs}",
    }
    written = None if out is None else export_config(result.best_config(), out, provenance)
    run_id = None
    if save and not store.read_only:
        run_id = store.save_replay_run(
            log=log, estimator=f"tune ({result.estimator})",
            configs={"tuned": result.best_config().public_dict(), "base": spec.config.public_dict()},
            results={"tuned": result.best.metrics, "base": result.baseline.metrics},
            outcome_source=goal.text, seed=seed, notes=note or "",
        )
    return TuneReport(result, provenance, written, run_id, (note,) if note else ())


def run_export(
    store: TrajectoryStore,
    base: WorkbenchConfig,
    log: str,
    pipeline: str,
    out: str | os.PathLike[str],
    *,
    seed: int = 0,
    progress: Progress | None = None,
    save: bool = True,
) -> ExportReport:
    """Replay `pipeline` on `log` and write its config to `out` with the replayed metrics as provenance."""
    spec = resolve_spec(pipeline, base)
    if spec.config is None:
        raise BadInputError(f"--pipeline {pipeline}: a baseline is not a pipeline config; nothing to export")
    comparison = compare(store, log, [pipeline], base, seed=seed, progress=progress, save=save)
    mine = next(r for r in comparison.rows() if r["pipeline"] == spec.label)
    provenance = {"source_log": log, "estimator": mine["estimator"], "outcome_source": comparison.outcome_source,
                  "metrics": {k: mine[k] for k in ("n", "quality", "quality_ci", "cost_per_request_usd",
                                                   "latency_p50_ms", "latency_p95_ms")}, "seed": seed}
    written = export_config(spec.config, out, provenance)
    return ExportReport(written, spec.label, provenance, comparison)


def run_shadow(
    store: TrajectoryStore,
    base: WorkbenchConfig,
    log: str,
    pipeline: str,
    *,
    sample: int = 100,
    cost_cap_usd: float = 0.10,
    max_output_tokens: int = 1024,
    seed: int = 0,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    save: bool = True,
) -> ShadowResult:
    """Re-run a seeded sample of `log`'s prompts live through `pipeline`'s own transport under a cost cap; the
    trajectories are stored in the log `shadow:LOG` (source `shadow`) unless the store is read-only."""
    spec = resolve_spec(pipeline, base)
    if spec.config is None:
        raise BadInputError(f"--pipeline {pipeline}: a baseline sends nothing; give a config or a pipeline to shadow")
    events, note = load_log(store, log)
    sink = store if save and not store.read_only else None
    run = shadow_async(
        spec.config, events.prompts, label=spec.label, log=log, sample=sample, cost_cap_usd=cost_cap_usd,
        max_output_tokens=max_output_tokens, seed=seed, sink=sink, progress=progress, cancel=cancel,
    )
    # Its own loop on a worker thread, so this also works where a loop is already running (a notebook).
    with ThreadPoolExecutor(max_workers=1) as worker:
        result = worker.submit(asyncio.run, run).result()
    if sink is not None:
        store.flush()
    return result if note is None else dataclasses.replace(result, notes=(*result.notes, note))


__all__ = ["ExportReport", "ReplayReport", "TuneReport", "run_export", "run_replay", "run_shadow", "run_tune"]
