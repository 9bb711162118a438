"""JSON repair for structured outputs and tool-call arguments (the `json-repair` library), noting when it was needed.

Models truncate JSON at max_tokens, drop a closing brace or wrap it in prose; `json_repair` recovers
the intended object where it can. Callers get the parsed value and whether a repair happened, so the
response can record `json_repaired` honestly.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from json_repair import repair_json


def parse_lenient(text: str) -> tuple[Any, bool]:
    """(value, repaired). Empty text is an empty object, as providers send for argument-less tool calls."""
    if not text.strip():
        return {}, False
    try:
        return json.loads(text), False
    except json.JSONDecodeError:
        return repair_json(text, return_objects=True), True


def repair_tool_calls(calls: Sequence[Mapping[str, Any]]) -> tuple[list[dict[str, Any]], bool]:
    """Tool calls with `arguments` as raw JSON text -> with `arguments` parsed (repaired if needed)."""
    out: list[dict[str, Any]] = []
    repaired_any = False
    for call in calls:
        raw = call.get("arguments", "")
        if isinstance(raw, str):
            value, repaired = parse_lenient(raw)
        else:
            value, repaired = raw, False
        repaired_any |= repaired
        item = {**call, "arguments": value}
        if repaired:
            item["raw_arguments"] = raw
        out.append(item)
    return out, repaired_any


def repair_structured(text: str) -> tuple[str, bool]:
    """A structured (JSON-mode) answer as canonical JSON text, and whether it had to be repaired."""
    value, repaired = parse_lenient(text)
    if not repaired:
        return text, False
    return json.dumps(value, ensure_ascii=False), True


def wants_json(params: Mapping[str, Any]) -> bool:
    """Whether the request asked for a JSON answer (OpenAI-style `response_format`)."""
    fmt = params.get("response_format")
    return isinstance(fmt, Mapping) and fmt.get("type") in ("json_object", "json_schema")
