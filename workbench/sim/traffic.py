"""Simulated sample logs: a bandit log through the real session loop and a full-information log from the fleet.

Both come from one seeded config (`sim_config`): every task type routes cost-first over three models with
epsilon-greedy exploration (so logged propensities support IPS/SNIPS/DR), the fleet has an outage window
and a quality drift of the cheap triage model, and the complexity analyzer profiles every request.
`python scripts/make_sample_logs.py` (or `clawft-workbench samples`) writes them to sample_logs/.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from workbench.config import WorkbenchConfig, parse_config
from workbench.domain import ChatRequest, Trajectory, TransportRequest
from workbench.pipeline.build import build_pipeline, price_table
from workbench.pipeline.context import request_tokens
from workbench.pipeline.route import DEFAULT_OUTPUT_TOKENS, EXPECTED_OUTPUT_TOKENS
from workbench.session import Session
from workbench.sim.prompts import make_prompts
from workbench.transport.factory import fleet_schedule
from workbench.transport.fleet import DEFAULT_PROFILES
from workbench.transport.simulated import SimulatedTransport

BANDIT_LOG = "sim-drift-bandit"
FULL_LOG = "sim-drift-full"
T0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z: simulated traffic starts here, so files do not depend on the clock
DRIFT_AT = 10_000  # request index from which the cheap triage model gets worse
OUTAGE = (4_000, 5_000)  # request window in which openai/gpt-4o-mini is down

SIM_PIPELINES: dict[str, list[str]] = {
    "triage": ["groq/llama-3.1-8b", "openai/gpt-4o-mini", "anthropic/claude-3-5-haiku"],
    "development": ["deepseek/deepseek-chat", "groq/llama-3.3-70b", "anthropic/claude-sonnet-4"],
    "creative": ["groq/llama-3.3-70b", "openai/gpt-4o", "anthropic/claude-sonnet-4"],
    "analysis": ["deepseek/deepseek-chat", "openai/gpt-4o", "anthropic/claude-sonnet-4"],
    "research": ["gemini/gemini-2.0-flash", "openai/gpt-4o", "anthropic/claude-sonnet-4"],
    "default": ["openai/gpt-4o-mini", "groq/llama-3.3-70b", "mistral/mistral-small"],
}


def sim_config_dict(epsilon: float = 0.2, seed: int = 0) -> dict[str, Any]:
    """The config the sample traffic was logged with (also a valid `--config` file)."""
    return {
        "pipelines": {
            task: {"classifier": "complexity", "router": "cost-based", "preferred_models": models,
                   "quality": {"scorer": "label"}}
            for task, models in SIM_PIPELINES.items()
        },
        "routing": {"exploration": {"mode": "epsilon-greedy", "epsilon": epsilon}},
        "transport": {
            "seed": seed,
            "events": [
                {"kind": "outage", "model": "openai/gpt-4o-mini", "start": OUTAGE[0], "end": OUTAGE[1]},
                {"kind": "drift", "model": "groq/llama-3.1-8b", "start": DRIFT_AT, "task_type": "triage",
                 "quality_delta": -0.3},
            ],
        },
    }


def one_router_config(router: str, *, routing: dict[str, Any] | None = None, **pipeline: Any) -> WorkbenchConfig:
    """The simulated fleet's config with every task type on `router` (plus any `pipeline` settings), exploration
    off, no outage schedule, `routing` merged over its routing section: what replay benchmarks and tests compare."""
    data = sim_config_dict()
    data["routing"]["exploration"] = {"mode": "off"}
    data["routing"].update(routing or {})
    data["transport"] = {}
    for p in data["pipelines"].values():
        p["router"] = router
        p.update(pipeline)
    return parse_config(data, f"one router: {router}")


def sim_config(epsilon: float = 0.2, seed: int = 0) -> WorkbenchConfig:
    return parse_config(sim_config_dict(epsilon, seed), "workbench.sim.traffic.sim_config")


def _transport(config: WorkbenchConfig, seed: int) -> SimulatedTransport:
    prices = price_table(config)
    tc = config.transport
    return SimulatedTransport(
        prices, seed=seed, max_retries=tc.retry.max_retries, backoff_initial_s=tc.retry.backoff_initial_s,
        backoff_cap_s=tc.retry.backoff_cap_s, schedule=fleet_schedule(config), max_fallbacks=tc.max_fallbacks,
    )


class _ListSink:
    def __init__(self, out: list[Trajectory]) -> None:
        self.out = out

    def append(self, trajectory: Trajectory, /) -> None:
        self.out.append(trajectory)


def bandit_trajectories(
    n: int, seed: int = 0, *, log: str = BANDIT_LOG, progress: Callable[[int, int], None] | None = None
) -> list[Trajectory]:
    """`n` requests through the session loop on the simulated fleet (exploration on): one trajectory each.

    Ids and times are derived from the seed and the simulated clock, so the same seed gives the same rows.
    """
    config = sim_config(seed=seed)
    transport = _transport(config, seed)
    clock = lambda: T0 + transport.now()  # noqa: E731 - the fleet's simulated clock, shifted to a fixed date
    registry = build_pipeline(config, transport=transport, seed=seed, clock=clock)
    out: list[Trajectory] = []
    session = Session(registry, _ListSink(out), clock=clock, log=log, source="simulated")
    rng = np.random.default_rng([seed, 1])
    prompts = make_prompts(n, rng)
    gaps = rng.exponential(2.0, size=n)  # Poisson arrivals, mean 2 s apart

    async def run_all() -> None:
        for i, prompt in enumerate(prompts):
            transport.advance(float(gaps[i]))
            await session.run(ChatRequest.from_prompt(prompt))
            if progress is not None and (i + 1) % 1000 == 0:
                progress(i + 1, n)

    asyncio.run(run_all())
    return [dataclasses.replace(t, trajectory_id=f"{log}-{i:06d}") for i, t in enumerate(out)]


def fullinfo_table(n: int, seed: int = 0, *, log: str = FULL_LOG) -> pa.Table:
    """Every fleet model's outcome for each of `n` prompts, with the same drift and outage as the bandit log.

    Quality is the fleet's expected quality for the prompt's task type and complexity at that request
    index, plus the same N(0, 0.05) noise the fleet draws; a model that is down fails (quality 0, no cost).
    """
    config = sim_config(seed=seed)
    transport = _transport(config, seed)
    registry = build_pipeline(config, transport=transport, seed=seed, clock=lambda: T0)
    prices = registry.prices
    rng = np.random.default_rng([seed, 2])
    prompts = make_prompts(n, np.random.default_rng([seed, 3]))
    models = [p.model for p in DEFAULT_PROFILES]
    cols: dict[str, list[Any]] = {k: [] for k in (
        "prompt_id", "row_index", "prompt", "task", "model", "quality", "score", "cost_usd", "latency_ms",
        "input_tokens", "output_tokens", "extra")}
    for i, prompt in enumerate(prompts):
        request = ChatRequest.from_prompt(prompt)
        _, profile = registry.profile(request)
        treq = TransportRequest(model="", messages=request.messages, task_type=profile.task_type,
                                complexity=profile.complexity)
        in_tokens = request_tokens(treq.messages)
        wanted = EXPECTED_OUTPUT_TOKENS.get(profile.task_type, DEFAULT_OUTPUT_TOKENS)
        noise = rng.normal(0.0, 0.05, size=len(models))
        spread = rng.lognormal(0.0, 0.3, size=len(models))
        ttft_spread = rng.lognormal(0.0, 0.35, size=len(models))
        for j, p in enumerate(DEFAULT_PROFILES):
            down = transport.schedule.down(p.model, i, T0)
            out_tokens = max(1, int(wanted * spread[j]))
            if down:
                q, cost, lat, out_tokens = 0.0, 0.0, 5.0, 0
            else:
                q = float(np.clip(transport.expected_quality(p.model, profile.task_type, profile.complexity,
                                                             index=i, now=T0) + noise[j], 0.0, 1.0))
                cost = prices.cost(p.model, in_tokens, out_tokens)
                lat = p.ttft_ms * float(ttft_spread[j]) + out_tokens / p.tokens_per_s * 1000.0
            cols["prompt_id"].append(f"{log}-{i:06d}")
            cols["row_index"].append(i)
            cols["prompt"].append(prompt)
            cols["task"].append(profile.task_type)
            cols["model"].append(p.model)
            cols["quality"].append(round(q, 6))
            cols["score"].append(round(q, 6))
            cols["cost_usd"].append(cost)
            cols["latency_ms"].append(round(lat, 3))
            cols["input_tokens"].append(in_tokens)
            cols["output_tokens"].append(out_tokens)
            cols["extra"].append(json.dumps({"complexity": round(profile.complexity, 6),
                                             "status": "failed" if down else "ok"}, sort_keys=True))
    k = len(cols["model"])
    return pa.table({
        "log": [log] * k, **{c: cols[c] for c in ("prompt_id", "row_index", "prompt", "task", "model", "quality",
                                                  "score", "cost_usd", "latency_ms", "input_tokens",
                                                  "output_tokens")},
        "cost_derived": [True] * k,
        "cost_source": ["simulated fleet: expected tokens x list price"] * k,
        "price_version": [prices.version] * k,
        "extra": cols["extra"],
        "privacy": ["full"] * k,
    })


def write_samples(out_dir: str | Path, *, n_bandit: int = 20_000, n_full: int = 10_000, seed: int = 0,
                  progress: Callable[[int, int], None] | None = None) -> dict[str, int]:
    """Write sim-drift-bandit.parquet and sim-drift-full.parquet into `out_dir`; returns rows per file."""
    from workbench.store import open_store
    from workbench.store.outcomes import OutcomeSet, conform
    from workbench.store.transfer import TrajectorySet

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    source = f"clawft-workbench samples (seed {seed})"
    notes_b = (f"{n_bandit} simulated requests, epsilon-greedy 0.2 over 3 models per task type; outage of "
               f"openai/gpt-4o-mini at requests {OUTAGE[0]}-{OUTAGE[1]}; groq/llama-3.1-8b triage quality -0.3 "
               f"from request {DRIFT_AT}")
    notes_f = f"{n_full} simulated prompts x {len(DEFAULT_PROFILES)} fleet models, same drift and outage"
    trajectories = bandit_trajectories(n_bandit, seed, progress=progress)
    table = fullinfo_table(n_full, seed)
    counts: dict[str, int] = {}
    with open_store(":memory:", seed_samples=False) as store:
        store.ingest([
            TrajectorySet(trajectories, "bandit", source, notes_b),
            OutcomeSet(FULL_LOG, conform(table, "simulated outcomes", log=FULL_LOG), source, notes_f),
        ])
        counts[BANDIT_LOG] = store.export_log(BANDIT_LOG, "parquet", out / f"{BANDIT_LOG}.parquet")
        counts[FULL_LOG] = store.export_log(FULL_LOG, "parquet", out / f"{FULL_LOG}.parquet")
    return counts
