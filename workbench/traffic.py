"""A traffic generator: sample prompts sent at a chosen rate through the live pipeline, so an operator can
watch breakers, fallbacks and costs move without typing. No UI here; the TUI and notebooks drive it.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import numpy as np

from workbench.errors import BadInputError

# A mix of the five task types, so every pipeline of the default config sees traffic.
SAMPLE_PROMPTS: tuple[str, ...] = (
    "write a haiku about routers",
    "compose a short poem about autumn rain",
    "draft a two-line story about a lighthouse keeper",
    "implement a function that reverses a linked list in python",
    "debug this rust borrow checker error in my parser",
    "refactor this sql query to use a window function",
    "research the literature on mixture-of-experts routing and cite sources",
    "find sources on circuit breakers in distributed systems",
    "analyze why our p99 latency doubled after the last deploy",
    "explain the trade-off between cost and quality in model routing",
    "summarize this incident report in three bullet points",
    "classify this ticket as bug, feature or question",
    "quick: yes or no, is 2027 a prime number",
    "label the sentiment of: the release went smoothly",
    "compare postgres and duckdb for analytical workloads",
    "evaluate this architecture for single points of failure",
)

MAX_RATE = 5_000.0  # requests per second; beyond this the loop spends all its time sending
TICK_S = 0.02  # how often the generator wakes to send what is due
YIELD_EVERY = 8  # sends between yields to the event loop, so a burst never freezes a UI on the same loop


def check_rate(rate: float) -> float:
    if not (0.0 < rate <= MAX_RATE):
        raise BadInputError(f"traffic rate {rate:g}/s is out of range; choose a rate in (0, {MAX_RATE:g}] per second")
    return float(rate)


class TrafficGenerator:
    """Sends prompts drawn (seeded) from `prompts` at `rate` per second until stopped.

    Pacing is by schedule, not by sleep per request: at each tick it sends however many requests are due
    since it started, so a slow tick is caught up rather than lost. `rate` may change while it runs.
    """

    def __init__(
        self,
        send: Callable[[str], Awaitable[Any]],
        prompts: Sequence[str] = SAMPLE_PROMPTS,
        *,
        rate: float = 5.0,
        rng: np.random.Generator | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not prompts:
            raise BadInputError("the traffic generator needs at least one prompt to send")
        self.send = send
        self.prompts = list(prompts)
        self._rate = check_rate(rate)
        self.rng = rng if rng is not None else np.random.default_rng(0)
        self.clock = clock
        self.sent = 0
        self.failed = 0  # sends that raised (a request that failed still returns a trajectory and is not counted)
        # A threading.Event: the generator runs on the Workbench's loop thread, the UI stops it from its own.
        self._stop = threading.Event()

    @property
    def rate(self) -> float:
        return self._rate

    @rate.setter
    def rate(self, value: float) -> None:
        self._rate = check_rate(value)

    def stop(self) -> None:
        """Stop after the send in progress (safe from any thread)."""
        self._stop.set()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def next_prompt(self) -> str:
        return self.prompts[int(self.rng.integers(len(self.prompts)))]

    async def run(self, limit: int | None = None) -> int:
        """Send until `stop()` (or `limit` sends); returns how many were sent. A generator runs once: a stop
        that lands before `run` starts is kept, not lost."""
        start, anchor, rate = self.clock(), self.sent, self._rate
        while not self._stop.is_set() and (limit is None or self.sent < limit):
            if self._rate != rate:  # re-anchor the schedule so a rate change does not owe a backlog
                start, anchor, rate = self.clock(), self.sent, self._rate
            due = anchor + int((self.clock() - start) * rate) - self.sent
            if limit is not None:
                due = min(due, limit - self.sent)
            for i in range(max(0, due)):
                if self._stop.is_set():
                    break
                try:
                    await self.send(self.next_prompt())
                except asyncio.CancelledError:
                    raise
                except Exception:  # a failed send must not stop the traffic; it is counted and shown
                    self.failed += 1
                self.sent += 1
                if i % YIELD_EVERY == YIELD_EVERY - 1:
                    await asyncio.sleep(0)
            await asyncio.sleep(TICK_S)
        return self.sent


__all__ = ["MAX_RATE", "SAMPLE_PROMPTS", "TrafficGenerator", "check_rate"]
