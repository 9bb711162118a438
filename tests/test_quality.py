"""Quality scores on crafted answers: each dimension reacts to what it is meant to measure."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.domain import ChatRequest, LlmResponse, TaskProfile, Usage
from workbench.pipeline.quality import _HEDGE, _REFUSAL, _UNSAFE, Gated, HeuristicScorer, LabelScorer, reward

SCORER = HeuristicScorer()
QUESTION = ChatRequest.from_prompt("Explain how a circuit breaker protects an LLM gateway from a failing provider.")
ANALYSIS = TaskProfile(task_type="analysis")
GOOD = (
    "A circuit breaker watches each provider's failures. After several consecutive errors it opens, and the "
    "gateway stops sending requests to that provider, so a failing provider cannot slow every request. "
    "After a cooldown the breaker lets a few probe requests through; if they succeed it closes again. "
    "This protects latency and lets traffic move to a healthy provider in the meantime."
)


def respond(text: str, **kw: object) -> LlmResponse:
    return LlmResponse(text=text, served_model="openai/gpt-4o", status="ok", usage=Usage(10, 50), **kw)  # type: ignore[arg-type]


def test_a_good_answer_scores_high_everywhere() -> None:
    q = SCORER.score(QUESTION, respond(GOOD), ANALYSIS)
    assert q.source == "heuristic"
    assert q.relevance is not None and q.relevance > 0.7
    assert q.completeness == 1.0 and q.safety == 1.0
    assert q.coherence is not None and q.coherence > 0.9
    assert q.overall is not None and q.overall > 0.8
    assert set(q.explanations) == {"accuracy", "relevance", "completeness", "coherence", "safety"}


def test_refusal_scores_low_on_completeness() -> None:
    q = SCORER.score(QUESTION, respond("I'm sorry, but I can't help with that request."), ANALYSIS)
    assert q.completeness is not None and q.completeness <= 0.1
    assert "refusal" in q.explanations["completeness"]
    assert q.safety == 1.0  # refusing is not unsafe


def test_answer_ignoring_the_question_scores_low_on_relevance() -> None:
    off_topic = "Bananas are yellow fruits rich in potassium. They grow in tropical climates on large plants."
    q = SCORER.score(QUESTION, respond(off_topic), ANALYSIS)
    good = SCORER.score(QUESTION, respond(GOOD), ANALYSIS)
    assert q.relevance is not None and good.relevance is not None
    assert q.relevance < 0.3 < good.relevance


def test_leaked_secret_scores_zero_on_safety_and_overall() -> None:
    leak = GOOD + " By the way, the key is sk-proj-abcdefghijklmnopqrstuvwxyz0123456789."
    q = SCORER.score(QUESTION, respond(leak), ANALYSIS)
    assert q.safety == 0.0 and q.overall == 0.0


def test_truncation_and_repetition_are_penalised() -> None:
    truncated = SCORER.score(QUESTION, respond(GOOD, finish_reason="length"), ANALYSIS)
    assert truncated.completeness == 0.5 and "truncated" in truncated.explanations["completeness"]
    looped = SCORER.score(QUESTION, respond(" ".join(["The breaker opens after failures."] * 12)), ANALYSIS)
    assert looped.coherence is not None and looped.coherence < 0.3


def test_structured_output_validity_after_repair() -> None:
    req = ChatRequest.from_prompt("Return the provider list as JSON")
    valid = SCORER.score(req, respond('{"providers": ["openai", "anthropic"]}'))
    broken = SCORER.score(req, respond('{"providers": ["openai", "anthropic"'))
    hopeless = SCORER.score(req, respond("the providers are openai and anthropic"))
    assert valid.accuracy == 1.0 and broken.accuracy == 0.6 and hopeless.accuracy == 0.1
    assert broken.explanations["accuracy"] == "JSON only after repair"


def test_failed_response_scores_zero() -> None:
    q = SCORER.score(QUESTION, LlmResponse(text="", served_model="", status="failed", error="all down"))
    assert q.overall == 0.0 and "all down" in q.explanations["relevance"]


def test_label_scorer_uses_ground_truth() -> None:
    labelled = ChatRequest.from_prompt("What is 2+2?", label_quality=0.25)
    assert LabelScorer().score(labelled, respond("It is 4. Four.")).accuracy == 0.25
    ref = ChatRequest.from_prompt("Capital of France?", reference="Paris is the capital of France")
    q = LabelScorer().score(ref, respond("Paris is the capital of France"))
    assert q.accuracy == pytest.approx(1.0) and q.source == "label"
    sim = LabelScorer().score(QUESTION, respond(GOOD, metadata={"simulated_true_quality": 0.42}))
    assert sim.accuracy == 0.42
    assert LabelScorer().score(QUESTION, respond(GOOD)).source == "heuristic"  # no truth: says so


def test_weights_are_configurable() -> None:
    safety_only = HeuristicScorer({"safety": 1.0})
    q = safety_only.score(QUESTION, respond("Bananas are yellow."), ANALYSIS)
    assert q.overall == 1.0
    with pytest.raises(ValueError):
        HeuristicScorer({"accuracy": 0.0})


def test_reward_trades_quality_against_cost_and_latency() -> None:
    assert reward(0.9, 0.01, 2000, cost_weight=10, latency_weight=0.05) == pytest.approx(0.9 - 0.1 - 0.1)


def test_pipeline_config_picks_the_scorer_and_session_logs_reward() -> None:
    import asyncio

    from workbench.config import parse_config
    from workbench.domain import Trajectory
    from workbench.pipeline import build_pipeline
    from workbench.session import Session

    cfg = parse_config({"pipelines": {"default": {
        "preferred_models": ["openai/gpt-4o"],
        "quality": {"scorer": "label", "cost_weight": 0.0, "latency_weight": 0.0},
    }}})
    sink: list[Trajectory] = []
    t = asyncio.run(Session(build_pipeline(cfg, seed=0), sink).run(ChatRequest.from_prompt("hello there")))
    assert t.quality.source == "label"  # the simulated fleet's true quality is the label
    assert t.quality.accuracy == t.response.metadata["simulated_true_quality"]
    assert t.reward == t.quality.overall and t.reward_source == "label"


# -- the gated regexes answer exactly as the bare regexes would --------------------------------------------
FRAGMENTS = [
    "i can't help", "I CANNOT assist", "i am unable to", "I'm unable to", "i won't", "I'm sorry, but I can",
    "as an AI language model, I", "as an ai, i", "I think", "i believe", "PROBABLY", "might be", "not sure",
    "i'm not certain", "possibly", "Perhaps", "how to make a bomb", "How to build explosive", "synthesise sarin",
    "synthesize VX", "credit card numbers dump", "ransomware payload", "the", "routers", "can", "unable",
    "think", "sure", "card", ",", ".", "\n", "  ", "-", "Straße", "ſarin", "\u212a",
]


@settings(max_examples=400, deadline=None, derandomize=True)
@given(parts=st.lists(st.sampled_from(FRAGMENTS), max_size=10), seps=st.sampled_from([" ", "", ". ", "\n"]))
def test_gated_regexes_agree_with_the_bare_regex(parts: list[str], seps: str) -> None:
    text = seps.join(parts)
    for gated in (_REFUSAL, _HEDGE, _UNSAFE):
        assert isinstance(gated, Gated)
        assert gated.search(text) == bool(gated.regex.search(text)), (gated.regex.pattern, text)
        assert gated.count(text) == len(gated.regex.findall(text)), (gated.regex.pattern, text)
