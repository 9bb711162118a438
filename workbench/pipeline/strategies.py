"""The seven selection strategies (litellm's set, done right), each O(N) in the number of deployments.

A strategy scores every candidate (higher is better, in [0, 1]) and gives the probability with which it
would pick each admissible one: one-hot for deterministic rules, a real distribution for random ones
(weighted shuffle, random tie-breaks), so that the router can log the exact propensity of its choice.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from workbench.pipeline.candidate_pool import CandidatePool, RouteContext
from workbench.routing_config import StrategyConfig


@dataclass(frozen=True, slots=True)
class StrategyResult:
    scores: np.ndarray  # per candidate, higher is better
    probs: np.ndarray  # per candidate, 0 where not admissible, sums to 1 over the admissible ones
    samples: float | None = None  # observations behind the leading estimate; None when inputs are exact


class Strategy(Protocol):
    name: str

    def evaluate(self, pool: CandidatePool, admissible: np.ndarray, ctx: RouteContext) -> StrategyResult: ...

    def describe(self, pool: CandidatePool, position: int, ctx: RouteContext) -> str:
        """Why this candidate, in a few words, for the decision's reason line."""
        ...

    def commit(self, position: int) -> None:
        """The router chose `position` (stateful strategies such as round-robin advance)."""
        ...


def one_hot_best(scores: np.ndarray, admissible: np.ndarray) -> np.ndarray:
    """Deterministic choice: the highest score among the admissible; ties go to the earliest candidate."""
    masked = np.where(admissible, scores, -np.inf)
    probs = np.zeros(len(scores))
    probs[int(np.argmax(masked))] = 1.0
    return probs


class ScoredStrategy:
    """Scores a router computed itself (pattern votes, a network's outputs) presented as a strategy, so
    exploration, uncertainty and breaker policies treat them like any other. Picks the best admissible."""

    def __init__(self, name: str, scores: np.ndarray, samples: float | None, note: Callable[[int], str]) -> None:
        self.name = name
        self.scores, self.samples, self.note = scores, samples, note

    def evaluate(self, pool: CandidatePool, admissible: np.ndarray, ctx: RouteContext) -> StrategyResult:
        return StrategyResult(self.scores, one_hot_best(self.scores, admissible), self.samples)

    def describe(self, pool: CandidatePool, position: int, ctx: RouteContext) -> str:
        return f"{pool.models[position]} {self.note(position)}"

    def commit(self, position: int) -> None:
        return None


SMALL = 32  # below this many candidates, scoring in plain Python beats numpy's per-call overhead


def _best_small(scores: list[float], admissible: np.ndarray) -> int:
    """`np.argmax(np.where(admissible, scores, -inf))` in plain Python: the first highest admissible score."""
    best_i, best = 0, -math.inf
    for i, (score, ok) in enumerate(zip(scores, admissible.tolist(), strict=True)):
        if ok and score > best:
            best_i, best = i, score
    return best_i


def _one_hot(n: int, position: int) -> np.ndarray:
    probs = np.zeros(n)
    probs[position] = 1.0
    return probs


def uniform_ties(scores: np.ndarray, admissible: np.ndarray, tolerance: float = 1e-12) -> np.ndarray:
    """Random tie-break: uniform over the admissible candidates whose score equals the best."""
    best = np.max(np.where(admissible, scores, -np.inf))
    tied = admissible & (scores >= best - tolerance)
    out: np.ndarray = tied / tied.sum()
    return out


def proportional(weights: np.ndarray, admissible: np.ndarray) -> np.ndarray:
    w = np.where(admissible, np.maximum(weights, 0.0), 0.0)
    total = np.add.reduce(w)  # .sum() without the method's Python-level wrapper
    if total <= 0:  # every admissible weight is zero: fall back to uniform rather than divide by zero
        w = admissible.astype(float)
        total = w.sum()
    out: np.ndarray = w / total
    return out


class _Stateless:
    def commit(self, position: int) -> None:
        return None


