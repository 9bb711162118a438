"""The witness: a SHA-256 hash chain over every stored trajectory's canonical JSON, appended to and verified here.

Link i is `sha256(hash(i-1) + canonical_json(i))` as lowercase hex, with 64 zeros before the first row. Rows are
chained in the order they were written (`witness_seq` 1, 2, ...); the head (last seq and hash) sits in
`witness_head` and moves in the same transaction as the rows, so a missing tail is caught as well as an edited
row. Covered: every field of the trajectory. Not covered: the bookkeeping columns (`witness_seq`, `privacy`);
the derived columns (`prompt`, `provider`, `created_at`) are checked against the fields they derive from.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import duckdb
import pyarrow as pa

from workbench.domain import Trajectory
from workbench.errors import StoreError
from workbench.store.canonical import canonical_json
from workbench.store.privacy import PrivacyMode, protect_trajectory
from workbench.store.queries import first_row, load_query, run
from workbench.store.rows import ROW_SCHEMA, JsonTexts, build_columns, json_texts, row_to_trajectory

GENESIS = "0" * 64
_VIEW = "trajectory_batch"
_HASH_COLUMN = ROW_SCHEMA.get_field_index("witness_hash")
_SEQ_COLUMN = ROW_SCHEMA.get_field_index("witness_seq")


def link(previous: str, canonical: str) -> str:
    """One chain link: sha256 of the previous link's hex followed by the canonical JSON, as hex."""
    return hashlib.sha256((previous + canonical).encode("utf-8")).hexdigest()


def chain(head: str, canonicals: Sequence[str]) -> list[str]:
    """The links for `canonicals` appended after `head`."""
    out: list[str] = []
    previous = head
    sha = hashlib.sha256
    for text in canonicals:
        previous = sha((previous + text).encode("utf-8")).hexdigest()
        out.append(previous)
    return out


@dataclass(frozen=True, slots=True)
class PreparedBatch:
    """Trajectories turned into a ROW_SCHEMA table (witness columns still empty) plus their canonical JSON."""

    table: pa.Table
    canonicals: list[str]


def prepare(ts: Sequence[Trajectory], privacy: PrivacyMode) -> PreparedBatch:
    """Apply the privacy mode, build the Arrow columns and the canonical JSON of each trajectory as stored."""
    protected = ts if privacy == "full" else [protect_trajectory(t, privacy) for t in ts]
    texts = [json_texts(t) for t in protected]
    canonicals = [canonical_json(t, x) for t, x in zip(protected, texts, strict=True)]
    return PreparedBatch(build_columns(protected, texts, privacy), canonicals)


def head(cursor: duckdb.DuckDBPyConnection) -> tuple[int, str]:
    row = first_row(cursor, "witness_head")
    if row is None:
        raise StoreError("the witness chain has no head row (witness_head is empty); the store file is damaged")
    return int(row[0]), str(row[1])


def append_chained(cursor: duckdb.DuckDBPyConnection, batch: PreparedBatch) -> None:
    """Chain `batch` onto the head and insert it, inside the caller's transaction.

    Two writers racing on one file both update the head row, so one of them gets a TransactionException and
    retries on the new head instead of forking the chain.
    """
    n = len(batch.canonicals)
    if n == 0:
        return
    seq, previous = head(cursor)
    hashes = chain(previous, batch.canonicals)
    table = batch.table.set_column(_HASH_COLUMN, ROW_SCHEMA.field(_HASH_COLUMN), pa.array(hashes, pa.string()))
    table = table.set_column(
        _SEQ_COLUMN, ROW_SCHEMA.field(_SEQ_COLUMN), pa.array(range(seq + 1, seq + n + 1), pa.int64())
    )
    cursor.register(_VIEW, table)
    try:
        run(cursor, "insert_trajectories")
    finally:
        # An aborted transaction refuses even this; the error that aborted it is the one to see, and the next
        # register() replaces a leftover view anyway.
        with contextlib.suppress(duckdb.Error):
            cursor.unregister(_VIEW)
    run(cursor, "update_witness_head", {"seq": seq + n, "hash": hashes[-1]})


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
    """The trajectory a stored row holds and its canonical JSON."""
    t = row_to_trajectory(row)
    return t, canonical_json(t, stored_texts(row))


