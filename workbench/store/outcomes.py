"""Full-information outcome rows (prompt x model -> quality, cost, latency): their Arrow schema, checks and insert."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from workbench.errors import BadInputError
from workbench.prices import PriceTable
from workbench.store.privacy import PrivacyMode, protect
from workbench.store.queries import run

# Same names, order and types as `outcomes` in queries/migrations/002_*.sql (a test holds the two together).
OUTCOME_SCHEMA: pa.Schema = pa.schema(
    [
        pa.field("log", pa.string(), nullable=False),
        pa.field("prompt_id", pa.string(), nullable=False),
        pa.field("row_index", pa.int64(), nullable=False),
        ("prompt", pa.string()),
        ("task", pa.string()),
        pa.field("model", pa.string(), nullable=False),
        ("quality", pa.float64()),
        ("score", pa.float64()),
        ("cost_usd", pa.float64()),
        ("latency_ms", pa.float64()),
        ("input_tokens", pa.int64()),
        ("output_tokens", pa.int64()),
        pa.field("cost_derived", pa.bool_(), nullable=False),
        ("cost_source", pa.string()),
        ("price_version", pa.string()),
        ("extra", pa.string()),
        pa.field("privacy", pa.string(), nullable=False),
    ]
)
REQUIRED_COLUMNS: tuple[str, ...] = ("prompt_id", "model")
_VIEW = "outcome_batch"


@dataclass(frozen=True, slots=True)
class OutcomeSet:
    """One full-information log ready to insert: its rows and what the catalogue should say about it."""

    log: str
    table: pa.Table  # OUTCOME_SCHEMA; privacy column filled in at insert
    source: str
    notes: str

    @property
    def prompts(self) -> int:
        return len(pc.unique(self.table["prompt_id"]))


def price_name(prices: PriceTable, model: str) -> str | None:
    """The price-table entry for a model named as a source names it: exact, or the one `provider/<model>`."""
    if model in prices:
        return model
    matches = [name for name in prices.models() if name.endswith("/" + model)]
    return matches[0] if len(matches) == 1 else None


def check_outcomes(table: pa.Table, where: str) -> None:
    """Refuse rows replay could not use: empty ids or models, quality outside [0, 1], negative costs."""
    for column in REQUIRED_COLUMNS:
        values = table[column]
        bad = pc.or_(pc.is_null(values), pc.equal(pc.utf8_length(values), 0))
        _first_bad(bad, where, f"{column} is empty")
    quality = table["quality"]
    _first_bad(pc.or_(pc.less(quality, 0.0), pc.greater(quality, 1.0)), where, "quality is outside [0, 1]", quality)
    for column in ("cost_usd", "latency_ms"):
        values = table[column]
        _first_bad(pc.less(values, 0.0), where, f"{column} is negative", values)


def _first_bad(
    mask: pa.ChunkedArray | pa.Array, where: str, reason: str, values: pa.ChunkedArray | None = None
) -> None:
    filled = pc.fill_null(mask, False)
    if not pc.any(filled).as_py():
        return
    row = pc.index(filled, True).as_py()
    got = f" (got {values[row].as_py()!r})" if values is not None else ""
    raise BadInputError(f"{where}: row {row + 1}: {reason}{got}; fix the row or leave it out")


def with_privacy(table: pa.Table, privacy: PrivacyMode) -> pa.Table:
    """The table with its prompts under `privacy` and the privacy column set."""
    if privacy != "full":
        prompts = [None if p is None else protect(p, privacy) for p in table["prompt"].to_pylist()]
        table = table.set_column(
            OUTCOME_SCHEMA.get_field_index("prompt"), OUTCOME_SCHEMA.field("prompt"), pa.array(prompts, pa.string())
        )
    return table.set_column(
        OUTCOME_SCHEMA.get_field_index("privacy"),
        OUTCOME_SCHEMA.field("privacy"),
        pa.array([privacy] * table.num_rows, pa.string()),
    )


def insert_outcomes(cursor: duckdb.DuckDBPyConnection, table: pa.Table) -> None:
    """Insert OUTCOME_SCHEMA rows, inside the caller's transaction."""
    cursor.register(_VIEW, table)
    try:
        run(cursor, "insert_outcomes")
    finally:
        # An aborted transaction refuses even this; the error that aborted it is the one to see, and the next
        # register() replaces a leftover view anyway.
        with contextlib.suppress(duckdb.Error):
            cursor.unregister(_VIEW)


def conform(table: pa.Table, where: str, *, log: str | None = None) -> pa.Table:
    """A foreign table (Parquet, JSONL) as OUTCOME_SCHEMA: known columns cast, optional ones filled, extras refused.

    `log` overrides (or supplies) the log column. Errors name the column, and the row when one value is at fault.
    """
    unknown = sorted(set(table.column_names) - set(OUTCOME_SCHEMA.names))
    if unknown:
        raise BadInputError(
            f"{where}: unknown outcome column(s) {', '.join(unknown)}; "
            f"outcome files have: {', '.join(OUTCOME_SCHEMA.names)}"
        )
    n = table.num_rows
    arrays: list[pa.Array | pa.ChunkedArray] = []
    for f in OUTCOME_SCHEMA:
        if f.name == "log" and log is not None:
            arrays.append(pa.array([log] * n, pa.string()))
        elif f.name == "privacy":
            arrays.append(pa.array(["full"] * n, pa.string()))
        elif f.name in table.column_names:
            arrays.append(cast_column(table[f.name], f.type, where, f.name))
        elif f.name == "row_index":
            arrays.append(pa.array(range(n), pa.int64()))
        elif f.name == "cost_derived":
            arrays.append(pa.array([False] * n, pa.bool_()))
        elif f.nullable:
            arrays.append(pa.nulls(n, f.type))
        else:
            raise BadInputError(f"{where}: outcome column {f.name!r} is missing; outcome files need {f.name}")
    out = pa.Table.from_arrays(arrays, schema=OUTCOME_SCHEMA)
    for f in OUTCOME_SCHEMA:
        if not f.nullable and out[f.name].null_count:
            row = pc.index(pc.is_null(out[f.name]), True).as_py()
            raise BadInputError(f"{where}: row {row + 1}: {f.name} is empty; every outcome row needs one")
    check_outcomes(out, where)
    return out


def cast_column(values: pa.ChunkedArray, typ: pa.DataType, where: str, name: str) -> pa.ChunkedArray:
    """Cast one column, naming the first value that will not convert."""
    try:
        return values.cast(typ)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as exc:
        for i, v in enumerate(values.to_pylist()):
            try:
                pa.array([v]).cast(typ)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
                raise BadInputError(
                    f"{where}: row {i + 1}: column {name}: {v!r} is not a valid {typ}"
                ) from exc
        raise BadInputError(f"{where}: column {name} cannot be read as {typ}: {exc}") from exc


def outcome_rows(sets: Sequence[OutcomeSet]) -> int:
    return sum(s.table.num_rows for s in sets)
