"""The witness: a SHA-256 hash chain over every stored trajectory row, appended to and verified here.

Rows are chained in the order they were written (`witness_seq` 1, 2, ...). Link i is
`sha256(hex(link i-1) + content(i))` as lowercase hex, with 64 zeros before the first row. The head (last seq and
hash) sits in `witness_head` and moves in the same transaction as the rows, so a missing tail is caught as well as
an edited row. Each row records the witness version that chained it (`witness_version`):

- version 2 (every row written since schema 3): content is the row's binary encoding (`workbench.store.digest`),
  covering every column as stored except the chain's own `witness_seq`, `witness_hash` and `witness_version`:
  the trajectory's fields, the derived `prompt`, `provider` and `created_at`, and the `privacy` mode applied.
  The encoding is built for a whole batch at once with Arrow compute; only the chain itself (one SHA-256 call per
  row, over ~1.5 kB) runs in Python, ~2 us a row.
- version 1 (rows chained under schema 2): content is the trajectory's canonical JSON
  (`workbench.store.canonical`, ~50 us a row). Such rows are verified as they were written, never re-chained:
  re-chaining would launder any edit made before the upgrade. `privacy` is not covered, and the derived columns
  are checked against the fields they derive from.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from workbench.domain import Trajectory
from workbench.errors import StoreError
from workbench.store.canonical import canonical_json
from workbench.store.digest import encode_rows
from workbench.store.privacy import PrivacyMode, protect_trajectory
from workbench.store.queries import first_row, load_query, run
from workbench.store.rows import ROW_SCHEMA, JsonTexts, build_columns, json_texts, row_to_trajectory

GENESIS = "0" * 64
VERSION = 2  # the witness version new rows are chained with
_VIEW = "trajectory_batch"
_HASH_COLUMN = ROW_SCHEMA.get_field_index("witness_hash")
_SEQ_COLUMN = ROW_SCHEMA.get_field_index("witness_seq")
_VERSION_COLUMN = ROW_SCHEMA.get_field_index("witness_version")


def _slices(encoded: pa.Array) -> tuple[list[int], memoryview]:
    """The row boundaries and the data of a large_binary array, for hashing each row without copying it."""
    buffers = encoded.buffers()
    offsets = np.frombuffer(buffers[1], dtype=np.int64)[encoded.offset : encoded.offset + len(encoded) + 1]
    data = buffers[2]
    return offsets.tolist(), memoryview(data if data is not None else b"")


def chain_encoded(previous: str, encoded: pa.Array) -> list[str]:
    """The version 2 links for rows whose encodings are `encoded`, appended after the link `previous`."""
    offsets, data = _slices(encoded)
    out: list[str] = []
    append = out.append
    sha = hashlib.sha256
    prev = previous.encode("ascii")
    for start, end in itertools.pairwise(offsets):
        h = sha(prev)
        h.update(data[start:end])
        link_hex = h.hexdigest()
        append(link_hex)
        prev = link_hex.encode("ascii")
    return out


@dataclass(frozen=True, slots=True)
class PreparedBatch:
    """Rows as a ROW_SCHEMA table (witness columns still empty) and their version 2 encodings."""

    table: pa.Table
    encoded: pa.Array

    @property
    def rows(self) -> int:
        return int(self.table.num_rows)


def prepare_table(table: pa.Table) -> PreparedBatch:
    """Encode a ROW_SCHEMA table for the chain (the slow part of chaining, done once even if the insert retries)."""
    return PreparedBatch(table, encode_rows(table))


def prepare(ts: Sequence[Trajectory], privacy: PrivacyMode) -> PreparedBatch:
    """Apply the privacy mode to trajectories, build their Arrow columns and encode them."""
    protected = ts if privacy == "full" else [protect_trajectory(t, privacy) for t in ts]
    texts = [json_texts(t) for t in protected]
    return prepare_table(build_columns(protected, texts, privacy))


def head(cursor: duckdb.DuckDBPyConnection) -> tuple[int, str]:
    row = first_row(cursor, "witness_head")
    if row is None:
        raise StoreError("the witness chain has no head row (witness_head is empty); the store file is damaged")
    return int(row[0]), str(row[1])


def linked(batch: PreparedBatch, seq: int, previous: str) -> pa.Table:
    """The batch's table with its chain columns filled in, as rows seq+1, seq+2, ... after the link `previous`."""
    n = batch.rows
    hashes = chain_encoded(previous, batch.encoded)
    table = batch.table
    table = table.set_column(_HASH_COLUMN, ROW_SCHEMA.field(_HASH_COLUMN), pa.array(hashes, pa.string()))
    table = table.set_column(
        _SEQ_COLUMN, ROW_SCHEMA.field(_SEQ_COLUMN), pa.array(np.arange(seq + 1, seq + n + 1, dtype=np.int64))
    )
    return table.set_column(
        _VERSION_COLUMN, ROW_SCHEMA.field(_VERSION_COLUMN), pa.array(np.full(n, VERSION, dtype=np.int16))
    )


