"""The plain-Python fast paths for small pools give exactly what the numpy paths give (issue 4's speed work).

Each strategy, the draw, the fallback chain and the tier lookup are run twice on the same random state:
once as shipped (small pools take the Python path) and once with the small-pool threshold forced to zero
(the numpy path), and the results must be bit-for-bit equal. Decisions, propensities and reasons depend on it.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from routing_helpers import Clock, kit, synthetic_prices

from workbench.config import STRATEGIES, parse_config
from workbench.domain import Candidate, ChatRequest, TaskProfile
from workbench.pipeline import exploration, selection, strategies
from workbench.pipeline.candidate_pool import CandidatePool, route_context
from workbench.pipeline.selection import build_candidates
from workbench.pipeline.strategies import make_strategy
from workbench.pipeline.strategy_router import StrategyRouter
from workbench.pipeline.tiers import TierMap
from workbench.routing_config import StrategyConfig

REQ = ChatRequest.from_prompt("debug this python function that parses dates")
PROFILE = TaskProfile(task_type="development")


def _pool(n: int, seed: int, clock: Clock) -> CandidatePool:
    """A pool of n models whose live statistics are random, some deployments never tried."""
    models, prices = synthetic_prices(n, seed)
    k = kit(clock=clock)
    pool = CandidatePool(models, prices, k.fleet)
    rng = np.random.default_rng(seed)
    stats, idx = k.fleet.stats, pool.s_idx
    tried = rng.random(n) < 0.6
    stats.latency_n[idx] = np.where(tried, rng.integers(1, 20, n), 0)
    stats.ttft_ms[idx] = np.where(tried, rng.uniform(50, 900, n), 0.0)
    stats.ms_per_token[idx] = np.where(tried, rng.uniform(1, 30, n), 0.0)
    stats.inflight[idx] = rng.integers(0, 3, n)  # small counts: ties are common, as in a live fleet
    stats.minute[idx] = float(int(clock() // 60))
    stats.minute_tokens[idx] = rng.choice([0.0, 500.0, 1500.0], n)
    return pool


def _masks(pool: CandidatePool, rng: np.random.Generator) -> list[np.ndarray]:
    some = rng.random(pool.n) < 0.5
    some[int(rng.integers(pool.n))] = True
    one = np.zeros(pool.n, dtype=bool)
    one[int(rng.integers(pool.n))] = True
    return [pool.everyone, some, one, np.ones(pool.n, dtype=bool)]


def _both(monkeypatch: pytest.MonkeyPatch, run: object) -> tuple[object, object]:
    assert callable(run)
    fast = run()
    with monkeypatch.context() as m:
        m.setattr(strategies, "SMALL", 0)
        m.setattr(exploration, "SMALL", 0)
        m.setattr(selection, "SMALL", 0)
        slow = run()
    return fast, slow


@pytest.mark.parametrize("name", STRATEGIES)
@pytest.mark.parametrize("seed", range(12))
def test_small_pool_strategy_matches_numpy_path(monkeypatch: pytest.MonkeyPatch, name: str, seed: int) -> None:
    clock = Clock()
    pool = _pool(int(np.random.default_rng(seed).integers(1, 9)), seed, clock)
    ctx = route_context(REQ, PROFILE, clock())
    for admissible in _masks(pool, np.random.default_rng(seed)):
        strategy = make_strategy(name, StrategyConfig())

        def run(s: strategies.Strategy = strategy, a: np.ndarray = admissible) -> tuple[object, ...]:
            result = s.evaluate(pool, a, ctx)
            return result.scores.tolist(), result.probs.tolist(), result.samples, s.describe(pool, 0, ctx)

        fast, slow = _both(monkeypatch, run)
        assert fast == slow, (name, admissible)


@given(st.lists(st.floats(0.0, 1.0), min_size=1, max_size=31), st.integers(0, 2**32 - 1))
@settings(max_examples=200, deadline=None)
def test_small_draw_matches_numpy_draw(weights: list[float], seed: int) -> None:
    probs = np.array(weights)
    if probs.sum() <= 0:
        probs = np.ones(len(weights))
    probs = probs / probs.sum()
    fast = exploration.draw(probs, np.random.default_rng(seed))
    saved = exploration.SMALL
    exploration.SMALL = 0  # hypothesis and function-scoped fixtures do not mix: patch by hand
    try:
        slow = exploration.draw(probs, np.random.default_rng(seed))
    finally:
        exploration.SMALL = saved
    assert fast == slow


@pytest.mark.parametrize("name", STRATEGIES)
def test_whole_decisions_match_numpy_path(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """A run of decisions on a fleet with some exploration: same models, candidates, fallbacks and reasons."""
    models, prices = synthetic_prices(6, 3)

    def run() -> list[object]:
        clock = Clock()
        k = kit({"exploration": {"mode": "epsilon-greedy", "epsilon": 0.2}}, clock, 0)
        r = StrategyRouter(models, prices, make_strategy(name, StrategyConfig()), k, np.random.default_rng(0))
        out: list[object] = []
        for i in range(40):
            d = r.route(ChatRequest.from_prompt("x " * (i * 37 % 400)), PROFILE)
            k.fleet.stats.dispatched(d.model, clock())
            out.append(d)
            clock.advance(1.0)
        return out

    fast, slow = _both(monkeypatch, run)
    assert fast == slow


@pytest.mark.parametrize("n", [1, 7, 8, 40, 1000])
def test_fast_candidate_records_equal_the_constructor(n: int) -> None:
    models = [f"p/m{i}" for i in range(n)]
    scores = [i / n for i in range(n)]
    probs = [1.0 if i == n // 2 else 0.0 for i in range(n)]
    reasons = [None if i % 3 else f"excluded {i}" for i in range(n)]
    built = build_candidates(models, scores, probs, reasons)
    expected = tuple(map(Candidate, models, scores, probs, reasons))
    assert built == expected and type(built[-1]) is Candidate
    assert [hash(c) for c in built] == [hash(c) for c in expected]


def test_repeated_decision_reuses_records_only_when_unchanged() -> None:
    models, prices = synthetic_prices(50, 1)
    r = StrategyRouter(models, prices, make_strategy("cost-based", StrategyConfig()), kit(), np.random.default_rng(0))
    first = r.route(REQ, PROFILE)
    again = r.route(REQ, PROFILE)
    assert again.candidates is first.candidates  # nothing changed: the same immutable records
    longer = r.route(replace(REQ, messages=(*REQ.messages, *REQ.messages)), PROFILE)
    assert longer.candidates is not first.candidates
    assert [c.score for c in longer.candidates] != [c.score for c in first.candidates]


def test_tier_lookup_by_bisection_matches_the_scan() -> None:
    cfg = parse_config({}).routing.tiers
    tiers = TierMap(cfg)
    assert tiers._uptos is not None
    scan = TierMap(cfg)
    scan._uptos = None  # the linear scan, as for bounds out of order
    for c in [0.0, 0.1, 0.2999, 0.3, 0.3001, 0.5, 0.7, 0.9999, 1.0, 1.5]:
        profile = TaskProfile(task_type="triage", complexity=c)
        assert tiers.tier_for(profile) == scan.tier_for(profile)
