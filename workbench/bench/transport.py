"""Time per request of the workbench's HttpTransport against the mock server, next to raw httpx on the same server.

`run(quick)` returns `transport_vs_httpx_ratio` (the worst of the four workloads) with the per-workload detail;
`benchmarks/bench_transport.py` and `clawft-workbench bench` print it.

The mock server runs in its own process (`clawft-workbench mock-server --port 0`), so client and server
do not share a GIL. Both clients send byte-identical requests over one pooled httpx connection; raw
httpx does the least a client must (POST, parse the JSON / read the SSE lines and decode each chunk),
the transport does everything it does for real (request building, retries bookkeeping, stream
parsing, usage, cost, JSON repair check, attempt records). Rounds alternate so drift hits both alike.
Goal: the transport takes at most 1.2x raw httpx's time per request.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from workbench.bench.figures import at_most
from workbench.domain import Message, TransportRequest
from workbench.prices import load_prices
from workbench.transport import wire_anthropic, wire_openai
from workbench.transport.http import HttpSettings, HttpTransport
from workbench.transport.providers import BUILTIN_PROVIDERS, ProviderRegistry, ProviderSpec

GOAL = 1.2


def start_server() -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([sys.executable, "-m", "workbench", "mock-server", "--port", "0", "--seed", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    first = proc.stdout.readline().strip()
    if not first.startswith("listening on "):
        proc.kill()
        raise RuntimeError(f"mock-server did not start: {first!r}")
    return proc, first.removeprefix("listening on ")


def registry(base_url: str) -> ProviderRegistry:
    reg = ProviderRegistry().with_provider(
        ProviderSpec("mock", base_url, None, key_required=False, mock_server=False))
    return reg.with_provider(ProviderSpec("mocka", base_url, None, wire="anthropic", key_required=False,
                                          headers=BUILTIN_PROVIDERS["anthropic"].headers))


async def raw_call(client: httpx.AsyncClient, url: str, body: dict[str, Any], headers: dict[str, str],
                   stream: bool, anthropic: bool) -> None:
    if not stream:
        r = await client.post(url, json=body, headers=headers)
        r.raise_for_status()
        r.json()
        return
    parts = []
    async with client.stream("POST", url, json=body, headers=headers) as r:
        r.raise_for_status()
        async for line in r.aiter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            chunk = json.loads(line[6:])
            if anthropic:
                if chunk.get("type") == "content_block_delta" and chunk["delta"].get("type") == "text_delta":
                    parts.append(chunk["delta"]["text"])
            else:
                for choice in chunk.get("choices") or ():
                    parts.append(choice["delta"].get("content") or "")
    "".join(parts)


async def timed(fn: Callable[[], Awaitable[Any]], n: int) -> list[float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        await fn()
        out.append(time.perf_counter() - t0)
    return out


async def workload(base_url: str, model: str, stream: bool, n: int, rounds: int) -> tuple[float, float]:
    anthropic = model.startswith("mocka/")
    t = HttpTransport(registry(base_url), load_prices(), settings=HttpSettings(deadline_s=30.0))
    request = TransportRequest(model, (Message("user", "write a poem about queues"),), max_output_tokens=300)
    dep = t.registry.resolve(model)
    wire = wire_anthropic if anthropic else wire_openai
    body = wire.build_body(dep, request, stream=stream)
    headers = wire.build_headers(dep, None)
    url = base_url + wire.PATH

    async def ours() -> None:
        if stream:
            async for item in t.stream(request):
                last = item
            assert not isinstance(last, str) and last.status == "ok"
        else:
            assert (await t.complete(request)).status == "ok"

    raw_times: list[float] = []
    our_times: list[float] = []
    async with httpx.AsyncClient(timeout=30.0) as client:
        await raw_call(client, url, body, headers, stream, anthropic)  # warm both connection pools
        await ours()
        for _ in range(rounds):
            raw_times += await timed(lambda: raw_call(client, url, body, headers, stream, anthropic), n)
            our_times += await timed(ours, n)
    await t.aclose()
    return statistics.median(raw_times) * 1000, statistics.median(our_times) * 1000


WORKLOADS = [("mock/openai/gpt-4o-mini", False), ("mock/openai/gpt-4o-mini", True),
             ("mocka/anthropic/claude-sonnet-4", False), ("mocka/anthropic/claude-sonnet-4", True)]


async def measure(quick: bool) -> dict[str, Any]:
    """Median ms per request for raw httpx and the transport, per workload, and the ratio of the two."""
    n, rounds = (20, 3) if quick else (100, 5)
    proc, base_url = start_server()
    rows: dict[str, dict[str, float]] = {}
    try:
        for model, stream in WORKLOADS:
            raw_ms, our_ms = await workload(base_url, model, stream, n, rounds)
            name = ("anthropic" if model.startswith("mocka") else "openai") + (" stream" if stream else "")
            rows[name] = {"raw_httpx_ms": raw_ms, "transport_ms": our_ms, "ratio": our_ms / raw_ms}
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    return {"server": base_url, "requests_per_workload": n * rounds, "workloads": rows}


def run(quick: bool = False) -> dict[str, Any]:
    detail = asyncio.run(measure(quick))
    worst = max(row["ratio"] for row in detail["workloads"].values())
    return {"transport_vs_httpx_ratio": at_most(worst, GOAL, "x"), "detail": detail}


def table(result: dict[str, Any]) -> str:
    detail = result["detail"]
    lines = [
        f"transport vs raw httpx against the mock server ({detail['server']}), median ms per request, "
        f"{detail['requests_per_workload']} requests each, answers capped at 300 tokens",
        f"{'workload':<18} {'raw httpx':>10} {'transport':>10} {'ratio':>7} {'goal':>7}  verdict",
    ]
    for name, row in detail["workloads"].items():
        lines.append(f"{name:<18} {row['raw_httpx_ms']:>10.3f} {row['transport_ms']:>10.3f} {row['ratio']:>6.2f}x "
                     f"{GOAL:>6.1f}x  {'ok' if row['ratio'] <= GOAL else 'OVER'}")
    lines.append(f"worst ratio {result['transport_vs_httpx_ratio']['value']:.2f}x (goal <= {GOAL}x)")
    return "\n".join(lines)
