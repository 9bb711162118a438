"""The six stage Protocols of the pipeline. Implementations live beside this module; the interfaces never change."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol, runtime_checkable

from workbench.domain import (
    AssembledContext,
    ChatRequest,
    LlmResponse,
    QualityScore,
    RoutingDecision,
    TaskProfile,
    Trajectory,
    TransportRequest,
)


@runtime_checkable
class TaskClassifier(Protocol):
    name: str

    def classify(self, request: ChatRequest) -> TaskProfile: ...


@runtime_checkable
class ModelRouter(Protocol):
    name: str

    def route(self, request: ChatRequest, profile: TaskProfile) -> RoutingDecision: ...

    def update(self, decision: RoutingDecision, response: LlmResponse) -> None:
        """Feed back the outcome (latency, failures) that stateful strategies track."""
        ...


@runtime_checkable
class ContextAssembler(Protocol):
    name: str

    def assemble(self, request: ChatRequest, profile: TaskProfile) -> AssembledContext: ...


@runtime_checkable
class LlmTransport(Protocol):
    name: str

    async def complete(self, request: TransportRequest) -> LlmResponse: ...

    def stream(self, request: TransportRequest) -> AsyncIterator[str | LlmResponse]:
        """Yield text deltas as they arrive, then exactly one final LlmResponse."""
        ...

    def serves(self, model: str) -> bool:
        """Whether this transport can serve `model` at all (checked when a pipeline is built)."""
        ...

    async def aclose(self) -> None: ...


@runtime_checkable
class QualityScorer(Protocol):
    name: str

    def score(
        self, request: ChatRequest, response: LlmResponse, profile: TaskProfile | None = None
    ) -> QualityScore: ...


@runtime_checkable
class LearningBackend(Protocol):
    name: str

    @property
    def version(self) -> int:
        """Learned-state version; it advances only when the state really changed."""
        ...

    def record(self, trajectory: Trajectory) -> None: ...
