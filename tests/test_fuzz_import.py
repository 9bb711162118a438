"""Import fuzzing: JSONL and Parquet files whose rows have wrong types, missing or extra fields, junk values.

Each file either imports whole, as trajectories that pass the strict JSONL validator, or is rejected with a
BadInputError naming the file, the row (or column) and a reason, and the store is exactly as it was."""

from __future__ import annotations

import itertools
import json
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fuzz_support import FUZZ, json_values, mutate
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter
from test_store import make_trajectory

from workbench.domain import Trajectory
from workbench.errors import BadInputError
from workbench.store import TrajectoryStore, open_store

ROWS = 3
STRICT = TypeAdapter(Trajectory)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, list[dict[str, Any]], pa.Table]]:
    """A work folder, the JSONL objects and the Parquet table of a three-row log, as the exporter writes them."""
    folder = tmp_path_factory.mktemp("fuzz-import")
    with open_store(":memory:") as store:
        for i in range(ROWS):
            store.append(make_trajectory(i, log="src"))
        store.export_log("src", "jsonl", folder / "src.jsonl")
        store.export_log("src", "parquet", folder / "src.parquet")
    lines = [json.loads(line) for line in (folder / "src.jsonl").read_text().splitlines()]
    yield folder, lines, pq.read_table(folder / "src.parquet")


@pytest.fixture
def store() -> Iterator[TrajectoryStore]:
    with open_store(":memory:") as s:
        for i in range(5):
            s.append(make_trajectory(100 + i, log="before"))
        s.flush()
        yield s


def state(store: TrajectoryStore) -> tuple[int, Any]:
    """What a rejected import must leave as it was: the rows and the log catalogue (the chain is checked at the end
    of each test: a half-written import would break it)."""
    return store.count(), store.logs().rows()


def attempt(store: TrajectoryStore, fmt: str, path: Path, outcomes: Counter[str]) -> str | None:
    """Import `path`; on success check what landed, on rejection check the message and the store. Returns the
    rejection message (None when it imported)."""
    before = state(store)
    log = f"fz-{sum(outcomes.values())}"
    try:
        (report,) = store.import_files(fmt, [path], name=log)
    except BadInputError as exc:
        message = str(exc)
        assert str(path) in message and "Traceback" not in message, message
        assert state(store) == before, f"a rejected import changed the store: {message}"
        outcomes["rejected"] += 1
        return message
    assert report.rows == ROWS and store.count() == before[0] + ROWS
    for t in store.trajectories_of(log):
        # Whatever an importer accepts is a trajectory the strict JSONL reader would accept too.
        STRICT.validate_json(json.dumps(t.to_dict()), strict=True)
    outcomes["imported"] += 1
    return None


def test_jsonl_rows_with_wrong_types_or_fields(
    files: tuple[Path, list[dict[str, Any]], pa.Table], store: TrajectoryStore
) -> None:
    folder, lines, _ = files
    outcomes: Counter[str] = Counter()
    counter = itertools.count()

    @settings(max_examples=100, **FUZZ)
    @given(st.data())
    def run(data: st.DataObject) -> None:
        n = next(counter)
        objs = [dict(o, trajectory_id=f"fz-{n}-{j}") for j, o in enumerate(lines)]
        bad = data.draw(st.integers(0, ROWS - 1))
        objs[bad] = mutate(data.draw, objs[bad], max_edits=2)
        path = folder / f"case-{n}.jsonl"
        path.write_text("\n".join(json.dumps(o) for o in objs) + "\n")
        message = attempt(store, "jsonl", path, outcomes)
        if message is not None:
            # The broken row by its line number; or a later one when the edit made it another kind of row
            # (an outcome row, say), and the next line is where the file stopped making sense.
            line = re.search(r"\.jsonl: line (\d+): .+", message)
            assert line and int(line.group(1)) >= bad + 1, message

    run()
    assert store.verify().ok
    print(f"\njsonl: {dict(outcomes)}")
    assert outcomes["rejected"] >= 40 and outcomes["imported"] >= 10


def test_jsonl_lines_that_are_not_trajectories(files: tuple[Path, list[dict[str, Any]], pa.Table],
                                               store: TrajectoryStore) -> None:
    folder, _, _ = files
    outcomes: Counter[str] = Counter()
    counter = itertools.count()

    @settings(max_examples=40, **FUZZ)
    @given(st.lists(st.one_of(json_values.map(json.dumps), st.text(max_size=30)), min_size=1, max_size=3))
    def run(lines: list[str]) -> None:
        path = folder / f"junk-{next(counter)}.jsonl"
        path.write_text("\n".join(line.replace("\n", " ") for line in lines) + "\n")
        before = state(store)
        try:
            store.import_files("jsonl", [path], name=f"junk-{next(counter)}")
        except BadInputError as exc:
            assert str(path) in str(exc) and state(store) == before
            outcomes["rejected"] += 1
        else:
            outcomes["imported"] += 1  # e.g. lines that happen to be valid outcome rows

    run()
    assert outcomes["rejected"] >= 30 and store.verify().ok


