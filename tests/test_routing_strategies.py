"""The seven strategies, exploration and the decision record: behaviour, propensities, seeds, O(N) selection."""

from __future__ import annotations

import cProfile
import pstats

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from routing_helpers import Clock, kit, synthetic_prices

from workbench.config import STRATEGIES, parse_config
from workbench.domain import Attempt, ChatRequest, LlmResponse, TaskProfile, Usage
from workbench.pipeline import build_pipeline
from workbench.pipeline.exploration import softmax_with_floor
from workbench.pipeline.route import CostBasedRouter
from workbench.pipeline.strategies import make_strategy
from workbench.pipeline.strategy_router import StrategyRouter
from workbench.prices import shipped_prices
from workbench.routing_config import StrategyConfig

PRICES = shipped_prices()
FLEET = ["groq/llama-3.1-8b", "openai/gpt-4o-mini", "gemini/gemini-2.0-flash", "deepseek/deepseek-chat"]
REQ = ChatRequest.from_prompt("classify this ticket")
PROFILE = TaskProfile(task_type="triage")


def router(name: str, models: list[str] = FLEET, routing: dict[str, object] | None = None, seed: int = 0,
           clock: Clock | None = None) -> StrategyRouter:
    k = kit(routing, clock, seed)  # type: ignore[arg-type]
    return StrategyRouter(models, PRICES, make_strategy(name, k.fleet.stats.settings), k, np.random.default_rng(seed))


def ok(model: str, ttft: float, total: float, out_tokens: int = 100) -> LlmResponse:
    return LlmResponse(text="x", served_model=model, status="ok", usage=Usage(10, out_tokens), ttft_ms=ttft,
                       latency_ms=total, attempts=(Attempt(model, "ok", ttft, 200),))


@pytest.mark.parametrize("name", STRATEGIES)
def test_every_decision_is_complete(name: str) -> None:
    d = router(name).route(REQ, PROFILE)
    assert d.strategy == name and d.model in FLEET and d.reason.startswith(f"{name}: ")
    assert [c.model for c in d.candidates] == FLEET
    assert sum(c.probability for c in d.candidates) == pytest.approx(1.0, abs=1e-5)
    chosen = next(c for c in d.candidates if c.model == d.model)
    assert d.propensity == pytest.approx(chosen.probability, abs=1e-6) and d.propensity > 0
    assert 0.0 <= d.uncertainty <= 1.0 and d.model not in d.fallbacks


def test_cost_based_matches_level0_when_healthy() -> None:
    level0 = CostBasedRouter(FLEET, PRICES).route(REQ, PROFILE)
    level1 = router("cost-based").route(REQ, PROFILE)
    assert (level1.model, level1.fallbacks, level1.candidates, level1.reason) == (
        level0.model, level0.fallbacks, level0.candidates, level0.reason)


def test_simple_shuffle_follows_weights() -> None:
    deployments = {"groq/llama-3.1-8b": {"weight": 3}, "openai/gpt-4o-mini": {"weight": 1}}
    r = router("simple-shuffle", FLEET[:2], {"deployments": deployments}, seed=3)
    picks = [r.route(REQ, PROFILE) for _ in range(2000)]
    assert {round(d.propensity, 4) for d in picks} == {0.75, 0.25}
    share = sum(d.model == "groq/llama-3.1-8b" for d in picks) / len(picks)
    assert 0.71 < share < 0.79  # the logged propensities are the real sampling frequencies


def test_round_robin_cycles_and_skips_excluded() -> None:
    r = router("round-robin")
    assert [r.route(REQ, PROFILE).model for _ in range(5)] == [*FLEET, FLEET[0]]
    no_tools = TaskProfile(task_type="triage", required_capabilities=("telepathy",))  # nobody has it
    r2 = router("round-robin", ["together/mistralai/Mixtral-8x7B-Instruct-v0.1", *FLEET[:2]])
    d = r2.route(REQ, TaskProfile(task_type="triage", required_capabilities=("tools",)))
    assert d.model == FLEET[0] and d.candidates[0].excluded == "missing capability: tools"
    assert router("round-robin").route(REQ, no_tools).reason.endswith("every candidate excluded; sent anyway")


