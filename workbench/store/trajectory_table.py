"""Trajectory rows from a file as one Arrow table: cast, checked and completed a column at a time, never row by row.

What a row must hold to be imported is what `workbench.domain.Trajectory` requires of it, so every imported row
reads back as a trajectory the strict JSONL reader would accept: every field the record does not mark optional is
present (NULL is refused, naming the row and column), list elements and the fields inside them likewise, the six
free-form fields are JSON of the right shape, and the figures replay relies on are in range (propensity and
quality in [0, 1], costs, latencies and token counts not negative). The derived columns (created_at, prompt,
provider) are computed here from the fields they derive from, whatever the file said.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from workbench.domain import Trajectory
from workbench.errors import BadInputError
from workbench.store.outcomes import cast_column
from workbench.store.rows import DERIVED_COLUMNS, ROW_SCHEMA, build_columns, json_texts

STORED_COLUMNS: tuple[str, ...] = tuple(f.name for f in ROW_SCHEMA if f.name not in DERIVED_COLUMNS)

# Columns the record allows to be empty (`X | None` in workbench.domain); every other one must hold a value.
OPTIONAL_COLUMNS: frozenset[str] = frozenset(
    {"max_output_tokens", "response_error", "q_accuracy", "q_relevance", "q_completeness", "q_coherence",
     "q_safety", "q_overall", "reward"}
)  # fmt: skip
# List columns: a NULL list reads back as an empty one, so it is allowed. Their elements' fields that may be NULL:
_OPTIONAL_FIELDS: dict[str, frozenset[str]] = {
    "candidates": frozenset({"excluded"}),
    "attempts": frozenset({"http_status", "retry_after_s", "error"}),
}
_LIST_COLUMNS = frozenset(
    f.name for f in ROW_SCHEMA if pa.types.is_list(f.type) or pa.types.is_map(f.type)
)

# The free-form fields, stored as JSON text: (column, what the text must be, the value a NULL stands for).
_JSON_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("tools", "list of objects", "[]"),
    ("request_metadata", "object", "{}"),
    ("factor_notes", "object of strings", "{}"),
    ("tool_calls", "list of objects", "[]"),
    ("response_metadata", "object", "{}"),
    ("quality_explanations", "object of strings", "{}"),
)
_SHAPES: dict[str, Callable[[Any], bool]] = {
    "object": lambda v: isinstance(v, dict),
    "object of strings": lambda v: isinstance(v, dict) and all(isinstance(x, str) for x in v.values()),
    "list of objects": lambda v: isinstance(v, list) and all(isinstance(x, dict) for x in v),
}

# Figures that must lie in a range: (column or list column.field, low, high); None is unbounded.
_RANGES: tuple[tuple[str, float | None, float | None], ...] = (
    ("propensity", 0.0, 1.0),
    *((f"q_{d}", 0.0, 1.0) for d in ("accuracy", "relevance", "completeness", "coherence", "safety", "overall")),
    ("candidates.probability", 0.0, 1.0),
    ("cost_usd", 0.0, None),
    ("ttft_ms", 0.0, None),
    ("latency_ms", 0.0, None),
    ("attempts.latency_ms", 0.0, None),
    ("attempts.retry_after_s", 0.0, None),
    ("input_tokens", 0, None),
    ("output_tokens", 0, None),
    ("context_tokens", 0, None),
    ("context_budget", 0, None),
    ("context_dropped", 0, None),
    ("max_output_tokens", 0, None),
)
_MAX_UNIX = 2.5e11  # beyond year 9999: DuckDB's TIMESTAMP cannot hold it


@dataclass(frozen=True, slots=True)
class TrajectoryTable:
    """Trajectories read from one file as a checked ROW_SCHEMA table, ready to be chained into the store."""

    table: pa.Table
    kind: str  # catalogue kind for the logs they land in
    source: str
    notes: str = ""

    @property
    def logs(self) -> list[str]:
        return sorted(str(x) for x in pc.unique(self.table["log"]).to_pylist())

    def rows_in(self, log: str) -> int:
        return int(pc.sum(pc.equal(self.table["log"], log)).as_py() or 0)


class _Where:
    """Names the row of a fault: `row N` (1-based), or what `describe` makes of the index."""

    def __init__(self, source: str, describe: Callable[[int], str] | None = None) -> None:
        self.source = source
        self.describe = describe or (lambda i: f"row {i + 1}")

    def fail(self, index: int, reason: str) -> BadInputError:
        return BadInputError(f"{self.source}: {self.describe(index)}: {reason}")


def _first(mask: pa.Array | pa.ChunkedArray) -> int | None:
    """The index of the first true slot (NULL counts as false), or None."""
    filled = pc.fill_null(mask, False)
    if not pc.any(filled).as_py():
        return None
    return int(pc.index(filled, True).as_py())


def _element_rows(column: pa.Array) -> np.ndarray:
    """For each element of a list column's values, the row it belongs to (-1 for elements no row shows: those
    outside the column's slice, or behind a NULL list)."""
    offsets = column.offsets.to_numpy(zero_copy_only=False).astype(np.int64)
    counts = np.diff(offsets)
    if column.null_count:
        counts[~np.asarray(column.is_valid().to_numpy(zero_copy_only=False), dtype=bool)] = 0
    rows = np.full(len(column.values), -1, dtype=np.int64)
    owners = np.repeat(np.arange(len(column), dtype=np.int64), counts)
    # Element k of the shown ones is offsets[row] plus its position within the row.
    within = np.arange(len(owners), dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)
    rows[np.repeat(offsets[:-1], counts) + within] = owners
    return rows


