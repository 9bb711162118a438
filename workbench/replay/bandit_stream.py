"""Bandit (trajectory) logs read from the store in pages, and off-policy replay over them in one pass.

`replay_bandit` takes a whole `BanditLog` in memory, prompts included. Here the store is read in keyset pages
(witnessed events by `witness_seq`, then any unwitnessed ones by time and id, the order `bandit_events` gives),
each page's prompts are routed through every pipeline and then dropped; only the per-event numbers the
estimators need (action, propensity, quality, cost, latency, status, the policies' probabilities) are kept.
The results are `replay_bandit`'s for the same log (tests check it).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from workbench.errors import BadInputError
from workbench.pipeline.build import PipelineRegistry, build_pipeline
from workbench.replay.bandit import (
    BanditLog,
    PolicyDistribution,
    bandit_from_frame,
    evaluate_bandit,
    fit_reward_model,
    policy_distribution,
)
from workbench.replay.engine import OfflineTransport, PolicySpec, Progress, ReplayCancelled
from workbench.replay.fullinfo import PolicyResult

if TYPE_CHECKING:
    from workbench.store import TrajectoryStore

PAGE_ROWS = 50_000  # events per page: prompts of one page in memory at a time
NO_SEQ = -(2**62)
NO_TIME = -1e300


@dataclass(frozen=True)
class BanditSource:
    """A trajectory log as pages of events; `batches()` starts from the first event every time."""

    name: str
    models: list[str]
    n: int
    batches: Callable[[], Iterator[BanditLog]]


def source_from_bandit(log: BanditLog, page: int = PAGE_ROWS) -> BanditSource:
    from workbench.replay.tune import shard_range

    def batches() -> Iterator[BanditLog]:
        for start in range(0, log.n, page):
            yield shard_range(log, start, min(log.n, start + page))

    return BanditSource(log.name, list(log.models), log.n, batches)


def source_from_store_bandit(store: TrajectoryStore, log: str, page: int = PAGE_ROWS) -> BanditSource:
    """A trajectory log of the store, read in pages of `page` events in `bandit_events` order."""
    head = store.query("bandit_models", log=log)
    events = int(head["events"][0]) if not head.is_empty() and head["events"][0] is not None else 0
    if events == 0:
        raise BadInputError(f"log '{log}' has no trajectories to replay")
    models = [str(m) for m in (head["models"].to_list()[0] or [])]

    def batches() -> Iterator[BanditLog]:
        after = NO_SEQ
        while True:
            frame = store.query("bandit_events_page", log=log, after_seq=after, rows=page)
            if frame.is_empty():
                break
            after = int(frame["witness_seq"][-1])
            yield bandit_from_frame(log, frame, models=models)
        after_unix, after_id = NO_TIME, ""
        while True:
            frame = store.query("bandit_events_unchained_page", log=log, after_unix=after_unix, after_id=after_id,
                                rows=page)
            if frame.is_empty():
                break
            after_unix, after_id = float(frame["created_unix"][-1]), str(frame["trajectory_id"][-1])
            yield bandit_from_frame(log, frame, models=models)

    return BanditSource(log, models, events, batches)


def replay_bandit_source(
    source: BanditSource,
    specs: Sequence[PolicySpec],
    *,
    seed: int = 0,
    n_boot: int = 300,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> list[PolicyResult]:
    """`replay_bandit` over a paged source: pipelines route each page's prompts (one registry per pipeline for
    the whole log), then the estimators run on the kept per-event numbers."""
    registries: dict[int, PipelineRegistry] = {
        k: build_pipeline(s.config, transport=OfflineTransport(), seed=seed)
        for k, s in enumerate(specs) if s.config is not None
    }
    pages: list[BanditLog] = []
    dists: dict[int, list[PolicyDistribution]] = {k: [] for k in registries}
    done = 0
    label = ", ".join(s.label for s in specs) or "replay"
    for page in source.batches():
        if cancel is not None and cancel.is_set():
            raise ReplayCancelled(f"replay of {label} cancelled at event {done}")
        for k, registry in registries.items():
            dists[k].append(policy_distribution(page, specs[k], seed=seed, registry=registry))
        pages.append(_without_prompts(page))
        done += page.n
        if progress is not None:
            progress(label, done, source.n)
    if not pages:
        raise BadInputError(f"log '{source.name}' has no trajectories to replay")
    log = _concat(source.name, source.models, pages)
    reward, task = fit_reward_model(log)
    results = []
    for k, spec in enumerate(specs):
        if k in dists:
            parts = dists[k]
            dist = PolicyDistribution(np.concatenate([d.probs for d in parts]),
                                      np.concatenate([d.outside for d in parts]),
                                      [n for d in parts[:1] for n in d.notes])
        else:
            dist = policy_distribution(log, spec, seed=seed)
        rng = np.random.default_rng([seed, k])
        results.append(evaluate_bandit(log, spec.label, dist, reward, task, rng=rng, n_boot=n_boot))
    return results


def _without_prompts(page: BanditLog) -> BanditLog:
    """The page's numbers; its prompts become one shared empty column (the estimators never read them)."""
    blank = pl.Series("prompt", [""], dtype=pl.String).extend_constant("", page.n - 1) if page.n else pl.Series(
        "prompt", [], dtype=pl.String)
    from workbench.replay.stream import SeriesText

    return BanditLog(page.name, SeriesText(blank), page.task_types, page.models, page.action, page.propensity,
                     page.quality, page.cost, page.latency, page.failed, page.fallback)


def _concat(name: str, models: list[str], pages: list[BanditLog]) -> BanditLog:
    from workbench.replay.stream import SeriesText

    prompts = pl.concat([p.prompts.series for p in pages if isinstance(p.prompts, SeriesText)])
    tasks: list[str] = [t for p in pages for t in p.task_types]
    return BanditLog(
        name, SeriesText(prompts), tasks, models, np.concatenate([p.action for p in pages]),
        np.concatenate([p.propensity for p in pages]), np.concatenate([p.quality for p in pages]),
        np.concatenate([p.cost for p in pages]), np.concatenate([p.latency for p in pages]),
        np.concatenate([p.failed for p in pages]), np.concatenate([p.fallback for p in pages]),
    )


__all__ = ["BanditSource", "replay_bandit_source", "source_from_bandit", "source_from_store_bandit"]
