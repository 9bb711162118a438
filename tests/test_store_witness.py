"""The witness chain, privacy modes, migrations and crash safety of the trajectory store."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_store import PROJECT_ROOT, make_trajectory

from workbench.cli import main
from workbench.domain import Message, Trajectory
from workbench.errors import BadInputError
from workbench.store import open_store
from workbench.store.canonical import canonical_json
from workbench.store.digest import COLUMNS_V2, encode_rows, reference_encoding
from workbench.store.privacy import hash_text, protect_trajectory, redact
from workbench.store.rows import ROW_SCHEMA, json_texts, rows_to_arrow, trajectory_to_row
from workbench.store.witness import GENESIS, link


def _odd(i: int) -> Trajectory:
    """A trajectory whose in-memory values differ in type from what the store gives back (ints in float fields,
    tuples and non-ASCII in free-form mappings), so the canonical form must be that of the stored record."""
    t = make_trajectory(i)
    return dataclasses.replace(
        t,
        created_at=1_700_000_000 + i,  # an int
        request=dataclasses.replace(
            t.request,
            messages=(Message("user", "héllo ☃ — \u2028 \"quoted\" \\ \n tab\t"),),
            metadata={"tags": ("a", "b"), "nested": {"z": 1, "a": [1.5, None, True]}, "ünï": "✓"},
        ),
        profile=dataclasses.replace(t.profile, complexity=1, factors={"reasoning": 1, "domain": 0.5}),
        response=dataclasses.replace(t.response, cost_usd=0, latency_ms=12, ttft_ms=3),
        reward=1,
    )


# -- canonical JSON --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("make", [make_trajectory, _odd])
def test_canonical_json_is_the_to_dict_json_of_the_stored_record(make: Any) -> None:
    store = open_store(":memory:")
    t = make(3)
    store.append(t)
    store.flush()
    back = store.get(t.trajectory_id)
    store.close()
    assert back is not None
    expected = json.dumps(back.to_dict(), sort_keys=True, separators=(",", ":"))
    # What the writer hashes (from the record in memory) is the to_dict JSON of what the store gives back.
    assert canonical_json(t, json_texts(t)) == expected
    assert canonical_json(back, json_texts(back)) == expected


def _stored(db: Path) -> pa.Table:
    """Every trajectory row of a closed store file, in chain order, as DuckDB gives it back."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.sql("SELECT * FROM trajectories ORDER BY witness_seq").to_arrow_table()
    finally:
        con.close()


def test_each_link_hashes_the_previous_link_and_the_row_encoding(tmp_path: Path) -> None:
    db = tmp_path / "wb.duckdb"
    ts = [make_trajectory(i) for i in range(3)]
    with open_store(db) as store:
        for t in ts:
            store.append(t)
        store.flush()
        report = store.verify()
    table = _stored(db)
    previous = GENESIS
    for row, t in zip(table.to_pylist(), ts, strict=True):
        encoding = reference_encoding(row, table.schema)
        assert row["witness_hash"] == hashlib.sha256(previous.encode() + encoding).hexdigest()
        # The encoding is of the row as stored, and the writer's in-memory row encodes identically.
        written = trajectory_to_row(t) | {"privacy": "full"}
        assert reference_encoding(written, ROW_SCHEMA) == encoding
        assert row["witness_version"] == 2
        previous = row["witness_hash"]
    assert [r["witness_seq"] for r in table.to_pylist()] == [1, 2, 3]
    assert report.ok and report.checked == 3 and report.head_hash == previous


def test_the_version_2_encoding_is_pinned() -> None:
    # A stored witness must verify for ever: any change to the encoding has to be a new witness version, so a
    # known row's encoding is fixed here (its SHA-256 and length).
    row = trajectory_to_row(make_trajectory(0)) | {"privacy": "full"}
    encoding = encode_rows(rows_to_arrow([row]))[0].as_py()
    assert (len(encoding), hashlib.sha256(encoding).hexdigest()) == (
        1819,
        "048c5988d7a46b443f180ab839d1d62f9f5576d5c58daa455c89dd03ba3eaac0",
    )


def test_every_column_is_covered_or_chain_bookkeeping() -> None:
    bookkeeping = {"witness_hash", "witness_seq", "witness_version"}
    assert set(COLUMNS_V2) | bookkeeping == set(ROW_SCHEMA.names)
    assert not set(COLUMNS_V2) & bookkeeping
    assert len(set(COLUMNS_V2)) == len(COLUMNS_V2)


