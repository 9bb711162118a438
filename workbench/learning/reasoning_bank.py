"""ReasoningBank: trajectory embeddings with per-model outcomes, clustered into patterns the PatternRouter reads.

Every outcome lands in a bounded buffer (prompt embedding, model, outcome, cost). `consolidate` runs
k-means (seeded k-means++ start) over the buffer and folds each
cluster's per-model statistics into the nearest existing pattern or a new one; near-duplicate patterns
merge; stale patterns with too few uses are pruned, and the least used go when the bank is over its cap.
`to_pattern_bank` turns the patterns into a `PatternBank`, one entry per (pattern, model) that was tried.

k-means is a dozen lines of numpy here rather than scikit-learn or scipy: neither is otherwise needed,
and the buffer is small (<= a few thousand x 384).
"""

from __future__ import annotations

import numpy as np

from workbench.learning.settings import BankConfig
from workbench.pipeline.pattern_router import PatternBank


def kmeans(x: np.ndarray, k: int, rng: np.random.Generator, iterations: int) -> tuple[np.ndarray, np.ndarray]:
    """Spherical k-means on L2-normalised rows: (centroids (k, dim), label per row). k-means++ start."""
    n = len(x)
    k = min(k, n)
    first = int(rng.integers(n))
    chosen = [first]
    d2 = np.maximum(0.0, 2.0 - 2.0 * (x @ x[first]))
    while len(chosen) < k:
        total = float(d2.sum())
        nxt = int(rng.choice(n, p=d2 / total)) if total > 0 else int(rng.integers(n))
        chosen.append(nxt)
        d2 = np.minimum(d2, np.maximum(0.0, 2.0 - 2.0 * (x @ x[nxt])))
    centroids = x[chosen].copy()
    labels = np.full(n, -1, dtype=np.intp)
    for _ in range(iterations):
        new = np.argmax(x @ centroids.T, axis=1)
        if np.array_equal(new, labels):
            break
        labels = new
        member = np.zeros((k, n))
        member[labels, np.arange(n)] = 1.0
        sums = member @ x  # per-cluster sums as one matmul (np.add.at is far slower)
        norms = np.linalg.norm(sums, axis=1)
        filled = norms > 0  # an empty cluster keeps its centroid
        centroids[filled] = sums[filled] / norms[filled, None]
    return centroids, labels


