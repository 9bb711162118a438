"""Load: 10,000 requests through the whole session (pipeline, real http transport, breakers, store) against the
mock server on 127.0.0.1, four in flight at a time: none lost, memory flat, throughput printed.

Four in flight because this is the machine's sweet spot: the client, the server and the store writer share two
cores and one GIL, and httpcore's pool bookkeeping grows with the number of open connections (32 in flight ran
at ~175 requests/s, 4 at ~500). `WB_LOAD_REQUESTS` changes the count for a quicker local run.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from pathlib import Path

from transport_support import rss_mb, send_all, session_config

from workbench.api import Workbench
from workbench.transport.mock_server import MockServer

REQUESTS = int(os.environ.get("WB_LOAD_REQUESTS", "10000"))
IN_FLIGHT = 4
ANSWER_TOKENS = 24  # short answers: a streamed one is one SSE event per word, and the load is on the requests
CHUNK = 1_000  # the test keeps only counts, never the trajectories, so its own memory stays flat
WARM_UP = 1_000  # RSS is measured from here: imports, pools, caches and DuckDB's first pages are in by then
# RSS growth allowed over the last 9,000 requests. The store writes every row to DuckDB (its buffer pool and
# the file's pages grow with the data, ~5 MB per 1,000 rows here); anything kept per request in Python would
# show up on top of that, and a leak of even 10 KB per request is 90 MB.
MAX_GROWTH_MB = 80.0


async def test_ten_thousand_requests_lose_nothing_and_memory_stays_flat(tmp_path: Path) -> None:
    with MockServer(seed=0) as server:
        # A light fault mix so retries and fallbacks are part of the load, on both wire formats (round-robin), and
        # one chunk in five streamed (a stream costs twice a plain answer: one SSE event per word).
        server.set_fault("*", error_rate=0.02, rate_429=0.01, retry_after_s=0.01)
        config = session_config(server, router="round-robin", breaker={"enabled": False},
                                transport={"max_connections": IN_FLIGHT})
        wb = Workbench(db=tmp_path / "load.duckdb", config=config, seed=0)
        statuses: Counter[str] = Counter()
        attempts = 0
        baseline = 0.0
        started = time.perf_counter()
        try:
            for start in range(0, REQUESTS, CHUNK):
                prompts = [f"request {i}: tell me about queues" for i in range(start, min(REQUESTS, start + CHUNK))]
                for sent in await send_all(wb, prompts, concurrency=IN_FLIGHT, stream=start % (5 * CHUNK) == CHUNK,
                                            max_output_tokens=ANSWER_TOKENS):
                    statuses[sent.trajectory.response.status] += 1
                    attempts += len(sent.trajectory.response.attempts)
                if start + CHUNK == WARM_UP:
                    baseline = rss_mb()
            elapsed = time.perf_counter() - started
            growth = rss_mb() - baseline
            wb.store.flush()
            stored = wb.store.count()
            verified = wb.store.verify()
        finally:
            await wb.aclose()
    print(f"\nload: {REQUESTS} requests in {elapsed:.1f} s = {REQUESTS / elapsed:.0f} requests/s "
          f"({IN_FLIGHT} in flight, {attempts} attempts, {dict(statuses)}); RSS +{growth:.1f} MB after warm-up")
    assert sum(statuses.values()) == REQUESTS
    assert stored == REQUESTS, f"{REQUESTS - stored} trajectories lost"
    assert verified.ok and attempts > REQUESTS  # the fault mix made some requests retry
    assert statuses["ok"] >= REQUESTS * 0.99
    if REQUESTS > WARM_UP:
        assert growth <= MAX_GROWTH_MB, f"RSS grew {growth:.1f} MB over {REQUESTS - WARM_UP} requests"
