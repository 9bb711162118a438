"""Exact replay on full-information logs: every model's outcome is known for every prompt.

A `FullInfoLog` holds aligned n x m arrays (quality, cost, latency) for n prompts and m models. A policy
replayed on it is just a vector of chosen model indices (and, for two-model logs, a preference score
that orders prompts for the strong model), so evaluation is a handful of vectorised numpy operations:
no estimation, no bias. Oracle and random baselines are computed the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from workbench.errors import BadInputError
from workbench.replay.metrics import MeanCI, percentiles
from workbench.replay.tally import Tally, task_codes

if TYPE_CHECKING:
    from workbench.replay.cue_features import CueColumns

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]
NO_OUTCOME = -1  # a choice the log has no outcome for (a model it never evaluated)


@dataclass(frozen=True)
class FullInfoLog:
    name: str
    prompt_ids: Sequence[str]
    prompts: Sequence[str]
    models: list[str]
    quality: FloatArray  # n x m
    cost: FloatArray  # n x m, USD
    latency: FloatArray  # n x m, ms (NaN where the log has none)
    task_types: Sequence[str] = field(default_factory=list)
    cost_derived: bool = False  # costs estimated from token counts and a price table, not logged
    # (strong, weak) of the whole log when this is one batch of it: a batch's own means must not decide that.
    strong_weak_of_log: tuple[int, int] | None = None
    # Cue counts recorded with the log (cue_features.py): classification reads these instead of the prompt text.
    cues: CueColumns | None = None

    def __post_init__(self) -> None:
        n, m = len(self.prompt_ids), len(self.models)
        if self.cues is not None and self.cues.n != n:
            raise BadInputError(f"full-information log '{self.name}': {self.cues.n} rows of cue counts for {n} "
                                f"prompts")
        for name in ("quality", "cost", "latency"):
            arr = getattr(self, name)
            if arr.shape != (n, m):
                raise BadInputError(f"full-information log '{self.name}': {name} is {arr.shape}, expected {(n, m)}")
        if len(self.prompts) != n:
            raise BadInputError(f"full-information log '{self.name}': {len(self.prompts)} prompts for {n} ids")

    @property
    def n(self) -> int:
        return len(self.prompt_ids)

    def model_index(self, model: str) -> int:
        """The log's column for a model: exact name, or a pipeline's `provider/name` whose tail is a column."""
        if model in self.models:
            return self.models.index(model)
        for i, column in enumerate(self.models):
            if model.endswith("/" + column):
                return i
        return NO_OUTCOME

    def slice(self, start: int, stop: int) -> FullInfoLog:
        """Rows [start, stop) as a log of their own (views of the arrays; the model list is shared)."""
        if start == 0 and stop >= self.n:
            return self
        return FullInfoLog(
            self.name, self.prompt_ids[start:stop], self.prompts[start:stop], self.models,
            self.quality[start:stop], self.cost[start:stop], self.latency[start:stop], self.task_types[start:stop],
            self.cost_derived, self.strong_weak() if len(self.models) == 2 else None,
            None if self.cues is None else self.cues.slice(start, stop),
        )

    def strong_weak(self) -> tuple[int, int]:
        """(strong, weak) columns of a two-model log, by mean quality."""
        if len(self.models) != 2:
            raise BadInputError(f"log '{self.name}' has {len(self.models)} models; strong/weak needs exactly 2")
        if self.strong_weak_of_log is not None:
            return self.strong_weak_of_log
        means = self.quality.mean(axis=0)
        s = int(np.argmax(means))
        return s, 1 - s


@dataclass(frozen=True)
class PolicyResult:
    """One policy's exact outcome on a full-information log (what `compare` prints per pipeline)."""

    pipeline: str
    estimator: str
    n: int
    covered: int  # prompts whose chosen model the log has an outcome for
    quality: MeanCI
    cost_usd: float
    cost_per_request: float
    latency: dict[str, float]
    model_share: dict[str, float]
    apgr: float | None = None
    cpt50: float | None = None
    cpt80: float | None = None
    aiq: float | None = None
    notes: tuple[str, ...] = ()
    # Off-policy runs: every estimator's value and CI, the importance weights' ESS, the direct method's coverage.
    estimates: dict[str, dict[str, Any]] = field(default_factory=dict)
    ess: float | None = None
    coverage: float | None = None
    failure_rate: float | None = None
    fallback_rate: float | None = None
    per_task: dict[str, dict[str, Any]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        def clean(x: float | None) -> float | None:
            return None if x is None or not np.isfinite(x) else round(float(x), 6)

        return {
            "pipeline": self.pipeline,
            "estimator": self.estimator,
            "n": self.n,
            "covered": self.covered,
            "quality": clean(self.quality.mean),
            "quality_ci": [clean(self.quality.low), clean(self.quality.high)],
            "cost_usd": clean(self.cost_usd),
            "cost_per_request_usd": clean(self.cost_per_request),
            "latency_p50_ms": clean(self.latency.get("p50")),
            "latency_p95_ms": clean(self.latency.get("p95")),
            "latency_p99_ms": clean(self.latency.get("p99")),
            "model_share": {k: round(v, 6) for k, v in self.model_share.items()},
            "apgr": clean(self.apgr),
            "cpt50": clean(self.cpt50),
            "cpt80": clean(self.cpt80),
            "aiq": clean(self.aiq),
            "ess": clean(self.ess),
            "coverage": clean(self.coverage),
            "failure_rate": clean(self.failure_rate),
            "fallback_rate": clean(self.fallback_rate),
            "estimates": self.estimates,
            "per_task": self.per_task,
            "notes": list(self.notes),
        }


def evaluate(
    log: FullInfoLog, name: str, choice: IntArray, preference: FloatArray | None = None, notes: tuple[str, ...] = ()
) -> PolicyResult:
    """Exact metrics of the choices `choice` (column per prompt, NO_OUTCOME where none applies)."""
    if choice.shape != (log.n,):
        raise BadInputError(f"replay of '{name}': {choice.shape[0]} choices for {log.n} prompts")
    tally = new_tally(log, name, preference is not None)
    tally.add(log.quality, log.cost, log.latency, choice, task_codes(log.task_types), preference)
    return tally_result(tally, notes, cost_derived=log.cost_derived)


def new_tally(log: FullInfoLog, name: str, with_curve: bool) -> Tally:
    """An empty tally for `log` (or any batch of it): the strong-call curve is kept for two-model logs."""
    sw = log.strong_weak() if len(log.models) == 2 else None
    return Tally(name, list(log.models), strong_weak=sw, with_curve=with_curve)


def tally_result(tally: Tally, notes: tuple[str, ...] = (), *, cost_derived: bool = False) -> PolicyResult:
    """The PolicyResult of a finished tally (what `evaluate` returns for the same choices over the whole log)."""
    extra = list(notes)
    if tally.chosen < tally.n:
        extra.append(f"{tally.n - tally.chosen} prompt(s) routed to a model the log has no outcome for (left out)")
    if cost_derived:
        extra.append("costs are derived from token estimates and list prices, not logged")
    share = {m: float(tally.counts[i]) / tally.n for i, m in enumerate(tally.models) if tally.counts[i]}
    curve = tally.curve() or {}
    return PolicyResult(
        pipeline=tally.name,
        estimator="exact",
        n=tally.n,
        covered=tally.chosen,
        quality=tally.quality_ci(),
        cost_usd=tally.cost_sum,
        cost_per_request=tally.cost_sum / tally.chosen if tally.chosen else float("nan"),
        latency=percentiles(tally.latency.view()),
        model_share=share,
        notes=tuple(extra),
        per_task=tally.per_task(),
        apgr=curve.get("apgr"),
        cpt50=curve.get("cpt50"),
        cpt80=curve.get("cpt80"),
        aiq=curve.get("aiq"),
    )


# -- baselines -------------------------------------------------------------------------------------


def oracle_choice(log: FullInfoLog) -> tuple[IntArray, FloatArray | None]:
    """The best model per prompt, the cheapest among equals; on two-model logs the strong-first order."""
    best = log.quality.max(axis=1, keepdims=True)
    # Among the models that reach the best quality, the cheapest.
    masked_cost = np.where(log.quality >= best, log.cost, np.inf)
    choice = np.argmin(masked_cost, axis=1).astype(np.int64)
    pref = None
    if len(log.models) == 2:
        s, w = log.strong_weak()
        # Strong first where it alone is right, then where both tie, last where it alone is wrong.
        pref = log.quality[:, s] - log.quality[:, w]
    return choice, pref


def oracle(log: FullInfoLog) -> PolicyResult:
    """The best model per prompt, the cheapest among equals: the ceiling no router can beat."""
    choice, pref = oracle_choice(log)
    return evaluate(log, "oracle", choice, pref)


def random_choice(
    log: FullInfoLog, rng: np.random.Generator, p_strong: float = 0.5
) -> tuple[IntArray, FloatArray | None]:
    """Uniformly random choices; drawn batch after batch from one generator they equal one draw over the log."""
    m = len(log.models)
    if m == 2:
        s, w = log.strong_weak()
        u = rng.random(log.n)
        # Sweeping p_strong over [0, 1] with the same draws orders prompts by u: the random router's curve.
        return np.where(u < p_strong, s, w).astype(np.int64), -u
    return rng.integers(0, m, size=log.n).astype(np.int64), None


def random_policy(log: FullInfoLog, rng: np.random.Generator, p_strong: float = 0.5) -> PolicyResult:
    """Uniformly random choice (50/50 between strong and weak on a two-model log)."""
    choice, pref = random_choice(log, rng, p_strong)
    return evaluate(log, "random", choice, pref)


def always(log: FullInfoLog, model: str) -> PolicyResult:
    i = log.model_index(model)
    if i == NO_OUTCOME:
        raise BadInputError(
            f"always:{model}: log '{log.name}' has no outcomes for that model; it has: {', '.join(log.models)}"
        )
    return evaluate(log, f"always:{model}", np.full(log.n, i, dtype=np.int64))
