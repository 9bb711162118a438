"""Replay throughput per pipeline kind and peak memory, against the issue's goals.

`benchmarks/bench_replay.py [--quick]` prints the table; `clawft-workbench bench` reports the three headline
figures. What each one includes:

- `replay_rows_per_s_stateless`: a cost-based pipeline (the simulated config, exploration off) over a log of
  distinct prompts streamed from Parquet in Arrow batches: read, decide (vectorised), exact evaluation of that one
  pipeline. Classification is reused from an earlier replay of the same log with the identical classifier config
  (content-hashed per batch); the first replay, which classifies every prompt, is reported beside it with the
  same goal, and each pipeline kind (static, cost-based, tier) both ways.
- `replay_rows_per_s_learning`: the sona pipeline (every task type) replayed with outcomes fed back over the
  drift sample log repeated, in blocks of the default size (each block decided with the learners' state at its
  start); other block sizes and the event-by-event replay are beside it. Classification is counted.
- `replay_peak_rss_mb`: a child process replays 10M rows (2M with --quick) from Parquet through a cost-based
  pipeline with oracle and random beside it; its own peak RSS (ru_maxrss) is the figure.
"""

from __future__ import annotations

import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from workbench.bench.figures import Figure, at_least, at_most
from workbench.config import WorkbenchConfig, parse_config
from workbench.replay.batched_curves import DEFAULT_BLOCK, curve_batched
from workbench.replay.curves import curve_fullinfo
from workbench.replay.engine import PolicySpec
from workbench.replay.fullinfo import FullInfoLog
from workbench.replay.loader import sample_fullinfo
from workbench.replay.stream import replay_source, source_from_parquet
from workbench.replay.tune import shard
from workbench.replay.vectorised import clear_cache
from workbench.sim.big import write_distinct_log
from workbench.sim.traffic import FULL_LOG, sim_config_dict

STATELESS_GOAL = 2_000_000.0
LEARNING_GOAL = 100_000.0
RSS_GOAL_MB = 1024.0


def config(router: str, **pipeline: Any) -> WorkbenchConfig:
    """The simulated fleet's config with every task type on `router`, exploration off, no outage schedule."""
    data = sim_config_dict()
    data["routing"]["exploration"] = {"mode": "off"}
    data["transport"] = {}
    for p in data["pipelines"].values():
        p["router"] = router
        p.update(pipeline)
    return parse_config(data, f"bench:{router}")


def _rate(rows: int, seconds: float) -> float:
    return rows / seconds if seconds > 0 else float("inf")


def stateless(path: Path, rows: int, kinds_rows: int, repeats: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """(headline detail for the cost-based pipeline, per-kind detail)."""
    cost = PolicySpec("cost-based", config=config("cost-based"))
    clear_cache()
    t = time.perf_counter()
    first = replay_source(source_from_parquet(path), [cost], baselines=False)[0]
    first_rate = _rate(rows, time.perf_counter() - t)
    reused = []
    for _ in range(repeats):
        t = time.perf_counter()
        replay_source(source_from_parquet(path), [cost], baselines=False)
        reused.append(_rate(rows, time.perf_counter() - t))
    head = {"first": first_rate, "reused": statistics.median(reused), "runs": reused, "notes": list(first.notes),
            "quality": first.quality.mean}
    kinds: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="clawft-bench-kinds-") as tmp:
        part = Path(tmp) / "kinds.parquet"
        write_distinct_log(part, kinds_rows)
        for kind, cfg in (("static", config("static")), ("cost-based", config("cost-based")),
                          ("tier", config("tier", classifier="complexity"))):
            spec = PolicySpec(kind, config=cfg)
            clear_cache()
            t = time.perf_counter()
            res = replay_source(source_from_parquet(part), [spec], baselines=False)[0]
            one = _rate(kinds_rows, time.perf_counter() - t)
            t = time.perf_counter()
            replay_source(source_from_parquet(part), [spec], baselines=False)
            two = _rate(kinds_rows, time.perf_counter() - t)
            kinds[kind] = {"rows": kinds_rows, "first_replay_rows_per_s": round(one),
                           "classification_reused_rows_per_s": round(two), "path": list(res.notes)}
    return head, kinds


def tiled(log: FullInfoLog, times: int) -> FullInfoLog:
    """The log repeated `times` over, for learning figures longer than the sample."""
    return FullInfoLog(
        f"{log.name}-x{times}", [f"{i}:{p}" for i in range(times) for p in log.prompt_ids], list(log.prompts) * times,
        log.models, np.tile(log.quality, (times, 1)), np.tile(log.cost, (times, 1)), np.tile(log.latency, (times, 1)),
        list(log.task_types) * times,
    )


