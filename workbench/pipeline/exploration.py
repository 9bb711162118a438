"""Exploration: epsilon-greedy or softmax with a floor, off by default.

Whatever the mode, the router learns the full probability of the candidate it picked (its propensity),
so logs support unbiased off-policy replay (IPS, SNIPS, DR).
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from itertools import accumulate

import numpy as np

from workbench.routing_config import ExplorationConfig


@dataclass(frozen=True, slots=True)
class Pick:
    position: int
    probs: np.ndarray  # the full distribution the pick was drawn from (0 outside the admissible set)
    explored: bool  # the pick came from the exploration part, not the strategy's own choice


def softmax_with_floor(scores: np.ndarray, admissible: np.ndarray, temperature: float, floor: float) -> np.ndarray:
    """Softmax of scores / temperature over the admissible, mixed so no admissible one falls below `floor`."""
    m = int(admissible.sum())
    z = np.where(admissible, scores / temperature, -np.inf)
    z = z - z.max()
    e = np.where(admissible, np.exp(z), 0.0)
    p = e / e.sum()
    floor = min(floor, 1.0 / m)  # a floor above 1/m cannot be met by every candidate
    out: np.ndarray = (1.0 - m * floor) * p + np.where(admissible, floor, 0.0)
    return out


SMALL = 32  # below this many candidates plain Python beats numpy's per-call overhead


def draw(probs: np.ndarray, rng: np.random.Generator) -> int:
    """One draw from `probs`; a one-hot distribution is read directly (no randomness consumed)."""
    if len(probs) <= SMALL:
        # The same draw as below, step for step: first maximum, sequential cumulative sum, right bisection.
        p: list[float] = probs.tolist()
        best = max(p)
        if best >= 1.0:
            return p.index(best)
        u = rng.random()
        # np.add.reduce is what .sum() runs, without the method's Python-level wrapper.
        position = bisect_right(list(accumulate(p)), u * float(np.add.reduce(probs)))
        return min(position, len(p) - 1)
    top = int(np.argmax(probs))
    if probs[top] >= 1.0:
        return top
    u = rng.random()
    position = int(np.searchsorted(np.cumsum(probs), u * probs.sum(), side="right"))
    return min(position, len(probs) - 1)


class Explorer:
    def __init__(self, settings: ExplorationConfig) -> None:
        self.settings = settings
        self.enabled = settings.mode != "off"

    def pick(
        self,
        scores: np.ndarray,
        strategy_probs: np.ndarray,
        admissible: np.ndarray,
        rng: np.random.Generator,
        *,
        force_softmax: bool = False,
    ) -> Pick:
        """Draw a candidate. `force_softmax` explores even when the mode is off (uncertainty action 'explore')."""
        s = self.settings
        if force_softmax or s.mode == "softmax":
            probs = softmax_with_floor(scores, admissible, s.temperature, s.floor)
            position = draw(probs, rng)
            best = int(np.argmax(np.where(admissible, scores, -np.inf)))
            return Pick(position, probs, position != best)
        if s.mode == "epsilon-greedy" and s.epsilon > 0:
            uniform = admissible / admissible.sum()
            probs = (1.0 - s.epsilon) * strategy_probs + s.epsilon * uniform
            if rng.random() < s.epsilon:
                return Pick(draw(uniform, rng), probs, True)
            return Pick(draw(strategy_probs, rng), probs, False)
        # draw reads a one-hot distribution directly, so the greedy pick costs no randomness.
        return Pick(draw(strategy_probs, rng), strategy_probs, False)
