"""Helpers for the routing tests: a routing kit on a fake clock, synthetic fleets, a prompt generator and
full-information logs from the simulated fleet (every candidate's outcome for every prompt)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from workbench.bench.routing import synthetic_prices as synthetic_prices  # the routing tests take it from here
from workbench.config import WorkbenchConfig, parse_config
from workbench.domain import (
    AssembledContext,
    ChatRequest,
    QualityScore,
    RoutingDecision,
    TaskProfile,
    Trajectory,
    TransportRequest,
    new_id,
)
from workbench.pipeline.breaker import BreakerBoard
from workbench.pipeline.candidate_pool import Fleet
from workbench.pipeline.complexity import ComplexityAnalyzer
from workbench.pipeline.deployment_stats import DeploymentStats
from workbench.pipeline.exploration import Explorer
from workbench.pipeline.selection import RoutingKit
from workbench.pipeline.uncertainty import UncertaintyEstimator
from workbench.prices import shipped_prices
from workbench.transport.fleet import DEFAULT_PROFILES
from workbench.transport.simulated import SimulatedTransport


class Clock:
    def __init__(self, t: float = 1_700_000_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


def kit(routing: dict[str, Any] | None = None, clock: Callable[[], float] | None = None, seed: int = 0) -> RoutingKit:
    cfg = parse_config({"routing": routing or {}}).routing
    clk = clock or Clock()
    fleet = Fleet(BreakerBoard(cfg.breaker, clk), DeploymentStats(cfg.strategy, cfg.deployments, clk), clk)
    estimator = UncertaintyEstimator(cfg.uncertainty)
    return RoutingKit(fleet, Explorer(cfg.exploration), estimator, cfg.breaker.all_open_policy, seed)


# -- prompts ----------------------------------------------------------------------------------------------
TOPICS = [
    "queues", "the ocean", "autumn leaves", "city lights", "a lost cat", "mountains", "coffee", "trains",
    "old libraries", "the moon", "winter mornings", "robots", "a garden", "rivers", "friendship", "thunderstorms",
]
SYSTEMS = [
    "a payment ledger", "a chat service", "a rate limiter", "a job scheduler", "a key-value store", "a search index",
    "an auth gateway", "a metrics pipeline", "a file sync daemon", "a feature store",
]
TEMPLATES: dict[str, list[str]] = {
    "triage": [
        "classify this ticket about {t}: quick label please",
        "quick: is the report on {s} a duplicate? yes or no",
        "label this message about {t}",
        "tl;dr triage the issue with {s}",
    ],
    "creative": [
        "write a haiku about {t}",
        "compose a poem about {t}",
        "write a short story about {t} and {t2}",
        "draft song lyrics about {t}",
    ],
    "development": [
        "write a python function that parses {t} records",
        "debug this rust module for {s}: it panics on empty input",
        "implement {s} in python with tests and explain the design trade-offs for concurrency",
        "refactor the class behind {s} and fix the race condition in its distributed consensus code",
    ],
    "analysis": [
        "summarize the report on {s}",
        "compare {s} with {s2} and explain why one scales better",
        "analyze the latency of {s} and explain the root cause of its tail latency step by step",
        "evaluate the trade-offs of caching in {s} versus {s2} under distributed load",
    ],
    "research": [
        "find sources on {t}",
        "research the literature on {s} and cite the key papers",
        "look up benchmarks for {s} and summarize the sources",
        "search for studies comparing {s} and {s2} and explain the algorithm each one uses",
    ],
}


def prompts(n: int, rng: np.random.Generator) -> list[str]:
    """`n` distinct prompts across all task types and a spread of complexity."""
    out: dict[str, None] = {}
    tasks = list(TEMPLATES)
    while len(out) < n:
        task = tasks[int(rng.integers(len(tasks)))]
        template = TEMPLATES[task][int(rng.integers(len(TEMPLATES[task])))]
        t, t2 = rng.choice(TOPICS, 2, replace=False)
        s, s2 = rng.choice(SYSTEMS, 2, replace=False)
        out[template.format(t=t, t2=t2, s=s, s2=s2)] = None
    return list(out)


def split(n_train: int, n_test: int, seed: int) -> tuple[list[str], list[str]]:
    everything = prompts(n_train + n_test, np.random.default_rng(seed))
    train, test = everything[:n_train], everything[n_train:]
    assert not set(train) & set(test)  # held-out prompts are never seen in training
    return train, test


# -- full-information logs from the simulated fleet --------------------------------------------------------
PROFILES = {p.model: p for p in DEFAULT_PROFILES}


def analyzer(config: WorkbenchConfig | None = None) -> ComplexityAnalyzer:
    cfg = config or parse_config({})
    return ComplexityAnalyzer(cfg.routing.complexity, cfg.routing.keywords, cfg.routing.default_task_type)


def expected_quality(model: str, profile: TaskProfile) -> float:
    """What the simulated fleet's quality is centred on for this model and request: the ground truth."""
    return PROFILES[model].expected_quality(profile.task_type, profile.complexity)


def trajectory(request: ChatRequest, profile: TaskProfile, model: str, response: Any, created: float) -> Trajectory:
    q = response.metadata.get("simulated_true_quality")
    return Trajectory(
        trajectory_id=new_id(), created_at=created, pipeline_id="default", config_hash="test", request=request,
        profile=profile, decision=RoutingDecision(model=model, strategy="logged"),
        context=AssembledContext(messages=request.messages, tokens=0, budget=0), response=response,
        quality=QualityScore(overall=q, source="label") if q is not None else QualityScore(),
        reward_source="label",
    )


def full_information_log(
    prompts_: Sequence[str], models: Sequence[str], seed: int, clf: ComplexityAnalyzer | None = None
) -> list[Trajectory]:
    """Every prompt sent to every model through the simulated transport, scored by its hidden true quality."""
    clf = clf or analyzer()
    transport = SimulatedTransport(shipped_prices(), seed=seed, max_retries=3)

    async def collect() -> list[Trajectory]:
        out = []
        t = 1_700_000_000.0
        for p in prompts_:
            request = ChatRequest.from_prompt(p)
            profile = clf.classify(request)
            for m in models:
                resp = await transport.complete(
                    TransportRequest(model=m, messages=request.messages, task_type=profile.task_type,
                                     complexity=profile.complexity)
                )
                t += 1.0
                out.append(trajectory(request, profile, m, resp, t))
        return out

    return asyncio.run(collect())
