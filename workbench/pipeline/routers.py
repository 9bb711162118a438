"""The router and classifier factory behind `build_pipeline`: one fleet state, one kit, a seeded stream each.

Every intelligent router of a registry shares one breaker board and one set of deployment statistics
(pipelines share deployments), and draws randomness only from its own generator, seeded from the build
seed and the pipeline's name, so a rebuild with the same seed makes the same choices.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable

import numpy as np

from workbench.config import PipelineConfig, WorkbenchConfig
from workbench.pipeline.breaker import BreakerBoard
from workbench.pipeline.candidate_pool import Fleet
from workbench.pipeline.classify import KeywordClassifier
from workbench.pipeline.complexity import ComplexityAnalyzer
from workbench.pipeline.deployment_stats import DeploymentStats
from workbench.pipeline.embeddings import Embedder, make_embedder
from workbench.pipeline.exploration import Explorer
from workbench.pipeline.learn import NoopLearner
from workbench.pipeline.neural_router import NeuralRouter
from workbench.pipeline.pattern_router import PatternBank, PatternRouter
from workbench.pipeline.route import StaticRouter
from workbench.pipeline.selection import RoutingKit
from workbench.pipeline.stages import LearningBackend, ModelRouter, TaskClassifier
from workbench.pipeline.strategies import make_strategy
from workbench.pipeline.strategy_router import StrategyRouter
from workbench.pipeline.tier_router import TierRouter
from workbench.pipeline.tiers import TierMap
from workbench.pipeline.uncertainty import UncertaintyEstimator
from workbench.prices import PriceTable
from workbench.routing_config import STRATEGIES

# Routers that read the complexity score and so need the complexity classifier.
NEEDS_COMPLEXITY: tuple[str, ...] = ("tier", "neural")
# Routers whose default candidates are every tier model (all providers) rather than routing.default_model.
FLEET_WIDE: tuple[str, ...] = ("pattern", "neural", "sona", "linucb", "thompson")


class RoutingFactory:
    def __init__(
        self,
        config: WorkbenchConfig,
        prices: PriceTable,
        *,
        seed: int,
        clock: Callable[[], float] | None = None,
    ) -> None:
        r = config.routing
        self.config = config
        self.prices = prices
        self.seed = seed
        clock = clock or time.time
        self.fleet = Fleet(BreakerBoard(r.breaker, clock), DeploymentStats(r.strategy, r.deployments, clock), clock)
        self.kit = RoutingKit(
            self.fleet, Explorer(r.exploration), UncertaintyEstimator(r.uncertainty), r.breaker.all_open_policy, seed
        )
        self.tiers = TierMap(r.tiers, config.resolve)
        self._classifiers: dict[str, TaskClassifier] = {}
        self._embedder: Embedder | None = None
        self.learners: dict[str, LearningBackend] = {}  # task -> the learner paired with its router

    # -- classifiers ------------------------------------------------------------------------------------
    def classifier(self, name: str) -> TaskClassifier:
        found = self._classifiers.get(name)
        if found is None:
            r = self.config.routing
            if name == "complexity":
                found = ComplexityAnalyzer(r.complexity, r.keywords, r.default_task_type, self.tiers.boundaries)
            else:
                found = KeywordClassifier(r.keywords, r.default_task_type)
            self._classifiers[name] = found
        return found

    # -- checks -----------------------------------------------------------------------------------------
    def problems(self, task: str, pc: PipelineConfig, serves: Callable[[str], bool], transport: str) -> list[str]:
        out: list[str] = []
        if pc.router in NEEDS_COMPLEXITY and pc.classifier != "complexity":
            out.append(
                f"pipelines.{task}.classifier: router '{pc.router}' reads the complexity score; "
                f"set classifier to 'complexity'"
            )
        if pc.router == "tier" or (pc.router in FLEET_WIDE and not pc.preferred_models):
            for name, spec in self.config.routing.tiers.tiers.items():
                for i, m in enumerate(spec.models):
                    if not serves(self.config.resolve(m)):
                        out.append(
                            f"routing.tiers.tiers.{name}.models.{i}: the {transport} transport cannot serve '{m}'; "
                            f"add it under `models` with its prices, or pick a served model"
                        )
        return out

    # -- routers ------------------------------------------------------------------------------------------
    def rng(self, task: str) -> np.random.Generator:
        return np.random.default_rng([self.seed, zlib.crc32(task.encode())])

    def learner_rng(self, task: str) -> np.random.Generator:
        """A learner's own stream (initial factors, k-means), apart from the routing draws."""
        return np.random.default_rng([self.seed, zlib.crc32(task.encode()), 0x50A4])

    def learner(self, task: str) -> LearningBackend:
        """The learner built with the task's router (a learning pair), else the level-0 NoopLearner."""
        return self.learners.get(task) or NoopLearner()

    def fleet_models(self) -> list[str]:
        return list(dict.fromkeys(m for t in self.tiers.tiers for m in t.models))

    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = make_embedder(self.config.routing.pattern.embeddings)
        return self._embedder

    def router(self, task: str, pc: PipelineConfig, models: list[str]) -> ModelRouter:
        r = self.config.routing
        if pc.router == "static":
            return StaticRouter(models, self.prices)
        if pc.router in STRATEGIES:
            return StrategyRouter(models, self.prices, make_strategy(pc.router, r.strategy), self.kit, self.rng(task))
        if pc.router == "tier":
            return TierRouter(self.tiers, r.tiers, r.strategy, self.prices, self.kit, self.rng(task))
        candidates = models if pc.preferred_models else self.fleet_models()
        if pc.router == "pattern":
            embedder = self.embedder()
            cfg = r.pattern
            bank = (
                PatternBank.load(cfg.bank)
                if cfg.bank
                else PatternBank(
                    embedder.dim, merge_similarity=cfg.merge_similarity, min_trust_uses=cfg.min_trust_uses,
                    brute_force_below=cfg.brute_force_below, embedder_kind=embedder.kind,
                )
            )
            pattern = PatternRouter(candidates, self.prices, bank, embedder, self.kit, self.rng(task), k=cfg.k)
            if pc.learner == "sona":
                from workbench.learning.factory import pattern_learner

                self.learners[task] = pattern_learner(pc, pattern, self.learner_rng(task), embedder)
            return pattern
        if pc.router == "neural":
            return NeuralRouter(
                candidates, self.prices, self.kit, self.rng(task), hidden=r.neural.hidden, weights=r.neural.weights
            )
        if pc.router in ("sona", "linucb", "thompson"):
            from workbench.learning.factory import make_pair  # numpy-only, but keeps the level-0 build lean

            router, self.learners[task] = make_pair(
                pc, candidates, self.prices, self.kit, self.rng(task), self.learner_rng(task), self.embedder()
            )
            return router
        raise AssertionError(f"config validation let through router {pc.router!r}")  # config.ROUTERS guards this

