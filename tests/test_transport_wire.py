"""Wire formats: recorded OpenAI and Anthropic shapes parse right, whole and split anywhere, through HttpTransport."""

from __future__ import annotations

import itertools
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from transport_support import PRICES, WEATHER_TOOL, fixture_text, treq

from workbench.domain import LlmResponse, Message, TransportRequest
from workbench.transport import wire_anthropic, wire_openai
from workbench.transport.http import HttpSettings, HttpTransport
from workbench.transport.keys import KeyRing
from workbench.transport.providers import ProviderRegistry
from workbench.transport.resilience import RetryPolicy
from workbench.transport.sse import SseEvent, aiter_sse

HAIKU = "Routers weigh each path,\nlatency against the cost -\npackets find their way."
KEYS = KeyRing(env={"OPENAI_API_KEY": "sk-test-openai-0123456789", "ANTHROPIC_API_KEY": "sk-ant-test-0123456789"})


def chunked(data: bytes, cuts: list[int]) -> Callable[[], AsyncIterator[bytes]]:
    bounds = [0, *sorted(set(c for c in cuts if 0 < c < len(data))), len(data)]

    async def body() -> AsyncIterator[bytes]:
        for a, b in itertools.pairwise(bounds):
            yield data[a:b]

    return body


def replay_transport(body: bytes, *, stream: bool, cuts: list[int] | None = None, status: int = 200,
                     seen: list[httpx.Request] | None = None) -> HttpTransport:
    """An HttpTransport whose every request gets `body` back, streamed in pieces cut at `cuts`."""
    ctype = "text/event-stream" if stream else "application/json"

    def handler(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request)
        return httpx.Response(status, headers={"content-type": ctype}, content=chunked(body, cuts or [])())

    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    settings_ = HttpSettings(retry=RetryPolicy(max_retries=0), deadline_s=5.0)
    return HttpTransport(ProviderRegistry(), PRICES, keys=KEYS, settings=settings_, client=client)


async def collect(t: HttpTransport, request: TransportRequest) -> tuple[list[str], LlmResponse]:
    items = [x async for x in t.stream(request)]
    *deltas, final = items
    assert isinstance(final, LlmResponse) and all(isinstance(d, str) for d in deltas)
    return [str(d) for d in deltas], final


# -- non-streamed bodies ---------------------------------------------------------------------------
async def test_openai_chat_completion_fixture() -> None:
    t = replay_transport(fixture_text("openai_chat.json").encode(), stream=False)
    r = await t.complete(treq("openai/gpt-4o-mini"))
    assert r.status == "ok" and r.text == HAIKU and r.finish_reason == "stop"
    assert (r.usage.input_tokens, r.usage.output_tokens) == (14, 21)
    assert r.metadata["upstream_model"] == "gpt-4o-mini-2024-07-18"
    assert r.cost_usd == pytest.approx(PRICES.cost("openai/gpt-4o-mini", 14, 21)) and r.cost_usd > 0
    assert r.price_version == PRICES.version
    await t.aclose()


async def test_openai_parallel_tool_calls_fixture() -> None:
    t = replay_transport(fixture_text("openai_tool_calls.json").encode(), stream=False)
    r = await t.complete(treq("openai/gpt-4o", tools=(WEATHER_TOOL,)))
    assert r.finish_reason == "tool_calls" and r.text == "" and not r.json_repaired
    assert [c["arguments"] for c in r.tool_calls] == [
        {"location": "Paris, France", "unit": "celsius"}, {"location": "Bogotá, Colombia", "unit": "celsius"}]
    assert [c["id"] for c in r.tool_calls] == ["call_DdmO9pD3xa9XTPNJ32zg2hcA", "call_ABCtlQ1qNbTz1L1AfUWHo7Mn"]
    await t.aclose()


async def test_anthropic_message_fixtures() -> None:
    t = replay_transport(fixture_text("anthropic_message.json").encode(), stream=False)
    r = await t.complete(treq("anthropic/claude-sonnet-4"))
    assert r.text == HAIKU and r.finish_reason == "stop" and (r.usage.input_tokens, r.usage.output_tokens) == (25, 19)
    t2 = replay_transport(fixture_text("anthropic_tool_use.json").encode(), stream=False)
    r2 = await t2.complete(treq("anthropic/claude-sonnet-4", tools=(WEATHER_TOOL,)))
    assert r2.text.startswith("I'll check") and r2.finish_reason == "tool_calls"
    assert r2.tool_calls[0]["name"] == "get_weather"
    assert r2.tool_calls[0]["arguments"] == {"location": "San Francisco, CA", "unit": "fahrenheit"}
    await t.aclose()
    await t2.aclose()


