"""The store's one batched writer: callers enqueue rows without blocking; a background thread inserts batches."""

from __future__ import annotations

import contextlib
import threading
import time
from collections import deque
from dataclasses import dataclass

import duckdb
import pyarrow as pa

from workbench.errors import BadInputError, StoreError
from workbench.store.rows import Row, rows_to_arrow

_VIEW = "trajectory_batch"
_INSERT = f"INSERT INTO trajectories BY NAME SELECT * FROM {_VIEW}"

# Errors that mean some row in the batch is bad, so retrying the same batch can never succeed. On these the
# writer splits the batch to isolate the culprits instead of retrying; anything else (I/O, out of memory, an
# unknown failure) is treated as transient and the whole batch is kept for a retry.
_DATA_ERRORS: tuple[type[BaseException], ...] = (
    duckdb.IntegrityError,  # duplicate trajectory_id, NULL in a NOT NULL column
    duckdb.DataError,  # conversion, out of range, type mismatch
    pa.ArrowException,
    OverflowError,
    TypeError,
    ValueError,
)

_MAX_BACKOFF_S = 30.0


@dataclass(frozen=True, slots=True)
class RejectedRow:
    """A row the database refused for its content; kept so it is never dropped without a trace."""

    row: Row
    reason: str


def insert_table(cursor: duckdb.DuckDBPyConnection, table: pa.Table) -> None:
    """Insert an Arrow table of ROW_SCHEMA rows into `trajectories` in one statement and one transaction."""
    cursor.register(_VIEW, table)
    try:
        cursor.begin()
        try:
            cursor.execute(_INSERT).fetchall()
            cursor.commit()
        except BaseException:
            # A failed rollback must not hide the error that caused it.
            with contextlib.suppress(duckdb.Error):
                cursor.rollback()
            raise
    finally:
        # After the transaction ends: an aborted transaction refuses even an unregister, which would mask
        # the real error. register() replaces a leftover view of the same name anyway.
        with contextlib.suppress(duckdb.Error):
            cursor.unregister(_VIEW)


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


