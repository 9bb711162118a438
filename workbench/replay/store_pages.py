"""A full-information log of the store read a page at a time, pivoted to prompt x model with numpy.

`outcomes` holds one row per prompt and model. A page (a row_index range) is read as narrow queries instead of every
column of every row sorted: the numbers of each row (row_index, the model's position in the log's sorted list,
quality, cost, latency) and one row per prompt with its id, text and task (its last model's row). Row_index then
places every row: a prompt with all m models fills a row of the matrices, others are dropped; rows in the store's
own order (the usual case) need no scatter at all. This holds when each prompt of the page has a row_index of its
own (the importers' layout): a log's recorded cue set certifies that for the whole log, otherwise a page is checked
(`outcome_page_layout`), and a page in any other layout is pivoted from all its rows by polars as before. Either
way a page is what `loader.fullinfo_from_frame` makes of its rows:

- a prompt missing any of the log's models is dropped;
- prompts in (row_index, prompt_id) order;
- a prompt's text and task are its last row's in (row_index, prompt_id, model) order, i.e. its last model's.

On a 500k-prompt x 11-model log this reads ~1.1M prompts/s against ~0.1M/s for the sort-and-pivot.

When the log was imported with cue counts (store/cues.py) and every prompt of a page has them, the page carries them
(`FullInfoLog.cues`), and classifiers of a config with the same cue words read them instead of the text.
"""
from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import polars as pl
import pyarrow as pa
from numpy.typing import NDArray

from workbench.errors import BadInputError
from workbench.replay.cue_features import COUNTS, DISTINCT, SCALAR, WORDS, CueColumns, CueSet
from workbench.replay.fullinfo import FullInfoLog
from workbench.replay.stream import SeriesText

if TYPE_CHECKING:
    from workbench.store import TrajectoryStore

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]
# A page's row_index range is addressed directly (one slot per value) when it is at most this many times its rows
# (always, for pages of a dense log); a sparser page sorts its row_index values instead.
DENSE_SLOTS_PER_ROW = 4


@dataclass(frozen=True)
class StoreLog:
    """What a paged read of one log needs before its first page."""

    name: str
    models: list[str]
    strong_weak: tuple[int, int] | None  # of the whole log, for two-model logs
    cost_derived: bool
    bounds: list[int]  # page i is row_index in [bounds[i], bounds[i + 1])
    rows: int  # outcome rows
    # Each prompt has one row_index of its own, certified for the whole log by its recorded cue set (store/cues.py
    # records one only for such a log, and drops it when a later import adds rows); otherwise checked page by page.
    one_per_row: bool
    cues: CueSet | None  # the recorded cue set pages carry, when there is one this code can read
    fingerprint: str | None
    note: str | None  # why recorded counts are not used, when they are not


def open_log(store: TrajectoryStore, log: str, batch: int, *, cues: bool = True) -> StoreLog:
    """The log's models, strong/weak pair, cost flag, page bounds and (with `cues`) its recorded cue set."""
    span = store.query("outcomes_span", log=log)
    if span.is_empty() or not span["rows"][0]:
        raise BadInputError(f"log '{log}' has no full-information outcomes; `clawft-workbench logs` lists the logs")
    rows, first, last = int(span["rows"][0]), int(span["first_row"][0]), int(span["last_row"][0])
    listed = store.query("outcome_model_list", log=log)
    models = [str(m) for m in listed["model"].to_list()]
    any_derived, all_derived = bool(listed["any_derived"].any()), bool(listed["all_derived"].all())
    sw = None
    derived = any_derived
    if len(models) == 2 or any_derived != all_derived:
        # The strong/weak pair, and the cost flag of a log that mixes derived and logged costs, are taken over the
        # prompts every model answered, as the whole-log loader takes them: a per-prompt grouping of the log.
        full = store.query("outcome_models", log=log)
        models = [str(m) for m in full["model"].to_list()]
        derived = bool(full["cost_derived"].any())
        if len(models) == 2:
            best = int(np.argmax(full["mean_quality"].cast(pl.Float64).fill_null(np.nan).to_numpy()))
            sw = (best, 1 - best)
    if last - first + 1 <= rows:
        # No sparser than its rows: pages of `batch` row_index values each, the boundaries outcome_pages gives a
        # dense log, without ranking every distinct row_index first.
        bounds = [*range(first, last + 1, batch), last + 1]
    else:
        starts = [int(x) for x in store.query("outcome_pages", log=log, rows=batch)["start"].to_list()]
        bounds = [*starts, last + 1]
    found = store.query("cue_set_of_log", log=log)
    recorded, fingerprint, note = _recorded_set(found) if cues else (None, None, None)
    return StoreLog(log, models, sw, derived, bounds, rows, not found.is_empty(), recorded, fingerprint, note)


