"""Bulk ingest: a checked table of trajectory rows put under the store's privacy mode, chained and inserted."""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor

import duckdb
import pyarrow as pa

from workbench.store.privacy import PrivacyMode, protect_table
from workbench.store.rows import ROW_SCHEMA
from workbench.store.witness import head, insert_linked, linked, prepare_table

# Rows encoded, chained and inserted at a time: bounds the memory of the encodings (~1.5 kB a row), and is the
# grain at which preparing the next chunk overlaps inserting this one.
CHUNK_ROWS = 25_000
_PRIVACY = ROW_SCHEMA.get_field_index("privacy")


def _link(chunk: pa.Table, seq: int, previous: str) -> pa.Table:
    return linked(prepare_table(chunk), seq, previous)


def chain_table(cursor: duckdb.DuckDBPyConnection, table: pa.Table, privacy: PrivacyMode) -> None:
    """Apply `privacy` to a ROW_SCHEMA table, chain every row onto the head and insert; in the caller's transaction.

    The caller holds the store's write lock, so the head cannot move underneath: the chain of every chunk is known
    in advance, and a helper thread encodes and chains chunk k+1 while DuckDB (which releases the GIL) inserts
    chunk k.
    """
    n = table.num_rows
    if n == 0:
        return
    table = protect_table(table, privacy)
    table = table.set_column(_PRIVACY, ROW_SCHEMA.field(_PRIVACY), pa.array([privacy] * n, pa.string()))
    seq, previous = head(cursor)
    starts = range(0, n, CHUNK_ROWS)
    with ThreadPoolExecutor(1, thread_name_prefix="witness-chain") as pool:
        pending: Future[pa.Table] = pool.submit(_link, table.slice(0, CHUNK_ROWS), seq, previous)
        for start in starts:
            ready = pending.result()
            if start + CHUNK_ROWS < n:
                last = ready.num_rows - 1
                seq, previous = ready["witness_seq"][last].as_py(), ready["witness_hash"][last].as_py()
                pending = pool.submit(_link, table.slice(start + CHUNK_ROWS, CHUNK_ROWS), seq, previous)
            insert_linked(cursor, ready)