class BatchWriter:
    """Owns the queue and the writer thread for one connection.

    Rows are settled in queue order: each is either written or rejected (see RejectedRow). A transient failure
    puts the unsettled rows back at the head of the queue, records the error and retries with backoff; the error
    is raised (as StoreError) from the next `flush()` or `close()` so it is never lost silently.
    """

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        *,
        where: str,
        batch_size: int = 1000,
        flush_interval: float = 0.5,
    ) -> None:
        if batch_size < 1:
            raise BadInputError(f"batch_size must be at least 1, got {batch_size}")
        if flush_interval <= 0:
            raise BadInputError(f"flush_interval must be positive, got {flush_interval}")
        self._con = con
        self._where = where
        self.batch_size = batch_size
        self.flush_interval = flush_interval

        self._cond = threading.Condition()
        self._pending: deque[Row] = deque()
        self._enqueued = 0  # rows ever put
        self._settled = 0  # rows ever written or rejected; always a prefix of the enqueued ones
        self._failures = 0  # transient batch failures so far
        self._flush_requests = 0
        self._flush_seen = 0
        self._last_attempt = 0.0
        self._retry_at = 0.0
        self._streak = 0
        self._stopping = False
        self._exited = False
        self._crash: BaseException | None = None
        self._unreported: BaseException | None = None
        self.last_error: BaseException | None = None
        self.rejected: list[RejectedRow] = []
        self.written = 0
        self.write_seconds = 0.0

        self._thread = threading.Thread(target=self._run, name=f"trajectory-writer:{where}", daemon=True)
        self._thread.start()

    # -- caller side -------------------------------------------------------------------------------------------

    @property
    def pending(self) -> int:
        """Rows enqueued but not yet settled (queued, or in the batch being written)."""
        with self._cond:
            return self._enqueued - self._settled

    def put(self, row: Row) -> None:
        """Enqueue one row. Only a brief lock: the writer thread never holds it while talking to DuckDB."""
        with self._cond:
            if self._stopping:
                raise StoreError(f"the trajectory store {self._where} is closed")
            if self._crash is not None:
                raise StoreError(f"the trajectory writer for {self._where} has stopped: {_describe(self._crash)}")
            self._pending.append(row)
            self._enqueued += 1
            # Wake the writer on the rising edge only; below the threshold its timed wait picks rows up.
            if len(self._pending) == self.batch_size:
                self._cond.notify_all()

    def flush(self, timeout: float | None = None) -> None:
        """Block until every row enqueued before this call is settled; raise StoreError for any unreported failure."""
        with self._cond:
            target = self._enqueued
            failures = self._failures
            self._flush_requests += 1
            self._cond.notify_all()
            done = self._cond.wait_for(
                lambda: self._settled >= target or self._failures > failures or self._exited,
                timeout,
            )
            if self._crash is not None:
                raise StoreError(
                    f"the trajectory writer for {self._where} has stopped: {_describe(self._crash)}"
                ) from self._crash
            self._raise_unreported()
            if not done:
                raise StoreError(
                    f"flushing the trajectory store {self._where} timed out after {timeout}s "
                    f"with {self._enqueued - self._settled} rows still pending"
                )

    def close(self) -> None:
        """Write what is queued (one last attempt), stop the thread; raise StoreError if anything was not written."""
        with self._cond:
            if self._stopping:
                return
            self._stopping = True
            self._cond.notify_all()
        self._thread.join()
        with self._cond:
            if self._pending:
                # The process may be about to exit: move unwritten rows where the caller can still reach them.
                reason = f"not written before close: {_describe(self.last_error) if self.last_error else 'unknown'}"
                self.rejected.extend(RejectedRow(row, reason) for row in self._pending)
                self._settled += len(self._pending)
                self._pending.clear()
                if self._unreported is None:
                    self._unreported = StoreError(reason)
            if self._crash is not None and self._unreported is None:
                self._unreported = self._crash
            self._raise_unreported()

    def _raise_unreported(self) -> None:
        """Raise the oldest unreported failure once. Caller holds the lock."""
        exc = self._unreported
        if exc is None:
            return
        self._unreported = None
        pending = self._enqueued - self._settled
        if isinstance(exc, StoreError):
            message = str(exc)
        else:
            message = f"writing trajectories to {self._where} failed: {_describe(exc)}"
        notes = []
        if pending:
            notes.append(f"{pending} rows are still queued and will be retried")
        if self.rejected:
            notes.append(f"{len(self.rejected)} rows rejected so far (see store.rejected)")
        raise StoreError("; ".join([message, *notes])) from exc

    # -- writer thread -----------------------------------------------------------------------------------------

    def _run(self) -> None:
        cursor: duckdb.DuckDBPyConnection | None = None
        try:
            # DuckDB connections must not run statements from two threads at once; this thread has its own cursor.
            cursor = self._con.cursor()
            while True:
                batch, stopping = self._next_batch()
                if batch:
                    self._write(cursor, batch)
                if stopping:
                    return
        except Exception as exc:  # waiters must be woken, not left hanging on a dead thread
            with self._cond:
                self._crash = exc
                self.last_error = exc
        finally:
            if cursor is not None:
                with contextlib.suppress(duckdb.Error):
                    cursor.close()
            with self._cond:
                self._exited = True
                self._cond.notify_all()

    def _next_batch(self) -> tuple[list[Row], bool]:
        """Wait until there is something to write: a full batch, the interval elapsed, a flush, or close."""
        with self._cond:
            while True:
                if self._stopping:
                    return self._take(), True
                now = time.monotonic()
                if self._flush_requests != self._flush_seen:
                    self._flush_seen = self._flush_requests
                    return self._take(), False
                due = max(self._retry_at, self._last_attempt + self.flush_interval)
                if self._pending and now >= self._retry_at and (len(self._pending) >= self.batch_size or now >= due):
                    return self._take(), False
                # Idle: wake every interval anyway, because puts below batch_size do not notify.
                self._cond.wait(max(due - now, 0.001) if self._pending else self.flush_interval)

    def _take(self) -> list[Row]:
        batch = list(self._pending)
        self._pending.clear()
        return batch

    def _write(self, cursor: duckdb.DuckDBPyConnection, batch: list[Row]) -> None:
        started = time.monotonic()
        self._last_attempt = started
        settled, written, rejected, error = self._insert_isolating_bad_rows(cursor, batch)
        with self._cond:
            self.write_seconds += time.monotonic() - started
            self.written += written
            self._settled += settled
            if rejected:
                self.rejected.extend(rejected)
                first = rejected[0].reason
                err = StoreError(
                    f"{len(rejected)} trajectories rejected by {self._where} (first: {first}); "
                    "they are kept in store.rejected"
                )
                self.last_error = err
                self._unreported = self._unreported or err
            if error is None:
                self._streak = 0
                self._retry_at = 0.0
            else:
                self._pending.extendleft(reversed(batch[settled:]))
                self._failures += 1
                self._streak += 1
                self._retry_at = time.monotonic() + min(self.flush_interval * 2**self._streak, _MAX_BACKOFF_S)
                self.last_error = error
                self._unreported = self._unreported or error
            self._cond.notify_all()

    def _insert_isolating_bad_rows(
        self, cursor: duckdb.DuckDBPyConnection, batch: list[Row]
    ) -> tuple[int, int, list[RejectedRow], BaseException | None]:
        """Insert `batch`; on a data error bisect it so good rows still land and only the bad ones are rejected.

        Halves are processed left to right, so what is settled is always a prefix of the batch: on a transient
        error the rest can go back to the queue in order. Returns (settled, written, rejected, transient error).
        """
        stack = [(0, len(batch))]
        settled = written = 0
        rejected: list[RejectedRow] = []
        while stack:
            lo, hi = stack.pop()
            rows = batch[lo:hi]
            try:
                insert_table(cursor, rows_to_arrow(rows))
            except _DATA_ERRORS as exc:
                if hi - lo == 1:
                    rejected.append(RejectedRow(rows[0], _describe(exc)))
                    settled = hi
                else:
                    mid = (lo + hi) // 2
                    stack.extend([(mid, hi), (lo, mid)])
                continue
            except Exception as exc:  # transient or unknown: keep the rows for a retry
                return settled, written, rejected, exc
            settled = hi
            written += hi - lo
        return settled, written, rejected, None
