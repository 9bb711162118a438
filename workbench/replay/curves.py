"""Learning curves: replay a pipeline event by event, feeding each outcome back so learning pipelines learn.

Full-information logs give exact curves: every routed prompt's outcome is looked up and fed to the fleet
state (breakers, latency statistics), the router and the learner, as the live session would. Bandit logs use
rejection sampling (Li et al. 2011, generalised to non-uniform logging): an event is accepted with probability
p_min * pi_e(a|x) / p_0(a|x), so accepted events follow the evaluated policy; only accepted events are fed
back and counted. Static pipelines get the same treatment, so the two curves compare like with like.
"""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from workbench.domain import (
    AssembledContext,
    ChatRequest,
    LlmResponse,
    QualityScore,
    RoutingDecision,
    TaskProfile,
    Trajectory,
)
from workbench.errors import BadInputError
from workbench.pipeline.build import Pipeline, PipelineRegistry, build_pipeline
from workbench.replay.bandit import BanditLog
from workbench.replay.engine import OfflineTransport, PolicySpec, Progress, ReplayCancelled
from workbench.replay.estimators import propensity_warning
from workbench.replay.fullinfo import NO_OUTCOME, FullInfoLog

FloatArray = NDArray[np.float64]
BATCH = 1_000


@dataclass(frozen=True)
class Curve:
    """Per counted event: its position in the log, the reward (quality) got and, where known, the oracle's."""

    pipeline: str
    estimator: str  # exact | rejection-sampling
    position: NDArray[np.int64]
    reward: FloatArray
    oracle: FloatArray | None
    events: int  # events in the log
    block: int | None = None  # events decided per learner state (delayed feedback); None: event by event

    @property
    def cumulative_mean(self) -> FloatArray:
        out: FloatArray = np.cumsum(self.reward) / np.arange(1, self.reward.size + 1)
        return out

    @property
    def regret(self) -> FloatArray | None:
        if self.oracle is None:
            return None
        out: FloatArray = np.cumsum(self.oracle - self.reward)
        return out

    def windowed(self, window: int) -> FloatArray:
        """Mean reward over the last `window` counted events: shows a drift and the recovery from it."""
        c = np.concatenate([[0.0], np.cumsum(self.reward)])
        idx = np.arange(1, self.reward.size + 1)
        lo = np.maximum(0, idx - window)
        out: FloatArray = (c[idx] - c[lo]) / (idx - lo)
        return out

    def as_dict(self, points: int = 200) -> dict[str, Any]:
        k = self.reward.size
        take = np.unique(np.linspace(0, k - 1, min(points, k)).round().astype(np.int64)) if k else np.array([], int)
        window = max(50, k // 20)
        regret = self.regret
        return {
            "estimator": self.estimator,
            "block": self.block or 1,
            "feedback": "event by event" if not self.block or self.block == 1 else
            f"in blocks of {self.block} events (each block decided with the learner's state at its start)",
            "accepted": int(k),
            "events": self.events,
            "position": self.position[take].tolist(),
            "cumulative_reward": np.cumsum(self.reward)[take].round(4).tolist(),
            "mean_reward": self.cumulative_mean[take].round(5).tolist(),
            "windowed_reward": self.windowed(window)[take].round(5).tolist(),
            "window": window,
            "regret": None if regret is None else regret[take].round(4).tolist(),
        }


def _feed(
    registry: PipelineRegistry, pipeline: Pipeline, request: ChatRequest, profile: TaskProfile,
    decision: RoutingDecision, quality: float, cost: float, latency: float, ok: bool,
) -> None:
    """Hand one outcome to everything that learns from it: fleet state, router, learner (as Session.run does)."""
    response = LlmResponse(
        text="", served_model=decision.model if ok else "", status="ok" if ok else "failed",
        cost_usd=cost, latency_ms=latency if np.isfinite(latency) else 0.0, ttft_ms=0.0,
        metadata={"replayed_quality": quality},
    )
    registry.dispatched(decision)
    registry.observe(decision, response)
    pipeline.router.update(decision, response)
    learner = pipeline.learner
    trajectory = Trajectory(
        trajectory_id="replay", created_at=0.0, pipeline_id=pipeline.pipeline_id, config_hash=registry.config_hash,
        request=request, profile=profile, decision=decision,
        context=AssembledContext(messages=request.messages, tokens=0, budget=0), response=response,
        quality=QualityScore(overall=quality, source="replay"), reward=quality, reward_source="replay",
        learner_version_before=learner.version, learner_version_after=learner.version, source="replay",
        log="replay",
    )
    learner.record(trajectory)


def _registry(spec: PolicySpec, seed: int, clock: list[float]) -> PipelineRegistry:
    if spec.config is None:
        raise BadInputError(f"learning curves need a pipeline config; {spec.label} is a baseline")
    return build_pipeline(spec.config, transport=OfflineTransport(), seed=seed, clock=lambda: clock[0])


def curve_fullinfo(
    log: FullInfoLog, spec: PolicySpec, *, seed: int = 0, progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> Curve:
    clock = [0.0]
    registry = _registry(spec, seed, clock)
    reward = np.zeros(log.n)
    best = np.nanmax(log.quality, axis=1)
    for start in range(0, log.n, BATCH):
        if cancel is not None and cancel.is_set():
            raise ReplayCancelled(f"learning-curve replay of {spec.label} cancelled at prompt {start}")
        for i in range(start, min(log.n, start + BATCH)):
            request = ChatRequest.from_prompt(log.prompts[i])
            pipeline, profile = registry.profile(request)
            decision = pipeline.router.route(request, profile)
            j = log.model_index(decision.model)
            if j == NO_OUTCOME:
                reward[i] = np.nan
                continue
            q, c, lat = float(log.quality[i, j]), float(log.cost[i, j]), float(log.latency[i, j])
            reward[i] = q
            clock[0] += 2.0  # events a couple of seconds apart, so breaker cooldowns and windows mean something
            _feed(registry, pipeline, request, profile, decision, q, c, lat, ok=np.isfinite(lat) and lat > 5.0)
        if progress is not None:
            progress(spec.label, min(log.n, start + BATCH), log.n)
    keep = np.isfinite(reward)
    return Curve(spec.label, "exact", np.nonzero(keep)[0], reward[keep], best[keep], log.n)


def curve_bandit(
    log: BanditLog, spec: PolicySpec, *, seed: int = 0, progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> Curve:
    warning = propensity_warning(log.propensity)
    if warning is not None:
        raise BadInputError(f"rejection-sampling replay of {log.name}: {warning}")
    clock = [0.0]
    registry = _registry(spec, seed, clock)
    rng = np.random.default_rng([seed, 7])
    p0 = log.propensity
    p_min = float(np.nanmin(p0[log.action >= 0]))
    positions: list[int] = []
    rewards: list[float] = []
    for start in range(0, log.n, BATCH):
        if cancel is not None and cancel.is_set():
            raise ReplayCancelled(f"rejection-sampling replay of {spec.label} cancelled at event {start}")
        for i in range(start, min(log.n, start + BATCH)):
            a = int(log.action[i])
            if a < 0 or not np.isfinite(p0[i]) or not np.isfinite(log.quality[i]):
                continue
            request = ChatRequest.from_prompt(log.prompts[i])
            pipeline, profile = registry.profile(request)
            decision = pipeline.router.route(request, profile)
            pe = _prob_of(decision, log.models[a])
            if rng.random() >= p_min * pe / p0[i]:
                continue  # rejected: the policy learns nothing from an event it would not have produced
            logged = RoutingDecision(**{**_fields(decision), "model": log.models[a], "propensity": pe})
            clock[0] += 2.0
            _feed(registry, pipeline, request, profile, logged, float(log.quality[i]), float(log.cost[i]),
                  float(log.latency[i]), ok=not bool(log.failed[i]))
            positions.append(i)
            rewards.append(float(log.quality[i]))
        if progress is not None:
            progress(spec.label, min(log.n, start + BATCH), log.n)
    return Curve(spec.label, "rejection-sampling", np.array(positions, dtype=np.int64), np.array(rewards), None,
                 log.n)


def _fields(d: RoutingDecision) -> dict[str, Any]:
    return {f.name: getattr(d, f.name) for f in dataclasses.fields(d)}


def _prob_of(decision: RoutingDecision, model: str) -> float:
    probs = [c.probability for c in decision.candidates if c.excluded is None and c.probability > 0]
    if not probs:
        return 1.0 if _same(decision.model, model) else 0.0
    return float(sum(c.probability for c in decision.candidates
                     if c.excluded is None and _same(c.model, model)))


def _same(a: str, b: str) -> bool:
    return a == b or a.endswith("/" + b) or b.endswith("/" + a)


def learning_curves(
    log: FullInfoLog | BanditLog, specs: list[PolicySpec], *, seed: int = 0, progress: Progress | None = None,
    cancel: threading.Event | None = None, block: int | None = None,
) -> list[Curve]:
    """Each config spec's curve. On full-information logs, specs the batched replay supports are replayed in blocks
    of `block` events (default `batched_curves.DEFAULT_BLOCK`; 1 = event by event, exactly the sequential replay);
    the rest, and bandit logs (rejection sampling), event by event. Each curve says which."""
    from workbench.replay.batched_curves import DEFAULT_BLOCK, curve_batched

    size = DEFAULT_BLOCK if block is None else block
    if size < 1:
        raise BadInputError(f"--block {size}: a block is at least 1 event (1 replays event by event, exactly)")
    out = []
    for spec in specs:
        if spec.config is None:
            continue  # baselines do not learn; their curves are flat lines already in the table
        if isinstance(log, FullInfoLog):
            fast = curve_batched(log, spec, block=size, seed=seed, progress=progress, cancel=cancel) if size > 1 \
                else None
            out.append(fast or curve_fullinfo(log, spec, seed=seed, progress=progress, cancel=cancel))
        else:
            out.append(curve_bandit(log, spec, seed=seed, progress=progress, cancel=cancel))
    return out