def test_least_busy_uses_in_flight_counts_and_ties_break_at_random() -> None:
    r = router("least-busy")
    stats = r.kit.fleet.stats
    for m in FLEET[:3]:
        stats.dispatched(m)
    d = r.route(REQ, PROFILE)
    assert d.model == FLEET[3] and d.propensity == 1.0
    stats.observe(FLEET[0], ok(FLEET[0], 100, 500))
    d = r.route(REQ, PROFILE)
    assert d.model in (FLEET[0], FLEET[3]) and d.propensity == pytest.approx(0.5)


def test_usage_based_and_rate_limits() -> None:
    clock = Clock(6000.0)
    r = router("usage-based", FLEET[:2], {"deployments": {"groq/llama-3.1-8b": {"rpm": 2}}}, clock=clock)
    stats = r.kit.fleet.stats
    stats.dispatched("openai/gpt-4o-mini")
    stats.observe("openai/gpt-4o-mini", ok("openai/gpt-4o-mini", 100, 500, out_tokens=900))
    assert r.route(REQ, PROFILE).model == "groq/llama-3.1-8b"  # fewer tokens this minute
    stats.dispatched("groq/llama-3.1-8b")
    stats.dispatched("groq/llama-3.1-8b")
    d = r.route(REQ, PROFILE)
    assert d.model == "openai/gpt-4o-mini" and d.candidates[0].excluded == "rate limit: 2/2 requests this minute"
    clock.advance(60)  # a new minute: the counters reset
    assert r.route(REQ, PROFILE).candidates[0].excluded is None


def test_retry_after_excludes_until_it_passes() -> None:
    clock = Clock(0.0)
    r = router("cost-based", FLEET[:2], clock=clock)
    failed = LlmResponse(text="", served_model="", status="failed",
                         attempts=(Attempt("groq/llama-3.1-8b", "http_429", 40, 429, retry_after_s=5.0),))
    r.kit.fleet.stats.observe("groq/llama-3.1-8b", failed)
    d = r.route(REQ, PROFILE)
    assert d.model == "openai/gpt-4o-mini" and "retry after 5.0s" in (d.candidates[0].excluded or "")
    clock.advance(4.96)  # under a second left: said in ms, never "0.0s" while the deployment is still excluded
    assert "retry after 40 ms" in (r.route(REQ, PROFILE).candidates[0].excluded or "")
    clock.advance(0.04 - 0.0005)
    assert "retry after 1 ms" in (r.route(REQ, PROFILE).candidates[0].excluded or "")
    clock.advance(1.0005)
    assert r.route(REQ, PROFILE).model == "groq/llama-3.1-8b"


def test_latency_based_ewma_prior_and_tie_buffer() -> None:
    r = router("latency-based", FLEET[:3])
    d = r.route(REQ, PROFILE)  # nothing observed: uniform over the untried
    assert d.propensity == pytest.approx(1 / 3) and "untried" in d.reason
    stats = r.kit.fleet.stats
    stats.observe(FLEET[0], ok(FLEET[0], 200, 1200))  # ~200 ms + 10 ms/token
    stats.observe(FLEET[1], ok(FLEET[1], 400, 3400))  # ~400 ms + 30 ms/token
    d = r.route(REQ, PROFILE)
    # The untried one is assumed as fast as the fastest tried (optimistic, bounded): it ties with it.
    assert {c.model for c in d.candidates if c.probability > 0} == {FLEET[0], FLEET[2]}
    assert d.propensity == pytest.approx(0.5)
    stats.observe(FLEET[2], ok(FLEET[2], 205, 1215))  # within the 10% buffer of the fastest: still a tie
    assert {c.model for c in r.route(REQ, PROFILE).candidates if c.probability > 0} == {FLEET[0], FLEET[2]}
    stats.observe(FLEET[2], ok(FLEET[2], 900, 9000))  # EWMA moves it well out of the buffer
    d = r.route(REQ, PROFILE)
    assert d.model == FLEET[0] and d.propensity == 1.0 and "fastest" in d.reason


def test_rate_limit_aware_weights_by_headroom() -> None:
    clock = Clock(120.0)
    deployments = {m: {"rpm": 10} for m in FLEET[:2]}
    r = router("rate-limit-aware", FLEET[:2], {"deployments": deployments}, clock=clock)
    for _ in range(8):
        r.kit.fleet.stats.dispatched(FLEET[0])
    d = r.route(REQ, PROFILE)
    probs = {c.model: c.probability for c in d.candidates}
    assert probs[FLEET[0]] == pytest.approx(0.2 / 1.2, abs=1e-5) and probs[FLEET[1]] == pytest.approx(1 / 1.2, abs=1e-5)


