"""Replay throughput per pipeline kind and peak RSS, against the issue's goals.

    python benchmarks/bench_replay.py [--quick]

Stateless-vectorised: a baseline policy's choices evaluated exactly over a synthetic full-information log in
1M-row batches (numpy gathers; memory bounded by the batch). Static pipeline: a real config whose routers are all
`static`, decided by workbench.replay.vectorised -- first replay (classification per prompt, then numpy), then
with the per-prompt features cached (numpy only). Cost-based pipeline: the sim config routed prompt by prompt
through build_pipeline (its strategy router reads fleet state, so it is not vectorised). Learning: the same with
outcomes fed back (latency-based).
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from typing import Any

import numpy as np
import polars as pl

from workbench.config import parse_config
from workbench.pipeline.build import build_pipeline
from workbench.replay.curves import curve_fullinfo
from workbench.replay.engine import OfflineTransport, PolicySpec, replay_fullinfo
from workbench.replay.fullinfo import FullInfoLog, evaluate
from workbench.replay.loader import fullinfo_from_frame
from workbench.replay.vectorised import decide_vectorised
from workbench.sim.traffic import fullinfo_table, sim_config_dict


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def stateless_vectorised(total: int, batch: int = 1_000_000) -> float:
    rng = np.random.default_rng(0)
    start = time.perf_counter()
    done = 0
    while done < total:
        n = min(batch, total - done)
        q = rng.random((n, 2))
        log = FullInfoLog("bench", [""] * n, [""] * n, ["a", "b"], q,
                          np.full((n, 2), 0.001), np.full((n, 2), 100.0))
        choice = (q[:, 0] < 0.5).astype(np.int64)  # a threshold router decided over the whole batch at once
        evaluate(log, "threshold", choice)
        done += n
    return total / (time.perf_counter() - start)


def tiled(log: FullInfoLog, times: int) -> FullInfoLog:
    """The log repeated `times` over (distinct ids), for figures that need more rows than the simulator makes fast."""
    return FullInfoLog(
        f"{log.name}-x{times}", [f"{i}:{p}" for i in range(times) for p in log.prompt_ids], log.prompts * times,
        log.models, np.tile(log.quality, (times, 1)), np.tile(log.cost, (times, 1)), np.tile(log.latency, (times, 1)),
        log.task_types * times,
    )


def static_pipeline(log: FullInfoLog, cfg: dict[str, Any]) -> tuple[float, float, float]:
    """(first replay, cached decisions, cached decisions + exact evaluation) in rows/s for an all-static config."""
    data = {**cfg, "pipelines": {k: {**v, "router": "static"} for k, v in cfg["pipelines"].items()}}
    registry = build_pipeline(parse_config(data), transport=OfflineTransport(), seed=0)
    t = time.perf_counter()
    assert decide_vectorised(registry, log) is not None
    first = log.n / (time.perf_counter() - t)
    reps = 5
    t = time.perf_counter()
    for _ in range(reps):
        decide_vectorised(registry, log)
    cached = reps * log.n / (time.perf_counter() - t)
    t = time.perf_counter()
    for _ in range(reps):
        out = decide_vectorised(registry, log)
        assert out is not None
        evaluate(log, "static", out[0], out[1])
    evaluated = reps * log.n / (time.perf_counter() - t)
    return first, cached, evaluated


def run(quick: bool = False) -> dict[str, Any]:
    total = 2_000_000 if quick else 10_000_000
    df = pl.from_arrow(fullinfo_table(1_000 if quick else 3_000, seed=9))
    assert isinstance(df, pl.DataFrame)
    log = fullinfo_from_frame("bench", df)
    static_cfg = sim_config_dict()
    static_cfg["routing"]["exploration"] = {"mode": "off"}
    static_cfg["transport"] = {}
    learning_cfg = {**static_cfg, "pipelines": {k: {**v, "router": "latency-based"}
                                                for k, v in static_cfg["pipelines"].items()}}
    static = PolicySpec("static", config=parse_config(static_cfg))
    learning = PolicySpec("latency", config=parse_config(learning_cfg))
    vec = stateless_vectorised(total)
    first, cached, evaluated = static_pipeline(tiled(log, 100 if quick else 300), static_cfg)
    t = time.perf_counter()
    replay_fullinfo(log, [static])
    pipe = log.n / (time.perf_counter() - t)
    t = time.perf_counter()
    curve_fullinfo(log, learning)
    learn = log.n / (time.perf_counter() - t)
    return {
        "replay_rows_per_s_stateless": vec,
        "replay_rows_per_s_stateless_pipeline": pipe,
        "replay_rows_per_s_static_first": first,
        "replay_rows_per_s_static_cached": cached,
        "replay_rows_per_s_static_cached_evaluated": evaluated,
        "replay_rows_per_s_learning": learn,
        "replay_peak_rss_mb": _rss_mb(),
        "rows_vectorised": total,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    r = run(parser.parse_args().quick)
    rows = [
        ("stateless, vectorised (rows/s)", r["replay_rows_per_s_stateless"], ">= 2,000,000"),
        ("static pipeline, first replay (rows/s)", r["replay_rows_per_s_static_first"], ">= 2,000,000"),
        ("static pipeline, cached features (rows/s)", r["replay_rows_per_s_static_cached"], ">= 2,000,000"),
        ("  + exact evaluation (rows/s)", r["replay_rows_per_s_static_cached_evaluated"], ">= 2,000,000"),
        ("cost-based pipeline, per prompt (rows/s)", r["replay_rows_per_s_stateless_pipeline"], ">= 2,000,000"),
        ("learning pipeline (rows/s)", r["replay_rows_per_s_learning"], ">= 100,000"),
        (f"peak RSS after {r['rows_vectorised']:,} rows (MB)", r["replay_peak_rss_mb"], "<= 1024"),
    ]
    print(f"{'figure':<46} {'measured':>14}  goal")
    for name, value, goal in rows:
        print(f"{name:<46} {value:>14,.0f}  {goal}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
