"""Importers and exporters: RouteLLM into outcomes, Parquet / JSONL / OBP round trips, bad files, the catalogue."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np
import platformdirs
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from test_store import make_trajectory

from workbench.cli import main
from workbench.errors import BadInputError
from workbench.store import TrajectoryStore, open_store
from workbench.store.routellm import convert_routellm, read_routellm
from workbench.store.samples import holds_trajectories, sample_files, samples_dir

ROUTELLM = Path(__file__).resolve().parents[2] / "shared" / "data" / "routellm"
needs_routellm = pytest.mark.skipif(not ROUTELLM.is_dir(), reason="the RouteLLM data is not beside the project")


def _accuracy(df: pl.DataFrame, model: str) -> float:
    return float(df.filter(pl.col("model") == model)["mean_quality"][0])


# -- RouteLLM --------------------------------------------------------------------------------------------------


def test_shipped_mmlu_sample_reproduces_the_published_figures() -> None:
    folder = samples_dir()
    assert folder is not None and (folder / "NOTICE").is_file()
    assert "Apache License" in (folder / "NOTICE").read_text()
    with open_store(":memory:") as store:
        store.import_files("parquet", [folder / "routellm-mmlu.parquet"])
        summary = store.query("outcomes_summary", log="routellm-mmlu")
        oracle = store.query("outcomes_oracle", log="routellm-mmlu").row(0, named=True)
        logs = store.logs()
    assert set(summary["prompts"].to_list()) == {14_037}
    assert round(100 * _accuracy(summary, "gpt-4-1106-preview"), 2) == 80.59
    assert round(100 * _accuracy(summary, "mistralai/Mixtral-8x7B-Instruct-v0.1"), 2) == 68.09
    assert oracle["prompts"] == 14_037 and round(100 * oracle["oracle_quality"], 2) == 85.87
    assert summary["cost_derived"].to_list() == [True, True]
    gpt4, mixtral = (float(summary.filter(pl.col("model") == m)["total_cost_usd"][0])
                     for m in ("gpt-4-1106-preview", "mistralai/Mixtral-8x7B-Instruct-v0.1"))
    assert gpt4 / mixtral == pytest.approx(1e-5 / 6e-7, rel=0.05)  # the two models' input prices
    entry = logs.filter(pl.col("name") == "routellm-mmlu").row(0, named=True)
    assert entry["kind"] == "full-information" and entry["prompts"] == 14_037 and entry["models"] == 2
    assert "DERIVED" in entry["notes"] and "RouteLLM" in entry["source"]


def test_shipped_mt_bench_sample() -> None:
    folder = samples_dir()
    assert folder is not None
    with open_store(":memory:") as store:
        store.import_files("parquet", [folder / "routellm-mt-bench.parquet"])
        rows = store.outcomes("routellm-mt-bench")
    assert rows.height == 144 and rows["prompt_id"].n_unique() == 72
    assert rows["quality"].min() >= 0.1 and rows["quality"].max() <= 1.0
    extra = json.loads(rows["extra"][0])
    assert len(extra["turn_scores"]) == 2 and rows["score"][0] == sum(extra["turn_scores"]) / 2


@needs_routellm
def test_sample_logs_are_what_the_converter_makes(tmp_path: Path) -> None:
    written = convert_routellm(ROUTELLM, tmp_path)
    assert sorted(p.name for p in written) == ["routellm-mmlu.parquet", "routellm-mt-bench.parquet"]
    for path in written:
        shipped = pq.read_table(samples_dir() / path.name)  # type: ignore[operator]
        fresh = pq.read_table(path)
        assert fresh.equals(shipped) and fresh.schema.metadata == shipped.schema.metadata


@needs_routellm
def test_cli_imports_a_routellm_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "wb.duckdb")
    assert main(["import", "routellm", str(ROUTELLM / "mmlu"), "--db", db, "--name", "mmlu-test"]) == 0
    assert "imported 28074 rows into log 'mmlu-test'" in capsys.readouterr().out
    assert main(["logs", "--db", db, "--json"]) == 0
    (entry,) = json.loads(capsys.readouterr().out)
    assert entry["name"] == "mmlu-test" and entry["kind"] == "full-information" and entry["rows"] == 28074
    # The same again collides with what is there, and says what to do.
    assert main(["import", "routellm", str(ROUTELLM / "mmlu"), "--db", db, "--name", "mmlu-test"]) == 2
    assert "--name" in capsys.readouterr().err


def _mini_routellm(tmp_path: Path) -> Path:
    folder = tmp_path / "mini" / "responses"
    folder.mkdir(parents=True)
    (folder / "mmlu_a.csv").write_text(
        'prompt,weak,strong\n"Q1\nA. x\nAnswer:",False,True\nQ2,True,True\n"Q3, with comma",False,False\n'
    )
    (folder / "mmlu_b.csv").write_text("prompt,weak,strong\nQ4,True,False\nQ5,false,TRUE\n")
    (folder.parent / "contaminated_prompts.jsonl").write_text(json.dumps({"eval_prompt": "Q2"}) + "\n")
    return folder.parent


def test_routellm_layout_ids_and_contamination(tmp_path: Path) -> None:
    (s,) = read_routellm(_mini_routellm(tmp_path))
    assert s.log == "routellm-mini"
    df = pl.from_arrow(s.table)
    assert isinstance(df, pl.DataFrame)
    assert df["prompt_id"].unique(maintain_order=True).to_list() == ["a:0", "a:2", "b:0", "b:1"]
    assert df.filter(pl.col("model") == "strong")["quality"].to_list() == [1.0, 0.0, 0.0, 1.0]
    assert df["cost_usd"].null_count() == df.height  # no price for these models: NULL, not a made-up figure
    assert "no price for strong, weak" in s.notes and "dropped 1 contaminated" in s.notes


@pytest.mark.parametrize(
    ("file", "text", "message"),
    [
        ("mmlu_b.csv", "prompt,weak,strong\nQ4,True,maybe\n", r"mmlu_b.csv: row 1 \(line 2\): column 'strong': "
         r"expected True or False, got 'maybe'"),
        ("mmlu_b.csv", "prompt,weak,strong\nQ4,True\n", r"mmlu_b.csv: row 1 \(line 2\): expected 3 fields, got 2"),
        ("mmlu_b.csv", "prompt,weak\nQ4,True\n", r"mmlu_b.csv: row 0 \(header\): model columns \['weak'\] differ"),
        ("mmlu_b.csv", "question,weak,strong\n", r"mmlu_b.csv: row 0 \(header\): expected `prompt`"),
        ("mmlu_b.csv", "prompt,weak,strong\n\" \",True,True\n", r"mmlu_b.csv: row 1 \(line 2\): the prompt is empty"),
    ],
)
def test_corrupt_routellm_files_are_rejected_and_nothing_is_imported(
    tmp_path: Path, file: str, text: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _mini_routellm(tmp_path)
    (root / "responses" / file).write_text(text)
    db = str(tmp_path / "wb.duckdb")
    assert main(["import", "routellm", str(root), "--db", db]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err
    assert __import__("re").search(message, err), err
    with open_store(db, read_only=True) as store:
        assert store.logs().height == 0
        assert store.query("outcomes_summary", log=None).height == 0


# -- Parquet and JSONL round trips -----------------------------------------------------------------------------


def _store_with(tmp_path: Path, n: int = 40) -> tuple[TrajectoryStore, list[Any]]:
    store = open_store(tmp_path / "src.duckdb")
    ts = [make_trajectory(i, log="shadow") for i in range(n)]
    for t in ts:
        store.append(t)
    store.flush()
    return store, ts


@pytest.mark.parametrize("fmt", ["parquet", "jsonl"])
def test_trajectories_round_trip_through_files(tmp_path: Path, fmt: str) -> None:
    store, ts = _store_with(tmp_path)
    out = tmp_path / f"shadow.{fmt}"
    assert store.export_log("shadow", fmt, out) == len(ts)
    store.close()
    if fmt == "jsonl":
        first = out.read_text().splitlines()[0]
        assert first == json.dumps(ts[0].to_dict(), sort_keys=True, separators=(",", ":"))

    with open_store(tmp_path / "dst.duckdb") as dst:
        (report,) = dst.import_files(fmt, [out], name="copy")
        assert (report.log, report.rows) == ("copy", len(ts))
        back = dst.trajectories_of("copy")
        assert back == [dataclasses.replace(t, log="copy") for t in ts]
        assert dst.verify().ok and dst.verify().checked == len(ts)
        entry = dst.logs().row(0, named=True)
        assert entry["name"] == "copy" and entry["trajectories"] == len(ts)


def test_outcomes_round_trip_through_parquet_and_jsonl(tmp_path: Path) -> None:
    (s,) = read_routellm(_mini_routellm(tmp_path))
    with open_store(tmp_path / "a.duckdb") as a:
        a.ingest([s])
        original = a.outcomes("routellm-mini")
        a.export_log("routellm-mini", "parquet", tmp_path / "o.parquet")
        a.export_log("routellm-mini", "jsonl", tmp_path / "o.jsonl")
    for file, name in ((tmp_path / "o.parquet", None), (tmp_path / "o.jsonl", "again")):
        with open_store(":memory:") as b:
            b.import_files(file.suffix[1:], [file], name=name)
            log = name or "routellm-mini"
            got = b.outcomes(log)
            assert got.drop("log").equals(original.drop("log"))
            assert b.logs().row(0, named=True)["kind"] == "full-information"


def _line(t: Any, **changes: Any) -> str:
    d = t.to_dict()
    for path, value in changes.items():
        target = d
        *parents, last = path.split("__")
        for p in parents:
            target = target[p]
        target[last] = value
    return json.dumps(d)


@pytest.mark.parametrize(
    ("bad_line", "message"),
    [
        ("{not json", r"line 3: not valid JSON"),
        ("[1, 2]", r"line 3: expected a JSON object, got list"),
        (_line(make_trajectory(2), response__latency_ms="slow"), r"line 3: response.latency_ms: Input should be"),
        (_line(make_trajectory(2), decision__propensityy=0.5), r"line 3: unknown field 'decision.propensityy'"),
        (_line(make_trajectory(2), request__messages=[{"role": "user"}]), r"line 3: request.messages.0.content"),
    ],
)
def test_bad_jsonl_lines_are_named_and_nothing_is_imported(tmp_path: Path, bad_line: str, message: str) -> None:
    good = [json.dumps(make_trajectory(i).to_dict()) for i in range(2)]
    file = tmp_path / "t.jsonl"
    file.write_text("\n".join([*good, bad_line]) + "\n")
    with open_store(tmp_path / "wb.duckdb") as store:
        with pytest.raises(BadInputError, match=message) as info:
            store.import_files("jsonl", [file])
        assert str(file) in str(info.value)
        assert store.count() == 0


def test_a_file_that_repeats_an_id_rolls_back_the_whole_command(tmp_path: Path, capsys: Any) -> None:
    ok, dup = tmp_path / "ok.jsonl", tmp_path / "dup.jsonl"
    ok.write_text(json.dumps(make_trajectory(1).to_dict()) + "\n")
    dup.write_text("\n".join(json.dumps(make_trajectory(i).to_dict()) for i in (2, 3, 2)) + "\n")
    db = str(tmp_path / "wb.duckdb")
    assert main(["import", "jsonl", str(ok), str(dup), "--db", db]) == 2
    err = capsys.readouterr().err
    assert str(dup) in err and "traj-000002" in err and "nothing was imported" in err
    with open_store(db) as store:
        assert store.count() == 0 and store.verify().ok and store.verify().checked == 0


def test_parquet_with_a_mistyped_column_names_row_and_column(tmp_path: Path) -> None:
    store, _ = _store_with(tmp_path, 5)
    store.export_log("shadow", "parquet", tmp_path / "t.parquet")
    store.close()
    table = pq.read_table(tmp_path / "t.parquet")
    costs = [str(x) for x in table["cost_usd"].to_pylist()]
    costs[3] = "free"

    table = table.set_column(table.schema.get_field_index("cost_usd"), "cost_usd", pa.array(costs))
    pq.write_table(table, tmp_path / "bad.parquet")
    bad = r"bad.parquet: row 4: column cost_usd: 'free'"
    with open_store(":memory:") as dst, pytest.raises(BadInputError, match=bad):
        dst.import_files("parquet", [tmp_path / "bad.parquet"])
    (tmp_path / "junk.parquet").write_bytes(b"PAR1 not really")
    with open_store(":memory:") as dst, pytest.raises(BadInputError, match=r"junk.parquet: not a readable Parquet"):
        dst.import_files("parquet", [tmp_path / "junk.parquet"])


def _exported(tmp_path: Path, n: int = 5) -> pa.Table:
    store, _ = _store_with(tmp_path, n)
    store.export_log("shadow", "parquet", tmp_path / "t.parquet")
    store.close()
    return pq.read_table(tmp_path / "t.parquet")


def _with(table: pa.Table, column: str, row: int, value: Any) -> pa.Table:
    values = table[column].to_pylist()
    values[row] = value
    i = table.schema.get_field_index(column)
    return table.set_column(i, table.schema.field(i), pa.array(values, type=table.schema.field(i).type))


def _candidate_without_model(table: pa.Table) -> pa.Table:
    values = table["candidates"].to_pylist()
    values[2][1]["model"] = None
    return table.set_column(table.schema.get_field_index("candidates"), table.schema.field("candidates"),
                            pa.array(values, type=table.schema.field("candidates").type))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda t: _with(t, "propensity", 2, 1.5), r"row 3: column propensity must lie in \[0, 1\] \(got 1.5\)"),
        (lambda t: _with(t, "cost_usd", 1, -0.01), r"row 2: column cost_usd must be at least 0"),
        (lambda t: _with(t, "q_overall", 4, float("nan")), r"row 5: column q_overall must lie in \[0, 1\]"),
        (lambda t: _with(t, "status", 1, None), r"row 2: column status is empty \(NULL\)"),
        (lambda t: _with(t, "trajectory_id", 3, ""), r"row 4: trajectory_id is empty"),
        (lambda t: _with(t, "request_metadata", 0, "[1]"), r"row 1: column request_metadata must be a JSON object"),
        (lambda t: _with(t, "factor_notes", 1, '{"a": 1}'), r"row 2: column factor_notes must be a JSON object of"),
        (lambda t: _with(t, "tools", 1, "[1, 2,]"), r"row 2: column tools is not valid JSON"),
        (lambda t: _with(t, "created_unix", 4, float("inf")), r"row 5: created_unix=inf is not a usable unix time"),
        (_candidate_without_model, r"row 3: column candidates: an element has no model"),
    ],
)
def test_bad_trajectory_rows_in_parquet_are_named_and_nothing_is_imported(
    tmp_path: Path, change: Any, message: str
) -> None:
    bad = tmp_path / "bad.parquet"
    pq.write_table(change(_exported(tmp_path)), bad)
    with open_store(tmp_path / "dst.duckdb") as dst:
        dst.import_files("parquet", [tmp_path / "t.parquet"], name="good")
        before = dst.count()
        with pytest.raises(BadInputError, match=message) as info:
            dst.import_files("parquet", [tmp_path / "t.parquet", bad], name="copy")
        assert str(bad) in str(info.value)
        assert dst.count() == before and dst.verify().ok and dst.verify().checked == before


def test_derived_columns_are_recomputed_on_import(tmp_path: Path) -> None:
    table = _exported(tmp_path, 3)
    table = _with(table, "prompt", 0, "not what the messages say")
    table = _with(table, "provider", 1, "someone-else")
    table = _with(table, "created_at", 2, None)
    pq.write_table(table, tmp_path / "edited.parquet")
    with open_store(":memory:") as dst:
        dst.import_files("parquet", [tmp_path / "edited.parquet"], name="copy")
        rows = dst.query("trajectories_of_log", log="copy").to_dicts()
        assert dst.verify().ok
    originals = [make_trajectory(i, log="shadow") for i in range(3)]
    assert [r["prompt"] for r in rows] == [t.request.prompt for t in originals]
    assert {r["provider"] for r in rows} == {"anthropic"}
    assert rows[2]["created_at"] is not None


def test_the_prompt_column_is_the_latest_user_message(tmp_path: Path) -> None:
    from workbench.domain import Message

    shapes = [
        (Message("user", "first"), Message("assistant", "ok"), Message("user", "second"), Message("tool", "x")),
        (Message("system", "no user here"),),
        (),
        (Message("user", ""), Message("user", "only the last counts")),
    ]
    src = open_store(tmp_path / "src.duckdb")
    ts = []
    for i, messages in enumerate(shapes):
        t = make_trajectory(i, log="shadow")
        t = dataclasses.replace(t, request=dataclasses.replace(t.request, messages=messages))
        ts.append(t)
        src.append(t)
    src.export_log("shadow", "parquet", tmp_path / "s.parquet")
    src.close()
    table = pq.read_table(tmp_path / "s.parquet").drop_columns(["prompt"])
    pq.write_table(table, tmp_path / "s.parquet")
    with open_store(":memory:") as dst:
        dst.import_files("parquet", [tmp_path / "s.parquet"], name="shadow")
        prompts = dst.query("trajectories_of_log", log="shadow")["prompt"].to_list()
        assert dst.trajectories_of("shadow") == ts
    assert prompts == ["second", "", "", "only the last counts"] == [t.request.prompt for t in ts]


def test_a_parquet_without_derived_or_witness_columns_imports(tmp_path: Path) -> None:
    left_out = ["prompt", "provider", "created_at", "witness_hash", "witness_seq", "witness_version", "privacy"]
    pq.write_table(_exported(tmp_path, 3).drop_columns(left_out), tmp_path / "bare.parquet")
    with open_store(":memory:") as dst:
        (report,) = dst.import_files("parquet", [tmp_path / "bare.parquet"], name="bare")
        back = dst.trajectories_of("bare")
        assert report.rows == 3 and dst.verify().ok
    assert back == [make_trajectory(i, log="bare") for i in range(3)]


def test_a_range_fault_in_jsonl_names_its_line(tmp_path: Path) -> None:
    lines = [json.dumps(make_trajectory(i).to_dict()) for i in range(3)]
    lines.insert(1, "")
    lines[3] = _line(make_trajectory(2), decision__propensity=2.0)
    file = tmp_path / "t.jsonl"
    file.write_text("\n".join(lines) + "\n")
    with open_store(":memory:") as store, pytest.raises(BadInputError, match=r"line 4: column propensity must lie"):
        store.import_files("jsonl", [file])


@pytest.mark.parametrize("mode", ["redacted", "hash-only"])
def test_bulk_import_applies_the_privacy_mode(tmp_path: Path, mode: str) -> None:
    from workbench.domain import Message
    from workbench.store.privacy import protect_trajectory

    secret = "mail ada@example.org, card 4111 1111 1111 1111"
    src = open_store(tmp_path / "src.duckdb")
    ts = []
    for i in range(4):
        t = make_trajectory(i, log="shadow")
        messages = (Message("system", "be brief"), Message("user", f"{secret} #{i}"))
        t = dataclasses.replace(
            t,
            request=dataclasses.replace(t.request, messages=messages),
            context=dataclasses.replace(t.context, messages=messages),
            response=dataclasses.replace(t.response, text=f"noted: {secret}"),
        )
        ts.append(t)
        src.append(t)
    src.export_log("shadow", "parquet", tmp_path / "s.parquet")
    src.close()
    with open_store(tmp_path / "dst.duckdb", privacy=mode) as dst:
        dst.import_files("parquet", [tmp_path / "s.parquet"], name="shadow")
        back = dst.trajectories_of("shadow")
        rows = dst.query("trajectories_of_log", log="shadow")
        assert dst.verify().ok
    assert back == [protect_trajectory(t, mode) for t in ts]  # type: ignore[arg-type]
    assert set(rows["privacy"].to_list()) == {mode}
    assert rows["prompt"].to_list() == [t.request.prompt for t in back]
    assert "ada@example.org" not in json.dumps([t.to_dict() for t in back])


# -- Open Bandit Pipeline --------------------------------------------------------------------------------------


def _bandit(n: int = 200, k: int = 3, d: int = 4) -> dict[str, Any]:
    rng = np.random.default_rng(7)
    return {
        "n_rounds": n,
        "n_actions": k,
        "action": rng.integers(0, k, n),
        "reward": rng.binomial(1, 0.3, n).astype(float),
        "pscore": rng.uniform(0.1, 1.0, n),
        "context": rng.normal(size=(n, d)),
        "position": np.zeros(n, dtype=int),
        "action_names": np.asarray(["openai/gpt-4o-mini", "anthropic/claude-sonnet-4", "groq/llama-3.1-8b"]),
    }


@pytest.mark.parametrize("suffix", [".npz", ".csv"])
def test_obp_logs_round_trip(tmp_path: Path, suffix: str) -> None:
    feedback = _bandit()
    src = tmp_path / "bandit.npz"
    np.savez(src, **feedback)
    with open_store(tmp_path / "wb.duckdb") as store:
        (report,) = store.import_files("obp", [src])
        assert (report.log, report.kind, report.rows) == ("bandit", "bandit", 200)
        t = store.trajectories_of("bandit")[5]
        assert t.decision.model == str(feedback["action_names"][feedback["action"][5]])
        assert t.decision.propensity == feedback["pscore"][5] and t.reward == feedback["reward"][5]
        assert store.query("exploration_coverage", log="bandit")["decisions"].sum() == 200
        out = tmp_path / f"out{suffix}"
        assert store.export_log("bandit", "obp", out) == 200
        assert store.verify().ok
    with open_store(":memory:") as again:
        again.import_files("obp", [out], name="bandit")
        back = again.export_log("bandit", "obp", tmp_path / "back.npz")
        assert back == 200
    with np.load(tmp_path / "back.npz") as data:
        for key in ("action", "reward", "pscore", "context", "position"):
            np.testing.assert_array_equal(data[key], feedback[key])
        assert list(data["action_names"]) == list(feedback["action_names"])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"pscore": np.r_[np.full(10, 0.5), 0.0, np.full(189, 0.5)]}, r"row 11: pscore 0.0 is not a probability"),
        ({"action": np.r_[np.zeros(199, int), 7]}, r"row 200: action 7 is outside 0..2"),
        ({"reward": np.zeros(5)}, r"reward has shape \(5,\), expected \(200,\)"),
        ({"context": None}, r"missing OBP array\(s\) context"),
    ],
)
def test_bad_obp_logs_are_refused(tmp_path: Path, change: dict[str, Any], message: str) -> None:
    feedback = {**_bandit(), **change}
    src = tmp_path / "bad.npz"
    np.savez(src, **{k: v for k, v in feedback.items() if v is not None})
    with open_store(":memory:") as store, pytest.raises(BadInputError, match=message):
        store.import_files("obp", [src])


# -- catalogue, queries, seeding -------------------------------------------------------------------------------


def test_logs_lists_every_kind_with_counts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "wb.duckdb"
    with open_store(db) as store:
        for i in range(5):
            store.append(make_trajectory(i, log="live"))
        store.flush()
        store.ingest(read_routellm(_mini_routellm(tmp_path)))
        np.savez(tmp_path / "b.npz", **_bandit(20))
        store.import_files("obp", [tmp_path / "b.npz"])
    assert main(["logs", "--db", str(db), "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert {n: (r["kind"], r["rows"]) for n, r in rows.items()} == {
        "b": ("bandit", 20),
        "live": ("live", 5),
        "routellm-mini": ("full-information", 8),
    }
    assert main(["logs", "--db", str(db)]) == 0
    assert "routellm-mini" in capsys.readouterr().out


def test_analytical_queries_answer_on_a_live_log(tmp_path: Path) -> None:
    with open_store(":memory:") as store:
        for i in range(30):
            store.append(make_trajectory(i))
        store.flush()
        cost = store.query("cost_by_model_task", log="live").row(0, named=True)
        assert cost["requests"] == 30 and cost["model"] == "openai/gpt-4o-mini"
        assert cost["total_cost_usd"] == pytest.approx(30 * 0.000301)
        lat = store.query("latency_percentiles", log=None).row(0, named=True)
        assert lat["p50_ms"] == pytest.approx(1480.25)
        timeline = store.query("breaker_timeline", log=None, bucket_s=3600)
        by = {r["deployment"]: r for r in timeline.to_dicts()}
        assert by["anthropic/claude-sonnet"]["failures"] == 30 and by["openai/gpt-4o-mini"]["failures"] == 0
        assert by["anthropic/claude-sonnet"]["error_kinds"] == "http_429"
        tiers = store.query("quality_by_tier", log="live").row(0, named=True)
        assert tiers["mean_quality"] == pytest.approx(0.86) and tiers["requests"] == 30
        cover = store.query("exploration_coverage", log="live").row(0, named=True)
        assert cover["explored"] == 30 and cover["min_propensity"] == pytest.approx(0.7)


def test_policies_are_versioned(tmp_path: Path) -> None:
    with open_store(tmp_path / "wb.duckdb") as store:
        assert store.load_policy("router") is None
        v1 = store.save_policy("router", {"w": [0.1, 0.2]})
        v2 = store.save_policy("router", b"\x00\x01", parent=v1, notes="retrained")
        run = store.save_replay_run(log="live", estimator="exact", configs={"a": {}}, results={"a": {"cost": 1.0}})
    with open_store(tmp_path / "wb.duckdb") as store:
        assert (v1, v2) == (1, 2)
        assert store.load_policy("router") == (2, b"\x00\x01")
        assert store.load_policy("router", 1) == (1, {"w": [0.1, 0.2]})
        assert store.query("policy_versions", name="router")["parent_version"].to_list() == [1, None]
        assert store.query("replay_results", run_id=run)["metrics"].to_list() == ['{"cost":1.0}']


def test_a_new_default_store_is_seeded_from_the_sample_logs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(platformdirs, "user_data_dir", lambda app: str(tmp_path / "data" / app))
    expected = {p.stem for p in sample_files()}
    assert {"routellm-mmlu", "routellm-mt-bench"} <= expected
    with open_store(None) as store:
        # Outcome logs land before open_store returns; sample trajectories follow on a background thread
        # (the first TUI paint must not wait for them), and close() waits for that import to finish.
        outcome_logs = {p.stem for p in sample_files() if not holds_trajectories(p)}
        assert set(store.logs()["name"].to_list()) >= outcome_logs
        store.append(make_trajectory(1))
    with open_store(None) as store:  # an existing default store is not seeded twice
        assert set(store.logs()["name"].to_list()) >= expected
        assert store.count(make_trajectory(1).log) == 1
        assert store.count("sim-drift-bandit") == 20_000  # the simulated bandit sample, once
        assert store.logs().filter(pl.col("name") == "routellm-mmlu")["rows"][0] == 28_074
    with open_store(tmp_path / "other.duckdb") as other:  # an explicit --db starts empty
        assert other.logs().height == 0


def test_export_of_an_unknown_log_lists_the_logs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store, _ = _store_with(tmp_path, 3)
    store.close()
    db = str(tmp_path / "src.duckdb")
    assert main(["export-log", "nope", "--out", str(tmp_path / "x.parquet"), "--db", db]) == 2
    err = capsys.readouterr().err
    assert "no log named 'nope'" in err and "logs: shadow" in err
    assert main(["export-log", "shadow", "--out", str(tmp_path / "x.txt"), "--db", db]) == 2
    assert "--format" in capsys.readouterr().err
    assert main(["export-log", "shadow", "--out", str(tmp_path / "x.parquet"), "--db", db]) == 0
    assert pq.read_table(tmp_path / "x.parquet").num_rows == 3
