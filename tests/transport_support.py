"""Helpers shared by the transport tests: a mock-server registry, fast retry settings, requests, fixture files."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from workbench.domain import Message, TransportRequest
from workbench.prices import load_prices
from workbench.transport.http import HttpSettings, HttpTransport
from workbench.transport.mock_server import MockServer
from workbench.transport.providers import BUILTIN_PROVIDERS, ProviderRegistry, ProviderSpec
from workbench.transport.resilience import RetryPolicy

FIXTURES = Path(__file__).parent / "fixtures" / "transport"
PRICES = load_prices()
OPENAI_MODEL = "mock/openai/gpt-4o-mini"  # the mock server over the OpenAI wire
ANTHROPIC_MODEL = "mocka/anthropic/claude-sonnet-4"  # the same server over the Anthropic wire
WEATHER_TOOL: Mapping[str, Any] = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
                       "required": ["city"]},
    },
}


def fixture_text(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def mock_registry(server: MockServer) -> ProviderRegistry:
    """`mock/...` speaks OpenAI to the server, `mocka/...` speaks Anthropic to the same server."""
    reg = ProviderRegistry().with_provider(dataclasses.replace(BUILTIN_PROVIDERS["mock"], base_url=server.base_url))
    return reg.with_provider(
        ProviderSpec("mocka", server.base_url, None, wire="anthropic", key_required=False, mock_server=True)
    )


def fast_settings(**changes: Any) -> HttpSettings:
    """Millisecond backoffs and a short read timeout, so fault tests finish quickly."""
    base = HttpSettings(retry=RetryPolicy(max_retries=2, initial_s=0.01, cap_s=0.05, max_retry_after_s=5.0),
                        read_s=0.5, connect_s=1.0, deadline_s=5.0)
    return dataclasses.replace(base, **changes)


def http_transport(server: MockServer, **changes: Any) -> HttpTransport:
    return HttpTransport(mock_registry(server), PRICES, settings=fast_settings(**changes), seed=0)


def treq(model: str, *fallbacks: str, prompt: str = "write a poem about queues", tools: tuple[Any, ...] = (),
         task: str = "creative") -> TransportRequest:
    return TransportRequest(model=model, messages=(Message("system", "Be brief."), Message("user", prompt)),
                            fallbacks=fallbacks, tools=tools, task_type=task, complexity=0.3)