_MESSAGE = pa.struct([("role", pa.string()), ("content", pa.string())])
_ITEM = pa.struct([("model", pa.string()), ("score", pa.float64()), ("n", pa.int32()), ("ok", pa.bool_())])
_DIGEST_SCHEMA = pa.schema(
    [
        ("s", pa.string()),
        ("i", pa.int64()),
        ("j", pa.int32()),
        ("f", pa.float64()),
        ("b", pa.bool_()),
        ("ts", pa.timestamp("us")),
        ("tags", pa.list_(pa.string())),
        ("messages", pa.list_(_MESSAGE)),
        ("items", pa.list_(_ITEM)),
        ("m", pa.map_(pa.string(), pa.float64())),
    ]
)
_digest_rows = st.fixed_dictionaries(
    {
        "s": st.none() | st.text(max_size=6),
        "i": st.none() | st.integers(-(2**63), 2**63 - 1),
        "j": st.none() | st.integers(-(2**31), 2**31 - 1),
        "f": st.none() | st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from([0.0, -0.0]),
        "b": st.none() | st.booleans(),
        "ts": st.none() | st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 1, 1)),
        "tags": st.none() | st.lists(st.none() | st.text(max_size=3), max_size=3),
        "messages": st.none() | st.lists(st.fixed_dictionaries({"role": st.text(max_size=3),
                                                                 "content": st.none() | st.text(max_size=5)}),
                                         max_size=3),
        "items": st.none() | st.lists(
            st.none() | st.fixed_dictionaries({"model": st.none() | st.text(max_size=3), "score": st.floats(),
                                               "n": st.none() | st.integers(0, 9), "ok": st.none() | st.booleans()}),
            max_size=3),
        "m": st.none() | st.dictionaries(st.text(max_size=3), st.none() | st.floats(), max_size=3),
    }
)


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(_digest_rows, min_size=1, max_size=6), start=st.integers(0, 3))
def test_the_vectorised_encoding_matches_the_reference_definition(rows: list[dict[str, Any]], start: int) -> None:
    table = pa.Table.from_pylist(rows, schema=_DIGEST_SCHEMA)
    columns = _DIGEST_SCHEMA.names
    start = min(start, len(rows) - 1)
    part = table.slice(start)  # a sliced table (offsets into shared buffers) encodes the same
    got = [x.as_py() for x in encode_rows(part, columns)]
    want = [reference_encoding(r, _DIGEST_SCHEMA, columns) for r in part.to_pylist()]
    assert got == want
    # Injective on what the store keeps: equal encodings only for equal rows (NaN payloads aside).
    for a, b, ra, rb in zip(got, got[1:], part.to_pylist(), part.to_pylist()[1:], strict=False):
        if a == b:
            assert json.dumps(ra, default=str) == json.dumps(rb, default=str)


def test_floats_and_nulls_encode_as_stored_after_a_duckdb_round_trip() -> None:
    rows = [
        {"s": None, "i": None, "j": 7, "f": -0.0, "b": None, "ts": datetime(2024, 2, 29, 12, 0, 0, 1), "tags": None,
         "messages": [], "items": [None], "m": {"a": float("nan"), "b": None}},
        {"s": "ünï ☃", "i": 2**62, "j": None, "f": float("inf"), "b": False, "ts": None, "tags": [None, ""],
         "messages": None, "items": [], "m": None},
    ]
    table = pa.Table.from_pylist(rows, schema=_DIGEST_SCHEMA)
    con = duckdb.connect()
    con.register("t", table)
    back = con.sql("SELECT * FROM t").to_arrow_table()
    con.close()
    columns = _DIGEST_SCHEMA.names
    assert [x.as_py() for x in encode_rows(back, columns)] == [x.as_py() for x in encode_rows(table, columns)]


# -- verify and tampering --------------------------------------------------------------------------------------


def _filled(db: Path, n: int = 50) -> list[Trajectory]:
    ts = [make_trajectory(i) if i % 2 else _odd(i) for i in range(n)]
    with open_store(db, batch_size=7) as store:
        for t in ts:
            store.append(t)
    return ts


