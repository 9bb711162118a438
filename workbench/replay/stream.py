"""Full-information logs read in bounded batches, and exact replay over them in one pass.

A `FullInfoSource` yields the log as successive `FullInfoLog` batches (each with the whole log's model list and
strong/weak pair) from memory, from a Parquet file (Arrow record batches, one row per prompt) or from the store
(pages of the `outcomes` table by `row_index` range, each pivoted to prompt x model). `replay_source` reads each
batch once, decides it for every pipeline and tallies the exact metrics, so memory is bounded by the batch size
plus what the metrics must keep (8 bytes a row per policy for exact latency percentiles).
"""

from __future__ import annotations

import contextlib
import itertools
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, overload

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
from numpy.typing import NDArray

from workbench.errors import BadInputError
from workbench.pipeline.build import build_pipeline
from workbench.replay.columns import text_column
from workbench.replay.cue_features import COLUMNS as CUE_COLUMNS
from workbench.replay.cue_features import METADATA_KEY, CueColumns, CueSet, record, schema_problem
from workbench.replay.engine import OfflineTransport, PolicySpec, Progress, ReplayCancelled
from workbench.replay.fullinfo import (
    NO_OUTCOME,
    FullInfoLog,
    PolicyResult,
    new_tally,
    oracle_choice,
    random_choice,
    tally_result,
)
from workbench.replay.tally import Tally, TaskCodes, task_codes
from workbench.replay.vectorised import prompt_column

if TYPE_CHECKING:
    from workbench.store import TrajectoryStore

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]
BATCH_ROWS = 131_072  # prompts per batch: ~20 MB of outcome arrays for six models, well inside any budget
WIDE_FIELDS = ("quality", "cost_usd", "latency_ms")


class SeriesText(Sequence[str]):
    """A polars string column read as a sequence of str, so a batch never copies its prompts into Python."""

    def __init__(self, series: pl.Series) -> None:
        self.series = text_column(series)

    def __len__(self) -> int:
        return self.series.len()

    @overload
    def __getitem__(self, i: int) -> str: ...

    @overload
    def __getitem__(self, i: slice) -> SeriesText: ...

    def __getitem__(self, i: int | slice) -> str | SeriesText:
        if isinstance(i, slice):
            start, stop, step = i.indices(len(self))
            if step != 1:
                raise ValueError("SeriesText slices must be contiguous")
            return SeriesText(self.series.slice(start, max(0, stop - start)))
        return str(self.series[i])


@dataclass(frozen=True)
class FullInfoSource:
    """A full-information log as batches. `batches()` starts from the first row every time it is called."""

    name: str
    models: list[str]
    batches: Callable[[], Iterator[FullInfoLog]]
    n: int | None = None  # rows, when known up front (progress)
    cost_derived: bool = False
    note: str | None = None


def source_from_log(log: FullInfoLog, batch: int = BATCH_ROWS) -> FullInfoSource:
    def batches() -> Iterator[FullInfoLog]:
        for start in range(0, max(log.n, 1), batch):
            yield log.slice(start, min(log.n, start + batch))

    return FullInfoSource(log.name, list(log.models), batches, log.n, log.cost_derived)


# -- Parquet: one row per prompt, the outcome of each model in its own columns ---------------------------------


def wide_columns(model: str) -> list[str]:
    return [f"{f}:{model}" for f in WIDE_FIELDS]


def write_wide_parquet(batches: Iterator[FullInfoLog], path: str | Path, cues: CueSet | None = None) -> int:
    """Write batches as a wide full-information Parquet file (prompt_id, prompt, task, then quality/cost_usd/
    latency_ms per model, named `field:model`); with `cues`, each prompt's cue counts for that set beside them
    (`cue.*` columns, the set in the schema metadata), so replays with a config of that set never scan the text.
    Returns the rows written."""
    writer: pq.ParquetWriter | None = None
    rows = 0
    try:
        for b in batches:
            cols: dict[str, pa.Array] = {
                "prompt_id": _text(b.prompt_ids), "prompt": _text(b.prompts),
                "task": _text(b.task_types if len(b.task_types) == b.n else [""] * b.n),
            }
            for j, m in enumerate(b.models):
                for f, arr in zip(WIDE_FIELDS, (b.quality, b.cost, b.latency), strict=True):
                    cols[f"{f}:{m}"] = pa.array(np.ascontiguousarray(arr[:, j]))
            if cues is not None:
                held = b.cues if b.cues is not None and b.cues.cues == cues else None
                cols |= (held or record(cues, prompt_column(b.prompts))).arrow_columns()
            table = pa.table(cols)
            if writer is None:
                meta = {b"clawft.log": b.name.encode(), b"clawft.cost_derived": str(b.cost_derived).encode()}
                if cues is not None:
                    meta[METADATA_KEY] = cues.to_json().encode()
                writer = pq.ParquetWriter(str(path), table.schema.with_metadata(meta))
            writer.write_table(table)
            rows += b.n
    finally:
        if writer is not None:
            writer.close()
    return rows


