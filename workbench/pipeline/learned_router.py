"""LearnedRouter: routes by a policy whose state a LearningBackend updates online (sona, linucb, thompson).

The router owns the candidate pool and the decision mechanics shared by every router (filters, breakers,
exploration, uncertainty, propensity); the policy only turns the request's features into per-candidate
scores and a choice distribution. Its learner holds the same policy object, so an update changes the very
weights the next decision reads.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from workbench.domain import ChatRequest, LlmResponse, RoutingDecision, TaskProfile
from workbench.pipeline.candidate_pool import CandidatePool, RouteContext, route_context
from workbench.pipeline.features import request_features
from workbench.pipeline.selection import RoutingKit, decision, select
from workbench.pipeline.strategies import StrategyResult
from workbench.prices import PriceTable


@dataclass(frozen=True, slots=True)
class PolicyScores:
    scores: np.ndarray  # per candidate, higher is better
    probs: np.ndarray  # the policy's own choice distribution over the admissible candidates
    samples: float | None  # outcomes behind the leading estimate
    describe: Callable[[int], str]  # the reason words for a chosen position


class LearnedPolicy(Protocol):
    name: str

    def evaluate(self, x: np.ndarray, admissible: np.ndarray, rng: np.random.Generator) -> PolicyScores: ...


class _Scored:
    """A policy's scores dressed as a strategy, so `select` treats them like any other."""

    def __init__(self, name: str, result: PolicyScores) -> None:
        self.name = name
        self.result = result

    def evaluate(self, pool: CandidatePool, admissible: np.ndarray, ctx: RouteContext) -> StrategyResult:
        return StrategyResult(self.result.scores, self.result.probs, self.result.samples)

    def describe(self, pool: CandidatePool, position: int, ctx: RouteContext) -> str:
        return f"{pool.models[position]} {self.result.describe(position)}"

    def commit(self, position: int) -> None:
        return None


class LearnedRouter:
    def __init__(
        self,
        pool: CandidatePool,
        policy: LearnedPolicy,
        kit: RoutingKit,
        rng: np.random.Generator,
    ) -> None:
        self.name = policy.name
        self.pool = pool
        self.policy = policy
        self.kit = kit
        self.rng = rng

    @classmethod
    def over(
        cls, models: Sequence[str], prices: PriceTable, kit: RoutingKit
    ) -> CandidatePool:
        """The candidate pool a learned router and its learner agree on (deduplicated, in configured order)."""
        return CandidatePool(models, prices, kit.fleet)

    @property
    def models(self) -> list[str]:
        return self.pool.models

    def route(self, request: ChatRequest, profile: TaskProfile) -> RoutingDecision:
        ctx = route_context(request, profile, self.kit.fleet.clock())
        screen = self.pool.screen(profile, ctx)
        mask = screen.admissible if screen.admissible.any() else self.pool.everyone
        strategy = _Scored(self.name, self.policy.evaluate(request_features(profile), mask, self.rng))
        choice = select(self.pool, screen, strategy, ctx, self.kit, self.rng)
        return decision(self.pool, choice, self.name, strategy.describe(self.pool, choice.position, ctx))

    def update(self, decision: RoutingDecision, response: LlmResponse) -> None:
        return None  # the paired LearningBackend learns from the scored trajectory, which has the reward
