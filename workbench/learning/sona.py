"""SonaLearner: the LearningBackend of the `sona` router (MicroLoRA, BaseLoRA, EWC++, ReasoningBank).

After every scored outcome: a MicroLoRA gradient step on the predicted reward of the model that served it,
the EWC++ Fisher update and penalty, and the reward-shift detector. Every `consolidate_every` outcomes: the
BaseLoRA consolidation and the ReasoningBank's k-means (which refreshes a paired PatternRouter's bank).
The `SonaPolicy` reads the same weights to score candidates, so each update changes the next decision.
"""

from __future__ import annotations

import zlib
from collections import deque
from collections.abc import Callable, Sequence

import numpy as np

from workbench.domain import Trajectory
from workbench.learning.blas import single_threaded_blas
from workbench.learning.ewc import EwcPlusPlus
from workbench.learning.lora import LowRankLinear
from workbench.learning.reasoning_bank import ReasoningBank
from workbench.learning.settings import LearningConfig
from workbench.learning.state import pack, unpack
from workbench.pipeline.embeddings import Embedder
from workbench.pipeline.features import REQUEST_DIM, request_features
from workbench.pipeline.learned_router import PolicyScores
from workbench.pipeline.pattern_router import PatternRouter, outcome_model
from workbench.pipeline.strategies import one_hot_best

BASELINE_RATE = 0.01  # EMA rate of the reward baseline: slow next to the weights, so it only centres them


def learnable(t: Trajectory) -> bool:
    """Whether a trajectory carries an outcome a learner may learn from: a reward, from a routed request
    that was actually sent (an explicit send bypassed the router; a fail-fast decision reached no model)."""
    if t.reward is None or t.decision.strategy == "explicit":
        return False
    return not (t.response.status == "failed" and not t.response.attempts)


