"""Pipeline, PipelineRegistry and `build_pipeline(config)`: the one way live, replay and tuning build pipelines."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from workbench.config import PipelineConfig, WorkbenchConfig
from workbench.domain import ChatRequest, LlmResponse, RoutingDecision, TaskProfile
from workbench.errors import ConfigError
from workbench.pipeline.breaker import FAIL_FAST, BreakerTransition
from workbench.pipeline.candidate_pool import Fleet
from workbench.pipeline.context import TokenBudgetAssembler
from workbench.pipeline.quality import HeuristicScorer, LabelScorer
from workbench.pipeline.routers import RoutingFactory
from workbench.pipeline.score import NoopScorer
from workbench.pipeline.stages import (
    ContextAssembler,
    LearningBackend,
    LlmTransport,
    ModelRouter,
    QualityScorer,
    TaskClassifier,
)
from workbench.prices import ModelPrice, PriceTable, load_prices

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
        fleet: Fleet | None = None,
    ) -> None:
        self.classifier = classifier
        self.pipelines = dict(pipelines)
        self.default = default
        self.config = config
        self.prices = prices
        self.transport = transport
        self.config_hash = config.config_hash()
        self.fleet = fleet

    def for_task(self, task_type: str) -> Pipeline:
        return self.pipelines.get(task_type, self.default)

    def profile(self, request: ChatRequest) -> tuple[Pipeline, TaskProfile]:
        """Classify, pick the pipeline, and re-profile with that pipeline's own classifier when it has another
        (e.g. `complexity`); both read the same keywords, so the task type and the pipeline stay the same."""
        profile = self.classifier.classify(request)
        pipeline = self.for_task(profile.task_type)
        if pipeline.classifier is not self.classifier:
            profile = pipeline.classifier.classify(request)
        return pipeline, profile

    # -- fleet state (breakers, latency, usage): fed by the session around every transport call ----------
    def dispatched(self, decision: RoutingDecision) -> None:
        """The decision's model is about to be called (in-flight counts, rpm usage, half-open probe slots)."""
        if self.fleet is None or decision.policy == FAIL_FAST:
            return
        now = self.fleet.clock()
        self.fleet.stats.dispatched(decision.model, now)
        self.fleet.board.dispatched(decision.model, now)

    def observe(self, decision: RoutingDecision, response: LlmResponse) -> list[BreakerTransition]:
        """Feed every attempt of the response to the breakers and statistics; returns breaker transitions."""
        if self.fleet is None:
            return []
        now = self.fleet.clock()
        if response.attempts or response.status == "ok":
            self.fleet.stats.observe(decision.model, response, now)
        self.fleet.board.record(response.attempts, now)
        return self.fleet.board.drain()

    def all(self) -> list[Pipeline]:
        return [*self.pipelines.values(), self.default]


def price_table(config: WorkbenchConfig, base: PriceTable | None = None) -> PriceTable:
    """The shipped (or given) price table with the config's `models` section on top."""
    table = base or load_prices(config.transport.price_file)
    overrides = {
        name: ModelPrice(m.input_cost_per_token, m.output_cost_per_token, m.context_window, frozenset(m.capabilities))
        for name, m in config.models.items()
    }
    return table.merged(overrides, f"config-{config.config_hash()[:8]}")


def make_transport(config: WorkbenchConfig, prices: PriceTable, seed: int | None = None) -> LlmTransport:
    from workbench.transport.factory import transport_from_config  # keeps --help start-up light

    return transport_from_config(config, prices, seed)


def _models(task: str, pc: PipelineConfig, config: WorkbenchConfig) -> list[str]:
    refs = pc.preferred_models or [config.routing.default_model]
    return [config.resolve(m) for m in refs]


def _assembler(pc: PipelineConfig) -> ContextAssembler:
    c = pc.context
    if c.assembler == "attention":
        from workbench.pipeline.attention import AttentionAssembler

        return AttentionAssembler(
            c.max_tokens, window=c.window, min_information=c.min_information, temperature=c.temperature
        )
    return TokenBudgetAssembler(c.max_tokens)


def _scorer(pc: PipelineConfig, transport: LlmTransport, config: WorkbenchConfig) -> QualityScorer:
    if pc.quality.scorer == "judge":
        from workbench.pipeline.judge import JudgeScorer

        judge = config.resolve(pc.quality.judge_model or config.routing.default_model)
        return JudgeScorer(transport, judge, pc.quality.weights)
    if pc.quality.scorer == "heuristic":
        return HeuristicScorer(pc.quality.weights)
    if pc.quality.scorer == "label":
        return LabelScorer(pc.quality.weights)
    return NoopScorer()


def build_pipeline(
    config: WorkbenchConfig,
    *,
    transport: LlmTransport | None = None,
    prices: PriceTable | None = None,
    seed: int | None = None,
    clock: Callable[[], float] | None = None,
) -> PipelineRegistry:
    """Build every configured pipeline. Fails with a config path when a model cannot be served.

    `clock` drives breaker cooldowns and per-minute usage (default: wall time; replay passes logged time).
    Routers draw randomness only from generators seeded by `seed` (default: `transport.seed`).
    """
    table = price_table(config, prices)
    transport = transport or make_transport(config, table, seed)
    factory = RoutingFactory(config, table, seed=config.transport.seed if seed is None else seed, clock=clock)

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
        problems += factory.problems(task, pc, transport.serves, transport.name)
        if pc.learner != "noop" or pc.router in ("sona", "linucb", "thompson"):
            from workbench.learning.factory import problems as learning_problems

            problems += learning_problems(task, pc)
        if pc.quality.scorer == "judge":
            judge = config.resolve(pc.quality.judge_model or config.routing.default_model)
            if not transport.serves(judge):
                where = f"pipelines.{task}.quality.judge_model" if pc.quality.judge_model else "routing.default_model"
                problems.append(f"{where}: the {transport.name} transport cannot serve the judge '{judge}'; "
                                f"pick a served model for pipelines.{task}.quality.judge_model")
        if problems:
            continue
        router = factory.router(task, pc, models)
        built[task] = Pipeline(
            pipeline_id=task,
            config=pc,
            classifier=factory.classifier(pc.classifier),
            router=router,
            context=_assembler(pc),
            transport=transport,
            scorer=_scorer(pc, transport, config),
            learner=factory.learner(task),  # the router's paired learner, or the level-0 NoopLearner
        )
    if problems:
        raise ConfigError("config", list(dict.fromkeys(problems)))  # shared sections (tiers) report once
    default = built.pop(DEFAULT_PIPELINE)
    # Classification picks the pipeline, so the default pipeline's classifier classifies every request first.
    return PipelineRegistry(default.classifier, built, default, config, table, transport, factory.fleet)
