"""Trajectory store speed: enqueue latency, live writer ingest, bulk import ingest; a table of figures vs goals.

    python benchmarks/bench_store.py [--quick]

Definitions (the issue's goals: >= 200k trajectories/s ingest, <= 5 us enqueue):
- enqueue: one `store.append(t)` call on the caller's thread (the hot path), measured call by call while the
  writer thread runs; p50 / p99 / mean.
- live ingest: trajectories/s through the writer thread end to end: from the first append to `flush()` returning
  with every row committed (privacy, Arrow columns, canonical JSON, SHA-256 chain, DuckDB insert), file-backed.
- writer stages: the same work split into prepare (privacy + columns + canonical JSON + hash) and insert.
- bulk import (trajectories): a Parquet file of trajectories into a fresh store in one transaction (read,
  validate every row, re-chain the witness).
- bulk import (outcomes): the shipped RouteLLM MMLU sample (28,074 outcome rows) into a fresh store.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from workbench.domain import (  # noqa: E402
    AssembledContext,
    Attempt,
    Candidate,
    ChatRequest,
    LlmResponse,
    Message,
    QualityScore,
    RoutingDecision,
    TaskProfile,
    Trajectory,
    Usage,
)
from workbench.store import open_store  # noqa: E402
from workbench.store.samples import samples_dir  # noqa: E402
from workbench.store.witness import append_chained, prepare  # noqa: E402

ENQUEUE_GOAL_US = 5.0
INGEST_GOAL = 200_000.0


def trajectory(i: int) -> Trajectory:
    """A realistic live trajectory: two messages, three candidates, two attempts, a scored response."""
    prompt = f"Summarise incident report #{i} in three bullet points, with the customer impact first."
    messages = (Message("system", "You are a concise SRE assistant."), Message("user", prompt))
    return Trajectory(
        trajectory_id=f"bench-{i:08d}",
        created_at=1_732_400_000.0 + i * 0.01,
        pipeline_id="analysis",
        config_hash="9f2c41aa0b1c2d3e",
        request=ChatRequest(messages=messages, metadata={"user": "u-17"}, max_output_tokens=512),
        profile=TaskProfile(
            task_type="analysis",
            complexity=0.62,
            factors={"token_count": 0.2, "reasoning": 0.8, "domain": 0.55, "ambiguity": 0.1},
            confidence=0.87,
            explanation="asks for a structured summary",
        ),
        decision=RoutingDecision(
            model="anthropic/claude-sonnet-4",
            strategy="tier",
            candidates=(
                Candidate("anthropic/claude-sonnet-4", 0.91, 0.8),
                Candidate("openai/gpt-4o-mini", 0.74, 0.2),
                Candidate("groq/llama-3.1-8b", 0.2, 0.0, "context window too small"),
            ),
            propensity=0.8,
            explored=i % 10 == 0,
            uncertainty=0.12,
            reason="premium tier, best expected quality",
            fallbacks=("openai/gpt-4o-mini",),
            tier="premium",
        ),
        context=AssembledContext(messages=messages, tokens=48, budget=8000),
        response=LlmResponse(
            text="- Impact: 14 min checkout outage\n- Cause: expired certificate\n- Fix: automated rotation",
            served_model="anthropic/claude-sonnet-4",
            status="ok",
            usage=Usage(48, 31),
            cost_usd=0.000609,
            price_version="curated-2026-11-01",
            ttft_ms=212.5,
            latency_ms=1480.25,
            attempts=(
                Attempt("anthropic/claude-sonnet-4", "http_429", 95.0, 429, 2.5, "rate limited"),
                Attempt("anthropic/claude-sonnet-4", "ok", 1380.0, 200),
            ),
        ),
        quality=QualityScore(0.9, 0.95, 0.7, 0.88, 1.0, 0.86, "heuristic"),
        reward=0.79,
        reward_source="heuristic",
    )


def percentile(sorted_values: list[float], q: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer trajectories (a smoke run, noisier figures)")
    args = parser.parse_args(argv)
    n = 20_000 if args.quick else 100_000
    ts = [trajectory(i) for i in range(n)]
    rows: list[tuple[str, str, str, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)

        # enqueue latency and live ingest, together: the writer runs while the caller appends.
        store = open_store(folder / "live.duckdb", batch_size=5000)
        clock = time.perf_counter_ns
        lat: list[float] = []
        append = store.append
        started = time.perf_counter()
        for t in ts:
            c0 = clock()
            append(t)
            lat.append((clock() - c0) / 1000)
        enqueued = time.perf_counter()
        store.flush()
        flushed = time.perf_counter()
        assert store.count() == n
        store.close()
        lat.sort()
        mean = sum(lat) / n
        rows.append(("enqueue p50", f"{percentile(lat, 0.5):.2f} us", f"<= {ENQUEUE_GOAL_US:.0f} us",
                     _verdict(percentile(lat, 0.5) <= ENQUEUE_GOAL_US)))
        rows.append(("enqueue p99", f"{percentile(lat, 0.99):.2f} us", f"<= {ENQUEUE_GOAL_US:.0f} us",
                     _verdict(percentile(lat, 0.99) <= ENQUEUE_GOAL_US)))
        rows.append(
            ("enqueue mean", f"{mean:.2f} us", f"<= {ENQUEUE_GOAL_US:.0f} us", _verdict(mean <= ENQUEUE_GOAL_US))
        )
        rate = n / (flushed - started)
        rows.append(("live ingest (append -> committed)", f"{rate:,.0f} /s", f">= {INGEST_GOAL:,.0f} /s",
                     _verdict(rate >= INGEST_GOAL)))
        rows.append(("  of which appending took", f"{(enqueued - started) * 1e3:,.0f} ms", "", ""))

        # The writer's work split in two, on one thread, to show where the time goes.
        import duckdb

        from workbench.store.migrations import migrate

        con = duckdb.connect(str(folder / "stages.duckdb"))
        migrate(con, "stages")
        t0 = time.perf_counter()
        batches = [prepare(ts[i : i + 5000], "full") for i in range(0, n, 5000)]
        t1 = time.perf_counter()
        for batch in batches:
            con.begin()
            append_chained(con, batch)
            con.commit()
        t2 = time.perf_counter()
        con.close()
        rows.append(("  writer: prepare (privacy, Arrow, canonical JSON, sha256)", f"{n / (t1 - t0):,.0f} /s",
                     "", f"{(t1 - t0) / n * 1e6:.1f} us/row"))
        rows.append(("  writer: chain + DuckDB insert", f"{n / (t2 - t1):,.0f} /s", "",
                     f"{(t2 - t1) / n * 1e6:.1f} us/row"))

        # Bulk import of trajectories from Parquet.
        with open_store(folder / "live.duckdb") as src:
            src.export_log("live", "parquet", folder / "live.parquet")
        with open_store(folder / "bulk.duckdb") as dst:
            t0 = time.perf_counter()
            dst.import_files("parquet", [folder / "live.parquet"], name="bulk")
            t1 = time.perf_counter()
            assert dst.count("bulk") == n
        rate = n / (t1 - t0)
        rows.append(("bulk import, trajectories (Parquet)", f"{rate:,.0f} /s", f">= {INGEST_GOAL:,.0f} /s",
                     _verdict(rate >= INGEST_GOAL)))

        # Bulk import of full-information outcome rows.
        sample = (samples_dir() or ROOT / "sample_logs") / "routellm-mmlu.parquet"
        with open_store(folder / "outcomes.duckdb") as dst:
            t0 = time.perf_counter()
            (report,) = dst.import_files("parquet", [sample])
            t1 = time.perf_counter()
        rate = report.rows / (t1 - t0)
        rows.append(("bulk import, outcomes (RouteLLM MMLU, 28k rows)", f"{rate:,.0f} /s", f">= {INGEST_GOAL:,.0f} /s",
                     _verdict(rate >= INGEST_GOAL)))

    width = max(len(r[0]) for r in rows)
    print(f"{'figure':<{width}}  {'measured':>14}  {'goal':>14}  note")
    for name, value, goal, note in rows:
        print(f"{name:<{width}}  {value:>14}  {goal:>14}  {note}")
    print(f"\n{n:,} trajectories; {'--quick' if args.quick else 'full'} run")
    return 0


def _verdict(ok: bool) -> str:
    return "meets goal" if ok else "MISSES goal"


if __name__ == "__main__":
    raise SystemExit(main())
