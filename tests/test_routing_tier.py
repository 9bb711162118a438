"""TierRouter, uncertainty actions and the all-open breaker policies, built through build_pipeline."""

from __future__ import annotations

import pytest
from routing_helpers import Clock

from workbench.config import parse_config
from workbench.domain import Attempt, ChatRequest
from workbench.errors import ConfigError
from workbench.pipeline import build_pipeline
from workbench.pipeline.build import PipelineRegistry
from workbench.pipeline.tier_router import TierRouter
from workbench.pipeline.uncertainty import UncertaintyEstimator
from workbench.routing_config import UncertaintyConfig

EASY = "write a haiku about autumn"
HARD = ("Design a distributed consensus protocol for the kernel scheduler; explain the trade-offs, prove the "
        "invariants and analyze the race conditions step by step")
SECURE = "review this login code for SQL injection and XSS vulnerabilities"


def registry(
    routing: dict[str, object] | None = None, clock: Clock | None = None, **pipeline: object
) -> PipelineRegistry:
    spec = {"classifier": "complexity", "router": "tier", **pipeline}
    return build_pipeline(parse_config({"pipelines": {"default": spec}, "routing": routing or {}}), seed=0,
                          clock=clock)


def decide(reg: PipelineRegistry, prompt: str, **metadata: object):  # type: ignore[no-untyped-def]
    request = ChatRequest.from_prompt(prompt, **metadata)
    pipeline, profile = reg.profile(request)
    return profile, pipeline.router.route(request, profile)


def test_complexity_picks_the_tier_and_the_strategy_picks_inside_it() -> None:
    reg = registry()
    assert isinstance(reg.default.router, TierRouter)
    tiers = reg.config.routing.tiers.tiers
    p, d = decide(reg, EASY)
    assert p.complexity < 0.3 and d.tier == "fast" and d.model in tiers["fast"].models
    assert d.model == "groq/llama-3.1-8b" and "cheapest" in d.reason  # cost-based inside the tier by default
    p, d = decide(reg, HARD)
    assert p.complexity >= 0.7 and d.tier == "premium" and d.model in tiers["premium"].models
    assert all(c.model in tiers[d.tier].models for c in d.candidates)


def test_hard_rule_forces_the_top_tier() -> None:
    p, d = decide(registry(), SECURE)
    assert p.complexity < 0.7 and p.factors["security"] > 0.8
    assert d.tier == "premium" and "rule security" in d.reason


def test_minimal_budget_and_max_request_cost_step_down() -> None:
    _, d = decide(registry(), HARD, budget_class="minimal")
    assert d.tier == "standard" and "minimal budget" in d.reason
    _, d = decide(registry({"tiers": {"max_request_usd": 0.001}}), HARD)
    assert d.tier == "standard" and "over the $0.001 budget" in d.reason
    assert all(c.excluded is None for c in d.candidates if c.model == d.model)


def test_uncertain_decisions_escalate_to_a_safer_tier() -> None:
    # A threshold above any real confidence: every decision is uncertain.
    reg = registry({"uncertainty": {"threshold": 1.0, "action": "escalate"}})
    _, d = decide(reg, EASY)
    assert d.tier == "standard" and "escalated fast -> standard" in d.reason and d.uncertainty > 0
    _, d = decide(registry({"uncertainty": {"threshold": 1.0, "action": "record"}}), EASY)
    assert d.tier == "fast" and "uncertain (" in d.reason
    _, d = decide(registry({"uncertainty": {"threshold": 1.0, "action": "explore"}}), EASY)
    assert d.tier == "fast" and "explored by softmax" in d.reason and d.propensity < 1.0
    _, d = decide(registry({"uncertainty": {"threshold": 1.0, "action": "fallback"}}), EASY)
    assert d.model == "groq/llama-3.1-8b" and "fell back to the first configured" in d.reason


def test_uncertainty_estimator_takes_the_weakest_signal() -> None:
    est = UncertaintyEstimator(UncertaintyConfig(margin_scale=0.2, prior_samples=5))
    a = est.assess(margin=0.5, vote_share=0.9, samples=95, classifier=0.95)
    assert a.confidence == pytest.approx(0.9) and a.limiting == "votes"
    b = est.assess(margin=0.04, samples=1000)
    assert b.confidence == pytest.approx(0.2) and b.limiting == "margin" and b.uncertainty == pytest.approx(0.8)
    c = est.assess(margin=1.0, samples=5)
    assert c.confidence == pytest.approx(0.5) and c.limiting == "samples"
    assert est.assess().confidence == 1.0


def _open_all(reg: PipelineRegistry, models: list[str]) -> None:
    assert reg.fleet is not None
    reg.fleet.board.record([Attempt(m, "http_503", 5.0) for m in models for _ in range(5)])


def test_a_tier_with_every_breaker_open_hands_over_to_the_next() -> None:
    reg = registry()
    fast = reg.config.routing.tiers.tiers["fast"].models
    _open_all(reg, fast)
    _, d = decide(reg, EASY)
    assert d.tier == "standard" and "fast: every breaker open -> standard" in d.reason and d.policy == ""


@pytest.mark.parametrize("policy", ["least-recently-failed", "fail-fast", "ignore-breakers"])
def test_all_open_policy_applies_and_says_so(policy: str) -> None:
    clock = Clock()
    models = ["groq/llama-3.1-8b", "openai/gpt-4o-mini"]
    cfg = parse_config({
        "pipelines": {"default": {"router": "cost-based", "preferred_models": models}},
        "routing": {"breaker": {"all_open_policy": policy}},
    })
    reg = build_pipeline(cfg, seed=0, clock=clock)
    assert reg.fleet is not None
    reg.fleet.board.record([Attempt(models[1], "http_503", 5.0)] * 5)
    clock.advance(1)
    reg.fleet.board.record([Attempt(models[0], "http_503", 5.0)] * 5)  # llama failed most recently
    _, d = decide(reg, "classify this ticket")
    assert d.policy == policy and "every candidate's breaker is open" in d.reason
    assert all(c.excluded and c.excluded.startswith("breaker open") for c in d.candidates)
    if policy == "least-recently-failed":
        assert d.model == models[1]  # the one whose failures are older
    elif policy == "ignore-breakers":
        assert d.model == models[0] and d.fallbacks == (models[1],)  # as if closed: cheapest first
    else:
        assert d.fallbacks == () and "not sent" in d.reason


def test_tier_config_problems_name_the_path() -> None:
    with pytest.raises(ConfigError) as info:
        build_pipeline(parse_config({"pipelines": {"default": {"router": "tier"}}}))
    assert any("pipelines.default.classifier" in p and "'complexity'" in p for p in info.value.problems)
    with pytest.raises(ConfigError) as info:
        registry({"tiers": {"tiers": {"all": {"upto": 1.0, "models": ["acme/none"]}}, "rules": []}})
    assert info.value.problems == [
        "routing.tiers.tiers.all.models.0: the simulated transport cannot serve 'acme/none'; add it under `models` "
        "with its prices, or pick a served model"
    ]
    with pytest.raises(ConfigError) as info:
        parse_config({"routing": {"tiers": {"rules": [{"signal": "security", "above": 0.8, "tier": "gold"}]}}})
    assert "tier 'gold' is not a tier" in info.value.problems[0]
    with pytest.raises(ConfigError) as info:
        parse_config({"routing": {"breaker": {"all_open_policy": "fail-slow"}}})
    assert "did you mean 'fail-fast'" in info.value.problems[0]
