"""Opens the trajectory store (one DuckDB file), applies the schema, and serves batched writes and named-query reads."""

from __future__ import annotations

import atexit
import contextlib
import functools
import json
import os
import re
import sys
import threading
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, NoReturn

import duckdb
import platformdirs
import polars as pl

from workbench.domain import Trajectory
from workbench.errors import BadInputError, StoreError
from workbench.store.ingest import chain_table
from workbench.store.migrations import latest_version, migrate, schema_version
from workbench.store.privacy import PrivacyMode, check_mode
from workbench.store.queries import first_row, load_query, run
from workbench.store.rows import row_to_trajectory
from workbench.store.writer import BatchWriter, RejectedRow

if TYPE_CHECKING:
    from workbench.config import RoutingConfig
    from workbench.replay.cue_features import CueSet
    from workbench.store.transfer import ImportReport, Readout
    from workbench.store.witness import VerifyReport

SCHEMA_VERSION = latest_version()
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
        privacy: PrivacyMode = "full",
        routing: RoutingConfig | None = None,
    ) -> None:
        self.path = path
        self.read_only = read_only
        self.notice = notice  # one line for the user when the store is not what they asked for (e.g. read-only)
        self.privacy: PrivacyMode = check_mode(privacy)  # applied to texts before they are stored
        # Whose classifier cues are counted when a full-information log is imported (store/cues.py); None: the
        # embedded default config's.
        self.routing = routing
        self._con = con
        self._closed = False
        self._close_lock = threading.Lock()
        self._seeding: threading.Thread | None = None  # first-run import of the sample trajectories
        # Held by the writer thread per batch and by bulk imports, so the two never interleave on the chain head.
        self._write_lock = threading.Lock()
        self._writer = (
            None
            if read_only
            else BatchWriter(
                con,
                where=path,
                batch_size=batch_size,
                flush_interval=flush_interval,
                privacy=self.privacy,
                write_lock=self._write_lock,
            )
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
        """Queue one trajectory for writing; returns at once.

        Conversion, privacy, the witness and the DuckDB insert happen on the writer thread, so a trajectory the
        store cannot hold (a field that is not JSON, a duplicate id) is reported by the next flush() or close()
        and kept in `rejected`, not raised here.
        """
        if self._writer is None:
            self._refuse("trajectories cannot be saved")
        self._writer.put(t)

    def _refuse(self, what: str) -> NoReturn:
        why = f" ({self.notice})" if self.notice else ""
        raise StoreError(f"the trajectory store {self.path} is open read-only{why}; {what}")

    def flush(self, timeout: float | None = None) -> None:
        """Block until everything appended before this call is written; raise StoreError if a write failed."""
        if self._writer is not None:
            self._writer.flush(timeout)

    def close(self) -> None:
        """Flush, stop the writer, close the database. Safe to call twice; runs at interpreter exit if forgotten."""
        seeding = self._seeding
        if seeding is not None and seeding is not threading.current_thread():
            seeding.join()  # a first-run import in flight finishes its transaction before the file closes
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

    def query(self, name: str, /, **params: Any) -> pl.DataFrame:
        """Run the named query `queries/<name>.sql` with bound parameters; the result as a polars DataFrame."""
        sql = load_query(name)
        with self._cursor() as cur:
            try:
                frame: pl.DataFrame = cur.sql(sql, params=params or None).pl()
                return frame
            except duckdb.Error as exc:
                raise StoreError(f"query {name!r} on {self.path} failed: {exc}") from exc

    def _rows(self, name: str, /, **params: Any) -> list[dict[str, Any]]:
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

    def trajectories_of(self, log: str) -> list[Trajectory]:
        """Every trajectory of one log, in the order they were written."""
        return [row_to_trajectory(r) for r in self._rows("trajectories_of_log", log=log)]

    def outcomes(self, log: str) -> pl.DataFrame:
        """One full-information log's outcome rows (prompt x model), in source order."""
        return self.query("outcomes_of_log", log=log)

    def logs(self) -> pl.DataFrame:
        """Every log in the store: name, kind (live | full-information | bandit | imported), row counts, source."""
        return self.query("log_catalogue")

    # -- integrity ---------------------------------------------------------------------------------------------

    def verify(self) -> VerifyReport:
        """Recompute the witness chain over every stored trajectory; the report names the first broken link.

        Queued trajectories are written first (when the store is writable), so they are checked too.
        """
        from workbench.store.witness import verify

        self.flush()
        with self._cursor() as cur:
            try:
                return verify(cur)
            except duckdb.Error as exc:
                raise StoreError(f"verifying {self.path} failed: {exc}") from exc

    # -- imports and exports -----------------------------------------------------------------------------------

    def ingest(self, readouts: Sequence[Readout]) -> list[ImportReport]:
        """Write what importers read, all in one transaction: every row lands, or (on any error) none does."""
        from workbench.store.cues import count_cues, write_cues
        from workbench.store.outcomes import OutcomeSet, insert_outcomes, with_privacy
        from workbench.store.transfer import ImportReport, TrajectorySet

        if self._writer is None:
            self._refuse("nothing can be imported")
        reports: list[ImportReport] = []
        now = datetime.now(UTC).replace(tzinfo=None)
        # Records are checked (and fail, naming file and row) before anything is written.
        items = [item.as_table() if isinstance(item, TrajectorySet) else item for item in readouts]
        with self._write_lock, self._cursor() as cur:
            cur.begin()
            source = ""
            try:
                for item in items:
                    source = item.source
                    if isinstance(item, OutcomeSet):
                        fresh = self._check_log_kind(cur, item.log, "full-information", source) == 0
                        # Cue counts from the original texts (what privacy must not take from replay), counted on
                        # a helper thread while DuckDB inserts the rows.
                        with ThreadPoolExecutor(1, thread_name_prefix="cue-counts") as pool:
                            counting = (pool.submit(count_cues, item.table, self.cue_set)
                                        if fresh and self.cue_set is not None else None)
                            insert_outcomes(cur, with_privacy(item.table, self.privacy))
                            counted = counting.result() if counting is not None else None
                        write_cues(cur, item.log, counted, self.cue_set, fresh=fresh, now=now)
                        self._register(cur, item.log, "full-information", source, now, item.notes)
                        rows = item.table.num_rows
                        reports.append(ImportReport(item.log, "full-information", rows, source, item.notes))
                        continue
                    table = item
                    for log in table.logs:
                        self._check_log_kind(cur, log, table.kind, source)
                    chain_table(cur, table.table, self.privacy)
                    for log in table.logs:
                        self._register(cur, log, table.kind, source, now, table.notes)
                        reports.append(ImportReport(log, table.kind, table.rows_in(log), source, table.notes))
                cur.commit()
            except duckdb.ConstraintException as exc:
                _rollback(cur)
                raise BadInputError(
                    f"{source}: {exc}; the rows are duplicated in the file or already in {self.path} "
                    "(import under another --name, or leave the file out); nothing was imported"
                ) from exc
            except (ValueError, TypeError, BadInputError) as exc:
                _rollback(cur)
                raise BadInputError(f"{source}: {exc}; nothing was imported") from exc
            except duckdb.Error as exc:
                _rollback(cur)
                raise StoreError(f"importing {source} into {self.path} failed: {exc}; nothing was imported") from exc
            except BaseException:
                _rollback(cur)
                raise
        return reports

    def _check_log_kind(self, cur: duckdb.DuckDBPyConnection, log: str, kind: str, source: str) -> int:
        """Refuse a log name held by another kind of log; returns the outcome rows the log already holds."""
        row = first_row(cur, "log_exists", {"log": log})
        trajectories, outcomes, existing = row if row else (0, 0, None)
        holds_other = outcomes if kind != "full-information" else trajectories
        if holds_other or (existing is not None and existing != kind):
            raise BadInputError(
                f"{source}: log {log!r} already exists in {self.path} as a "
                f"{existing or ('full-information' if outcomes else 'trajectory')} log; "
                "import under another --name"
            )
        return int(outcomes)

    @functools.cached_property
    def cue_set(self) -> CueSet | None:
        """The cue set recorded with full-information logs imported into this store (None under hash-only)."""
        from workbench.store.cues import recording_set

        return recording_set(self.routing, self.privacy)

    @staticmethod
    def _register(cur: duckdb.DuckDBPyConnection, log: str, kind: str, source: str, now: datetime, notes: str) -> None:
        run(cur, "register_log", {"name": log, "kind": kind, "source": source, "now": now, "notes": notes})

    def import_files(
        self, fmt: str, paths: Sequence[str | os.PathLike[str]], name: str | None = None
    ) -> list[ImportReport]:
        """Import Parquet, JSONL or OBP files (all in one transaction); see workbench.store.transfer."""
        from workbench.store.transfer import read_files

        return self.ingest(read_files(fmt, [os.fspath(p) for p in paths], name))

    def import_routellm(
        self, directory: str | os.PathLike[str], name: str | None = None, *, keep_contaminated: bool = False
    ) -> list[ImportReport]:
        """Import a RouteLLM-format directory into `outcomes` (costs derived, and marked so)."""
        from workbench.store.routellm import read_routellm

        return self.ingest(read_routellm(os.fspath(directory), name, keep_contaminated=keep_contaminated))

    def export_log(self, log: str, fmt: str, path: str | os.PathLike[str]) -> int:
        """Write one log to a file (parquet | jsonl | obp); returns the number of rows written."""
        from workbench.store import obp
        from workbench.store.transfer import check_format, outcome_lines, write_jsonl, write_parquet
        from workbench.store.witness import row_canonical

        out = Path(os.fspath(path)).expanduser()
        fmt = check_format(fmt, out)
        self.flush()
        entry = self.logs().filter(pl.col("name") == log)
        if entry.height == 0:
            known = ", ".join(self.logs()["name"].to_list()) or "(none)"
            raise BadInputError(f"no log named {log!r} in {self.path}; logs: {known}")
        info = entry.row(0, named=True)
        meta = {"log": log, "kind": info["kind"], "source": info["source"], "notes": info["notes"], "format": "1"}
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            if info["outcome_rows"]:
                if fmt == "obp":
                    raise BadInputError(
                        f"{log!r} is a full-information log; OBP form is for bandit logs of trajectories"
                    )
                with self._cursor() as cur:
                    table = cur.sql(load_query("outcomes_of_log"), params={"log": log}).to_arrow_table()
                table = table.cast(_outcome_schema())
                if fmt == "jsonl":
                    return write_jsonl(outcome_lines(table), out)
                write_parquet(table, out, {**meta, "table": "outcomes"})
                return int(table.num_rows)
            if fmt == "parquet":
                with self._cursor() as cur:
                    table = cur.sql(load_query("trajectories_of_log"), params={"log": log}).to_arrow_table()
                write_parquet(table, out, {**meta, "table": "trajectories"})
                return int(table.num_rows)
            rows = self._rows("trajectories_of_log", log=log)
            if fmt == "jsonl":
                return write_jsonl((row_canonical(r)[1] for r in rows), out)
            bandit = obp.from_trajectories([row_to_trajectory(r) for r in rows], f"log {log!r}")
            obp.write_bandit_log(bandit, out)
            return bandit.n_rounds
        except OSError as exc:
            raise BadInputError(f"cannot write {out}: {exc}") from exc

    # -- learned state and replay runs -------------------------------------------------------------------------

    def save_policy(
        self, name: str, state: bytes | Mapping[str, Any], *, parent: int | None = None, notes: str = ""
    ) -> int:
        """Store a new version of a policy's learned state (JSON-able mapping or raw bytes); returns its version."""
        if self._writer is None:
            self._refuse("policies cannot be saved")
        if isinstance(state, bytes | bytearray):
            fmt, blob = "bytes", bytes(state)
        else:
            try:
                fmt, blob = "json", json.dumps(state, sort_keys=True, separators=(",", ":")).encode("utf-8")
            except (TypeError, ValueError) as exc:
                raise BadInputError(f"policy {name!r}: the state is not JSON-serialisable: {exc}") from exc
        params = {"name": name, "parent": parent, "now": _utcnow(), "format": fmt, "state": blob, "notes": notes}
        with self._write_lock, self._cursor() as cur:
            try:
                row = first_row(cur, "save_policy", params)
            except duckdb.Error as exc:
                raise StoreError(f"saving policy {name!r} to {self.path} failed: {exc}") from exc
        assert row is not None
        return int(row[0])

    def load_policy(self, name: str, version: int | None = None) -> tuple[int, bytes | dict[str, Any]] | None:
        """(version, state) of a policy (newest when `version` is None), or None when there is none."""
        rows = self._rows("load_policy", name=name, version=version)
        if not rows:
            return None
        row = rows[0]
        blob = bytes(row["state"])
        state: bytes | dict[str, Any] = json.loads(blob) if row["format"] == "json" else blob
        return int(row["version"]), state

    def save_replay_run(
        self,
        *,
        log: str,
        estimator: str,
        configs: Mapping[str, Any],
        results: Mapping[str, Mapping[str, Any]],
        curves: Mapping[str, Mapping[str, Any]] | None = None,
        outcome_source: str = "",
        seed: int | None = None,
        notes: str = "",
    ) -> str:
        """Record a replay run (configs, estimator, per-pipeline metrics and curves); returns its run id."""
        from workbench.domain import new_id

        if self._writer is None:
            self._refuse("replay runs cannot be saved")
        run_id = new_id()
        dump = json.JSONEncoder(sort_keys=True, separators=(",", ":"), default=str).encode
        with self._write_lock, self._cursor() as cur:
            cur.begin()
            try:
                run(
                    cur,
                    "save_replay_run",
                    {
                        "run_id": run_id,
                        "now": _utcnow(),
                        "log": log,
                        "estimator": estimator,
                        "outcome_source": outcome_source,
                        "seed": seed,
                        "configs": dump(configs),
                        "notes": notes,
                    },
                )
                for pipeline, metrics in results.items():
                    curve = (curves or {}).get(pipeline)
                    run(
                        cur,
                        "save_replay_result",
                        {
                            "run_id": run_id,
                            "pipeline": pipeline,
                            "metrics": dump(metrics),
                            "curves": None if curve is None else dump(curve),
                        },
                    )
                cur.commit()
            except duckdb.Error as exc:
                _rollback(cur)
                raise StoreError(f"saving a replay run to {self.path} failed: {exc}") from exc
        return run_id


def _rollback(cur: duckdb.DuckDBPyConnection) -> None:
    # A failed rollback must not hide the error that caused it.
    with contextlib.suppress(duckdb.Error):
        cur.rollback()


def _utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _outcome_schema() -> Any:
    from workbench.store.outcomes import OUTCOME_SCHEMA

    return OUTCOME_SCHEMA


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
    """Migrate the schema (when writable) and check the file's schema version is one this code understands."""
    try:
        if not read_only:
            migrate(con, database)
        version = schema_version(con)
    except duckdb.CatalogException as exc:
        raise StoreError(
            f"{database} is not a clawft-workbench trajectory store (no schema_version table); "
            "pass --db with another path"
        ) from exc
    except duckdb.Error as exc:
        raise StoreError(f"cannot prepare the trajectory store {database}: {exc}") from exc
    if version is None:
        raise StoreError(f"{database} has no schema version recorded; open it once read-write to initialise it")
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"{database} has schema version {version}, newer than this clawft-workbench understands "
            f"({SCHEMA_VERSION}): upgrade clawft-workbench, or pass --db with another path"
        )
    if version < SCHEMA_VERSION:
        raise StoreError(
            f"{database} has schema version {version}, older than this clawft-workbench ({SCHEMA_VERSION}), and is "
            "open read-only: open it read-write once (with no other process using it) to upgrade it"
        )