def _text(values: Sequence[str]) -> pa.Array:
    if isinstance(values, SeriesText):
        return values.series.to_arrow()
    return pa.array(list(values), type=pa.large_string())


def source_from_parquet(path: str | Path, batch: int = BATCH_ROWS) -> FullInfoSource:
    """A wide full-information Parquet file (see `write_wide_parquet`), read in record batches of `batch` rows."""
    p = Path(path)
    try:
        meta = pq.ParquetFile(str(p))
    except (OSError, pa.ArrowInvalid) as exc:
        raise BadInputError(f"{p}: not a readable Parquet file ({exc})") from None
    names = meta.schema_arrow.names
    models = [c.split(":", 1)[1] for c in names if c.startswith("quality:")]
    missing = [c for m in models for c in wide_columns(m) if c not in names]
    if not models or "prompt" not in names or missing:
        raise BadInputError(
            f"{p}: not a wide full-information log; expected prompt and quality:/cost_usd:/latency_ms: columns per "
            f"model{' (missing ' + ', '.join(missing[:3]) + ')' if missing else ''}"
        )
    kv = meta.schema_arrow.metadata or {}
    name = kv.get(b"clawft.log", p.stem.encode()).decode()
    derived = kv.get(b"clawft.cost_derived", b"False") == b"True"
    n = meta.metadata.num_rows

    # Recorded cue counts are read only when they are what the set they name says; otherwise replay scans the
    # text (slower, same answers) and the source's note says why.
    cues = CueSet.from_json(kv[METADATA_KEY]) if METADATA_KEY in kv else None
    note = None
    if METADATA_KEY in kv and cues is None:
        note = "cue counts recorded under other rules or unreadable: prompts are classified from their text"
    problem = schema_problem(cues, meta.schema_arrow) if cues is not None else None
    if cues is not None and problem is not None:
        note, cues = f"cue counts ignored ({problem}): prompts are classified from their text", None
    # Replay reads prompts, task types and outcomes; ids stay in the file (a batch numbers its rows instead).
    wanted = ["prompt", *(["task"] if "task" in names else []),
              *(f"{f}:{m}" for f in WIDE_FIELDS for m in models), *(CUE_COLUMNS if cues else ())]

    def read() -> Iterator[FullInfoLog]:
        # Stream the column chunks through a small buffer: with pre-buffering, Arrow keeps the byte ranges it has
        # read cached, and a long log's whole file ends up resident.
        f = pq.ParquetFile(str(p), buffer_size=1 << 20, pre_buffer=False)
        first = 0
        try:
            for rb in f.iter_batches(batch_size=batch, columns=wanted):
                yield _wide_batch(name, rb, models, derived, first, cues)
                first += rb.num_rows
        finally:
            f.close()

    def batches() -> Iterator[FullInfoLog]:
        return read_ahead(read())

    return FullInfoSource(name, models, batches, n, derived, note)


def read_ahead(batches: Iterator[FullInfoLog]) -> Iterator[FullInfoLog]:
    """`batches`, with the next one read on a helper thread while the caller works on the current one: decoding
    (Arrow) and the outcome-matrix copies (numpy) release the GIL, so reading overlaps deciding on a second core.
    At most one batch is read ahead; closing the iterator early stops the reading."""
    with ThreadPoolExecutor(1, thread_name_prefix="read-ahead") as pool:
        ahead = pool.submit(next, batches, None)
        try:
            while True:
                part = ahead.result()
                if part is None:
                    return
                ahead = pool.submit(next, batches, None)
                yield part
        finally:
            ahead.cancel()
            with contextlib.suppress(Exception):
                ahead.result()  # the reader is done with the file before it closes
            closer = getattr(batches, "close", None)
            if closer is not None:
                closer()


class RowIds(Sequence[str]):
    """Row numbers standing in for prompt ids, made only when one is read."""

    def __init__(self, first: int, n: int) -> None:
        self.first, self.n = first, n

    def __len__(self) -> int:
        return self.n

    @overload
    def __getitem__(self, i: int) -> str: ...

    @overload
    def __getitem__(self, i: slice) -> RowIds: ...

    def __getitem__(self, i: int | slice) -> str | RowIds:
        if isinstance(i, slice):
            start, stop, _ = i.indices(self.n)
            return RowIds(self.first + start, max(0, stop - start))
        if not -self.n <= i < self.n:
            raise IndexError(i)
        return str(self.first + (i % self.n))


def _wide_batch(name: str, rb: pa.RecordBatch, models: list[str], derived: bool, first: int,
                cues: CueSet | None = None) -> FullInfoLog:
    n = rb.num_rows

    def matrix(f: str) -> FloatArray:
        # Column-major: each model's column is one contiguous copy out of Arrow (row-major would scatter it).
        out = np.empty((n, len(models)), order="F")
        for j, m in enumerate(models):
            col = rb.column(f"{f}:{m}")
            if col.type != pa.float64():
                col = col.cast(pa.float64())
            out[:, j] = col.to_numpy(zero_copy_only=False)  # nulls arrive as NaN
        return out

    prompts = pl.Series("prompt", rb.column("prompt"))
    tasks = SeriesText(pl.Series("task", rb.column("task"))) if "task" in rb.schema.names else []
    return FullInfoLog(name, RowIds(first, n), SeriesText(prompts), list(models), matrix("quality"),
                       matrix("cost_usd"), matrix("latency_ms"), tasks, derived,
                       cues=None if cues is None else CueColumns.from_batch(cues, rb))


