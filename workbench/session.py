"""The live request loop: one request through classify -> route -> assemble -> transport -> score -> learn.

Every request ends as exactly one Trajectory handed to the store, whatever the transport did.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Protocol, cast

from workbench.domain import (
    Candidate,
    ChatRequest,
    LlmResponse,
    RoutingDecision,
    Trajectory,
    TransportRequest,
    new_id,
)
from workbench.errors import TransportError
from workbench.events import (
    BreakerChanged,
    DecisionMade,
    Event,
    QualityScored,
    ResponseReceived,
    StreamDelta,
    TrajectoryLogged,
)
from workbench.pipeline.breaker import FAIL_FAST
from workbench.pipeline.build import PipelineRegistry
from workbench.pipeline.judge import AsyncQualityScorer
from workbench.pipeline.quality import reward
from workbench.pipeline.stages import LlmTransport


class TrajectorySink(Protocol):
    """Where finished trajectories go: the store, or a plain list in tests."""

    def append(self, trajectory: Trajectory, /) -> None: ...


Listener = Callable[[Event], None]


class Session:
    def __init__(
        self,
        registry: PipelineRegistry,
        sink: TrajectorySink | None,
        *,
        clock: Callable[[], float] = time.time,
        log: str = "live",
        source: str = "live",
    ) -> None:
        self.registry = registry
        self.sink = sink
        self.clock = clock
        self.log = log
        self.source = source
        self._listeners: list[Listener] = []

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def _emit(self, event: Event) -> None:
        for listener in list(self._listeners):
            listener(event)

    async def run(self, request: ChatRequest, *, stream: bool = False, model: str | None = None) -> Trajectory:
        """One request through the pipeline. `model` (provider/model) bypasses routing: strategy `explicit`."""
        tid = new_id()
        created = self.clock()
        registry = self.registry
        pipeline, profile = registry.profile(request)
        decision = pipeline.router.route(request, profile) if model is None else explicit_decision(model)
        self._emit(DecisionMade(tid, pipeline.pipeline_id, profile, decision))

        context = pipeline.context.assemble(request, profile)
        treq = TransportRequest(
            model=decision.model,
            messages=context.messages,
            fallbacks=decision.fallbacks,
            tools=request.tools,
            max_output_tokens=request.max_output_tokens,
            task_type=profile.task_type,
            complexity=profile.complexity,
        )
        if decision.policy == FAIL_FAST:
            # Every candidate's breaker is open and the policy says not to try: a failed outcome, not a send.
            response = LlmResponse(
                text="", served_model="", status="failed", finish_reason="error", error=decision.reason
            )
        else:
            registry.dispatched(decision)
            response = await self._call(pipeline.transport, treq, tid, stream)
        for change in registry.observe(decision, response):
            self._emit(BreakerChanged(change.model, change.old.value, change.new.value, change.at, change.reason))
        if model is None:  # an explicit send bypassed the router, so it has nothing to learn from
            pipeline.router.update(decision, response)
        self._emit(ResponseReceived(tid, response))

        scorer = pipeline.scorer
        # A judge model grades through the transport: await it. The attribute test is what isinstance on the
        # runtime-checkable AsyncQualityScorer checks, at a hundredth of its cost (this runs every request).
        if getattr(scorer, "ascore", None) is not None:
            quality = await cast(AsyncQualityScorer, scorer).ascore(request, response, profile)
        else:
            quality = scorer.score(request, response, profile)
        self._emit(QualityScored(tid, quality))

        reward_value = None
        if quality.overall is not None:
            qc = pipeline.config.quality
            reward_value = reward(
                quality.overall, response.cost_usd, response.latency_ms,
                cost_weight=qc.cost_weight, latency_weight=qc.latency_weight,
            )
        before = pipeline.learner.version
        trajectory = Trajectory(
            trajectory_id=tid,
            created_at=created,
            pipeline_id=pipeline.pipeline_id,
            config_hash=registry.config_hash,
            request=request,
            profile=profile,
            decision=decision,
            context=context,
            response=response,
            quality=quality,
            reward=reward_value,
            reward_source=quality.source if reward_value is not None else "",
            learner_version_before=before,
            learner_version_after=before,
            source=self.source,
            log=self.log,
        )
        pipeline.learner.record(trajectory)
        after = pipeline.learner.version
        if after != before:
            trajectory = dataclasses.replace(trajectory, learner_version_after=after)
        if self.sink is not None:
            self.sink.append(trajectory)
        self._emit(TrajectoryLogged(trajectory))
        return trajectory

    async def _call(self, transport: LlmTransport, treq: TransportRequest, tid: str, stream: bool) -> LlmResponse:
        try:
            if not stream:
                return await transport.complete(treq)
            final: LlmResponse | None = None
            async for item in transport.stream(treq):
                if isinstance(item, str):
                    self._emit(StreamDelta(tid, item))
                else:
                    final = item
            if final is None:
                raise TransportError(f"{transport.name} stream for {treq.model} ended without a final response")
            return final
        except TransportError as exc:
            # The request still ends as a trajectory: a failure is an outcome worth logging.
            return LlmResponse(text="", served_model="", status="failed", finish_reason="error", error=str(exc))


def explicit_decision(model: str) -> RoutingDecision:
    """The decision for a request whose caller named the model (`send --model`): no routing, propensity 1."""
    return RoutingDecision(
        model=model,
        strategy="explicit",
        candidates=(Candidate(model, score=1.0, probability=1.0),),
        propensity=1.0,
        reason="explicit: the caller named the model, routing was bypassed",
    )
