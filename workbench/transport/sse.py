"""Incremental server-sent-events parser over an async byte stream (the WHATWG `text/event-stream` rules).

Bytes arrive split anywhere (mid-line, mid-UTF-8 character, between CR and LF); complete events come
out as soon as their blank line has arrived, and an unterminated event at the end is dropped, as the
spec says. It works a whole event at a time on bytes rather than a line at a time on text: streaming
costs one pass per event, which is what keeps the transport close to raw httpx on long streams.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator
from typing import NamedTuple


class SseEvent(NamedTuple):
    """One event. A NamedTuple: built once per streamed token, so it must be cheap to make."""

    event: str = "message"
    data: str = ""
    id: str | None = None
    retry: int | None = None


def parse_block(block: str) -> SseEvent | None:
    """One event's lines (no blank line inside) -> the event, or None when it carries no data."""
    # Fast paths for the two shapes providers send on every token: `data: X` (OpenAI) and
    # `event: E` + `data: X` (Anthropic). Anything else takes the general path below.
    if block.startswith("data: ") and "\n" not in block:
        return SseEvent("message", block[6:])
    if block.startswith("event: "):
        nl = block.find("\n")
        if nl > 7 and block.startswith("data: ", nl + 1) and block.find("\n", nl + 1) < 0:
            return SseEvent(block[7:nl], block[nl + 7 :])
    event = "message"
    data: list[str] = []
    last_id: str | None = None
    retry: int | None = None
    for line in block.split("\n"):
        if not line or line[0] == ":":
            continue  # a comment (keep-alive) or a stray blank line
        name, colon, value = line.partition(":")
        if colon and value[:1] == " ":
            value = value[1:]
        if name == "data":
            data.append(value)
        elif name == "event":
            event = value or "message"
        elif name == "id":
            if "\0" not in value:
                last_id = value
        elif name == "retry" and value.isdigit():
            retry = int(value)
    if not data:
        return None
    return SseEvent(event, "\n".join(data), last_id, retry)


async def aiter_sse(chunks: AsyncIterable[bytes]) -> AsyncIterator[SseEvent]:
    """Events from a byte stream, each as soon as it is complete."""
    buffer = b""
    async for chunk in chunks:
        if not chunk:
            continue
        if not buffer and chunk.endswith(b"\n\n") and chunk.find(b"\n\n") == len(chunk) - 2 and b"\r" not in chunk:
            # The usual case: a read holding exactly one whole event.
            parsed = parse_block(chunk[:-2].decode("utf-8", "replace"))
            if parsed is not None:
                yield parsed
            continue
        buffer += chunk
        if b"\r" in buffer:
            # A CR at the very end may be the first half of a CRLF: keep it until the next chunk says.
            tail = buffer.endswith(b"\r")
            body = buffer[:-1] if tail else buffer
            buffer = body.replace(b"\r\n", b"\n").replace(b"\r", b"\n") + (b"\r" if tail else b"")
        if b"\n\n" not in buffer:
            continue
        *blocks, buffer = buffer.split(b"\n\n")
        for raw in blocks:
            parsed = parse_block(raw.decode("utf-8", "replace"))
            if parsed is not None:
                yield parsed
