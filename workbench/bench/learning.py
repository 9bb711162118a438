"""Per-update learning costs (MicroLoRA step, full SONA update, consolidation, bandit updates), in microseconds.

`benchmarks/bench_learning.py` prints them as a table with the goal beside each; `clawft-workbench bench` reports
`learning_update_us_p50`: the MicroLoRA update, the per-outcome step the goal is set for.
Timings are per call (perf_counter_ns around each), reported as p50 and p99.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from workbench.bench.figures import Figure, at_most
from workbench.domain import TaskProfile
from workbench.learning.bandits import BanditLearner, LinUCBPolicy, ThompsonPolicy
from workbench.learning.lora import LowRankLinear
from workbench.learning.settings import BanditConfig, LearningConfig
from workbench.learning.sona import SonaLearner, SonaPolicy
from workbench.pipeline.embeddings import HashedEmbedder
from workbench.pipeline.features import REQUEST_DIM, TASK_SLOTS, request_features

MICRO_GOAL_US = 20.0  # the goal: <= 20 us per MicroLoRA update
MODELS = ["openai/gpt-4o-mini", "groq/llama-3.3-70b", "deepseek/deepseek-chat"]


def _timed(calls: int, fn: Callable[[int], object]) -> tuple[float, float]:
    times = np.empty(calls)
    for i in range(calls):
        t0 = time.perf_counter_ns()
        fn(i)
        times[i] = time.perf_counter_ns() - t0
    return float(np.percentile(times, 50)) / 1000.0, float(np.percentile(times, 99)) / 1000.0


def measure(quick: bool = False) -> dict[str, float]:
    """Every figure, in microseconds, keyed `<measure>.p50` / `<measure>.p99`."""
    n = 2000 if quick else 20000
    rng = np.random.default_rng(0)
    xs = [request_features(TaskProfile(task_type=t, complexity=float(c)))
          for t, c in zip(TASK_SLOTS * 8, rng.uniform(0, 1, 8 * len(TASK_SLOTS)), strict=False)]
    rewards = rng.uniform(0.3, 0.9, n)
    rows = rng.integers(len(MODELS), size=n)
    figures: dict[str, float] = {}

    def put(name: str, p: tuple[float, float]) -> None:
        figures[f"{name}.p50"], figures[f"{name}.p99"] = round(p[0], 2), round(p[1], 2)

    lin = LowRankLinear(len(MODELS), REQUEST_DIM, micro_rank=2, base_rank=8, rng=np.random.default_rng(1))

    def micro(i: int) -> None:
        x = xs[i % len(xs)]
        r = int(rows[i])
        lin.step(r, x, float(rewards[i]) - float(lin.W[r] @ x), 0.1 / float(x @ x))

    put("microlora_update_us", _timed(n, micro))

    # A whole SONA update without the bank: micro step, Fisher, shift detector, EWC penalty, consolidation 1/50.
    bare = SonaLearner(MODELS, LearningConfig(), np.random.default_rng(2))
    bare.ewc.boundary(bare.lin.W) if bare.ewc is not None else None  # penalty active, as after a first regime
    put("sona_update_us", _timed(n, lambda i: bare.learn(int(rows[i]), xs[i % len(xs)], float(rewards[i]))))

    embedder = HashedEmbedder()
    prompts = [f"debug the rust module number {i} for a job scheduler" for i in range(64)]
    full = SonaLearner(MODELS, LearningConfig(), np.random.default_rng(3), embedder=embedder)
    put("sona_update_with_bank_us", _timed(n // 4, lambda i: full.learn(
        int(rows[i]), xs[i % len(xs)], float(rewards[i]), prompt=prompts[i % 64], cost=0.001)))

    # Consolidation (BaseLoRA SVD-free fold + ReasoningBank k-means) over a buffer of one period's outcomes.
    every = full.config.consolidate_every
    vectors = embedder.embed_many(prompts)
    times = []
    for _ in range(20 if quick else 100):
        assert full.bank is not None
        for j in range(every):
            full.bank.record(vectors[j % 64], int(rows[j]), float(rewards[j]), 0.001)
        t0 = time.perf_counter_ns()
        full.consolidate()
        times.append(time.perf_counter_ns() - t0)
    put("consolidation_us", (float(np.percentile(times, 50)) / 1000.0, float(np.percentile(times, 99)) / 1000.0))

    mask = np.ones(len(MODELS), dtype=bool)
    for name in ("linucb", "thompson"):
        learner = BanditLearner(name, MODELS, BanditConfig())

        def update(i: int, lrn: BanditLearner = learner) -> None:
            lrn.arms.update(int(rows[i]), xs[i % len(xs)], float(rewards[i]))

        put(f"{name}_update_us", _timed(n, update))
        policy: LinUCBPolicy | ThompsonPolicy = LinUCBPolicy(learner) if name == "linucb" else ThompsonPolicy(learner)

        def score(i: int, p: LinUCBPolicy | ThompsonPolicy = policy) -> None:
            p.evaluate(xs[i % len(xs)], mask, rng)

        put(f"{name}_score_us", _timed(n, score))
    sona_policy = SonaPolicy(bare)
    put("sona_score_us", _timed(n, lambda i: sona_policy.evaluate(xs[i % len(xs)], mask, rng)))
    return figures


GOALS: dict[str, str] = {"microlora_update_us": f"<= {MICRO_GOAL_US:.0f} us (issue 5)"}


def table(figures: dict[str, float]) -> str:
    lines = [f"{'measure':<28}{'p50':>10}{'p99':>10}   goal"]
    for key in sorted({k.rsplit('.', 1)[0] for k in figures}, key=lambda k: (k not in GOALS, k)):
        p50, p99 = figures[f"{key}.p50"], figures[f"{key}.p99"]
        goal = GOALS.get(key, "(measured, no goal)")
        mark = ("  ok" if p50 <= MICRO_GOAL_US else "  MISSED") if key in GOALS else ""
        lines.append(f"{key:<28}{p50:>8.1f}us{p99:>8.1f}us   {goal}{mark}")
    return "\n".join(lines)


def run(quick: bool = False) -> dict[str, Any]:
    figures = measure(quick)
    update: Figure = at_most(figures["microlora_update_us.p50"], MICRO_GOAL_US, "us")
    return {"learning_update_us_p50": update, "detail": figures}
