"""Every area's benchmark, each in a child process of its own, gathered into one set of figures with goals.

A child imports only its area (the TUI benchmark is the only one that loads Textual), runs `run(quick)` and
writes the result as JSON to a file the parent names; its stdout stays free for whatever the area prints.
A section that fails or overruns its time limit is reported with its error; the others still run.
"""

from __future__ import annotations

import importlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workbench.bench.figures import is_figure


@dataclass(frozen=True)
class Section:
    module: str
    keys: tuple[str, ...]  # the headline figures it must report
    limit_s: float  # time limit for a full run; --quick runs get a third of it


SECTIONS: dict[str, Section] = {
    "routing": Section("workbench.bench.routing", ("decision_overhead_us_p50", "selection_us_1000_deployments"), 900),
    "transport": Section("workbench.bench.transport", ("transport_vs_httpx_ratio",), 600),
    "store": Section("workbench.bench.store", ("ingest_rows_per_s", "enqueue_us_p50"), 900),
    "replay": Section(
        "workbench.bench.replay",
        ("replay_rows_per_s_stateless", "replay_rows_per_s_learning", "replay_peak_rss_mb"),
        1800,
    ),
    "learning": Section("workbench.bench.learning", ("learning_update_us_p50",), 600),
    "tui": Section("workbench.tui.bench", ("tui_lag_ms_p99", "tui_first_paint_ms"), 600),
}
KEYS: tuple[str, ...] = tuple(k for s in SECTIONS.values() for k in s.keys)


def run_section(name: str, quick: bool) -> dict[str, Any]:
    """One area in a child process: {"figures": {...}, "detail": ..., "seconds": s, "error": str | None}."""
    section = SECTIONS[name]
    limit = section.limit_s / 3 if quick else section.limit_s
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="clawft-bench-") as tmp:
        out = Path(tmp) / "result.json"
        cmd = [sys.executable, "-m", "workbench.bench.suite", "--child", name, str(out)]
        # Its own session, so a timeout takes down what the child started too (the transport's mock server).
        proc = subprocess.Popen([*cmd, *(["--quick"] if quick else [])], stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True, start_new_session=True)
        try:
            _, stderr = proc.communicate(timeout=limit)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            return _failed(name, f"did not finish within {limit:.0f} s", started)
        if proc.returncode != 0 or not out.exists():
            tail = (stderr.strip().splitlines() or ["(no output)"])[-1]
            return _failed(name, f"exited with {proc.returncode}: {tail}", started)
        result: dict[str, Any] = json.loads(out.read_text())
    figures = {k: v for k, v in result.items() if is_figure(v)}
    missing = [k for k in section.keys if k not in figures]
    error = f"did not report {', '.join(missing)}" if missing else None
    # An area puts its detail under "detail", or beside its figures.
    detail = result["detail"] if "detail" in result else {k: v for k, v in result.items() if k not in figures}
    return {"figures": figures, "detail": detail, "seconds": time.perf_counter() - started, "error": error}


def _failed(name: str, error: str, started: float) -> dict[str, Any]:
    return {"figures": {}, "detail": None, "seconds": time.perf_counter() - started, "error": f"{name}: {error}"}


def run_all(
    names: Sequence[str], quick: bool, progress: Callable[[str, dict[str, Any]], None] | None = None
) -> dict[str, Any]:
    """The headline figures of `names` (every promised key present; a failed section's keys carry its error),
    then per-section time, error and detail under "sections"."""
    figures: dict[str, Any] = {}
    sections: dict[str, Any] = {}
    for name in names:
        result = run_section(name, quick)
        if progress is not None:
            progress(name, result)
        for key in SECTIONS[name].keys:
            figures[key] = result["figures"].get(key) or {
                "value": None, "unit": "", "goal": "", "met": False, "error": result["error"]
            }
        figures.update({k: v for k, v in result["figures"].items() if k not in figures})
        sections[name] = {"seconds": round(result["seconds"], 1), "error": result["error"], "detail": result["detail"]}
    return {**figures, "quick": quick, "sections": sections}


def _child(name: str, out: str, quick: bool) -> int:
    module: Any = importlib.import_module(SECTIONS[name].module)
    result = module.run(quick=quick)
    Path(out).write_text(json.dumps(result, default=str))
    return 0


if __name__ == "__main__":
    args = sys.argv[1:]
    if len(args) < 3 or args[0] != "--child" or args[1] not in SECTIONS:
        print("usage: python -m workbench.bench.suite --child SECTION OUT.json [--quick]", file=sys.stderr)
        raise SystemExit(2)
    raise SystemExit(_child(args[1], args[2], "--quick" in args[3:]))
