"""Level-1 routers: one of the seven strategies over the pipeline's models, with breakers and exploration."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from workbench.domain import ChatRequest, LlmResponse, RoutingDecision, TaskProfile
from workbench.pipeline.candidate_pool import CandidatePool, route_context
from workbench.pipeline.selection import RoutingKit, decision, select
from workbench.pipeline.strategies import Strategy
from workbench.prices import PriceTable


class StrategyRouter:
    """Screens the candidates (capability, window, rate limit, breaker), then lets the strategy choose."""

    def __init__(
        self,
        models: Sequence[str],
        prices: PriceTable,
        strategy: Strategy,
        kit: RoutingKit,
        rng: np.random.Generator,
    ) -> None:
        self.name = strategy.name
        self.strategy = strategy
        self.kit = kit
        self.rng = rng
        self.pool = CandidatePool(models, prices, kit.fleet)

    @property
    def models(self) -> list[str]:
        return self.pool.models

    def route(self, request: ChatRequest, profile: TaskProfile) -> RoutingDecision:
        ctx = route_context(request, profile, self.kit.fleet.clock())
        screen = self.pool.screen(profile, ctx)
        choice = select(self.pool, screen, self.strategy, ctx, self.kit, self.rng)
        self.strategy.commit(choice.position)
        return decision(self.pool, choice, self.name, self.strategy.describe(self.pool, choice.position, ctx))

    def update(self, decision: RoutingDecision, response: LlmResponse) -> None:
        # Latency, usage and breaker state are fleet-wide and fed once per request by the session.
        return None
