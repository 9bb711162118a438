"""Pipeline, PipelineRegistry and `build_pipeline(config)`: the one way live, replay and tuning build pipelines."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from workbench.config import PipelineConfig, WorkbenchConfig
from workbench.errors import ConfigError
from workbench.pipeline.classify import KeywordClassifier
from workbench.pipeline.context import TokenBudgetAssembler
from workbench.pipeline.learn import NoopLearner
from workbench.pipeline.quality import HeuristicScorer, LabelScorer
from workbench.pipeline.route import CostBasedRouter, StaticRouter
from workbench.pipeline.score import NoopScorer
from workbench.pipeline.stages import (
    ContextAssembler,
    LearningBackend,
    LlmTransport,
    ModelRouter,
    QualityScorer,
    TaskClassifier,
)
from workbench.prices import ModelPrice, PriceTable, shipped_prices

DEFAULT_PIPELINE = "default"


@dataclass(frozen=True)
class Pipeline:
    pipeline_id: str
    config: PipelineConfig
    classifier: TaskClassifier
    router: ModelRouter
    context: ContextAssembler
    transport: LlmTransport
    scorer: QualityScorer
    learner: LearningBackend


class PipelineRegistry:
    """Task type -> pipeline, with a default for types that have none. Classification picks the pipeline."""

    def __init__(
        self,
        classifier: TaskClassifier,
        pipelines: Mapping[str, Pipeline],
        default: Pipeline,
        config: WorkbenchConfig,
        prices: PriceTable,
        transport: LlmTransport,
    ) -> None:
        self.classifier = classifier
        self.pipelines = dict(pipelines)
        self.default = default
        self.config = config
        self.prices = prices
        self.transport = transport
        self.config_hash = config.config_hash()

    def for_task(self, task_type: str) -> Pipeline:
        return self.pipelines.get(task_type, self.default)

    def all(self) -> list[Pipeline]:
        return [*self.pipelines.values(), self.default]


def price_table(config: WorkbenchConfig, base: PriceTable | None = None) -> PriceTable:
    """The shipped (or given) price table with the config's `models` section on top."""
    table = base or shipped_prices()
    overrides = {
        name: ModelPrice(m.input_cost_per_token, m.output_cost_per_token, m.context_window, frozenset(m.capabilities))
        for name, m in config.models.items()
    }
    return table.merged(overrides, f"config-{config.config_hash()[:8]}")


def make_transport(config: WorkbenchConfig, prices: PriceTable, seed: int | None = None) -> LlmTransport:
    from workbench.transport.simulated import SimulatedTransport  # keeps --help start-up light

    if config.transport.kind == "simulated":
        return SimulatedTransport(
            prices, seed=config.transport.seed if seed is None else seed, extra_models=config.models.keys()
        )
    raise ConfigError("config", ["transport.kind: 'http' is not available yet; use 'simulated'"])


def _models(task: str, pc: PipelineConfig, config: WorkbenchConfig) -> list[str]:
    refs = pc.preferred_models or [config.routing.default_model]
    return [config.resolve(m) for m in refs]


def _scorer(pc: PipelineConfig) -> QualityScorer:
    if pc.quality.scorer == "heuristic":
        return HeuristicScorer(pc.quality.weights)
    if pc.quality.scorer == "label":
        return LabelScorer(pc.quality.weights)
    return NoopScorer()


def _router(pc: PipelineConfig, models: list[str], prices: PriceTable) -> ModelRouter:
    if pc.router == "static":
        return StaticRouter(models, prices)
    if pc.router == "cost-based":
        return CostBasedRouter(models, prices)
    raise AssertionError(f"config validation let through router {pc.router!r}")  # config.ROUTERS guards this


def build_pipeline(
    config: WorkbenchConfig,
    *,
    transport: LlmTransport | None = None,
    prices: PriceTable | None = None,
    seed: int | None = None,
) -> PipelineRegistry:
    """Build every configured pipeline. Fails with a config path when a model cannot be served."""
    table = price_table(config, prices)
    transport = transport or make_transport(config, table, seed)
    classifier = KeywordClassifier(config.routing.keywords, config.routing.default_task_type)

    problems: list[str] = []
    specs = dict(config.pipelines)
    specs.setdefault(DEFAULT_PIPELINE, PipelineConfig())
    built: dict[str, Pipeline] = {}
    for task, pc in specs.items():
        models = _models(task, pc, config)
        for i, m in enumerate(models):
            if not transport.serves(m):
                where = f"pipelines.{task}.preferred_models.{i}" if pc.preferred_models else "routing.default_model"
                problems.append(
                    f"{where}: the {transport.name} transport cannot serve '{m}'; "
                    f"add it under `models` with its prices, or pick a served model"
                )
        if problems:
            continue
        built[task] = Pipeline(
            pipeline_id=task,
            config=pc,
            classifier=classifier,
            router=_router(pc, models, table),
            context=TokenBudgetAssembler(pc.context.max_tokens),
            transport=transport,
            scorer=_scorer(pc),
            learner=NoopLearner(),
        )
    if problems:
        raise ConfigError("config", problems)
    default = built.pop(DEFAULT_PIPELINE)
    return PipelineRegistry(classifier, built, default, config, table, transport)
