"""Replay throughput per pipeline kind and peak RSS, against the issue's goals (see workbench/bench/replay.py).

    python benchmarks/bench_replay.py [--quick]
"""

from __future__ import annotations

import argparse
import sys

from workbench.bench.replay import run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2M rows instead of 10M; shorter learning runs")
    r = run(parser.parse_args().quick)
    s, k, learn = r["stateless"], r["stateless_kinds"], r["learning"]
    rows: list[tuple[str, float, str]] = [
        (f"stateless, classification reused ({s['rows']:,} rows)", r["replay_rows_per_s_stateless"]["value"],
         r["replay_rows_per_s_stateless"]["goal"]),
        ("stateless, first replay (classifies every prompt)", r["stateless_first_replay_rows_per_s"]["value"],
         r["stateless_first_replay_rows_per_s"]["goal"]),
    ]
    for kind, d in k.items():
        rows.append((f"  {kind}: first replay ({d['rows']:,} rows)", d["first_replay_rows_per_s"], ""))
        rows.append((f"  {kind}: classification reused", d["classification_reused_rows_per_s"], ""))
    for block, d in learn["blocks"].items():
        mark = " (default)" if int(block) == learn["default_block"] else ""
        goal = r["replay_rows_per_s_learning"]["goal"] if mark else ""
        rows.append((f"sona learning, blocks of {block}{mark} ({learn['rows']:,} rows)", d["rows_per_s"], goal))
    rows.append((f"sona learning, event by event ({learn['sequential']['rows']:,} rows)",
                 learn["sequential"]["rows_per_s"], ""))
    rows.append((f"peak RSS, {int(r['rss']['rows']):,} rows in a child (MB)", r["replay_peak_rss_mb"]["value"],
                 r["replay_peak_rss_mb"]["goal"]))
    print(f"{'figure':<58} {'measured':>14}  goal")
    for name, value, goal in rows:
        print(f"{name:<58} {value:>14,.0f}  {goal}")
    for kind, d in k.items():
        print(f"path ({kind}): {'; '.join(d['path'])}")
    print("learning mean reward per block: " + ", ".join(
        f"{b}: {d['mean_reward']:.4f}" for b, d in learn["blocks"].items())
        + f"; event by event: {learn['sequential']['mean_reward']:.4f} on its first {learn['sequential']['rows']:,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
