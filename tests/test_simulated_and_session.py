"""The simulated fleet and the live session loop: determinism, attempts, fallbacks, events, trajectories."""

from __future__ import annotations

import asyncio

import pytest

from workbench.config import parse_config
from workbench.domain import ChatRequest, Message, Trajectory, TransportRequest
from workbench.events import DecisionMade, QualityScored, ResponseReceived, StreamDelta, TrajectoryLogged
from workbench.pipeline import build_pipeline
from workbench.prices import shipped_prices
from workbench.session import Session
from workbench.transport.simulated import SimulatedTransport

PRICES = shipped_prices()


def req(model: str, *fallbacks: str, task: str = "creative") -> TransportRequest:
    return TransportRequest(model=model, messages=(Message("user", "write a poem about queues"),),
                            fallbacks=fallbacks, task_type=task)


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(coro)


def test_same_seed_same_outcomes() -> None:
    a = [run(SimulatedTransport(PRICES, seed=7).complete(req("openai/gpt-4o"))) for _ in range(2)]
    assert a[0] == a[1]
    b = run(SimulatedTransport(PRICES, seed=8).complete(req("openai/gpt-4o")))
    assert b.latency_ms != a[0].latency_ms


def test_success_costs_list_price() -> None:
    r = run(SimulatedTransport(PRICES, seed=1).complete(req("openai/gpt-4o-mini")))
    assert r.status == "ok" and r.served_model == "openai/gpt-4o-mini"
    expected = PRICES.cost("openai/gpt-4o-mini", r.usage.input_tokens, r.usage.output_tokens)
    assert r.cost_usd == pytest.approx(expected) and r.cost_usd > 0
    assert r.price_version == PRICES.version
    assert 0 < r.ttft_ms < r.latency_ms
    assert "poem" in r.text or "queues" in r.text


def test_down_deployment_falls_back_and_records_every_attempt() -> None:
    t = SimulatedTransport(PRICES, seed=3)
    t.fault("openai/gpt-4o").down = True
    r = run(t.complete(req("openai/gpt-4o", "groq/llama-3.1-8b")))
    assert r.status == "ok" and r.served_model == "groq/llama-3.1-8b"
    assert r.attempts[0].deployment == "openai/gpt-4o" and r.attempts[0].status == "connection_error"
    assert r.attempts[-1].deployment == "groq/llama-3.1-8b" and r.attempts[-1].status == "ok"


def test_429_retries_honour_retry_after_and_chain_is_bounded() -> None:
    t = SimulatedTransport(PRICES, seed=5, max_retries=2)
    chain = ["openai/gpt-4o", "openai/gpt-4o-mini", "groq/llama-3.1-8b", "groq/llama-3.3-70b",
             "mistral/mistral-small", "deepseek/deepseek-chat", "gemini/gemini-2.0-flash"]
    for m in chain:
        f = t.fault(m)
        f.rate_429, f.retry_after_s = 1.0, 3.0
    r = run(t.complete(req(chain[0], *chain[1:], chain[0])))  # a loop back to the first is ignored
    assert r.status == "failed" and r.error and "6 deployment(s)" in r.error
    assert len(r.attempts) == 6 * 3  # max 5 fallbacks after the first, 3 tries each
    assert {a.status for a in r.attempts} == {"http_429"}
    assert all(a.retry_after_s == 3.0 for a in r.attempts)
    # Retry-After is a floor on every backoff: 2 waits per deployment of >= 3 s each.
    assert r.latency_ms >= 6 * 2 * 3000


def test_stream_yields_deltas_then_the_final_response() -> None:
    async def collect() -> list[object]:
        return [x async for x in SimulatedTransport(PRICES, seed=2).stream(req("openai/gpt-4o"))]

    items = run(collect())
    *deltas, final = items
    assert deltas and all(isinstance(d, str) for d in deltas)
    assert "".join(deltas) == final.text  # type: ignore[attr-defined]


def test_session_logs_one_trajectory_per_request_with_events_in_order() -> None:
    cfg = parse_config({"pipelines": {"triage": {"router": "static", "preferred_models": ["groq/llama-3.1-8b"]}}})
    sink: list[Trajectory] = []
    session = Session(build_pipeline(cfg, seed=0), sink, clock=lambda: 1_700_000_000.0)
    events: list[object] = []
    session.subscribe(events.append)
    t = run(session.run(ChatRequest.from_prompt("classify this ticket"), stream=True))
    assert sink == [t]
    kinds = [type(e) for e in events]
    assert kinds[0] is DecisionMade and kinds[-3:] == [ResponseReceived, QualityScored, TrajectoryLogged]
    assert StreamDelta in kinds
    assert t.profile.task_type == "triage" and t.decision.model == "groq/llama-3.1-8b"
    assert t.pipeline_id == "triage" and t.config_hash == cfg.config_hash()
    assert t.created_at == 1_700_000_000.0
    assert t.quality.overall is None and t.quality.source == "none"  # level 0 scores nothing


def test_session_logs_failed_requests_too() -> None:
    cfg = parse_config({"pipelines": {"triage": {"preferred_models": ["groq/llama-3.1-8b"]}}})
    reg = build_pipeline(cfg, seed=0)
    reg.transport.fault("groq/llama-3.1-8b").down = True  # type: ignore[attr-defined]
    sink: list[Trajectory] = []
    t = run(Session(reg, sink).run(ChatRequest.from_prompt("quick question")))
    assert t.response.status == "failed" and sink == [t]
    assert t.response.attempts[0].status == "connection_error"