def insert_linked(cursor: duckdb.DuckDBPyConnection, table: pa.Table) -> None:
    """Insert rows whose chain columns are filled in and move the head to the last of them (caller's transaction)."""
    if table.num_rows == 0:
        return
    cursor.register(_VIEW, table)
    try:
        run(cursor, "insert_trajectories")
    finally:
        # An aborted transaction refuses even this; the error that aborted it is the one to see, and the next
        # register() replaces a leftover view anyway.
        with contextlib.suppress(duckdb.Error):
            cursor.unregister(_VIEW)
    last = table.num_rows - 1
    seq, link_hex = table["witness_seq"][last].as_py(), table["witness_hash"][last].as_py()
    run(cursor, "update_witness_head", {"seq": seq, "hash": link_hex})


def append_chained(cursor: duckdb.DuckDBPyConnection, batch: PreparedBatch) -> None:
    """Chain `batch` onto the head and insert it, inside the caller's transaction.

    Two writers racing on one file both update the head row, so one of them gets a TransactionException and
    retries on the new head instead of forking the chain.
    """
    if batch.rows == 0:
        return
    seq, previous = head(cursor)
    insert_linked(cursor, linked(batch, seq, previous))


# -- version 1: the canonical JSON chain of schema 2 ----------------------------------------------------------


def link(previous: str, canonical: str) -> str:
    """One version 1 link: sha256 of the previous link's hex followed by the canonical JSON, as hex."""
    return hashlib.sha256((previous + canonical).encode("utf-8")).hexdigest()


def stored_texts(row: Mapping[str, Any]) -> JsonTexts:
    """The JSON texts exactly as stored in a row (NULL, from a foreign writer, reads as the empty value)."""
    return (
        row["tools"] if row["tools"] is not None else "[]",
        row["request_metadata"] if row["request_metadata"] is not None else "{}",
        row["factor_notes"] if row["factor_notes"] is not None else "{}",
        row["tool_calls"] if row["tool_calls"] is not None else "[]",
        row["response_metadata"] if row["response_metadata"] is not None else "{}",
        row["quality_explanations"] if row["quality_explanations"] is not None else "{}",
    )


def row_canonical(row: Mapping[str, Any]) -> tuple[Trajectory, str]:
    """The trajectory a stored row holds and its canonical JSON (the version 1 content; also the JSONL line)."""
    t = row_to_trajectory(row)
    return t, canonical_json(t, stored_texts(row))


def _derived_problem(row: Mapping[str, Any], t: Trajectory) -> str:
    """Why a version 1 row's derived columns disagree with the fields they come from, or ''."""
    if row.get("prompt") != t.request.prompt:
        return "column prompt does not match the stored messages"
    if row.get("provider") != t.decision.provider:
        return "column provider does not match the stored model"
    created_at = row.get("created_at")
    if isinstance(created_at, datetime):
        micros = round(t.created_at * 1e6)
        stored = round(created_at.replace(tzinfo=UTC).timestamp() * 1e6)
        if abs(stored - micros) > 1:
            return "column created_at does not match created_unix"
    return ""


def _v1_problem(row: Mapping[str, Any], previous: str) -> str:
    """Why a version 1 row does not hold as the link after `previous`, or ''."""
    try:
        t, canonical = row_canonical(row)
    except StoreError as exc:
        return f"the row cannot be read back: {exc}"
    if link(previous, canonical) != row["witness_hash"]:
        return "its hash does not match its contents and the previous link: the row was altered"
    return _derived_problem(row, t)


# -- verification ----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VerifyReport:
    """What `verify` found. `ok` when every row links to the one before and the head matches the last row."""

    ok: bool
    checked: int
    head_seq: int
    head_hash: str
    broken_id: str | None = None  # the first trajectory whose link does not hold
    broken_seq: int | None = None
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "checked": self.checked,
            "head_seq": self.head_seq,
            "head_hash": self.head_hash,
            "broken_id": self.broken_id,
            "broken_seq": self.broken_seq,
            "reason": self.reason,
        }


