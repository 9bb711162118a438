"""Off-policy value estimators for bandit logs: IPS, SNIPS, DR, effective sample size, bootstrap CIs.

Inputs are aligned numpy arrays over logged events: the logged reward r, the logging propensity
p0 = pi_0(a|x) of the logged action, the evaluated policy's probability pe = pi_e(a|x) of that same
action, and for DR a reward model's prediction for the logged action (q_logged) and its expectation
under the evaluated policy (q_policy = sum_a pi_e(a|x) q_hat(x, a)). Everything is vectorised; the
bootstrap draws its resamples from an explicit seeded Generator in bounded chunks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from workbench.errors import BadInputError

FloatArray = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Estimate:
    estimator: str
    value: float
    ci_low: float
    ci_high: float
    n: int
    ess: float  # effective sample size of the importance weights (n for direct/exact estimates)

    def contains(self, truth: float) -> bool:
        return self.ci_low <= truth <= self.ci_high


def _check(r: FloatArray, p0: FloatArray, pe: FloatArray) -> None:
    if not (r.shape == p0.shape == pe.shape) or r.ndim != 1:
        raise BadInputError("estimators: rewards, logging propensities and policy probabilities must align (1-D)")
    if r.size == 0:
        raise BadInputError("estimators: no logged events to estimate from")
    if np.any(~np.isfinite(p0)) or np.any(p0 <= 0.0) or np.any(p0 > 1.0):
        raise BadInputError(
            "estimators: logging propensities must be in (0, 1]; a log without them supports only the "
            "direct method (biased) or live re-execution"
        )


def weights(p0: FloatArray, pe: FloatArray) -> FloatArray:
    return pe / p0


def effective_sample_size(w: FloatArray) -> float:
    s2 = float(np.dot(w, w))
    return float(w.sum() ** 2 / s2) if s2 > 0 else 0.0


def _bootstrap(
    stat_rows: FloatArray, kind: str, rng: np.random.Generator, n_boot: int, alpha: float, chunk: int = 64
) -> tuple[float, float]:
    """Percentile CI of a statistic over `n_boot` resamples of rows.

    `stat_rows` has one row per event and the columns the statistic needs: mean of column 0 ('mean'), or
    sum(col0) / sum(col1) ('ratio'). Resampling indices are drawn `chunk` replicates at a time so memory
    stays bounded for large logs.
    """
    n = stat_rows.shape[0]
    values = np.empty(n_boot)
    done = 0
    while done < n_boot:
        b = min(chunk, n_boot - done)
        idx = rng.integers(0, n, size=(b, n))
        if kind == "mean":
            values[done : done + b] = stat_rows[idx, 0].mean(axis=1)
        else:
            num = stat_rows[idx, 0].sum(axis=1)
            den = stat_rows[idx, 1].sum(axis=1)
            values[done : done + b] = np.divide(num, den, out=np.zeros(b), where=den > 0)
        done += b
    lo, hi = np.quantile(values, [alpha / 2, 1 - alpha / 2])
    return float(lo), float(hi)


def ips(
    r: FloatArray, p0: FloatArray, pe: FloatArray, *, rng: np.random.Generator, n_boot: int = 500, alpha: float = 0.05
) -> Estimate:
    _check(r, p0, pe)
    w = weights(p0, pe)
    terms = (w * r)[:, None]
    lo, hi = _bootstrap(terms, "mean", rng, n_boot, alpha)
    return Estimate("ips", float(terms.mean()), lo, hi, r.size, effective_sample_size(w))


def snips(
    r: FloatArray, p0: FloatArray, pe: FloatArray, *, rng: np.random.Generator, n_boot: int = 500, alpha: float = 0.05
) -> Estimate:
    _check(r, p0, pe)
    w = weights(p0, pe)
    rows = np.column_stack([w * r, w])
    total = w.sum()
    value = float((w * r).sum() / total) if total > 0 else 0.0
    lo, hi = _bootstrap(rows, "ratio", rng, n_boot, alpha)
    return Estimate("snips", value, lo, hi, r.size, effective_sample_size(w))


def doubly_robust(
    r: FloatArray,
    p0: FloatArray,
    pe: FloatArray,
    q_logged: FloatArray,
    q_policy: FloatArray,
    *,
    rng: np.random.Generator,
    n_boot: int = 500,
    alpha: float = 0.05,
) -> Estimate:
    """Dudik et al. 2011: the reward model's value of the policy, corrected by weighted residuals."""
    _check(r, p0, pe)
    if q_logged.shape != r.shape or q_policy.shape != r.shape:
        raise BadInputError("estimators: DR reward-model predictions must align with the logged events")
    w = weights(p0, pe)
    terms = (q_policy + w * (r - q_logged))[:, None]
    lo, hi = _bootstrap(terms, "mean", rng, n_boot, alpha)
    return Estimate("dr", float(terms.mean()), lo, hi, r.size, effective_sample_size(w))


def direct_method(
    q_policy: FloatArray, *, rng: np.random.Generator, n_boot: int = 500, alpha: float = 0.05
) -> Estimate:
    """The reward model's value of the policy alone: biased wherever the model is wrong. Say so when shown."""
    if q_policy.ndim != 1 or q_policy.size == 0:
        raise BadInputError("estimators: the direct method needs one prediction per logged event")
    lo, hi = _bootstrap(q_policy[:, None], "mean", rng, n_boot, alpha)
    return Estimate("direct-method", float(q_policy.mean()), lo, hi, q_policy.size, float(q_policy.size))


def propensity_warning(p0: FloatArray | None) -> str | None:
    """Why a log cannot support unbiased off-policy estimates, or None when it can."""
    if p0 is None or p0.size == 0 or np.all(np.isnan(p0)):
        return "the log has no propensities: IPS/SNIPS/DR are impossible; only the direct method (biased) applies"
    if np.all(p0 >= 1.0 - 1e-12):
        return (
            "every logged propensity is 1 (deterministic logging): actions the logging policy never took have "
            "no evidence, so IPS/SNIPS/DR cannot evaluate a different policy; use the direct method (biased) "
            "or enable exploration when logging"
        )
    return None