def open_store(
    path: str | os.PathLike[str] | None = None,
    *,
    read_only: bool = False,
    batch_size: int = 1000,
    flush_interval: float = 0.5,
    privacy: str = "full",
    seed_samples: bool | None = None,
    routing: RoutingConfig | None = None,
) -> TrajectoryStore:
    """Open (creating if needed) the store at `path`; None means the default file, ":memory:" an in-memory store.

    If another process has the file open for writing, falls back to read-only (`store.read_only`, `store.notice`)
    when DuckDB allows it, and raises StoreError saying how to fix it when it does not. `privacy` (full | redacted
    | hash-only) is applied to prompts, messages and responses before they are stored. `seed_samples`: import the
    shipped sample_logs/ when this call creates the file; by default only for the default file (path None), so a
    fresh install opens onto data. `routing`: the config whose classifier cues are counted when a full-information
    log is imported, so replays read counts instead of scanning prompts (store/cues.py); None: the embedded
    default config's.
    """
    mode = check_mode(privacy)
    if path is None:
        file: Path | None = default_db_path()
    elif os.fspath(path) == MEMORY:
        file = None
    else:
        file = Path(os.fspath(path)).expanduser()
    if seed_samples is None:
        seed_samples = path is None

    if file is None:
        if read_only:
            raise BadInputError("an in-memory store (:memory:) cannot be opened read-only: it would always be empty")
        database = MEMORY
        created = True
    else:
        database = str(file)
        if file.is_dir():
            raise BadInputError(f"--db {database} is a directory; give a file path such as {file / 'workbench.duckdb'}")
        if read_only and not file.exists():
            raise StoreError(f"no trajectory store at {database}; open it read-write once to create it")
        created = not file.exists()
        if not read_only:
            try:
                file.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(f"cannot create the directory for the trajectory store {database}: {exc}") from exc

    con, actually_read_only, notice = _connect(database, read_only)
    try:
        _prepare(con, database, read_only=actually_read_only)
        store = TrajectoryStore(
            con,
            path=database,
            read_only=actually_read_only,
            notice=notice,
            batch_size=batch_size,
            flush_interval=flush_interval,
            privacy=mode,
            routing=routing,
        )
    except BaseException:
        con.close()
        raise
    if created and seed_samples and not store.read_only:
        from workbench.store.samples import seed_in_background

        try:
            store._seeding = seed_in_background(store)
        except BaseException:
            store.close()
            if file is not None:
                # A half-seeded default store would never be seeded again: start over on the next open.
                for leftover in (file, file.with_name(file.name + ".wal")):
                    with contextlib.suppress(OSError):
                        leftover.unlink()
            raise
    return store