@pytest.mark.parametrize(
    ("statement", "broken"),
    [
        ("UPDATE trajectories SET cost_usd = cost_usd * 2 WHERE trajectory_id = 'traj-000017'", "traj-000017"),
        ("UPDATE trajectories SET prompt = 'edited' WHERE trajectory_id = 'traj-000023'", "traj-000023"),
        ("UPDATE trajectories SET factors = MAP {'x': 1.0} WHERE trajectory_id = 'traj-000030'", "traj-000030"),
        ("UPDATE trajectories SET witness_hash = repeat('a', 64) WHERE trajectory_id = 'traj-000041'", "traj-000041"),
        # A deleted row breaks the link of the row after it.
        ("DELETE FROM trajectories WHERE trajectory_id = 'traj-000010'", "traj-000011"),
    ],
)
def test_tampering_with_one_row_makes_verify_fail_at_that_row(
    tmp_path: Path, statement: str, broken: str, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "wb.duckdb"
    _filled(db)
    assert main(["verify", "--db", str(db)]) == 0
    assert "ok: 50 trajectories" in capsys.readouterr().out

    con = duckdb.connect(str(db))
    con.execute(statement)
    con.close()

    assert main(["verify", "--db", str(db)]) == 1
    out = capsys.readouterr().out
    assert f"BROKEN at trajectory {broken}" in out
    assert main(["verify", "--db", str(db), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is False and report["broken_id"] == broken


def test_removing_the_newest_rows_is_caught_by_the_head(tmp_path: Path) -> None:
    db = tmp_path / "wb.duckdb"
    _filled(db, 20)
    con = duckdb.connect(str(db))
    con.execute("DELETE FROM trajectories WHERE witness_seq > 18")
    con.close()
    with open_store(db, read_only=True) as store:
        report = store.verify()
    assert not report.ok and report.checked == 18 and "removed from the end" in report.reason


def test_a_forged_row_sharing_a_position_at_a_page_boundary_is_found(tmp_path: Path) -> None:
    from workbench.store.witness import verify

    db = tmp_path / "wb.duckdb"
    _filled(db, 12)
    con = duckdb.connect(str(db))
    con.execute(
        "INSERT INTO trajectories SELECT * REPLACE ('zz-forged' AS trajectory_id) "
        "FROM trajectories WHERE witness_seq = 5"
    )
    report = verify(con.cursor(), page=5)  # position 5 ends the first page; the forged copy sorts after it
    con.close()
    assert not report.ok and report.broken_id == "zz-forged" and "duplicated" in report.reason


def test_rows_inserted_around_the_writer_are_named(tmp_path: Path) -> None:
    db = tmp_path / "wb.duckdb"
    _filled(db, 5)
    con = duckdb.connect(str(db))
    con.execute(
        "INSERT INTO trajectories SELECT * REPLACE ('forged' AS trajectory_id, NULL AS witness_seq) "
        "FROM trajectories WHERE witness_seq = 1"
    )
    con.close()
    with open_store(db, read_only=True) as store:
        report = store.verify()
    assert not report.ok and report.broken_id == "forged" and "not in the chain" in report.reason


def test_two_stores_on_one_file_in_one_process_keep_one_chain(tmp_path: Path) -> None:
    # Both writers move the same head row; DuckDB makes one of them retry instead of forking the chain.
    db = tmp_path / "wb.duckdb"
    a = open_store(db, flush_interval=0.01)
    b = open_store(db, flush_interval=0.01)
    try:
        for i in range(300):
            (a if i % 2 else b).append(make_trajectory(i))
        deadline = time.monotonic() + 60
        while (a.pending or b.pending) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert a.count() == 300
    finally:
        a.close()
        b.close()
    with open_store(db, read_only=True) as store:
        report = store.verify()
        assert report.ok and report.checked == 300


# -- crash safety ----------------------------------------------------------------------------------------------


def test_kill_9_of_a_writing_process_leaves_every_flushed_row_intact(tmp_path: Path) -> None:
    db = tmp_path / "wb.duckdb"
    code = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(PROJECT_ROOT / "tests")!r})
        from test_store import make_trajectory
        from workbench.store import open_store
        store = open_store({str(db)!r}, batch_size=50, flush_interval=0.01)
        i = 0
        while True:
            for _ in range(37):
                store.append(make_trajectory(i))
                i += 1
            store.flush()
            print(i, flush=True)   # every trajectory below i is committed
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
    )
    flushed = 0
    try:
        assert proc.stdout is not None
        while flushed < 600:
            line = proc.stdout.readline()
            assert line, "the writer died before it was killed"
            flushed = int(line)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL

    with open_store(db) as store:
        report = store.verify()
        assert report.ok, report
        assert store.count() >= flushed
        for i in range(flushed):
            assert store.get(f"traj-{i:06d}") == make_trajectory(i)
        store.append(make_trajectory(10**6 - 1))  # the chain carries on after the crash
    with open_store(db, read_only=True) as store:
        assert store.verify().ok


# -- migrations ------------------------------------------------------------------------------------------------


