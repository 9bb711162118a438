"""The headless CLI contract: `send --json`, `config validate`, exit codes, no tracebacks for bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    full_env.pop("CLAWFT_WORKBENCH_DB", None) if env is None or "CLAWFT_WORKBENCH_DB" not in env else None
    return subprocess.run([sys.executable, "-m", "workbench", *args], capture_output=True, text=True,
                          env=full_env, timeout=120, cwd=ROOT)


def test_send_json_contract_and_the_row_is_in_the_db(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    out = cli("send", "write a haiku about routers", "--json", "--db", str(db), "--seed", "3")
    assert out.returncode == 0, out.stderr
    payload = json.loads(out.stdout)
    for key in ("trajectory_id", "decision", "response", "cost_usd", "latency_ms"):
        assert key in payload
    d = payload["decision"]
    for key in ("provider", "model", "strategy", "propensity", "candidates", "reason"):
        assert key in d
    assert d["model"].startswith(d["provider"] + "/")
    assert payload["response"]["text"] and payload["cost_usd"] > 0
    listed = cli("trajectories", "--json", "--db", str(db))
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert [r["trajectory_id"] for r in rows] == [payload["trajectory_id"]]
    assert rows[0]["model"] == d["model"]


def test_send_human_output(tmp_path: Path) -> None:
    out = cli("--db", str(tmp_path / "h.duckdb"), "send", "write a haiku about routers")
    assert out.returncode == 0, out.stderr
    assert "decision" in out.stdout and "cost       $" in out.stdout and "creative" in out.stdout


def test_db_from_environment(tmp_path: Path) -> None:
    db = tmp_path / "env.duckdb"
    out = cli("send", "hello", "--json", env={"CLAWFT_WORKBENCH_DB": str(db)})
    assert out.returncode == 0, out.stderr
    assert db.exists() and json.loads(out.stdout)["db"] == str(db)


def test_config_validate_valid(tmp_path: Path) -> None:
    f = tmp_path / "ok.json"
    f.write_text(json.dumps({"pipelines": {"triage": {"router": "static", "preferred_models": ["groq/llama-3.1-8b"]}}}))
    out = cli("config", "validate", str(f))
    assert out.returncode == 0, out.stderr
    assert "valid" in out.stdout


@pytest.mark.parametrize(
    ("config", "line"),
    [
        ({"pipelines": {"triage": {"routr": "static"}}}, "pipelines.triage.routr: unknown key 'routr'"),
        ({"models": {"acme/x": {"input_cost_per_token": -1}}}, "models.acme/x.input_cost_per_token: "),
        ({"pipelines": {"triage": {"preferred_models": ["acme/nope"]}}},
         "pipelines.triage.preferred_models.0: the simulated transport cannot serve 'acme/nope'"),
    ],
)
def test_config_validate_invalid(tmp_path: Path, config: dict[str, object], line: str) -> None:
    f = tmp_path / "bad.json"
    f.write_text(json.dumps(config))
    out = cli("config", "validate", str(f))
    assert out.returncode == 2
    assert any(ln.startswith(line) for ln in out.stdout.splitlines()), out.stdout
    assert "Traceback" not in out.stderr + out.stdout


def test_bad_config_on_send_is_exit_2_without_traceback(tmp_path: Path) -> None:
    f = tmp_path / "bad.json"
    f.write_text('{"pipelines": {"triage": {"router": 3}}}')
    out = cli("send", "hi", "--config", str(f), "--db", ":memory:")
    assert out.returncode == 2
    assert "pipelines.triage.router" in out.stderr and "Traceback" not in out.stderr
    missing = cli("send", "hi", "--config", str(tmp_path / "nope.json"), "--db", ":memory:")
    assert missing.returncode == 2 and "not found" in missing.stderr


def test_empty_prompt_and_bad_flags_are_exit_2() -> None:
    assert cli("send", "  ", "--db", ":memory:").returncode == 2
    assert cli("send").returncode == 2  # argparse: missing PROMPT


def test_config_export_schema_and_show(tmp_path: Path) -> None:
    out = cli("config", "export", "--schema", "--out", str(tmp_path / "schema.json"))
    assert out.returncode == 0, out.stderr
    assert "pipelines" in json.loads((tmp_path / "schema.json").read_text())["properties"]
    show = cli("config", "show")
    assert show.returncode == 0 and json.loads(show.stdout)["transport"]["kind"] == "simulated"


def test_closed_stdout_is_not_a_traceback(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "workbench", "config", "export", "--schema"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=ROOT)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # the reader is gone before the first write, like `| head -0`
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 0
    assert "Traceback" not in err