def learning(rows: int, sequential_rows: int) -> dict[str, Any]:
    base = sample_fullinfo(FULL_LOG)
    if base is None:
        raise FileNotFoundError(f"the shipped sample log {FULL_LOG} is missing")
    log = tiled(base, max(1, rows // base.n))
    spec = PolicySpec("sona", config=config("sona", learner="sona"))
    out: dict[str, Any] = {"rows": log.n, "blocks": {}}
    for block in sorted({256, DEFAULT_BLOCK, 4096}):
        t = time.perf_counter()
        curve = curve_batched(log, spec, block=block)
        dt = time.perf_counter() - t
        assert curve is not None
        out["blocks"][str(block)] = {"rows_per_s": round(_rate(log.n, dt)),
                                     "mean_reward": round(float(curve.reward.mean()), 5)}
    short = shard(base, sequential_rows)
    assert isinstance(short, FullInfoLog)
    t = time.perf_counter()
    seq = curve_fullinfo(short, spec)
    out["sequential"] = {"rows": short.n, "rows_per_s": round(_rate(short.n, time.perf_counter() - t)),
                         "mean_reward": round(float(seq.reward.mean()), 5)}
    return out


def rss_child(path: Path) -> dict[str, float]:
    """Run in a fresh process: replay the Parquet log with oracle and random beside; report own peak RSS."""
    spec = PolicySpec("cost-based", config=config("cost-based"))
    source = source_from_parquet(path)
    t = time.perf_counter()
    results = replay_source(source, [spec])
    return {"rows": float(results[0].n), "seconds": time.perf_counter() - t,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0}


def peak_rss(path: Path) -> dict[str, float]:
    proc = subprocess.run([sys.executable, "-m", "workbench.bench.replay", "--rss-child", str(path)],
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"the RSS child failed: {proc.stderr.strip()[-500:]}")
    got: dict[str, float] = json.loads(proc.stdout.strip().splitlines()[-1])
    return got


def run(quick: bool = False) -> dict[str, Any]:
    rows = 2_000_000 if quick else 10_000_000
    with tempfile.TemporaryDirectory(prefix="clawft-bench-replay-") as tmp:
        path = Path(tmp) / "distinct.parquet"
        t = time.perf_counter()
        write_distinct_log(path, rows)
        written_s = time.perf_counter() - t
        head, kinds = stateless(path, rows, 500_000 if quick else 2_000_000, 3)
        rss = peak_rss(path)
    learn = learning(200_000 if quick else 1_000_000, 1_000 if quick else 3_000)
    learn_default = float(learn["blocks"][str(DEFAULT_BLOCK)]["rows_per_s"])
    stateless_fig: Figure = at_least(head["reused"], STATELESS_GOAL, "rows/s")
    first_fig: Figure = at_least(head["first"], STATELESS_GOAL, "rows/s")
    return {
        "replay_rows_per_s_stateless": stateless_fig,
        "replay_rows_per_s_learning": at_least(learn_default, LEARNING_GOAL, "rows/s"),
        "replay_peak_rss_mb": at_most(rss["peak_rss_mb"], RSS_GOAL_MB, "MB"),
        "stateless_first_replay_rows_per_s": first_fig,
        "stateless": {
            "rows": rows, "distinct_prompts": rows, "pipeline": "cost-based (simulated config, exploration off)",
            "includes": "Parquet read, decisions, exact evaluation of the one pipeline",
            "classification": "reused from the first replay (same classifier config, content hash per batch); the "
                              "first replay classifies every prompt (stateless_first_replay_rows_per_s)",
            "reused_runs_rows_per_s": [round(r) for r in head["runs"]], "path": head["notes"],
            "log_written_s": round(written_s, 2),
        },
        "stateless_kinds": kinds,
        "learning": {**learn, "default_block": DEFAULT_BLOCK, "pipeline": "sona (MicroLoRA, BaseLoRA, EWC++) on every "
                     "task type; the ReasoningBank is left out (no pattern router reads it)",
                     "log": f"{FULL_LOG} repeated", "classification": "counted (cue scan of every batch)"},
        "rss": {**rss, "includes": "cost-based pipeline + oracle + random, streamed in Arrow batches of 262,144"},
    }


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--rss-child":
        print(json.dumps(rss_child(Path(sys.argv[2]))))
    else:
        print(json.dumps(run("--quick" in sys.argv), indent=2))