def test_a_schema_1_file_is_upgraded_and_its_rows_chained(tmp_path: Path) -> None:
    from workbench.store.queries import migrations

    db = tmp_path / "old.duckdb"
    con = duckdb.connect(str(db))
    con.execute((PROJECT_ROOT / "queries" / "schema.sql").read_text())
    con.execute(migrations()[0][2])
    con.execute("INSERT INTO schema_version VALUES (1, TIMESTAMP '2026-01-01 00:00:00')")
    ts = [make_trajectory(i) for i in range(5)]
    v1_columns = [f.name for f in ROW_SCHEMA if f.name not in ("witness_seq", "privacy", "witness_version")]
    table = rows_to_arrow([trajectory_to_row(t) for t in reversed(ts)]).select(v1_columns)
    con.register("v1", table)
    con.execute("INSERT INTO trajectories SELECT * FROM v1")
    con.close()

    with open_store(db) as store:
        assert [store.get(t.trajectory_id) for t in ts] == ts
        report = store.verify()
        assert report.ok and report.checked == 5
        seqs = store.query("witness_rows", after=0, limit=10)
        assert seqs["trajectory_id"].to_list() == [t.trajectory_id for t in ts]  # chained oldest first
        assert set(seqs["witness_version"].to_list()) == {2} and set(seqs["privacy"].to_list()) == {"full"}
        store.append(make_trajectory(5))
    with open_store(db, read_only=True) as store:
        assert store.verify().checked == 6


def _schema_2_file(db: Path, ts: list[Trajectory]) -> None:
    """A store file as schema 2 wrote it: rows chained by witness version 1 (sha256 over canonical JSON)."""
    from workbench.store.queries import migrations

    con = duckdb.connect(str(db))
    con.execute((PROJECT_ROOT / "queries" / "schema.sql").read_text())
    for version, _, sql in migrations()[:2]:
        con.execute(sql)
        con.execute("INSERT INTO schema_version VALUES ($v, TIMESTAMP '2026-01-01 00:00:00')", {"v": version})
    previous, rows = GENESIS, []
    for seq, t in enumerate(ts, 1):
        previous = link(previous, canonical_json(t, json_texts(t)))
        rows.append(trajectory_to_row(t) | {"witness_seq": seq, "witness_hash": previous, "privacy": "full"})
    con.register("v1", rows_to_arrow(rows).drop_columns(["witness_version"]))
    con.execute("INSERT INTO trajectories BY NAME SELECT * FROM v1")
    con.execute("UPDATE witness_head SET seq = $seq, hash = $hash", {"seq": len(ts), "hash": previous})
    con.close()


def test_rows_chained_by_version_1_still_verify_and_the_chain_carries_on(tmp_path: Path) -> None:
    db = tmp_path / "v1.duckdb"
    old = [make_trajectory(i) if i % 2 else _odd(i) for i in range(6)]
    _schema_2_file(db, old)
    with open_store(db) as store:  # upgraded to schema 3: the old rows keep their links
        assert store.verify().ok and store.verify().checked == 6
        for i in range(6, 10):
            store.append(make_trajectory(i))
        report = store.verify()
        versions = store.query("witness_rows", after=0, limit=20)["witness_version"].to_list()
    assert report.ok and report.checked == 10
    assert versions == [1] * 6 + [2] * 4
    for statement, broken in [
        ("UPDATE trajectories SET cost_usd = 1 WHERE trajectory_id = 'traj-000003'", "traj-000003"),
        ("UPDATE trajectories SET cost_usd = 1 WHERE trajectory_id = 'traj-000008'", "traj-000008"),
        ("UPDATE trajectories SET witness_version = 1 WHERE trajectory_id = 'traj-000007'", "traj-000007"),
        ("UPDATE trajectories SET witness_version = 2 WHERE trajectory_id = 'traj-000001'", "traj-000001"),
        ("UPDATE trajectories SET privacy = 'redacted' WHERE trajectory_id = 'traj-000009'", "traj-000009"),
    ]:
        copy = tmp_path / f"copy-{broken}.duckdb"
        copy.write_bytes(db.read_bytes())
        con = duckdb.connect(str(copy))
        con.execute(statement)
        con.close()
        with open_store(copy, read_only=True) as store:
            report = store.verify()
        assert not report.ok and report.broken_id == broken, (statement, report)


# -- privacy ---------------------------------------------------------------------------------------------------


