"""Domain events the session emits as a request moves through the pipeline. Faces subscribe to these."""

from __future__ import annotations

from dataclasses import dataclass

from workbench.domain import LlmResponse, QualityScore, RoutingDecision, TaskProfile, Trajectory


@dataclass(frozen=True, slots=True)
class DecisionMade:
    trajectory_id: str
    pipeline_id: str
    profile: TaskProfile
    decision: RoutingDecision


@dataclass(frozen=True, slots=True)
class StreamDelta:
    trajectory_id: str
    text: str


@dataclass(frozen=True, slots=True)
class ResponseReceived:
    trajectory_id: str
    response: LlmResponse


@dataclass(frozen=True, slots=True)
class QualityScored:
    trajectory_id: str
    quality: QualityScore


@dataclass(frozen=True, slots=True)
class TrajectoryLogged:
    trajectory: Trajectory


@dataclass(frozen=True, slots=True)
class BreakerChanged:
    """A deployment's circuit breaker moved (closed / open / half-open), with the board's timestamp."""

    model: str
    old: str
    new: str
    at: float
    reason: str


Event = DecisionMade | StreamDelta | ResponseReceived | QualityScored | TrajectoryLogged | BreakerChanged
