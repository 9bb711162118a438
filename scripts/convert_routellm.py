"""Regenerate sample_logs/routellm-*.parquet from the RouteLLM evaluation data (see sample_logs/README.md).

    python scripts/convert_routellm.py [SRC] [--out sample_logs]

SRC defaults to ../shared/data/routellm beside the project (the unmodified RouteLLM files).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("src", nargs="?", default=str(ROOT.parent / "shared" / "data" / "routellm"))
    parser.add_argument("--out", default=str(ROOT / "sample_logs"))
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from workbench.errors import WorkbenchError
    from workbench.store.routellm import convert_routellm

    try:
        for path in convert_routellm(args.src, args.out):
            print(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB)")
    except WorkbenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
