"""EWC++: an online Fisher estimate, anchors at task boundaries, and the reward-shift detector that finds them.

The Fisher is an EMA of squared gradients of the weights (Chaudhry et al. 2018, "Riemannian Walk"); at a
boundary the current weights become the anchor and the Fisher, scaled to [0, 1], their importance. Every
later step pulls important weights back by lambda x importance x (W - anchor): the gradient of the penalty
lambda/2 x sum F (W - W*)^2, so a new regime does not simply erase an old one.
"""

from __future__ import annotations

import math

import numpy as np

from workbench.learning.settings import EwcConfig

ALLOWANCE = 1.0  # CUSUM drift allowance k, in standard deviations: ordinary noise drains the sums


class RewardShiftDetector:
    """A regime change: a two-sided CUSUM of standardised reward surprise (reward minus its prediction).

    The spread comes from a slow EMA of the squared surprise. `window` sets that EMA's span (x 8); each side
    accumulates |z| beyond an allowance of 1 sigma and fires past `threshold` (5: one 6-sigma surprise, or a
    run of 2-3 sigma ones; stationary Gaussian noise sets it off very rarely, of the order of once in 10^4
    outcomes). A learner that switches models after one bad outcome leaves little else to see: the surprise
    itself is the signal.
    """

    def __init__(self, window: int, threshold: float, min_gap: int) -> None:
        self.rate = 2.0 / (8.0 * window + 1.0)
        self.threshold = threshold
        self.min_gap = min_gap
        self.var = 0.0
        self.up = 0.0
        self.down = 0.0
        self.seen = 0
        self.since = 0  # outcomes since the last boundary (or the start)

    def update(self, surprise: float) -> bool:
        self.seen += 1
        self.since += 1
        sd = math.sqrt(self.var) if self.var > 0 else 0.0
        self.var += self.rate * (surprise * surprise - self.var)
        if self.since < self.min_gap or sd == 0.0:
            return False
        z = max(-10.0, min(10.0, surprise / sd))  # one wild outcome (a failure) counts as at most 10 sigma
        self.up = max(0.0, self.up + z - ALLOWANCE)
        self.down = max(0.0, self.down - z - ALLOWANCE)
        if max(self.up, self.down) < self.threshold:
            return False
        self.up = self.down = 0.0
        self.since = 0
        return True

    def update_many(self, surprises: list[float]) -> list[int]:
        """`update` over a sequence in order (the same arithmetic, step for step); the positions that fired."""
        rate, threshold, min_gap = self.rate, self.threshold, self.min_gap
        var, up, down, since = self.var, self.up, self.down, self.since
        fired: list[int] = []
        sqrt = math.sqrt
        for k, surprise in enumerate(surprises):
            since += 1
            sd = sqrt(var) if var > 0 else 0.0
            var += rate * (surprise * surprise - var)
            if since < min_gap or sd == 0.0:
                continue
            z = surprise / sd
            z = -10.0 if z < -10.0 else (10.0 if z > 10.0 else z)
            up = up + z - ALLOWANCE
            up = up if up > 0.0 else 0.0
            down = down - z - ALLOWANCE
            down = down if down > 0.0 else 0.0
            if (up if up > down else down) < threshold:
                continue
            up = down = 0.0
            since = 0
            fired.append(k)
        self.seen += len(surprises)
        self.var, self.up, self.down, self.since = var, up, down, since
        return fired

    def state(self) -> list[float]:
        return [self.var, self.up, self.down, float(self.seen), float(self.since)]

    def load_state(self, values: list[float]) -> None:
        self.var, self.up, self.down = values[0], values[1], values[2]
        self.seen, self.since = int(values[3]), int(values[4])


