"""Scheduled events of the simulated fleet: outages, 429 bursts, slow streams and quality drift.

Each event holds a window on the fleet's request counter (`unit="request"`: the N-th request the
fleet serves, from 0) or on its clock (`unit="time"`: seconds). A drift is "model X's quality for task
type T changes by d from request/time N"; an outage is "model X is down between N1 and N2". The
schedule itself draws nothing at random, so a seeded fleet stays deterministic.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from workbench.errors import BadInputError

Unit = Literal["request", "time"]
KINDS: tuple[str, ...] = ("outage", "burst_429", "slow_stream", "drift")


@dataclass(frozen=True, slots=True)
class FleetEvent:
    """One event. `end` is exclusive and `math.inf` for an open window."""

    kind: str  # outage | burst_429 | slow_stream | drift
    model: str
    start: float = 0.0
    end: float = math.inf
    unit: Unit = "request"
    task_type: str | None = None  # drift only; None: every task type
    quality_delta: float = 0.0  # drift only
    rate: float = 1.0  # burst_429: chance each attempt in the window is a 429
    retry_after_s: float = 2.0  # burst_429
    factor: float = 4.0  # slow_stream: TTFT x factor, tokens/s / factor

    def active(self, request_index: int, now_s: float) -> bool:
        at = request_index if self.unit == "request" else now_s
        return self.start <= at < self.end


def outage(model: str, start: float, end: float = math.inf, unit: Unit = "request") -> FleetEvent:
    return FleetEvent("outage", model, start, end, unit)


def burst_429(
    model: str, start: float, end: float, *, rate: float = 1.0, retry_after_s: float = 2.0, unit: Unit = "request"
) -> FleetEvent:
    return FleetEvent("burst_429", model, start, end, unit, rate=rate, retry_after_s=retry_after_s)


def slow_stream(model: str, start: float, end: float, *, factor: float = 4.0, unit: Unit = "request") -> FleetEvent:
    return FleetEvent("slow_stream", model, start, end, unit, factor=factor)


def drift(
    model: str, start: float, quality_delta: float, *, task_type: str | None = None, unit: Unit = "request"
) -> FleetEvent:
    return FleetEvent("drift", model, start, math.inf, unit, task_type=task_type, quality_delta=quality_delta)


class FleetSchedule:
    """The events of one fleet, indexed by model so each lookup scans only that model's few events."""

    def __init__(self, events: Iterable[FleetEvent] = ()) -> None:
        self.events: tuple[FleetEvent, ...] = tuple(events)
        for e in self.events:
            if e.kind not in KINDS:
                raise BadInputError(f"fleet event for '{e.model}': unknown kind '{e.kind}'; use one of {KINDS}")
        self._by_model: dict[str, list[FleetEvent]] = {}
        for e in self.events:
            self._by_model.setdefault(e.model, []).append(e)

    def __bool__(self) -> bool:
        return bool(self.events)

    def _active(self, model: str, kind: str, request_index: int, now_s: float) -> list[FleetEvent]:
        return [e for e in self._by_model.get(model, ()) if e.kind == kind and e.active(request_index, now_s)]

    def down(self, model: str, request_index: int, now_s: float) -> bool:
        return bool(self._active(model, "outage", request_index, now_s))

    def burst(self, model: str, request_index: int, now_s: float) -> FleetEvent | None:
        active = self._active(model, "burst_429", request_index, now_s)
        return max(active, key=lambda e: e.rate) if active else None

    def slow_factor(self, model: str, request_index: int, now_s: float) -> float:
        return math.prod(e.factor for e in self._active(model, "slow_stream", request_index, now_s))

    def quality_delta(self, model: str, task_type: str, request_index: int, now_s: float) -> float:
        return sum(
            e.quality_delta
            for e in self._active(model, "drift", request_index, now_s)
            if e.task_type is None or e.task_type == task_type
        )

    @classmethod
    def from_dicts(cls, items: Sequence[Mapping[str, Any]], source: str = "fleet events") -> FleetSchedule:
        """Events from config-shaped dicts (`transport.events`, a mock-server faults file)."""
        events = []
        fields = set(FleetEvent.__dataclass_fields__)
        for i, raw in enumerate(items):
            unknown = sorted(set(raw) - fields)
            if unknown:
                raise BadInputError(f"{source}.{i}: unknown key(s) {', '.join(unknown)}; allowed: {sorted(fields)}")
            if "kind" not in raw or "model" not in raw:
                raise BadInputError(f"{source}.{i}: an event needs `kind` and `model`")
            data = dict(raw)
            if data.get("end") is None:
                data["end"] = math.inf
            events.append(FleetEvent(**data))
        return cls(events)
