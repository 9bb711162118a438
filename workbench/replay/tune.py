"""The tuner: successive halving over a pipeline's numeric parameters on replayed traffic.

A candidate is a config; evaluating it is a pure function of (log shard, config JSON, seed) -> metrics
(`evaluate_candidate`), so any executor can run the sweep: a local process pool by default, a thread pool or
inline for small logs, or a distributed engine (Ray, Dask: their `concurrent.futures`-style executors) across
machines when logs outgrow one (docs/REPLAY.md). Successive halving (Jamieson & Talwalkar 2016) spends the
replay budget where it matters: all candidates on a small shard, the best 1/eta on eta times more, and so on
up to the whole log.
"""

from __future__ import annotations

import copy
import multiprocessing
import re
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from workbench.config import WorkbenchConfig, parse_config
from workbench.errors import BadInputError
from workbench.replay.bandit import BanditLog, replay_bandit
from workbench.replay.engine import PolicySpec, ReplayCancelled, replay_fullinfo
from workbench.replay.fullinfo import FullInfoLog, PolicyResult
from workbench.routing_config import FACTORS

Path = tuple[str | int, ...]
Log = FullInfoLog | BanditLog
TuneProgress = Callable[[int, int, int], None]  # (rung, evaluated in this rung, candidates in this rung)
TUNABLE_STRATEGIES: tuple[str, ...] = ("cost-based", "simple-shuffle", "round-robin")


# -- objective ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Objective:
    """`max-quality:cost<=X` (X in USD per request) or `min-cost:quality>=Y` (Y in [0, 1])."""

    goal: str  # max-quality | min-cost
    limit: float
    text: str

    @classmethod
    def parse(cls, text: str) -> Objective:
        m = re.fullmatch(r"\s*(max-quality)\s*:\s*cost\s*<=\s*([0-9.eE+-]+)\s*|\s*(min-cost)\s*:\s*quality\s*>=\s*"
                         r"([0-9.eE+-]+)\s*", text)
        if m is None:
            raise BadInputError(
                f"--objective {text!r}: write 'max-quality:cost<=USD_PER_REQUEST' (e.g. max-quality:cost<=0.002) "
                f"or 'min-cost:quality>=TARGET' (e.g. min-cost:quality>=0.8)"
            )
        goal = m.group(1) or m.group(3)
        try:
            limit = float(m.group(2) or m.group(4))
        except ValueError:
            raise BadInputError(f"--objective {text!r}: the limit is not a number") from None
        return cls(goal, limit, text.strip())

    def feasible(self, metrics: dict[str, float]) -> bool:
        if self.goal == "max-quality":
            return metrics["cost_per_request_usd"] <= self.limit
        return metrics["quality"] >= self.limit

    def score(self, metrics: dict[str, float]) -> float:
        """Higher is better. Feasible candidates always beat infeasible ones, which rank by how far off they are."""
        q, c = metrics["quality"], metrics["cost_per_request_usd"]
        if not (np.isfinite(q) and np.isfinite(c)):
            return -np.inf
        if self.goal == "max-quality":
            return q if c <= self.limit else -1.0 - (c - self.limit) / max(self.limit, 1e-12)
        return -c if q >= self.limit else -1e6 - (self.limit - q)


# -- the search space ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Param:
    path: Path
    kind: str  # float | choice | bounds (rising tier bounds, sampled together)
    low: float = 0.0
    high: float = 1.0
    choices: tuple[Any, ...] = ()
    size: int = 0  # bounds: how many

    @property
    def name(self) -> str:
        return ".".join(str(p) for p in self.path)


def search_space(base: WorkbenchConfig) -> list[Param]:
    """The numeric and categorical knobs of `base` that change routing: tier bounds and in-tier strategy, complexity
    weights (when a pipeline reads complexity), exploration rate (when exploring), each strategy pipeline's router."""
    params: list[Param] = []
    pipes = dict(base.pipelines)
    uses_tier = any(p.router == "tier" for p in pipes.values())
    uses_complexity = any(p.classifier == "complexity" for p in pipes.values())
    if uses_tier:
        tiers = list(base.routing.tiers.tiers)
        if len(tiers) > 1:
            params.append(Param(("routing", "tiers", "tiers"), "bounds", 0.05, 0.95, size=len(tiers) - 1,
                                choices=tuple(tiers)))
        params.append(Param(("routing", "tiers", "strategy"), "choice", choices=TUNABLE_STRATEGIES))
    if uses_complexity:
        params += [Param(("routing", "complexity", "weights", f), "float", 0.0, 1.0) for f in FACTORS]
    if base.routing.exploration.mode == "epsilon-greedy":
        params.append(Param(("routing", "exploration", "epsilon"), "float", 0.0, 0.3))
    for task, p in sorted(pipes.items()):
        if p.router in ("static", *TUNABLE_STRATEGIES) and len(p.preferred_models) > 1:
            params.append(Param(("pipelines", task, "router"), "choice", choices=("static", *TUNABLE_STRATEGIES)))
    if not params:
        raise BadInputError(
            "tune: this pipeline has nothing to tune (no tier router, complexity classifier, exploration or "
            "multi-model strategy pipeline); give --pipeline a config with one of those"
        )
    return params


