"""Event-loop lag of the Live screen under 1,000 decisions per second, and its first paint.

`run(quick)` returns `tui_lag_ms_p99` and `tui_first_paint_ms` (simulated decisions, the goal's workload)
with both workloads' detail; `benchmarks/bench_tui.py` and `clawft-workbench bench` print them.

The Live screen runs headless at 120x40 over an in-memory store. Two workloads, 60 s each (--quick: 10 s):

- simulated decisions (the goal's workload): a producer thread feeds the screen 1,000 finished requests per
  second through the session's listener, exactly as the session does (DecisionMade, ResponseReceived,
  QualityScored, TrajectoryLogged, and a breaker transition now and then). The trajectories are real ones,
  made by the pipeline once before the clock starts. This measures what the UI costs.
- full pipeline: the screen's own traffic generator asks for 1,000 requests per second through the real
  pipeline (routing, simulated transport, scoring, store writes) on the Workbench's loop thread. This
  measures the whole bench on this machine; the rate it reaches is printed beside the goal.

A probe on the UI loop sleeps 10 ms at a time and records how late it wakes: what a keypress would wait.
The UI keeps flushing at 4 Hz throughout (history, board, totals, sparkline, the followed decision).

First paint: from constructing the Workbench and the app to the Live screen mounted with its first frame
composed (headless, so no terminal I/O is counted).
Goals: lag p99 <= 100 ms; first paint <= 1.5 s.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import numpy as np

from workbench import events
from workbench.api import Workbench
from workbench.bench.figures import at_most
from workbench.tui.app import WorkbenchApp
from workbench.tui.screens.live import LiveScreen

RATE = 1_000.0
PROBE_S = 0.010
GOAL_LAG_P99_MS = 100.0
GOAL_FIRST_PAINT_MS = 1_500.0


POOL = 2_000  # distinct real trajectories the simulated workload cycles through


def make_pool(n: int) -> list[list[events.Event]]:
    """The session's events for `n` real requests (every task type, some fallbacks)."""
    captured: list[list[events.Event]] = []
    with Workbench(db=":memory:", seed=1) as wb:
        current: list[events.Event] = []

        def keep(event: events.Event) -> None:
            current.append(event)
            if isinstance(event, events.TrajectoryLogged):
                captured.append(list(current))
                current.clear()

        wb.subscribe(keep)
        prompts = wb.sample_prompts()
        for i in range(n):
            wb.send(prompts[i % len(prompts)])
    for i, evs in enumerate(captured):
        if i % 200 == 0:  # a breaker transition now and then, as an outage would make
            evs.append(events.BreakerChanged("groq/llama-3.1-8b", "closed", "open", 0.0, "5 consecutive failures"))
    return captured


def produce(screen: LiveScreen, pool: list[list[events.Event]], rate: float, stop: threading.Event) -> int:
    """Feed `rate` requests a second into the screen's listener from this thread, paced by schedule."""
    sent, start = 0, time.perf_counter()
    while not stop.is_set():
        due = int((time.perf_counter() - start) * rate)
        while sent < due:
            for event in pool[sent % len(pool)]:
                screen._on_workbench_event(event)
            sent += 1
        time.sleep(0.002)
    return sent