def _junk_column(draw: Any, column: pa.ChunkedArray) -> pa.Array:
    """A column of the wrong type, NULLs, or (for text columns) one value that is not the JSON it should hold."""
    kind = draw(st.sampled_from(["strings", "ints", "floats", "nulls", "one-null", "bad-json"]))
    n = len(column)
    if kind == "nulls":
        return pa.nulls(n, column.type)
    if kind in ("one-null", "bad-json") and pa.types.is_string(column.type):
        values = column.to_pylist()
        junk = [None] if kind == "one-null" else ["{not json", "[1, 2", "", "0", "[]", '{"a": 1}']
        values[draw(st.integers(0, n - 1))] = draw(st.sampled_from(junk))
        return pa.array(values, type=column.type)
    if kind == "ints":
        return pa.array([draw(st.integers(-5, 5)) for _ in range(n)])
    if kind == "floats":
        return pa.array([draw(st.floats(allow_nan=True)) for _ in range(n)])
    return pa.array([draw(st.text(max_size=8)) for _ in range(n)])


def test_parquet_columns_with_wrong_types_nulls_or_missing(
    files: tuple[Path, list[dict[str, Any]], pa.Table], store: TrajectoryStore
) -> None:
    folder, _, table = files
    outcomes: Counter[str] = Counter()
    counter = itertools.count()
    names = [n for n in table.column_names if n != "trajectory_id"]

    @settings(max_examples=100, **FUZZ)
    @given(st.data())
    def run(data: st.DataObject) -> None:
        n = next(counter)
        t = table.set_column(0, "trajectory_id", pa.array([f"pq-{n}-{j}" for j in range(ROWS)]))
        for _ in range(data.draw(st.integers(1, 2))):
            name = data.draw(st.sampled_from(names))
            if name not in t.column_names:
                continue
            i = t.column_names.index(name)
            if data.draw(st.booleans()) and data.draw(st.booleans()):
                t = t.remove_column(i)
            else:
                t = t.set_column(i, name, _junk_column(data.draw, t.column(i)))
        path = folder / f"case-{n}.parquet"
        pq.write_table(t.replace_schema_metadata(table.schema.metadata), path)
        message = attempt(store, "parquet", path, outcomes)
        if message is not None:
            assert "row " in message or "column" in message, message

    run()
    assert store.verify().ok
    print(f"\nparquet: {dict(outcomes)}")
    assert outcomes["rejected"] >= 40 and outcomes["imported"] >= 10


# Found by the fuzzing above (Parquet rows with NULLs or wrong-shaped JSON text imported as trajectories holding
# None or an int where the record needs text or an object); fixed in the store, pinned here.
@pytest.mark.parametrize("column", ["status", "task_type", "cost_usd", "explored", "context_tokens"])
def test_parquet_null_in_a_required_column_is_rejected(
    files: tuple[Path, list[dict[str, Any]], pa.Table], store: TrajectoryStore, column: str
) -> None:
    folder, _, table = files
    i = table.column_names.index(column)
    values = table.column(i).to_pylist()
    values[1] = None
    path = folder / f"null-{column}.parquet"
    pq.write_table(table.set_column(i, column, pa.array(values, type=table.column(i).type)), path)
    before = state(store)
    with pytest.raises(BadInputError, match=rf"row 2: .*{column}"):
        store.import_files("parquet", [path], name=f"null-{column}")
    assert state(store) == before


@pytest.mark.parametrize(("column", "value"), [("response_metadata", "0"), ("factor_notes", "[1, 2]"),
                                               ("tools", '{"a": 1}')])
def test_parquet_json_text_of_the_wrong_shape_is_rejected(
    files: tuple[Path, list[dict[str, Any]], pa.Table], store: TrajectoryStore, column: str, value: str
) -> None:
    folder, _, table = files
    i = table.column_names.index(column)
    values = table.column(i).to_pylist()
    values[0] = value
    path = folder / f"shape-{column}.parquet"
    pq.write_table(table.set_column(i, column, pa.array(values, type=pa.string())), path)
    before = state(store)
    with pytest.raises(BadInputError, match=rf"row 1: .*{column}"):
        store.import_files("parquet", [path], name=f"shape-{column}")
    assert state(store) == before