class SimpleShuffle(_Stateless):
    """Weighted random pick: weight, rpm or tpm per deployment (config `routing.deployments`)."""

    name = "simple-shuffle"

    def __init__(self, settings: StrategyConfig) -> None:
        self.by = settings.shuffle_weight_by
        self._cache: dict[int, tuple[np.ndarray, StrategyResult]] = {}

    def _weights(self, pool: CandidatePool) -> np.ndarray:
        cached = self._cache.get(id(pool))
        if cached is not None:  # weights and limits come from config: fixed for the pool's lifetime
            return cached[0]
        stats = pool.fleet.stats
        if self.by == "rpm":
            w = stats.rpm[pool.s_idx]
        elif self.by == "tpm":
            w = stats.tpm[pool.s_idx]
        else:
            w = stats.weight[pool.s_idx]
        # An unlimited deployment (inf) weighs as much as the largest finite one, or 1 when none is finite.
        finite = w[np.isfinite(w)]
        w = np.where(np.isfinite(w), w, finite.max() if finite.size else 1.0)
        top = w.max()
        self._cache[id(pool)] = (w, StrategyResult(w / top if top > 0 else w, proportional(w, pool.everyone)))
        return w

    def evaluate(self, pool: CandidatePool, admissible: np.ndarray, ctx: RouteContext) -> StrategyResult:
        w = self._weights(pool)
        everyone = self._cache[id(pool)][1]
        if admissible is pool.everyone:
            return everyone
        return StrategyResult(everyone.scores, proportional(w, admissible))

    def describe(self, pool: CandidatePool, position: int, ctx: RouteContext) -> str:
        return f"{pool.models[position]} drawn at random, weighted by {self.by}"


class RoundRobin:
    """Each candidate in turn, skipping excluded ones. Deterministic given the position in the cycle."""

    name = "round-robin"

    def __init__(self, settings: StrategyConfig) -> None:
        self.next = 0

    def evaluate(self, pool: CandidatePool, admissible: np.ndarray, ctx: RouteContext) -> StrategyResult:
        n = pool.n
        if n <= SMALL:  # the same arithmetic on Python ints and floats
            nxt = self.next
            small = [1.0 - ((i - nxt) % n) / n for i in range(n)]
            return StrategyResult(np.array(small), _one_hot(n, _best_small(small, admissible)))
        turn = (np.arange(n) - self.next) % n  # 0 for the candidate whose turn it is
        scores = 1.0 - turn / n
        return StrategyResult(scores, one_hot_best(scores, admissible))

    def describe(self, pool: CandidatePool, position: int, ctx: RouteContext) -> str:
        return f"{pool.models[position]}'s turn in the rotation"

    def commit(self, position: int) -> None:
        self.next = position + 1


class LeastBusy(_Stateless):
    """Fewest requests in flight; ties broken uniformly at random."""

    name = "least-busy"

    def evaluate(self, pool: CandidatePool, admissible: np.ndarray, ctx: RouteContext) -> StrategyResult:
        inflight = pool.fleet.stats.inflight[pool.s_idx]
        if pool.n <= SMALL:
            small = [1.0 / (1.0 + x) for x in inflight.tolist()]
            best = max((x for x, ok in zip(small, admissible.tolist(), strict=True) if ok), default=-math.inf)
            tied = [ok and x >= best - 1e-12 for x, ok in zip(small, admissible.tolist(), strict=True)]
            count = sum(tied)
            if count:
                return StrategyResult(np.array(small), np.array([t / count for t in tied]))
        scores = 1.0 / (1.0 + inflight)
        if admissible is pool.everyone:
            tied = scores >= scores.max() - 1e-12
            return StrategyResult(scores, tied / tied.sum())
        return StrategyResult(scores, uniform_ties(scores, admissible))

    def describe(self, pool: CandidatePool, position: int, ctx: RouteContext) -> str:
        inflight = pool.fleet.stats.inflight[pool.s_idx[position]]
        return f"{pool.models[position]} least busy with {inflight:.0f} request(s) in flight"


class UsageBased(_Stateless):
    """Lowest tokens used this minute (deployments at their rpm/tpm caps are already excluded)."""

    name = "usage-based"

    def evaluate(self, pool: CandidatePool, admissible: np.ndarray, ctx: RouteContext) -> StrategyResult:
        _, tokens = pool.fleet.stats.usage(pool.s_idx, ctx.now)
        if pool.n <= SMALL:
            small = [1.0 / (1.0 + t / 1000.0) for t in tokens.tolist()]
            return StrategyResult(np.array(small), _one_hot(pool.n, _best_small(small, admissible)))
        scores = 1.0 / (1.0 + tokens / 1000.0)
        return StrategyResult(scores, one_hot_best(scores, admissible))

    def describe(self, pool: CandidatePool, position: int, ctx: RouteContext) -> str:
        _, tokens = pool.fleet.stats.usage(pool.s_idx[position : position + 1], ctx.now)
        return f"{pool.models[position]} lowest usage at {tokens[0]:.0f} tokens this minute"


