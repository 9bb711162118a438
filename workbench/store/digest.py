"""The witness's row encoding (version 2): every stored value of a row as bytes, built for a whole batch at once.

The witness chain hashes one byte string per row. Version 1 hashed each trajectory's canonical JSON, built in
Python (~50 us a row); version 2 hashes this binary encoding, built column by column with Arrow compute and
numpy (~3 us a row), from the Arrow table that is inserted and, when verifying, from the table DuckDB gives back.

The encoding of a *level* (a list of fields of equal length: the row's columns, or one list element) is its
fixed part followed by its variable part:

- fixed part, per field in order: string: int32 byte length, -1 for NULL; boolean: uint8 0 / 1, 2 for NULL;
  integer and timestamp: uint8 validity then int64 value (timestamp: microseconds since the epoch; NULL: 0);
  floating point: uint8 validity then the int64 with the same bits as the float64 (every NaN as
  0x7FF8000000000000; NULL: 0); list and map: int32 element count, -1 for NULL; struct: uint8 validity.
- variable part, per field in order: string: its UTF-8 bytes; list: the encoding of each element as a level of
  one field; map: each entry as a struct (key, value); struct: the encoding of its fields as a level (nothing
  when NULL).

All integers are little-endian. Given the column types, the encoding is injective: the fixed part has a known
width, and the lengths and counts in it say where every variable value ends. Only the type class matters
(int32 and int64 encode alike), so a column read back from DuckDB encodes exactly as it was written.
`reference_encoding` is the same definition written plainly, value by value; tests hold the two equal.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

# The columns version 2 covers, in this order: every column of `trajectories` except the chain's own bookkeeping
# (witness_hash, witness_seq, witness_version). Frozen: a column added later needs a new witness version.
COLUMNS_V2: tuple[str, ...] = (
    "trajectory_id", "created_at", "created_unix", "log", "source", "pipeline_id", "config_hash", "prompt",
    "messages", "tools", "request_metadata", "max_output_tokens", "task_type", "complexity", "factors",
    "budget_class", "urgency", "required_capabilities", "profile_confidence", "profile_explanation",
    "factor_notes", "model", "provider", "strategy", "candidates", "propensity", "explored", "uncertainty",
    "decision_reason", "fallbacks", "tier", "decision_policy", "context_messages", "context_tokens",
    "context_budget", "context_dropped", "context_notes", "served_model", "status", "response_text", "tool_calls",
    "finish_reason", "json_repaired", "response_error", "input_tokens", "output_tokens", "cost_usd",
    "price_version", "ttft_ms", "latency_ms", "attempts", "response_metadata", "q_accuracy", "q_relevance",
    "q_completeness", "q_coherence", "q_safety", "q_overall", "quality_source", "quality_explanations", "reward",
    "reward_source", "learner_version_before", "learner_version_after", "privacy",
)  # fmt: skip

_NAN_BITS = np.int64(0x7FF8000000000000)
_EMPTY = pa.scalar(b"", pa.large_binary())
_BYTES = pa.large_binary()


def _is_text(t: pa.DataType) -> bool:
    return bool(
        pa.types.is_string(t)
        or pa.types.is_large_string(t)
        or pa.types.is_string_view(t)
        or pa.types.is_binary(t)
        or pa.types.is_large_binary(t)
    )


def _is_list(t: pa.DataType) -> bool:
    return bool(pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_map(t))


def _validity(a: pa.Array) -> np.ndarray | None:
    """A bool array of which slots are valid, or None when all are."""
    return None if a.null_count == 0 else np.asarray(a.is_valid().to_numpy(zero_copy_only=False), dtype=bool)


def _flag(valid: np.ndarray | None, n: int) -> np.ndarray:
    return np.ones(n, np.uint8) if valid is None else valid.astype(np.uint8)


def _elements(child: pa.Array) -> pa.Array:
    """The encoding of each element of a list's values: a level of one field."""
    t = child.type
    if pa.types.is_struct(t) and child.null_count == 0:
        # The same bytes as the general case (validity byte, then the struct's fields as a level), in one pass
        # instead of two: most list columns hold structs.
        fields = [child.field(i) for i in range(t.num_fields)]
        return _level(fields, len(child), leading=[("u1", np.ones(len(child), np.uint8))])
    return _level([child], len(child))


