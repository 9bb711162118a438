"""The transport's command line: `mock-server` and `send --provider/--base-url/--model` through the http transport."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[1]


def env(**extra: str) -> dict[str, str]:
    out = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY") and k != "CLAWFT_WORKBENCH_DB"}
    return {**out, "PYTHONPATH": str(ROOT), **extra}


def cli(*args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "workbench", *args], capture_output=True, text=True,
                          env=env(**extra), timeout=120, cwd=ROOT)


@pytest.fixture
def mock_cli(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], str]]:
    faults = tmp_path / "faults.json"
    faults.write_text(json.dumps({"models": {"openai/gpt-4o-mini": {"rate_429": 1.0, "retry_after_s": 0.01,
                                                                    "times": 1}}}))
    proc = subprocess.Popen([sys.executable, "-m", "workbench", "mock-server", "--port", "0", "--seed", "1",
                             "--faults", str(faults)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env(), cwd=ROOT)
    assert proc.stdout is not None
    first = proc.stdout.readline().strip()
    try:
        assert first.startswith("listening on http://127.0.0.1:"), first
        yield proc, first.removeprefix("listening on ")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)


def test_mock_server_command_serves_until_stopped_and_send_goes_through_it(
    mock_cli: tuple[subprocess.Popen[str], str], tmp_path: Path
) -> None:
    proc, base_url = mock_cli
    assert base_url.endswith("/v1")
    assert "openai/gpt-4o-mini" in [m["id"] for m in httpx.get(f"{base_url}/models", timeout=10).json()["data"]]
    db = str(tmp_path / "cli.duckdb")

    out = cli("send", "write a haiku about routers", "--provider", "mock", "--base-url", base_url, "--json",
              "--db", db)
    assert out.returncode == 0, out.stderr
    p = json.loads(out.stdout)
    assert p["transport"] == "http" and p["decision"]["strategy"] == "explicit"
    assert p["decision"]["model"] == "mock/openai/gpt-4o-mini" and p["decision"]["propensity"] == 1.0
    assert [a["status"] for a in p["response"]["attempts"]] == ["http_429", "ok"]  # the --faults file is in force
    assert p["response"]["status"] == "ok" and p["response"]["text"] and p["cost_usd"] > 0

    out = cli("send", "hello", "--provider", "mock", "--base-url", base_url, "--wire", "anthropic",
              "--model", "claude-sonnet", "--json", "--db", db)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["response"]["served_model"] == "mock/anthropic/claude-sonnet-4"

    listed = json.loads(cli("trajectories", "--json", "--db", db).stdout)
    assert len(listed) == 2 and {r["model"] for r in listed} == {"mock/openai/gpt-4o-mini",
                                                                 "mock/anthropic/claude-sonnet-4"}

    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == 0
    assert proc.stderr is not None and "Traceback" not in proc.stderr.read()


def test_send_to_a_real_provider_without_its_key_is_a_clear_exit_2() -> None:
    out = cli("send", "hi", "--model", "openai/gpt-4o-mini", "--db", ":memory:")
    assert out.returncode == 2
    assert "OPENAI_API_KEY" in out.stderr and "Traceback" not in out.stderr


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["send", "hi", "--base-url", "ftp://x", "--model", "m"], "base_url must start with http"),
        (["send", "hi", "--provider", "acme", "--model", "m"], "unknown provider 'acme'"),
        (["send", "hi", "--model", "justaname"], "provider/model"),
        (["mock-server", "--host", "0.0.0.0"], "not a loopback address"),
        (["mock-server", "--port", "0", "--faults", "/nonexistent/faults.json"], "file not found"),
    ],
)
def test_bad_transport_flags_are_exit_2_without_traceback(args: list[str], words: str) -> None:
    out = cli(*args, "--db", ":memory:")
    assert out.returncode == 2, out.stdout + out.stderr
    assert words in out.stderr and "Traceback" not in out.stderr
