"""Shadow re-execution: a sample of a log's prompts re-run live through a transport, under a hard cost cap.

The pipeline is built by the same `build_pipeline` with the config's own transport (the seeded simulated fleet
unless the config names another, e.g. an OpenAI-compatible `base_url`). Before each request the worst case it
could cost is priced -- the dearest deployment the pipeline may reach, for the prompt's tokens in and the
request's output cap out -- and the run stops when that would take the spend past the cap. Results and
trajectories are labelled `shadow`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from workbench.config import WorkbenchConfig
from workbench.domain import ChatRequest, Trajectory
from workbench.errors import BadInputError
from workbench.pipeline.build import PipelineRegistry, build_pipeline
from workbench.pipeline.context import request_tokens
from workbench.replay.engine import Progress, ReplayCancelled
from workbench.replay.metrics import mean_ci, percentiles
from workbench.session import Session, TrajectorySink

ESTIMATOR = "shadow"


@dataclass(frozen=True)
class ShadowResult:
    """What the shadow run got, request by request, and why it stopped."""

    pipeline: str
    log: str
    sampled: int  # prompts drawn from the log
    trajectories: list[Trajectory]
    spent_usd: float
    cost_cap_usd: float
    stopped: str  # "sample done" | "cost cap: ..."
    notes: tuple[str, ...] = field(default=())

    @property
    def n(self) -> int:
        return len(self.trajectories)

    def as_dict(self) -> dict[str, Any]:
        q = np.array([t.quality.overall for t in self.trajectories if t.quality.overall is not None], dtype=float)
        ci = mean_ci(q) if q.size else None
        lat = percentiles(np.array([t.response.latency_ms for t in self.trajectories], dtype=float)) if self.n else {}
        failed = sum(t.response.status != "ok" for t in self.trajectories)
        return {
            "pipeline": self.pipeline, "estimator": ESTIMATOR, "log": self.log, "n": self.n, "sampled": self.sampled,
            "quality": None if ci is None else round(ci.mean, 6),
            "quality_ci": [None, None] if ci is None else [round(ci.low, 6), round(ci.high, 6)],
            "cost_usd": round(self.spent_usd, 8), "cost_cap_usd": self.cost_cap_usd,
            "cost_per_request_usd": round(self.spent_usd / self.n, 8) if self.n else None,
            "latency_p50_ms": lat.get("p50"), "latency_p95_ms": lat.get("p95"),
            "failure_rate": failed / self.n if self.n else None, "stopped": self.stopped, "notes": list(self.notes),
        }

    def table(self) -> pl.DataFrame:
        """One row per shadow request: prompt position, model, status, cost, latency, quality."""
        return pl.DataFrame(
            [{"model": t.decision.model, "served_model": t.response.served_model, "status": t.response.status,
              "cost_usd": t.response.cost_usd, "latency_ms": t.response.latency_ms, "quality": t.quality.overall}
             for t in self.trajectories],
            schema_overrides={"quality": pl.Float64},
        )

    def _repr_html_(self) -> str:
        return f"<p>shadow of <b>{self.log}</b>: {self.n} requests, ${self.spent_usd:.6f}, {self.stopped}</p>" + \
            self.table().head(50)._repr_html_()


def reachable_models(registry: PipelineRegistry) -> list[str]:
    """Every deployment a pipeline of the registry may send to: preferred models, tiers and the default,
    or every model the transport serves when a pipeline picks from the whole fleet."""
    config = registry.config
    refs = [config.routing.default_model]
    for pc in config.pipelines.values():
        refs += pc.preferred_models
    if any(pc.router == "tier" for pc in config.pipelines.values()):
        for tier in config.routing.tiers.tiers.values():
            refs += tier.models
    models = [config.resolve(m) for m in refs]
    fleet_models = getattr(registry.transport, "models", None)
    if callable(fleet_models) and any(not pc.preferred_models and pc.router != "tier"
                                      for pc in config.pipelines.values()):
        models += list(fleet_models())
    return list(dict.fromkeys(models))


def worst_case_cost(registry: PipelineRegistry, models: Sequence[str], request: ChatRequest) -> float:
    """The most one billed attempt of `request` could cost on any of `models` (output at its cap)."""
    assert request.max_output_tokens is not None
    tokens_in = request_tokens(request.messages)
    return max((registry.prices.cost(m, tokens_in, request.max_output_tokens) for m in models), default=0.0)


async def shadow_async(
    config: WorkbenchConfig,
    prompts: Sequence[str],
    *,
    label: str,
    log: str,
    sample: int = 100,
    cost_cap_usd: float = 0.10,
    max_output_tokens: int = 1024,
    seed: int = 0,
    sink: TrajectorySink | None = None,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> ShadowResult:
    """Re-run `sample` prompts drawn (seeded, without replacement, in log order) from `prompts` live."""
    if sample < 1 or cost_cap_usd <= 0 or max_output_tokens < 1:
        raise BadInputError("shadow: --sample and --max-output-tokens must be >= 1 and --cost-cap > 0 (USD)")
    if not prompts:
        raise BadInputError(f"shadow: log '{log}' has no prompts to re-run")
    rng = np.random.default_rng(seed)
    take = np.sort(rng.choice(len(prompts), size=min(sample, len(prompts)), replace=False))
    registry = build_pipeline(config, seed=seed)
    models = reachable_models(registry)
    session = Session(registry, sink, log=f"shadow:{log}", source=ESTIMATOR)
    done: list[Trajectory] = []
    spent = 0.0
    stopped = "sample done"
    try:
        for k, i in enumerate(take):
            if cancel is not None and cancel.is_set():
                raise ReplayCancelled(f"shadow of {label} cancelled after {k} of {take.size} requests")
            request = dataclasses.replace(ChatRequest.from_prompt(prompts[int(i)]), max_output_tokens=max_output_tokens)
            bound = worst_case_cost(registry, models, request)
            if spent + bound > cost_cap_usd:
                stopped = (f"cost cap: the next request could cost up to ${bound:.6f} and ${spent:.6f} of "
                           f"${cost_cap_usd:.6f} is spent")
                break
            t = await session.run(request)
            done.append(t)
            spent += t.response.cost_usd
            if progress is not None:
                progress(label, k + 1, int(take.size))
    finally:
        await registry.transport.aclose()
    notes = (f"live re-execution through the '{registry.transport.name}' transport; output capped at "
             f"{max_output_tokens} tokens per request",)
    return ShadowResult(label, log, int(take.size), done, spent, cost_cap_usd, stopped, notes)


def shadow(config: WorkbenchConfig, prompts: Sequence[str], **kwargs: Any) -> ShadowResult:
    """`shadow_async` from synchronous code (its own event loop)."""
    return asyncio.run(shadow_async(config, prompts, **kwargs))


__all__ = ["ESTIMATOR", "ShadowResult", "reachable_models", "shadow", "shadow_async", "worst_case_cost"]