async def measure_workload(
    seconds: float, workload: str, pool: list[list[events.Event]] | None = None
) -> dict[str, Any]:
    t0 = time.perf_counter()
    app = WorkbenchApp(Workbench(db=":memory:", seed=0))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        first_paint_ms = (time.perf_counter() - t0) * 1000
        screen = app.screen
        assert isinstance(screen, LiveScreen)

        lags: list[float] = []
        stop = asyncio.Event()

        async def probe() -> None:
            loop = asyncio.get_running_loop()
            while not stop.is_set():
                start = loop.time()
                await asyncio.sleep(PROBE_S)
                lags.append((loop.time() - start - PROBE_S) * 1000)

        probing = asyncio.create_task(probe())
        started = time.perf_counter()
        if workload == "simulated":
            assert pool is not None
            halt = threading.Event()
            screen._following = True  # as when the operator starts traffic: the panel follows it
            producer = asyncio.get_running_loop().run_in_executor(None, produce, screen, pool, RATE, halt)
            await asyncio.sleep(seconds)
            halt.set()
            sent = await producer
        else:
            screen.start_traffic(RATE)
            await asyncio.sleep(seconds)
            screen.stop_traffic()
            await app.workers.wait_for_complete()
            sent = screen.traffic.sent if screen.traffic is not None else 0
        elapsed = time.perf_counter() - started
        stop.set()
        await probing
        screen.flush()
        await pilot.pause()
        shown = screen.state.requests if screen.state is not None else 0
    lag = np.array(lags)
    return {
        "tui_first_paint_ms": first_paint_ms,
        "tui_lag_ms_p50": float(np.percentile(lag, 50)),
        "tui_lag_ms_p95": float(np.percentile(lag, 95)),
        "tui_lag_ms_p99": float(np.percentile(lag, 99)),
        "tui_lag_ms_max": float(lag.max()),
        "decisions_per_s": sent / elapsed,
        "decisions": sent,
        "shown": shown,
        "seconds": elapsed,
    }


def measure(quick: bool = False) -> dict[str, Any]:
    """The simulated workload's figures (`tui_lag_ms_p99`, `tui_first_paint_ms`, ...), and the full pipeline's
    under `pipeline_*` keys."""
    seconds = 10.0 if quick else 60.0
    simulated = asyncio.run(measure_workload(seconds, "simulated", make_pool(POOL)))
    pipeline = asyncio.run(measure_workload(seconds, "pipeline"))
    return {**simulated, **{f"pipeline_{k}": v for k, v in pipeline.items()}}


def run(quick: bool = False) -> dict[str, Any]:
    r = measure(quick)
    return {
        "tui_lag_ms_p99": at_most(r["tui_lag_ms_p99"], GOAL_LAG_P99_MS, "ms"),
        "tui_first_paint_ms": at_most(r["tui_first_paint_ms"], GOAL_FIRST_PAINT_MS, "ms"),
        "detail": r,
    }


def table(result: dict[str, Any]) -> str:
    r = result["detail"]
    lines = [
        f"Live screen, headless 120x40, {RATE:,.0f} decisions/s asked for {r['seconds']:.0f} s per workload",
        f"{'figure':<30} {'simulated':>12} {'full pipeline':>14} {'goal':>10}",
    ]
    rows = [
        ("decisions per second", "decisions_per_s", "{:,.0f}", f">= {RATE:,.0f}"),
        ("decisions sent", "decisions", "{:,}", ""),
        ("decisions shown", "shown", "{:,}", "= sent"),
        ("event-loop lag p50 (ms)", "tui_lag_ms_p50", "{:.1f}", ""),
        ("event-loop lag p95 (ms)", "tui_lag_ms_p95", "{:.1f}", ""),
        ("event-loop lag p99 (ms)", "tui_lag_ms_p99", "{:.1f}", f"<= {GOAL_LAG_P99_MS:.0f}"),
        ("event-loop lag max (ms)", "tui_lag_ms_max", "{:.1f}", ""),
        ("first paint (ms)", "tui_first_paint_ms", "{:.0f}", f"<= {GOAL_FIRST_PAINT_MS:.0f}"),
    ]
    for name, key, form, goal in rows:
        lines.append(f"{name:<30} {form.format(r[key]):>12} {form.format(r['pipeline_' + key]):>14} {goal:>10}")
    ok = result["tui_lag_ms_p99"]["met"] and result["tui_first_paint_ms"]["met"]
    lines.append("verdict (simulated decisions): " + ("within goals" if ok else "OUTSIDE GOAL"))
    if r["pipeline_decisions_per_s"] < 0.95 * RATE:
        lines.append(f"note: the full pipeline reached {r['pipeline_decisions_per_s']:,.0f} decisions/s on this "
                     f"machine; its lag p99 was {r['pipeline_tui_lag_ms_p99']:.0f} ms")
    return "\n".join(lines)
