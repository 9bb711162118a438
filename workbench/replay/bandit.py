"""Off-policy replay of bandit logs (one logged action per request, with its propensity).

Each evaluated policy is routed over the logged prompts; its probability of the logged action gives the
importance weight, its full distribution over the log's models feeds the reward model for DR and the direct
method. Quality is estimated by IPS, SNIPS and DR with bootstrap CIs and the ESS; cost, latency, failure and
fallback rates by self-normalised weighting. Logs without usable propensities get the direct method only,
flagged biased, with its coverage.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl
from numpy.typing import NDArray

from workbench.domain import ChatRequest
from workbench.errors import BadInputError
from workbench.pipeline.build import PipelineRegistry, build_pipeline
from workbench.replay.engine import OfflineTransport, PolicySpec, Progress, ReplayCancelled
from workbench.replay.estimators import (
    Estimate,
    direct_method,
    doubly_robust,
    effective_sample_size,
    ips,
    propensity_warning,
    snips,
)
from workbench.replay.fullinfo import PolicyResult
from workbench.replay.metrics import MeanCI

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BATCH = 2_000
MIN_CELL = 5  # logged events a (task type, model) cell needs before the reward model trusts its mean


@dataclass(frozen=True)
class BanditLog:
    """Aligned per-event arrays of a trajectory log. `action` indexes `models`."""

    name: str
    prompts: Sequence[str]
    task_types: Sequence[str]
    models: list[str]
    action: IntArray
    propensity: FloatArray  # NaN where the log has none
    quality: FloatArray  # NaN where unscored
    cost: FloatArray
    latency: FloatArray
    failed: NDArray[np.bool_]
    fallback: NDArray[np.bool_]

    @property
    def n(self) -> int:
        return int(self.action.size)

    def model_index(self, model: str) -> int:
        if model in self._index:
            return self._index[model]
        for i, column in enumerate(self.models):
            if model.endswith("/" + column) or column.endswith("/" + model):
                return i
        return -1

    @property
    def _index(self) -> dict[str, int]:
        return {m: i for i, m in enumerate(self.models)}


def bandit_from_frame(name: str, df: pl.DataFrame, *, models: list[str] | None = None) -> BanditLog:
    """Events (prompt, task_type, model, propensity, quality, cost_usd, latency_ms, status, served_model);
    `models` is the whole log's action set when `df` is one page of it."""
    if df.is_empty():
        raise BadInputError(f"log '{name}' has no trajectories to replay")
    models = models if models is not None else sorted(m for m in df["model"].unique().to_list() if m)
    index = {m: i for i, m in enumerate(models)}
    status = df["status"].fill_null("failed").to_list()
    served = df["served_model"].fill_null("").to_list()
    chosen = df["model"].fill_null("").to_list()

    def floats(col: str) -> FloatArray:
        return df[col].cast(pl.Float64).fill_null(np.nan).to_numpy().astype(np.float64)

    return BanditLog(
        name=name,
        prompts=[str(p or "") for p in df["prompt"].to_list()],
        task_types=[str(t or "") for t in df["task_type"].to_list()],
        models=models,
        action=np.array([index.get(m, -1) for m in chosen], dtype=np.int64),
        propensity=floats("propensity"),
        quality=floats("quality"),
        cost=np.nan_to_num(floats("cost_usd")),
        latency=floats("latency_ms"),
        failed=np.array([s != "ok" for s in status]),
        fallback=np.array([s == "ok" and sv != m for s, sv, m in zip(status, served, chosen, strict=True)]),
    )


# -- the reward model --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RewardModel:
    """Mean logged quality per (task type, model), backed off to the model's mean, then the log's mean."""

    tasks: list[str]
    table: FloatArray  # tasks x models
    counts: IntArray  # tasks x models: events behind each cell

    def predict(self, task: IntArray) -> FloatArray:
        """q_hat(x, a) for every event (rows) and model (columns)."""
        out: FloatArray = self.table[task]
        return out


def fit_reward_model(log: BanditLog) -> tuple[RewardModel, IntArray]:
    tasks = sorted(set(log.task_types))
    t_index = {t: i for i, t in enumerate(tasks)}
    task = np.array([t_index[t] for t in log.task_types], dtype=np.int64)
    m = len(log.models)
    ok = np.isfinite(log.quality) & (log.action >= 0)
    cell = task[ok] * m + log.action[ok]
    sums = np.bincount(cell, weights=log.quality[ok], minlength=len(tasks) * m).reshape(len(tasks), m)
    counts = np.bincount(cell, minlength=len(tasks) * m).reshape(len(tasks), m)
    model_sums = sums.sum(axis=0)
    model_counts = counts.sum(axis=0)
    overall = float(log.quality[ok].mean()) if ok.any() else 0.0
    model_mean = np.where(model_counts > 0, model_sums / np.maximum(model_counts, 1), overall)
    table = np.where(counts >= MIN_CELL, sums / np.maximum(counts, 1), model_mean[None, :])
    return RewardModel(tasks, table, counts.astype(np.int64)), task


