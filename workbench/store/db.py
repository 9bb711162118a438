"""Opens the trajectory store (one DuckDB file), applies the schema, and serves batched writes and named-query reads."""

from __future__ import annotations

import atexit
import contextlib
import os
import re
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import duckdb
import platformdirs
import polars as pl

from workbench.domain import Trajectory
from workbench.errors import BadInputError, StoreError
from workbench.store.queries import load_query
from workbench.store.rows import row_to_trajectory, trajectory_to_row
from workbench.store.writer import BatchWriter, RejectedRow

SCHEMA_VERSION = 1
APP_NAME = "clawft-workbench"
MEMORY = ":memory:"


def default_db_path() -> Path:
    """The store used when no --db is given: `workbench.duckdb` in the user data directory."""
    return Path(platformdirs.user_data_dir(APP_NAME)) / "workbench.duckdb"


class TrajectoryStore:
    """One open store. Writes are queued and written by a background thread; reads run on their own cursors.

    Reads see what has been written, not what is still queued: call `flush()` first when that matters.
    """

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        *,
        path: str,
        read_only: bool,
        notice: str | None = None,
        batch_size: int = 1000,
        flush_interval: float = 0.5,
    ) -> None:
        self.path = path
        self.read_only = read_only
        self.notice = notice  # one line for the user when the store is not what they asked for (e.g. read-only)
        self._con = con
        self._closed = False
        self._close_lock = threading.Lock()
        self._writer = (
            None if read_only else BatchWriter(con, where=path, batch_size=batch_size, flush_interval=flush_interval)
        )
        # So rows queued by a program that forgets close() still reach the file on a normal exit.
        atexit.register(self._close_at_exit)

    def __repr__(self) -> str:
        mode = "read-only" if self.read_only else "read-write"
        return f"TrajectoryStore({self.path!r}, {mode}{', closed' if self._closed else ''})"

    def __enter__(self) -> TrajectoryStore:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- writing -----------------------------------------------------------------------------------------------

    def append(self, t: Trajectory) -> None:
        """Queue one trajectory for writing; returns at once (the DuckDB work happens on the writer thread)."""
        if self._writer is None:
            why = f" ({self.notice})" if self.notice else ""
            raise StoreError(f"the trajectory store {self.path} is open read-only{why}; trajectories cannot be saved")
        self._writer.put(trajectory_to_row(t))

    def flush(self, timeout: float | None = None) -> None:
        """Block until everything appended before this call is written; raise StoreError if a write failed."""
        if self._writer is not None:
            self._writer.flush(timeout)

    def close(self) -> None:
        """Flush, stop the writer, close the database. Safe to call twice; runs at interpreter exit if forgotten."""
        with self._close_lock:
            if self._closed:
                return
            self._closed = True
        atexit.unregister(self._close_at_exit)
        try:
            if self._writer is not None:
                self._writer.close()
        finally:
            try:
                self._con.close()
            except duckdb.Error as exc:
                raise StoreError(f"closing the trajectory store {self.path} failed: {exc}") from exc

    def _close_at_exit(self) -> None:
        try:
            self.close()
        except StoreError as exc:  # a traceback at exit helps nobody; the message says what was lost
            print(f"clawft-workbench: {exc}", file=sys.stderr)

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def pending(self) -> int:
        """Trajectories appended but not yet written."""
        return 0 if self._writer is None else self._writer.pending

    @property
    def last_error(self) -> BaseException | None:
        """The most recent write failure (also raised once from the next flush() or close())."""
        return None if self._writer is None else self._writer.last_error

    @property
    def rejected(self) -> list[RejectedRow]:
        """Rows the database refused for their content (e.g. a duplicate trajectory_id), kept for inspection."""
        return [] if self._writer is None else self._writer.rejected

    @property
    def written(self) -> int:
        """Trajectories written by this store object since it was opened."""
        return 0 if self._writer is None else self._writer.written

    # -- reading -----------------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _cursor(self) -> Iterator[duckdb.DuckDBPyConnection]:
        if self._closed:
            raise StoreError(f"the trajectory store {self.path} is closed")
        # A fresh cursor per read: a DuckDB connection must not execute from two threads at once.
        cur = self._con.cursor()
        try:
            yield cur
        finally:
            cur.close()

    def query(self, name: str, **params: Any) -> pl.DataFrame:
        """Run the named query `queries/<name>.sql` with bound parameters; the result as a polars DataFrame."""
        sql = load_query(name)
        with self._cursor() as cur:
            try:
                frame: pl.DataFrame = cur.sql(sql, params=params or None).pl()
                return frame
            except duckdb.Error as exc:
                raise StoreError(f"query {name!r} on {self.path} failed: {exc}") from exc

    def _rows(self, name: str, **params: Any) -> list[dict[str, Any]]:
        """Like query() but as Python dicts (DuckDB's own conversion: MAP -> dict, STRUCT -> dict, LIST -> list)."""
        sql = load_query(name)
        with self._cursor() as cur:
            try:
                rel = cur.sql(sql, params=params or None)
                names = rel.columns
                return [dict(zip(names, row, strict=True)) for row in rel.fetchall()]
            except duckdb.Error as exc:
                raise StoreError(f"query {name!r} on {self.path} failed: {exc}") from exc

    def recent(self, limit: int = 50) -> pl.DataFrame:
        """The newest `limit` trajectories, newest first, with the columns a list view shows."""
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
            raise BadInputError(f"limit must be a whole number >= 0, got {limit!r}")
        return self.query("recent_trajectories", limit=limit)

    def count(self, log: str | None = None) -> int:
        """How many trajectories are stored, in `log` or in all logs."""
        return int(self._rows("count_trajectories", log=log)[0]["n"])

    def get(self, trajectory_id: str) -> Trajectory | None:
        """The full trajectory with this id, or None."""
        rows = self._rows("get_trajectory", trajectory_id=trajectory_id)
        return row_to_trajectory(rows[0]) if rows else None


