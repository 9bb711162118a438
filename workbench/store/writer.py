"""The store's one batched writer: callers enqueue trajectories without blocking; a background thread converts
them to Arrow columns, chains them into the witness and inserts each batch in one transaction."""

from __future__ import annotations

import contextlib
import threading
import time
from collections import deque
from dataclasses import dataclass

import duckdb
import pyarrow as pa

from workbench.domain import Trajectory
from workbench.errors import BadInputError, StoreError
from workbench.store.privacy import PrivacyMode
from workbench.store.witness import append_chained, prepare

# Errors that mean some trajectory in the batch is bad, so retrying the same batch can never succeed. On these
# the writer splits the batch to isolate the culprits instead of retrying; anything else (I/O, out of memory, a
# write conflict, an unknown failure) is treated as transient and the whole batch is kept for a retry.
_DATA_ERRORS: tuple[type[BaseException], ...] = (
    duckdb.IntegrityError,  # duplicate trajectory_id, NULL in a NOT NULL column
    duckdb.DataError,  # conversion, out of range, type mismatch
    pa.ArrowException,
    BadInputError,  # a free-form field that is not JSON
    OverflowError,
    TypeError,
    ValueError,
    AttributeError,  # not a Trajectory at all
)

_MAX_BACKOFF_S = 30.0


@dataclass(frozen=True, slots=True)
class RejectedRow:
    """A trajectory the store refused for its content; kept so it is never dropped without a trace."""

    trajectory: Trajectory
    reason: str

    @property
    def trajectory_id(self) -> str:
        return str(getattr(self.trajectory, "trajectory_id", "?"))


_CONFLICT_RETRIES = 100


def _is_conflict(exc: BaseException) -> bool:
    return isinstance(exc, duckdb.TransactionException) and "conflict" in str(exc).lower()


def insert_table(cursor: duckdb.DuckDBPyConnection, batch: list[Trajectory], privacy: PrivacyMode) -> None:
    """Convert, chain and insert `batch` in one transaction (all of it or none).

    Another writer on the same file (a second store in this process) moving the chain head first makes DuckDB
    refuse this transaction; that is not a failure, so it is retried at once on the new head.
    """
    prepared = prepare(batch, privacy)
    for attempt in range(_CONFLICT_RETRIES + 1):
        cursor.begin()
        try:
            append_chained(cursor, prepared)
            cursor.commit()
            return
        except BaseException as exc:
            # A failed rollback must not hide the error that caused it.
            with contextlib.suppress(duckdb.Error):
                cursor.rollback()
            if not _is_conflict(exc) or attempt == _CONFLICT_RETRIES:
                raise
        time.sleep(0.001 * (attempt + 1))


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


class BatchWriter:
    """Owns the queue and the writer thread for one connection.

    Trajectories are settled in queue order: each is either written or rejected (see RejectedRow). A transient
    failure puts the unsettled ones back at the head of the queue, records the error and retries with backoff;
    the error is raised (as StoreError) from the next `flush()` or `close()` so it is never lost silently.
    Conversion (privacy, Arrow columns, the witness encoding and chain) happens here on the writer thread, so `put`
    is a bare queue append.
    """

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        *,
        where: str,
        batch_size: int = 1000,
        flush_interval: float = 0.5,
        privacy: PrivacyMode = "full",
        write_lock: threading.Lock | None = None,
    ) -> None:
        if batch_size < 1:
            raise BadInputError(f"batch_size must be at least 1, got {batch_size}")
        if flush_interval <= 0:
            raise BadInputError(f"flush_interval must be positive, got {flush_interval}")
        self._con = con
        self._where = where
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self.privacy: PrivacyMode = privacy
        # Held while a batch is written, so a bulk import on the same store never interleaves with a batch.
        self._write_lock = write_lock or threading.Lock()

        # A plain Lock, not the default RLock: put() takes it on every append and nothing here re-enters it.
        self._cond = threading.Condition(threading.Lock())
        self._pending: deque[Trajectory] = deque()
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

    def put(self, trajectory: Trajectory) -> None:
        """Enqueue one trajectory. Only a brief lock: the writer thread never holds it while talking to DuckDB."""
        with self._cond:
            if self._stopping:
                raise StoreError(f"the trajectory store {self._where} is closed")
            if self._crash is not None:
                raise StoreError(f"the trajectory writer for {self._where} has stopped: {_describe(self._crash)}")
            self._pending.append(trajectory)
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
                self.rejected.extend(RejectedRow(t, reason) for t in self._pending)
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

    def _next_batch(self) -> tuple[list[Trajectory], bool]:
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

    def _take(self) -> list[Trajectory]:
        batch = list(self._pending)
        self._pending.clear()
        return batch

    def _write(self, cursor: duckdb.DuckDBPyConnection, batch: list[Trajectory]) -> None:
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
        self, cursor: duckdb.DuckDBPyConnection, batch: list[Trajectory]
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
                with self._write_lock:
                    insert_table(cursor, rows, self.privacy)
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