# -- policies as distributions over the log's models -------------------------------------------------------------


@dataclass
class PolicyDistribution:
    probs: FloatArray  # n x m: the policy's probability of each logged model per event
    outside: FloatArray  # n: probability mass on models the log never chose
    notes: list[str] = field(default_factory=list)


def policy_distribution(
    log: BanditLog,
    spec: PolicySpec,
    *,
    seed: int,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    registry: PipelineRegistry | None = None,
) -> PolicyDistribution:
    """The policy's probability of each logged model per event. `registry`: the spec's pipelines when one log is
    replayed page by page (built once, so the routers carry on from one page to the next)."""
    n, m = log.n, len(log.models)
    probs = np.zeros((n, m))
    outside = np.zeros(n)
    if spec.baseline == "always":
        assert spec.model is not None
        j = log.model_index(spec.model)
        if j < 0:
            raise BadInputError(
                f"always:{spec.model}: log '{log.name}' never chose that model, so it holds no evidence for it; "
                f"models in the log: {', '.join(log.models)}"
            )
        probs[:, j] = 1.0
        return PolicyDistribution(probs, outside)
    if spec.baseline == "random":
        # Uniform over the models the log chose for the same task type: the log's own action set.
        tasks = np.array(log.task_types)
        for t in set(log.task_types):
            rows = tasks == t
            seen = np.unique(log.action[rows & (log.action >= 0)])
            probs[np.ix_(rows, seen)] = 1.0 / max(1, seen.size)
        return PolicyDistribution(probs, outside, ["uniform over the models the log chose per task type"])
    if spec.baseline == "oracle":
        raise BadInputError(
            f"oracle needs every model's outcome per prompt; '{log.name}' is a bandit log (one outcome per "
            f"request). Compare against the oracle on a full-information log instead"
        )
    assert spec.config is not None
    if registry is None:
        registry = build_pipeline(spec.config, transport=OfflineTransport(), seed=seed)
    for start in range(0, n, BATCH):
        if cancel is not None and cancel.is_set():
            raise ReplayCancelled(f"replay of {spec.label} cancelled at event {start} of {n}")
        for i in range(start, min(n, start + BATCH)):
            request = ChatRequest.from_prompt(log.prompts[i])
            pipeline, profile = registry.profile(request)
            decision = pipeline.router.route(request, profile)
            cands = [c for c in decision.candidates if c.excluded is None and c.probability > 0]
            if not cands:  # a deterministic router that lists no probabilities: its choice has probability 1
                j = log.model_index(decision.model)
                if j >= 0:
                    probs[i, j] = 1.0
                else:
                    outside[i] = 1.0
                continue
            for c in cands:
                j = log.model_index(c.model)
                if j >= 0:
                    probs[i, j] += c.probability
                else:
                    outside[i] += c.probability
        if progress is not None:
            progress(spec.label, min(n, start + BATCH), n)
    total = probs.sum(axis=1) + outside
    nz = total > 0
    probs[nz] /= total[nz, None]
    outside[nz] /= total[nz]
    return PolicyDistribution(probs, outside)


# -- estimation ---------------------------------------------------------------------------------------------------


def _weighted_quantiles(values: FloatArray, w: FloatArray, qs: Sequence[float]) -> dict[str, float]:
    ok = np.isfinite(values) & (w > 0)
    if not ok.any():
        return {f"p{int(q)}": float("nan") for q in qs}
    v, ww = values[ok], w[ok]
    order = np.argsort(v)
    v, ww = v[order], ww[order]
    cum = np.cumsum(ww) / ww.sum()
    return {f"p{int(q)}": float(v[min(len(v) - 1, int(np.searchsorted(cum, q / 100.0)))]) for q in qs}


def _snips(values: FloatArray, w: FloatArray) -> float:
    ok = np.isfinite(values)
    total = float(w[ok].sum())
    return float((w[ok] * values[ok]).sum() / total) if total > 0 else float("nan")