def _set(data: dict[str, Any], path: Path, value: Any) -> None:
    node: Any = data
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value


def sample_candidate(base: dict[str, Any], space: Sequence[Param], rng: np.random.Generator) -> dict[str, Any]:
    data = copy.deepcopy(base)
    for p in space:
        if p.kind == "float":
            _set(data, p.path, round(float(rng.uniform(p.low, p.high)), 4))
        elif p.kind == "choice":
            _set(data, p.path, p.choices[int(rng.integers(len(p.choices)))])
        else:  # rising tier bounds; the last tier keeps upto 1.0
            bounds = np.sort(rng.uniform(p.low, p.high, size=p.size)).round(3)
            bounds = np.maximum(bounds, np.arange(1, p.size + 1) * 1e-3 + bounds.min())  # strictly rising
            tiers = data["routing"]["tiers"]["tiers"]
            for name, b in zip(p.choices, bounds, strict=False):
                tiers[name]["upto"] = float(b)
    return data


def describe(data: dict[str, Any], space: Sequence[Param]) -> dict[str, Any]:
    """The tuned values of one candidate, by parameter name."""
    out: dict[str, Any] = {}
    for p in space:
        if p.kind == "bounds":
            tiers = data["routing"]["tiers"]["tiers"]
            out[p.name] = {name: tiers[name]["upto"] for name in p.choices}
            continue
        node: Any = data
        for key in p.path:
            node = node[key]
        out[p.name] = node
    return out


# -- one candidate: a pure function of (log shard, config) ---------------------------------------------------------


def shard(log: Log, n: int) -> Log:
    """The first `n` events of a log (replay order), as a log of the same kind."""
    if n >= log.n:
        return log
    if isinstance(log, FullInfoLog):
        return FullInfoLog(log.name, log.prompt_ids[:n], log.prompts[:n], log.models, log.quality[:n],
                           log.cost[:n], log.latency[:n], log.task_types[:n], log.cost_derived,
                           cues=None if log.cues is None else log.cues.slice(0, n))
    return BanditLog(log.name, log.prompts[:n], log.task_types[:n], log.models, log.action[:n],
                     log.propensity[:n], log.quality[:n], log.cost[:n], log.latency[:n], log.failed[:n],
                     log.fallback[:n])


def shard_range(log: BanditLog, start: int, stop: int) -> BanditLog:
    """Events [start, stop) of a bandit log, as a log of its own (same action set)."""
    return BanditLog(log.name, log.prompts[start:stop], log.task_types[start:stop], log.models,
                     log.action[start:stop], log.propensity[start:stop], log.quality[start:stop],
                     log.cost[start:stop], log.latency[start:stop], log.failed[start:stop], log.fallback[start:stop])


def result_metrics(r: PolicyResult) -> dict[str, Any]:
    return {
        "quality": float(r.quality.mean),
        "quality_ci": [float(r.quality.low), float(r.quality.high)],
        "cost_per_request_usd": float(r.cost_per_request),
        "latency_p50_ms": float(r.latency.get("p50", float("nan"))),
        "latency_p95_ms": float(r.latency.get("p95", float("nan"))),
        "estimator": r.estimator,
        "n": r.n,
    }


def evaluate_candidate(log: Log, config: dict[str, Any], seed: int) -> dict[str, Any]:
    """Replay one candidate config over one log shard: exact on full-information logs, DR on bandit logs."""
    cfg = parse_config(config, "tuner candidate")
    spec = PolicySpec("candidate", config=cfg)
    if isinstance(log, FullInfoLog):
        result = replay_fullinfo(log, [spec], seed=seed)[0]
    else:
        result = replay_bandit(log, [spec], seed=seed, n_boot=100)[0]
    return result_metrics(result)


