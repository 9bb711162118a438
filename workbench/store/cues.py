"""Prompt cue counts recorded beside a full-information log when it is imported (tables of migration 4).

A replay classifies each prompt from counts of cue words (workbench/replay/cue_features.py says which); finding
them in the text costs more than deciding and evaluating a stateless pipeline, so the importer counts them once and
a replay's store pages read them back (workbench/replay/store_pages.py). They are counted from the text as the
source gave it, before the store's privacy mode rewrites it, so a redacted log replays as its original would.

What is counted is the cue set of the store's routing config (`open_store(routing=...)`; without one, the embedded
default config's). A replay under a config with other cue words cannot use them (`CueColumns.select` refuses) and
reads the text instead, so correctness never depends on which set was recorded.

Under hash-only nothing is recorded: that mode promises nothing readable of a prompt is kept, and counts say which
cue words a prompt had. (Redacted keeps the words themselves, but for those inside what it masks, so counts add
little to what it keeps.)

The store package sits below replay; the one thing it takes from there, lazily, is the cue set and its scan.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from workbench.store.privacy import PrivacyMode
from workbench.store.queries import load_query, run

if TYPE_CHECKING:
    from workbench.config import RoutingConfig
    from workbench.replay.cue_features import CueSet

_IMPORT_VIEW = "cue_import_batch"  # named in queries/import_prompt_texts.sql
_ROWS_VIEW = "prompt_cue_batch"  # named in queries/insert_prompt_cues.sql


def recording_set(routing: RoutingConfig | None, privacy: PrivacyMode) -> CueSet | None:
    """The cue set a store records at import: its routing config's (the embedded default config's when it has
    none), or None under hash-only."""
    if privacy == "hash-only":
        return None
    from workbench.config import load_config
    from workbench.replay.cue_features import CueSet

    return CueSet.of_routing(routing if routing is not None else load_config(None).routing)


def count_cues(table: pa.Table, cues: CueSet) -> pa.Table | None:
    """The cue counts of the prompts of `table` (OUTCOME_SCHEMA rows as the source gave them, before the privacy
    mode), one row per prompt in (row_index, prompt_id) order: row_index, prompt_id and the packed counts. None when
    the rows do not give each prompt one row_index of its own (replay pages place counts by row_index).

    Touches no store, so the importer runs it on a helper thread while DuckDB inserts the outcomes."""
    if table.num_rows == 0:
        return None
    # A private in-memory database groups the rows: the store's connection is busy inserting them meanwhile.
    con = duckdb.connect()
    try:
        with _view(con, _IMPORT_VIEW, table.select(["row_index", "prompt_id", "model", "prompt"])):
            texts = con.sql(load_query("import_prompt_texts")).to_arrow_table()
    finally:
        con.close()
    n = int(texts.num_rows)
    if pc.count_distinct(texts["row_index"]).as_py() != n or pc.count_distinct(texts["prompt_id"]).as_py() != n:
        return None
    from workbench.replay.cue_features import COUNTS, DISTINCT, SCALAR, WORDS, record

    found = record(cues, pl.Series("prompt", texts["prompt"]).cast(pl.String).fill_null("")).arrow_columns()
    return pa.table({"row_index": texts["row_index"], "prompt_id": texts["prompt_id"], "counts": found[COUNTS],
                     "distinct_hits": found[DISTINCT], "words": found[WORDS], "scalar": found[SCALAR]})


def write_cues(cursor: duckdb.DuckDBPyConnection, log: str, counted: pa.Table | None, cues: CueSet | None, *,
               fresh: bool, now: datetime) -> int:
    """Record `counted` (from `count_cues`) as the cue counts of `log`, inside the caller's transaction; returns the
    prompts recorded.

    `fresh`: the log held no outcomes before this import. Otherwise the log's recorded counts are dropped instead
    (they would cover only part of it, or a prompt twice) and replay reads its text."""
    if not fresh:
        run(cursor, "delete_log_prompt_cues", {"log": log})
        run(cursor, "delete_log_cue_sets", {"log": log})
        return 0
    if counted is None or cues is None:
        return 0
    n = int(counted.num_rows)
    fingerprint = cues.fingerprint
    rows = counted.add_column(0, "log", pa.array([log] * n, pa.string())).add_column(
        1, "fingerprint", pa.array([fingerprint] * n, pa.string()))
    with _view(cursor, _ROWS_VIEW, rows):
        run(cursor, "insert_prompt_cues")
    run(cursor, "insert_cue_set", {"log": log, "fingerprint": fingerprint, "cues": cues.to_json(), "rows": n,
                                   "now": now})
    return n


@contextlib.contextmanager
def _view(cursor: duckdb.DuckDBPyConnection, name: str, table: pa.Table) -> Iterator[None]:
    cursor.register(name, table)
    try:
        yield
    finally:
        # An aborted transaction refuses even this; the error that aborted it is the one to see, and the next
        # register() replaces a leftover view anyway.
        with contextlib.suppress(duckdb.Error):
            cursor.unregister(name)


__all__ = ["count_cues", "recording_set", "write_cues"]
