"""Shadow re-execution on the simulated fleet: a seeded sample, labelled shadow, never past its cost cap."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from workbench.config import parse_config
from workbench.domain import ChatRequest, Trajectory
from workbench.errors import BadInputError
from workbench.pipeline.build import build_pipeline
from workbench.replay.loader import sample_fullinfo
from workbench.replay.shadow import reachable_models, shadow, worst_case_cost
from workbench.sim.traffic import sim_config_dict


@pytest.fixture(scope="module")
def prompts() -> list[str]:
    log = sample_fullinfo("sim-drift-full")
    assert log is not None
    return log.prompts


def _config() -> Any:
    data = sim_config_dict()
    data["routing"]["exploration"] = {"mode": "off"}
    return parse_config(data, "test")


class Sink:
    def __init__(self) -> None:
        self.rows: list[Trajectory] = []

    def append(self, trajectory: Trajectory, /) -> None:
        self.rows.append(trajectory)


def test_shadow_runs_the_sample_live_and_labels_it(prompts: list[str]) -> None:
    sink = Sink()
    result = shadow(_config(), prompts, label="sim", log="sim-drift-full", sample=40, cost_cap_usd=10.0, sink=sink)
    assert result.n == 40 and result.stopped == "sample done"
    assert len(sink.rows) == 40
    assert all(t.source == "shadow" and t.log == "shadow:sim-drift-full" for t in sink.rows)
    assert {t.request.prompt for t in sink.rows} <= set(prompts)
    d = result.as_dict()
    assert d["estimator"] == "shadow" and d["quality"] is not None and 0 < d["cost_usd"] <= 10.0
    assert d["cost_usd"] == pytest.approx(sum(t.response.cost_usd for t in sink.rows))
    assert result.table().height == 40 and "simulated" in result.notes[0]
    again = shadow(_config(), prompts, label="sim", log="sim-drift-full", sample=40, cost_cap_usd=10.0)
    assert [t.request.prompt for t in again.trajectories] == [t.request.prompt for t in sink.rows]


def test_shadow_stops_before_the_cost_cap(prompts: list[str]) -> None:
    config = _config()
    registry = build_pipeline(config, seed=0)
    models = reachable_models(registry)
    capped_request = dataclasses.replace(ChatRequest.from_prompt(max(prompts, key=len)), max_output_tokens=64)
    cap = 2.5 * worst_case_cost(registry, models, capped_request)  # room for at least two requests
    full = shadow(config, prompts, label="sim", log="x", sample=800, cost_cap_usd=10.0, max_output_tokens=64)
    assert full.spent_usd > cap  # so the cap must bite
    capped = shadow(config, prompts, label="sim", log="x", sample=800, cost_cap_usd=cap, max_output_tokens=64)
    assert 2 <= capped.n < 800
    assert capped.spent_usd <= cap
    assert capped.stopped.startswith("cost cap")
    # The capped run is the full run's prefix: the cap only stops it, it does not change what ran.
    assert [t.request.prompt for t in capped.trajectories] == [t.request.prompt for t in full.trajectories[:capped.n]]


def test_shadow_rejects_bad_limits(prompts: list[str]) -> None:
    with pytest.raises(BadInputError, match="cost-cap"):
        shadow(_config(), prompts, label="sim", log="x", sample=5, cost_cap_usd=0.0)
    with pytest.raises(BadInputError, match="no prompts"):
        shadow(_config(), [], label="sim", log="x")
