"""Circuit breakers per deployment and the board that owns them, fed by every attempt the transport records.

closed -> open after N consecutive failures, or a failure rate above a threshold over a time window with a
minimum number of outcomes; open -> half-open once the cooldown has passed; half-open admits k probes at
a time, closes after k successes and reopens on any failure. Every transition is a timestamped record.
The board mirrors states into numpy arrays so a router checks 1,000 deployments in one vectorised step.
"""

from __future__ import annotations

import enum
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from workbench.domain import Attempt
from workbench.routing_config import BreakerConfig

# All-open policies (config `routing.breaker.all_open_policy`).
LEAST_RECENTLY_FAILED = "least-recently-failed"
FAIL_FAST = "fail-fast"
IGNORE_BREAKERS = "ignore-breakers"


class BreakerState(enum.StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half-open"


# Admission codes the board returns per candidate.
ADMIT = 0
BLOCKED_OPEN = 1
BLOCKED_PROBING = 2  # half-open with every probe slot taken

_CODE = {BreakerState.CLOSED: 0, BreakerState.OPEN: 1, BreakerState.HALF_OPEN: 2}


@dataclass(frozen=True, slots=True)
class BreakerTransition:
    model: str
    old: BreakerState
    new: BreakerState
    at: float  # the board's clock (unix seconds by default)
    reason: str


def counts_as_failure(status: str, counted: Iterable[str]) -> bool | None:
    """True for a counted failure, False for a success, None for an outcome that says nothing (400s)."""
    if status == "ok":
        return False
    for c in counted:
        if status == c or (c == "http_5xx" and status.startswith("http_5")):
            return True
    return None


class CircuitBreaker:
    """One deployment's breaker. Time is passed in, so the state machine is a pure function of its inputs."""

    def __init__(self, model: str, settings: BreakerConfig) -> None:
        self.model = model
        self.settings = settings
        self.state = BreakerState.CLOSED
        self.consecutive = 0
        self.window: deque[tuple[float, bool]] = deque()
        self.window_failures = 0
        self.opened_at = 0.0
        self.open_reason = ""
        self.probes_in_flight = 0
        self.probe_successes = 0
        self.last_failure_at: float | None = None

    @property
    def reopens_at(self) -> float:
        return self.opened_at + self.settings.cooldown_s

    def _move(self, new: BreakerState, now: float, reason: str) -> BreakerTransition:
        old, self.state = self.state, new
        if new is BreakerState.OPEN:
            self.opened_at, self.open_reason = now, reason
        if new is not BreakerState.HALF_OPEN:
            self.probes_in_flight = self.probe_successes = 0
        if new is BreakerState.CLOSED:
            self.consecutive = self.window_failures = 0
            self.window.clear()
        return BreakerTransition(self.model, old, new, now, reason)

    def poll(self, now: float) -> BreakerTransition | None:
        """Open -> half-open once the cooldown has passed. Called before every check and record."""
        if self.state is BreakerState.OPEN and now >= self.reopens_at:
            self.probes_in_flight = self.probe_successes = 0
            return self._move(BreakerState.HALF_OPEN, now, f"cooldown of {self.settings.cooldown_s:g}s passed")
        return None

    def admits(self) -> bool:
        if self.state is BreakerState.CLOSED:
            return True
        if self.state is BreakerState.HALF_OPEN:
            return self.probes_in_flight < self.settings.half_open_probes
        return False

    def dispatched(self, now: float) -> BreakerTransition | None:
        """A request is about to go to this deployment: in half-open it takes a probe slot."""
        change = self.poll(now)
        if self.state is BreakerState.HALF_OPEN:
            self.probes_in_flight += 1
        return change

    def _prune(self, now: float) -> None:
        horizon = now - self.settings.window_s
        window = self.window
        while window and window[0][0] <= horizon:
            _, failed = window.popleft()
            self.window_failures -= failed

    def record(self, failed: bool, now: float) -> list[BreakerTransition]:
        """One attempt's outcome. Returns the transitions it caused (at most two: a poll, then a move)."""
        changes: list[BreakerTransition] = []
        polled = self.poll(now)
        if polled:
            changes.append(polled)
        s = self.settings
        if failed:
            self.last_failure_at = now
        if self.state is BreakerState.HALF_OPEN:
            self.probes_in_flight = max(0, self.probes_in_flight - 1)
            if failed:
                changes.append(self._move(BreakerState.OPEN, now, "a half-open probe failed"))
            else:
                self.probe_successes += 1
                if self.probe_successes >= s.half_open_probes:
                    changes.append(self._move(BreakerState.CLOSED, now, f"{self.probe_successes} probe(s) succeeded"))
            return changes
        if self.state is BreakerState.OPEN:
            # Traffic reached an open deployment (a policy sent it anyway): a failure restarts the cooldown,
            # a success is as good as a probe.
            if failed:
                self.opened_at = now
            else:
                changes.append(self._move(BreakerState.HALF_OPEN, now, "a request succeeded while open"))
                self.probe_successes = 1
                if self.probe_successes >= s.half_open_probes:
                    changes.append(self._move(BreakerState.CLOSED, now, "1 probe(s) succeeded"))
            return changes
        self.consecutive = self.consecutive + 1 if failed else 0
        self.window.append((now, failed))
        self.window_failures += failed
        self._prune(now)
        total = len(self.window)
        if self.consecutive >= s.consecutive_failures:
            changes.append(self._move(BreakerState.OPEN, now, f"{self.consecutive} consecutive failures"))
        elif total >= s.min_requests and self.window_failures / total >= s.failure_rate:
            rate = self.window_failures / total
            changes.append(
                self._move(BreakerState.OPEN, now, f"failure rate {rate:.0%} over {total} outcomes in {s.window_s:g}s")
            )
        return changes


@dataclass(frozen=True, slots=True)
class BreakerInfo:
    """A snapshot of one breaker for faces and reports."""

    model: str
    state: BreakerState
    reason: str
    opened_at: float | None
    reopens_at: float | None
    consecutive_failures: int
    window_failures: int
    window_outcomes: int


class BreakerBoard:
    """Every deployment's breaker, with vectorised admission checks and a queue of transitions to report.

    One board is shared by all pipelines of a registry, since pipelines share deployments.
    """

    def __init__(self, settings: BreakerConfig, clock: Callable[[], float]) -> None:
        self.settings = settings
        self.clock = clock
        self.enabled = settings.enabled
        self._index: dict[str, int] = {}
        self._breakers: list[CircuitBreaker] = []
        self._state = np.zeros(16, dtype=np.int8)  # 0 closed, 1 open, 2 half-open
        self._tripped = 0  # how many of _state are non-zero: the per-decision check is then a Python int test
        self._reopens_at = np.zeros(16)
        self._full = np.zeros(16, dtype=bool)  # half-open with no probe slot free
        self._pending: list[BreakerTransition] = []
        self._counted = tuple(settings.count)

    # -- registry -----------------------------------------------------------------------------------
    def index(self, model: str) -> int:
        i = self._index.get(model)
        if i is None:
            i = self._index[model] = len(self._breakers)
            self._breakers.append(CircuitBreaker(model, self.settings))
            if i >= len(self._state):
                grow = len(self._state)
                self._state = np.concatenate([self._state, np.zeros(grow, dtype=np.int8)])
                self._reopens_at = np.concatenate([self._reopens_at, np.zeros(grow)])
                self._full = np.concatenate([self._full, np.zeros(grow, dtype=bool)])
        return i

    def indices(self, models: Sequence[str]) -> np.ndarray:
        return np.array([self.index(m) for m in models], dtype=np.intp)

    def breaker(self, model: str) -> CircuitBreaker:
        return self._breakers[self.index(model)]

    def _sync(self, i: int) -> None:
        b = self._breakers[i]
        code = _CODE[b.state]
        self._tripped += int(code != 0) - int(self._state[i] != 0)
        self._state[i] = code
        self._reopens_at[i] = b.reopens_at
        self._full[i] = b.state is BreakerState.HALF_OPEN and not b.admits()

    def _note(self, changes: Iterable[BreakerTransition | None]) -> None:
        self._pending.extend(c for c in changes if c is not None)

    # -- the router's view ----------------------------------------------------------------------------
    def any_tripped(self) -> bool:
        """Whether any breaker is open or half-open (when none is, there is nothing to check)."""
        return self.enabled and self._tripped > 0

    def check(self, idx: np.ndarray, now: float | None = None) -> np.ndarray:
        """Admission code per index (ADMIT, BLOCKED_OPEN, BLOCKED_PROBING); polls expired cooldowns first."""
        if not self.enabled or not self._tripped:
            return np.zeros(len(idx), dtype=np.int8)
        state: np.ndarray = self._state[idx]
        if not state.any():
            return state
        now = self.clock() if now is None else now
        due = (state == 1) & (self._reopens_at[idx] <= now)
        if due.any():
            for i in idx[due]:
                self._note([self._breakers[i].poll(now)])
                self._sync(int(i))
            state = self._state[idx]
        codes = np.where(state == 1, BLOCKED_OPEN, ADMIT).astype(np.int8)
        codes[(state == 2) & self._full[idx]] = BLOCKED_PROBING
        return codes

    def blocked_reason(self, i: int, code: int, now: float) -> str:
        b = self._breakers[i]
        if code == BLOCKED_PROBING:
            return f"breaker half-open: {b.probes_in_flight} probe(s) in flight"
        return f"breaker open ({b.open_reason}); half-open in {max(0.0, b.reopens_at - now):.0f}s"

    def least_recently_failed(self, idx: np.ndarray) -> int:
        """Position (into idx) of the deployment whose last failure is oldest."""
        times = [self._breakers[i].last_failure_at or 0.0 for i in idx]
        return int(np.argmin(times))

    def state(self, model: str) -> BreakerState:
        i = self._index.get(model)
        return BreakerState.CLOSED if i is None else self._breakers[i].state

    def snapshot(self) -> list[BreakerInfo]:
        out = []
        for b in self._breakers:
            shut = b.state is BreakerState.CLOSED
            out.append(
                BreakerInfo(
                    b.model, b.state, b.open_reason if not shut else "", None if shut else b.opened_at,
                    b.reopens_at if b.state is BreakerState.OPEN else None, b.consecutive, b.window_failures,
                    len(b.window),
                )
            )
        return out

    # -- feeding ------------------------------------------------------------------------------------
    def dispatched(self, model: str, now: float | None = None) -> None:
        if not self.enabled:
            return
        i = self.index(model)
        self._note([self._breakers[i].dispatched(self.clock() if now is None else now)])
        self._sync(i)

    def record(self, attempts: Iterable[Attempt], now: float | None = None) -> None:
        """Feed the transport's attempts, in order. Statuses not in `count` (400s, unknown models) are ignored."""
        if not self.enabled:
            return
        now = self.clock() if now is None else now
        for a in attempts:
            failed = counts_as_failure(a.status, self._counted)
            if failed is None:
                continue
            i = self.index(a.deployment)
            self._note(self._breakers[i].record(failed, now))
            self._sync(i)

    def drain(self) -> list[BreakerTransition]:
        """Transitions since the last drain, oldest first."""
        out, self._pending = self._pending, []
        return out
