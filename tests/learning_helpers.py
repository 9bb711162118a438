"""Helpers for the learning tests: a mixed-task request stream through `build_pipeline` + `Session` on the
simulated fleet, with scheduled drift, returning each request's reward and served model."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from routing_helpers import prompts

from workbench.config import parse_config
from workbench.domain import ChatRequest, Trajectory
from workbench.pipeline import build_pipeline
from workbench.session import Session

# Three models with real trade-offs on the simulated fleet (quality, price and speed all differ).
MODELS = ["groq/llama-3.3-70b", "deepseek/deepseek-chat", "openai/gpt-4o-mini"]


def config(router: str, learner: str = "noop", *, models: Sequence[str] = MODELS, events: Sequence[dict[str, Any]] = (),
           learning: dict[str, Any] | None = None, seed: int = 0) -> Any:
    pipeline: dict[str, Any] = {"router": router, "learner": learner, "preferred_models": list(models),
                                # Reward on ground truth: the fleet's hidden true quality, minus cost and latency.
                                "quality": {"scorer": "label", "weights": {"accuracy": 1.0}}}
    if learning is not None:
        pipeline["learning"] = learning
    return parse_config({"pipelines": {"default": pipeline}, "transport": {"seed": seed, "events": list(events)}})


def stream(n: int, seed: int) -> list[str]:
    """`n` requests drawn (with repeats) from a pool of distinct prompts over every task type."""
    pool = prompts(300, np.random.default_rng(seed))
    rng = np.random.default_rng(seed + 1)
    return [pool[int(i)] for i in rng.integers(len(pool), size=n)]


@dataclass
class Run:
    trajectories: list[Trajectory]

    @property
    def rewards(self) -> np.ndarray:
        return np.array([t.reward if t.reward is not None else 0.0 for t in self.trajectories])

    def served(self, task: str | None = None) -> list[str]:
        return [t.response.served_model or t.decision.model for t in self.trajectories
                if task is None or t.profile.task_type == task]


def run(cfg: Any, requests: Sequence[str], *, registry: Any = None) -> Run:
    registry = registry or build_pipeline(cfg)
    session = Session(registry, None, clock=lambda: 0.0)

    async def go() -> list[Trajectory]:
        return [await session.run(ChatRequest.from_prompt(p)) for p in requests]

    return Run(asyncio.run(go()))
