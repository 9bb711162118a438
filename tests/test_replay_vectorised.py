"""Whole-column classification and vectorised decisions equal the scalar classifiers and `decide`, row for row,
and every result names the path that ran."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import polars as pl
import pytest

from workbench.config import DEFAULT_KEYWORDS, parse_config
from workbench.domain import ChatRequest
from workbench.pipeline.build import build_pipeline
from workbench.pipeline.classify import KeywordClassifier
from workbench.replay.engine import OfflineTransport, PolicySpec, decide, decide_fast, replay_fullinfo
from workbench.replay.fullinfo import FullInfoLog
from workbench.replay.keyword_scan import KeywordScan
from workbench.replay.loader import sample_fullinfo
from workbench.replay.profile_scan import ProfileScan
from workbench.replay.tune import shard
from workbench.replay.vectorised import batch_features, cache_stats, clear_cache
from workbench.sim.prompts import make_prompts
from workbench.sim.traffic import sim_config_dict

EDGE_PROMPTS = [
    "Fix the code, prefix it; fix-up: look up, LOOK   UP the sources", "look,  up the literature... lookup",
    "tl;dr: classify this", "TL;DR tl;drx xtl;dr", "café: write a poem", "", "   ", "why why why, explain",
    "yes or no? yes, or no", "Write-a poem", "analyze analyse_ compare--evaluate", "look up-up", "research look up",
    "debug_this debug-this DEBUG this", "quick quick QUICK label route", "Ünïcode summarize the code",
    "race conditions and a race condition, step by step, step-by-step", "sql injection; SQL-injection",
]


@pytest.fixture(scope="module")
def full() -> FullInfoLog:
    log = sample_fullinfo("sim-drift-full")
    assert log is not None
    part = shard(log, 3_000)
    assert isinstance(part, FullInfoLog)
    return part


def _prompts() -> list[str]:
    mmlu = sample_fullinfo("routellm-mmlu")
    assert mmlu is not None
    return make_prompts(4_000, np.random.default_rng(3)) + list(mmlu.prompts[:1_500]) + EDGE_PROMPTS


@pytest.mark.parametrize("keywords", [
    DEFAULT_KEYWORDS,
    # Stems, phrases sharing a head, a star phrase, odd cues (a literal and a short stem), overlapping words.
    {"a": ["fix*", "look up", "look up the*", "step by step", "tl;dr", "ab*", "code"],
     "b": ["debug", "debug*", "the code", "race condition*", "up", "yes or no"], "c": ["why", "explain", "poem"]},
])
def test_keyword_column_equals_the_scalar_classifier(keywords: dict[str, list[str]]) -> None:
    prompts = _prompts()
    scalar = KeywordClassifier(keywords, "triage")
    col = KeywordScan(keywords, "triage").classify(prompts)
    tasks = col.task_types()
    for i, p in enumerate(prompts):
        task, confidence, _ = scalar.task_type(ChatRequest.from_prompt(p))
        assert (tasks[i], float(col.confidence[i])) == (task, confidence), p
    assert 0 < col.scalar_rows < len(prompts) // 2  # non-ASCII rows took the scalar path; most did not


def test_profile_column_equals_registry_profile() -> None:
    data = sim_config_dict()
    data["transport"] = {}
    for p in data["pipelines"].values():
        p["router"] = "tier"
    data["pipelines"]["creative"] |= {"classifier": "keyword", "router": "static"}
    registry = build_pipeline(parse_config(data, "test"), transport=OfflineTransport())
    prompts = _prompts()
    scan = ProfileScan(registry)
    got = scan.scan(pl.Series(prompts))
    index = {id(p): i for i, p in enumerate(registry.all())}
    for i, p in enumerate(prompts):
        pipeline, want = registry.profile(ChatRequest.from_prompt(p))
        have = scan.table.profiles[got.profile[i]]
        assert index[id(pipeline)] == got.pipeline[i], p
        assert (have.task_type, have.complexity, dict(have.factors), have.confidence) == (
            want.task_type, want.complexity, dict(want.factors), want.confidence), p
        assert got.tokens_in[i] == sum(len(m.content) // 4 + 5 for m in ChatRequest.from_prompt(p).messages)
    # One analyzer call per distinct key, far fewer than prompts.
    assert len(scan.table.profiles) < len(prompts) // 2


def _config(router: str, windows: dict[str, int] | None = None, **routing: Any) -> dict[str, Any]:
    data = sim_config_dict()
    data["routing"]["exploration"] = {"mode": "off"}
    data["routing"].update(routing)
    data["transport"] = {}
    for p in data["pipelines"].values():
        p["router"] = router
        if router == "tier":
            p["classifier"] = "complexity"
    # A tiny context window on some models makes the window filter exclude them for longer prompts.
    data["models"] = {m: {"context_window": w, "input_cost_per_token": 1e-7, "output_cost_per_token": 2e-7}
                      for m, w in (windows or {}).items()}
    return data


WINDOWS = {"groq/llama-3.3-70b": 12, "deepseek/deepseek-chat": 20, "openai/gpt-4o-mini": 9}


@pytest.mark.parametrize(("router", "windows"), [
    ("static", None), ("static", WINDOWS), ("cost-based", None), ("cost-based", WINDOWS), ("tier", None),
    ("usage-based", WINDOWS),
])
def test_vectorised_decisions_equal_prompt_by_prompt(full: FullInfoLog, router: str,
                                                     windows: dict[str, int] | None) -> None:
    config = parse_config(_config(router, windows), "test")
    fast, _, path = decide_fast(build_pipeline(config, transport=OfflineTransport(), seed=0), full, label="x")
    slow, _ = decide(build_pipeline(config, transport=OfflineTransport(), seed=0), full, label="x")
    np.testing.assert_array_equal(fast, slow)
    assert "vectorised" in path and "prompt by prompt" not in path
    if windows:
        plain, _, _ = decide_fast(build_pipeline(parse_config(_config(router), "test"), transport=OfflineTransport()),
                                  full, label="x")
        assert 0 < int((plain != fast).sum()) < full.n  # the window filter really bit


@pytest.mark.parametrize(("router", "explore", "why"), [
    ("latency-based", "off", "draws at random"), ("cost-based", "epsilon-greedy", "draws at random"),
    ("round-robin", "off", "keeps state"),
])
def test_random_or_stateful_routers_fall_back_and_say_so(full: FullInfoLog, router: str, explore: str,
                                                          why: str) -> None:
    data = _config(router)
    data["routing"]["exploration"] = {"mode": explore, "epsilon": 0.2}
    config = parse_config(data, "test")
    fast, _, path = decide_fast(build_pipeline(config, transport=OfflineTransport(), seed=0), full, label="x")
    slow, _ = decide(build_pipeline(config, transport=OfflineTransport(), seed=0), full, label="x")
    np.testing.assert_array_equal(fast, slow)  # restored generator: the same draws as the scalar path
    assert "prompt by prompt" in path and why in path


def test_preference_on_a_two_model_log_equals_decide() -> None:
    log = sample_fullinfo("routellm-mmlu")
    assert log is not None
    part = shard(log, 2_000)
    assert isinstance(part, FullInfoLog) and len(part.models) == 2
    weak, strong = "mistralai/Mixtral-8x7B-Instruct-v0.1", "openai/gpt-4-1106-preview"
    for router in ("static", "cost-based"):
        data = {"pipelines": {"default": {"router": router, "preferred_models": [weak, strong]}},
                "routing": {"exploration": {"mode": "off"}},
                "models": {weak: {"context_window": 60}, strong: {"context_window": 100_000}}}
        config = parse_config(data, "test")
        fast = decide_fast(build_pipeline(config, transport=OfflineTransport()), part, label="x")
        slow = decide(build_pipeline(config, transport=OfflineTransport()), part, label="x")
        assert fast[1] is not None and slow[1] is not None
        np.testing.assert_array_equal(fast[0], slow[0])
        np.testing.assert_allclose(fast[1], slow[1])
        assert len(np.unique(fast[0])) == 2 and np.ptp(fast[1]) > 0  # both models chosen, so APGR applies


def test_classification_is_reused_only_for_the_same_classifier_config(full: FullInfoLog) -> None:
    clear_cache()
    registry = build_pipeline(parse_config(_config("static"), "test"), transport=OfflineTransport())
    a = batch_features(registry, list(full.prompts))
    b = batch_features(build_pipeline(parse_config(_config("cost-based"), "test"), transport=OfflineTransport()),
                       list(full.prompts))
    assert a is b and cache_stats()["hits"] == 1  # routers differ, classifier config does not: reused
    other = _config("static")
    other["routing"]["keywords"] = {"development": ["code"], "creative": ["poem"]}
    c = batch_features(build_pipeline(parse_config(other, "test"), transport=OfflineTransport()), list(full.prompts))
    assert c is not a and c is not None and cache_stats()["misses"] == 2
    d = batch_features(registry, [*full.prompts[:-1], full.prompts[-1] + "!"])
    assert d is not a  # other content: classified again


def test_results_name_the_decision_path(full: FullInfoLog) -> None:
    static = parse_config(_config("static"), "test")
    rr = json.loads(json.dumps(_config("round-robin")))
    results = replay_fullinfo(full, [PolicySpec("static", config=static),
                                     PolicySpec("rr", config=parse_config(rr, "test"))])
    by = {r.pipeline: r for r in results}
    assert any("vectorised" in n for n in by["static"].notes)
    assert any("prompt by prompt" in n and "round-robin" in n for n in by["rr"].notes)