# -- streams, whole and split at arbitrary byte boundaries ------------------------------------------
STREAMS: list[tuple[str, str, dict[str, Any]]] = [
    ("openai_stream_text.sse", "openai/gpt-4o-mini",
     {"text": HAIKU, "usage": (14, 21), "finish": "stop", "calls": []}),
    ("openai_stream_tool_calls.sse", "openai/gpt-4o",
     {"text": "", "usage": (82, 52), "finish": "tool_calls",
      "calls": [{"location": "Paris, France", "unit": "celsius"},
                {"location": "Bogotá, Colombia", "unit": "celsius"}]}),
    ("anthropic_stream_text.sse", "anthropic/claude-sonnet-4",
     {"text": HAIKU, "usage": (25, 19), "finish": "stop", "calls": []}),
    ("anthropic_stream_tool_use.sse", "anthropic/claude-sonnet-4",
     {"text": "Okay, let's check the weather for San Francisco, CA:", "usage": (472, 89), "finish": "tool_calls",
      "calls": [{"location": "San Francisco, CA", "unit": "fahrenheit"}]}),
]


def check_stream(deltas: list[str], r: LlmResponse, want: dict[str, Any]) -> None:
    assert r.status == "ok", r.attempts
    assert r.text == want["text"] and "".join(deltas) == want["text"]
    assert (r.usage.input_tokens, r.usage.output_tokens) == want["usage"]
    assert r.finish_reason == want["finish"]
    assert [c["arguments"] for c in r.tool_calls] == want["calls"]
    assert not r.json_repaired and "usage_estimated" not in r.metadata
    assert 0 <= r.ttft_ms <= r.latency_ms


@pytest.mark.parametrize(("name", "model", "want"), STREAMS)
async def test_stream_fixture_whole(name: str, model: str, want: dict[str, Any]) -> None:
    t = replay_transport(fixture_text(name).encode(), stream=True)
    deltas, r = await collect(t, treq(model, tools=(WEATHER_TOOL,) if want["calls"] else ()))
    check_stream(deltas, r, want)
    if want["text"]:
        assert len(deltas) > 1  # arrives in pieces, as it was sent
    await t.aclose()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(which=st.integers(0, len(STREAMS) - 1), cuts=st.lists(st.integers(1, 4000), max_size=40))
async def test_stream_fixture_split_anywhere(which: int, cuts: list[int]) -> None:
    name, model, want = STREAMS[which]
    t = replay_transport(fixture_text(name).encode(), stream=True, cuts=cuts)
    deltas, r = await collect(t, treq(model))
    check_stream(deltas, r, want)
    await t.aclose()


async def test_crlf_line_endings_parse_the_same() -> None:
    body = fixture_text("openai_stream_text.sse").replace("\n", "\r\n").encode()
    deltas, r = await collect(replay_transport(body, stream=True, cuts=[7, 100, 101]), treq("openai/gpt-4o-mini"))
    assert r.text == HAIKU and "".join(deltas) == HAIKU


# -- broken streams are attempts that failed, not exceptions ---------------------------------------
async def test_stream_cut_short_is_a_malformed_response() -> None:
    text = fixture_text("openai_stream_text.sse")
    cut = text[: text.index('"finish_reason":"stop"') - 200]
    cut = cut[: cut.rindex("\n\n") + 2]  # whole events, but no finish chunk and no [DONE]
    _, r = await collect(replay_transport(cut.encode(), stream=True), treq("openai/gpt-4o-mini"))
    assert r.status == "failed" and [a.status for a in r.attempts] == ["malformed_response"]
    assert "cut short" in (r.attempts[0].error or "")


async def test_garbage_chunk_and_provider_error_event() -> None:
    bad = b'data: {"choices": [{"delta": {"content": "hi"}}]}\n\ndata: {"choices": [{"del\n\n'
    _, r = await collect(replay_transport(bad, stream=True), treq("openai/gpt-4o-mini"))
    assert [a.status for a in r.attempts] == ["malformed_response"] and "not JSON" in (r.attempts[0].error or "")
    overloaded = (
        fixture_text("anthropic_stream_text.sse").split("event: content_block_stop")[0]
        + "event: error\ndata: " + fixture_text("anthropic_error_overloaded.json").strip() + "\n\n"
    )
    _, r2 = await collect(replay_transport(overloaded.encode(), stream=True), treq("anthropic/claude-sonnet-4"))
    assert [a.status for a in r2.attempts] == ["stream_error"] and "overloaded_error" in (r2.attempts[0].error or "")


