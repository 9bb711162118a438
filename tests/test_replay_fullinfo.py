"""Exact replay on full-information logs: baselines and metrics on a log with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.errors import BadInputError
from workbench.replay.fullinfo import NO_OUTCOME, FullInfoLog, always, evaluate, oracle, random_policy


def make_log(n: int = 10_000, seed: int = 0) -> FullInfoLog:
    rng = np.random.default_rng(seed)
    strong = (rng.random(n) < 0.8).astype(float)
    weak = (rng.random(n) < 0.65).astype(float)
    quality = np.column_stack([weak, strong])
    cost = np.column_stack([np.full(n, 0.001), np.full(n, 0.02)])
    latency = np.column_stack([rng.uniform(100, 200, n), rng.uniform(500, 900, n)])
    return FullInfoLog("t", [str(i) for i in range(n)], ["p"] * n, ["weak-m", "strong-m"], quality, cost, latency)


def test_always_and_oracle_match_the_columns() -> None:
    log = make_log()
    s = always(log, "strong-m")
    assert s.quality.mean == pytest.approx(log.quality[:, 1].mean())
    assert s.cost_usd == pytest.approx(0.02 * log.n) and s.model_share == {"strong-m": 1.0}
    assert s.apgr is None  # one operating point: no curve
    o = oracle(log)
    assert o.quality.mean == pytest.approx(np.maximum(log.quality[:, 0], log.quality[:, 1]).mean())
    # The oracle takes the cheap model whenever it is as good.
    both = log.quality[:, 0] >= log.quality[:, 1]
    assert o.model_share["weak-m"] == pytest.approx(both.mean())
    assert o.apgr is not None and o.apgr > 0.9
    assert o.cpt50 is not None and o.cpt80 is not None and o.cpt50 < o.cpt80


def test_random_is_near_the_midpoint_with_apgr_half() -> None:
    log = make_log()
    r = random_policy(log, np.random.default_rng(7))
    mid = log.quality.mean()
    assert r.quality.mean == pytest.approx(mid, abs=0.01)
    assert r.apgr == pytest.approx(0.5, abs=0.03)
    assert r.model_share["strong-m"] == pytest.approx(0.5, abs=0.02)
    # Mixing the two models linearly: AIQ is the mean of the two qualities.
    assert r.aiq == pytest.approx(mid, abs=0.01)
    assert oracle(log).aiq > r.aiq  # type: ignore[operator]


def test_provider_prefixed_names_match_log_columns_and_unknown_models_fail_clearly() -> None:
    log = make_log(100)
    assert log.model_index("acme/strong-m") == 1
    with pytest.raises(BadInputError, match="no outcomes for that model"):
        always(log, "other")
    choice = np.full(100, 1, dtype=np.int64)
    choice[:10] = NO_OUTCOME
    res = evaluate(log, "partial", choice)
    assert res.covered == 90 and any("no outcome" in n for n in res.notes)


def test_as_dict_has_the_compare_contract_keys() -> None:
    d = oracle(make_log(500)).as_dict()
    for key in ("pipeline", "estimator", "n", "quality", "quality_ci", "cost_usd", "latency_p50_ms",
                "latency_p95_ms", "apgr", "cpt50", "cpt80", "aiq"):
        assert key in d
    assert d["estimator"] == "exact" and d["quality_ci"][0] <= d["quality"] <= d["quality_ci"][1]