def _first_element_fault(column: pa.Array, bad: np.ndarray) -> int | None:
    """The first row owning an element flagged in `bad` (a bool per element of column.values), or None."""
    if not bad.any():
        return None
    rows = _element_rows(column)
    owners = rows[bad & (rows >= 0)]
    return int(owners.min()) if len(owners) else None


def _check_present(table: pa.Table, where: _Where) -> None:
    for name in STORED_COLUMNS:
        column = table[name]
        if name in _LIST_COLUMNS:
            _check_elements(name, column, where)
            continue
        if name in OPTIONAL_COLUMNS or name in {c for c, _, _ in _JSON_COLUMNS}:
            continue
        row = _first(pc.is_null(column))
        if row is not None:
            raise where.fail(row, f"column {name} is empty (NULL); every trajectory needs one")
    row = _first(pc.equal(pc.utf8_length(table["trajectory_id"]), 0))
    if row is not None:
        raise where.fail(row, "trajectory_id is empty")


def _check_elements(name: str, column: pa.ChunkedArray, where: _Where) -> None:
    """List elements (and the fields inside struct elements) must be present where the record requires them."""
    array = column.combine_chunks()
    values = array.values
    if pa.types.is_map(array.type):
        nulls = np.asarray(pc.is_null(values.field("value")).to_numpy(zero_copy_only=False), dtype=bool)
        row = _first_element_fault(array, nulls)
        if row is not None:
            raise where.fail(row, f"column {name}: an entry has no value")
        return
    missing = np.asarray(pc.is_null(values).to_numpy(zero_copy_only=False), dtype=bool)
    row = _first_element_fault(array, missing)
    if row is not None:
        raise where.fail(row, f"column {name}: an element is empty (NULL)")
    if pa.types.is_struct(values.type):
        optional = _OPTIONAL_FIELDS.get(name, frozenset())
        for i, field in enumerate(values.type):
            if field.name in optional:
                continue
            missing = np.asarray(pc.is_null(values.field(i)).to_numpy(zero_copy_only=False), dtype=bool)
            row = _first_element_fault(array, missing)
            if row is not None:
                raise where.fail(row, f"column {name}: an element has no {field.name}")


def _check_json(table: pa.Table, where: _Where) -> pa.Table:
    """Free-form columns: NULL becomes the empty value; every distinct text is parsed once, as Python reads it."""
    for name, shape, empty in _JSON_COLUMNS:
        column = pc.fill_null(table[name], empty).combine_chunks()
        table = table.set_column(table.schema.get_field_index(name), ROW_SCHEMA.field(name), column)
        encoded = column.dictionary_encode()
        fits = _SHAPES[shape]
        bad_texts: dict[int, str] = {}
        for k, text in enumerate(encoded.dictionary.to_pylist()):
            if text == empty:
                continue
            try:
                value = json.loads(text)
            except ValueError as exc:  # json.JSONDecodeError, or text Python cannot decode
                bad_texts[k] = f"column {name} is not valid JSON ({exc})"
                continue
            if not fits(value):
                bad_texts[k] = f"column {name} must be a JSON {shape}, got {text[:60]!r}"
        if bad_texts:
            indices = encoded.indices.to_numpy(zero_copy_only=False)
            bad = np.isin(indices, np.fromiter(bad_texts, dtype=indices.dtype))
            row = int(np.flatnonzero(bad)[0])
            raise where.fail(row, bad_texts[int(indices[row])])
    return table


def _out_of_range(values: pa.Array, low: float | None, high: float | None) -> pa.Array:
    masks = []
    if low is not None:
        masks.append(pc.less(values, low))
    if high is not None:
        masks.append(pc.greater(values, high))
    if pa.types.is_floating(values.type):
        masks.append(pc.is_nan(values))
    out = masks[0]
    for m in masks[1:]:
        out = pc.or_(out, m)
    return out


def _bounds(low: float | None, high: float | None) -> str:
    if high is None:
        return f"must be at least {low:g}"
    return f"must lie in [{low:g}, {high:g}]"


