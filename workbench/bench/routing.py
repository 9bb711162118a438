"""Routing speed figures: per router, full decision time (classify + route + breaker check) and selection time
at 10 / 100 / 1,000 deployments. `measure(quick)` returns every figure, `run(quick)` the headline figures with
their goals plus that detail; `benchmarks/bench_routing.py` and `clawft-workbench bench` print them.

Goals (issue 4): a full decision <= 100 us p50 for the level-0/1 routers; <= 1 ms at 1,000 deployments.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from workbench.bench.figures import Figure, each_at_most
from workbench.config import parse_config
from workbench.domain import (
    AssembledContext,
    ChatRequest,
    QualityScore,
    RoutingDecision,
    Trajectory,
    TransportRequest,
)
from workbench.pipeline.build import PipelineRegistry, build_pipeline
from workbench.pipeline.embeddings import HashedEmbedder
from workbench.pipeline.neural_router import NeuralRouter
from workbench.pipeline.pattern_router import PatternBank, PatternRouter
from workbench.pipeline.route import StaticRouter
from workbench.pipeline.strategies import make_strategy
from workbench.pipeline.strategy_router import StrategyRouter
from workbench.prices import ModelPrice, PriceTable
from workbench.routing_config import STRATEGIES, StrategyConfig

DECISION_GOAL_US = 100.0
AT_1000_GOAL_US = 1000.0
SIZES = (10, 100, 1000)
LEVEL_01 = ("static", *STRATEGIES, "tier")
FLEET = [
    "openai/gpt-4o-mini", "groq/llama-3.1-8b", "deepseek/deepseek-chat", "gemini/gemini-2.0-flash",
    "anthropic/claude-3-5-haiku", "groq/llama-3.3-70b",
]
PROMPTS = [
    "classify this ticket about a login failure",
    "quick: is this a duplicate? yes or no",
    "write a haiku about autumn leaves",
    "compose a short story about a lighthouse keeper and a storm",
    "debug this python function that parses dates",
    "implement a rate limiter in rust and explain the design trade-offs for concurrency",
    "summarize the quarterly report",
    "compare postgres and sqlite and explain why one scales better under distributed load",
    "research the literature on bandit algorithms and cite the key papers",
    "find sources on the history of the printing press",
    "review this login code for SQL injection and XSS vulnerabilities",
    "hello there",
]


def _percentiles(samples_ns: list[int]) -> tuple[float, float]:
    arr = np.array(samples_ns, dtype=float) / 1000.0
    return float(np.percentile(arr, 50)), float(np.percentile(arr, 99))


def _time(fn: Callable[[], object], iterations: int) -> tuple[float, float]:
    for _ in range(min(50, iterations)):  # warm caches and lazily built structures
        fn()
    samples = []
    clock = time.perf_counter_ns
    for _ in range(iterations):
        start = clock()
        fn()
        samples.append(clock() - start)
    return _percentiles(samples)


def _registry(router: str, classifier: str, extra: dict[str, Any] | None = None) -> PipelineRegistry:
    spec: dict[str, Any] = {"router": router, "classifier": classifier}
    if router not in ("tier",):
        spec["preferred_models"] = FLEET
    return build_pipeline(parse_config({"pipelines": {"default": spec}, **(extra or {})}), seed=0)


def _decision_fn(reg: PipelineRegistry) -> Callable[[], object]:
    requests = [ChatRequest.from_prompt(p) for p in PROMPTS]
    state = {"i": 0}

    def decide() -> object:
        request = requests[state["i"] % len(requests)]
        state["i"] += 1
        pipeline, profile = reg.profile(request)
        return pipeline.router.route(request, profile)

    return decide


def _simulated_log(reg: PipelineRegistry, prompts: list[str]) -> list[Trajectory]:
    """Every prompt sent to every FLEET model through the registry's simulated transport."""
    transport = reg.transport

    async def collect() -> list[Trajectory]:
        out = []
        for n, prompt in enumerate(prompts):
            request = ChatRequest.from_prompt(prompt)
            _, profile = reg.profile(request)
            for m in FLEET:
                resp = await transport.complete(TransportRequest(m, request.messages, task_type=profile.task_type,
                                                                 complexity=profile.complexity))
                q = resp.metadata.get("simulated_true_quality")
                out.append(Trajectory(
                    f"bench-{n}-{m}", float(n), "default", "bench", request, profile, RoutingDecision(m, "logged"),
                    AssembledContext(request.messages, 0, 0), resp,
                    QualityScore(overall=float(q)) if q is not None else QualityScore(),
                ))
        return out

    return asyncio.run(collect())


def synthetic_prices(n: int, seed: int = 0) -> tuple[list[str], PriceTable]:
    """`n` made-up deployments across seven providers with random list prices (tests use it too)."""
    rng = np.random.default_rng(seed)
    models = [f"prov{i % 7}/model-{i}" for i in range(n)]
    entries = {
        m: ModelPrice(float(rng.uniform(1e-8, 5e-6)), float(rng.uniform(1e-8, 2e-5)), 128_000, frozenset({"tools"}))
        for m in models
    }
    return models, PriceTable(entries, f"synthetic-{n}")