# -- successive halving -------------------------------------------------------------------------------------------


@dataclass
class Trial:
    index: int
    config: dict[str, Any]
    params: dict[str, Any]
    rung: int = 0
    n: int = 0
    metrics: dict[str, Any] = field(default_factory=dict)
    score: float = -np.inf


@dataclass
class TuneResult:
    log: str
    objective: Objective
    best: Trial
    baseline: Trial
    trials: list[Trial]
    rungs: list[int]  # events replayed per candidate at each rung
    estimator: str

    def best_config(self) -> WorkbenchConfig:
        return parse_config(self.best.config, "tuned config")

    def rows(self) -> list[dict[str, Any]]:
        return [
            {"trial": t.index, "rung": t.rung, "n": t.n, "score": None if not np.isfinite(t.score) else t.score,
             "feasible": self.objective.feasible(t.metrics) if t.metrics else False, **t.metrics, **t.params}
            for t in sorted(self.trials, key=lambda t: (-t.rung, -t.score))
        ]


def make_executor(kind: str, workers: int | None = None) -> Executor:
    """`process` (default: candidates are CPU-bound Python), `thread`, or `inline` (one at a time, in order)."""
    if kind == "process":
        # Spawned, not forked: replay runs polars and Arrow thread pools, and a forked child inherits their locks
        # mid-use and can hang on its first column operation.
        return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"))
    if kind == "thread":
        return ThreadPoolExecutor(max_workers=workers)
    if kind == "inline":
        return ThreadPoolExecutor(max_workers=1)
    raise BadInputError(f"--executor {kind!r}: choose process, thread or inline")


def tune(
    log: Log,
    base: WorkbenchConfig,
    objective: Objective,
    *,
    candidates: int = 27,
    eta: int = 3,
    min_events: int = 500,
    seed: int = 0,
    executor: Executor | None = None,
    progress: TuneProgress | None = None,
    cancel: threading.Event | None = None,
) -> TuneResult:
    """Successive halving: every candidate on the smallest shard, the best 1/eta of each rung on eta x more events.

    The base config itself is candidate 0, so the result can only match or beat it on the objective.
    """
    if candidates < 1 or eta < 2:
        raise BadInputError("tune: need at least 1 candidate and eta >= 2")
    space = search_space(base)
    base_data = base.public_dict()
    base_data.pop("provenance", None)
    rng = np.random.default_rng(seed)
    trials = [Trial(0, copy.deepcopy(base_data), describe(base_data, space))]
    for i in range(1, candidates):
        data = sample_candidate(base_data, space, rng)
        trials.append(Trial(i, data, describe(data, space)))
    rungs_needed = max(1, int(np.ceil(np.log(max(candidates, 1)) / np.log(eta))) + 1)
    sizes = [max(min(min_events, log.n), int(log.n / eta ** (rungs_needed - 1 - r))) for r in range(rungs_needed)]
    sizes = sorted(set(min(s, log.n) for s in sizes))
    own = executor is None
    pool = executor or make_executor("process")
    alive = trials
    try:
        for rung, n in enumerate(sizes):
            if cancel is not None and cancel.is_set():
                raise ReplayCancelled(f"tuning cancelled at rung {rung}")
            part = shard(log, n)
            futures = [pool.submit(evaluate_candidate, part, t.config, seed) for t in alive]
            for k, (t, fut) in enumerate(zip(alive, futures, strict=True)):
                t.metrics, t.rung, t.n = fut.result(), rung, n
                t.score = objective.score(t.metrics)
                if progress is not None:
                    progress(rung, k + 1, len(alive))
            alive.sort(key=lambda t: (-t.score, t.index))
            if rung < len(sizes) - 1:
                alive = alive[: max(1, len(alive) // eta)]
    finally:
        if own:
            pool.shutdown(cancel_futures=True)
    best = alive[0]
    baseline = trials[0]
    if baseline.rung != best.rung:  # measure the baseline on the same events as the winner, for an honest delta
        baseline.metrics = evaluate_candidate(shard(log, best.n), baseline.config, seed)
        baseline.rung, baseline.n, baseline.score = best.rung, best.n, objective.score(baseline.metrics)
        if baseline.score > best.score:
            best = baseline
    return TuneResult(log.name, objective, best, baseline, trials, sizes, best.metrics.get("estimator", ""))
