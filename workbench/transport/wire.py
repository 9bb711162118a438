"""What both wire formats share: the parsed-answer record, the protocol errors, and the stream-parser interface."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from workbench.transport.sse import SseEvent

_raw_decode = json.JSONDecoder().raw_decode


def loads_event(data: str) -> Any:
    """`json.loads` for one stream event's data, minus its argument checks (this runs once per token)."""
    if data[:1].isspace():
        return json.loads(data)
    value, end = _raw_decode(data)
    if end != len(data) and data[end:].strip():
        raise json.JSONDecodeError("Extra data", data, end)
    return value


class WireError(Exception):
    """The provider's bytes do not follow its protocol (bad JSON, missing fields, a stream cut short)."""


class StreamProviderError(Exception):
    """The provider reported an error inside a stream (Anthropic's `error` event, an OpenAI-style `error` chunk)."""

    def __init__(self, kind: str, message: str) -> None:
        self.kind = kind
        super().__init__(f"{kind}: {message}")


@dataclass(slots=True)
class Parsed:
    """One answer in wire-neutral form. Tool-call `arguments` are still raw JSON text here."""

    text: str = ""
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    input_tokens: int | None = None
    output_tokens: int | None = None
    finish_reason: str = "stop"
    model: str = ""
    response_id: str = ""


# The decoders check the type of every field they hand on: a provider (or a proxy in between) that sends a number
# where text belongs must fail as a protocol fault (retried, recorded), not as a TypeError deep in pricing or storage.
def token_count(value: Any, field: str) -> int | None:
    """A usage figure: None when absent, else a whole number >= 0; anything else is a WireError."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise WireError(f"usage {field} is not a token count: {value!r:.80}")
    return value


def string(value: Any, field: str) -> str:
    """A text field: None reads as empty, a string as itself; anything else is a WireError."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise WireError(f"{field} is not a string: {value!r:.80}")
    return value


def arguments_text(value: Any, field: str = "tool call arguments") -> str:
    """Tool-call arguments as JSON text. Some OpenAI-compatible servers send the object itself: encode it."""
    if isinstance(value, Mapping):
        return json.dumps(value)
    return string(value, field)


class StreamParser(Protocol):
    """Fed one server-sent event at a time; returns the text delta it carried, if any."""

    done: bool

    def feed(self, event: SseEvent) -> str | None: ...

    def result(self) -> Parsed:
        """The whole answer; raises WireError when the stream ended before its terminal event."""
        ...


def text_of(content: Any) -> str:
    """Message content as plain text: a string, or the text parts of a content-part list."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return "" if content is None else str(content)
