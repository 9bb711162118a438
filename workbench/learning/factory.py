"""Learning routers and their learners, built as pairs that share state; and the config checks on the pairing."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from workbench.config import PipelineConfig
from workbench.learning.bandits import BanditLearner, LinUCBPolicy, ThompsonPolicy
from workbench.learning.sona import SonaLearner, SonaPolicy
from workbench.pipeline.embeddings import Embedder
from workbench.pipeline.exploration import Explorer
from workbench.pipeline.learned_router import LearnedRouter
from workbench.pipeline.pattern_router import PatternRouter
from workbench.pipeline.selection import RoutingKit
from workbench.pipeline.stages import LearningBackend
from workbench.prices import PriceTable
from workbench.routing_config import ExplorationConfig

# Router -> the learner that updates its state. Each learning router needs exactly its own learner.
LEARNING_ROUTERS: dict[str, str] = {"sona": "sona", "linucb": "linucb", "thompson": "thompson"}
# Other routers a learner can feed: the sona learner's ReasoningBank refreshes a PatternRouter's bank.
ALSO_FEEDS: dict[str, tuple[str, ...]] = {"sona": ("pattern",)}


def problems(task: str, pc: PipelineConfig) -> list[str]:
    out: list[str] = []
    paired = LEARNING_ROUTERS.get(pc.router)
    if paired is not None and pc.learner != paired:
        out.append(
            f"pipelines.{task}.learner: router '{pc.router}' learns online and needs learner '{paired}' "
            f"(got '{pc.learner}'); set learner to '{paired}'"
        )
    elif pc.learner != "noop" and paired is None and pc.router not in ALSO_FEEDS.get(pc.learner, ()):
        feeds = ", ".join([pc.learner, *ALSO_FEEDS.get(pc.learner, ())])
        out.append(
            f"pipelines.{task}.learner: learner '{pc.learner}' updates the state of router(s) {feeds}, but this "
            f"pipeline's router is '{pc.router}'; set router to '{pc.learner}', or learner to 'noop'"
        )
    if pc.learner != "noop" and pc.quality.scorer == "noop":
        out.append(
            f"pipelines.{task}.quality.scorer: learner '{pc.learner}' learns from a reward and the noop scorer gives "
            f"none; set scorer to 'label' (ground truth, e.g. on the simulated fleet), 'heuristic' or 'judge'"
        )
    return out


def make_pair(
    pc: PipelineConfig,
    models: Sequence[str],
    prices: PriceTable,
    kit: RoutingKit,
    rng: np.random.Generator,
    learner_rng: np.random.Generator,
    embedder: Embedder,
) -> tuple[LearnedRouter, LearningBackend]:
    """The router `pc.router` and its learner, holding one shared policy state."""
    cfg = pc.learning
    pool = LearnedRouter.over(models, prices, kit)
    if pc.router == "sona":
        learner = SonaLearner(pool.models, cfg, learner_rng, embedder=embedder)
        if kit.explorer.settings.mode == "off" and cfg.epsilon > 0:
            # A greedy learner never revisits a model it has written off; see LearningConfig.epsilon.
            kit = dataclasses.replace(
                kit, explorer=Explorer(ExplorationConfig(mode="epsilon-greedy", epsilon=cfg.epsilon))
            )
        return LearnedRouter(pool, SonaPolicy(learner), kit, rng), learner
    bandit = BanditLearner(pc.router, pool.models, cfg.bandit)
    policy = LinUCBPolicy(bandit) if pc.router == "linucb" else ThompsonPolicy(bandit)
    return LearnedRouter(pool, policy, kit, rng), bandit


def pattern_learner(
    pc: PipelineConfig, router: PatternRouter, learner_rng: np.random.Generator, embedder: Embedder
) -> SonaLearner:
    """A sona learner whose ReasoningBank refreshes `router`'s pattern bank at every consolidation."""
    return SonaLearner(router.pool.models, pc.learning, learner_rng, embedder=embedder, pattern_router=router)
