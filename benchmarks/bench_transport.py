"""Time per request of the workbench's HttpTransport against the mock server, next to raw httpx on the same server.

    python benchmarks/bench_transport.py [--quick]

The mock server runs in its own process (`clawft-workbench mock-server --port 0`), so client and server
do not share a GIL. Both clients send byte-identical requests over one pooled httpx connection; raw
httpx does the least a client must (POST, parse the JSON / read the SSE lines and decode each chunk),
the transport does everything it does for real (request building, retries bookkeeping, stream
parsing, usage, cost, JSON repair check, attempt records). Rounds alternate so drift hits both alike.
Goal: the transport takes at most 1.2x raw httpx's time per request.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from workbench.domain import Message, TransportRequest  # noqa: E402
from workbench.prices import load_prices  # noqa: E402
from workbench.transport import wire_anthropic, wire_openai  # noqa: E402
from workbench.transport.http import HttpSettings, HttpTransport  # noqa: E402
from workbench.transport.providers import BUILTIN_PROVIDERS, ProviderRegistry, ProviderSpec  # noqa: E402

GOAL = 1.2


def start_server() -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([sys.executable, "-m", "workbench", "mock-server", "--port", "0", "--seed", "0"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    first = proc.stdout.readline().strip()
    if not first.startswith("listening on "):
        proc.kill()
        raise SystemExit(f"mock-server did not start: {first!r}")
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


async def main(quick: bool) -> int:
    n, rounds = (20, 3) if quick else (100, 5)
    proc, base_url = start_server()
    rows = []
    try:
        for model, stream in [("mock/openai/gpt-4o-mini", False), ("mock/openai/gpt-4o-mini", True),
                              ("mocka/anthropic/claude-sonnet-4", False), ("mocka/anthropic/claude-sonnet-4", True)]:
            raw_ms, our_ms = await workload(base_url, model, stream, n, rounds)
            rows.append((("anthropic" if model.startswith("mocka") else "openai") + (" stream" if stream else ""),
                         raw_ms, our_ms))
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    print(f"transport vs raw httpx against the mock server ({base_url}), median ms per request, "
          f"{n * rounds} requests each, answers capped at 300 tokens")
    print(f"{'workload':<18} {'raw httpx':>10} {'transport':>10} {'ratio':>7} {'goal':>7}  verdict")
    worst = 0.0
    for name, raw_ms, our_ms in rows:
        ratio = our_ms / raw_ms
        worst = max(worst, ratio)
        print(f"{name:<18} {raw_ms:>10.3f} {our_ms:>10.3f} {ratio:>6.2f}x {GOAL:>6.1f}x  "
              f"{'ok' if ratio <= GOAL else 'OVER'}")
    print(f"worst ratio {worst:.2f}x (goal <= {GOAL}x)")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer requests (a smoke run)")
    raise SystemExit(asyncio.run(main(parser.parse_args().quick)))