# -- the store: pages of the outcomes table ------------------------------------------------------------------------


def source_from_store(store: TrajectoryStore, log: str, batch: int = BATCH_ROWS, *, cues: bool = True,
                      ) -> FullInfoSource:
    """A full-information log of the store, read in pages of `batch` row_index values (one prompt each in the
    importers' layout), each pivoted to prompt x model (replay/store_pages.py); prompts missing a model's outcome
    are dropped, as `load_fullinfo` drops them. Pages carry the cue counts recorded with the log, if any (unless
    `cues` is False: then replay classifies every prompt from its text)."""
    from workbench.replay.store_pages import open_log, read_page

    src = open_log(store, log, batch, cues=cues)

    def pages() -> Iterator[FullInfoLog]:
        for lo, hi in itertools.pairwise(src.bounds):
            part = read_page(store, src, lo, hi)
            if part is not None:
                yield part

    def batches() -> Iterator[FullInfoLog]:
        # Page k+1 is read while the caller decides page k (DuckDB and numpy release the GIL).
        return read_ahead(pages())

    return FullInfoSource(log, list(src.models), batches, src.rows // max(1, len(src.models)), src.cost_derived,
                          src.note)


# -- replay --------------------------------------------------------------------------------------------------------


class _Policy:
    """One spec's decisions and tally over the batches."""

    def __init__(self, spec: PolicySpec, source: FullInfoSource, seed: int, first: FullInfoLog) -> None:
        self.spec = spec
        self.decider = None
        self.column = NO_OUTCOME
        self.rng = np.random.default_rng(seed) if spec.baseline == "random" else None
        if spec.baseline == "always":
            assert spec.model is not None
            self.column = first.model_index(spec.model)
            if self.column == NO_OUTCOME:
                raise BadInputError(f"always:{spec.model}: log '{source.name}' has no outcomes for that model; it "
                                    f"has: {', '.join(source.models)}")
        elif spec.baseline is None:
            from workbench.replay.vectorised import BatchDecider

            assert spec.config is not None
            self.decider = BatchDecider(build_pipeline(spec.config, transport=OfflineTransport(), seed=seed))
        label = {"oracle": "oracle", "random": "random", "always": f"always:{spec.model}"}.get(
            spec.baseline or "", spec.label)
        self.tally: Tally = new_tally(first, label, with_curve=spec.baseline != "always")

    def add(self, batch: FullInfoLog, tasks: TaskCodes | None) -> None:
        pref: FloatArray | None
        if self.spec.baseline == "oracle":
            choice, pref = oracle_choice(batch)
        elif self.rng is not None:
            choice, pref = random_choice(batch, self.rng)
        elif self.decider is not None:
            choice, pref = self.decider.decide(batch)
        else:
            choice, pref = np.full(batch.n, self.column, dtype=np.int64), None
        self.tally.add(batch.quality, batch.cost, batch.latency, choice, tasks, pref)

    def result(self, cost_derived: bool, source_note: str | None = None) -> PolicyResult:
        notes = (self.decider.paths(),) if self.decider is not None else ()
        if self.decider is not None and source_note:
            notes = (*notes, source_note)
        return tally_result(self.tally, notes, cost_derived=cost_derived)


def replay_source(
    source: FullInfoSource,
    specs: Sequence[PolicySpec],
    *,
    seed: int = 0,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    baselines: bool = True,
) -> list[PolicyResult]:
    """Exact results for every spec, in one pass over the source's batches; oracle and random beside them unless
    `baselines` is False (a throughput figure of one pipeline on its own)."""
    labels = [s.label for s in specs]
    wanted = list(specs)
    if baselines and "oracle" not in labels:
        wanted.append(PolicySpec("oracle", baseline="oracle"))
    if baselines and "random" not in labels:
        wanted.append(PolicySpec("random", baseline="random"))
    policies: list[_Policy] | None = None
    done = 0
    label = ", ".join(labels) or "replay"
    for batch in source.batches():
        if cancel is not None and cancel.is_set():
            raise ReplayCancelled(f"replay of {label} cancelled at prompt {done}")
        if policies is None:
            policies = [_Policy(s, source, seed, batch) for s in wanted]
            for p in policies:
                p.tally.reserve(source.n or 0)
        tasks = task_codes(batch.task_types)
        for p in policies:
            p.add(batch, tasks)
        done += batch.n
        if progress is not None:
            progress(label, done, source.n or done)
    if policies is None:
        raise BadInputError(f"log '{source.name}' has no prompts with every model's outcome to replay")
    return [p.result(source.cost_derived, source.note) for p in policies]


__all__ = [
    "BATCH_ROWS", "FullInfoSource", "SeriesText", "replay_source", "source_from_log", "source_from_parquet",
    "source_from_store", "write_wide_parquet",
]
