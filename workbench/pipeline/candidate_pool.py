"""A router's candidate deployments as arrays, and the filters that exclude some of them with a reason.

Prices, context windows and capabilities are looked up once when the router is built; a decision then
screens every candidate with a few numpy operations (capability, context window, breaker, rate limit,
budget) and writes a reason string only for the ones it drops.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from workbench.domain import Candidate, ChatRequest, TaskProfile
from workbench.pipeline.breaker import BreakerBoard
from workbench.pipeline.context import request_tokens
from workbench.pipeline.deployment_stats import DeploymentStats
from workbench.pipeline.route import DEFAULT_OUTPUT_TOKENS, EXPECTED_OUTPUT_TOKENS
from workbench.prices import PriceTable


@dataclass(frozen=True, slots=True)
class Fleet:
    """The shared live state routers read: breakers and deployment statistics, on one clock."""

    board: BreakerBoard
    stats: DeploymentStats
    clock: Callable[[], float]


@dataclass(slots=True)
class RouteContext:
    """Per-decision facts every strategy may use, plus a per-decision cache of expected costs by pool."""

    now: float
    tokens_in: int
    tokens_out: int
    costs: dict[int, np.ndarray] = field(default_factory=dict)


def route_context(request: ChatRequest, profile: TaskProfile, now: float) -> RouteContext:
    out = request.max_output_tokens or EXPECTED_OUTPUT_TOKENS.get(profile.task_type, DEFAULT_OUTPUT_TOKENS)
    return RouteContext(now, request_tokens(request.messages), out)


@dataclass(slots=True)
class Screen:
    """The outcome of the filters for one decision."""

    reasons: list[str | None]  # per candidate: None when admissible
    admissible: np.ndarray  # bool
    breaker_only: np.ndarray  # bool: passes every filter but its breaker


class CandidatePool:
    def __init__(self, models: Sequence[str], prices: PriceTable, fleet: Fleet) -> None:
        if not models:
            raise ValueError("a router needs at least one candidate model")
        self.models = list(dict.fromkeys(models))
        self.n = len(self.models)
        self.fleet = fleet
        entries = [prices.get(m) for m in self.models]
        self.in_price = np.array([e.input_per_token if e else 0.0 for e in entries])
        self.out_price = np.array([e.output_per_token if e else 0.0 for e in entries])
        self.in_prices: list[float] = self.in_price.tolist()  # the same, for plain-Python paths on small pools
        self.out_prices: list[float] = self.out_price.tolist()
        # Unknown models have no known window: never excluded on it.
        self.window = np.array([e.context_window if e else np.iinfo(np.int64).max for e in entries], dtype=np.int64)
        self._min_window = int(self.window.min())
        self._caps = [e.capabilities if e else None for e in entries]
        self._cap_masks: dict[str, np.ndarray] = {}
        self.b_idx = fleet.board.indices(self.models)
        self.s_idx = fleet.stats.indices(self.models)
        self.position = {m: i for i, m in enumerate(self.models)}
        # Shared read-only masks for the common all-clear decision (no allocation on the hot path).
        self.everyone = np.ones(self.n, dtype=bool)
        self._nobody = np.zeros(self.n, dtype=bool)
        self.everyone.flags.writeable = False
        self._nobody.flags.writeable = False
        self.all_priced = bool(((self.in_price > 0) & (self.out_price > 0)).all())  # no zero-cost division
        # The last decision's records with the scores, probabilities and reasons they were built from
        # (selection.decision reuses them when a decision repeats them exactly).
        self.last_candidates: tuple[tuple[Candidate, ...], list[float], list[float], list[str | None]] | None = None

    def subset(self, models: Sequence[str]) -> np.ndarray:
        return np.array([self.position[m] for m in models], dtype=np.intp)

    def _lacks(self, capability: str) -> np.ndarray:
        mask = self._cap_masks.get(capability)
        if mask is None:
            mask = np.array([caps is not None and capability not in caps for caps in self._caps])
            self._cap_masks[capability] = mask
        return mask

    def expected_cost(self, ctx: RouteContext) -> np.ndarray:
        # Tokens in x input price + expected tokens out x output price: the request's cost, not a sum of prices.
        cached = ctx.costs.get(id(self))
        if cached is None:
            cached = ctx.costs[id(self)] = ctx.tokens_in * self.in_price + ctx.tokens_out * self.out_price
        return cached

    def screen(self, profile: TaskProfile, ctx: RouteContext, *, budget_usd: float | None = None) -> Screen:
        """Apply the filters in order; a candidate's reason is the first filter that dropped it."""
        n = self.n
        board: BreakerBoard = self.fleet.board
        stats: DeploymentStats = self.fleet.stats
        reasons: list[str | None] = [None] * n
        static: np.ndarray | None = None  # excluded by something other than the breaker (None: nothing yet)

        def drop(mask: np.ndarray, why: str | Callable[[int], str]) -> None:
            nonlocal static
            fresh = mask if static is None else mask & ~static
            for i in np.flatnonzero(fresh):
                reasons[i] = why if isinstance(why, str) else why(int(i))
            static = mask if static is None else static | mask

        for cap in profile.required_capabilities:
            lacks = self._lacks(cap)
            if lacks.any():
                drop(lacks, f"missing capability: {cap}")
        if ctx.tokens_in > self._min_window:
            drop(
                self.window < ctx.tokens_in,
                lambda i: f"context window {self.window[i]} < {ctx.tokens_in} prompt tokens",
            )
        tokens = ctx.tokens_in + ctx.tokens_out
        limited = stats.rate_limited(self.s_idx, ctx.now, tokens) if stats.may_limit(ctx.now) else None
        if limited is not None and limited.any():
            drop(limited, lambda i: stats.rate_limit_reason(int(self.s_idx[i]), ctx.now, tokens))
        if budget_usd is not None:
            costs = self.expected_cost(ctx)
            over = costs > budget_usd
            if over.any():
                drop(over, lambda i: f"over budget: ~${costs[i]:.6f} > ${budget_usd:g}")
        codes = board.check(self.b_idx, ctx.now) if board.any_tripped() else None
        if codes is None or not codes.any():
            return Screen(reasons, self.everyone if static is None else ~static, self._nobody)
        blocked = codes != 0
        breaker_only = blocked if static is None else blocked & ~static
        for i in np.flatnonzero(breaker_only):
            reasons[i] = board.blocked_reason(int(self.b_idx[i]), int(codes[i]), ctx.now)
        return Screen(reasons, ~(blocked if static is None else static | blocked), breaker_only)
