"""Replay metrics and off-policy estimators on data where the right answer is known."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.errors import BadInputError
from workbench.replay import estimators as est
from workbench.replay.metrics import aiq, apgr, cpt, mean_ci, nondecreasing_hull, percentiles, strong_call_curve


def two_model_outcomes(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    q_strong = (rng.random(n) < 0.8).astype(float)
    q_weak = (rng.random(n) < 0.6).astype(float)
    return q_strong, q_weak


def test_random_router_recovers_half_the_gap() -> None:
    q_strong, q_weak = two_model_outcomes(20_000, 1)
    pref = np.random.default_rng(2).random(q_strong.size)
    curve = strong_call_curve(pref, q_strong, q_weak)
    assert curve.fraction[0] == 0.0 and curve.fraction[-1] == 1.0
    assert curve.quality[0] == pytest.approx(q_weak.mean()) and curve.quality[-1] == pytest.approx(q_strong.mean())
    assert apgr(curve) == pytest.approx(0.5, abs=0.03)
    assert cpt(curve, 0.5) == pytest.approx(0.5, abs=0.05)


def test_oracle_preference_beats_random_and_reaches_the_oracle() -> None:
    q_strong, q_weak = two_model_outcomes(5_000, 3)
    oracle_pref = q_strong - q_weak  # strong first where it alone is right; last where it alone is wrong
    curve = strong_call_curve(oracle_pref, q_strong, q_weak)
    assert curve.quality.max() == pytest.approx(np.maximum(q_strong, q_weak).mean())
    assert apgr(curve) > 0.9
    # The oracle needs strong calls only where the weak model is wrong and the strong one right: at that
    # share it reaches its best, and it matches strong-only quality (PGR 1) before that.
    needed = float(((q_strong == 1) & (q_weak == 0)).mean())
    at_needed = curve.quality[np.searchsorted(curve.fraction, needed)]
    assert at_needed == pytest.approx(curve.quality.max(), abs=0.01)
    assert 0 < cpt(curve, 1.0) <= needed
    assert cpt(curve, 0.5) < cpt(strong_call_curve(np.zeros(5_000), q_strong, q_weak), 0.5)


def test_curve_rejects_misaligned_input() -> None:
    with pytest.raises(BadInputError):
        strong_call_curve(np.zeros(3), np.zeros(4), np.zeros(3))


def test_aiq_on_a_hand_computed_hull() -> None:
    cost = np.array([0.0, 1.0, 2.0, 0.5])
    quality = np.array([0.2, 0.6, 0.7, 0.1])  # (0.5, 0.1) lies under the hull and must not count
    xs, ys = nondecreasing_hull(cost, quality)
    assert xs.tolist() == [0.0, 1.0, 2.0] and ys.tolist() == [0.2, 0.6, 0.7]
    # Trapezoids: (0.2+0.6)/2 * 1 + (0.6+0.7)/2 * 1 = 1.05 over a span of 2.
    assert aiq(cost, quality) == pytest.approx(0.525)
    # A costlier but worse point does not lower the non-decreasing hull.
    assert aiq(np.append(cost, 3.0), np.append(quality, 0.1)) == pytest.approx((1.05 + 0.7) / 3)
    assert np.isnan(aiq(np.array([1.0]), np.array([0.5])))


def test_mean_ci_and_percentiles() -> None:
    v = np.random.default_rng(0).normal(10.0, 2.0, 10_000)
    ci = mean_ci(v)
    assert ci.low < 10.0 < ci.high and ci.high - ci.low < 0.2 and ci.n == 10_000
    p = percentiles(np.arange(1, 101, dtype=float))
    assert p["p50"] == pytest.approx(50.5) and p["p99"] == pytest.approx(99.01)


# -- off-policy estimators -------------------------------------------------------------------------


def logged_bandit(seed: int, n: int = 3_000, k: int = 4) -> tuple[float, dict[str, np.ndarray]]:
    """Full-information rewards, a stochastic logging policy and a different target policy.

    Returns the exact target value (computable because every action's reward is known) and the logged view.
    """
    rng = np.random.default_rng(seed)
    x = rng.random(n)
    means = np.stack([0.3 + 0.4 * x, 0.7 - 0.3 * x, 0.5 * np.ones(n), 0.2 + 0.6 * (x > 0.5)], axis=1)[:, :k]
    rewards = (rng.random((n, k)) < means).astype(float)
    logging = np.full((n, k), 1.0 / k)
    logging = 0.5 * logging + 0.5 * np.eye(k)[(x * k).astype(int) % k]  # skewed but full support
    target = np.where(np.arange(k)[None, :] == np.argmax(means, axis=1)[:, None], 0.85, 0.15 / (k - 1))
    exact = float((target * rewards).sum(axis=1).mean())
    actions = np.array([rng.choice(k, p=p) for p in logging])
    rows = np.arange(n)
    q_hat = np.clip(means + rng.normal(0, 0.1, means.shape), 0, 1)  # an imperfect reward model
    return exact, {
        "r": rewards[rows, actions],
        "p0": logging[rows, actions],
        "pe": target[rows, actions],
        "q_logged": q_hat[rows, actions],
        "q_policy": (target * q_hat).sum(axis=1),
    }


def test_ips_snips_dr_intervals_cover_the_exact_value() -> None:
    covered = {"ips": 0, "snips": 0, "dr": 0}
    seeds = range(50)
    for seed in seeds:
        exact, d = logged_bandit(seed)
        rng = np.random.default_rng(10_000 + seed)
        results = [
            est.ips(d["r"], d["p0"], d["pe"], rng=rng, n_boot=200),
            est.snips(d["r"], d["p0"], d["pe"], rng=rng, n_boot=200),
            est.doubly_robust(d["r"], d["p0"], d["pe"], d["q_logged"], d["q_policy"], rng=rng, n_boot=200),
        ]
        for r in results:
            covered[r.estimator] += r.contains(exact)
    for name, hits in covered.items():
        assert hits >= 45, f"{name} 95% CI covered the exact value in only {hits}/50 seeds"


def test_ess_and_propensity_checks() -> None:
    assert est.effective_sample_size(np.ones(100)) == pytest.approx(100)
    assert est.effective_sample_size(np.array([10.0, 0.0, 0.0, 0.0])) == pytest.approx(1)
    assert est.propensity_warning(np.ones(10)) is not None and "deterministic" in est.propensity_warning(np.ones(10))
    assert est.propensity_warning(None) is not None
    assert est.propensity_warning(np.array([0.5, 1.0])) is None
    with pytest.raises(BadInputError, match="propensities"):
        est.ips(np.ones(3), np.array([0.5, 0.0, 1.0]), np.ones(3), rng=np.random.default_rng(0))