class EwcPlusPlus:
    def __init__(self, shape: tuple[int, int], config: EwcConfig) -> None:
        self.config = config
        self.decay = config.fisher_decay
        self.fisher = np.zeros(shape)
        self.importance = np.zeros(shape)
        self.anchor: np.ndarray | None = None
        self.boundaries = 0
        self.detector = RewardShiftDetector(config.window, config.threshold, config.min_gap)
        self._tails = np.zeros(0)  # see `_tail`
        # see `_scratch`
        self._slots: np.ndarray = np.zeros(0, dtype=np.int64)
        self._terms: np.ndarray = np.zeros(0)
        self._weight_slots: np.ndarray = np.zeros((0, 0), dtype=np.int64)
        self._pull: tuple[np.ndarray, float, np.ndarray] | None = None  # see `kept_share`

    def observe(self, row: int, x: np.ndarray, error: float) -> None:
        """Online Fisher: EMA of the squared gradient (error x on the chosen row, 0 elsewhere)."""
        self.fisher *= self.decay
        self.fisher[row] += (1.0 - self.decay) * (error * x) ** 2

    def observe_batch(self, rows: np.ndarray, xs: np.ndarray, errors: np.ndarray) -> None:
        """`observe` for a block of outcomes in order: B decays, each outcome's squared gradient decayed by the
        steps after it (the same sum B calls make, up to float rounding)."""
        b = rows.size
        n, d = self.fisher.shape
        nd = n * d
        slots, terms = self._scratch(n, d, b)
        # Each weight's new value is its decayed Fisher plus its outcomes' terms, added one by one in order: bincount
        # over [every weight once, then the block's terms] starts each sum at the Fisher and adds exactly as
        # np.add.at did (several times faster at these sizes). Both lists are written into kept buffers.
        np.take(self._weight_slots, rows, axis=0, out=slots[nd:].reshape(b, d))
        np.multiply(self.fisher, self.decay**b, out=terms[:nd].reshape(n, d))
        grads = terms[nd:].reshape(b, d)
        np.multiply(errors[:, None], xs, out=grads)
        np.square(grads, out=grads)
        grads *= self._tail(b)[:, None]
        self.fisher[...] = np.bincount(slots, terms, minlength=nd).reshape(n, d)

    def _tail(self, b: int) -> np.ndarray:
        """(1 - decay) x decay^(b-1), ..., decay^0: the weight of each of b outcomes in a block (a view of a table
        that grows as needed; every entry is the elementwise power it always was)."""
        table = self._tails
        if table.size < b:
            size = max(b, 2 * table.size, 1024)
            table = self._tails = (1.0 - self.decay) * self.decay ** np.arange(size, dtype=float)
        out: np.ndarray = table[b - 1 :: -1]
        return out

    def _scratch(self, n: int, d: int, b: int) -> tuple[np.ndarray, np.ndarray]:
        """(slots, terms) buffers for a block of b: slots start with 0 .. n*d - 1 (each weight once)."""
        nd = n * d
        if self._slots.size < nd + b * d or self._weight_slots.shape != (n, d):
            size = nd + max(b, 2 * (self._slots.size - nd) // d, 256) * d
            self._slots = np.empty(size, dtype=np.int64)
            self._slots[:nd] = np.arange(nd)
            self._terms = np.empty(size)
            self._weight_slots = np.arange(nd).reshape(n, d)  # row m's weights: m*d .. m*d + d - 1
        return self._slots[: nd + b * d], self._terms[: nd + b * d]

    def boundary(self, weights: np.ndarray) -> None:
        """Anchor the weights of the regime that just ended; importance = its Fisher scaled to [0, 1]."""
        top = float(self.fisher.max())
        fresh = self.fisher / top if top > 0 else self.fisher
        # Older regimes keep half their importance, so the penalty remembers more than the latest one.
        self.importance = np.maximum(0.5 * self.importance, fresh)
        self.anchor = weights.copy()
        self.boundaries += 1

    def penalty_step(self, weights: np.ndarray, rate: float) -> np.ndarray | None:
        """rate x the penalty's gradient, or None before the first boundary (nothing to protect yet)."""
        if self.anchor is None or self.config.penalty == 0.0:
            return None
        out: np.ndarray = (rate * self.config.penalty) * self.importance * (weights - self.anchor)
        return out

    def kept_share(self, rate: float) -> np.ndarray:
        """1 - clip(rate x penalty x importance, 0, 1): per weight, the share of (W - anchor) that one penalty step
        leaves (so s steps leave it to the power s). Kept until the importance changes (at a boundary)."""
        cached = self._pull
        if cached is not None and cached[0] is self.importance and cached[1] == rate:
            return cached[2]
        keep: np.ndarray = 1.0 - np.clip(rate * self.config.penalty * self.importance, 0.0, 1.0)
        self._pull = (self.importance, rate, keep)
        return keep

    def arrays(self) -> dict[str, np.ndarray]:
        out = {"fisher": self.fisher, "importance": self.importance,
               "detector": np.array(self.detector.state()), "boundaries": np.array([self.boundaries])}
        if self.anchor is not None:
            out["anchor"] = self.anchor
        return out

    def load_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        self.fisher = np.array(arrays["fisher"], dtype=float)
        self.importance = np.array(arrays["importance"], dtype=float)
        self.anchor = np.array(arrays["anchor"], dtype=float) if "anchor" in arrays else None
        self.detector.load_state([float(v) for v in arrays["detector"]])
        self.boundaries = int(arrays["boundaries"][0])
