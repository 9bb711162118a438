"""The real httpx transport against the mock server on loopback: both wire formats, streamed and not, every fault."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from transport_support import ANTHROPIC_MODEL, OPENAI_MODEL, PRICES, WEATHER_TOOL, http_transport, treq

from workbench.config import parse_config
from workbench.domain import ChatRequest, LlmResponse, Trajectory, TransportRequest
from workbench.errors import BadInputError
from workbench.events import StreamDelta
from workbench.pipeline import build_pipeline
from workbench.session import Session
from workbench.transport.http import HttpTransport
from workbench.transport.mock_server import MockServer, load_faults, parse_faults
from workbench.transport.schedule import outage

MODES = [(OPENAI_MODEL, False), (OPENAI_MODEL, True), (ANTHROPIC_MODEL, False), (ANTHROPIC_MODEL, True)]
IDS = ["openai", "openai-stream", "anthropic", "anthropic-stream"]


@pytest.fixture
def server() -> Iterator[MockServer]:
    with MockServer(seed=0, hang_s=5.0) as srv:
        yield srv


def fleet_name(model: str) -> str:
    return model.split("/", 1)[1]


async def send(t: HttpTransport, request: TransportRequest, stream: bool) -> tuple[list[str], LlmResponse]:
    if not stream:
        return [], await t.complete(request)
    items = [x async for x in t.stream(request)]
    *deltas, final = items
    assert isinstance(final, LlmResponse)
    return [str(d) for d in deltas], final


@pytest.mark.parametrize(("model", "stream"), MODES, ids=IDS)
async def test_plain_answers(server: MockServer, model: str, stream: bool) -> None:
    t = http_transport(server)
    deltas, r = await send(t, treq(model), stream)
    await t.aclose()
    assert r.status == "ok" and r.served_model == model and [a.status for a in r.attempts] == ["ok"]
    assert r.attempts[0].http_status == 200 and r.text and r.finish_reason == "stop"
    assert r.usage.input_tokens > 0 and r.usage.output_tokens > 0 and "usage_estimated" not in r.metadata
    assert r.cost_usd == pytest.approx(PRICES.cost(fleet_name(model), r.usage.input_tokens, r.usage.output_tokens))
    assert r.metadata["priced_as"] == fleet_name(model) and r.metadata["upstream_model"] == fleet_name(model)
    assert 0 < r.ttft_ms <= r.latency_ms
    assert 0.0 <= r.metadata["simulated_true_quality"] <= 1.0  # the fleet's hidden quality came back
    if stream:
        assert len(deltas) > 10 and "".join(deltas) == r.text


@pytest.mark.parametrize(("model", "stream"), MODES, ids=IDS)
async def test_tool_calls(server: MockServer, model: str, stream: bool) -> None:
    t = http_transport(server)
    _, r = await send(t, treq(model, prompt="what is the weather in Lisbon", tools=(WEATHER_TOOL,)), stream)
    await t.aclose()
    assert r.status == "ok" and r.finish_reason == "tool_calls" and not r.json_repaired
    (call,) = r.tool_calls
    assert call["name"] == "get_weather" and call["id"]
    assert isinstance(call["arguments"], dict) and "lisbon" in call["arguments"]["city"]


# Every fault, on the first request only: the transport records the failed attempt, retries, succeeds.
FAULTS: list[tuple[dict[str, Any], str]] = [
    ({"error_rate": 1.0}, "http_503"),
    ({"error_rate": 1.0, "error_status": 500}, "http_500"),
    ({"rate_429": 1.0, "retry_after_s": 0.05}, "http_429"),
    ({"hang": 1.0}, "timeout"),
    ({"malformed_sse": 1.0}, "malformed_response"),
    ({"reset": 1.0}, "connection_error"),
]


@pytest.mark.parametrize(("switches", "status"), FAULTS, ids=[f[1] + "-" + next(iter(f[0])) for f in FAULTS])
@pytest.mark.parametrize(("model", "stream"), MODES, ids=IDS)
async def test_each_fault_is_recorded_then_retried(
    server: MockServer, model: str, stream: bool, switches: dict[str, Any], status: str
) -> None:
    server.set_fault(fleet_name(model), times=1, **switches)
    t = http_transport(server)
    deltas, r = await send(t, treq(model), stream)
    await t.aclose()
    assert [a.status for a in r.attempts] == [status, "ok"], r.attempts
    assert all(a.deployment == model for a in r.attempts) and r.status == "ok" and r.text
    failed = r.attempts[0]
    if status == "http_429":
        assert failed.retry_after_s == pytest.approx(0.05) and failed.http_status == 429
    if status == "timeout":
        assert "read timeout" in (failed.error or "")
    if stream and status == "malformed_response":
        assert r.metadata["stream_restarts"] == 1 and any("trying again" in d for d in deltas)
    elif stream:
        assert "".join(deltas) == r.text


@pytest.mark.parametrize(("model", "stream"), MODES, ids=IDS)
async def test_truncated_json_is_repaired_and_says_so(server: MockServer, model: str, stream: bool) -> None:
    server.set_fault(fleet_name(model), truncated_json=1.0)
    t = http_transport(server)
    _, r = await send(t, treq(model, prompt="weather in Oslo please", tools=(WEATHER_TOOL,)), stream)
    await t.aclose()
    assert r.status == "ok"
    assert [a.status for a in r.attempts] == ["ok"]  # the model's broken JSON is not a transport failure
    call = r.tool_calls[0]
    if model == ANTHROPIC_MODEL and not stream:
        # A non-streamed Anthropic tool input is a JSON object on the wire, so there is nothing to repair;
        # the mock keeps the cut text inside it.
        assert not r.json_repaired and "_truncated" in call["arguments"]
    else:
        assert r.json_repaired and isinstance(call["arguments"], dict) and "oslo" in call["arguments"]["city"]
        assert not call["raw_arguments"].endswith("}")


async def test_json_mode_answer_is_repaired(server: MockServer) -> None:
    server.set_fault("openai/gpt-4o-mini", truncated_json=1.0)
    t = http_transport(server)
    t.registry.model_params[OPENAI_MODEL] = {"response_format": {"type": "json_object"}}
    r = await t.complete(treq(OPENAI_MODEL))
    await t.aclose()
    assert r.json_repaired and isinstance(json.loads(r.text), dict) and "raw_text" in r.metadata


async def test_slow_stream_trips_the_read_timeout_then_recovers(server: MockServer) -> None:
    server.set_fault("openai/gpt-4o-mini", slow_stream_ms=400, times=1)
    t = http_transport(server, read_s=0.15)
    deltas, r = await send(t, treq(OPENAI_MODEL), True)
    await t.aclose()
    assert [a.status for a in r.attempts] == ["timeout", "ok"] and r.status == "ok"
    # The stall came before any text (after the role chunk), so the caller saw one clean answer.
    assert "stream_restarts" not in r.metadata and "".join(deltas) == r.text


async def test_a_dead_deployment_falls_back_after_its_retries(server: MockServer) -> None:
    server.set_fault("openai/gpt-4o-mini", error_rate=1.0)
    t = http_transport(server)
    r = await t.complete(treq(OPENAI_MODEL, "mock/groq/llama-3.1-8b"))
    await t.aclose()
    assert [(a.deployment, a.status) for a in r.attempts] == [(OPENAI_MODEL, "http_503")] * 3 + [
        ("mock/groq/llama-3.1-8b", "ok")]
    assert r.served_model == "mock/groq/llama-3.1-8b"


async def test_no_fallback_loop_and_a_bounded_chain(server: MockServer) -> None:
    server.set_fault("*", error_rate=1.0)
    models = [f"mock/{m}" for m in server.fleet.models()]
    chain = [models[0], *models[1:8], models[0], models[2]]
    t = http_transport(server)
    r = await t.complete(treq(chain[0], *chain[1:]))
    await t.aclose()
    tried = list(dict.fromkeys(a.deployment for a in r.attempts))
    assert r.status == "failed" and tried == models[:6]
    assert len(r.attempts) == 18 and all(a.status == "http_503" for a in r.attempts)


@pytest.mark.parametrize("stream", [False, True], ids=["complete", "stream"])
async def test_every_request_ends_within_its_deadline(server: MockServer, stream: bool) -> None:
    server.set_fault("*", hang=1.0)
    t = http_transport(server, read_s=5.0, deadline_s=0.6)
    _, r = await send(t, treq(OPENAI_MODEL, ANTHROPIC_MODEL), stream)
    await t.aclose()
    assert r.status == "failed" and [a.status for a in r.attempts] == ["deadline_exceeded"]
    assert r.latency_ms < 0.6 * 1000 + 400  # asyncio.timeout cut the hanging request at the deadline


async def test_unknown_model_is_a_404_and_not_retried(server: MockServer) -> None:
    t = http_transport(server)
    r = await t.complete(treq("mock/acme/nope", OPENAI_MODEL))
    await t.aclose()
    assert [a.status for a in r.attempts] == ["http_404", "ok"]
    assert "does not exist" in (r.attempts[0].error or "")


async def test_concurrent_requests_share_the_pool(server: MockServer) -> None:
    t = http_transport(server)
    results = await asyncio.gather(*(t.complete(treq(OPENAI_MODEL if i % 2 else ANTHROPIC_MODEL)) for i in range(24)))
    await t.aclose()
    assert all(r.status == "ok" for r in results)
    assert server.fleet.requests == 24


async def test_scheduled_outage_over_http(tmp_path: Path) -> None:
    # The fleet's own schedule (requests 0-2 of the server are an outage for gpt-4o-mini) shows up as 503s.
    with MockServer(seed=0, schedule=None) as srv:
        srv.fleet.schedule = type(srv.fleet.schedule)([outage("openai/gpt-4o-mini", 0, 2)])
        t = http_transport(srv)
        r = await t.complete(treq(OPENAI_MODEL))
        await t.aclose()
    assert [a.status for a in r.attempts] == ["http_503", "http_503", "ok"]


async def test_a_session_streams_through_the_http_transport(server: MockServer) -> None:
    cfg = parse_config({
        "transport": {"kind": "http", "retry": {"backoff_initial_s": 0.01, "backoff_cap_s": 0.02}},
        "providers": {"mock": {"base_url": server.base_url}},
        "pipelines": {"default": {"router": "static",
                                  "preferred_models": ["mock/openai/gpt-4o-mini", "mock/groq/llama-3.1-8b"]}},
    })
    registry = build_pipeline(cfg, seed=0)
    sink: list[Trajectory] = []
    session = Session(registry, sink)
    events: list[object] = []
    session.subscribe(events.append)
    server.set_fault("openai/gpt-4o-mini", error_rate=1.0)
    t = await session.run(ChatRequest.from_prompt("tell me about queues"), stream=True)
    await registry.transport.aclose()
    assert sink == [t] and t.response.status == "ok" and t.response.served_model == "mock/groq/llama-3.1-8b"
    assert "http_503" in [a.status for a in t.response.attempts]  # the failed tries are in the trajectory
    deltas = [e.text for e in events if isinstance(e, StreamDelta)]
    assert len(deltas) > 10 and "".join(deltas) == t.response.text


# -- the server's own surface ----------------------------------------------------------------------
async def test_models_faults_switch_and_protocol_checks(server: MockServer) -> None:
    root = server.base_url.removesuffix("/v1")
    async with httpx.AsyncClient() as c:
        models = (await c.get(f"{server.base_url}/models")).json()
        assert models["object"] == "list" and "openai/gpt-4o-mini" in [m["id"] for m in models["data"]]
        set_ = await c.post(f"{root}/_mock/faults", json={"models": {"openai/gpt-4o": {"rate_429": 0.5}}})
        assert set_.status_code == 200 and set_.json()["models"]["openai/gpt-4o"]["rate_429"] == 0.5
        bad = await c.post(f"{root}/_mock/faults", json={"models": {"x/y": {"rate_492": 1}}})
        assert bad.status_code == 400 and "rate_492" in bad.json()["error"]["message"]
        assert (await c.delete(f"{root}/_mock/faults")).json() == {"models": {}}
        no_version = await c.post(f"{server.base_url}/messages",
                                  json={"model": "openai/gpt-4o", "max_tokens": 5,
                                        "messages": [{"role": "user", "content": "hi"}]})
        assert no_version.status_code == 400 and no_version.json()["type"] == "error"
        not_json = await c.post(f"{server.base_url}/chat/completions", content=b"{nope")
        assert not_json.status_code == 400 and "error" in not_json.json()


def test_faults_documents_are_checked(tmp_path: Path) -> None:
    faults, schedule = parse_faults({"models": {"*": {"hang": 0.1}, "openai/gpt-4o": {"reset": 1.0, "times": 2}},
                                     "events": [{"kind": "outage", "model": "openai/gpt-4o", "start": 5, "end": 9}]})
    assert faults["openai/gpt-4o"].times == 2 and schedule.down("openai/gpt-4o", 6, 0.0)
    for doc, words in [
        ({"model": {}}, "unknown key(s) model"),
        ({"models": {"a/b": {"hang": 2}}}, "faults.models.a/b.hang: a probability"),
        ({"models": {"a/b": {"error_status": 200}}}, "error_status"),
        ({"events": [{"kind": "outage"}]}, "needs `kind` and `model`"),
    ]:
        with pytest.raises(BadInputError, match="faults") as info:
            parse_faults(doc)
        assert words in str(info.value)
    bad = tmp_path / "f.json"
    bad.write_text("{oops")
    with pytest.raises(BadInputError, match="line 1 column 2"):
        load_faults(bad)
    with pytest.raises(BadInputError, match="not a loopback address"):
        MockServer("0.0.0.0")
