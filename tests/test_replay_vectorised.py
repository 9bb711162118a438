"""Vectorised decisions for stateless routers equal `decide`'s prompt-by-prompt decisions, and say which path ran."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

from workbench.config import parse_config
from workbench.pipeline.build import build_pipeline
from workbench.replay.engine import OfflineTransport, PolicySpec, decide, decide_fast, replay_fullinfo
from workbench.replay.fullinfo import FullInfoLog
from workbench.replay.loader import sample_fullinfo
from workbench.replay.tune import shard
from workbench.replay.vectorised import decide_vectorised, prompt_features, vectorisable
from workbench.sim.traffic import sim_config_dict


@pytest.fixture(scope="module")
def full() -> FullInfoLog:
    log = sample_fullinfo("sim-drift-full")
    assert log is not None
    part = shard(log, 3_000)
    assert isinstance(part, FullInfoLog)
    return part


def _static(window_of: dict[str, int] | None = None) -> dict[str, Any]:
    data = sim_config_dict()
    data["routing"]["exploration"] = {"mode": "off"}
    data["transport"] = {}
    for p in data["pipelines"].values():
        p["router"] = "static"
    # A tiny context window on some first-choice models makes the window filter exclude them for longer prompts.
    data["models"] = {m: {"context_window": w, "input_cost_per_token": 1e-7, "output_cost_per_token": 2e-7}
                      for m, w in (window_of or {}).items()}
    return data


@pytest.mark.parametrize("windows", [None, {"groq/llama-3.3-70b": 12, "deepseek/deepseek-chat": 20,
                                             "openai/gpt-4o-mini": 9}])
def test_vectorised_static_equals_prompt_by_prompt(full: FullInfoLog, windows: dict[str, int] | None) -> None:
    config = parse_config(_static(windows), "test")
    registry = build_pipeline(config, transport=OfflineTransport(), seed=0)
    assert vectorisable(registry) is None
    fast = decide_vectorised(registry, full)
    assert fast is not None
    slow = decide(build_pipeline(config, transport=OfflineTransport(), seed=0), full, label="static")
    np.testing.assert_array_equal(fast[0], slow[0])
    assert (fast[1] is None) == (slow[1] is None)
    if windows:
        # The window filter really bit: some decisions differ from the unfiltered config's.
        plain = decide_vectorised(build_pipeline(parse_config(_static(), "test"), transport=OfflineTransport()), full)
        assert plain is not None and 0 < int((plain[0] != fast[0]).sum()) < full.n


def test_vectorised_preference_on_a_two_model_log_equals_decide() -> None:
    log = sample_fullinfo("routellm-mmlu")
    assert log is not None
    part = shard(log, 2_000)
    assert isinstance(part, FullInfoLog) and len(part.models) == 2
    weak, strong = "mistralai/Mixtral-8x7B-Instruct-v0.1", "openai/gpt-4-1106-preview"
    data = {"pipelines": {"default": {"router": "static", "preferred_models": [weak, strong]}},
            "routing": {"exploration": {"mode": "off"}},
            "models": {weak: {"context_window": 60}, strong: {"context_window": 100_000}}}
    config = parse_config(data, "test")
    fast = decide_vectorised(build_pipeline(config, transport=OfflineTransport()), part)
    slow = decide(build_pipeline(config, transport=OfflineTransport()), part, label="x")
    assert fast is not None and fast[1] is not None and slow[1] is not None
    np.testing.assert_array_equal(fast[0], slow[0])
    np.testing.assert_allclose(fast[1], slow[1])
    assert len(np.unique(fast[0])) == 2 and np.ptp(fast[1]) > 0  # both models chosen, so APGR applies


def test_features_are_cached_per_log_and_config(full: FullInfoLog) -> None:
    config = parse_config(_static(), "test")
    registry = build_pipeline(config, transport=OfflineTransport(), seed=0)
    a = prompt_features(registry, full)
    assert prompt_features(build_pipeline(config, transport=OfflineTransport(), seed=0), full) is a
    other = parse_config(_static({"groq/llama-3.3-70b": 12}), "test")
    assert prompt_features(build_pipeline(other, transport=OfflineTransport(), seed=0), full) is not a
    assert a.tokens_in.shape == (full.n,) and (a.tokens_in > 0).all()


def test_results_name_the_decision_path(full: FullInfoLog) -> None:
    static = parse_config(_static(), "test")
    learning = json.loads(json.dumps(_static()))
    for p in learning["pipelines"].values():
        p["router"] = "cost-based"
    cost = parse_config(learning, "test")
    results = replay_fullinfo(full, [PolicySpec("static", config=static), PolicySpec("cost", config=cost)])
    by = {r.pipeline: r for r in results}
    assert any("vectorised" in n for n in by["static"].notes)
    assert any("prompt by prompt" in n and "cost-based" in n for n in by["cost"].notes)
    # The vectorised result is the same as evaluating the prompt-by-prompt decisions.
    registry = build_pipeline(static, transport=OfflineTransport(), seed=0)
    choice, _, path = decide_fast(registry, full, label="static")
    slow, _ = decide(build_pipeline(static, transport=OfflineTransport(), seed=0), full, label="static")
    assert "vectorised" in path
    np.testing.assert_array_equal(choice, slow)
