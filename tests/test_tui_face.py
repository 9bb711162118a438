"""The core pieces behind the TUI and the notebook face: Workbench fleet/fault/query helpers, the traffic
generator, the trajectory report, the config's `tui` section, and the Live screen's coalescing feed."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Iterator

import numpy as np
import pytest

from workbench import events
from workbench.api import Workbench
from workbench.config import WorkbenchConfig, parse_config
from workbench.errors import BadInputError, ConfigError
from workbench.traffic import SAMPLE_PROMPTS, TrafficGenerator
from workbench.tui.feed import LiveFeed

FIXED_TIME = 1_700_000_000.0


@pytest.fixture
def wb() -> Iterator[Workbench]:
    bench = Workbench(db=":memory:", seed=0, clock=lambda: FIXED_TIME)
    yield bench
    bench.close()


def test_set_fault_validates_and_breakers_reflect_it(wb: Workbench) -> None:
    with pytest.raises(BadInputError, match="no model 'openai/nope'"):
        wb.set_fault("openai/nope", down=True)
    with pytest.raises(BadInputError, match="within"):
        wb.set_fault("openai/gpt-4o", rate_429=2.0)
    t = wb.send("triage: classify this ticket")
    assert wb.set_fault(t.decision.model, down=True).down
    for _ in range(wb.config.routing.breaker.consecutive_failures):
        wb.send("triage: classify this ticket")
    board = wb.breakers()
    assert set(board["model"]) == set(wb.deployments())
    row = board.filter(board["model"] == t.decision.model).row(0, named=True)
    assert row["state"] == "open" and row["down"] is True
    assert row["reopens_in_s"] == pytest.approx(wb.config.routing.breaker.cooldown_s)  # the clock is fixed
    others = board.filter(board["model"] != t.decision.model)
    assert set(others["state"]) == {"closed"} and not any(others["down"])


def test_fault_switches_need_the_simulated_transport() -> None:
    config = parse_config({"transport": {"kind": "http"}, "providers": {"openai": {"api_key": "sk-test"}},
                           "routing": {"default_model": "openai/gpt-4o-mini"}})
    with Workbench(db=":memory:", config=config) as bench:
        with pytest.raises(BadInputError, match="simulated transport"):
            bench.set_fault("openai/gpt-4o-mini", down=True)
        assert bench.faults() == {}


def test_find_trajectories_filters_and_report_renders(wb: Workbench) -> None:
    a = wb.send("triage: classify this ticket")
    wb.send("write a haiku about routers")
    assert wb.find_trajectories().height == 2
    only = wb.find_trajectories(task_type="triage")
    assert only["trajectory_id"].to_list() == [a.trajectory_id]
    assert wb.find_trajectories(model=a.decision.model[-6:], task_type="triage").height == 1
    assert wb.find_trajectories(status="failed").height == 0
    assert wb.find_trajectories(since=FIXED_TIME + 1).height == 0
    report = wb.report(a.trajectory_id)
    html = report._repr_html_()
    assert a.decision.model in html and "<h4>Attempts</h4>" in html
    assert report.candidates().height == len(a.decision.candidates)
    assert report.attempts()["status"].to_list() == [x.status for x in a.response.attempts]
    assert report.witness_hash and "chained" in report.text()
    with pytest.raises(BadInputError, match="no trajectory"):
        wb.report("nope")
    assert wb.query("cost_by_model_task", log="live")["requests"].sum() == 2


def test_traffic_generator_sends_at_its_rate_until_stopped() -> None:
    sent: list[str] = []

    async def send(prompt: str) -> None:
        sent.append(prompt)
        if len(sent) == 5:
            raise RuntimeError("one bad send")  # counted, does not stop the traffic

    now = [0.0]
    gen = TrafficGenerator(send, rate=100.0, rng=np.random.default_rng(0), clock=lambda: now[0])

    async def drive() -> int:
        task = asyncio.create_task(gen.run(limit=30))
        for _ in range(3):
            await asyncio.sleep(0.03)
            now[0] += 0.1  # 10 more due at 100/s
        return await task

    assert asyncio.run(drive()) == 30
    assert gen.failed == 1 and len(sent) == 30 and set(sent) <= set(SAMPLE_PROMPTS)
    a = TrafficGenerator(send, rng=np.random.default_rng(7))
    b = TrafficGenerator(send, rng=np.random.default_rng(7))
    assert [a.next_prompt() for _ in range(10)] == [b.next_prompt() for _ in range(10)]
    with pytest.raises(BadInputError, match="out of range"):
        TrafficGenerator(send, rate=0.0)
    stopped = TrafficGenerator(send, rate=100.0)
    stopped.stop()  # a stop before run is kept
    assert asyncio.run(stopped.run()) == 0


def test_tui_config_section_is_strict_and_outside_the_hash() -> None:
    keyed = parse_config({"tui": {"keys": {"traffic": "ctrl+g"}, "theme": "nord"}})
    assert keyed.tui.keys == {"traffic": "ctrl+g"} and keyed.tui.theme == "nord"
    assert keyed.config_hash() == WorkbenchConfig().config_hash()  # keys and theme do not change pipelines
    with pytest.raises(ConfigError, match=r"tui\.colour"):
        parse_config({"tui": {"colour": "red"}})


def test_live_feed_folds_events_into_a_cumulative_snapshot(wb: Workbench) -> None:
    feed = LiveFeed(recent_cap=3)
    got: list[events.Event] = []
    wb.subscribe(got.append)
    for _ in range(4):
        wb.send("triage: classify this ticket")
    for e in got:
        feed.push(e)
    feed.push(events.BreakerChanged("m/x", "closed", "open", 1.0, "5 consecutive failures"))
    first = feed.fold(0.0)
    logged = [e.trajectory for e in got if isinstance(e, events.TrajectoryLogged)]
    assert first.requests == first.seq == 4 and len(feed) == 0
    assert first.cost_usd == pytest.approx(sum(t.response.cost_usd for t in logged))
    assert [n for n, _ in first.recent] == [2, 3, 4]
    assert first.transitions["m/x"].new == "open"
    second = feed.fold(1.0)  # nothing new: the same totals, nothing lost
    assert second.requests == 4 and second.rps == pytest.approx(0.0)


def test_core_still_does_not_import_textual() -> None:
    code = ("import sys, workbench.api, workbench.traffic, workbench.report; "
            "w = workbench.api.Workbench(db=':memory:'); w.breakers(); w.close(); "
            "assert 'textual' not in sys.modules, 'textual imported by the core'")
    subprocess.run([sys.executable, "-c", code], check=True)
