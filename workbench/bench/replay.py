"""Replay throughput per pipeline kind and peak memory, against the issue's goals.

`benchmarks/bench_replay.py [--quick]` prints the table; `clawft-workbench bench` reports the three headline
figures. What each one includes:

- `replay_rows_per_s_stateless`: a cost-based pipeline (the simulated config, exploration off) over a log of
  distinct prompts streamed from Parquet in Arrow batches: read, classify, decide (vectorised), exact evaluation
  of that one pipeline. The log carries its prompts' cue counts (written with them, as `write_wide_parquet` does
  when given the config's cue set: recording costs ~1-5 us a prompt once, reported beside), so classification
  reads counts, not text; no in-process reuse (the feature cache is cleared before each run). Beside it:
  `stateless_from_text_rows_per_s`, the same replay of the same log written without counts, which classifies
  every prompt from its text, each pipeline kind (static, cost-based, tier) both ways, and the in-process reuse
  figure of an earlier release.
- `replay_rows_per_s_learning`: the sona pipeline (every task type) replayed with outcomes fed back over the
  drift sample log repeated, in blocks of the default size (each block decided with the learners' state at its
  start), the log carrying its cue counts; the same from text, other block sizes and the event-by-event replay
  are beside it.
- `replay_peak_rss_mb`: a child process replays 10M rows (2M with --quick) from Parquet through a cost-based
  pipeline with oracle and random beside it; its own peak RSS (VmHWM of its address space) is the figure.
"""

from __future__ import annotations

import dataclasses
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
import polars as pl

from workbench.bench.figures import at_least, at_most
from workbench.config import WorkbenchConfig
from workbench.replay.batched_curves import DEFAULT_BLOCK, curve_batched
from workbench.replay.cue_features import CueColumns, CueSet, record
from workbench.replay.curves import curve_fullinfo
from workbench.replay.engine import PolicySpec
from workbench.replay.fullinfo import FullInfoLog
from workbench.replay.loader import sample_fullinfo
from workbench.replay.stream import replay_source, source_from_parquet
from workbench.replay.tune import shard
from workbench.replay.vectorised import clear_cache
from workbench.sim.big import write_distinct_log
from workbench.sim.traffic import FULL_LOG, one_router_config

STATELESS_GOAL = 2_000_000.0
LEARNING_GOAL = 100_000.0
RSS_GOAL_MB = 1024.0


def config(router: str, **pipeline: Any) -> WorkbenchConfig:
    """The simulated fleet's config with every task type on `router`, exploration off, no outage schedule."""
    return one_router_config(router, **pipeline)


def _rate(rows: int, seconds: float) -> float:
    return rows / seconds if seconds > 0 else float("inf")


def _replay_rate(path: Path, spec: PolicySpec, rows: int) -> tuple[float, tuple[str, ...]]:
    """Rows/s of one replay of the file with nothing reused from an earlier one (feature cache cleared)."""
    clear_cache()
    t = time.perf_counter()
    result = replay_source(source_from_parquet(path), [spec], baselines=False)[0]
    return _rate(rows, time.perf_counter() - t), result.notes


def stateless(plain: Path, recorded: Path, rows: int, kinds_rows: int, repeats: int,
              ) -> tuple[dict[str, Any], dict[str, Any]]:
    """(headline detail for the cost-based pipeline, per-kind detail)."""
    cost = PolicySpec("cost-based", config=config("cost-based"))
    runs = [_replay_rate(recorded, cost, rows) for _ in range(repeats)]
    from_text, text_notes = _replay_rate(plain, cost, rows)
    # The in-process reuse of an earlier release: the same replay again, features cached from the last one.
    t = time.perf_counter()
    replay_source(source_from_parquet(plain), [cost], baselines=False)
    reused = _rate(rows, time.perf_counter() - t)
    head = {"recorded": statistics.median(r for r, _ in runs), "runs": [r for r, _ in runs], "from_text": from_text,
            "reused": reused, "notes": list(runs[0][1]), "text_notes": list(text_notes)}
    kinds: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="clawft-bench-kinds-") as tmp:
        part, part_cues = Path(tmp) / "kinds.parquet", Path(tmp) / "kinds-cues.parquet"
        write_distinct_log(part, kinds_rows)
        write_distinct_log(part_cues, kinds_rows, CueSet.of_routing(config("static").routing))
        for kind, cfg in (("static", config("static")), ("cost-based", config("cost-based")),
                          ("tier", config("tier", classifier="complexity"))):
            spec = PolicySpec(kind, config=cfg)
            text, _ = _replay_rate(part, spec, kinds_rows)
            counts, notes = _replay_rate(part_cues, spec, kinds_rows)
            kinds[kind] = {"rows": kinds_rows, "recorded_counts_rows_per_s": round(counts),
                           "from_text_rows_per_s": round(text), "path": list(notes)}
    return head, kinds


def tiled(log: FullInfoLog, times: int) -> FullInfoLog:
    """The log repeated `times` over, for learning figures longer than the sample (its cue counts too)."""
    cues = None
    if log.cues is not None:
        c = log.cues
        cues = CueColumns(c.cues, np.tile(c.counts, (times, 1)), np.tile(c.distinct, (times, 1)),
                          np.tile(c.words, times), np.tile(c.scalar, times))
    return FullInfoLog(
        f"{log.name}-x{times}", [f"{i}:{p}" for i in range(times) for p in log.prompt_ids], list(log.prompts) * times,
        log.models, np.tile(log.quality, (times, 1)), np.tile(log.cost, (times, 1)), np.tile(log.latency, (times, 1)),
        list(log.task_types) * times, cues=cues,
    )