class ReasoningBank:
    def __init__(self, dim: int, models: list[str], config: BankConfig) -> None:
        self.dim = dim
        self.models = list(models)
        self.config = config
        cap = config.capacity
        self.buf_vec = np.zeros((cap, dim), dtype=np.float32)
        self.buf_model = np.zeros(cap, dtype=np.intp)
        self.buf_outcome = np.zeros(cap)
        self.buf_cost = np.zeros(cap)
        self.buffered = 0
        m = len(models)
        self.centroids = np.zeros((0, dim), dtype=np.float32)
        self.counts = np.zeros((0, m))  # per pattern, per model: outcomes seen
        self.outcome_sum = np.zeros((0, m))
        self.cost_sum = np.zeros((0, m))
        self.last_used = np.zeros(0, dtype=np.int64)  # outcome counter when the pattern last absorbed one
        self.seen = 0

    @property
    def size(self) -> int:
        return len(self.centroids)

    def record(self, vector: np.ndarray, model: int, outcome: float, cost: float) -> None:
        """Buffer one outcome (the oldest goes when the buffer is full)."""
        cap = self.config.capacity
        i = self.buffered % cap
        self.buf_vec[i] = vector
        self.buf_model[i] = model
        self.buf_outcome[i] = outcome
        self.buf_cost[i] = cost
        self.buffered += 1
        self.seen += 1

    def consolidate(self, rng: np.random.Generator) -> bool:
        """Cluster the buffer into patterns, merge and prune. Returns whether the patterns changed."""
        n = min(self.buffered, self.config.capacity)
        if n == 0:
            return False
        x = self.buf_vec[:n].astype(float)
        centroids, labels = kmeans(x, self.config.clusters, rng, self.config.kmeans_iterations)
        m = len(self.models)
        for c in range(len(centroids)):
            sel = labels == c
            if not sel.any():
                continue
            counts = np.bincount(self.buf_model[:n][sel], minlength=m).astype(float)
            outcomes = np.bincount(self.buf_model[:n][sel], weights=self.buf_outcome[:n][sel], minlength=m)
            costs = np.bincount(self.buf_model[:n][sel], weights=self.buf_cost[:n][sel], minlength=m)
            self._absorb(centroids[c], counts, outcomes, costs)
        self.buffered = 0
        self._merge()
        self._prune()
        return True

    def _absorb(self, centroid: np.ndarray, counts: np.ndarray, outcomes: np.ndarray, costs: np.ndarray) -> None:
        if self.size:
            sims = self.centroids @ centroid
            j = int(np.argmax(sims))
            if sims[j] >= self.config.merge_similarity:
                total = self.counts[j].sum() + counts.sum()
                mixed = (self.centroids[j] * self.counts[j].sum() + centroid * counts.sum()) / max(total, 1.0)
                self.centroids[j] = mixed / max(float(np.linalg.norm(mixed)), 1e-12)
                self.counts[j] += counts
                self.outcome_sum[j] += outcomes
                self.cost_sum[j] += costs
                self.last_used[j] = self.seen
                return
        self.centroids = np.vstack([self.centroids, centroid.astype(np.float32)[None]])
        self.counts = np.vstack([self.counts, counts[None]])
        self.outcome_sum = np.vstack([self.outcome_sum, outcomes[None]])
        self.cost_sum = np.vstack([self.cost_sum, costs[None]])
        self.last_used = np.append(self.last_used, self.seen)

    def _keep(self, keep: np.ndarray) -> None:
        self.centroids = self.centroids[keep]
        self.counts = self.counts[keep]
        self.outcome_sum = self.outcome_sum[keep]
        self.cost_sum = self.cost_sum[keep]
        self.last_used = self.last_used[keep]

    def _merge(self) -> None:
        """Fold every pattern into the earliest surviving one it is a near-duplicate of (one similarity matrix)."""
        if self.size < 2:
            return
        sims = np.triu(self.centroids @ self.centroids.T, k=1) >= self.config.merge_similarity
        if not sims.any():
            return
        keep = np.ones(self.size, dtype=bool)
        for j in np.flatnonzero(sims.any(axis=0)).tolist():
            targets = [i for i in np.flatnonzero(sims[:, j]).tolist() if keep[i]]
            if not targets:
                continue
            i = targets[0]
            self.counts[i] += self.counts[j]
            self.outcome_sum[i] += self.outcome_sum[j]
            self.cost_sum[i] += self.cost_sum[j]
            self.last_used[i] = max(self.last_used[i], self.last_used[j])
            keep[j] = False
        self._keep(keep)

    def _prune(self) -> None:
        c = self.config
        used = self.counts.sum(axis=1)
        stale = (self.seen - self.last_used > c.prune_after) & (used < c.min_count)
        keep = ~stale
        if keep.sum() > c.max_patterns:
            # Over the cap: keep the most used (ties: the most recently used).
            order = np.lexsort((-self.last_used, -used))
            keep = np.zeros(self.size, dtype=bool)
            keep[[i for i in order.tolist() if not stale[i]][: c.max_patterns]] = True
        if not keep.all():
            self._keep(keep)

    def mean_outcome(self) -> np.ndarray:
        """Per pattern, per model: mean outcome (NaN where the model was never tried in that pattern)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            out: np.ndarray = np.where(self.counts > 0, self.outcome_sum / self.counts, np.nan)
        return out

    def to_pattern_bank(self, bank: PatternBank | None = None, **settings: float | int | str) -> PatternBank:
        """A PatternBank with one entry per (pattern, tried model): uses = count, value = summed outcome."""
        out = PatternBank(self.dim, **settings) if bank is None else bank.empty_like()  # type: ignore[arg-type]
        for p in range(self.size):
            for mi in np.flatnonzero(self.counts[p] > 0).tolist():
                out.add(self.centroids[p], self.models[mi], float(self.outcome_sum[p, mi]),
                        uses=float(self.counts[p, mi]), merge=False)
        return out

    def arrays(self) -> dict[str, np.ndarray]:
        n = min(self.buffered, self.config.capacity)
        return {
            "centroids": self.centroids, "counts": self.counts, "outcome_sum": self.outcome_sum,
            "cost_sum": self.cost_sum, "last_used": self.last_used, "seen": np.array([self.seen]),
            "buf_vec": self.buf_vec[:n], "buf_model": self.buf_model[:n], "buf_outcome": self.buf_outcome[:n],
            "buf_cost": self.buf_cost[:n],
        }

    def load_arrays(self, a: dict[str, np.ndarray]) -> None:
        self.centroids = np.array(a["centroids"], dtype=np.float32)
        self.counts = np.array(a["counts"], dtype=float)
        self.outcome_sum = np.array(a["outcome_sum"], dtype=float)
        self.cost_sum = np.array(a["cost_sum"], dtype=float)
        self.last_used = np.array(a["last_used"], dtype=np.int64)
        self.seen = int(a["seen"][0])
        n = len(a["buf_model"])
        self.buf_vec[:n] = a["buf_vec"]
        self.buf_model[:n] = a["buf_model"]
        self.buf_outcome[:n] = a["buf_outcome"]
        self.buf_cost[:n] = a["buf_cost"]
        self.buffered = n