async def test_error_bodies_become_attempt_errors() -> None:
    t = replay_transport(fixture_text("openai_error_429.json").encode(), stream=False, status=429)
    r = await t.complete(treq("openai/gpt-4o-mini"))
    assert r.attempts[0].status == "http_429" and r.attempts[0].http_status == 429
    assert (r.attempts[0].error or "").startswith("requests: Rate limit reached")


# -- request bodies and headers --------------------------------------------------------------------
async def test_requests_on_the_wire() -> None:
    seen: list[httpx.Request] = []
    t = replay_transport(fixture_text("anthropic_message.json").encode(), stream=False, seen=seen)
    request = TransportRequest(
        "anthropic/claude-sonnet-4",
        (Message("system", "Be brief."), Message("user", "hi"), Message("user", "and the weather?")),
        tools=(WEATHER_TOOL,),
    )
    await t.complete(request)
    sent = seen[0]
    body = json.loads(sent.content)
    assert str(sent.url) == "https://api.anthropic.com/v1/messages"
    assert sent.headers["x-api-key"] == "sk-ant-test-0123456789" and sent.headers["anthropic-version"] == "2023-06-01"
    assert "authorization" not in sent.headers
    assert body["model"] == "claude-sonnet-4-20250514"  # the short name maps to the API's dated id
    assert body["system"] == "Be brief." and body["max_tokens"] == wire_anthropic.DEFAULT_MAX_TOKENS
    assert body["messages"] == [{"role": "user", "content": "hi\n\nand the weather?"}]  # roles must alternate
    assert body["tools"][0]["name"] == "get_weather" and "input_schema" in body["tools"][0]

    seen.clear()
    t2 = replay_transport(fixture_text("openai_stream_text.sse").encode(), stream=True, seen=seen)
    await collect(t2, treq("openai/gpt-4o-mini", tools=(WEATHER_TOOL,)))
    sent = seen[0]
    body = json.loads(sent.content)
    assert str(sent.url) == "https://api.openai.com/v1/chat/completions"
    assert sent.headers["authorization"] == "Bearer sk-test-openai-0123456789"
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    assert body["messages"][0] == {"role": "system", "content": "Be brief."} and body["tools"] == [WEATHER_TOOL]


def test_per_model_params_and_wire_specific_fields() -> None:
    reg = ProviderRegistry(model_params={"anthropic/claude-sonnet-4": {"temperature": 0.2, "stop": "END",
                                                                      "response_format": {"type": "json_object"}},
                                         "gpt-4o-mini": {"temperature": 0.1, "seed": 7}},
                           aliases={"gpt-4o-mini": "openai/gpt-4o-mini"})
    a = wire_anthropic.build_body(reg.resolve("anthropic/claude-sonnet-4"), treq("x"), stream=False)
    assert a["temperature"] == 0.2 and a["stop_sequences"] == ["END"] and "response_format" not in a
    o = wire_openai.build_body(reg.resolve("openai/gpt-4o-mini"), treq("x"), stream=False)
    assert o["temperature"] == 0.1 and o["seed"] == 7 and "stream" not in o


# -- the SSE parser itself -------------------------------------------------------------------------
async def events_of(data: bytes, cuts: list[int]) -> list[SseEvent]:
    return [e async for e in aiter_sse(chunked(data, cuts)())]


SSE_DOC = (
    ": keep-alive comment\n"
    "event: first\nid: 7\nretry: 1500\ndata: line one\ndata:line two\n\n"
    "data: {\"é\": \"ü\"}\n\n"
    "event: ignored-no-data\n\n"
    "data\n\n"
    "data: unterminated at the end"
)


@settings(max_examples=60, deadline=None)
@given(cuts=st.lists(st.integers(1, len(SSE_DOC.encode()) - 1), max_size=30),
       ending=st.sampled_from(["\n", "\r\n", "\r"]))
async def test_sse_parser_follows_the_spec_however_the_bytes_are_split(cuts: list[int], ending: str) -> None:
    doc = SSE_DOC.replace("\n", ending).encode()
    events = await events_of(doc, cuts)
    assert events == [
        SseEvent("first", "line one\nline two", "7", 1500),
        SseEvent("message", '{"é": "ü"}'),
        SseEvent("message", ""),  # a bare `data` field is an empty data line: the event still fires
    ]