def learning(rows: int, sequential_rows: int) -> dict[str, Any]:
    base = sample_fullinfo(FULL_LOG)
    if base is None:
        raise FileNotFoundError(f"the shipped sample log {FULL_LOG} is missing")
    spec = PolicySpec("sona", config=config("sona", learner="sona"))
    assert spec.config is not None
    t = time.perf_counter()
    counted = dataclasses.replace(base, cues=record(CueSet.of_routing(spec.config.routing),
                                                    pl.Series(list(base.prompts), dtype=pl.String)))
    record_rate = _rate(base.n, time.perf_counter() - t)
    times = max(1, rows // base.n)
    log, text_log = tiled(counted, times), tiled(base, times)
    out: dict[str, Any] = {"rows": log.n, "blocks": {}, "record_cue_counts_rows_per_s": round(record_rate)}
    for block in sorted({256, DEFAULT_BLOCK, 4096}):
        t = time.perf_counter()
        curve = curve_batched(log, spec, block=block)
        dt = time.perf_counter() - t
        assert curve is not None
        out["blocks"][str(block)] = {"rows_per_s": round(_rate(log.n, dt)),
                                     "mean_reward": round(float(curve.reward.mean()), 5)}
    t = time.perf_counter()
    curve = curve_batched(text_log, spec, block=DEFAULT_BLOCK)
    out["from_text"] = {"block": DEFAULT_BLOCK, "rows_per_s": round(_rate(text_log.n, time.perf_counter() - t))}
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
            "peak_rss_mb": own_peak_rss_mb()}


def own_peak_rss_mb() -> float:
    """This process's peak resident set since it exec'd. Not ru_maxrss: Linux carries that across execve from the
    address space being replaced, so a child spawned (vfork) by a large parent reports the parent's peak."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # elsewhere: kB on Linux/BSD


def peak_rss(path: Path) -> dict[str, float]:
    proc = subprocess.run([sys.executable, "-m", "workbench.bench.replay", "--rss-child", str(path)],
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"the RSS child failed: {proc.stderr.strip()[-500:]}")
    got: dict[str, float] = json.loads(proc.stdout.strip().splitlines()[-1])
    return got


def run(quick: bool = False) -> dict[str, Any]:
    rows = 2_000_000 if quick else 10_000_000
    cues = CueSet.of_routing(config("cost-based").routing)
    with tempfile.TemporaryDirectory(prefix="clawft-bench-replay-") as tmp:
        plain, recorded = Path(tmp) / "distinct.parquet", Path(tmp) / "distinct-cues.parquet"
        t = time.perf_counter()
        write_distinct_log(plain, rows)
        written_s = time.perf_counter() - t
        t = time.perf_counter()
        write_distinct_log(recorded, rows, cues)
        written_cues_s = time.perf_counter() - t
        head, kinds = stateless(plain, recorded, rows, 500_000 if quick else 2_000_000, 3)
        rss = peak_rss(recorded)
    learn = learning(200_000 if quick else 1_000_000, 1_000 if quick else 3_000)
    learn_default = float(learn["blocks"][str(DEFAULT_BLOCK)]["rows_per_s"])
    return {
        "replay_rows_per_s_stateless": at_least(head["recorded"], STATELESS_GOAL, "rows/s"),
        "replay_rows_per_s_learning": at_least(learn_default, LEARNING_GOAL, "rows/s"),
        "replay_peak_rss_mb": at_most(rss["peak_rss_mb"], RSS_GOAL_MB, "MB"),
        "stateless_from_text_rows_per_s": at_least(head["from_text"], STATELESS_GOAL, "rows/s"),
        "learning_from_text_rows_per_s": at_least(float(learn["from_text"]["rows_per_s"]), LEARNING_GOAL, "rows/s"),
        "stateless": {
            "rows": rows, "distinct_prompts": rows, "pipeline": "cost-based (simulated config, exploration off)",
            "includes": "Parquet read, classification, decisions, exact evaluation of the one pipeline",
            "classification": "from the cue counts the log carries (no in-process reuse: feature cache cleared); "
                              "stateless_from_text_rows_per_s classifies every prompt from its text",
            "runs_rows_per_s": [round(r) for r in head["runs"]], "path": head["notes"],
            "from_text_path": head["text_notes"],
            "reused_in_process_rows_per_s": round(head["reused"]),
            "log_written_s": round(written_s, 2),
            "log_with_cue_counts_written_s": round(written_cues_s, 2),
            "record_cue_counts_rows_per_s": round(rows / max(1e-9, written_cues_s - written_s)),
        },
        "stateless_kinds": kinds,
        "learning": {**learn, "default_block": DEFAULT_BLOCK, "pipeline": "sona (MicroLoRA, BaseLoRA, EWC++) on every "
                     "task type; the ReasoningBank is left out (no pattern router reads it)",
                     "log": f"{FULL_LOG} repeated, carrying its cue counts (recorded once, rate beside)",
                     "classification": "from recorded cue counts; learning_from_text_rows_per_s scans the text"},
        "rss": {**rss, "includes": "cost-based pipeline + oracle + random over the log with cue counts, streamed in "
                                   "Arrow batches of 131,072"},
    }


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--rss-child":
        print(json.dumps(rss_child(Path(sys.argv[2]))))
    else:
        print(json.dumps(run("--quick" in sys.argv), indent=2))