def _derived_problem(row: Mapping[str, Any], t: Trajectory) -> str:
    """Why the row's derived columns disagree with the fields they come from, or ''."""
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


def _pages(cursor: duckdb.DuckDBPyConnection, page: int) -> Iterator[list[dict[str, Any]]]:
    """The chain's rows in order, a page at a time, each row once (also rows that share a position)."""
    after = 0
    seen_at_after: set[str] = set()  # ids already yielded at position `after`
    sql = load_query("witness_rows")
    while True:
        rel = cursor.sql(sql, params={"after": after, "limit": page + len(seen_at_after)})
        names = rel.columns
        rows = [dict(zip(names, r, strict=True)) for r in rel.fetchall()]
        rows = [r for r in rows if not (r["witness_seq"] == after and r["trajectory_id"] in seen_at_after)]
        if not rows:
            return
        yield rows
        last = rows[-1]["witness_seq"]
        if last is None:  # unchained rows come last, all in this page or the next ones; stop at the first
            return
        if int(last) != after:
            seen_at_after = set()
        after = int(last)
        seen_at_after |= {str(r["trajectory_id"]) for r in rows if r["witness_seq"] == after}


def verify(cursor: duckdb.DuckDBPyConnection, *, page: int = 5000) -> VerifyReport:
    """Recompute the chain from the stored rows; stop at the first link that does not hold."""
    head_seq, head_hash = head(cursor)
    previous, expected_seq, checked = GENESIS, 1, 0

    def broken(row: Mapping[str, Any], reason: str) -> VerifyReport:
        seq = row.get("witness_seq")
        return VerifyReport(False, checked, head_seq, head_hash, str(row.get("trajectory_id")), seq, reason)

    for rows in _pages(cursor, page):
        for row in rows:
            seq = row["witness_seq"]
            if seq is None:
                return broken(row, "the row is not in the chain (no witness_seq): it was inserted around the writer")
            if seq != expected_seq:
                missing = "a row is missing before it" if seq > expected_seq else "its position is duplicated"
                return broken(row, f"chain position {seq} where {expected_seq} was expected: {missing}")
            try:
                t, canonical = row_canonical(row)
            except StoreError as exc:
                return broken(row, f"the row cannot be read back: {exc}")
            if link(previous, canonical) != row["witness_hash"]:
                return broken(row, "its hash does not match its contents and the previous link: the row was altered")
            problem = _derived_problem(row, t)
            if problem:
                return broken(row, problem)
            previous = row["witness_hash"]
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
    """Chain rows written before the witness existed, oldest first; inside the caller's transaction."""
    rel = cursor.sql(load_query("unchained_trajectories"))
    names = rel.columns
    rows = [dict(zip(names, r, strict=True)) for r in rel.fetchall()]
    if not rows:
        return 0
    seq, previous = head(cursor)
    canonicals = [row_canonical(r)[1] for r in rows]
    hashes = chain(previous, canonicals)
    table = pa.table(
        {
            "trajectory_id": pa.array([r["trajectory_id"] for r in rows], pa.string()),
            "witness_seq": pa.array(range(seq + 1, seq + len(rows) + 1), pa.int64()),
            "witness_hash": pa.array(hashes, pa.string()),
        }
    )
    cursor.register("witness_backfill", table)
    try:
        run(cursor, "backfill_witness")
    finally:
        # An aborted transaction refuses even this; the error that aborted it is the one to see, and the next
        # register() replaces a leftover view anyway.
        with contextlib.suppress(duckdb.Error):
            cursor.unregister("witness_backfill")
    run(cursor, "update_witness_head", {"seq": seq + len(rows), "hash": hashes[-1]})
    return len(rows)
