"""The ComplexityAnalyzer: seven explained factors, the score formula, confidence, config, keyword equivalence."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.config import DEFAULT_KEYWORDS, parse_config
from workbench.domain import ChatRequest, Message
from workbench.errors import ConfigError
from workbench.pipeline.classify import CueMatcher, KeywordClassifier
from workbench.pipeline.complexity import ComplexityAnalyzer
from workbench.routing_config import DEFAULT_WEIGHTS, FACTORS


def analyzer(routing: dict[str, object] | None = None) -> ComplexityAnalyzer:
    cfg = parse_config({"routing": routing or {}})
    return ComplexityAnalyzer(cfg.routing.complexity, cfg.routing.keywords, cfg.routing.default_task_type)


A = analyzer()


def profile(prompt: str, **kw: object):  # type: ignore[no-untyped-def]
    return A.classify(ChatRequest.from_prompt(prompt, **kw))


def test_seven_factors_in_range_each_with_a_note() -> None:
    p = profile("Explain why the Raft consensus protocol needs a leader and the trade-offs versus Paxos")
    assert set(FACTORS) <= set(p.factors) and set(p.factor_notes) == set(p.factors)
    assert all(0.0 <= v <= 1.0 for v in p.factors.values())
    assert p.factors["reasoning_depth"] == 1.0 and "'why'" in p.factor_notes["reasoning_depth"]
    assert "'raft'" in p.factor_notes["domain_specificity"] and "'paxos'" in p.factor_notes["domain_specificity"]
    assert "expected output" in p.factor_notes["token_count"] and p.factor_notes["tool_usage"] == "no cue"
    assert p.task_type == "analysis" and "complexity 0." in p.explanation


def test_score_is_half_weighted_mean_half_top_two() -> None:
    p = profile("return a JSON table with a schema for the payroll database, using the search tool")
    values = [p.factors[f] for f in FACTORS]
    weighted = sum(DEFAULT_WEIGHTS[f] * p.factors[f] for f in FACTORS)
    top = sorted(values, reverse=True)
    assert p.complexity == pytest.approx(0.5 * weighted + 0.25 * (top[0] + top[1]), abs=1e-4)


def test_simple_prompts_score_low_hard_ones_high() -> None:
    easy = profile("write a haiku about autumn")
    hard = profile("Design a distributed consensus protocol for the kernel scheduler; explain the trade-offs, "
                   "prove the invariants and analyze the race conditions step by step")
    assert easy.complexity < 0.30 < 0.70 < hard.complexity


def test_each_factor_moves_with_its_cue() -> None:
    base = profile("tell me about rivers in europe and their history")
    assert profile("tell me about rivers in europe as a json table").factors["output_structure"] > 0
    assert profile("use the search tool to tell me about rivers").factors["tool_usage"] > 0
    assert profile("something about stuff").factors["ambiguity"] > base.factors["ambiguity"]
    with_tools = A.classify(ChatRequest(messages=(Message("user", "tell me about rivers"),), tools=({"name": "x"},)))
    assert with_tools.factors["tool_usage"] >= 0.6 and with_tools.factor_notes["tool_usage"] == "1 tool(s) offered"
    history = tuple(Message("user" if i % 2 == 0 else "assistant", f"turn {i}") for i in range(7))
    long = A.classify(ChatRequest(messages=history))
    assert long.factors["context_dependency"] == 1.0 and "6 earlier turn(s)" in long.factor_notes["context_dependency"]
    big = A.classify(ChatRequest.from_prompt("word " * 20000))
    assert big.factors["token_count"] == 1.0


def test_security_signal_and_weights_from_config() -> None:
    p = profile("review this login code for SQL injection and XSS vulnerabilities")
    assert p.factors["security"] == 1.0 and p.factors["domain_specificity"] == 1.0
    only_tokens = analyzer({"complexity": {"weights": {f: 0.0 for f in FACTORS if f != "token_count"}}})
    q = only_tokens.classify(ChatRequest.from_prompt("review this login code for SQL injection and XSS"))
    top = sorted(q.factors[f] for f in FACTORS)[-2:]
    assert q.complexity == pytest.approx(0.5 * q.factors["token_count"] + 0.25 * sum(top), abs=1e-4)
    custom = analyzer({"complexity": {"cues": {"domain": ["zorblax"]}}})
    assert custom.classify(ChatRequest.from_prompt("tune the zorblax")).factors["domain_specificity"] > 0


def test_confidence_is_lower_near_a_tier_boundary() -> None:
    far = profile("write a haiku about autumn")
    assert far.confidence > 0.5
    near = [profile(p) for p in ("explain the sql join", "compare the two databases", "why is my kernel slow")]
    for p in near:
        margin = min(abs(p.complexity - 0.3), abs(p.complexity - 0.7))
        if margin < 0.1:
            assert p.confidence < 1.0 * margin / 0.1 + 1e-9


@pytest.mark.parametrize(
    "bad",
    [
        {"complexity": {"weights": {"tokens": 1}}},
        {"complexity": {"weights": {f: 0.0 for f in FACTORS}}},
        {"complexity": {"token_low": 100, "token_high": 50}},
        {"complexity": {"cues": {"reasonng": ["why"]}}},
        {"complexity": {"weightz": {}}},
    ],
)
def test_bad_complexity_config_is_rejected_with_a_path(bad: dict[str, object]) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config({"routing": bad})
    assert all(p.startswith("routing.complexity") for p in info.value.problems)


# -- the one-pass matcher agrees with a regex per task type (the obvious implementation, kept as the oracle) --
def _regex_for(words: list[str]) -> re.Pattern[str]:
    alts = sorted((r"\s+".join(map(re.escape, w.lower().split())) for w in words), key=len, reverse=True)
    return re.compile(r"(?<![\w-])(?:" + "|".join(alts) + r")(?![\w-])", re.IGNORECASE)


def regex_task_type(text: str, keywords: dict[str, list[str]], default: str) -> tuple[str, float]:
    """Most whole-word hits wins, ties to the type listed first; confidence = best hits / all hits."""
    counts = [len(_regex_for(words).findall(text)) for words in keywords.values()]
    best = max(counts)
    if best == 0:
        return default, 0.0
    return list(keywords)[counts.index(best)], round(best / sum(counts), 4)


VOCAB = sorted({w for ws in DEFAULT_KEYWORDS.values() for w in ws} | {"the", "data", "and", "fixture", "all"})


@settings(max_examples=300, deadline=None)
@given(words=st.lists(st.sampled_from(VOCAB), max_size=12), seps=st.sampled_from([" ", "  ", ", ", ". "]),
       upper=st.booleans())
def test_keyword_classifier_agrees_with_a_regex_per_type(words: list[str], seps: str, upper: bool) -> None:
    text = seps.join(words)
    text = text.upper() if upper else text
    profile = KeywordClassifier(DEFAULT_KEYWORDS, "triage").classify(ChatRequest.from_prompt(text))
    keywords = {task: list(ws) for task, ws in DEFAULT_KEYWORDS.items()}
    assert (profile.task_type, profile.confidence) == regex_task_type(text, keywords, "triage")


def test_cue_matcher_stems_phrases_and_odd_cues() -> None:
    m = CueMatcher({"a": ["optimi*", "race condition*", "tl;dr", "ml*"], "b": ["look up", "look"]})
    found, n = m.scan("Optimising the race conditions, TL;DR: look up the mlops docs")
    assert found[0] == ["optimising", "race conditions", "tl;dr", "mlops"] and found[1] == ["look up"]
    assert n == 11