# -- opening ---------------------------------------------------------------------------------------------------


def _is_lock_error(exc: duckdb.Error) -> bool:
    return "lock" in str(exc).lower()


def _lock_holder(exc: duckdb.Error) -> str:
    match = re.search(r"PID (\d+)", str(exc))
    return f" (PID {match.group(1)})" if match else ""


def _locked(database: str, exc: duckdb.Error) -> StoreError:
    return StoreError(
        f"the trajectory store {database} is locked by another clawft-workbench process{_lock_holder(exc)}: "
        "close that process, or pass --db with another path"
    )


def _connect(database: str, read_only: bool) -> tuple[duckdb.DuckDBPyConnection, bool, str | None]:
    """Connect, falling back to read-only when another process holds the write lock.

    Returns (connection, read_only, notice).
    """
    try:
        return duckdb.connect(database, read_only=read_only), read_only, None
    except duckdb.ConnectionException as exc:
        if "different configuration" not in str(exc):
            raise StoreError(f"cannot open the trajectory store {database}: {exc}") from exc
        # This process already has the file open in the other mode, and DuckDB shares one instance per file and
        # configuration: reuse it, and honour the requested mode in this class instead.
        if read_only:
            try:
                return duckdb.connect(database, read_only=False), True, None
            except duckdb.Error as again:
                raise StoreError(f"cannot open the trajectory store {database}: {again}") from again
        try:
            con = duckdb.connect(database, read_only=True)
        except duckdb.Error as again:
            raise StoreError(f"cannot open the trajectory store {database}: {exc}") from again
        return con, True, f"{database} is already open read-only in this process; new trajectories will not be saved"
    except duckdb.IOException as exc:
        if not _is_lock_error(exc):
            raise StoreError(f"cannot open the trajectory store {database}: {exc}") from exc
        if read_only:
            raise _locked(database, exc) from exc
    except duckdb.Error as exc:
        raise StoreError(f"cannot open the trajectory store {database}: {exc}") from exc

    # Another process writes this file. DuckDB allows readers only while no writer holds it, so this succeeds
    # when the other process itself has it read-only, and fails (with a clear message) when it is writing.
    try:
        con = duckdb.connect(database, read_only=True)
    except duckdb.IOException as exc:
        if _is_lock_error(exc):
            raise _locked(database, exc) from exc
        raise StoreError(f"cannot open the trajectory store {database}: {exc}") from exc
    except duckdb.Error as exc:
        raise StoreError(f"cannot open the trajectory store {database}: {exc}") from exc
    notice = (
        f"{database} is in use by another clawft-workbench process: opened read-only, new trajectories are not saved"
    )
    return con, True, notice


def _prepare(con: duckdb.DuckDBPyConnection, database: str, *, read_only: bool) -> None:
    """Apply the schema (when writable) and check the file's schema version is one this code understands."""
    try:
        if not read_only:
            con.begin()
            con.execute(load_query("schema"))
            # Bound as a parameter: the schema's "now" must be UTC, not the session time zone.
            con.execute(
                "INSERT INTO schema_version SELECT $version, $now "
                "WHERE NOT EXISTS (SELECT 1 FROM schema_version WHERE version = $version)",
                {"version": SCHEMA_VERSION, "now": datetime.now(UTC).replace(tzinfo=None)},
            )
            con.commit()
        row = con.execute("SELECT max(version) FROM schema_version").fetchone()
    except duckdb.CatalogException as exc:
        raise StoreError(
            f"{database} is not a clawft-workbench trajectory store (no schema_version table); "
            "pass --db with another path"
        ) from exc
    except duckdb.Error as exc:
        raise StoreError(f"cannot prepare the trajectory store {database}: {exc}") from exc
    version = row[0] if row else None
    if version is None:
        raise StoreError(f"{database} has no schema version recorded; open it once read-write to initialise it")
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"{database} has schema version {version}, newer than this clawft-workbench understands "
            f"({SCHEMA_VERSION}): upgrade clawft-workbench, or pass --db with another path"
        )


def open_store(
    path: str | os.PathLike[str] | None = None,
    *,
    read_only: bool = False,
    batch_size: int = 1000,
    flush_interval: float = 0.5,
) -> TrajectoryStore:
    """Open (creating if needed) the store at `path`; None means the default file, ":memory:" an in-memory store.

    If another process has the file open for writing, falls back to read-only (`store.read_only`, `store.notice`)
    when DuckDB allows it, and raises StoreError saying how to fix it when it does not.
    """
    if path is None:
        file: Path | None = default_db_path()
    elif os.fspath(path) == MEMORY:
        file = None
    else:
        file = Path(os.fspath(path)).expanduser()

    if file is None:
        if read_only:
            raise BadInputError("an in-memory store (:memory:) cannot be opened read-only: it would always be empty")
        database = MEMORY
    else:
        database = str(file)
        if file.is_dir():
            raise BadInputError(f"--db {database} is a directory; give a file path such as {file / 'workbench.duckdb'}")
        if read_only and not file.exists():
            raise StoreError(f"no trajectory store at {database}; open it read-write once to create it")
        if not read_only:
            try:
                file.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(f"cannot create the directory for the trajectory store {database}: {exc}") from exc

    con, actually_read_only, notice = _connect(database, read_only)
    try:
        _prepare(con, database, read_only=actually_read_only)
        return TrajectoryStore(
            con,
            path=database,
            read_only=actually_read_only,
            notice=notice,
            batch_size=batch_size,
            flush_interval=flush_interval,
        )
    except BaseException:
        con.close()
        raise
