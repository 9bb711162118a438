"""The Workbench facade's replay, tune and export: the result objects the CLI prints, as DataFrames."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from workbench.api import Workbench
from workbench.errors import BadInputError
from workbench.sim.traffic import sim_config_dict


def _configs(tmp_path: Path) -> tuple[Path, Path]:
    static = sim_config_dict()
    static["routing"]["exploration"] = {"mode": "off"}
    static["transport"] = {}
    learning = json.loads(json.dumps(static))
    for p in learning["pipelines"].values():
        p["router"] = "latency-based"
    (tmp_path / "static.json").write_text(json.dumps(static))
    (tmp_path / "latency.json").write_text(json.dumps(learning))
    return tmp_path / "static.json", tmp_path / "latency.json"


def test_replay_returns_tables_and_curves_and_stores_the_run(tmp_path: Path) -> None:
    static, latency = _configs(tmp_path)
    with Workbench(db=tmp_path / "w.duckdb") as wb:
        report = wb.replay("sim-drift-full", [str(static), str(latency)])
    assert report.run_id
    table = report.table()
    assert isinstance(table, pl.DataFrame)
    assert {"static", "latency", "oracle", "random"} <= set(table["pipeline"].to_list())
    curves = report.curves_table(points=50)
    assert set(curves["pipeline"].unique().to_list()) == {"static", "latency"}
    assert curves.filter(pl.col("pipeline") == "static")["regret"].max() > 0  # type: ignore[operator]
    assert "<table" in report._repr_html_()
    assert report.as_dict()["curves"]["static"]["events"] == 10_000


def test_tune_and_export_through_the_facade_agree(tmp_path: Path) -> None:
    (tmp_path / "tier.json").write_text(
        json.dumps({"pipelines": {"default": {"classifier": "complexity", "router": "tier"}}})
    )
    out = tmp_path / "tuned.json"
    with Workbench(db=tmp_path / "w.duckdb") as wb:
        tuned = wb.tune("sim-drift-full", str(tmp_path / "tier.json"), "max-quality:cost<=0.001", out=out,
                        candidates=4, executor="inline")
        exported = wb.export("sim-drift-full", str(out), tmp_path / "exported.json")
    assert tuned.out == out and tuned.run_id
    trials = tuned.table()
    assert isinstance(trials, pl.DataFrame) and trials.height == 4
    assert tuned.summary()["best"]["cost_per_request_usd"] <= 0.001
    assert json.loads(out.read_text())["provenance"]["objective"] == "max-quality:cost<=0.001"
    assert exported.provenance["metrics"]["quality"] == pytest.approx(tuned.result.best.metrics["quality"], abs=1e-6)
    assert exported.table().height == 1 and "<table" in exported._repr_html_()
    assert "<table" in tuned._repr_html_()


def test_facade_refuses_tuning_or_exporting_a_baseline(tmp_path: Path) -> None:
    with Workbench(db=":memory:") as wb:
        with pytest.raises(BadInputError, match="baseline"):
            wb.tune("sim-drift-full", "oracle", "min-cost:quality>=0.8", executor="inline")
        with pytest.raises(BadInputError, match="baseline"):
            wb.export("sim-drift-full", "random", tmp_path / "x.json")
        with pytest.raises(BadInputError, match="max-quality"):
            wb.tune("sim-drift-full", "oracle", "cheap")


def test_shadow_through_the_facade_and_the_cli_stores_a_shadow_log(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from workbench.cli import main

    config = tmp_path / "static.json"
    config.write_text(json.dumps({
        "pipelines": {"default": {"classifier": "complexity", "router": "static",
                                  "preferred_models": ["openai/gpt-4o-mini", "groq/llama-3.3-70b"],
                                  "quality": {"scorer": "label"}}},
        "routing": {"exploration": {"mode": "off"}},
    }))
    db = tmp_path / "w.duckdb"
    with Workbench(db=db) as wb:
        result = wb.shadow("sim-drift-full", str(config), sample=15, cost_cap_usd=1.0)
        logs = wb.logs()
    assert result.n == 15 and result.as_dict()["estimator"] == "shadow"
    assert result.table().height == 15 and "<table" in result._repr_html_()
    row = logs.filter(pl.col("name") == "shadow:sim-drift-full")
    assert row.height == 1 and row["source"][0] == "shadow"
    assert main(["shadow", "--db", str(db), "--log", "sim-drift-full", "--pipeline", str(config), "--sample", "5",
                 "--cost-cap", "1e-9", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["n"] == 0 and out["stopped"].startswith("cost cap") and out["cost_usd"] == 0
    assert main(["shadow", "--db", str(db), "--log", "sim-drift-full", "--pipeline", "oracle"]) == 2
    assert "baseline" in capsys.readouterr().err