def _recorded_set(found: pl.DataFrame) -> tuple[CueSet | None, str | None, str | None]:
    if found.is_empty():
        return None, None, None
    cues = CueSet.from_json(str(found["cues"][0]))
    if cues is None:
        return None, None, "cue counts recorded under other rules or unreadable: prompts are classified from their text"
    return cues, str(found["fingerprint"][0]), None


def read_page(store: TrajectoryStore, src: StoreLog, lo: int, hi: int) -> FullInfoLog | None:
    """The prompts of row_index [lo, hi) that have every model's outcome, or None when there are none."""
    if not src.models:
        return None
    if not src.one_per_row:
        pairs, row_indexes, prompt_ids = store.query("outcome_page_layout", log=src.name, lo=lo, hi=hi).row(0)
        if not pairs:
            return None
        if not pairs == row_indexes == prompt_ids:
            return _pivoted_page(store, src, lo, hi)
    m = len(src.models)
    values = store.query("outcome_page_values", log=src.name, lo=lo, hi=hi, models=src.models)
    prompts = store.query("outcome_page_prompts", log=src.name, lo=lo, hi=hi, last=src.models[-1])
    ri, j = values["row_index"].to_numpy(), values["j"].to_numpy()
    place = _Slots(ri, lo, hi)
    prompt_slot = place.of(prompts["row_index"].to_numpy())
    if (j.size and j.min() < 0) or prompt_slot is None:
        # Rows written since the log was opened (a model it did not list, a prompt not in this read): the pivot
        # takes whatever the page holds now.
        return _pivoted_page(store, src, lo, hi)
    kept: NDArray[np.bool_] | None = None  # rows of complete prompts, when not all are
    cell: IntArray | None = None  # where each kept row goes in the flattened matrices, when not in order
    if place.keys is None and ri.size == place.n * m and _tiled(ri, j, lo, m):
        complete = np.ones(place.n, dtype=bool)  # every prompt of the range, in the store's own order
    else:
        complete = np.bincount(place.slot, minlength=place.n) == m
        # One prompt per row_index and (prompt, model) unique: m rows at a slot are its m models, once each.
        cell = (np.cumsum(complete) - 1)[place.slot] * m + j
        if not complete.all():
            kept = complete[place.slot]
            cell = cell[kept]
        if np.array_equal(cell, np.arange(cell.size)):
            cell = None
    n = int(np.count_nonzero(complete))
    if n == 0:
        return None

    def matrix(column: str) -> FloatArray:
        v = values[column].cast(pl.Float64).to_numpy()  # NULL arrives as NaN
        v = v if kept is None else v[kept]
        if cell is None:
            out: FloatArray = v.reshape(n, m)
            return out
        flat = np.empty(n * m)
        flat[cell] = v
        return flat.reshape(n, m)

    rows = place.rows_of(prompt_slot, complete)
    if rows is not None and rows.min() < 0:
        return _pivoted_page(store, src, lo, hi)  # a complete prompt without its last model's row: written since

    def text(column: str) -> SeriesText:
        return SeriesText(prompts[column] if rows is None else prompts[column].gather(pl.Series(rows)))

    return FullInfoLog(
        src.name, text("prompt_id"), text("prompt"), list(src.models), matrix("quality"), matrix("cost_usd"),
        matrix("latency_ms"), text("task"), src.cost_derived, src.strong_weak,
        _page_cues(store, src, lo, hi, place, complete),
    )


def _tiled(ri: IntArray, j: NDArray[np.int32], lo: int, m: int) -> bool:
    """Rows are (lo, model 0), (lo, model 1), ... (lo + 1, model 0), ...: every row_index of the range, in order."""
    k = ri.size // m
    return bool((j.reshape(k, m) == np.arange(m)).all() and (ri.reshape(k, m) == np.arange(lo, lo + k)[:, None]).all())


