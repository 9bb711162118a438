"""A large full-information log for throughput and memory figures, written as a wide Parquet file in batches.

Row i carries the outcomes of row i mod n of the simulated full-information log (every fleet model's quality,
cost and latency, with its outage), and that row's prompt with `#i` appended, so every prompt is distinct:
classification cannot be served from a cache of repeated prompts.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import polars as pl

from workbench.replay.cue_features import CueSet
from workbench.replay.fullinfo import FullInfoLog
from workbench.replay.loader import sample_fullinfo
from workbench.replay.stream import BATCH_ROWS, SeriesText, write_wide_parquet
from workbench.sim.traffic import FULL_LOG


def distinct_batches(rows: int, batch: int = BATCH_ROWS, *, name: str = "bench-distinct") -> Iterator[FullInfoLog]:
    base = sample_fullinfo(FULL_LOG)
    if base is None:
        raise FileNotFoundError(f"the shipped sample log {FULL_LOG} is missing; run `clawft-workbench samples`")
    prompts = pl.Series("prompt", list(base.prompts), dtype=pl.String)
    tasks = pl.Series("task", list(base.task_types), dtype=pl.String)
    for start in range(0, rows, batch):
        stop = min(rows, start + batch)
        i = np.arange(start, stop)
        src = i % base.n
        ids = pl.Series("prompt_id", i).cast(pl.String)
        text = prompts.gather(src) + " #" + ids
        yield FullInfoLog(name, SeriesText(ids), SeriesText(text), list(base.models), base.quality[src],
                          base.cost[src], base.latency[src], SeriesText(tasks.gather(src)), base.cost_derived)


def write_distinct_log(path: str | Path, rows: int, cues: CueSet | None = None) -> int:
    """Write `rows` distinct-prompt rows to `path` (wide Parquet), with cue counts for `cues` when given; returns
    the rows written."""
    return write_wide_parquet(distinct_batches(rows), path, cues)


__all__ = ["distinct_batches", "write_distinct_log"]
