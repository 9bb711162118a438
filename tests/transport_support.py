"""Helpers shared by the transport tests: a mock-server registry, fast retry settings, requests, fixture files,
and whole sessions over the mock server (a config, a bounded-concurrency sender, RSS)."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from workbench.api import Workbench
from workbench.config import WorkbenchConfig, parse_config
from workbench.domain import ChatRequest, Message, Trajectory, TransportRequest
from workbench.events import StreamDelta
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


# -- whole sessions against the mock server (fault matrix, load, security) -------------------------------------
# Three deployments over both wires: the router's first choice, a second OpenAI-wire one, an Anthropic-wire one.
PRIMARY = "mock/openai/gpt-4o-mini"
SECOND = "mock/groq/llama-3.1-8b"
THIRD = "mocka/anthropic/claude-3-5-haiku"


def session_config(
    server: MockServer,
    *,
    router: str = "cost-based",
    models: tuple[str, ...] = (PRIMARY, SECOND, THIRD),
    transport: Mapping[str, Any] | None = None,
    breaker: Mapping[str, Any] | None = None,
    providers: Mapping[str, Mapping[str, Any]] | None = None,
) -> WorkbenchConfig:
    """A config whose one pipeline routes over the mock server with millisecond backoffs and short timeouts.

    `cost-based` (not `static`) because level-0 static routing ignores breaker state by design; the fault
    tests need a router that honours the breakers."""
    base_transport: dict[str, Any] = {
        "kind": "http", "deadline_s": 3.0, "timeouts": {"connect": 1.0, "read": 0.5},
        "retry": {"max_retries": 2, "backoff_initial_s": 0.01, "backoff_cap_s": 0.02, "max_retry_after_s": 1.0},
    }
    return parse_config({
        "transport": {**base_transport, **(transport or {})},
        "providers": {"mock": {"base_url": server.base_url},
                      "mocka": {"base_url": server.base_url, "wire": "anthropic"}, **(providers or {})},
        "routing": {"breaker": {"consecutive_failures": 3, "cooldown_s": 30.0, **(breaker or {})}},
        "pipelines": {"default": {"router": router, "preferred_models": list(models)}},
    })


@dataclasses.dataclass(frozen=True)
class Sent:
    """One request's trajectory, its wall time as the caller saw it, and the text it streamed."""

    trajectory: Trajectory
    elapsed_s: float
    streamed: str


async def send_all(
    wb: Workbench, prompts: Sequence[str], *, concurrency: int = 1, stream: bool = False,
    tools: tuple[Mapping[str, Any], ...] = (), max_output_tokens: int | None = None,
) -> list[Sent]:
    """Send every prompt through the session, at most `concurrency` at a time, in order of the prompts."""
    deltas: dict[str, list[str]] = {}

    def listen(event: object) -> None:
        if isinstance(event, StreamDelta):
            deltas.setdefault(event.trajectory_id, []).append(event.text)

    unsubscribe = wb.subscribe(listen)
    gate = asyncio.Semaphore(concurrency)

    async def one(prompt: str) -> Sent:
        async with gate:
            request = dataclasses.replace(ChatRequest.from_prompt(prompt), tools=tools,
                                          max_output_tokens=max_output_tokens)
            t0 = time.perf_counter()
            t = await wb.send_async(request, stream=stream)
            return Sent(t, time.perf_counter() - t0, "".join(deltas.pop(t.trajectory_id, [])))

    try:
        return list(await asyncio.gather(*(one(p) for p in prompts)))
    finally:
        unsubscribe()


def rss_mb() -> float:
    """This process's resident set size in MB (Linux /proc; elsewhere the peak from getrusage)."""
    statm = Path("/proc/self/statm")
    if statm.exists():
        return int(statm.read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10
