"""Tests for the trajectory store: row flattening, the batched writer, named queries and opening/locking."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import textwrap
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import platformdirs
import pytest

from workbench.domain import (
    AssembledContext,
    Attempt,
    Candidate,
    ChatRequest,
    LlmResponse,
    Message,
    QualityScore,
    RoutingDecision,
    TaskProfile,
    Trajectory,
    Usage,
)
from workbench.errors import BadInputError, StoreError
from workbench.store import TrajectoryStore, load_query, open_store
from workbench.store import writer as writer_module
from workbench.store.db import SCHEMA_VERSION
from workbench.store.migrations import migrate
from workbench.store.outcomes import OUTCOME_SCHEMA
from workbench.store.rows import (
    DERIVED_COLUMNS,
    FIELD_COLUMNS,
    ROW_SCHEMA,
    row_to_trajectory,
    rows_to_arrow,
    trajectory_to_row,
)

PROJECT_ROOT = Path(__file__).resolve().parents[1]
T0 = 1_732_400_000.123456789  # not representable in microseconds: catches a lossy created_at


def make_trajectory(i: int = 0, *, created_at: float | None = None, log: str = "live") -> Trajectory:
    """A trajectory with every nested record populated and nothing left at its default."""
    prompt = f"Summarise the attached incident report #{i} in three bullet points."
    messages = (
        Message("system", "You are a concise SRE assistant."),
        Message("user", prompt),
    )
    return Trajectory(
        trajectory_id=f"traj-{i:06d}",
        created_at=T0 + i * 0.001 if created_at is None else created_at,
        pipeline_id="pipeline-balanced",
        config_hash="sha256:9f2c41",
        request=ChatRequest(
            messages=messages,
            tools=({"type": "function", "function": {"name": "lookup_runbook", "parameters": {"type": "object"}}},),
            metadata={"user": "u-17", "tenant": "acme", "tags": ["oncall", "p1"], "retry": 0, "score": 0.25},
            max_output_tokens=512,
        ),
        profile=TaskProfile(
            task_type="analysis",
            complexity=0.62,
            factors={"length": 0.4, "reasoning": 0.8, "domain": 0.55},
            budget_class="premium",
            urgency="high",
            required_capabilities=("json_mode", "long_context"),
            confidence=0.87,
            explanation="mentions an incident report and asks for a structured summary",
        ),
        decision=RoutingDecision(
            model="anthropic/claude-sonnet",
            strategy="thompson",
            candidates=(
                Candidate("anthropic/claude-sonnet", score=0.91, probability=0.7),
                Candidate("openai/gpt-4o-mini", score=0.74, probability=0.3),
                Candidate("local/llama-8b", score=0.2, probability=0.0, excluded="lacks long_context"),
            ),
            propensity=0.7,
            explored=True,
            uncertainty=0.12,
            reason="highest sampled quality within the premium budget",
            fallbacks=("openai/gpt-4o-mini",),
        ),
        context=AssembledContext(
            messages=messages,
            tokens=1834,
            budget=8000,
            dropped=2,
            notes="dropped two oldest turns",
        ),
        response=LlmResponse(
            text="- Root cause: expired cert\n- Impact: 14 min outage\n- Fix: automated rotation",
            served_model="openai/gpt-4o-mini",
            status="ok",
            usage=Usage(input_tokens=1834, output_tokens=41),
            cost_usd=0.000301,
            price_version="2025-06-01",
            ttft_ms=212.5,
            latency_ms=1480.25,
            attempts=(
                Attempt(
                    "anthropic/claude-sonnet",
                    "http_429",
                    latency_ms=95.0,
                    http_status=429,
                    retry_after_s=2.5,
                    error="rate limited",
                ),
                Attempt("openai/gpt-4o-mini", "ok", latency_ms=1380.0, http_status=200),
            ),
            tool_calls=({"id": "call_1", "name": "lookup_runbook", "arguments": {"service": "edge"}},),
            finish_reason="length",
            json_repaired=True,
            error=None,
            metadata={"true_quality": 0.83, "region": "eu-west-1"},
        ),
        quality=QualityScore(
            accuracy=0.9,
            relevance=0.95,
            completeness=0.7,
            coherence=0.88,
            safety=1.0,
            overall=0.86,
            source="judge",
            explanations={"completeness": "omits the timeline", "accuracy": "matches the report"},
        ),
        reward=0.79,
        learner_version_before=41,
        learner_version_after=42,
        source="simulated",
        log=log,
    )


def run_python(code: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, env=env, timeout=timeout
    )


@pytest.fixture
def store() -> Any:
    s = open_store(":memory:", flush_interval=0.05)
    yield s
    s.close()


# -- rows ------------------------------------------------------------------------------------------------------


def test_row_round_trip_is_exact() -> None:
    t = make_trajectory(7)
    row = trajectory_to_row(t)
    assert row["prompt"] == t.request.prompt
    assert row["provider"] == "anthropic"
    assert row["created_unix"] == t.created_at
    assert row_to_trajectory(row) == t


def test_row_round_trip_through_arrow() -> None:
    t = make_trajectory(3)
    table = rows_to_arrow([trajectory_to_row(t)])
    assert table.schema.equals(ROW_SCHEMA)
    # pyarrow gives MAP columns as (key, value) pairs, not dicts: row_to_trajectory must accept that too.
    (back,) = table.to_pylist()
    assert isinstance(back["factors"], list)
    assert row_to_trajectory(back) == t


def test_defaults_and_nones_round_trip_through_duckdb(store: TrajectoryStore) -> None:
    # What a NoopScorer and an unlearned pipeline produce: no quality, no reward, no attempts, empty mappings.
    t = Trajectory(
        trajectory_id="bare",
        created_at=0.1,
        pipeline_id="p",
        config_hash="h",
        request=ChatRequest.from_prompt("hi"),
        profile=TaskProfile(task_type="triage"),
        decision=RoutingDecision(model="no-provider-model", strategy="static"),
        context=AssembledContext(messages=(), tokens=0, budget=0),
        response=LlmResponse(text="", served_model="", status="failed", error="all deployments failed"),
        quality=QualityScore(),
    )
    assert t.quality.overall is None and t.reward is None
    store.append(t)
    store.flush()
    assert store.get("bare") == t
    row = store.query("get_trajectory", trajectory_id="bare").row(0, named=True)
    assert row["provider"] == ""
    assert row["q_overall"] is None
    assert row["created_at"] == datetime(1970, 1, 1, 0, 0, 0, 100000)


def test_json_columns_are_canonical() -> None:
    row = trajectory_to_row(make_trajectory())
    meta = row["request_metadata"]
    assert meta == json.dumps(json.loads(meta), sort_keys=True, separators=(",", ":"))
    assert meta.startswith('{"retry":0,"score":0.25,')


def _domain_field_paths(obj: Any, prefix: str = "") -> set[str]:
    paths: set[str] = set()
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            paths |= _domain_field_paths(value, f"{prefix}{f.name}.")
        else:
            paths.add(f"{prefix}{f.name}")
    return paths


def test_every_domain_field_has_a_column() -> None:
    # A field added to the domain records must get a column, or the store would silently drop it.
    assert _domain_field_paths(make_trajectory()) == set(FIELD_COLUMNS)
    assert set(FIELD_COLUMNS.values()) | DERIVED_COLUMNS == set(ROW_SCHEMA.names)
    assert len(set(FIELD_COLUMNS.values())) == len(FIELD_COLUMNS)


@pytest.mark.parametrize(("table", "schema"), [("trajectories", ROW_SCHEMA), ("outcomes", OUTCOME_SCHEMA)])
def test_arrow_schemas_match_the_sql_tables(table: str, schema: Any) -> None:
    con = duckdb.connect()
    assert migrate(con, ":memory:") == list(range(1, SCHEMA_VERSION + 1))
    con.register("empty_batch", schema.empty_table())
    table_cols = [(r[0], r[1]) for r in con.execute(f"DESCRIBE {table}").fetchall()]
    arrow_cols = [(r[0], r[1]) for r in con.execute("DESCRIBE SELECT * FROM empty_batch").fetchall()]
    con.close()
    assert arrow_cols == table_cols


def test_unserialisable_metadata_is_rejected_at_flush_and_the_rest_lands(store: TrajectoryStore) -> None:
    # append is a bare enqueue; conversion happens on the writer thread, which isolates the bad trajectory.
    t = make_trajectory()
    bad = dataclasses.replace(t, request=dataclasses.replace(t.request, metadata={"when": object()}))
    store.append(make_trajectory(1))
    store.append(bad)
    store.append(make_trajectory(2))
    with pytest.raises(StoreError, match=r"traj-000000: request.metadata cannot be stored as JSON"):
        store.flush()
    assert store.pending == 0
    assert store.count() == 2
    (rejected,) = store.rejected
    assert rejected.trajectory is bad and rejected.trajectory_id == "traj-000000"
    assert store.verify().ok


# -- queries ---------------------------------------------------------------------------------------------------


def test_load_query_reads_the_sql_file() -> None:
    text = load_query("recent_trajectories")
    assert "$limit" in text
    assert text == (PROJECT_ROOT / "queries" / "recent_trajectories.sql").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", ["nope", "../pyproject", "schema.sql"])
def test_load_query_unknown_name_lists_the_known_ones(name: str) -> None:
    with pytest.raises(StoreError) as info:
        load_query(name)
    message = str(info.value)
    assert repr(name) in message
    for known in ("count_trajectories", "get_trajectory", "recent_trajectories", "schema"):
        assert known in message


# -- writing and reading ---------------------------------------------------------------------------------------


def test_memory_store_round_trip(store: TrajectoryStore) -> None:
    t = make_trajectory(1)
    store.append(t)
    store.flush()
    assert store.pending == 0
    assert store.count() == 1
    assert store.get(t.trajectory_id) == t
    assert store.get("no-such-id") is None


def test_rows_reach_the_database_without_flush(store: TrajectoryStore) -> None:
    store.append(make_trajectory(1))
    deadline = time.monotonic() + 5
    while store.count() == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert store.count() == 1  # the writer's timer wrote it; nobody called flush()


def test_2500_rows_survive_close_and_reopen(tmp_path: Path) -> None:
    db = tmp_path / "nested" / "wb.duckdb"  # the parent directory is created on open
    trajectories = [make_trajectory(i, log="live" if i % 5 else "shadow") for i in range(2500)]
    store = open_store(db)
    started = time.perf_counter()
    for t in trajectories:
        store.append(t)
    enqueue_s = time.perf_counter() - started
    store.close()
    total_s = time.perf_counter() - started
    print(f"2500 rows: enqueue {enqueue_s * 1e3:.1f} ms, enqueue+write+close {total_s * 1e3:.1f} ms")
    assert store.closed

    with open_store(db) as reopened:
        assert not reopened.read_only
        assert reopened.notice is None
        assert reopened.count() == 2500
        assert reopened.count(log="shadow") == 500
        assert reopened.count(log="live") == 2000
        assert reopened.count(log="nowhere") == 0
        for i in (0, 1234, 2499):
            assert reopened.get(trajectories[i].trajectory_id) == trajectories[i]

        recent = reopened.recent(limit=5)
        assert recent.height == 5
        assert recent.columns == [
            "trajectory_id",
            "created_at",
            "log",
            "task_type",
            "model",
            "strategy",
            "status",
            "cost_usd",
            "latency_ms",
            "q_overall",
            "prompt",
        ]
        assert recent["trajectory_id"].to_list() == [f"traj-{i:06d}" for i in range(2499, 2494, -1)]
        times = recent["created_at"].to_list()
        assert times == sorted(times, reverse=True)
        assert reopened.recent(limit=0).height == 0


def test_concurrent_appends_and_reads(tmp_path: Path) -> None:
    # Several request threads append while a UI-like thread keeps reading on its own cursors.
    store = open_store(tmp_path / "wb.duckdb", batch_size=100, flush_interval=0.01)
    errors: list[BaseException] = []
    stop = threading.Event()

    def produce(offset: int) -> None:
        try:
            for i in range(offset, offset + 500):
                store.append(make_trajectory(i))
        except BaseException as exc:
            errors.append(exc)

    def read() -> None:
        try:
            last = 0
            while not stop.is_set():
                n = store.count()
                assert n >= last  # committed rows never disappear
                last = n
                store.recent(limit=3)
        except BaseException as exc:
            errors.append(exc)

    reader = threading.Thread(target=read)
    reader.start()
    producers = [threading.Thread(target=produce, args=(k * 500,)) for k in range(4)]
    for p in producers:
        p.start()
    for p in producers:
        p.join()
    store.flush()
    stop.set()
    reader.join()
    assert errors == []
    assert store.count() == 2000
    assert store.get("traj-001999") == make_trajectory(1999)
    store.close()


def test_recent_rejects_a_bad_limit(store: TrajectoryStore) -> None:
    with pytest.raises(BadInputError):
        store.recent(limit=-1)


def test_query_runs_named_sql_with_bound_parameters(store: TrajectoryStore) -> None:
    store.append(make_trajectory(1, log="a"))
    store.append(make_trajectory(2, log="b"))
    store.flush()
    # A value that would break formatted SQL must arrive intact as a bound parameter.
    assert store.query("count_trajectories", log="a' OR '1'='1")["n"].to_list() == [0]
    assert store.query("count_trajectories", log="b")["n"].to_list() == [1]
    with pytest.raises(StoreError, match="recent_trajectories"):
        store.query("recent_trajectories")  # $limit not given


def test_close_is_idempotent_and_final(tmp_path: Path) -> None:
    store = open_store(tmp_path / "wb.duckdb")
    store.append(make_trajectory())
    store.close()
    store.close()
    with pytest.raises(StoreError, match="closed"):
        store.append(make_trajectory(1))
    with pytest.raises(StoreError, match="closed"):
        store.count()
    with open_store(tmp_path / "wb.duckdb") as again:
        assert again.count() == 1


def test_rows_are_flushed_at_interpreter_exit(tmp_path: Path) -> None:
    db = tmp_path / "wb.duckdb"
    result = run_python(
        f"""
        import sys
        sys.path.insert(0, {str(PROJECT_ROOT / "tests")!r})
        from test_store import make_trajectory
        from workbench.store import open_store
        store = open_store({str(db)!r}, flush_interval=60)  # the timer never fires: only the exit hook writes
        for i in range(10):
            store.append(make_trajectory(i))
        """
    )
    assert result.returncode == 0, result.stderr
    with open_store(db) as store:
        assert store.count() == 10


def test_default_path_is_in_the_user_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []

    def fake_user_data_dir(appname: str) -> str:
        calls.append(appname)
        return str(tmp_path / "data" / appname)

    monkeypatch.setattr(platformdirs, "user_data_dir", fake_user_data_dir)
    with open_store(None) as store:
        assert calls == ["clawft-workbench"]
        assert store.path == str(tmp_path / "data" / "clawft-workbench" / "workbench.duckdb")
    assert Path(store.path).is_file()


def test_newer_schema_version_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "wb.duckdb"
    open_store(db).close()
    con = duckdb.connect(str(db))
    con.execute("INSERT INTO schema_version VALUES ($v, TIMESTAMP '2030-01-01 00:00:00')", {"v": SCHEMA_VERSION + 1})
    con.close()
    with pytest.raises(StoreError, match=f"schema version {SCHEMA_VERSION + 1}, newer"):
        open_store(db)


def test_schema_version_is_recorded_once(tmp_path: Path) -> None:
    db = tmp_path / "wb.duckdb"
    open_store(db).close()
    open_store(db).close()
    con = duckdb.connect(str(db), read_only=True)
    rows = con.execute("SELECT version, applied_at FROM schema_version").fetchall()
    con.close()
    assert sorted(r[0] for r in rows) == list(range(1, SCHEMA_VERSION + 1))
    for row in rows:
        assert abs(row[1] - datetime.now(UTC).replace(tzinfo=None)) < timedelta(minutes=5)  # stored as UTC


# -- failures --------------------------------------------------------------------------------------------------


def test_failed_flush_keeps_rows_and_surfaces_the_error(
    store: TrajectoryStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_insert = writer_module.insert_table
    calls = {"n": 0}

    def insert_failing_once(cursor: Any, batch: Any, privacy: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 1:
            raise duckdb.IOException("IO Error: disk full")
        real_insert(cursor, batch, privacy)

    monkeypatch.setattr(writer_module, "insert_table", insert_failing_once)
    ts = [make_trajectory(i) for i in range(3)]
    for t in ts:
        store.append(t)
    with pytest.raises(StoreError, match="disk full") as info:
        store.flush()
    assert isinstance(info.value.__cause__, duckdb.IOException)
    assert "3 rows are still queued" in str(info.value)
    assert store.pending == 3
    assert isinstance(store.last_error, duckdb.IOException)

    store.flush()  # the retry succeeds and the error, already reported, is not raised again
    assert store.pending == 0
    assert store.count() == 3
    assert [store.get(t.trajectory_id) for t in ts] == ts


def test_persistent_failure_is_raised_from_close_and_rows_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    def insert_always_failing(cursor: Any, batch: Any, privacy: Any) -> None:
        raise duckdb.IOException("IO Error: read-only file system")

    store = open_store(":memory:", flush_interval=0.05)
    monkeypatch.setattr(writer_module, "insert_table", insert_always_failing)
    store.append(make_trajectory(1))
    store.append(make_trajectory(2))
    with pytest.raises(StoreError, match="read-only file system"):
        store.close()
    assert [r.trajectory_id for r in store.rejected] == ["traj-000001", "traj-000002"]
    assert all("not written before close" in r.reason for r in store.rejected)


def test_duplicate_id_is_rejected_without_blocking_the_rest(store: TrajectoryStore) -> None:
    first = make_trajectory(1)
    store.append(first)
    store.flush()
    store.append(dataclasses.replace(first, log="again"))  # same trajectory_id
    store.append(make_trajectory(2))
    store.append(make_trajectory(3))
    with pytest.raises(StoreError, match="1 trajectories rejected"):
        store.flush()
    assert store.count() == 3
    assert store.get(first.trajectory_id) == first
    (rejected,) = store.rejected
    assert rejected.trajectory.log == "again"
    assert "ConstraintException" in rejected.reason
    store.flush()  # reported once, not forever


# -- locking ---------------------------------------------------------------------------------------------------


def test_file_written_by_another_process_cannot_be_opened(tmp_path: Path) -> None:
    # DuckDB 2.0 takes an exclusive lock for a writer, so even the read-only retry fails: expect a clear error.
    db = tmp_path / "wb.duckdb"
    with open_store(db) as store:
        store.append(make_trajectory())
        store.flush()
        result = run_python(
            f"""
            from workbench.errors import StoreError
            from workbench.store import open_store
            try:
                s = open_store({str(db)!r})
            except StoreError as exc:
                print("ERR", exc)
            else:
                print("OPENED", s.read_only, s.notice)
            """
        )
    assert result.returncode == 0, result.stderr
    out = result.stdout.strip()
    assert out.startswith("ERR "), out
    assert str(db) in out
    assert "another clawft-workbench process" in out
    assert f"(PID {os.getpid()})" in out
    assert "--db" in out


def test_file_held_read_only_elsewhere_opens_read_only(tmp_path: Path) -> None:
    db = tmp_path / "wb.duckdb"
    with open_store(db) as store:
        store.append(make_trajectory(5))
    reader = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                import sys
                from workbench.store import open_store
                store = open_store({str(db)!r}, read_only=True)
                print("ready", store.count(), flush=True)
                sys.stdin.read()
                store.close()
                """
            ),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
    )
    try:
        assert reader.stdout is not None and reader.stdin is not None
        assert reader.stdout.readline().strip() == "ready 1"
        with open_store(db) as store:
            assert store.read_only
            assert store.notice is not None and str(db) in store.notice and "read-only" in store.notice
            assert store.count() == 1
            assert store.get("traj-000005") == make_trajectory(5)
            with pytest.raises(StoreError, match="read-only"):
                store.append(make_trajectory(6))
            store.flush()  # nothing to write: a no-op, not an error
    finally:
        if reader.stdin is not None:
            reader.stdin.close()
        reader.wait(timeout=30)
    assert reader.returncode == 0


