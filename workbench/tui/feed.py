"""The Live screen's coalescing buffer: the session's events land in a bounded deque (cheap, any rate) and a
2-4 Hz flush folds them into one `LiveState` snapshot (totals, rates, latency window, newest trajectories).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from workbench import events
from workbench.domain import Trajectory

FEED_CAP = 50_000  # events held between flushes; beyond this the oldest are dropped (and counted)
LATENCY_WINDOW = 120  # latencies the sparkline shows
RATE_WINDOW_S = 2.0  # requests per second is averaged over this long


@dataclass(frozen=True)
class LiveState:
    """A cumulative snapshot: replacing an older one with a newer one loses nothing."""

    seq: int  # trajectories logged so far (the newest has this number)
    requests: int
    failed: int
    cost_usd: float
    rps: float
    latencies_ms: tuple[float, ...]
    recent: tuple[tuple[int, Trajectory], ...]  # (number, trajectory), newest last
    transitions: dict[str, events.BreakerChanged]  # the last breaker transition per deployment
    dropped: int  # events dropped because the feed overflowed between flushes


@dataclass
class LiveFeed:
    """Filled by the session's listener (append only), drained by the screen's flush timer."""

    recent_cap: int = 200
    cap: int = FEED_CAP
    _events: deque[events.Event] = field(init=False)
    _recent: deque[tuple[int, Trajectory]] = field(init=False)
    _latencies: deque[float] = field(init=False)
    _rate: deque[tuple[float, int]] = field(init=False)
    _transitions: dict[str, events.BreakerChanged] = field(default_factory=dict)
    seq: int = 0
    failed: int = 0
    cost_usd: float = 0.0
    dropped: int = 0

    def __post_init__(self) -> None:
        self._events = deque(maxlen=self.cap)
        self._recent = deque(maxlen=self.recent_cap)
        self._latencies = deque(maxlen=LATENCY_WINDOW)
        self._rate = deque(maxlen=64)  # a frozen clock (tests) never ages entries out

    def push(self, event: events.Event) -> None:
        # Called for every event from the session: no work beyond the append.
        if len(self._events) == self.cap:
            self.dropped += 1
        self._events.append(event)

    def __len__(self) -> int:
        return len(self._events)

    def fold(self, now: float) -> LiveState:
        """Fold every pending event into the totals; `now` is a monotonic reading for the request rate."""
        events_ = self._events
        while events_:
            event = events_.popleft()
            if isinstance(event, events.TrajectoryLogged):
                t = event.trajectory
                self.seq += 1
                self.cost_usd += t.response.cost_usd
                self.failed += t.response.status != "ok"
                self._latencies.append(t.response.latency_ms)
                self._recent.append((self.seq, t))
            elif isinstance(event, events.BreakerChanged):
                self._transitions[event.model] = event
        rate = self._rate
        rate.append((now, self.seq))
        while len(rate) > 1 and now - rate[0][0] > RATE_WINDOW_S:
            rate.popleft()
        span = now - rate[0][0]
        rps = (self.seq - rate[0][1]) / span if span > 0 else 0.0
        return LiveState(
            seq=self.seq, requests=self.seq, failed=self.failed, cost_usd=self.cost_usd, rps=rps,
            latencies_ms=tuple(self._latencies), recent=tuple(self._recent),
            transitions=dict(self._transitions), dropped=self.dropped,
        )


__all__ = ["FEED_CAP", "LiveFeed", "LiveState"]