def _level(
    arrays: Sequence[pa.Array], n: int, leading: Sequence[tuple[str, np.ndarray]] = ()
) -> pa.Array:
    """The encoding of each of the `n` slots of a level whose fields are `arrays` (large_binary, no nulls).

    `leading` are fixed-width values placed before the fields' own (a struct element's validity byte)."""
    fixed: list[tuple[str, np.ndarray]] = list(leading)
    var: list[pa.Array] = []
    for a in arrays:
        t = a.type
        valid = _validity(a)
        if _is_text(t):
            lengths = pc.binary_length(a).to_numpy(zero_copy_only=False)
            fixed.append(("<i4", lengths if valid is None else np.where(valid, lengths, -1)))
            var.append(a.cast(_BYTES))
        elif pa.types.is_boolean(t):
            values = a.fill_null(False).to_numpy(zero_copy_only=False).astype(np.uint8)
            fixed.append(("u1", values if valid is None else np.where(valid, values, 2).astype(np.uint8)))
        elif pa.types.is_integer(t) or pa.types.is_timestamp(t):
            ints = a.cast(pa.int64()) if pa.types.is_timestamp(t) else a
            fixed.append(("u1", _flag(valid, n)))
            fixed.append(("<i8", ints.fill_null(0).to_numpy(zero_copy_only=False).astype("<i8")))
        elif pa.types.is_floating(t):
            floats = a.cast(pa.float64()).fill_null(0.0).to_numpy(zero_copy_only=False).astype("<f8")
            bits = floats.view("<i8").copy()
            bits[np.isnan(floats)] = _NAN_BITS
            fixed.append(("u1", _flag(valid, n)))
            fixed.append(("<i8", bits))
        elif _is_list(t):
            offsets = a.offsets.to_numpy(zero_copy_only=False).astype(np.int64)
            counts = np.diff(offsets).astype("<i4")
            if valid is not None:
                counts[~valid] = -1
            fixed.append(("<i4", counts))
            elements = _elements(a.values)
            var.append(pc.binary_join(pa.LargeListArray.from_arrays(pa.array(offsets, pa.int64()), elements), _EMPTY))
        elif pa.types.is_struct(t):
            fixed.append(("u1", _flag(valid, n)))
            inner = _level([a.field(i) for i in range(t.num_fields)], n)
            var.append(inner if valid is None else pc.if_else(pa.array(valid), inner, _EMPTY))
        else:
            raise TypeError(f"the witness cannot encode a column of type {t}")
    layout = np.dtype([(f"f{i}", kind) for i, (kind, _) in enumerate(fixed)])  # packed: no padding
    record = np.empty(n, dtype=layout)
    for i, (_, values) in enumerate(fixed):
        record[f"f{i}"] = values
    width = layout.itemsize
    head = pa.FixedSizeBinaryArray.from_buffers(pa.binary(width), n, [None, pa.py_buffer(record.view(np.uint8))])
    if not var:
        return head.cast(_BYTES)
    return pc.binary_join_element_wise(head.cast(_BYTES), *var, _EMPTY, null_handling="replace", null_replacement=b"")


def encode_rows(table: pa.Table, columns: Sequence[str] = COLUMNS_V2) -> pa.Array:
    """The version 2 encoding of every row of `table` (which must hold `columns`), as one large_binary array."""
    missing = [c for c in columns if c not in table.column_names]
    if missing:
        raise ValueError(f"the witness needs column(s) {', '.join(missing)}")
    return _level([table.column(c).combine_chunks() for c in columns], table.num_rows)


# -- the same definition, value by value ---------------------------------------------------------------------


def _ref_value(value: Any, t: pa.DataType) -> tuple[bytes, bytes]:
    """(fixed, variable) bytes of one value of type `t`."""
    if _is_text(t):
        if value is None:
            return struct.pack("<i", -1), b""
        data = value.encode("utf-8") if isinstance(value, str) else bytes(value)
        return struct.pack("<i", len(data)), data
    if pa.types.is_boolean(t):
        return struct.pack("<B", 2 if value is None else int(bool(value))), b""
    if pa.types.is_timestamp(t):
        if value is None:
            return struct.pack("<Bq", 0, 0), b""
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        micros = (moment - datetime(1970, 1, 1, tzinfo=UTC)) // _MICROSECOND
        return struct.pack("<Bq", 1, micros), b""
    if pa.types.is_integer(t):
        return struct.pack("<Bq", 0, 0) if value is None else struct.pack("<Bq", 1, value), b""
    if pa.types.is_floating(t):
        if value is None:
            return struct.pack("<Bq", 0, 0), b""
        bits = int(_NAN_BITS) if value != value else struct.unpack("<q", struct.pack("<d", value))[0]
        return struct.pack("<Bq", 1, bits), b""
    if _is_list(t):
        if value is None:
            return struct.pack("<i", -1), b""
        if pa.types.is_map(t):
            child = pa.struct([t.key_field, t.item_field])
            items = value.items() if isinstance(value, Mapping) else value
            elements = [{"key": k, "value": v} for k, v in items]
        else:
            child, elements = t.value_type, list(value)
        return struct.pack("<i", len(elements)), b"".join(reference_level([e], [child]) for e in elements)
    if pa.types.is_struct(t):
        if value is None:
            return struct.pack("<B", 0), b""
        fields = [t.field(i) for i in range(t.num_fields)]
        return struct.pack("<B", 1), reference_level([value[f.name] for f in fields], [f.type for f in fields])
    raise TypeError(f"the witness cannot encode a value of type {t}")


_MICROSECOND = datetime(1970, 1, 1, 0, 0, 0, 1, tzinfo=UTC) - datetime(1970, 1, 1, tzinfo=UTC)


def reference_level(values: Sequence[Any], types: Sequence[pa.DataType]) -> bytes:
    """The encoding of one level from Python values (as pyarrow's to_pylist gives them) and their types."""
    parts = [_ref_value(v, t) for v, t in zip(values, types, strict=True)]
    return b"".join(p[0] for p in parts) + b"".join(p[1] for p in parts)


def reference_encoding(row: Mapping[str, Any], schema: pa.Schema, columns: Sequence[str] = COLUMNS_V2) -> bytes:
    """One row's version 2 encoding, value by value: the definition `encode_rows` is tested against."""
    return reference_level([row[c] for c in columns], [schema.field(c).type for c in columns])