def test_read_only_open_of_missing_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no trajectory store at"):
        open_store(tmp_path / "absent.duckdb", read_only=True)
    assert not (tmp_path / "absent.duckdb").exists()


def test_same_file_twice_in_one_process_in_different_modes(tmp_path: Path) -> None:
    # DuckDB refuses a second connection to one file with another configuration in the same process; the store
    # reuses the open instance instead and enforces the mode itself.
    db = tmp_path / "wb.duckdb"
    with open_store(db) as writer:
        writer.append(make_trajectory(1))
        writer.flush()
        with open_store(db, read_only=True) as viewer:
            assert viewer.read_only
            assert viewer.count() == 1
            with pytest.raises(StoreError, match="read-only"):
                viewer.append(make_trajectory(2))
        writer.append(make_trajectory(2))  # closing the viewer left the writer's database open
        writer.flush()
        assert writer.count() == 2

    with open_store(db, read_only=True) as viewer, open_store(db) as second:
        assert second.read_only
        assert second.notice is not None and "already open read-only in this process" in second.notice
        assert second.count() == viewer.count() == 2


def test_a_file_that_is_not_a_database_is_reported(tmp_path: Path) -> None:
    not_db = tmp_path / "notes.txt"
    not_db.write_text("hello, not a database\n" * 100)
    with pytest.raises(StoreError, match=r"cannot open the trajectory store .*notes\.txt"):
        open_store(not_db)


@pytest.mark.parametrize("options", [{"batch_size": 0}, {"flush_interval": 0.0}])
def test_bad_writer_options_are_refused(options: dict[str, Any]) -> None:
    with pytest.raises(BadInputError):
        open_store(":memory:", **options)
