"""The OpenAI chat/completions wire format: request bodies, JSON responses and SSE chunk streams -> `Parsed`.

Spoken by OpenAI and by every OpenAI-compatible provider in the registry (groq, deepseek, gemini's
compatibility endpoint, mistral, together, ollama, vllm, the mock server, ...). Streams are `data:` lines of
`chat.completion.chunk` objects ending with `data: [DONE]`; tool calls arrive in pieces keyed by `index`;
usage arrives in a last chunk with no choices when `stream_options.include_usage` is set.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from workbench.domain import TransportRequest
from workbench.transport.providers import Deployment
from workbench.transport.sse import SseEvent
from workbench.transport.wire import (
    Parsed,
    StreamProviderError,
    WireError,
    arguments_text,
    loads_event,
    string,
    text_of,
    token_count,
)

PATH = "/chat/completions"


def openai_tool(tool: Mapping[str, Any]) -> dict[str, Any]:
    """A tool in OpenAI's `{"type": "function", "function": {...}}` shape (Anthropic-shaped ones are converted)."""
    if tool.get("type") == "function" and "function" in tool:
        return dict(tool)
    return {
        "type": "function",
        "function": {
            "name": tool.get("name", ""),
            "description": tool.get("description", ""),
            "parameters": tool.get("input_schema") or tool.get("parameters") or {"type": "object", "properties": {}},
        },
    }


def build_body(dep: Deployment, request: TransportRequest, *, stream: bool) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": dep.model,
        "messages": [{"role": m.role, "content": m.content} for m in request.messages],
    }
    if request.tools:
        body["tools"] = [openai_tool(t) for t in request.tools]
    if request.max_output_tokens:
        body["max_tokens"] = request.max_output_tokens
    body.update(dep.params)
    if stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    return body


def build_headers(dep: Deployment, key: str | None) -> dict[str, str]:
    headers = dict(dep.provider.headers)
    if key:
        headers["Authorization"] = f"Bearer {key}"
    return headers


def _error_of(data: Mapping[str, Any]) -> StreamProviderError:
    err = data.get("error")
    if isinstance(err, Mapping):
        return StreamProviderError(str(err.get("type") or err.get("code") or "error"), str(err.get("message", "")))
    return StreamProviderError("error", str(err))


def parse_response(data: Any) -> Parsed:
    """A non-streamed `chat.completion` object."""
    if not isinstance(data, Mapping):
        raise WireError(f"expected a JSON object, got {type(data).__name__}")
    if "error" in data and "choices" not in data:
        raise _error_of(data)
    try:
        choice = data["choices"][0]
        message = choice["message"]
        calls = [
            {
                "id": str(tc.get("id", "")),
                "type": "function",
                "name": str(tc["function"]["name"]),
                "arguments": arguments_text(tc["function"].get("arguments")),
            }
            for tc in message.get("tool_calls") or []
        ]
        usage = data.get("usage") or {}
        return Parsed(
            text=text_of(message.get("content")),
            tool_calls=calls,
            input_tokens=token_count(usage.get("prompt_tokens"), "prompt_tokens"),
            output_tokens=token_count(usage.get("completion_tokens"), "completion_tokens"),
            finish_reason=str(choice.get("finish_reason") or "stop"),
            model=str(data.get("model", "")),
            response_id=str(data.get("id", "")),
        )
    except (KeyError, IndexError, TypeError, AttributeError) as exc:
        raise WireError(f"chat.completion without the expected fields ({type(exc).__name__}: {exc})") from None


class OpenAIStreamParser:
    """Accumulates `chat.completion.chunk` events; complete once `[DONE]` (or a finish_reason) has arrived."""

    def __init__(self) -> None:
        self.done = False
        self._parts: list[str] = []
        self._calls: dict[int, dict[str, Any]] = {}
        self._finish: str | None = None
        self._input: int | None = None
        self._output: int | None = None
        self._model = ""
        self._id = ""

    def feed(self, event: SseEvent) -> str | None:
        data = event.data
        if data == "[DONE]":
            self.done = True
            return None
        if not data:
            return None
        try:
            chunk = loads_event(data)
        except json.JSONDecodeError as exc:
            raise WireError(f"stream chunk is not JSON ({exc.msg} at column {exc.colno}): {data[:80]!r}") from None
        if not isinstance(chunk, dict):
            raise WireError(f"stream chunk is not a JSON object: {data[:80]!r}")
        choices = chunk.get("choices")
        if choices and len(choices) == 1 and len(chunk) > 1:
            # The per-token shape: one choice whose delta holds only text. Handled without the general
            # bookkeeping below, which costs more than the token itself on long streams.
            choice = choices[0]
            delta = choice.get("delta") if isinstance(choice, dict) else None
            if (isinstance(delta, dict) and choice.get("finish_reason") is None and choice.get("index", 0) == 0
                    and "tool_calls" not in delta and not chunk.get("usage") and "error" not in chunk):
                content = delta.get("content")
                if content and isinstance(content, str):
                    self._parts.append(content)
                    return content
        if "error" in chunk:
            raise _error_of(chunk)
        out: list[str] = []
        try:
            self._model = string(chunk.get("model"), "model") or self._model
            self._id = string(chunk.get("id"), "id") or self._id
            usage = chunk.get("usage")
            if usage:
                self._input = token_count(usage.get("prompt_tokens"), "prompt_tokens")
                self._output = token_count(usage.get("completion_tokens"), "completion_tokens")
            for choice in chunk.get("choices") or ():
                if choice.get("index", 0) != 0:
                    continue
                delta = choice.get("delta") or {}
                content = string(delta.get("content"), "delta.content")
                if content:
                    out.append(content)
                for tc in delta.get("tool_calls") or ():
                    slot = self._calls.setdefault(
                        int(tc.get("index", 0)), {"id": "", "type": "function", "name": "", "arguments": ""}
                    )
                    if tc.get("id"):
                        slot["id"] = string(tc["id"], "tool_calls.id")
                    fn = tc.get("function") or {}
                    if fn.get("name") and not slot["name"]:
                        slot["name"] = string(fn["name"], "tool_calls.function.name")
                    if fn.get("arguments"):
                        slot["arguments"] += arguments_text(fn["arguments"])
                if choice.get("finish_reason"):
                    self._finish = string(choice["finish_reason"], "finish_reason")
        # OverflowError: an index of 1e999 parses as inf, and int(inf) overflows.
        except (TypeError, AttributeError, ValueError, OverflowError) as exc:
            raise WireError(f"stream chunk without the expected fields ({exc})") from None
        if not out:
            return None
        text = "".join(out)
        self._parts.append(text)
        return text

    def result(self) -> Parsed:
        if not self.done and self._finish is None:
            raise WireError("stream ended before a finish_reason or data: [DONE] (cut short)")
        return Parsed(
            text="".join(self._parts),
            tool_calls=[self._calls[i] for i in sorted(self._calls)],
            input_tokens=self._input,
            output_tokens=self._output,
            finish_reason=self._finish or "stop",
            model=self._model,
            response_id=self._id,
        )