def _check_ranges(table: pa.Table, where: _Where) -> None:
    for name, low, high in _RANGES:
        if "." in name:
            column_name, field = name.split(".")
            array = table[column_name].combine_chunks()
            values = array.values.field(field)
            bad = np.asarray(_out_of_range(values, low, high).fill_null(False).to_numpy(zero_copy_only=False), bool)
            row = _first_element_fault(array, bad)
            if row is not None:
                raise where.fail(row, f"column {column_name}: {field} {_bounds(low, high)}")
            continue
        values = table[name]
        row = _first(_out_of_range(values, low, high))
        if row is not None:
            raise where.fail(row, f"column {name} {_bounds(low, high)} (got {values[row].as_py()!r})")
    unix = table["created_unix"]
    row = _first(pc.or_(pc.invert(pc.is_finite(unix)), pc.greater(pc.abs(unix), _MAX_UNIX)))
    if row is not None:
        raise where.fail(row, f"created_unix={unix[row].as_py()!r} is not a usable unix time")


def derived_columns(table: pa.Table) -> pa.Table:
    """created_at, prompt and provider computed from created_unix, messages and model."""
    seconds = table["created_unix"].to_numpy()
    created_at = pa.array(np.rint(seconds * 1e6).astype(np.int64), pa.int64()).cast(pa.timestamp("us"))
    messages = table["messages"].combine_chunks()
    values = messages.values
    rows = _element_rows(messages)
    user = np.asarray(pc.equal(values.field("role"), "user").fill_null(False).to_numpy(zero_copy_only=False), bool)
    user &= rows >= 0
    last = np.full(len(messages), -1, dtype=np.int64)
    # Elements are in row order, so the highest user element of a row is its latest user message.
    idx = np.flatnonzero(user)
    np.maximum.at(last, rows[idx], idx)
    has = last >= 0
    contents = values.field("content").take(pa.array(np.where(has, last, 0))) if len(values) else None
    prompt = (
        pc.if_else(pa.array(has), contents, "") if contents is not None else pa.array([""] * len(messages))
    )
    model = table["model"]
    parts = pc.split_pattern(model, "/", max_splits=1)
    provider = pc.if_else(pc.greater(pc.list_value_length(parts), 1), pc.list_element(parts, 0), "")
    for name, column in (("created_at", created_at), ("prompt", prompt), ("provider", provider)):
        table = table.set_column(table.schema.get_field_index(name), ROW_SCHEMA.field(name), column)
    return table


def conform_trajectories(
    table: pa.Table, source: str, *, log: str | None = None, describe: Callable[[int], str] | None = None
) -> pa.Table:
    """A foreign table of trajectory rows as a checked ROW_SCHEMA table (witness columns empty, privacy 'full').

    `log` replaces the log column. Raises BadInputError naming `source`, the row (or `describe(index)`) and why.
    """
    missing = [c for c in STORED_COLUMNS if c not in table.column_names and not (c == "log" and log is not None)]
    if missing:
        raise BadInputError(f"{source}: not a trajectory file: missing column(s) {', '.join(missing)}")
    n = table.num_rows
    columns: dict[str, pa.Array | pa.ChunkedArray] = {}
    for f in ROW_SCHEMA:
        if f.name == "log" and log is not None:
            columns[f.name] = pa.array([log] * n, pa.string())
        elif f.name in STORED_COLUMNS:
            columns[f.name] = cast_column(table[f.name], f.type, source, f.name)
        elif f.name == "privacy":
            columns[f.name] = pa.array(["full"] * n, pa.string())
        else:
            columns[f.name] = pa.nulls(n, f.type)  # derived below, or filled in by the chain
    out = pa.Table.from_arrays(
        [pa.chunked_array(_chunks(columns[f.name]), f.type) for f in ROW_SCHEMA], schema=ROW_SCHEMA
    )
    return derived_columns(check_rows(out, source, describe))


def check_rows(table: pa.Table, source: str, describe: Callable[[int], str] | None = None) -> pa.Table:
    """Refuse rows the record does not allow (see the module's docstring); NULL free-form texts become empty."""
    where = _Where(source, describe)
    _check_present(table, where)
    table = _check_json(table, where)
    _check_ranges(table, where)
    return table


def trajectories_table(ts: Sequence[Trajectory], source: str, describe: Callable[[int], str] | None = None) -> pa.Table:
    """Trajectory records (from JSONL or OBP files) as a checked ROW_SCHEMA table, privacy 'full'."""
    try:
        table = build_columns(ts, [json_texts(t) for t in ts], "full")
    except ValueError as exc:
        raise BadInputError(f"{source}: {exc}") from exc
    return check_rows(table, source, describe)


def _chunks(column: pa.Array | pa.ChunkedArray) -> list[pa.Array]:
    return list(column.chunks) if isinstance(column, pa.ChunkedArray) else [column]