def evaluate_bandit(
    log: BanditLog,
    name: str,
    dist: PolicyDistribution,
    reward: RewardModel,
    task: IntArray,
    *,
    rng: np.random.Generator,
    n_boot: int = 300,
) -> PolicyResult:
    """IPS/SNIPS/DR of the policy's quality (DR reported), SNIPS cost/latency/failure rates, per task type."""
    notes = list(dist.notes)
    warning = propensity_warning(log.propensity)
    rows = np.arange(log.n)
    logged = np.maximum(log.action, 0)
    q_hat = reward.predict(task)
    q_policy = (dist.probs * q_hat).sum(axis=1)
    outside_mass = float(dist.outside.mean())
    if outside_mass > 0:
        notes.append(
            f"{100 * outside_mass:.1f}% of the policy's probability is on models the log never chose: no evidence "
            f"there (counted as the policy's remaining models)"
        )
    share = {m: float(dist.probs[:, j].mean()) for j, m in enumerate(log.models) if dist.probs[:, j].any()}
    if warning is not None:
        # Deterministic or propensity-free logging: only the reward model can speak; say how far it reaches.
        supported = reward.counts[task] >= MIN_CELL
        coverage = float((dist.probs * supported).sum(axis=1).mean())
        dm = direct_method(q_policy, rng=rng, n_boot=n_boot)
        notes += [warning, f"direct method: BIASED wherever the reward model is wrong; coverage {100 * coverage:.1f}% "
                  f"(policy mass on (task type, model) cells with >= {MIN_CELL} logged events)"]
        return PolicyResult(
            pipeline=name, estimator="direct-method (biased)", n=log.n, covered=round(coverage * log.n),
            quality=MeanCI(dm.value, dm.ci_low, dm.ci_high, dm.n), cost_usd=float("nan"),
            cost_per_request=float("nan"), latency={"p50": float("nan"), "p95": float("nan"), "p99": float("nan")},
            model_share=share, notes=tuple(notes), estimates={"direct-method": _est(dm)}, coverage=coverage,
        )
    # Cells the log never tried carry no evidence: IPS/SNIPS/DR cannot see what the policy would get there.
    support = float((dist.probs * (reward.counts[task] > 0)).sum(axis=1).mean())
    if support < 0.999:
        notes.append(
            f"only {100 * support:.1f}% of the policy's choices fall on (task type, model) pairs the log ever "
            f"tried; the rest is invisible to IPS/SNIPS and extrapolated by DR's reward model (biased)"
        )
    valid = np.isfinite(log.quality) & (log.action >= 0) & np.isfinite(log.propensity)
    pe = dist.probs[rows, logged]
    p0 = log.propensity
    r, p0v, pev = log.quality[valid], p0[valid], pe[valid]
    est_ips = ips(r, p0v, pev, rng=rng, n_boot=n_boot)
    est_snips = snips(r, p0v, pev, rng=rng, n_boot=n_boot)
    est_dr = doubly_robust(r, p0v, pev, q_hat[rows, logged][valid], q_policy[valid], rng=rng, n_boot=n_boot)
    w = np.where(np.isfinite(p0) & (log.action >= 0), pe / np.where(np.isfinite(p0), p0, 1.0), 0.0)
    cost = _snips(log.cost, w)
    ess = effective_sample_size(w)
    if ess < 0.01 * log.n:
        notes.append(f"effective sample size {ess:.0f} of {log.n}: the log barely covers this policy; wide CIs")
    per_task: dict[str, dict[str, Any]] = {}
    tasks = np.array(log.task_types)
    for t in sorted(set(log.task_types)):
        sel = tasks == t
        per_task[t] = {
            "n": int(sel.sum()),
            "quality": _round(_snips(log.quality[sel], w[sel])),
            "cost_per_request_usd": _round(_snips(log.cost[sel], w[sel])),
            "ess": _round(effective_sample_size(w[sel])),
        }
    return PolicyResult(
        pipeline=name,
        estimator="dr",
        n=log.n,
        covered=int(valid.sum()),
        quality=MeanCI(est_dr.value, est_dr.ci_low, est_dr.ci_high, est_dr.n),
        cost_usd=cost * log.n,
        cost_per_request=cost,
        latency=_weighted_quantiles(log.latency, w, (50, 95, 99)),
        model_share=share,
        notes=tuple(notes),
        estimates={"ips": _est(est_ips), "snips": _est(est_snips), "dr": _est(est_dr)},
        ess=ess,
        coverage=support,
        failure_rate=_snips(log.failed.astype(float), w),
        fallback_rate=_snips(log.fallback.astype(float), w),
        per_task=per_task,
    )


def _round(x: float) -> float | None:
    return None if not np.isfinite(x) else round(float(x), 6)


def _est(e: Estimate) -> dict[str, Any]:
    return {"value": _round(e.value), "ci": [_round(e.ci_low), _round(e.ci_high)], "n": e.n, "ess": _round(e.ess)}


def replay_bandit(
    log: BanditLog,
    specs: Sequence[PolicySpec],
    *,
    seed: int = 0,
    n_boot: int = 300,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> list[PolicyResult]:
    reward, task = fit_reward_model(log)
    results = []
    for k, spec in enumerate(specs):
        dist = policy_distribution(log, spec, seed=seed, progress=progress, cancel=cancel)
        rng = np.random.default_rng([seed, k])
        results.append(evaluate_bandit(log, spec.label, dist, reward, task, rng=rng, n_boot=n_boot))
        if progress is not None:
            progress(spec.label, log.n, log.n)
    return results


def estimator_label(log: BanditLog) -> str:
    return "direct-method (biased)" if propensity_warning(log.propensity) else "dr"


__all__ = [
    "BanditLog", "RewardModel", "bandit_from_frame", "evaluate_bandit", "fit_reward_model", "policy_distribution",
    "replay_bandit",
]
