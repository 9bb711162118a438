"""The `pipelines.<task>.learning` config section: every constant of the learners, with documented defaults."""

from __future__ import annotations

from pydantic import Field, PositiveFloat, PositiveInt

from workbench.config_base import Strict

_Strict = Strict


class EwcConfig(_Strict):
    """EWC++: online Fisher, anchors at task boundaries detected from a shift in reward statistics."""

    enabled: bool = True
    # Penalty strength: lambda/2 x sum F (theta - theta*)^2. Large enough to remember, small enough that a real
    # drift still wins within a few hundred outcomes (tests/test_learning_drift.py checks both).
    penalty: float = Field(default=0.5, ge=0.0)
    fisher_decay: float = Field(default=0.99, gt=0.0, lt=1.0)  # EMA factor of the squared-gradient Fisher
    # Boundary detector: a two-sided CUSUM of the reward surprise, scaled by its spread (EMA, span 8 x window).
    window: PositiveInt = 40
    threshold: PositiveFloat = 5.0  # CUSUM of standardised surprise that counts as a regime change
    # Outcomes between two boundaries (and before the first): a regime must last this long to be re-anchored, so
    # the probes EWC itself causes in a new regime do not overwrite the memory of the old one.
    min_gap: PositiveInt = 400


class BankConfig(_Strict):
    """ReasoningBank: prompt embeddings with per-model outcomes, clustered into patterns (k-means)."""

    enabled: bool = True
    capacity: PositiveInt = 2000  # recent trajectories kept for the next clustering
    clusters: PositiveInt = 32  # k of k-means (at most one cluster per stored trajectory)
    kmeans_iterations: PositiveInt = 10
    merge_similarity: float = Field(default=0.95, gt=0.0, le=1.0)  # patterns this close merge into one
    max_patterns: PositiveInt = 512
    prune_after: PositiveInt = 2000  # a pattern unused for this many outcomes and below `min_count` is pruned
    min_count: PositiveInt = 3


class BanditConfig(_Strict):
    """LinUCB (alpha: width of the confidence bonus) and Thompson sampling (Gaussian posterior) baselines."""

    alpha: PositiveFloat = 1.0
    # Ridge prior: A starts at prior x I. Weak (0.01), so that unseen arms are wide: rewards sit near 0.7, and a
    # tight prior at 0 would make every untried arm look worse than the first one tried, and never explored.
    prior: PositiveFloat = 0.01
    noise: PositiveFloat = 0.1  # Thompson: reward noise scale of the posterior
    draws: PositiveInt = 256  # Thompson: draws that estimate each candidate's chance of being best (propensity)
    # Forget old evidence (1.0: never). Below 1 the bandits can follow a drift; 1.0 is the textbook baseline.
    discount: float = Field(default=1.0, gt=0.0, le=1.0)


class LearningConfig(_Strict):
    """How a learning pipeline learns. Only read when `learner` is not `noop`."""

    micro_rank: PositiveInt = 2  # MicroLoRA: the rank of the per-outcome correction
    base_rank: PositiveInt = 8  # BaseLoRA: the rank the micro updates are consolidated into
    learning_rate: PositiveFloat = 0.1
    consolidate_every: PositiveInt = 50  # outcomes between two BaseLoRA / ReasoningBank consolidations
    # Epsilon-greedy exploration of the learning routers (sona) when `routing.exploration` is off: without it a
    # greedy learner never revisits a model it has written off, and cannot notice that model getting better.
    epsilon: float = Field(default=0.05, ge=0.0, le=1.0)
    checkpoint_every: PositiveInt = 100  # persist the learned state every N updates (and on close)
    ewc: EwcConfig = Field(default_factory=EwcConfig)
    bank: BankConfig = Field(default_factory=BankConfig)
    bandit: BanditConfig = Field(default_factory=BanditConfig)