def _pages(cursor: duckdb.DuckDBPyConnection, page: int) -> Iterator[pa.Table]:
    """The chain's rows in order, a page (Arrow table) at a time, each row once (also rows that share a position)."""
    after = 0
    seen_at_after: set[str] = set()  # ids already yielded at position `after`
    sql = load_query("witness_rows")
    while True:
        table = cursor.sql(sql, params={"after": after, "limit": page + len(seen_at_after)}).to_arrow_table()
        seqs = table["witness_seq"].to_pylist()
        ids = table["trajectory_id"].to_pylist()
        if seen_at_after:
            keep = [not (s == after and i in seen_at_after) for s, i in zip(seqs, ids, strict=True)]
            if not all(keep):
                table = table.filter(pa.array(keep))
                seqs = [s for s, k in zip(seqs, keep, strict=True) if k]
                ids = [i for i, k in zip(ids, keep, strict=True) if k]
        if not seqs:
            return
        yield table
        last = seqs[-1]
        if last is None:  # unchained rows come last, all in this page or the next ones; stop at the first
            return
        if int(last) != after:
            seen_at_after = set()
        after = int(last)
        seen_at_after |= {str(i) for s, i in zip(seqs, ids, strict=True) if s == after}


def verify(cursor: duckdb.DuckDBPyConnection, *, page: int = 20_000) -> VerifyReport:
    """Recompute the chain from the stored rows; stop at the first link that does not hold."""
    head_seq, head_hash = head(cursor)
    previous, expected_seq, checked = GENESIS, 1, 0
    sha = hashlib.sha256

    def broken(row_id: Any, seq: Any, reason: str) -> VerifyReport:
        return VerifyReport(False, checked, head_seq, head_hash, str(row_id), seq, reason)

    for table in _pages(cursor, page):
        seqs = table["witness_seq"].to_pylist()
        ids = table["trajectory_id"].to_pylist()
        stored = table["witness_hash"].to_pylist()
        versions = table["witness_version"].to_pylist()
        offsets: list[int] = []
        data = memoryview(b"")
        if VERSION in versions:
            offsets, data = _slices(encode_rows(table))
        for i, seq in enumerate(seqs):
            if seq is None:
                reason = "the row is not in the chain (no witness_seq): it was inserted around the writer"
                return broken(ids[i], seq, reason)
            if seq != expected_seq:
                missing = "a row is missing before it" if seq > expected_seq else "its position is duplicated"
                return broken(ids[i], seq, f"chain position {seq} where {expected_seq} was expected: {missing}")
            version = versions[i]
            if version == VERSION:
                h = sha(previous.encode("ascii"))
                h.update(data[offsets[i] : offsets[i + 1]])
                if h.hexdigest() != stored[i]:
                    reason = "its hash does not match its contents and the previous link: the row was altered"
                    return broken(ids[i], seq, reason)
            elif version == 1:
                problem = _v1_problem(table.slice(i, 1).to_pylist()[0], previous)
                if problem:
                    return broken(ids[i], seq, problem)
            else:
                return broken(ids[i], seq, f"unknown witness version {version!r}: the row's bookkeeping was altered")
            previous = stored[i]
            expected_seq += 1
            checked += 1
    if checked != head_seq or previous != head_hash:
        return VerifyReport(
            False,
            checked,
            head_seq,
            head_hash,
            None,
            checked + 1,
            f"the chain ends at position {checked} but its head says {head_seq}: rows were removed from the end",
        )
    return VerifyReport(True, checked, head_seq, head_hash)


def backfill(cursor: duckdb.DuckDBPyConnection) -> int:
    """Chain (as version 2) rows written before the witness existed, oldest first; inside the caller's transaction."""
    table = cursor.sql(load_query("unchained_trajectories")).to_arrow_table()
    n = int(table.num_rows)
    if n == 0:
        return 0
    seq, previous = head(cursor)
    hashes = chain_encoded(previous, encode_rows(table))
    links = pa.table(
        {
            "trajectory_id": table["trajectory_id"],
            "witness_seq": pa.array(np.arange(seq + 1, seq + n + 1, dtype=np.int64)),
            "witness_hash": pa.array(hashes, pa.string()),
            "witness_version": pa.array(np.full(n, VERSION, dtype=np.int16)),
        }
    )
    cursor.register("witness_backfill", links)
    try:
        run(cursor, "backfill_witness")
    finally:
        # An aborted transaction refuses even this; the error that aborted it is the one to see, and the next
        # register() replaces a leftover view anyway.
        with contextlib.suppress(duckdb.Error):
            cursor.unregister("witness_backfill")
    run(cursor, "update_witness_head", {"seq": seq + n, "hash": hashes[-1]})
    return n
