"""One decision over a candidate pool: strategy, exploration, uncertainty action, all-open breaker policy.

Every level-1/2 router ends here, so every decision carries the same things: candidates with scores,
exclusion reasons and probabilities, the chosen model, its propensity, the uncertainty and a reason line.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from itertools import repeat
from typing import Any, cast

import numpy as np

from workbench.domain import Candidate, RoutingDecision
from workbench.pipeline.breaker import FAIL_FAST, IGNORE_BREAKERS, LEAST_RECENTLY_FAILED
from workbench.pipeline.candidate_pool import CandidatePool, Fleet, RouteContext, Screen
from workbench.pipeline.exploration import Explorer
from workbench.pipeline.route import MAX_FALLBACKS
from workbench.pipeline.strategies import Strategy, StrategyResult
from workbench.pipeline.uncertainty import Assessment, UncertaintyEstimator, top_two_margin

SMALL = 32  # below this many candidates, plain Python beats numpy for the per-decision bookkeeping

# Building the Candidate records is most of a decision over a large pool: the frozen dataclass's __init__
# costs four object.__setattr__ calls each. Filling the slots column by column through their descriptors
# makes equal records at under half the cost. Only valid while Candidate is exactly these four slots with
# no __post_init__; otherwise the plain constructor is used.
_CANDIDATE_FIELDS = ("model", "score", "probability", "excluded")
_FAST_RECORDS = (
    tuple(f.name for f in fields(Candidate)) == _CANDIDATE_FIELDS
    and getattr(Candidate, "__slots__", ()) == _CANDIDATE_FIELDS
    and not hasattr(Candidate, "__post_init__")
)
_SETTERS: tuple[Any, ...] = tuple(getattr(Candidate, f).__set__ for f in _CANDIDATE_FIELDS) if _FAST_RECORDS else ()
_FAST_FROM = 8  # below this many candidates the plain constructor is as quick


def build_candidates(
    models: Sequence[str], scores: Sequence[float], probs: Sequence[float], reasons: Sequence[str | None]
) -> tuple[Candidate, ...]:
    """One Candidate per model, equal to `tuple(map(Candidate, models, scores, probs, reasons))`."""
    n = len(models)
    if not _FAST_RECORDS or n < _FAST_FROM:
        return tuple(map(Candidate, models, scores, probs, reasons))
    out = cast(list[Candidate], list(map(object.__new__, repeat(Candidate, n))))
    for setter, column in zip(_SETTERS, (models, scores, probs, reasons), strict=True):
        deque(map(setter, out, column), maxlen=0)  # consume the map for its side effect, storing nothing
    return tuple(out)


@dataclass(frozen=True)
class RoutingKit:
    """What every intelligent router of a registry shares: live fleet state and the decision policies."""

    fleet: Fleet
    explorer: Explorer
    estimator: UncertaintyEstimator
    all_open_policy: str
    seed: int


@dataclass(slots=True)
class Choice:
    position: int
    probs: np.ndarray
    scores: np.ndarray
    propensity: float
    explored: bool
    assessment: Assessment
    screen: Screen
    policy: str = ""
    notes: list[str] = field(default_factory=list)
    considered: np.ndarray | None = None  # the mask fallbacks are drawn from
    escalate: bool = False  # confidence fell below the threshold and the action is 'escalate'


def _policy_choice(
    pool: CandidatePool, screen: Screen, strategy: Strategy, ctx: RouteContext, kit: RoutingKit
) -> Choice:
    """Every candidate that passes the other filters has an open breaker: apply the configured policy."""
    blocked = screen.breaker_only
    policy = kit.all_open_policy
    result = strategy.evaluate(pool, blocked, ctx)
    n_open = int(blocked.sum())
    if policy == LEAST_RECENTLY_FAILED:
        positions = np.flatnonzero(blocked)
        position = int(positions[kit.fleet.board.least_recently_failed(pool.b_idx[positions])])
        note = f"every candidate's breaker is open ({n_open}); policy {policy}: sent to the one that failed longest ago"
    elif policy == IGNORE_BREAKERS:
        position = int(np.argmax(result.probs))
        note = f"every candidate's breaker is open ({n_open}); policy {policy}: routed as if all were closed"
    else:
        position = int(np.argmax(result.probs))
        note = f"every candidate's breaker is open ({n_open}); policy {FAIL_FAST}: not sent"
    probs = np.zeros(pool.n)
    probs[position] = 1.0
    return Choice(
        position, probs, result.scores, 1.0, False, Assessment(0.0, "breakers", "every breaker open"), screen,
        policy=policy, notes=[note], considered=blocked if policy != FAIL_FAST else np.zeros(pool.n, dtype=bool),
    )


def select(
    pool: CandidatePool,
    screen: Screen,
    strategy: Strategy,
    ctx: RouteContext,
    kit: RoutingKit,
    rng: np.random.Generator,
    *,
    result: StrategyResult | None = None,
    vote_share: float | None = None,
    classifier: float | None = None,
    can_escalate: bool = False,
) -> Choice:
    """Pick one candidate. `result` lets a router pass scores it computed itself (pattern, neural).

    Below the confidence threshold the configured action applies here (explore, fallback, record), except
    'escalate', which only a router with a safer place to go can carry out: the choice is flagged for it.
    A router with nowhere to escalate records the uncertainty in the decision and leaves the pick alone.
    """
    admissible = screen.admissible
    if admissible is not pool.everyone and not admissible.any():  # `everyone` is the shared all-clear mask
        if screen.breaker_only.any():
            return _policy_choice(pool, screen, strategy, ctx, kit)
        # Everything is excluded by static filters (capability, window, limits, budget): like level 0,
        # send to the strategy's best anyway and say so, rather than fail the request here.
        everyone = np.ones(pool.n, dtype=bool)
        res = strategy.evaluate(pool, everyone, ctx) if result is None else result
        probs = res.probs if res.probs.sum() > 0 else everyone / pool.n
        position = int(np.argmax(probs))
        one = np.zeros(pool.n)
        one[position] = 1.0
        return Choice(
            position, one, res.scores, 1.0, False, Assessment(0.0, "filters", "every candidate excluded"), screen,
            notes=["every candidate excluded; sent anyway"], considered=everyone,
        )

    res = strategy.evaluate(pool, admissible, ctx) if result is None else result
    estimator = kit.estimator
    assessment = estimator.assess(
        margin=top_two_margin(res.scores, admissible), vote_share=vote_share, samples=res.samples,
        classifier=classifier,
    )
    notes: list[str] = []
    action = estimator.settings.action if estimator.low(assessment) else ""
    if action == "fallback":
        position = int(np.argmax(admissible))  # the first admissible in configured order: the static choice
        probs = np.zeros(pool.n)
        probs[position] = 1.0
        notes.append(f"uncertain ({assessment.detail}); fell back to the first configured candidate")
        return Choice(position, probs, res.scores, 1.0, False, assessment, screen, notes=notes, considered=admissible)
    pick = kit.explorer.pick(res.scores, res.probs, admissible, rng, force_softmax=action == "explore")
    if action == "explore":
        notes.append(f"uncertain ({assessment.detail}); explored by softmax")
    elif action == "record":
        notes.append(f"uncertain ({assessment.detail})")
    if pick.explored and action != "explore":
        notes.append(f"explored ({kit.explorer.settings.mode})")
    return Choice(
        pick.position, pick.probs, res.scores, float(pick.probs[pick.position]), pick.explored, assessment, screen,
        notes=notes, considered=admissible, escalate=action == "escalate" and can_escalate,
    )


def fallbacks_for(pool: CandidatePool, choice: Choice) -> tuple[str, ...]:
    """The next best considered candidates by score, at most MAX_FALLBACKS, found in O(N)."""
    mask = choice.considered if choice.considered is not None else choice.screen.admissible
    if pool.n <= SMALL:
        scores = choice.scores.tolist()
        kept = [i for i, ok in enumerate(mask.tolist()) if ok]
        if choice.position in kept:
            kept.remove(choice.position)
        # Highest score first, ties by position: a stable sort keeps equal scores in position order even reversed.
        ranked = sorted(kept, key=scores.__getitem__, reverse=True)
        models = pool.models
        return tuple([models[i] for i in ranked[:MAX_FALLBACKS]])
    positions = np.flatnonzero(mask)
    positions = positions[positions != choice.position]
    if positions.size == 0:
        return ()
    if positions.size > MAX_FALLBACKS:
        keep = np.argpartition(-choice.scores[positions], MAX_FALLBACKS - 1)[:MAX_FALLBACKS]
        positions = positions[keep]
    order = sorted(positions.tolist(), key=lambda i: (-choice.scores[i], i))
    return tuple(pool.models[i] for i in order)


def decision(
    pool: CandidatePool,
    choice: Choice,
    strategy_name: str,
    why: str,
    *,
    tier: str = "",
    extra_notes: list[str] | None = None,
) -> RoutingDecision:
    """The RoutingDecision record for a choice. `why` is the strategy's own words for the pick."""
    # Scores are rounded for reading; probabilities stay exact, since replay divides by them.
    # On a handful of candidates plain Python beats numpy's per-call overhead; strategies keep scores finite.
    small = pool.n <= SMALL
    scores = list(map(round, choice.scores.tolist(), repeat(4))) if small else np.round(choice.scores, 4).tolist()
    probs = choice.probs.tolist()
    reasons = choice.screen.reasons
    # Records are immutable: when nothing changed since this pool's last decision (a steady fleet, the same
    # kind of request), the last tuple is reused; comparing the three lists is far cheaper than rebuilding.
    last = pool.last_candidates
    if last is not None and last[1] == scores and last[2] == probs and last[3] == reasons:
        candidates = last[0]
    else:
        candidates = build_candidates(pool.models, scores, probs, reasons)
        pool.last_candidates = (candidates, scores, probs, list(reasons))
    notes = [*(extra_notes or []), *choice.notes]
    reason = f"{strategy_name}: {why}" + (f"; {'; '.join(notes)}" if notes else "")
    return RoutingDecision(
        model=pool.models[choice.position],
        strategy=strategy_name,
        candidates=candidates,
        propensity=choice.propensity,
        explored=choice.explored,
        uncertainty=choice.assessment.uncertainty,
        reason=reason,
        fallbacks=fallbacks_for(pool, choice) if choice.policy != FAIL_FAST else (),
        tier=tier,
        policy=choice.policy,
    )
