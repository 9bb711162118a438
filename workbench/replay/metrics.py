"""Comparison metrics: latency percentiles, mean with CI, RouteLLM's APGR / CPT and RouterBench's AIQ.

APGR and CPT describe a *family* of routing decisions between a weak and a strong model: sweep how many
requests go to the strong model (in the order of the router's preference for it) and watch quality.
`strong_call_curve` builds that curve exactly from full-information outcomes; APGR is the area between
the weak-only and strong-only lines that the curve recovers (RouteLLM's definition: trapezoid AUC of
quality over the strong-call fraction, normalised by the same AUC of strong-only minus weak-only), and
CPT(x) is the smallest strong-call share whose curve recovers x of the performance gap.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from workbench.errors import BadInputError

FloatArray = NDArray[np.float64]
Z95 = 1.959963984540054


@dataclass(frozen=True, slots=True)
class MeanCI:
    mean: float
    low: float
    high: float
    n: int


def mean_ci(values: FloatArray) -> MeanCI:
    """Mean with a normal-approximation 95 % interval (the sample is large in every replay we run)."""
    v = values[np.isfinite(values)]
    n = int(v.size)
    if n == 0:
        return MeanCI(float("nan"), float("nan"), float("nan"), 0)
    m = float(v.mean())
    half = Z95 * float(v.std(ddof=1)) / np.sqrt(n) if n > 1 else 0.0
    return MeanCI(m, m - half, m + half, n)


def percentiles(values: FloatArray, qs: tuple[float, ...] = (50, 95, 99)) -> dict[str, float]:
    v = values[np.isfinite(values)]
    if v.size == 0:
        return {f"p{int(q)}": float("nan") for q in qs}
    return {f"p{int(q)}": float(x) for q, x in zip(qs, np.percentile(v, qs), strict=True)}


@dataclass(frozen=True, slots=True)
class StrongCallCurve:
    fraction: FloatArray  # share of requests sent to the strong model, 0..1, increasing
    quality: FloatArray  # mean quality at that share
    weak: float  # weak-only quality
    strong: float  # strong-only quality

    @property
    def gap(self) -> float:
        return self.strong - self.weak

    def pgr(self) -> FloatArray:
        """Performance gap recovered at each point."""
        if self.gap == 0:
            return np.zeros_like(self.quality)
        return (self.quality - self.weak) / self.gap


def strong_call_curve(
    preference: FloatArray, q_strong: FloatArray, q_weak: FloatArray, *, points: int = 101
) -> StrongCallCurve:
    """Quality as the strong model takes the `k` requests the router prefers it for most, k = 0..n.

    `preference` is the router's score for sending a request to the strong model (higher = sooner).
    Ties keep their input order, so a router that cannot tell requests apart gets no free ordering.
    """
    if not (preference.shape == q_strong.shape == q_weak.shape) or preference.ndim != 1 or preference.size == 0:
        raise BadInputError("metrics: preference and outcomes must be aligned, non-empty 1-D arrays")
    return strong_call_curve_from(preference, q_strong - q_weak, float(q_weak.sum()), float(q_strong.mean()),
                                  points=points)


def strong_call_curve_from(
    preference: FloatArray, gain: FloatArray, weak_total: float, strong_mean: float, *, points: int = 101
) -> StrongCallCurve:
    """`strong_call_curve` from what a streamed log keeps: the per-row gain (q_strong - q_weak), the weak model's
    total quality and the strong model's mean."""
    n = preference.size
    order = np.argsort(-preference, kind="stable")
    cum = np.concatenate([[0.0], np.cumsum(gain[order])])
    ks = np.unique(np.linspace(0, n, min(points, n + 1)).round().astype(np.int64))
    return StrongCallCurve(
        fraction=ks / n,
        quality=(weak_total + cum[ks]) / n,
        weak=weak_total / n,
        strong=strong_mean,
    )


def apgr(curve: StrongCallCurve) -> float:
    """RouteLLM's average performance gap recovered: 0.5 for a random router, 1 for a perfect one."""
    x = curve.fraction
    if curve.gap == 0 or x[-1] - x[0] == 0:
        return float("nan")
    auc = float(np.trapezoid(curve.quality, x))
    span = float(x[-1] - x[0])
    return (auc - curve.weak * span) / (curve.gap * span)


def cpt(curve: StrongCallCurve, target: float) -> float:
    """Call-performance threshold: the least strong-call share (0..1) at which PGR first reaches `target`."""
    pgr = curve.pgr()
    hit = np.nonzero(pgr >= target - 1e-12)[0]
    if hit.size == 0:
        return float("nan")
    i = int(hit[0])
    if i == 0:
        return float(curve.fraction[0])
    # Linear interpolation inside the segment where the curve crosses the target.
    x0, x1, y0, y1 = curve.fraction[i - 1], curve.fraction[i], pgr[i - 1], pgr[i]
    return float(x0 + (target - y0) * (x1 - x0) / (y1 - y0)) if y1 != y0 else float(x1)


def nondecreasing_hull(cost: FloatArray, quality: FloatArray) -> tuple[FloatArray, FloatArray]:
    """RouterBench's non-decreasing convex hull of (cost, quality) points: the best quality reachable at
    each cost by mixing operating points, never worse for paying more."""
    if cost.shape != quality.shape or cost.size == 0:
        raise BadInputError("metrics: cost and quality points must align and be non-empty")
    pts = sorted(zip(cost.tolist(), quality.tolist(), strict=True))
    hull: list[tuple[float, float]] = []
    for p in pts:  # upper hull by the monotone chain
        while len(hull) >= 2:
            (x1, y1), (x2, y2) = hull[-2], hull[-1]
            if (x2 - x1) * (p[1] - y1) - (y2 - y1) * (p[0] - x1) >= 0:
                hull.pop()
            else:
                break
        hull.append(p)
    xs = np.array([h[0] for h in hull])
    ys = np.maximum.accumulate(np.array([h[1] for h in hull]))
    return xs, ys


def aiq(cost: FloatArray, quality: FloatArray) -> float:
    """RouterBench's average improvement in quality: area under the non-decreasing hull over the cost
    range it spans, divided by that range (Hu et al. 2024, eq. 3). A single point has no area: NaN."""
    xs, ys = nondecreasing_hull(cost, quality)
    span = float(xs[-1] - xs[0])
    if span <= 0:
        return float("nan")
    return float(np.trapezoid(ys, xs)) / span
