"""A comparison: several pipelines replayed over one log, as one result object the faces can show.

`compare` picks the outcome source from what the log holds (exact lookup for full-information logs)
and stores the run in `replay_runs` / `replay_results`.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from workbench.config import WorkbenchConfig
from workbench.errors import BadInputError
from workbench.replay.bandit import BanditLog, estimator_label, replay_bandit
from workbench.replay.bandit_stream import BanditSource, replay_bandit_source, source_from_store_bandit
from workbench.replay.engine import PolicySpec, Progress, resolve_spec
from workbench.replay.fullinfo import FullInfoLog, PolicyResult
from workbench.replay.loader import log_kind, sample_bandit, sample_fullinfo
from workbench.replay.stream import FullInfoSource, replay_source, source_from_log, source_from_store
from workbench.store import TrajectoryStore

TABLE_COLUMNS = (
    "pipeline", "estimator", "n", "quality", "quality_ci", "cost_usd", "cost_per_request_usd",
    "latency_p50_ms", "latency_p95_ms", "latency_p99_ms", "apgr", "cpt50", "cpt80", "aiq",
)


@dataclass(frozen=True)
class Comparison:
    log: str
    outcome_source: str  # what the estimates rest on: "exact (full information)", "IPS/SNIPS/DR", ...
    results: list[PolicyResult]
    run_id: str | None = None
    notes: tuple[str, ...] = field(default=())

    def rows(self) -> list[dict[str, Any]]:
        return [r.as_dict() for r in self.results]

    def table(self) -> pl.DataFrame:
        """One row per pipeline with the comparison metrics (CI as low/high columns)."""
        rows = []
        for d in self.rows():
            row = {k: d[k] for k in TABLE_COLUMNS if k != "quality_ci"}
            row["quality_ci_low"], row["quality_ci_high"] = d["quality_ci"]
            rows.append(row)
        return pl.DataFrame(rows)

    def _repr_html_(self) -> str:  # rich display in notebooks
        head = f"<p><b>{self.log}</b>: {self.outcome_source}</p>"
        return head + self.table()._repr_html_()


def compare(
    store: TrajectoryStore,
    log: str,
    pipelines: Sequence[str],
    base_config: WorkbenchConfig,
    *,
    seed: int = 0,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    save: bool = True,
) -> Comparison:
    if not pipelines:
        raise BadInputError(
            "compare: name at least one --pipeline (a config file, a pipeline, oracle, random, always:MODEL)"
        )
    specs = [resolve_spec(p, base_config) for p in pipelines]
    notes: tuple[str, ...] = ()
    try:
        kind = log_kind(store, log)
    except BadInputError:
        # A store made before the samples shipped (or with --db elsewhere) can still compare on them.
        note = (f"read from the shipped sample log {log} (not in {store.path})",)
        sample = sample_fullinfo(log)
        if sample is not None:
            return _compare_fullinfo(store, log, sample, specs, seed, progress, cancel, save=False, notes=note)
        events = sample_bandit(log)
        if events is None:
            raise
        return _compare_bandit(store, log, events, specs, seed, progress, cancel, save=False, notes=note)
    # Logs in the store are read in pages, so their size is bounded by the disk, not by memory.
    if kind != "full-information":
        return _compare_bandit(store, log, source_from_store_bandit(store, log), specs, seed, progress, cancel, save,
                               notes)
    return _compare_fullinfo(store, log, source_from_store(store, log), specs, seed, progress, cancel, save, notes)


def _compare_bandit(
    store: TrajectoryStore,
    log: str,
    events: BanditLog | BanditSource,
    specs: Sequence[PolicySpec],
    seed: int,
    progress: Progress | None,
    cancel: threading.Event | None,
    save: bool,
    notes: tuple[str, ...] = (),
) -> Comparison:
    if isinstance(events, BanditSource):
        results = replay_bandit_source(events, specs, seed=seed, progress=progress, cancel=cancel)
        estimator = results[0].estimator if results else "dr"
    else:
        results = replay_bandit(events, specs, seed=seed, progress=progress, cancel=cancel)
        estimator = estimator_label(events)
    if estimator == "dr":
        source = ("off-policy estimates from logged propensities: DR (doubly robust, reward model = mean quality "
                  "per task type and model) reported, IPS and SNIPS beside it; 95% bootstrap CIs")
    else:
        source = "direct method (reward model from the log): BIASED, no propensities to correct it"
    run_id = None
    if save and not store.read_only:
        run_id = store.save_replay_run(
            log=log,
            estimator=estimator,
            configs={s.label: (s.config.public_dict() if s.config else {"baseline": s.label}) for s in specs},
            results={r.pipeline: r.as_dict() for r in results},
            outcome_source=source,
            seed=seed,
        )
    return Comparison(log=log, outcome_source=source, results=results, run_id=run_id, notes=notes)


def _compare_fullinfo(
    store: TrajectoryStore,
    log: str,
    full: FullInfoLog | FullInfoSource,
    specs: Sequence[PolicySpec],
    seed: int,
    progress: Progress | None,
    cancel: threading.Event | None,
    save: bool,
    notes: tuple[str, ...] = (),
) -> Comparison:
    events = full if isinstance(full, FullInfoSource) else source_from_log(full)
    results = replay_source(events, specs, seed=seed, progress=progress, cancel=cancel)
    source = "exact (full information: every model's outcome is in the log)"
    run_id = None
    if save and not store.read_only:
        run_id = store.save_replay_run(
            log=log,
            estimator="exact",
            configs={s.label: (s.config.public_dict() if s.config else {"baseline": s.label}) for s in specs},
            results={r.pipeline: r.as_dict() for r in results},
            outcome_source=source,
            seed=seed,
        )
    return Comparison(log=log, outcome_source=source, results=results, run_id=run_id, notes=notes)
