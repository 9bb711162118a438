"""The TUI's screens driven through Textual's Pilot: breakers and fault switches, traffic, bars (Live); a
comparison with progress, cancel and export (Compare); filters and detail (Trajectories); edit, validate,
export and open (Config); keymap, theme and palette (app). One snapshot per screen at 120x40.

Every app runs on an in-memory store with seed 0, a fixed wall clock and a frozen monotonic clock.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest
from textual.message import Message
from textual.notifications import Notify
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Select, SelectionList

from workbench import events
from workbench.api import Workbench
from workbench.config import parse_config
from workbench.domain import QUALITY_DIMENSIONS, Trajectory
from workbench.tui import messages
from workbench.tui.app import WorkbenchApp
from workbench.tui.feed import LiveFeed
from workbench.tui.pilot_steps import send, trip_breaker
from workbench.tui.screens.compare import CompareScreen
from workbench.tui.screens.config import ConfigScreen
from workbench.tui.screens.live import LIVE_HISTORY_CAP, LiveScreen
from workbench.tui.screens.trajectories import TrajectoriesScreen
from workbench.tui.widgets import BreakerBoard, DecisionPanel, HistoryTable, StatusBar

FIXED_TIME = 1_700_000_000.0
SIZE = (120, 40)
TRIAGE = "triage: classify this ticket"
SMALL_LOG = "routellm-mt-bench"  # 72 prompts x 2 models: a comparison finishes in well under a second


def make_app(config: Any = None) -> WorkbenchApp:
    wb = Workbench(db=":memory:", config=config, seed=0, clock=lambda: FIXED_TIME)
    return WorkbenchApp(wb, monotonic=lambda: 0.0)


def posted(msgs: list[Message], kind: type[Message]) -> list[Any]:
    return [m for m in msgs if isinstance(m, kind)]


def notes(msgs: list[Message], severity: str | None = None) -> list[str]:
    return [m.notification.message for m in posted(msgs, Notify)
            if severity is None or m.notification.severity == severity]


async def send_and_get(pilot: Pilot[Any], text: str) -> Trajectory | None:
    """Send and return the new trajectory (ids, not time: the fixed clock gives every row the same time)."""
    wb = pilot.app.workbench
    before = set(wb.trajectories(10_000)["trajectory_id"])
    await send(pilot, text)
    (new,) = set(wb.trajectories(10_000)["trajectory_id"]) - before
    return wb.trajectory(new)


async def settle(pilot: Pilot[Any]) -> None:
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    await pilot.pause()


# -- Live: fault switches and the breaker board ------------------------------------------------------


async def test_outage_switch_trips_the_breaker_and_requests_fall_back() -> None:
    app = make_app()
    msgs: list[Message] = []
    async with app.run_test(size=SIZE, message_hook=msgs.append) as pilot:
        await send(pilot, TRIAGE)
        screen = app.screen
        assert isinstance(screen, LiveScreen)
        chosen = app.workbench.trajectories()["model"][0]
        board = screen.query_one(BreakerBoard)
        assert set(app.workbench.deployments()) == set(board.models)
        assert board.cell(chosen, "breaker") == "closed" and board.cell(chosen, "fault") == "-"

        # The operator focuses the board (it lands on the latest request's model) and takes it down.
        await pilot.press("ctrl+b")
        assert app.focused is board and board.highlighted_model() == chosen
        await pilot.press("d")
        await pilot.pause()
        assert board.cell(chosen, "fault") == "DOWN"
        assert any(chosen in n and "down" in n for n in notes(msgs))

        threshold = app.workbench.config.routing.breaker.consecutive_failures
        for _ in range(threshold):
            await send(pilot, TRIAGE)
        screen.flush()
        await pilot.pause()

        opened = [m.event for m in posted(msgs, messages.BreakerChanged) if m.event.model == chosen]
        assert [(e.old, e.new) for e in opened] == [("closed", "open")]
        cooldown = app.workbench.config.routing.breaker.cooldown_s
        # The fixed clock never moves, so the countdown shows the full cooldown.
        assert board.cell(chosen, "breaker") == f"open {cooldown:.0f}s"
        assert board.cell(chosen, "fails") == f"{threshold}/{threshold}"
        assert board.cell(chosen, "last") == "closed→open"
        assert any(m.notification.title == "Breaker open" for m in posted(msgs, Notify))

        # Every request still succeeded through a fallback, and the next one routes around the open breaker.
        stored = app.workbench.trajectories(20)
        assert stored.height == threshold + 1 and set(stored["status"]) == {"ok"}
        newest = await send_and_get(pilot, TRIAGE)
        assert newest is not None and newest.decision.model != chosen
        excluded = {c.model: c.excluded for c in newest.decision.candidates}
        assert "breaker open" in (excluded[chosen] or "")

        # Back up: the switch clears (the breaker itself waits for its cooldown).
        await pilot.press("ctrl+b")  # lands on the newest request's model (a fallback), so move to the downed one
        board.move_cursor(row=board.models.index(chosen))
        await pilot.press("d")
        await pilot.pause()
        assert board.cell(chosen, "fault") == "-"


async def test_429_switch_shows_on_the_board_and_fails_attempts() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, TRIAGE)
        screen = app.screen
        assert isinstance(screen, LiveScreen)
        chosen = app.workbench.trajectories()["model"][0]
        screen.toggle_fault(chosen, "429")
        await pilot.pause()
        assert screen.board.cell(chosen, "fault") == "429 50%"
        for _ in range(6):
            await send(pilot, TRIAGE)
        statuses = [a.status for t in app.workbench.store.trajectories_of("live") for a in t.response.attempts]
        assert "http_429" in statuses
        screen.toggle_fault(chosen, "429")
        await pilot.pause()
        assert screen.board.cell(chosen, "fault") == "-"


async def test_traffic_generator_sends_and_the_flush_catches_up() -> None:
    app = make_app()
    msgs: list[Message] = []
    async with app.run_test(size=SIZE, message_hook=msgs.append) as pilot:
        screen = app.screen
        assert isinstance(screen, LiveScreen)
        screen.query_one("#traffic-rate", Input).value = "200"
        await pilot.press("ctrl+t")
        assert screen.traffic_running
        while screen.traffic is not None and screen.traffic.sent < 20:
            await pilot.pause(0.05)
        await pilot.press("ctrl+t")
        assert not screen.traffic_running
        await settle(pilot)
        screen.flush()
        await pilot.pause()

        stored = app.workbench.trajectories(1000).height
        assert stored == screen.traffic.sent >= 20
        # Generated traffic posts no per-event messages; it reaches the screen only through snapshots.
        assert not posted(msgs, messages.DecisionMade)
        assert posted(msgs, messages.LiveSnapshot)
        assert screen.query_one(StatusBar).requests == stored
        assert screen.query_one(HistoryTable).row_count == min(stored, LIVE_HISTORY_CAP)
        assert screen.state is not None and screen.state.requests == stored
        # The decision panel follows the newest generated request.
        newest = screen.state.recent[-1][1]
        assert f"model       {newest.decision.model}" in screen.query_one(DecisionPanel).text


async def test_bad_traffic_rate_is_an_error_notification_not_a_crash() -> None:
    app = make_app()
    msgs: list[Message] = []
    async with app.run_test(size=SIZE, message_hook=msgs.append) as pilot:
        screen = app.screen
        assert isinstance(screen, LiveScreen)
        screen.query_one("#traffic-rate", Input).value = "-3"
        await pilot.press("ctrl+t")
        await pilot.pause()
        assert not screen.traffic_running
        assert any("out of range" in n for n in notes(msgs, "error"))


async def test_quality_and_factor_bars_show_the_scores() -> None:
    config = parse_config({"pipelines": {"default": {"classifier": "complexity", "quality": {"scorer": "label"}}}})
    app = make_app(config)
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "analyze why the cache misses doubled after the deploy, step by step")
        trajectory = app.workbench.trajectory(app.workbench.trajectories(1)["trajectory_id"][0])
        assert trajectory is not None and trajectory.profile.factors
        panel = app.screen.query_one(DecisionPanel)
        factors = str(panel.factors.content).splitlines()
        assert factors[0].split()[0] == "complexity"
        for name, value in trajectory.profile.factors.items():
            line = next(line for line in factors if line.startswith(name[:18]))
            assert line.endswith(f"{value:.2f}")
        quality = str(panel.quality.content).splitlines()
        assert [line.split()[0] for line in quality] == list(QUALITY_DIMENSIONS)
        for dim, line in zip(QUALITY_DIMENSIONS, quality, strict=True):
            assert line.endswith(f"{getattr(trajectory.quality, dim):.2f}")
        assert f"{trajectory.decision.uncertainty:.3f}" in panel.text


def test_snapshot_and_progress_messages_coalesce() -> None:
    feed = LiveFeed()
    old, new = messages.LiveSnapshot(feed.fold(0.0)), messages.LiveSnapshot(feed.fold(1.0))
    assert new.can_replace(old) and not new.can_replace(messages.ReplayFinished(None))
    assert messages.ReplayProgress("a", 2, 9).can_replace(messages.ReplayProgress("a", 1, 9))
    assert not messages.ReplayFinished(None).can_replace(messages.ReplayFinished(None))


def test_a_full_feed_drops_the_oldest_and_counts_them() -> None:
    feed = LiveFeed(cap=3)
    for i in range(5):
        feed.push(events.StreamDelta(str(i), "x"))
    assert len(feed) == 3 and feed.fold(0.0).dropped == 2


# -- Compare ---------------------------------------------------------------------------------------


async def open_compare(pilot: Pilot[Any], log: str, pipelines: list[str]) -> CompareScreen:
    await pilot.press("f3")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, CompareScreen)
    screen.query_one("#log", Select).value = log
    chooser = screen.query_one("#pipelines", SelectionList)
    chooser.deselect_all()
    for spec in pipelines:
        if spec.startswith("always:"):
            field = screen.query_one("#add-pipeline", Input)
            field.value = spec
            field.focus()
            await pilot.press("enter")
        else:
            chooser.select(spec)
    await pilot.pause()
    return screen


async def test_compare_runs_with_progress_and_shows_the_results() -> None:
    app = make_app()
    msgs: list[Message] = []
    async with app.run_test(size=SIZE, message_hook=msgs.append) as pilot:
        screen = await open_compare(pilot, SMALL_LOG, ["always:gpt-4-1106-preview", "random"])
        assert sorted(screen.query_one("#pipelines", SelectionList).selected) == ["always:gpt-4-1106-preview", "random"]
        await pilot.press("ctrl+r")
        await settle(pilot)

        finished = posted(msgs, messages.ReplayFinished)
        assert len(finished) == 1 and finished[0].comparison is not None
        comparison = finished[0].comparison
        assert posted(msgs, messages.ReplayProgress)
        table = screen.query_one("#results", DataTable)
        rows = comparison.rows()
        assert table.row_count == len(rows) and {r["pipeline"] for r in rows} >= {"always:gpt-4-1106-preview",
                                                                                 "random", "oracle"}
        for r in rows:
            shown = [str(c) for c in table.get_row(r["pipeline"])]
            assert shown[1] == r["estimator"]
            assert shown[3] == (f"{r['quality']:.3f}" if r["quality"] is not None else "-")
            lo, hi = r["quality_ci"]
            if lo is not None:
                assert shown[4] == f"{lo:.3f}-{hi:.3f}"
        assert comparison.outcome_source in screen.status
        assert not notes(msgs, "error")


async def test_compare_cancel_stops_the_run() -> None:
    app = make_app()
    msgs: list[Message] = []
    async with app.run_test(size=SIZE, message_hook=msgs.append) as pilot:
        screen = await open_compare(pilot, "sim-drift-full", ["triage", "analysis"])
        screen.action_run()
        screen.action_cancel()  # before the worker's first batch: the replay stops at its first check
        await settle(pilot)
        finished = posted(msgs, messages.ReplayFinished)
        assert len(finished) == 1 and finished[0].comparison is None
        assert screen.status.startswith("Cancelled")
        assert screen.query_one("#results", DataTable).row_count == 0


async def test_compare_needs_two_pipelines_and_a_log() -> None:
    app = make_app()
    msgs: list[Message] = []
    async with app.run_test(size=SIZE, message_hook=msgs.append) as pilot:
        screen = await open_compare(pilot, SMALL_LOG, ["random"])
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert not posted(msgs, messages.ReplayFinished)
        assert any("two or more" in n for n in notes(msgs, "warning"))
        screen.query_one("#add-pipeline", Input).value = "no-such-pipeline"
        screen.query_one("#add-pipeline", Input).focus()
        await pilot.press("enter")
        await pilot.pause()
        assert any("no-such-pipeline" in n for n in notes(msgs, "error"))


async def test_export_the_better_pipeline_from_compare(tmp_path: Path) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_compare(pilot, "sim-drift-full", ["triage", "analysis"])
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert screen.comparison is not None
        rows = {r["pipeline"]: r for r in screen.comparison.rows()}
        better = max(("triage", "analysis"), key=lambda p: rows[p]["quality"])
        # Learning curves replayed beside the table: one per pipeline, over every prompt of the log.
        assert [c.pipeline for c in screen.curves] == ["triage", "analysis"]
        assert all(c.reward.size == c.events for c in screen.curves)
        # The run lands on the best of the operator's pipelines, focused, so ctrl+s exports it.
        assert screen.selected_pipeline() == better and app.focused is screen.query_one("#results", DataTable)
        assert better in screen.status
        out = tmp_path / "better.json"
        screen.query_one("#export-path", Input).value = str(out)
        await pilot.press("ctrl+s")
        await pilot.pause()
        data = json.loads(out.read_text())
        assert data["provenance"]["pipeline"] == better and data["provenance"]["log"] == "sim-drift-full"
        data.pop("provenance")
        exported = parse_config(data)
        assert exported.pipelines["default"] == app.workbench.config.pipelines[better]


# -- Trajectories ------------------------------------------------------------------------------------


async def test_trajectories_filter_and_detail() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, TRIAGE)
        await send(pilot, "write a haiku about routers")
        await send(pilot, TRIAGE)
        await pilot.press("f4")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, TrajectoriesScreen)
        table = screen.query_one("#t-table", DataTable)
        assert table.row_count == 3

        screen.query_one("#f-task", Select).value = "triage"
        await settle(pilot)
        expected = app.workbench.find_trajectories(task_type="triage")
        assert table.row_count == expected.height == 2
        assert {str(table.get_row_at(i)[1]) for i in range(table.row_count)} == {"triage"}

        field = screen.query_one("#f-model", Input)
        field.value = "no-such-model"
        field.focus()
        await pilot.press("enter")
        await settle(pilot)
        assert table.row_count == 0

        field.value = ""
        screen.query_one("#f-task", Select).value = "creative"
        await settle(pilot)
        assert table.row_count == 1
        table.focus()
        table.move_cursor(row=0)
        screen.load_detail(str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value))
        await settle(pilot)
        report = screen.report
        assert report is not None and report.trajectory.profile.task_type == "creative"
        sections = str(screen.query_one("#t-sections").content)
        assert "chained" in sections and report.trajectory.decision.model in sections
        assert screen.query_one("#t-candidates", DataTable).row_count == len(report.trajectory.decision.candidates)
        assert screen.query_one("#t-attempts", DataTable).row_count == len(report.trajectory.response.attempts)


async def test_verify_chain_notifies() -> None:
    app = make_app()
    msgs: list[Message] = []
    async with app.run_test(size=SIZE, message_hook=msgs.append) as pilot:
        await send(pilot, TRIAGE)
        await pilot.press("f4")
        await settle(pilot)
        await pilot.press("ctrl+y")
        await settle(pilot)
        assert any(n == "Chain intact over 1 trajectories." for n in notes(msgs))


# -- Config ------------------------------------------------------------------------------------------


async def test_config_edit_validate_export_and_open(tmp_path: Path) -> None:
    app = make_app()
    msgs: list[Message] = []
    async with app.run_test(size=SIZE, message_hook=msgs.append) as pilot:
        await pilot.press("f5")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ConfigScreen)
        table = screen.query_one("#c-pipelines", DataTable)
        assert table.row_count == len(app.workbench.config.pipelines)

        # A bad threshold: validation names the field; nothing is exported.
        tier = next(iter(app.workbench.config.routing.tiers.tiers))
        screen.query_one(f"#tier-{tier}", Input).value = "7"
        await pilot.pause()
        out = tmp_path / "edited.json"
        screen.query_one("#c-path", Input).value = str(out)
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert not out.exists()
        assert f"routing.tiers.tiers.{tier}.upto" in screen.result
        assert any("problem" in n for n in notes(msgs, "error"))

        screen.query_one(f"#tier-{tier}", Input).value = "0.25"
        table.move_cursor(row=table.get_row_index("triage"))
        await pilot.pause()
        screen.query_one("#c-router", Select).value = "latency-based"
        screen.query_one("#c-tier-strategy", Select).value = "least-busy"
        await pilot.pause()
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert out.exists(), screen.result
        data = json.loads(out.read_text())
        assert data["provenance"]["source"] == "config screen"
        data.pop("provenance")
        exported = parse_config(data)
        assert exported.routing.tiers.tiers[tier].upto == 0.25
        assert exported.pipelines["triage"].router == "latency-based"
        assert exported.routing.tiers.strategy == "least-busy"
        assert exported.pipelines["creative"] == app.workbench.config.pipelines["creative"]

        # Open it again (as one would open the tuner's output): the table shows the edited router.
        fresh = tmp_path / "fresh.json"
        fresh.write_text(json.dumps({"pipelines": {"triage": {"router": "round-robin",
                                                              "preferred_models": ["openai/gpt-4o-mini"]}}}))
        screen.query_one("#c-path", Input).value = str(fresh)
        await pilot.press("ctrl+o")
        await pilot.pause()
        assert table.row_count == 1 and str(table.get_row("triage")[2]) == "round-robin"
        assert screen.result.startswith("opened")

        screen.query_one("#c-path", Input).value = str(tmp_path / "missing.json")
        await pilot.press("ctrl+o")
        await pilot.pause()
        assert any("missing.json" in n for n in notes(msgs, "error"))
        assert app.is_running


# -- app: keymap, theme, palette ---------------------------------------------------------------------


async def test_keymap_and_theme_from_config() -> None:
    config = parse_config({"tui": {"keys": {"traffic": "ctrl+g", "nope": "f9"}, "theme": "nord"}})
    app = make_app(config)
    msgs: list[Message] = []
    async with app.run_test(size=SIZE, message_hook=msgs.append) as pilot:
        await pilot.pause()
        assert app.theme == "nord"
        keys = dict((d, k) for k, d in app.key_help())
        assert keys["Traffic"] == "^g"
        assert any("nope" in n for n in notes(msgs, "warning"))
        screen = app.screen
        assert isinstance(screen, LiveScreen)
        screen.query_one("#traffic-rate", Input).value = "1"
        await pilot.press("ctrl+g")
        assert screen.traffic_running
        await pilot.press("ctrl+g")
        assert not screen.traffic_running


async def test_unknown_theme_warns_and_falls_back() -> None:
    app = make_app(parse_config({"tui": {"theme": "no-such-theme"}}))
    msgs: list[Message] = []
    async with app.run_test(size=SIZE, message_hook=msgs.append) as pilot:
        await pilot.pause()
        assert app.theme == WorkbenchApp.THEME
        assert any("no-such-theme" in n for n in notes(msgs, "warning"))


async def test_palette_lists_every_screen_and_fault_switch() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        titles = [c.title for c in app.get_system_commands(app.screen)]
        for screen in ("Live", "Compare", "Trajectories", "Config"):
            assert f"Screen: {screen}" in titles
        for model in app.workbench.deployments():
            assert f"Fault: take {model} down / up" in titles
        assert {"Compare: run", "Config: export", "Traffic: start / stop"} <= set(titles)
        # A palette action on another screen switches there and runs.
        cmd = next(c for c in app.get_system_commands(app.screen) if c.title == "Screen: Config")
        cmd.callback()
        await settle(pilot)
        assert isinstance(app.screen, ConfigScreen)
        fault = next(c for c in app.get_system_commands(app.screen) if c.title.startswith("Fault: take"))
        fault.callback()
        await settle(pilot)
        assert isinstance(app.screen, LiveScreen)
        model = fault.title.removeprefix("Fault: take ").removesuffix(" down / up")
        assert app.workbench.faults()[model].down


# -- snapshots: one per screen, fixed seed, clock and size ------------------------------------------------


@pytest.fixture(autouse=False)
def fixed_ids(monkeypatch: pytest.MonkeyPatch) -> None:
    """Trajectory ids are uuid4 (shown in the detail view, and the tie-break of equal times): count them instead."""
    counter = itertools.count(1)
    monkeypatch.setattr("workbench.session.new_id", lambda: f"{next(counter):032x}")


@pytest.mark.usefixtures("fixed_ids")
def test_live_screen_with_open_breaker_snapshot(snap_compare: Any) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await trip_breaker(pilot, TRIAGE, "groq/llama-3.1-8b")
        pilot.app.clear_notifications()
        await pilot.pause()

    assert snap_compare(make_app(), run_before=run_before, terminal_size=SIZE)


@pytest.mark.usefixtures("fixed_ids")
def test_compare_screen_snapshot(snap_compare: Any) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await open_compare(pilot, SMALL_LOG, ["always:gpt-4-1106-preview", "random"])
        await pilot.press("ctrl+r")
        await settle(pilot)
        pilot.app.screen.query_one("#results", DataTable).focus()
        await pilot.pause()

    assert snap_compare(make_app(), run_before=run_before, terminal_size=SIZE)


@pytest.mark.usefixtures("fixed_ids")
def test_trajectories_screen_snapshot(snap_compare: Any) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await send(pilot, TRIAGE)
        await send(pilot, "write a haiku about routers")
        await pilot.press("f4")
        await settle(pilot)

    assert snap_compare(make_app(), run_before=run_before, terminal_size=SIZE)


@pytest.mark.usefixtures("fixed_ids")
def test_config_screen_snapshot(snap_compare: Any) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await pilot.press("f5")
        await settle(pilot)

    assert snap_compare(make_app(), run_before=run_before, terminal_size=SIZE)
