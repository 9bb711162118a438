"""MicroLoRA and BaseLoRA: a router's linear scoring weights as a consolidated base plus a rank-2 correction.

Scores are `W x` with `W = base + U V^T` (one row per candidate model, one column per request feature).
After every outcome, a gradient step on the squared reward error moves only the rank-2 factors U, V (the
MicroLoRA); every N outcomes `consolidate` folds U V^T into the base, truncated to rank 8 (the BaseLoRA
adapter: the plan's background consolidation), and restarts the micro factors in a fresh random subspace.
"""

from __future__ import annotations

import math

import numpy as np


class LowRankLinear:
    def __init__(self, n: int, d: int, *, micro_rank: int, base_rank: int, rng: np.random.Generator) -> None:
        self.n, self.d = n, d
        self.micro_rank = micro_rank
        self.base_rank = base_rank
        self.rng = rng
        self.base = np.zeros((n, d))
        self.U = np.zeros((n, micro_rank))
        self._v_scale = 1.0 / np.sqrt(micro_rank)
        self.V = self._fresh_v()
        self.W = self.base.copy()  # cache of base + U V^T: read on every decision
        self._factor_slots = np.arange(n * micro_rank).reshape(n, micro_rank)  # flat position of each U entry

    def _fresh_v(self) -> np.ndarray:
        # LoRA-style start: U = 0 (no effect yet), V random; std 1/sqrt(r) makes |V^T x| ~ |x|, so a step of
        # rate lr moves the prediction by about lr x error (a normalised LMS step) from the first outcome on.
        return self.rng.normal(0.0, self._v_scale, (self.d, self.micro_rank))

    def scores(self, x: np.ndarray) -> np.ndarray:
        # Elementwise product summed along the feature axis (not a BLAS matvec), so `batch_scores` over many
        # requests gives bit-identical scores: replay decides blocks of requests at once and must match this.
        out: np.ndarray = (self.W * x).sum(axis=1)
        return out

    def batch_scores(self, xs: np.ndarray) -> np.ndarray:
        """`scores` for each row of `xs` (B x d) at once: B x n, equal bit for bit to B calls of `scores`."""
        out: np.ndarray = (self.W[None, :, :] * xs[:, None, :]).sum(axis=2)
        return out

    def step(self, row: int, x: np.ndarray, error: float, rate: float) -> None:
        """One MicroLoRA gradient step on 0.5 x error^2 for `row` (error = reward - prediction).

        d/dU[row] = -error V^T x and d/dV = -error x U[row]^T; `rate` is already divided by |x|^2.
        """
        u = self.U[row].copy()
        self.U[row] += (rate * error) * (x @ self.V)
        self.V += np.outer((rate * error) * x, u)
        self.W = self.base + self.U @ self.V.T

    def batch_step(self, rows: np.ndarray, xs: np.ndarray, errors: np.ndarray, rates: np.ndarray,
                   learning_rate: float, counts: np.ndarray | None = None) -> None:
        """A block of outcomes' MicroLoRA steps in one update, all taken at the block-start factors.

        Summing B normalised steps that all start from the same weights would overshoot (B outcomes of one model
        would move its prediction by B x rate x error); one after another they shrink the error geometrically
        instead. So each model's steps are averaged and scaled to what c sequential steps achieve on one
        repeated request, 1 - (1 - rate)^c of the error. With one outcome this is `step` exactly. `counts`: the
        outcomes per row (`np.bincount(rows, minlength=n)`), when the caller has it already.
        """
        if rows.size == 1:
            self.step(int(rows[0]), xs[0], float(errors[0]), float(rates[0]))
            return
        per_row = np.bincount(rows, minlength=self.n) if counts is None else counts
        lr = min(max(learning_rate, 1e-12), 1.0)
        # The scale per model, then per outcome: elementwise, so the same values as computing it per outcome.
        c = np.maximum(per_row, 1).astype(float)  # rows without outcomes are never read
        weight = ((1.0 - (1.0 - lr) ** c) / (lr * c))[rows]
        g = (weight * rates * errors)[:, None] * xs  # B x d
        gv = g @ self.V
        # Each row's summed gradient: bincount adds in input order from 0, the same sums as np.add.at into zeros
        # (several times faster at these sizes).
        du = np.bincount(self._factor_slots[rows].ravel(), gv.ravel(), minlength=self._factor_slots.size)
        du = du.reshape(self.U.shape)
        dv = g.T @ self.U[rows]
        self.U += du
        self.V += dv
        self.W = self.base + self.U @ self.V.T

    def pull_base(self, delta: np.ndarray) -> None:
        """Move the consolidated weights by `delta` (the EWC++ penalty acts on what was consolidated)."""
        self.base -= delta
        self.W = self.base + self.U @ self.V.T

    def consolidate(self) -> float:
        """Fold the micro correction into the base (BaseLoRA), rank-truncated. Returns the norm it moved."""
        merged = self.base + self.U @ self.V.T
        if min(self.n, self.d) > self.base_rank:
            u, s, vt = np.linalg.svd(merged, full_matrices=False)
            merged = (u[:, : self.base_rank] * s[: self.base_rank]) @ vt[: self.base_rank]
        step = (merged - self.base).ravel()
        moved = math.sqrt(step.dot(step))  # what np.linalg.norm computes, without its checks (runs per block)
        self.base = merged
        self.U = np.zeros((self.n, self.micro_rank))
        self.V = self._fresh_v()
        self.W = self.base.copy()
        return moved

    def arrays(self) -> dict[str, np.ndarray]:
        return {"base": self.base, "U": self.U, "V": self.V}

    def load_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        self.base = np.array(arrays["base"], dtype=float)
        self.U = np.array(arrays["U"], dtype=float)
        self.V = np.array(arrays["V"], dtype=float)
        self.W = self.base + self.U @ self.V.T
