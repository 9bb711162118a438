"""JudgeScorer: an LLM grades answers through the pipeline's transport; the session awaits it. Off by default."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

from workbench.config import parse_config
from workbench.domain import ChatRequest, LlmResponse, TransportRequest, Usage
from workbench.pipeline import build_pipeline
from workbench.pipeline.judge import JudgeScorer, parse_grades
from workbench.prices import shipped_prices
from workbench.session import Session
from workbench.transport.simulated import SimulatedTransport

JUDGE = "openai/gpt-4o"
ANSWERER = "groq/llama-3.3-70b"


class JudgingFleet:
    """The simulated fleet, except that the judge model answers with `verdict` (what a real judge would send)."""

    name = "simulated"

    def __init__(self, verdict: str) -> None:
        self.inner = SimulatedTransport(shipped_prices(), seed=1)
        self.verdict = verdict
        self.judged: list[TransportRequest] = []

    def serves(self, model: str) -> bool:
        return self.inner.serves(model)

    async def complete(self, request: TransportRequest) -> LlmResponse:
        if request.model != JUDGE:
            return await self.inner.complete(request)
        self.judged.append(request)
        return LlmResponse(text=self.verdict, served_model=JUDGE, status="ok", usage=Usage(300, 60), cost_usd=0.0015)

    async def stream(self, request: TransportRequest) -> AsyncIterator[str | LlmResponse]:
        yield await self.complete(request)

    async def aclose(self) -> None:
        return None


def judge_config() -> object:
    return parse_config({"pipelines": {"default": {"preferred_models": [ANSWERER],
                                                     "quality": {"scorer": "judge", "judge_model": JUDGE}}}})


def verdict(**grades: float) -> str:
    return json.dumps({**grades, "reasons": {k: f"because {k}" for k in grades}})


def test_the_session_awaits_the_judge_and_uses_its_grades() -> None:
    fleet = JudgingFleet(verdict(accuracy=0.9, relevance=0.8, completeness=0.7, coherence=0.95, safety=1.0))
    registry = build_pipeline(judge_config(), transport=fleet)  # type: ignore[arg-type]
    t = asyncio.run(Session(registry, None).run(ChatRequest.from_prompt("summarize the report on a rate limiter")))
    assert len(fleet.judged) == 1
    asked = fleet.judged[0].messages[-1].content
    assert "summarize the report on a rate limiter" in asked and t.response.text[:50] in asked
    q = t.quality
    assert q.source == "judge" and t.reward_source == "judge"
    assert (q.accuracy, q.relevance, q.completeness, q.coherence) == (0.9, 0.8, 0.7, 0.95)
    assert "because accuracy" in q.explanations["accuracy"] and JUDGE in q.explanations["judge"]
    assert t.reward is not None and q.overall is not None and t.reward < q.overall  # cost and latency subtracted


def test_a_leaked_secret_scores_zero_on_safety_whatever_the_judge_says() -> None:
    fleet = JudgingFleet(verdict(accuracy=1.0, relevance=1.0, completeness=1.0, coherence=1.0, safety=1.0))
    scorer = JudgeScorer(fleet, JUDGE)  # type: ignore[arg-type]
    leaked = LlmResponse(text="Sure, use the key sk-proj-abcdefghijklmnopqrstuvwxyz0123 to call it.",
                         served_model=ANSWERER, status="ok")
    q = asyncio.run(scorer.ascore(ChatRequest.from_prompt("how do I call the api"), leaked))
    assert q.safety == 0.0 and q.overall == 0.0


def test_garbled_or_partial_verdicts_fall_back_to_the_heuristics_per_dimension() -> None:
    grades, _ = parse_grades('{"accuracy": 0.8, "relevance": "high", "completeness": 1.7, "coherence": 0.6')
    assert grades == {"accuracy": 0.8, "coherence": 0.6}  # repaired JSON; out-of-range and non-numbers dropped
    fleet = JudgingFleet("I think this answer is pretty good overall.")
    scorer = JudgeScorer(fleet, JUDGE)  # type: ignore[arg-type]
    answer = LlmResponse(text="A rate limiter caps requests per window using a token bucket.", served_model=ANSWERER,
                         status="ok")
    q = asyncio.run(scorer.ascore(ChatRequest.from_prompt("explain a rate limiter"), answer))
    assert q.source == "heuristic" and "the judge gave no valid grade" in q.explanations["accuracy"]


def test_judge_on_the_plain_simulated_fleet_degrades_gracefully() -> None:
    """The simulated fleet answers in prose, never JSON: scoring still completes, labelled heuristic."""
    registry = build_pipeline(judge_config())  # type: ignore[arg-type]
    t = asyncio.run(Session(registry, None).run(ChatRequest.from_prompt("write a haiku about rivers")))
    assert t.quality.overall is not None and t.quality.source == "heuristic"
    assert "judge" in t.quality.explanations and "0/5" in t.quality.explanations["judge"]


def test_judge_model_must_be_served_and_the_judge_is_off_by_default() -> None:
    import pytest

    from workbench.errors import ConfigError

    assert parse_config({}).pipeline_for("default").quality.scorer == "noop"
    bad = parse_config({"pipelines": {"default": {"quality": {"scorer": "judge", "judge_model": "nope/model"}}}})
    with pytest.raises(ConfigError) as err:
        build_pipeline(bad)
    assert "pipelines.default.quality.judge_model" in str(err.value)
