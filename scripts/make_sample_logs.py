"""Regenerate the simulated sample logs (sim-drift-bandit, sim-drift-full) in sample_logs/; seeded, so identical.

    python scripts/make_sample_logs.py [--out sample_logs] [--seed 0] [--bandit 20000] [--full 10000]

Same as `clawft-workbench samples --out sample_logs`.
"""

from __future__ import annotations

import argparse
import sys

from workbench.sim.traffic import write_samples


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="sample_logs")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--bandit", type=int, default=20_000, help="requests in the bandit log")
    parser.add_argument("--full", type=int, default=10_000, help="prompts in the full-information log")
    args = parser.parse_args()
    counts = write_samples(args.out, n_bandit=args.bandit, n_full=args.full, seed=args.seed,
                           progress=lambda d, t: print(f"\r{d}/{t} requests", end="", file=sys.stderr))
    print(file=sys.stderr)
    for log, rows in counts.items():
        print(f"{log}: {rows} rows")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