@pytest.mark.parametrize("mode", ["epsilon-greedy", "softmax"])
def test_exploration_logs_the_full_probability(mode: str) -> None:
    exploration = {"mode": mode, "epsilon": 0.2, "temperature": 0.5, "floor": 0.05}
    r = router("cost-based", routing={"exploration": exploration}, seed=11)
    picks = [r.route(REQ, PROFILE) for _ in range(3000)]
    for d in picks[:50]:
        probs = [c.probability for c in d.candidates]
        assert sum(probs) == pytest.approx(1.0, abs=1e-5) and min(probs) >= 0.05 - 1e-9 if mode == "softmax" else True
        assert d.propensity == pytest.approx(next(c.probability for c in d.candidates if c.model == d.model), abs=1e-6)
    # Empirical frequencies match the logged propensities (what makes IPS replay unbiased).
    for m in FLEET:
        share = sum(d.model == m for d in picks) / len(picks)
        logged = next(c.probability for c in picks[0].candidates if c.model == m)
        assert share == pytest.approx(logged, abs=0.03)
    assert any(d.explored for d in picks) and not all(d.explored for d in picks)
    assert all(d.explored == (d.model != "groq/llama-3.1-8b") for d in picks if mode == "softmax")


def test_exploration_is_off_by_default_and_seeded() -> None:
    assert parse_config({}).routing.exploration.mode == "off"
    exploration = {"exploration": {"mode": "epsilon-greedy", "epsilon": 0.5}}
    a = [router("cost-based", routing=exploration, seed=5).route(REQ, PROFILE).model for _ in range(1)]
    runs = []
    for _ in range(2):
        r = router("cost-based", routing=exploration, seed=5)
        runs.append([r.route(REQ, PROFILE).model for _ in range(200)])
    assert runs[0] == runs[1] and a[0] == runs[0][0]
    r = router("cost-based", routing=exploration, seed=6)
    assert [r.route(REQ, PROFILE).model for _ in range(200)] != runs[0]


@settings(max_examples=100, deadline=None)
@given(
    scores=st.lists(st.floats(0.0, 1.0), min_size=1, max_size=30),
    temperature=st.floats(0.01, 5.0),
    floor=st.floats(0.0, 0.5),
)
def test_softmax_with_floor_is_a_distribution_with_the_floor(scores: list[float], temperature: float,
                                                             floor: float) -> None:
    s = np.array(scores)
    admissible = np.ones(len(s), dtype=bool)
    admissible[0] = len(s) == 1 or admissible[0]
    p = softmax_with_floor(s, admissible, temperature, floor)
    assert p.sum() == pytest.approx(1.0) and (p >= min(floor, 1 / len(s)) - 1e-12).all()


def test_seeded_builds_make_the_same_choices() -> None:
    cfg = parse_config({
        "routing": {"exploration": {"mode": "softmax", "temperature": 0.3}},
        "pipelines": {"default": {"router": "simple-shuffle", "preferred_models": FLEET}},
    })

    def choices(seed: int) -> list[str]:
        reg = build_pipeline(cfg, seed=seed)
        return [reg.default.router.route(REQ, PROFILE).model for _ in range(100)]

    assert choices(1) == choices(1) and choices(1) != choices(2)


def _python_calls(r: StrategyRouter) -> int:
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(5):
        r.route(REQ, PROFILE)
    prof.disable()
    return sum(v[1] for v in pstats.Stats(prof).stats.values())  # type: ignore[attr-defined]


@pytest.mark.parametrize("name", STRATEGIES)
def test_selection_is_linear_in_deployments(name: str) -> None:
    """O(N) without timing: count Python-level calls; only the per-candidate record may grow with N."""
    calls = {}
    for n in (100, 1000):
        models, prices = synthetic_prices(n)
        k = kit()
        r = StrategyRouter(models, prices, make_strategy(name, StrategyConfig()), k, np.random.default_rng(0))
        r.route(REQ, PROFILE)  # warm caches
        calls[n] = _python_calls(r)
    assert calls[1000] <= 10 * calls[100] * 1.05
