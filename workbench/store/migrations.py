"""Brings a store file's schema up to date: numbered migrations from queries/migrations, each once, in order."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import UTC, datetime

import duckdb

from workbench.errors import StoreError
from workbench.store.queries import first_row, migrations, run


def _chain_old_rows(cursor: duckdb.DuckDBPyConnection) -> None:
    from workbench.store.witness import backfill

    backfill(cursor)


# Steps SQL cannot express, run right after their migration inside the same transaction. Rows from schema 1 are
# chained after migration 3 (as witness version 2, whose encoding needs every column 3 leaves in place), not
# after migration 2 where the chain itself appears.
_AFTER: dict[int, Callable[[duckdb.DuckDBPyConnection], None]] = {3: _chain_old_rows}


def latest_version() -> int:
    """The schema version this code writes: the highest numbered migration."""
    return len(migrations())


def schema_version(con: duckdb.DuckDBPyConnection) -> int | None:
    """The highest migration applied to the open file (None when the version table is empty)."""
    row = first_row(con, "schema_version")
    return None if row is None or row[0] is None else int(row[0])


def migrate(con: duckdb.DuckDBPyConnection, database: str) -> list[int]:
    """Apply every migration newer than the file's version; returns the versions applied.

    Each migration and its record in `schema_version` commit together, so a crash leaves the file at the last
    complete version and the next open carries on from there.
    """
    run(con, "schema")
    current = schema_version(con) or 0
    applied: list[int] = []
    for version, name, sql in migrations():
        if version <= current:
            continue
        con.begin()
        try:
            con.execute(sql).fetchall()
            step = _AFTER.get(version)
            if step is not None:
                step(con)
            # Bound as a parameter: the version table's time must be UTC, not the session time zone.
            run(con, "record_schema_version", {"version": version, "now": datetime.now(UTC).replace(tzinfo=None)})
            con.commit()
        except BaseException as exc:
            with contextlib.suppress(duckdb.Error):  # the error that made us roll back is the one to report
                con.rollback()
            if isinstance(exc, duckdb.Error):
                raise StoreError(f"upgrading {database} to schema version {version} ({name}) failed: {exc}") from exc
            raise
        applied.append(version)
    return applied