class _Slots:
    """Places row_index values of one page on 0..n-1 in row_index order: directly for a dense range, else by the
    page's sorted distinct values."""

    def __init__(self, row_index: IntArray, lo: int, hi: int) -> None:
        self.lo = lo
        self.keys: IntArray | None = None
        self._row_index = row_index
        if hi - lo > DENSE_SLOTS_PER_ROW * max(row_index.size, 1):
            self.keys = np.unique(row_index)
        self.n = hi - lo if self.keys is None else int(self.keys.size)

    @functools.cached_property
    def slot(self) -> IntArray:
        """The slot of each row this was made from (made only when asked: an in-order page never needs it)."""
        if self.keys is None:
            dense: IntArray = self._row_index - self.lo
            return dense
        return np.searchsorted(self.keys, self._row_index)

    def of(self, row_index: IntArray) -> IntArray | None:
        """Slots of other rows' row_index values; None when one is not a value of this page."""
        if self.keys is None:
            slot: IntArray = row_index - self.lo
            return slot if slot.size == 0 or (slot.min() >= 0 and slot.max() < self.n) else None
        slot = np.minimum(np.searchsorted(self.keys, row_index), max(self.n - 1, 0))
        return slot if self.n and np.array_equal(self.keys[slot], row_index) else None

    def rows_of(self, slot: IntArray, complete: NDArray[np.bool_]) -> IntArray | None:
        """For each complete slot in order, the row (of those `slot` places) that is at it: None when that is every
        row in order (nothing to gather); -1 marks a complete slot without a row."""
        if slot.size == complete.size and complete.all() and np.array_equal(slot, np.arange(slot.size)):
            return None
        row_of_slot = np.full(self.n, -1, dtype=np.int64)
        row_of_slot[slot] = np.arange(slot.size)
        rows: IntArray = row_of_slot[complete]
        return rows


def _page_cues(store: TrajectoryStore, src: StoreLog, lo: int, hi: int, place: _Slots,
               complete: NDArray[np.bool_]) -> CueColumns | None:
    """The recorded cue counts of the page's prompts, in their order; None unless every prompt has exactly one."""
    if src.cues is None:
        return None
    found = store.query("prompt_cues_page", log=src.name, fingerprint=src.fingerprint, lo=lo, hi=hi)
    slot = place.of(found["row_index"].to_numpy())
    if slot is None or slot.size == 0:
        return None
    rows = place.rows_of(slot, complete)
    if rows is not None and (rows.min() < 0 or np.bincount(slot, minlength=place.n).max() > 1):
        return None
    return _columns(src.cues, found, rows)


def _columns(cues: CueSet, found: pl.DataFrame, rows: IntArray | None) -> CueColumns | None:
    """Stored cue rows (counts, distinct_hits, words, scalar), taken in `rows` order (None: as they are)."""
    widths = {COUNTS: max(1, 2 * len(cues.groups)), DISTINCT: max(1, 2 * len(cues.distinct))}
    try:
        batch = pa.RecordBatch.from_pydict({
            COUNTS: found["counts"].to_arrow().cast(pa.binary(widths[COUNTS])),
            DISTINCT: found["distinct_hits"].to_arrow().cast(pa.binary(widths[DISTINCT])),
            WORDS: found["words"].to_arrow().cast(pa.int32()),
            SCALAR: found["scalar"].to_arrow(),
        })
        if rows is not None:
            batch = batch.take(pa.array(rows))
        return CueColumns.from_batch(cues, batch)
    except (pa.ArrowInvalid, ValueError):
        return None  # counts of another width than the set says: the text is the answer


def with_recorded_cues(store: TrajectoryStore, log: FullInfoLog) -> FullInfoLog:
    """`log` (a whole full-information log of the store, as `load_fullinfo` reads it) carrying its recorded cue
    counts, matched by prompt id, when every prompt has exactly one; otherwise `log` as it is."""
    found_set = store.query("cue_set_of_log", log=log.name)
    cues, fingerprint, _ = _recorded_set(found_set)
    if cues is None or not log.n:
        return log
    found = store.query("prompt_cues_of_log", log=log.name, fingerprint=fingerprint)
    if found.height != log.n:
        return log
    order = pl.DataFrame({"prompt_id": pl.Series(list(log.prompt_ids), dtype=pl.String)}).with_row_index("_at")
    placed = order.join(found.select(pl.col("prompt_id").cast(pl.String)).with_row_index("_row"), on="prompt_id",
                        how="left", maintain_order="left")
    rows = placed["_row"]
    if rows.null_count() or rows.n_unique() != log.n:
        return log
    columns = _columns(cues, found, rows.cast(pl.Int64).to_numpy())
    return log if columns is None else dataclasses.replace(log, cues=columns)


def _pivoted_page(store: TrajectoryStore, src: StoreLog, lo: int, hi: int) -> FullInfoLog | None:
    """Any layout: every column of the page's rows, pivoted by prompt_id (loader.fullinfo_from_frame)."""
    from workbench.replay.loader import fullinfo_from_frame

    page = store.query("outcomes_page", log=src.name, lo=lo, hi=hi)
    if page.is_empty():
        return None
    part = fullinfo_from_frame(src.name, page, models=list(src.models))
    if not part.n:
        return None
    return FullInfoLog(part.name, part.prompt_ids, part.prompts, part.models, part.quality, part.cost, part.latency,
                       part.task_types, src.cost_derived, src.strong_weak)


__all__ = ["StoreLog", "open_log", "read_page", "with_recorded_cues"]