class LatencyBased(_Stateless):
    """Lowest expected latency: EWMA TTFT + EWMA ms per output token x expected output tokens.

    Untried deployments are assumed as fast as the fastest tried one, so they tie with it and get traffic,
    but never look better than anything observed. Candidates within `tie_buffer` of the fastest tie, and
    ties break uniformly at random (spreading load, as litellm's buffer does).
    """

    name = "latency-based"

    def __init__(self, settings: StrategyConfig) -> None:
        self.buffer = settings.latency_tie_buffer
        self._last: tuple[RouteContext, tuple[np.ndarray, np.ndarray]] | None = None

    def _latency(self, pool: CandidatePool, ctx: RouteContext) -> tuple[np.ndarray, np.ndarray]:
        if self._last is not None and self._last[0] is ctx:  # evaluate and describe of one decision
            return self._last[1]
        found = self._estimate(pool, ctx)
        self._last = (ctx, found)
        return found

    def _estimate(self, pool: CandidatePool, ctx: RouteContext) -> tuple[np.ndarray, np.ndarray]:
        stats = pool.fleet.stats
        n_obs = stats.latency_n[pool.s_idx]
        expected = stats.expected_latency_ms(pool.s_idx, ctx.tokens_out)
        if pool.n <= SMALL:  # numpy's reductions cost more than the loop on a handful of candidates
            seen = [o > 0 for o in n_obs.tolist()]
            if all(seen):
                return expected, n_obs
            values = expected.tolist()
            floor = min((e for e, ok in zip(values, seen, strict=True) if ok), default=1.0)
            return np.array([e if ok else floor for e, ok in zip(values, seen, strict=True)]), n_obs
        tried = n_obs > 0
        if tried.all():
            return expected, n_obs
        prior = expected[tried].min() if tried.any() else 1.0
        return np.where(tried, expected, prior), n_obs

    def _evaluate_small(self, pool: CandidatePool, admissible: np.ndarray, ctx: RouteContext) -> StrategyResult:
        """`evaluate`'s arithmetic on Python floats, step for step, for a handful of candidates."""
        found, n_arr = self._latency(pool, ctx)
        latency = [max(x, 1e-9) for x in found.tolist()]
        n_obs = n_arr.tolist()
        adm = admissible.tolist()
        if admissible is pool.everyone:
            best = min(latency)
            tied = [x <= best * (1.0 + self.buffer) for x in latency]
        else:
            best = min((x for x, ok in zip(latency, adm, strict=True) if ok), default=min(latency))
            tied = [ok and x <= best * (1.0 + self.buffer) for x, ok in zip(latency, adm, strict=True)]
        scores = [best / x for x in latency]
        count = sum(tied)
        if count:
            probs = np.array([t / count for t in tied])
            leading = min(o for o, t in zip(n_obs, tied, strict=True) if t)
        else:
            probs = _one_hot(pool.n, _best_small(scores, admissible))
            leading = min(n_obs)
        return StrategyResult(np.array(scores), probs, float(leading))

    def evaluate(self, pool: CandidatePool, admissible: np.ndarray, ctx: RouteContext) -> StrategyResult:
        if pool.n <= SMALL:
            return self._evaluate_small(pool, admissible, ctx)
        latency, n_obs = self._latency(pool, ctx)
        latency = np.maximum(latency, 1e-9)
        if admissible is pool.everyone:  # the all-clear screen: no masking needed
            best = latency.min()
            tied = latency <= best * (1.0 + self.buffer)
        else:
            best = latency[admissible].min() if admissible.any() else latency.min()
            tied = admissible & (latency <= best * (1.0 + self.buffer))
        scores = best / latency
        count = int(tied.sum())
        probs = tied / count if count else one_hot_best(scores, admissible)
        leading = n_obs[tied] if count else n_obs
        return StrategyResult(scores, probs, float(leading.min()) if leading.size else 0.0)

    def describe(self, pool: CandidatePool, position: int, ctx: RouteContext) -> str:
        latency, n_obs = self._latency(pool, ctx)
        seen = n_obs[position]
        if not n_obs.any():
            return f"{pool.models[position]} drawn among untried deployments (no latency observed yet)"
        basis = f"{seen:.0f} sample(s)" if seen else "untried: assumed as fast as the fastest observed"
        return f"{pool.models[position]} fastest at ~{latency[position]:.0f} ms expected ({basis})"


