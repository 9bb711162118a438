"""Wire fuzzing: SSE byte streams split anywhere, and provider answers of every shape, into the parsers and decoders.

The SSE parser never raises and gives the same events however the bytes are split. The OpenAI and Anthropic
decoders (whole answers and stream parsers) either raise their documented errors (WireError for a protocol
fault, StreamProviderError for an error the provider reported) or return a Parsed whose every field has its
declared type. And through the real transport, any answer ends as an LlmResponse: never an exception.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterable
from typing import Any

import httpx
import pytest
from fuzz_support import FUZZ, json_values, mutate
from hypothesis import given, settings
from hypothesis import strategies as st
from transport_support import PRICES, fixture_text, treq

from workbench.domain import LlmResponse
from workbench.transport import wire_anthropic, wire_openai
from workbench.transport.http import HttpSettings, HttpTransport
from workbench.transport.keys import KeyRing
from workbench.transport.providers import ProviderRegistry
from workbench.transport.resilience import RetryPolicy
from workbench.transport.sse import SseEvent, aiter_sse
from workbench.transport.wire import Parsed, StreamProviderError, WireError

WHOLE = {
    "openai": [json.loads(fixture_text(f)) for f in ("openai_chat.json", "openai_tool_calls.json",
                                                      "openai_error_429.json")],
    "anthropic": [json.loads(fixture_text(f)) for f in ("anthropic_message.json", "anthropic_tool_use.json",
                                                         "anthropic_error_overloaded.json")],
}
STREAMS = {
    "openai": [fixture_text(f) for f in ("openai_stream_text.sse", "openai_stream_tool_calls.sse")],
    "anthropic": [fixture_text(f) for f in ("anthropic_stream_text.sse", "anthropic_stream_tool_use.sse")],
}
WIRES = {"openai": wire_openai, "anthropic": wire_anthropic}
PARSERS = {"openai": wire_openai.OpenAIStreamParser, "anthropic": wire_anthropic.AnthropicStreamParser}


# -- SSE ---------------------------------------------------------------------------------------------------------


async def _chunks(parts: Iterable[bytes]) -> AsyncIterator[bytes]:
    for p in parts:
        yield p


def events_of(parts: Iterable[bytes]) -> list[SseEvent]:
    async def collect() -> list[SseEvent]:
        return [e async for e in aiter_sse(_chunks(parts))]

    return asyncio.run(collect())


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    return [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]


sse_lines = st.lists(
    st.one_of(
        st.builds(lambda k, v: f"{k}:{v}", st.sampled_from(["data", "event", "id", "retry", "", "dat"]),
                  st.text(max_size=12)),
        st.builds(lambda k, v: f"{k}: {v}", st.sampled_from(["data", "event", "id", "retry"]), st.text(max_size=12)),
        st.sampled_from(["", ":keep-alive", "data", "data:", "retry: 15", "id: \x00", "data: [DONE]"]),
    ),
    max_size=12,
)
sse_text = st.builds(lambda lines, eol: eol.join(lines) + eol + eol, sse_lines, st.sampled_from(["\n", "\r\n", "\r"]))
sse_bytes = st.one_of(st.binary(max_size=200), sse_text.map(lambda s: s.encode("utf-8")))


@settings(max_examples=400, **FUZZ)
@given(sse_bytes, st.lists(st.integers(0, 400), max_size=8))
def test_sse_never_raises_and_any_split_gives_the_same_events(data: bytes, cuts: list[int]) -> None:
    whole = events_of([data])
    assert events_of(split(data, cuts)) == whole
    assert events_of([data[i : i + 1] for i in range(len(data))]) == whole  # one byte at a time
    for e in whole:
        assert isinstance(e.event, str) and e.event and isinstance(e.data, str)
        assert e.id is None or isinstance(e.id, str)
        assert e.retry is None or isinstance(e.retry, int)


# -- decoders ----------------------------------------------------------------------------------------------------


def assert_typed(p: Parsed) -> None:
    """Every field of a decoded answer has the type the transport relies on."""
    assert isinstance(p.text, str) and isinstance(p.finish_reason, str)
    assert isinstance(p.model, str) and isinstance(p.response_id, str)
    for n in (p.input_tokens, p.output_tokens):
        assert n is None or (type(n) is int and n >= 0), n
    assert isinstance(p.tool_calls, list)
    for call in p.tool_calls:
        assert isinstance(call, dict)
        for key in ("id", "name", "arguments"):
            assert isinstance(call[key], str), (key, call)


def decode_whole(wire: str, data: Any) -> Parsed | None:
    try:
        parsed: Parsed = WIRES[wire].parse_response(data)
    except (WireError, StreamProviderError):
        return None
    assert_typed(parsed)
    return parsed


def decode_stream(wire: str, events: Iterable[SseEvent]) -> Parsed | None:
    parser = PARSERS[wire]()
    try:
        for event in events:
            delta = parser.feed(event)
            assert delta is None or isinstance(delta, str), delta
            if parser.done:
                break
        parsed = parser.result()
    except (WireError, StreamProviderError):
        return None
    assert_typed(parsed)
    return parsed


def payload_events(text: str) -> list[tuple[str, Any]]:
    return [(e.event, json.loads(e.data)) for e in events_of([text.encode()]) if e.data != "[DONE]"]


@settings(max_examples=500, **FUZZ)
@given(st.sampled_from(sorted(WIRES)), st.data())
def test_decoders_give_a_typed_answer_or_their_documented_error(wire: str, data: st.DataObject) -> None:
    if data.draw(st.booleans()):
        decode_whole(wire, data.draw(st.one_of(json_values, st.sampled_from(WHOLE[wire]).map(
            lambda doc: mutate(data.draw, doc)))))
        return
    events = payload_events(data.draw(st.sampled_from(STREAMS[wire])))
    for _ in range(data.draw(st.integers(1, 3))):
        i = data.draw(st.integers(0, len(events) - 1))
        name, payload = events[i]
        events[i] = (name, mutate(data.draw, payload) if data.draw(st.booleans()) else data.draw(json_values))
    stream = [SseEvent(name, json.dumps(payload)) for name, payload in events]
    if wire == "openai":
        stream.append(SseEvent("message", "[DONE]"))
    decode_stream(wire, stream)


@settings(max_examples=200, **FUZZ)
@given(st.sampled_from(sorted(WIRES)), st.binary(max_size=300))
def test_stream_parsers_on_random_bytes(wire: str, data: bytes) -> None:
    decode_stream(wire, events_of([data]))


def test_the_fixtures_decode_cleanly() -> None:
    """The unmutated fixtures are the valid side of the property above."""
    for wire in WIRES:
        assert sum(decode_whole(wire, doc) is not None for doc in WHOLE[wire]) == 2
        for text in STREAMS[wire]:
            parsed = decode_stream(wire, events_of([text.encode()]))
            assert parsed is not None and (parsed.text or parsed.tool_calls)


# -- through the transport ---------------------------------------------------------------------------------------


KEYS = KeyRing(env={"OPENAI_API_KEY": "sk-fuzz-openai-0000000000", "ANTHROPIC_API_KEY": "sk-fuzz-anthropic-0000000"})


def answer_transport(body: bytes, content_type: str) -> HttpTransport:
    """The real transport, whose provider answers every request with `body` (no network: httpx.MockTransport)."""

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=body, headers={"content-type": content_type})

    return HttpTransport(ProviderRegistry(), PRICES, keys=KEYS,
                         client=httpx.AsyncClient(transport=httpx.MockTransport(handler)),
                         settings=HttpSettings(retry=RetryPolicy(max_retries=0), deadline_s=5.0), seed=0)


@settings(max_examples=200, **FUZZ)
@given(st.sampled_from(["anthropic/claude-sonnet-4", "openai/gpt-4o-mini"]), st.booleans(), st.data())
def test_any_answer_through_the_transport_is_an_llm_response(model: str, stream: bool, data: st.DataObject) -> None:
    wire = "anthropic" if model.startswith("anthropic") else "openai"
    if stream:
        events = payload_events(data.draw(st.sampled_from(STREAMS[wire])))
        i = data.draw(st.integers(0, len(events) - 1))
        events[i] = (events[i][0], mutate(data.draw, events[i][1]))
        body = "".join(f"event: {n}\ndata: {json.dumps(p)}\n\n" for n, p in events).encode()
        if wire == "openai":
            body += b"data: [DONE]\n\n"
    else:
        body = json.dumps(mutate(data.draw, data.draw(st.sampled_from(WHOLE[wire])))).encode()
    transport = answer_transport(body, "text/event-stream" if stream else "application/json")
    request = treq(model)

    async def run() -> LlmResponse:
        try:
            if not stream:
                return await transport.complete(request)
            *_, final = [x async for x in transport.stream(request)]
            assert isinstance(final, LlmResponse)
            return final
        finally:
            await transport._http().aclose()  # the test's client: the transport does not own it

    r = asyncio.run(run())
    assert r.status in ("ok", "failed") and len(r.attempts) == 1
    if r.status == "ok":
        assert isinstance(r.text, str) and r.usage.input_tokens >= 0 and r.cost_usd >= 0
        json.dumps(r.metadata)  # what the store will serialise
    else:
        assert r.attempts[0].status in ("malformed_response", "stream_error") or r.attempts[0].status.startswith(
            "provider_"), r.attempts[0]


# Found by the fuzzing above: these used to escape the transport as TypeErrors (so the session lost the request).
OPENAI_CHAT = WHOLE["openai"][0]
BAD_ANSWERS = [
    ("openai/gpt-4o-mini", False,
     json.dumps({**OPENAI_CHAT, "usage": {"prompt_tokens": "14", "completion_tokens": 2}})),
    ("openai/gpt-4o-mini", True, 'data: {"choices": [{"index": 0, "delta": {"content": 5}}], "model": "m"}\n\n'
                                 'data: [DONE]\n\n'),
    ("openai/gpt-4o-mini", True, 'data: {"choices": [], "usage": [1, 2]}\n\ndata: [DONE]\n\n'),
    ("openai/gpt-4o-mini", True, 'data: {"choices": [{"index": 0, "delta": {"tool_calls": [{"index": 1e999}]}}]}'
                                 '\n\ndata: [DONE]\n\n'),  # json reads 1e999 as inf: int() overflows
    ("anthropic/claude-sonnet-4", True,
     'event: message_start\ndata: {"type": "message_start", "message": {"id": "m", "usage": {"input_tokens": 1}}}\n\n'
     'event: content_block_start\ndata: {"type": "content_block_start", "index": 0, "content_block": '
     '{"type": "text", "text": ""}}\n\n'
     'event: content_block_delta\ndata: {"type": "content_block_delta", "index": 0, "delta": '
     '{"type": "text_delta", "text": 7}}\n\n'
     'event: message_stop\ndata: {"type": "message_stop"}\n\n'),
]


@pytest.mark.parametrize(("model", "stream", "body"), BAD_ANSWERS, ids=["usage-str", "content-int", "usage-list",
                                                                       "index-inf", "anthropic-text-int"])
async def test_wrongly_typed_fields_are_a_malformed_response(model: str, stream: bool, body: str) -> None:
    transport = answer_transport(body.encode(), "text/event-stream" if stream else "application/json")
    try:
        if stream:
            *_, r = [x async for x in transport.stream(treq(model))]
        else:
            r = await transport.complete(treq(model))
    finally:
        await transport._http().aclose()
    assert isinstance(r, LlmResponse) and r.status == "failed"
    assert [a.status for a in r.attempts] == ["malformed_response"] and r.attempts[0].error


def test_tool_arguments_sent_as_an_object_are_encoded() -> None:
    """Some OpenAI-compatible servers send the arguments object itself rather than its JSON text."""
    call = {"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": {"city": "Oslo"}}}
    doc = {**OPENAI_CHAT, "choices": [{"index": 0, "finish_reason": "tool_calls",
                                       "message": {"role": "assistant", "content": None, "tool_calls": [call]}}]}
    parsed = wire_openai.parse_response(doc)
    assert parsed.tool_calls[0]["arguments"] == '{"city": "Oslo"}'
