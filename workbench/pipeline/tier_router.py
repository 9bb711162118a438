"""TierRouter: complexity -> tier -> a strategy inside the tier; budget step-down, escalation on uncertainty.

A tier whose candidates are all unusable hands over to a neighbour: over budget steps down; open breakers
move up first (a safer tier), then down. Only when no tier has a usable candidate does the all-open
breaker policy apply, in the tier the request belonged to.
"""

from __future__ import annotations

import numpy as np

from workbench.domain import ChatRequest, LlmResponse, RoutingDecision, TaskProfile
from workbench.pipeline.candidate_pool import CandidatePool, RouteContext, Screen, route_context
from workbench.pipeline.selection import Choice, RoutingKit, decision, select
from workbench.pipeline.strategies import Strategy, make_strategy
from workbench.pipeline.tiers import TierMap
from workbench.prices import PriceTable
from workbench.routing_config import StrategyConfig, TiersConfig


class TierRouter:
    name = "tier"

    def __init__(
        self,
        tiers: TierMap,
        config: TiersConfig,
        strategy_settings: StrategyConfig,
        prices: PriceTable,
        kit: RoutingKit,
        rng: np.random.Generator,
    ) -> None:
        self.tiers = tiers
        self.kit = kit
        self.rng = rng
        self.budget_usd = config.max_request_usd
        self.minimal_steps_down = config.minimal_budget_steps_down
        self.strategy_name = config.strategy
        self.pools = [CandidatePool(t.models, prices, kit.fleet) for t in tiers.tiers]
        self.strategies: list[Strategy] = [make_strategy(config.strategy, strategy_settings) for _ in tiers.tiers]

    def _screen(self, t: int, profile: TaskProfile, ctx: RouteContext) -> Screen:
        pool = self.pools[t]
        return pool.screen(profile, ctx, budget_usd=self.budget_usd)

    def _next_tier(self, t: int, screen: Screen, tried: set[int]) -> int | None:
        top = len(self.pools) - 1
        over_budget = all(r is not None and r.startswith("over budget") for r in screen.reasons)
        # Over budget: only cheaper tiers can help. Otherwise prefer the safer tier above, then below.
        order = list(range(t - 1, -1, -1)) if over_budget else [*range(t + 1, top + 1), *range(t - 1, -1, -1)]
        return next((u for u in order if u not in tried), None)

    def route(self, request: ChatRequest, profile: TaskProfile) -> RoutingDecision:
        ctx = route_context(request, profile, self.kit.fleet.clock())
        start, why, forced = self.tiers.tier_for(profile)
        notes = [why]
        if self.minimal_steps_down and profile.budget_class == "minimal" and start > 0 and not forced:
            start -= 1
            notes.append(f"minimal budget: stepped down to {self.tiers.tiers[start].name}")

        t, tried = start, {start}
        screen = self._screen(t, profile, ctx)
        first_screen = screen
        while screen.admissible is not self.pools[t].everyone and not screen.admissible.any():
            nxt = self._next_tier(t, screen, tried)
            if nxt is None:
                t, screen = start, first_screen  # nothing usable anywhere: the policy applies in the home tier
                break
            blocked = "every breaker open" if screen.breaker_only.any() else "no usable candidate"
            if all(r is not None and r.startswith("over budget") for r in screen.reasons):
                blocked = f"every candidate over the ${self.budget_usd:g} budget"
            notes.append(f"{self.tiers.tiers[t].name}: {blocked} -> {self.tiers.tiers[nxt].name}")
            t = nxt
            tried.add(t)
            screen = self._screen(t, profile, ctx)

        choice = self._select(t, screen, ctx, profile)
        if choice.escalate and t + 1 < len(self.pools):
            up = self._screen(t + 1, profile, ctx)
            if up.admissible.any():
                notes.append(
                    f"uncertain ({choice.assessment.detail}); escalated "
                    f"{self.tiers.tiers[t].name} -> {self.tiers.tiers[t + 1].name}"
                )
                t, screen = t + 1, up
                escalated = self._select(t, screen, ctx, profile)
                # Keep the original uncertainty on record: it is why this decision moved.
                escalated.assessment = choice.assessment
                choice = escalated
        pool, strategy = self.pools[t], self.strategies[t]
        strategy.commit(choice.position)
        return decision(
            pool, choice, self.name, f"{'; '.join(notes)}; {strategy.describe(pool, choice.position, ctx)}",
            tier=self.tiers.tiers[t].name,
        )

    def _select(self, t: int, screen: Screen, ctx: RouteContext, profile: TaskProfile) -> Choice:
        pool: CandidatePool = self.pools[t]
        return select(
            pool, screen, self.strategies[t], ctx, self.kit, self.rng, classifier=profile.confidence,
            can_escalate=t + 1 < len(self.pools),
        )

    def update(self, decision: RoutingDecision, response: LlmResponse) -> None:
        return None
