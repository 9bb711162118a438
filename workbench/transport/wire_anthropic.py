"""The Anthropic Messages wire format: request bodies, JSON responses and SSE event streams -> `Parsed`.

The system prompt travels separately from the messages, `max_tokens` is required, the answer is a list
of content blocks (`text`, `tool_use`), and streams are named events: `message_start`,
`content_block_start` / `content_block_delta` (`text_delta`, `input_json_delta`) / `content_block_stop`,
`message_delta` (stop reason, output tokens), `message_stop`, plus `ping` and `error`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from workbench.domain import TransportRequest
from workbench.transport.providers import Deployment
from workbench.transport.sse import SseEvent
from workbench.transport.wire import Parsed, StreamProviderError, WireError, loads_event, string, token_count

PATH = "/messages"
API_VERSION = "2023-06-01"
DEFAULT_MAX_TOKENS = 4096
# Anthropic's stop reasons in the OpenAI vocabulary the rest of the workbench uses.
STOP_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}
# OpenAI-only request fields an override may carry that the Messages API would reject.
_OPENAI_ONLY = ("response_format", "frequency_penalty", "presence_penalty", "seed", "n", "logprobs")


def anthropic_tool(tool: Mapping[str, Any]) -> dict[str, Any]:
    if "input_schema" in tool:
        return dict(tool)
    fn = tool.get("function", tool)
    return {
        "name": fn.get("name", ""),
        "description": fn.get("description", ""),
        "input_schema": fn.get("parameters") or {"type": "object", "properties": {}},
    }


def build_body(dep: Deployment, request: TransportRequest, *, stream: bool) -> dict[str, Any]:
    system = "\n\n".join(m.content for m in request.messages if m.role == "system")
    messages: list[dict[str, Any]] = []
    for m in request.messages:
        if m.role == "system":
            continue
        role = "assistant" if m.role == "assistant" else "user"
        content = m.content if m.role != "tool" else f"[tool result]\n{m.content}"
        if messages and messages[-1]["role"] == role:
            messages[-1]["content"] += "\n\n" + content  # the API wants the roles to alternate
        else:
            messages.append({"role": role, "content": content})
    params = {k: v for k, v in dep.params.items() if k not in _OPENAI_ONLY}
    if "stop" in params:
        stop = params.pop("stop")
        params["stop_sequences"] = [stop] if isinstance(stop, str) else list(stop)
    body: dict[str, Any] = {
        "model": dep.model,
        "max_tokens": request.max_output_tokens or params.pop("max_tokens", None) or DEFAULT_MAX_TOKENS,
        "messages": messages,
    }
    params.pop("max_tokens", None)
    if system:
        body["system"] = system
    if request.tools:
        body["tools"] = [anthropic_tool(t) for t in request.tools]
    body.update(params)
    if stream:
        body["stream"] = True
    return body


def build_headers(dep: Deployment, key: str | None) -> dict[str, str]:
    headers = {"anthropic-version": API_VERSION, **dep.provider.headers}
    if key:
        headers["x-api-key"] = key
    return headers


def _error(data: Mapping[str, Any]) -> StreamProviderError:
    err = data.get("error") or {}
    if not isinstance(err, Mapping):
        return StreamProviderError("error", str(err))
    return StreamProviderError(str(err.get("type", "error")), str(err.get("message", "")))


def parse_response(data: Any) -> Parsed:
    """A non-streamed `message` object."""
    if not isinstance(data, Mapping):
        raise WireError(f"expected a JSON object, got {type(data).__name__}")
    if data.get("type") == "error":
        raise _error(data)
    try:
        texts: list[str] = []
        calls: list[dict[str, Any]] = []
        for block in data["content"]:
            if block["type"] == "text":
                texts.append(block["text"])
            elif block["type"] == "tool_use":
                calls.append({"id": str(block.get("id", "")), "type": "function", "name": str(block["name"]),
                              "arguments": json.dumps(block.get("input", {}))})
        usage = data.get("usage") or {}
        return Parsed(
            text="".join(texts),
            tool_calls=calls,
            input_tokens=token_count(usage.get("input_tokens"), "input_tokens"),
            output_tokens=token_count(usage.get("output_tokens"), "output_tokens"),
            finish_reason=STOP_REASONS.get(str(data.get("stop_reason")), str(data.get("stop_reason") or "stop")),
            model=str(data.get("model", "")),
            response_id=str(data.get("id", "")),
        )
    except (KeyError, TypeError, AttributeError) as exc:
        raise WireError(f"message without the expected fields ({type(exc).__name__}: {exc})") from None


class AnthropicStreamParser:
    """Accumulates Messages stream events; complete once `message_stop` has arrived."""

    def __init__(self) -> None:
        self.done = False
        self._blocks: dict[int, dict[str, Any]] = {}
        self._stop: str | None = None
        self._input: int | None = None
        self._output: int | None = None
        self._model = ""
        self._id = ""

    def feed(self, event: SseEvent) -> str | None:
        if not event.data:
            return None
        try:
            payload = loads_event(event.data)
        except json.JSONDecodeError as exc:
            raise WireError(f"stream event is not JSON ({exc.msg}): {event.data[:80]!r}") from None
        if not isinstance(payload, dict):
            raise WireError(f"stream event is not a JSON object: {event.data[:80]!r}")
        kind = payload.get("type") or event.event
        try:
            return self._apply(kind, payload)
        # OverflowError: an index of 1e999 parses as inf, and int(inf) overflows.
        except (KeyError, TypeError, AttributeError, ValueError, OverflowError) as exc:
            raise WireError(f"{kind} event without the expected fields ({type(exc).__name__}: {exc})") from None

    def _apply(self, kind: str, payload: dict[str, Any]) -> str | None:
        if kind == "content_block_delta":  # first: one of these per token
            block = self._blocks.get(payload["index"])
            if block is None:
                raise WireError(f"content_block_delta for block {payload['index']} before its content_block_start")
            delta = payload["delta"]
            kind = delta["type"]
            if kind == "text_delta":
                text = string(delta["text"], "text_delta.text")
                block["parts"].append(text)
                return text or None
            if kind == "input_json_delta":
                block["parts"].append(string(delta.get("partial_json"), "input_json_delta.partial_json"))
            return None  # thinking / signature deltas are not part of the answer text
        if kind == "message_start":
            message = payload["message"]
            self._id, self._model = str(message.get("id", "")), str(message.get("model", ""))
            usage = message.get("usage") or {}
            self._input = token_count(usage.get("input_tokens"), "input_tokens")
            self._output = token_count(usage.get("output_tokens"), "output_tokens")
        elif kind == "content_block_start":
            block = payload["content_block"]
            text = string(block.get("text"), "content_block.text")
            # `parts`: text pieces of a text block, partial JSON pieces of a tool_use block.
            self._blocks[int(payload["index"])] = {
                "type": block["type"], "parts": [text], "id": string(block.get("id"), "content_block.id"),
                "name": string(block.get("name"), "content_block.name"),
            }
            return text or None
        elif kind == "message_delta":
            self._stop = payload.get("delta", {}).get("stop_reason") or self._stop
            usage = payload.get("usage") or {}
            if "output_tokens" in usage:
                self._output = token_count(usage["output_tokens"], "output_tokens")
            if usage.get("input_tokens") is not None:
                self._input = token_count(usage["input_tokens"], "input_tokens")
        elif kind == "message_stop":
            self.done = True
        elif kind == "error":
            raise _error(payload)
        return None  # ping, content_block_stop and event types added later

    def result(self) -> Parsed:
        if not self.done:
            raise WireError("stream ended before message_stop (cut short)")
        texts = ["".join(b["parts"]) for _, b in sorted(self._blocks.items()) if b["type"] == "text"]
        calls = [
            {"id": b["id"], "type": "function", "name": b["name"], "arguments": "".join(b["parts"])}
            for _, b in sorted(self._blocks.items())
            if b["type"] == "tool_use"
        ]
        return Parsed(
            text="".join(texts),
            tool_calls=calls,
            input_tokens=self._input,
            output_tokens=self._output,
            finish_reason=STOP_REASONS.get(str(self._stop), str(self._stop or "stop")),
            model=self._model,
            response_id=self._id,
        )