class SonaLearner:
    name = "sona"

    def __init__(
        self,
        models: list[str],
        config: LearningConfig,
        rng: np.random.Generator,
        *,
        embedder: Embedder | None = None,
        pattern_router: PatternRouter | None = None,
    ) -> None:
        self.models = list(models)
        self.position = {m: i for i, m in enumerate(self.models)}
        self.config = config
        self.rng = rng
        # The ReasoningBank's k-means draws from a stream of its own (spawned, so `rng` is not advanced): the
        # clustering never shifts the router's weights, and a replay that has no pattern router to feed can leave
        # the bank out without changing a single routing decision.
        self.bank_rng = np.random.default_rng(_spawn(rng))
        n, d = len(self.models), REQUEST_DIM
        self.lin = LowRankLinear(n, d, micro_rank=config.micro_rank, base_rank=config.base_rank, rng=rng)
        self.ewc = EwcPlusPlus((n, d), config.ewc) if config.ewc.enabled else None
        self.embedder = embedder
        self.bank = ReasoningBank(embedder.dim, self.models, config.bank) if embedder and config.bank.enabled else None
        self.pattern_router = pattern_router
        self.counts = np.zeros(n)
        # The weights model reward minus this running mean, so an untried model starts at "average", not at 0
        # (rewards sit near 0.7: from 0 every untried model would look worse than the first one tried).
        self.baseline = 0.0
        self.updates = 0
        self._version = 0
        self._snapshots: deque[tuple[int, np.ndarray]] = deque(maxlen=4)
        self.on_update: list[Callable[[SonaLearner], None]] = []  # run after each update (e.g. checkpointing)

    @property
    def version(self) -> int:
        return self._version

    @property
    def signature(self) -> str:
        """What the state's shape depends on: a stored state only loads into a learner with the same one."""
        key = f"sona|{REQUEST_DIM}|{self.config.micro_rank}|{self.bank.dim if self.bank else 0}|{'|'.join(self.models)}"
        return f"{zlib.crc32(key.encode()):08x}"

    # -- learning -------------------------------------------------------------------------------------
    def record(self, trajectory: Trajectory) -> None:
        if not learnable(trajectory):
            return
        row = self.position.get(outcome_model(trajectory))
        if row is None:
            return
        assert trajectory.reward is not None
        self.learn(row, request_features(trajectory.profile), trajectory.reward,
                   prompt=trajectory.request.prompt, cost=trajectory.response.cost_usd)

    def learn(self, row: int, x: np.ndarray, reward: float, *, prompt: str | None = None, cost: float = 0.0) -> None:
        """One outcome: MicroLoRA step, EWC++ (Fisher, boundary, penalty), then periodic consolidation."""
        cfg = self.config
        old_baseline = self.baseline
        self.baseline = reward if self.updates == 0 else self.baseline + BASELINE_RATE * (reward - self.baseline)
        error = reward - self.baseline - float(self.lin.W[row] @ x)
        self.lin.step(row, x, error, cfg.learning_rate / max(float(x @ x), 1e-9))
        ewc = self.ewc
        if ewc is not None:
            ewc.observe(row, x, error)
            # The reward statistic watched is the prediction error: centred at 0 within a regime and free of the
            # spread between task types and models, so a regime change stands out far sooner than in raw reward.
            if ewc.detector.update(error):
                ewc.boundary(self._before_shift())
            pull = ewc.penalty_step(self.lin.W, cfg.learning_rate)
            if pull is not None:
                self.lin.pull_base(pull)
        if self.bank is not None and prompt is not None and self.embedder is not None:
            self.bank.record(self.embedder.embed(prompt), row, reward, cost)
        self.counts[row] += 1
        self.updates += 1
        # An exact prediction moves no weight; the baseline and an active EWC penalty still count as changes.
        changed = error != 0.0 or self.baseline != old_baseline or (ewc is not None and ewc.anchor is not None)
        if self.updates % cfg.consolidate_every == 0:
            self.consolidate()
            changed = True
        if changed:
            self._version += 1
        for hook in self.on_update:
            hook(self)

    def _before_shift(self, updates: int | None = None) -> np.ndarray:
        """The weights from before the reward shift began: the newest snapshot at least two detector windows old
        (`updates`: the outcome count at the shift; default now)."""
        if self.ewc is None or not self._snapshots:
            return self.lin.W
        lag = 2 * self.ewc.config.window
        at = self.updates if updates is None else updates
        old = [w for step, w in self._snapshots if step <= at - lag]
        return old[-1] if old else self._snapshots[0][1]

    def learn_batch(
        self, rows: np.ndarray, xs: np.ndarray, rewards: np.ndarray, *, costs: np.ndarray | None = None,
        prompts: Sequence[str] | None = None,
    ) -> None:
        """A block of outcomes (in order) in one vectorised step: delayed feedback, as in batched bandits.

        Every outcome's prediction error is taken against the weights as they were at the block start; the
        MicroLoRA steps are summed (`LowRankLinear.batch_step`), the EWC++ Fisher decays and accumulates exactly
        as B single updates would, the shift detector still reads every error in order, the penalty pull is
        compounded over the block's updates, and consolidation runs once when the block crosses a multiple of
        `consolidate_every` (so blocks longer than that consolidate less often). The ReasoningBank records the
        outcomes only when `prompts` are given. One outcome is exactly `learn`.
        """
        b = int(rows.size)
        if b == 0:
            return
        if b == 1:
            self.learn(int(rows[0]), xs[0], float(rewards[0]), prompt=None if prompts is None else prompts[0],
                       cost=0.0 if costs is None else float(costs[0]))
            return
        cfg = self.config
        lin = self.lin
        u0 = self.updates
        # The reward baseline after each outcome, in order (the first outcome ever sets it outright): a running
        # mean is sequential, so a Python loop over floats, the same arithmetic as `learn`.
        rs: list[float] = rewards.tolist()
        level = self.baseline
        levels: list[float] = []
        after = levels.append
        if u0 == 0:
            level = rs[0]
            after(level)
        rate = BASELINE_RATE
        for r in rs[1:] if u0 == 0 else rs:
            level = level + rate * (r - level)
            after(level)
        baselines = np.array(levels)
        errors = rewards - baselines - np.einsum("ij,ij->i", lin.W[rows], xs)
        rates = cfg.learning_rate / np.maximum(np.einsum("ij,ij->i", xs, xs), 1e-9)
        before = self.baseline
        self.baseline = float(level)
        per_row = np.bincount(rows, minlength=len(self.models))
        lin.batch_step(rows, xs, errors, rates, cfg.learning_rate, per_row)
        anchored_from = b  # outcomes from this one on have an anchor to be pulled towards
        ewc = self.ewc
        if ewc is not None:
            ewc.observe_batch(rows, xs, errors)
            had = ewc.anchor is not None
            fired = ewc.detector.update_many(errors.tolist())  # the CUSUM reads every error in order
            for k in fired:
                ewc.boundary(self._before_shift(u0 + k))
            if had:
                anchored_from = 0
            elif fired:
                anchored_from = fired[0]
            steps = b - anchored_from
            if steps and ewc.anchor is not None and ewc.config.penalty != 0.0:
                keep = ewc.kept_share(cfg.learning_rate)
                lin.pull_base((1.0 - keep**steps) * (lin.W - ewc.anchor))
        if self.bank is not None and prompts is not None and self.embedder is not None:
            for k, prompt in enumerate(prompts):
                self.bank.record(self.embedder.embed(prompt), int(rows[k]), float(rewards[k]),
                                 0.0 if costs is None else float(costs[k]))
        self.counts += per_row
        self.updates = u0 + b
        # Outcomes that changed something (see `learn`): every one with an active anchor; before it, those that
        # moved a weight or the baseline, and the last one when the block consolidates.
        crossed = (u0 + b) // cfg.consolidate_every - u0 // cfg.consolidate_every
        changed = b - anchored_from
        if anchored_from:
            head = slice(0, anchored_from)
            moved = (errors[head] != 0.0) | (baselines[head] != np.append(before, baselines[: anchored_from - 1]))
            if crossed and anchored_from == b:
                moved[-1] = True
            changed += int(np.count_nonzero(moved))
        if crossed:
            self.consolidate()
        self._version += changed
        for hook in self.on_update:
            hook(self)

    def consolidate(self) -> None:
        """BaseLoRA consolidation and ReasoningBank clustering (refreshing a paired PatternRouter's bank)."""
        with single_threaded_blas():
            self.lin.consolidate()
            self._snapshots.append((self.updates, self.lin.W.copy()))
            if self.bank is not None and self.bank.consolidate(self.bank_rng) and self.pattern_router is not None:
                self.pattern_router.bank = self.bank.to_pattern_bank(self.pattern_router.bank)

    # -- persistence ----------------------------------------------------------------------------------
    def state(self) -> bytes:
        arrays: dict[str, np.ndarray] = {f"lin_{k}": v for k, v in self.lin.arrays().items()}
        if self.ewc is not None:
            arrays |= {f"ewc_{k}": v for k, v in self.ewc.arrays().items()}
        if self.bank is not None:
            arrays |= {f"bank_{k}": v for k, v in self.bank.arrays().items()}
        arrays["counts"] = self.counts
        for i, (step, w) in enumerate(self._snapshots):
            arrays[f"snap_{i}_{step}"] = w
        meta = {"kind": self.name, "signature": self.signature, "models": self.models, "version": self._version,
                "updates": self.updates, "baseline": self.baseline, "rng": self.rng.bit_generator.state,
                "bank_rng": self.bank_rng.bit_generator.state}
        return pack(meta, arrays)

    def load_state(self, blob: bytes, what: str = "sona state") -> None:
        meta, arrays = unpack(blob, what)
        if meta.get("signature") != self.signature:
            from workbench.errors import BadInputError

            raise BadInputError(f"{what}: saved for candidates {meta.get('models')}, this learner has "
                                f"{self.models}; use the same preferred_models or start fresh")
        self.lin.load_arrays({k[4:]: v for k, v in arrays.items() if k.startswith("lin_")})
        if self.ewc is not None and "ewc_fisher" in arrays:
            self.ewc.load_arrays({k[4:]: v for k, v in arrays.items() if k.startswith("ewc_")})
        if self.bank is not None and "bank_centroids" in arrays:
            self.bank.load_arrays({k[5:]: v for k, v in arrays.items() if k.startswith("bank_")})
            if self.pattern_router is not None and self.bank.size:
                self.pattern_router.bank = self.bank.to_pattern_bank(self.pattern_router.bank)
        self.counts = np.array(arrays["counts"], dtype=float)
        snaps = sorted((int(k.split("_")[2]), int(k.split("_")[1]), v) for k, v in arrays.items()
                       if k.startswith("snap_"))
        self._snapshots = deque(((step, w) for step, _, w in snaps), maxlen=4)
        self._version = int(meta["version"])
        self.updates = int(meta["updates"])
        self.baseline = float(meta["baseline"])
        self.rng.bit_generator.state = meta["rng"]
        if "bank_rng" in meta:  # states saved before the bank had its own stream lack it
            self.bank_rng.bit_generator.state = meta["bank_rng"]


def _spawn(rng: np.random.Generator) -> np.random.SeedSequence:
    """A child seed of the generator's own seed sequence (deterministic; draws nothing from `rng`)."""
    seq = getattr(rng.bit_generator, "seed_seq", None)
    if isinstance(seq, np.random.SeedSequence):
        return seq.spawn(1)[0]
    return np.random.SeedSequence(0x50A4)


class SonaPolicy:
    """The sona router's scores: the predicted reward of each candidate, from the learner's weights."""

    name = "sona"

    def __init__(self, learner: SonaLearner) -> None:
        self.learner = learner

    def evaluate(self, x: np.ndarray, admissible: np.ndarray, rng: np.random.Generator) -> PolicyScores:
        learner = self.learner
        scores = learner.lin.scores(x) + learner.baseline  # the same shift for all: only for reading
        probs = one_hot_best(scores, admissible)
        best = int(np.argmax(probs))
        version, outcomes = learner.version, int(learner.updates)

        def describe(pos: int) -> str:
            return f"predicted reward {scores[pos]:.3f} (sona v{version}, learned from {outcomes} outcome(s))"

        return PolicyScores(scores, probs, float(learner.counts[best]), describe)