def measure(quick: bool = False) -> dict[str, float]:
    """Every figure, in microseconds, keyed `<measure>.<router>[.n<deployments>]`."""
    iterations = 1500 if quick else 3000
    figures: dict[str, float] = {}

    # Full decisions on the simulated fleet, with the classifier each router is meant to run with.
    for name in (*LEVEL_01, "pattern", "neural"):
        classifier = "complexity" if name in ("tier", "neural") else "keyword"
        reg = _registry(name, classifier)
        pipeline = reg.default
        if name in ("pattern", "neural"):
            log = _simulated_log(reg, PROMPTS * 3)
            if name == "pattern":
                embedder = HashedEmbedder()
                bank = PatternBank.from_trajectories(log, embedder)
                assert isinstance(pipeline.router, PatternRouter)
                pipeline.router.bank = bank
            else:
                assert isinstance(pipeline.router, NeuralRouter)
                pipeline.router.fit(log, epochs=20 if quick else 100)
        p50, p99 = _time(_decision_fn(reg), iterations)
        figures[f"decision_p50_us.{name}"] = p50
        figures[f"decision_p99_us.{name}"] = p99

    # Selection (screen + breaker check + strategy + decision record) and full decisions at N deployments.
    request = ChatRequest.from_prompt(PROMPTS[4])
    base = _registry("cost-based", "keyword")
    assert isinstance(base.default.router, StrategyRouter)
    kit = base.default.router.kit  # the registry's live fleet state: breakers and deployment statistics
    for n in SIZES:
        models, prices = synthetic_prices(n, seed=n)
        for name in ("static", *STRATEGIES):
            router: Any = (
                StaticRouter(models, prices)
                if name == "static"
                else StrategyRouter(
                    models, prices, make_strategy(name, StrategyConfig()), kit, np.random.default_rng(0)
                )
            )
            profile = base.classifier.classify(request)

            def select_only(r: Any = router, prof: Any = profile) -> object:
                return r.route(request, prof)

            p50, p99 = _time(select_only, max(100, iterations // 3))
            figures[f"selection_p50_us.{name}.n{n}"] = p50
            figures[f"selection_p99_us.{name}.n{n}"] = p99

            def full(r: Any = router) -> object:
                return r.route(request, base.classifier.classify(request))

            p50, _ = _time(full, max(100, iterations // 3))
            figures[f"decision_p50_us.{name}.n{n}"] = p50
    return figures


def table(figures: dict[str, float]) -> str:
    """The figures as a plain-text table with the goal beside each."""
    lines = [f"{'router':<18}{'decision p50':>14}{'p99':>10}   goal"]
    for router in (*LEVEL_01, "pattern", "neural"):
        p50 = figures.get(f"decision_p50_us.{router}")
        if p50 is None:
            continue
        goal = f"<= {DECISION_GOAL_US:.0f} us p50" if router in LEVEL_01 else "(level 2: no goal set)"
        mark = "" if router not in LEVEL_01 else ("  ok" if p50 <= DECISION_GOAL_US else "  MISSED")
        lines.append(f"{router:<18}{p50:>11.1f} us{figures[f'decision_p99_us.{router}']:>7.1f} us   {goal}{mark}")
    lines.append("")
    head = "".join(f"{'n=' + str(n) + ' sel/dec p50':>24}" for n in SIZES)
    lines.append(f"{'router':<18}{head}   goal at n=1000")
    for name in ("static", *STRATEGIES):
        cells = "".join(
            f"{figures[f'selection_p50_us.{name}.n{n}']:>11.1f} /{figures[f'decision_p50_us.{name}.n{n}']:>8.1f} us"
            for n in SIZES
        )
        at_1000 = figures[f"decision_p50_us.{name}.n1000"]
        mark = "ok" if at_1000 <= AT_1000_GOAL_US else "MISSED"
        lines.append(f"{name:<18}{cells}   <= {AT_1000_GOAL_US:.0f} us  {mark}")
    return "\n".join(lines)


def headline(figures: dict[str, float]) -> dict[str, Figure]:
    """`decision_overhead_us_p50` per router (the goal judges the level-0/1 routers) and
    `selection_us_1000_deployments` per strategy (the full decision at 1,000 deployments)."""
    decisions = {r: figures[f"decision_p50_us.{r}"] for r in (*LEVEL_01, "pattern", "neural")
                 if f"decision_p50_us.{r}" in figures}
    at_1000 = {n: figures[f"decision_p50_us.{n}.n1000"] for n in ("static", *STRATEGIES)}
    return {
        "decision_overhead_us_p50": each_at_most(
            decisions, DECISION_GOAL_US, "us", judged=LEVEL_01, scope="(level-0/1 routers)"
        ),
        "selection_us_1000_deployments": each_at_most(at_1000, AT_1000_GOAL_US, "us"),
    }


def run(quick: bool = False) -> dict[str, Any]:
    figures = measure(quick)
    return {**headline(figures), "detail": figures}
