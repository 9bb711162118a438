"""Exact replay on full-information logs: every model's outcome is known for every prompt.

A `FullInfoLog` holds aligned n x m arrays (quality, cost, latency) for n prompts and m models. A policy
replayed on it is just a vector of chosen model indices (and, for two-model logs, a preference score
that orders prompts for the strong model), so evaluation is a handful of vectorised numpy operations:
no estimation, no bias. Oracle and random baselines are computed the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from workbench.errors import BadInputError
from workbench.replay.metrics import (
    MeanCI,
    aiq,
    apgr,
    cpt,
    mean_ci,
    percentiles,
    strong_call_curve,
)

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]
NO_OUTCOME = -1  # a choice the log has no outcome for (a model it never evaluated)


@dataclass(frozen=True)
class FullInfoLog:
    name: str
    prompt_ids: list[str]
    prompts: list[str]
    models: list[str]
    quality: FloatArray  # n x m
    cost: FloatArray  # n x m, USD
    latency: FloatArray  # n x m, ms (NaN where the log has none)
    task_types: list[str] = field(default_factory=list)
    cost_derived: bool = False  # costs estimated from token counts and a price table, not logged

    def __post_init__(self) -> None:
        n, m = len(self.prompt_ids), len(self.models)
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

    def strong_weak(self) -> tuple[int, int]:
        """(strong, weak) columns of a two-model log, by mean quality."""
        if len(self.models) != 2:
            raise BadInputError(f"log '{self.name}' has {len(self.models)} models; strong/weak needs exactly 2")
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
    ok = choice != NO_OUTCOME
    rows = np.nonzero(ok)[0]
    cols = choice[ok]
    q = log.quality[rows, cols]
    c = log.cost[rows, cols]
    lat = log.latency[rows, cols]
    counts = np.bincount(cols, minlength=len(log.models)) if cols.size else np.zeros(len(log.models), int)
    share = {m: float(counts[i]) / log.n for i, m in enumerate(log.models) if counts[i]}
    extra = list(notes)
    if not ok.all():
        extra.append(f"{int((~ok).sum())} prompt(s) routed to a model the log has no outcome for (left out)")
    if log.cost_derived:
        extra.append("costs are derived from token estimates and list prices, not logged")
    result = PolicyResult(
        pipeline=name,
        estimator="exact",
        n=log.n,
        covered=int(ok.sum()),
        quality=mean_ci(q),
        cost_usd=float(c.sum()),
        cost_per_request=float(c.mean()) if c.size else float("nan"),
        latency=percentiles(lat),
        model_share=share,
        notes=tuple(extra),
        per_task=_per_task(log, choice),
    )
    if preference is not None and len(log.models) == 2 and np.ptp(preference) > 0:
        return _with_curve_metrics(log, result, preference)
    return result


def _per_task(log: FullInfoLog, choice: IntArray) -> dict[str, dict[str, Any]]:
    """Quality and cost per task type (the log's own grouping: MMLU subject, simulated task type)."""
    if not log.task_types or len(set(log.task_types)) > 64:
        return {}
    tasks = np.array(log.task_types)
    out: dict[str, dict[str, Any]] = {}
    for t in sorted(set(log.task_types)):
        sel = (tasks == t) & (choice != NO_OUTCOME)
        rows = np.nonzero(sel)[0]
        q = log.quality[rows, choice[rows]]
        c = log.cost[rows, choice[rows]]
        out[t] = {
            "n": int((tasks == t).sum()),
            "quality": round(float(q.mean()), 6) if q.size else None,
            "cost_per_request_usd": round(float(c.mean()), 8) if c.size else None,
        }
    return out


def _with_curve_metrics(log: FullInfoLog, result: PolicyResult, preference: FloatArray) -> PolicyResult:
    s, w = log.strong_weak()
    curve = strong_call_curve(preference, log.quality[:, s], log.quality[:, w])
    # The same sweep in cost: strong calls in preference order, so AIQ compares like with like.
    order = np.argsort(-preference, kind="stable")
    extra_cost = np.concatenate([[0.0], np.cumsum((log.cost[:, s] - log.cost[:, w])[order])])
    ks = np.round(curve.fraction * log.n).astype(np.int64)
    costs = (log.cost[:, w].sum() + extra_cost[ks]) / log.n
    return PolicyResult(
        **{
            **result.__dict__,
            "apgr": apgr(curve),
            "cpt50": cpt(curve, 0.5),
            "cpt80": cpt(curve, 0.8),
            "aiq": aiq(costs, curve.quality),
        }
    )


# -- baselines -------------------------------------------------------------------------------------


def oracle(log: FullInfoLog) -> PolicyResult:
    """The best model per prompt, the cheapest among equals: the ceiling no router can beat."""
    best = log.quality.max(axis=1, keepdims=True)
    # Among the models that reach the best quality, the cheapest.
    masked_cost = np.where(log.quality >= best, log.cost, np.inf)
    choice = np.argmin(masked_cost, axis=1).astype(np.int64)
    pref = None
    if len(log.models) == 2:
        s, w = log.strong_weak()
        # Strong first where it alone is right, then where both tie, last where it alone is wrong.
        pref = log.quality[:, s] - log.quality[:, w]
    return evaluate(log, "oracle", choice, pref)


def random_policy(log: FullInfoLog, rng: np.random.Generator, p_strong: float = 0.5) -> PolicyResult:
    """Uniformly random choice (50/50 between strong and weak on a two-model log)."""
    m = len(log.models)
    if m == 2:
        s, w = log.strong_weak()
        u = rng.random(log.n)
        choice = np.where(u < p_strong, s, w).astype(np.int64)
        # Sweeping p_strong over [0, 1] with the same draws orders prompts by u: the random router's curve.
        return evaluate(log, "random", choice, preference=-u)
    return evaluate(log, "random", rng.integers(0, m, size=log.n).astype(np.int64))


def always(log: FullInfoLog, model: str) -> PolicyResult:
    i = log.model_index(model)
    if i == NO_OUTCOME:
        raise BadInputError(
            f"always:{model}: log '{log.name}' has no outcomes for that model; it has: {', '.join(log.models)}"
        )
    return evaluate(log, f"always:{model}", np.full(log.n, i, dtype=np.int64))
