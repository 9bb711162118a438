"""Level-0 routers: the static config mapping and cost-based selection over the preferred models.

Both apply the same health-independent filters (capability, context window) and say why a candidate
was dropped. Selection is one pass over the candidates.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from workbench.domain import Candidate, ChatRequest, LlmResponse, RoutingDecision, TaskProfile
from workbench.pipeline.context import request_tokens
from workbench.prices import PriceTable

# Typical answer lengths per task type, used when a request does not cap its output. Cost-based
# routing needs an expected output size: pricing by the sum of per-token prices (litellm) misranks
# models whose input and output prices differ a lot.
EXPECTED_OUTPUT_TOKENS: dict[str, int] = {
    "triage": 80,
    "creative": 350,
    "development": 600,
    "analysis": 500,
    "research": 700,
}
DEFAULT_OUTPUT_TOKENS = 300
MAX_FALLBACKS = 5


def expected_output_tokens(request: ChatRequest, profile: TaskProfile) -> int:
    if request.max_output_tokens:
        return request.max_output_tokens
    return EXPECTED_OUTPUT_TOKENS.get(profile.task_type, DEFAULT_OUTPUT_TOKENS)


def screen(models: Sequence[str], request: ChatRequest, profile: TaskProfile, prices: PriceTable) -> list[str | None]:
    """For each model: None when it may serve this request, else the reason it is excluded."""
    needed = request_tokens(request.messages)
    reasons: list[str | None] = []
    for model in models:
        price = prices.get(model)
        reason = None
        if price is not None:
            missing = [c for c in profile.required_capabilities if c not in price.capabilities]
            if missing:
                reason = f"missing capability: {', '.join(missing)}"
            elif needed > price.context_window:
                reason = f"context window {price.context_window} < {needed} prompt tokens"
        reasons.append(reason)
    return reasons


class StaticRouter:
    """The config's mapping: the first preferred model that passes the filters; the rest are fallbacks."""

    name = "static"

    def __init__(self, models: Sequence[str], prices: PriceTable) -> None:
        if not models:
            raise ValueError("StaticRouter needs at least one model")
        self.models = list(models)
        self.prices = prices
        # The common request (no capability needed, prompt fits every window) always gets the same
        # decision: build it once, so a long preference list costs nothing per request.
        known = [p for p in (prices.get(m) for m in self.models) if p is not None]
        self._min_window = min((p.context_window for p in known), default=1 << 62)
        self._unfiltered: RoutingDecision | None = None

    def _plain(self, profile: TaskProfile) -> RoutingDecision:
        if self._unfiltered is None:
            self._unfiltered = self._decide([None] * len(self.models), "")
        if self._unfiltered.reason.endswith(profile.task_type):
            return self._unfiltered
        return replace(self._unfiltered, reason=f"static: preferred model #1 for {profile.task_type}")

    def route(self, request: ChatRequest, profile: TaskProfile) -> RoutingDecision:
        if not profile.required_capabilities and request_tokens(request.messages) <= self._min_window:
            return self._plain(profile)
        return self._decide(screen(self.models, request, profile, self.prices), profile.task_type)

    def _decide(self, reasons: list[str | None], task_type: str) -> RoutingDecision:
        n = len(self.models)
        # Rank order is the whole policy; a linear score keeps it visible in the candidates list.
        scores = [1.0 - i / n for i in range(n)]
        ok = [i for i, r in enumerate(reasons) if r is None]
        if ok:
            chosen = ok[0]
            reason = f"static: preferred model #{chosen + 1} for {task_type}"
            if chosen:
                reason += f" ({self.models[0]} excluded: {reasons[0]})"
        else:
            chosen = 0
            reason = f"static: every preferred model excluded; sending to {self.models[0]} anyway"
        candidates = tuple(
            Candidate(m, score=round(scores[i], 4), probability=1.0 if i == chosen else 0.0, excluded=reasons[i])
            for i, m in enumerate(self.models)
        )
        fallbacks = tuple(self.models[i] for i in ok if i != chosen)[:MAX_FALLBACKS]
        return RoutingDecision(
            model=self.models[chosen], strategy=self.name, candidates=candidates, propensity=1.0,
            reason=reason, fallbacks=fallbacks,
        )

    def update(self, decision: RoutingDecision, response: LlmResponse) -> None:
        return None


class CostBasedRouter:
    """Cheapest expected request: estimated input tokens x input price + expected output x output price."""

    name = "cost-based"

    def __init__(self, models: Sequence[str], prices: PriceTable) -> None:
        if not models:
            raise ValueError("CostBasedRouter needs at least one model")
        self.models = list(models)
        self.prices = prices

    def route(self, request: ChatRequest, profile: TaskProfile) -> RoutingDecision:
        reasons = screen(self.models, request, profile, self.prices)
        tokens_in = request_tokens(request.messages)
        tokens_out = expected_output_tokens(request, profile)
        costs = [self.prices.cost(m, tokens_in, tokens_out) for m in self.models]
        ok = [i for i, r in enumerate(reasons) if r is None]
        pool = ok or list(range(len(self.models)))
        chosen = min(pool, key=lambda i: (costs[i], i))
        order = sorted(pool, key=lambda i: (costs[i], i))
        # Score: the cheapest scores 1; others by how many times the cheapest they cost.
        floor = costs[chosen]
        candidates = tuple(
            Candidate(
                m,
                score=round(floor / costs[i], 4) if costs[i] > 0 else 1.0,
                probability=1.0 if i == chosen else 0.0,
                excluded=reasons[i],
            )
            for i, m in enumerate(self.models)
        )
        reason = (
            f"cost-based: {self.models[chosen]} cheapest at ${costs[chosen]:.6f} "
            f"for ~{tokens_in} in / {tokens_out} out tokens"
        )
        if not ok:
            reason += " (every candidate excluded; cheapest sent anyway)"
        return RoutingDecision(
            model=self.models[chosen], strategy=self.name, candidates=candidates, propensity=1.0, reason=reason,
            fallbacks=tuple(self.models[i] for i in order if i != chosen)[:MAX_FALLBACKS],
        )

    def update(self, decision: RoutingDecision, response: LlmResponse) -> None:
        return None
