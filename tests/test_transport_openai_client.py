"""An outside check that the mock server speaks the real protocol: the official `openai` client talks to it."""

from __future__ import annotations

from collections.abc import Iterator

import openai
import pytest

from workbench.transport.mock_server import MockServer

MODEL = "openai/gpt-4o-mini"
TOOLS = [{"type": "function", "function": {"name": "get_weather", "description": "weather for a city",
                                           "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                                                          "required": ["city"]}}}]


@pytest.fixture
def server() -> Iterator[MockServer]:
    with MockServer(seed=3) as srv:
        yield srv


def client(server: MockServer, retries: int = 0) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.base_url, api_key="sk-test-not-a-real-key", max_retries=retries, timeout=10)


def test_models_and_a_plain_completion(server: MockServer) -> None:
    c = client(server)
    ids = [m.id for m in c.models.list()]
    assert MODEL in ids and "anthropic/claude-sonnet-4" in ids
    r = c.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "summarise queueing theory"}])
    assert r.object == "chat.completion" and r.model == MODEL and r.id.startswith("chatcmpl-")
    choice = r.choices[0]
    assert choice.finish_reason == "stop" and choice.message.role == "assistant" and choice.message.content
    assert r.usage is not None and r.usage.total_tokens == r.usage.prompt_tokens + r.usage.completion_tokens > 0


def test_streaming_with_usage(server: MockServer) -> None:
    stream = client(server).chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "write a story about routers"}], stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    assert all(ch.object == "chat.completion.chunk" for ch in chunks)
    text = "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices)
    finishes = [ch.choices[0].finish_reason for ch in chunks if ch.choices and ch.choices[0].finish_reason]
    assert len(chunks) > 20 and text and finishes == ["stop"]
    assert chunks[-1].choices == [] and chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0


def test_tool_calls_plain_and_streamed(server: MockServer) -> None:
    c = client(server)
    messages = [{"role": "user", "content": "weather in Porto"}]
    r = c.chat.completions.create(model=MODEL, messages=messages, tools=TOOLS)
    call = r.choices[0].message.tool_calls[0]
    assert r.choices[0].finish_reason == "tool_calls" and call.function.name == "get_weather"
    # The SDK's stream helper reassembles tool-call pieces; it only works when they follow the protocol.
    with c.chat.completions.stream(model=MODEL, messages=messages, tools=TOOLS) as stream:
        for _ in stream:
            pass
        final = stream.get_final_completion()
    streamed = final.choices[0].message.tool_calls[0]
    assert final.choices[0].finish_reason == "tool_calls"
    assert streamed.function.name == "get_weather" and "porto" in streamed.function.arguments


def test_errors_map_to_the_sdks_exceptions_and_its_retries_work(server: MockServer) -> None:
    with pytest.raises(openai.NotFoundError):
        client(server).chat.completions.create(model="acme/nope", messages=[{"role": "user", "content": "x"}])
    server.set_fault(MODEL, rate_429=1.0, retry_after_s=0.01)
    with pytest.raises(openai.RateLimitError):
        client(server).chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "x"}])
    server.set_fault(MODEL, error_rate=1.0, times=1)
    r = client(server, retries=2).chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "x"}])
    assert r.choices[0].message.content  # the SDK retried the 503 and got an answer
