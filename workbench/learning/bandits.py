"""Bandit baselines over the same request features: LinUCB and linear Thompson sampling.

Disjoint linear arms (Li et al. 2010): per candidate, ridge regression of reward on the request features,
A = prior x I + sum x x^T and b = sum r x. LinUCB scores theta.x + alpha sqrt(x A^-1 x) and picks the best;
Thompson draws each candidate's score from its Gaussian posterior N(theta.x, noise^2 x A^-1 x) and picks the
best draw, computed as probability matching: `draws` posterior draws estimate each candidate's chance of being
best, and the router draws from that distribution, so the logged propensity is exactly what was used.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable

import numpy as np

from workbench.domain import Trajectory
from workbench.learning.settings import BanditConfig
from workbench.learning.sona import learnable
from workbench.learning.state import pack, unpack
from workbench.pipeline.features import REQUEST_DIM, request_features
from workbench.pipeline.learned_router import PolicyScores
from workbench.pipeline.pattern_router import outcome_model
from workbench.pipeline.strategies import one_hot_best


class LinearArms:
    def __init__(self, n: int, d: int, config: BanditConfig) -> None:
        self.config = config
        self.n, self.d = n, d
        self.A: np.ndarray = np.tile(np.eye(d) * config.prior, (n, 1, 1))
        self.A_inv: np.ndarray = np.tile(np.eye(d) / config.prior, (n, 1, 1))
        self.b: np.ndarray = np.zeros((n, d))
        self.theta: np.ndarray = np.zeros((n, d))
        self.counts: np.ndarray = np.zeros(n)

    def update(self, row: int, x: np.ndarray, reward: float) -> None:
        g = self.config.discount
        if g < 1.0:
            # Discounted evidence (D-LinUCB): every arm forgets, so an arm not tried lately regains width.
            eye = np.eye(self.d) * self.config.prior
            self.A = g * self.A + (1.0 - g) * eye
            self.b *= g
            self.counts *= g
            self.A[row] += np.outer(x, x)
            self.b[row] += reward * x
            self.A_inv = np.linalg.inv(self.A)
            self.theta = np.einsum("nij,nj->ni", self.A_inv, self.b)
        else:
            self.A[row] += np.outer(x, x)
            self.b[row] += reward * x
            ax = self.A_inv[row] @ x  # Sherman-Morrison: O(d^2) instead of a fresh inverse
            self.A_inv[row] -= np.outer(ax, ax) / (1.0 + float(x @ ax))
            self.theta[row] = self.A_inv[row] @ self.b[row]
        self.counts[row] += 1

    def mean_and_width(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        mean = self.theta @ x
        width = np.sqrt(np.maximum(np.einsum("i,nij,j->n", x, self.A_inv, x), 0.0))
        return mean, width

    def arrays(self) -> dict[str, np.ndarray]:
        return {"A": self.A, "A_inv": self.A_inv, "b": self.b, "theta": self.theta, "counts": self.counts}

    def load_arrays(self, a: dict[str, np.ndarray]) -> None:
        for k in ("A", "A_inv", "b", "theta", "counts"):
            setattr(self, k, np.array(a[k], dtype=float))


class BanditLearner:
    """The LearningBackend of a bandit router: feeds each outcome to the arm of the model that served it."""

    def __init__(self, name: str, models: list[str], config: BanditConfig) -> None:
        self.name = name
        self.models = list(models)
        self.position = {m: i for i, m in enumerate(self.models)}
        self.config = config
        self.arms = LinearArms(len(self.models), REQUEST_DIM, config)
        self._version = 0
        self.on_update: list[Callable[[BanditLearner], None]] = []  # e.g. the policy store's checkpointing

    @property
    def version(self) -> int:
        return self._version

    @property
    def signature(self) -> str:
        return f"{zlib.crc32(f'{self.name}|{REQUEST_DIM}|{chr(124).join(self.models)}'.encode()):08x}"

    def record(self, trajectory: Trajectory) -> None:
        if not learnable(trajectory):
            return
        row = self.position.get(outcome_model(trajectory))
        if row is None:
            return
        assert trajectory.reward is not None
        self.arms.update(row, request_features(trajectory.profile), trajectory.reward)
        self._version += 1
        for hook in self.on_update:
            hook(self)

    def state(self) -> bytes:
        meta = {"kind": self.name, "signature": self.signature, "models": self.models, "version": self._version}
        return pack(meta, self.arms.arrays())

    def load_state(self, blob: bytes, what: str = "bandit state") -> None:
        meta, arrays = unpack(blob, what)
        if meta.get("signature") != self.signature:
            from workbench.errors import BadInputError

            raise BadInputError(f"{what}: saved for candidates {meta.get('models')}, this learner has "
                                f"{self.models}; use the same preferred_models or start fresh")
        self.arms.load_arrays(arrays)
        self._version = int(meta["version"])


class LinUCBPolicy:
    name = "linucb"

    def __init__(self, learner: BanditLearner) -> None:
        self.learner = learner

    def evaluate(self, x: np.ndarray, admissible: np.ndarray, rng: np.random.Generator) -> PolicyScores:
        arms = self.learner.arms
        mean, width = arms.mean_and_width(x)
        scores = mean + self.learner.config.alpha * width
        probs = one_hot_best(scores, admissible)
        best = int(np.argmax(probs))

        def describe(pos: int) -> str:
            return f"upper confidence bound {scores[pos]:.3f} (mean {mean[pos]:.3f} + bonus)"

        return PolicyScores(scores, probs, float(arms.counts[best]), describe)


class ThompsonPolicy:
    name = "thompson"

    def __init__(self, learner: BanditLearner) -> None:
        self.learner = learner

    def evaluate(self, x: np.ndarray, admissible: np.ndarray, rng: np.random.Generator) -> PolicyScores:
        arms, cfg = self.learner.arms, self.learner.config
        mean, width = arms.mean_and_width(x)
        draws = mean + cfg.noise * width * rng.standard_normal((cfg.draws, arms.n))
        draws[:, ~admissible] = -np.inf
        wins = np.bincount(np.argmax(draws, axis=1), minlength=arms.n).astype(float)
        probs = wins / wins.sum()
        best = int(np.argmax(probs))

        def describe(pos: int) -> str:
            return f"best in {probs[pos]:.0%} of posterior draws (mean reward {mean[pos]:.3f})"

        return PolicyScores(mean, probs, float(arms.counts[best]), describe)