def test_redaction_masks_emails_keys_and_long_numbers_only() -> None:
    text = (
        "mail ada@example.org, key sk-proj-AbCdEf0123456789abcdef and AKIAABCDEFGHIJKLMNOP, "
        "Authorization: Bearer abc.def-123456, card 4111 1111 1111 1111, call +1 555-123-4567; "
        "keep 42, 2024 and 3.5 and words like internationalisation"
    )
    out = redact(text)
    for secret in ("ada@example.org", "sk-proj", "AKIA", "abc.def-123456", "4111", "555-123"):
        assert secret not in out
    assert out.count("[email]") == 1 and out.count("[key]") == 3 and out.count("[number]") == 2
    assert "keep 42, 2024 and 3.5 and words like internationalisation" in out
    assert hash_text("x") == "sha256:2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881"


@pytest.mark.parametrize("mode", ["full", "redacted", "hash-only"])
def test_privacy_mode_applies_before_the_store_and_is_recorded(mode: str) -> None:
    secret = "reach me at ada@example.org, account 12345678"
    t = make_trajectory(1)
    t = dataclasses.replace(
        t,
        request=dataclasses.replace(t.request, messages=(Message("user", secret),)),
        context=dataclasses.replace(t.context, messages=(Message("user", secret),)),
        response=dataclasses.replace(t.response, text="sure: " + secret),
    )
    with open_store(":memory:", privacy=mode) as store:
        store.append(t)
        store.flush()
        back = store.get(t.trajectory_id)
        row = store.query("get_trajectory", trajectory_id=t.trajectory_id).row(0, named=True)
        assert store.verify().ok
    assert back is not None and row["privacy"] == mode
    assert back == protect_trajectory(t, mode)  # type: ignore[arg-type]
    stored = json.dumps(back.to_dict())
    if mode == "full":
        assert back == t
    else:
        assert "ada@example.org" not in stored and "12345678" not in stored and "ada@" not in row["prompt"]
    if mode == "hash-only":
        assert back.request.prompt == hash_text(secret) and back.response.text == hash_text("sure: " + secret)
    if mode == "redacted":
        assert back.request.prompt == "reach me at [email], account [number]"


def test_an_unknown_privacy_mode_is_refused() -> None:
    with pytest.raises(BadInputError, match="unknown privacy mode 'secret'; choose one of: full, redacted, hash-only"):
        open_store(":memory:", privacy="secret")


def test_config_store_privacy_reaches_the_workbench(tmp_path: Path) -> None:
    from workbench.api import Workbench
    from workbench.config import parse_config

    cfg = parse_config({"store": {"privacy": "hash-only"}})
    with Workbench(db=":memory:", config=cfg, seed=0) as wb:
        t = wb.send("my email is ada@example.org")
        back = wb.trajectory(t.trajectory_id)
    assert back is not None and back.request.prompt == hash_text("my email is ada@example.org")


# -- the hand-written canonical encoder against the json module ------------------------------------------------

_floats = st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True), st.integers(-(10**6), 10**6))
_text = st.text(max_size=20)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    texts=st.lists(_text, min_size=6, max_size=6),
    floats=st.lists(_floats, min_size=8, max_size=8),
    factors=st.dictionaries(_text, st.floats(allow_nan=False) | st.integers(-5, 5), max_size=4),
    metadata=st.dictionaries(_text, st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), _text)),
    explored=st.booleans(),
)
def test_canonical_json_equals_json_dumps_of_the_plain_form(
    texts: list[str], floats: list[Any], factors: dict[str, Any], metadata: dict[str, Any], explored: bool
) -> None:
    from workbench.domain import Attempt, Candidate
    from workbench.store.canonical import canonical_json_reference

    t = make_trajectory(1)
    f = floats
    t = dataclasses.replace(
        t,
        trajectory_id=texts[0],
        request=dataclasses.replace(t.request, messages=(Message(texts[1], texts[2]),), metadata=metadata),
        profile=dataclasses.replace(t.profile, task_type=texts[3], complexity=f[0], factors=factors),
        decision=dataclasses.replace(
            t.decision,
            model=texts[4],
            explored=explored,
            propensity=f[1],
            candidates=(Candidate(texts[5], f[2] or 0.0, f[3] or 0.0, None if explored else texts[0]),),
        ),
        response=dataclasses.replace(
            t.response,
            text=texts[2] + texts[5],
            cost_usd=f[4],
            attempts=(Attempt(texts[4], "ok", f[5] or 0.0, None, f[6], texts[1] or None),),
        ),
        reward=f[7],
    )
    x = json_texts(t)
    assert canonical_json(t, x) == canonical_json_reference(t, x)