class CostBased(_Stateless):
    """Cheapest expected request: tokens in x input price + expected tokens out x output price."""

    name = "cost-based"

    def _evaluate_small(self, pool: CandidatePool, admissible: np.ndarray, ctx: RouteContext) -> StrategyResult | None:
        """`evaluate` on Python floats for a handful of candidates; None when only numpy's rules apply (a zero
        cost on a fully priced pool)."""
        t_in, t_out = ctx.tokens_in, ctx.tokens_out
        costs = [t_in * a + t_out * b for a, b in zip(pool.in_prices, pool.out_prices, strict=True)]
        if pool.all_priced and min(costs) <= 0:
            return None
        if admissible is pool.everyone:
            best = costs.index(min(costs))
        else:
            best = min((i for i, ok in enumerate(admissible.tolist()) if ok), key=costs.__getitem__, default=0)
        top = costs[best]
        return StrategyResult(np.array([top / c if c > 0 else 1.0 for c in costs]), _one_hot(pool.n, best))

    def evaluate(self, pool: CandidatePool, admissible: np.ndarray, ctx: RouteContext) -> StrategyResult:
        if pool.n <= SMALL:
            small = self._evaluate_small(pool, admissible, ctx)
            if small is not None:
                return small
        costs = pool.expected_cost(ctx)
        everyone = admissible is pool.everyone  # the common all-clear screen: skip the masking
        best = int(costs.argmin()) if everyone else int(np.argmin(np.where(admissible, costs, np.inf)))
        # The cheapest scores 1; others by how many times the cheapest they cost (level-0's scale).
        if pool.all_priced:
            scores = costs[best] / costs
        else:
            scores = np.divide(costs[best], costs, out=np.ones(pool.n), where=costs > 0)
        probs = np.zeros(pool.n)
        probs[best] = 1.0
        return StrategyResult(scores, probs)

    def describe(self, pool: CandidatePool, position: int, ctx: RouteContext) -> str:
        # The same product and sum expected_cost computes, for one candidate.
        cost = ctx.tokens_in * float(pool.in_price[position]) + ctx.tokens_out * float(pool.out_price[position])
        return (
            f"{pool.models[position]} cheapest at ${cost:.6f} for ~{ctx.tokens_in} in / {ctx.tokens_out} out tokens"
        )


class RateLimitAware(_Stateless):
    """Random pick weighted by rate-limit headroom left this minute (1.0 for an unlimited deployment)."""

    name = "rate-limit-aware"

    def _headroom(self, pool: CandidatePool, ctx: RouteContext) -> np.ndarray:
        stats = pool.fleet.stats
        if not stats.may_limit(ctx.now):  # no limits configured and no Retry-After: full headroom everywhere
            return pool.everyone.astype(float)
        reqs, toks = stats.usage(pool.s_idx, ctx.now)
        rpm, tpm = stats.rpm[pool.s_idx], stats.tpm[pool.s_idx]
        with np.errstate(invalid="ignore"):
            req_room = np.where(np.isfinite(rpm), 1.0 - reqs / rpm, 1.0)
            tok_room = np.where(np.isfinite(tpm), 1.0 - (toks + ctx.tokens_in + ctx.tokens_out) / tpm, 1.0)
        return np.clip(np.minimum(req_room, tok_room), 0.0, 1.0)

    def evaluate(self, pool: CandidatePool, admissible: np.ndarray, ctx: RouteContext) -> StrategyResult:
        room = self._headroom(pool, ctx)
        return StrategyResult(room, proportional(room, admissible))

    def describe(self, pool: CandidatePool, position: int, ctx: RouteContext) -> str:
        room = self._headroom(pool, ctx)[position]
        return f"{pool.models[position]} drawn weighted by rate-limit headroom ({room:.0%} left this minute)"


def make_strategy(name: str, settings: StrategyConfig) -> Strategy:
    """A fresh strategy instance (each router and each tier owns its own, e.g. its own rotation)."""
    if name == "simple-shuffle":
        return SimpleShuffle(settings)
    if name == "round-robin":
        return RoundRobin(settings)
    if name == "least-busy":
        return LeastBusy()
    if name == "usage-based":
        return UsageBased()
    if name == "latency-based":
        return LatencyBased(settings)
    if name == "cost-based":
        return CostBased()
    if name == "rate-limit-aware":
        return RateLimitAware()
    raise ValueError(f"unknown strategy {name!r}")  # config validation lists the choices before we get here
