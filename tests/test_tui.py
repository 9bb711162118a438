"""The TUI shell: the Live screen driven through Textual's Pilot, checked against what the Workbench stored.

Every app here runs on an in-memory store with seed 0 and a fixed clock, at 120x40, so widget state and
the snapshot are deterministic.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from textual.app import App, ComposeResult
from textual.message import Message
from textual.notifications import Notify
from textual.pilot import Pilot
from textual.widgets import DataTable, Input
from textual.worker import WorkerFailed

from workbench.api import Workbench
from workbench.domain import Trajectory
from workbench.errors import StoreError
from workbench.tui import messages
from workbench.tui.app import WorkbenchApp, run
from workbench.tui.help import HelpScreen
from workbench.tui.screens.live import LiveScreen
from workbench.tui.widgets import DecisionPanel, HistoryTable, ResponseView, StatusBar
from workbench.tui.widgets.format import usd

FIXED_TIME = 1_700_000_000.0
PROMPT = "write a haiku about routers"
SIZE = (120, 40)


def make_workbench() -> Workbench:
    return Workbench(db=":memory:", seed=0, clock=lambda: FIXED_TIME)


@pytest.fixture
def app() -> WorkbenchApp:
    return WorkbenchApp(make_workbench())


async def send_prompt(pilot: Pilot[Any], text: str) -> None:
    await pilot.click("#prompt")
    if text:
        await pilot.press(*text)
    await pilot.press("enter")
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def panel_field(panel: DecisionPanel, label: str) -> str:
    """The value on the panel's `label` line, as displayed."""
    for line in panel.text.splitlines():
        name, _, value = line.partition(" ")
        if name == label:
            return value.strip()
    raise AssertionError(f"no {label!r} line in the decision panel:\n{panel.text}")


def posted(msgs: list[Message], kind: type[Message]) -> list[Any]:
    return [m for m in msgs if isinstance(m, kind)]


def notifications(msgs: list[Message], severity: str) -> list[str]:
    return [m.notification.message for m in posted(msgs, Notify) if m.notification.severity == severity]


# -- Live: one prompt end to end -------------------------------------------------------------------


async def test_send_prompt_shows_decision_response_and_history(app: WorkbenchApp) -> None:
    msgs: list[Message] = []
    async with app.run_test(size=SIZE, message_hook=msgs.append) as pilot:
        await send_prompt(pilot, PROMPT)
        screen = app.screen
        assert isinstance(screen, LiveScreen)

        # The store is the ground truth the widgets must agree with.
        stored = app.workbench.trajectories()
        assert stored.height == 1
        row = stored.row(0, named=True)
        trajectory = app.workbench.trajectory(row["trajectory_id"])
        assert trajectory is not None

        decided = posted(msgs, messages.DecisionMade)
        assert len(decided) == 1
        assert decided[0].event.decision.model == row["model"]
        assert len(posted(msgs, messages.TrajectoryLogged)) == 1
        assert posted(msgs, messages.StreamDelta), "a streamed send should post deltas"

        panel = screen.query_one("#decision", DecisionPanel)
        assert panel_field(panel, "model") == row["model"]
        assert panel_field(panel, "task").startswith(f"{row['task_type']} (")
        assert panel_field(panel, "strategy") == row["strategy"]
        assert panel_field(panel, "served") == trajectory.response.served_model
        assert panel_field(panel, "status") == row["status"] == "ok"
        assert panel_field(panel, "cost") == usd(row["cost_usd"])
        assert panel_field(panel, "tokens") == (
            f"{trajectory.response.usage.input_tokens} in / {trajectory.response.usage.output_tokens} out"
        )
        assert trajectory.trajectory_id not in panel.text  # no random ids on screen

        candidates = screen.query_one("#candidates", DataTable)
        assert candidates.row_count == len(trajectory.decision.candidates)
        assert str(candidates.get_row(row["model"])[0]) == row["model"]

        history = screen.query_one("#history", HistoryTable)
        assert history.row_count == 1
        assert [str(cell) for cell in history.get_row_at(0)[:3]] == [row["task_type"], row["model"], "ok"]

        # The streamed deltas add up to exactly the stored response text.
        assert screen.query_one("#response", ResponseView).text == trajectory.response.text
        assert screen.query_one("#prompt", Input).value == ""

        status = screen.query_one("#status", StatusBar)
        assert (status.transport, status.db, status.requests) == (app.workbench.transport_name, ":memory:", 1)
        assert status.cost_usd == pytest.approx(row["cost_usd"])


async def test_second_prompt_replaces_decision_and_appends_history(app: WorkbenchApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await send_prompt(pilot, PROMPT)
        second = "triage this stack trace please"
        await send_prompt(pilot, second)
        screen = app.screen
        # Both rows share the fixed clock's timestamp, so pick the second request by its prompt.
        stored = app.workbench.trajectories()
        assert stored.height == 2
        newest = stored.filter(stored["prompt"] == second).row(0, named=True)
        panel = screen.query_one("#decision", DecisionPanel)
        assert panel_field(panel, "model") == newest["model"]
        assert panel_field(panel, "task").startswith(newest["task_type"])
        assert screen.query_one("#history", HistoryTable).row_count == 2
        assert screen.query_one("#status", StatusBar).requests == 2


async def test_clear_empties_response_and_decision_but_keeps_history(app: WorkbenchApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await send_prompt(pilot, PROMPT)
        await pilot.press("ctrl+l")
        await pilot.pause()
        screen = app.screen
        assert screen.query_one("#response", ResponseView).text == ""
        assert screen.query_one("#candidates", DataTable).row_count == 0
        assert "openai/" not in screen.query_one("#decision", DecisionPanel).text
        assert screen.query_one("#history", HistoryTable).row_count == 1


# -- empty prompt, help ----------------------------------------------------------------------------


async def test_empty_prompt_sends_nothing_and_f1_opens_help(app: WorkbenchApp) -> None:
    msgs: list[Message] = []
    async with app.run_test(size=SIZE, message_hook=msgs.append) as pilot:
        await send_prompt(pilot, "")
        await send_prompt(pilot, "   ")
        assert app.workbench.trajectories().height == 0
        assert not posted(msgs, messages.DecisionMade)
        assert len(notifications(msgs, "warning")) == 2
        assert app.screen.query_one("#history", HistoryTable).row_count == 0

        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        keys = dict((description, key) for key, description in app.screen.keys)
        assert keys["Help"] == "f1"
        assert {"Quit", "Clear", "Focus prompt", "Command palette"} <= keys.keys()

        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, LiveScreen)


async def test_escape_returns_focus_to_the_prompt(app: WorkbenchApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await send_prompt(pilot, PROMPT)
        app.screen.query_one("#history", HistoryTable).focus()
        await pilot.pause()
        assert app.focused is not app.screen.query_one("#prompt", Input)
        await pilot.press("escape")
        await pilot.pause()
        assert app.focused is app.screen.query_one("#prompt", Input)


async def test_command_palette_lists_the_bench_actions(app: WorkbenchApp) -> None:
    async with app.run_test(size=SIZE):
        titles = [command.title for command in app.get_system_commands(app.screen)]
        assert {"Send prompt", "Clear", "Help", "Quit", "Theme"} <= set(titles)
        assert titles.count("Quit") == 1


async def test_palette_send_prompt_sends_the_prompt_box(app: WorkbenchApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        app.screen.query_one("#prompt", Input).value = PROMPT
        send = next(c for c in app.get_system_commands(app.screen) if c.title == "Send prompt")
        send.callback()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.workbench.trajectories()["prompt"].to_list() == [PROMPT]


# -- failures --------------------------------------------------------------------------------------


async def test_worker_failure_becomes_an_error_notification(app: WorkbenchApp, monkeypatch: pytest.MonkeyPatch) -> None:
    async def boom(prompt: str, **kwargs: Any) -> Trajectory:
        raise RuntimeError("boom")

    msgs: list[Message] = []
    async with app.run_test(size=SIZE, message_hook=msgs.append) as pilot:
        with monkeypatch.context() as patch:
            patch.setattr(app.workbench, "send_async", boom)
            # A finished worker leaves the manager, so waiting may or may not see the failure itself.
            with contextlib.suppress(WorkerFailed):
                await send_prompt(pilot, PROMPT)
            await pilot.pause()

        assert app.is_running and app.return_code is None
        assert notifications(msgs, "error") == ["boom"]
        assert any(n.message == "boom" and n.severity == "error" for n in app._notifications)
        assert app.workbench.trajectories().height == 0

        # The bench keeps working after the failure.
        await send_prompt(pilot, PROMPT)
        assert app.workbench.trajectories().height == 1
        assert app.screen.query_one("#history", HistoryTable).row_count == 1


# -- lifecycle -------------------------------------------------------------------------------------


async def test_unsubscribes_and_closes_the_workbench_on_exit(monkeypatch: pytest.MonkeyPatch) -> None:
    workbench = make_workbench()
    calls: list[str] = []
    subscribe, aclose = workbench.subscribe, workbench.aclose

    def tracking_subscribe(listener: Callable[..., None]) -> Callable[[], None]:
        unsubscribe = subscribe(listener)

        def tracked() -> None:
            calls.append("unsubscribe")
            unsubscribe()

        return tracked

    async def tracking_aclose() -> None:
        calls.append("close")
        await aclose()

    monkeypatch.setattr(workbench, "subscribe", tracking_subscribe)
    monkeypatch.setattr(workbench, "aclose", tracking_aclose)
    app = WorkbenchApp(workbench)
    async with app.run_test(size=SIZE) as pilot:
        await send_prompt(pilot, PROMPT)
        assert calls == []
    assert calls == ["unsubscribe", "close"]
    assert workbench.store.closed


# -- history bound ---------------------------------------------------------------------------------


@pytest.fixture
def trajectory() -> Iterator[Trajectory]:
    with make_workbench() as workbench:
        yield workbench.send(PROMPT)


class HistoryApp(App[None]):
    def compose(self) -> ComposeResult:
        yield HistoryTable(cap=3, id="history")


async def test_history_is_capped_and_keeps_the_newest(trajectory: Trajectory) -> None:
    app = HistoryApp()
    async with app.run_test(size=SIZE) as pilot:
        table = app.query_one(HistoryTable)
        task_types = [f"task-{i}" for i in range(5)]
        for i, task_type in enumerate(task_types):
            table.add_trajectory(
                dataclasses.replace(
                    trajectory,
                    trajectory_id=f"t{i}",
                    profile=dataclasses.replace(trajectory.profile, task_type=task_type),
                )
            )
        await pilot.pause()
        assert table.row_count == 3
        assert [str(table.get_row_at(i)[0]) for i in range(3)] == task_types[-3:]
        assert table.cursor_row == 2


# -- snapshot --------------------------------------------------------------------------------------


def test_live_screen_snapshot(snap_compare: Any) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await send_prompt(pilot, PROMPT)

    # A frozen monotonic clock: the request rate the Live screen shows is then 0, not a timing accident.
    app = WorkbenchApp(make_workbench(), monotonic=lambda: 0.0)
    assert snap_compare(app, run_before=run_before, terminal_size=SIZE)


# -- entry point -----------------------------------------------------------------------------------


def test_run_opens_a_workbench_runs_the_app_and_returns_its_exit_code(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}
    original_run = WorkbenchApp.run

    async def auto_pilot(pilot: Pilot[Any]) -> None:
        await send_prompt(pilot, PROMPT)
        seen["stored"] = pilot.app.workbench.trajectories().height
        seen["db"] = pilot.app.screen.query_one("#status", StatusBar).db
        await pilot.press("ctrl+q")

    def headless_run(self: WorkbenchApp, **kwargs: Any) -> Any:
        seen["app"] = self
        return original_run(self, headless=True, size=SIZE, auto_pilot=auto_pilot)

    monkeypatch.setattr(WorkbenchApp, "run", headless_run)
    assert run(":memory:", None, 0) == 0
    assert seen["stored"] == 1
    assert seen["db"] == ":memory:"
    assert not seen["app"].is_running
    with pytest.raises(StoreError, match="closed"):  # the app closed its workbench on exit
        seen["app"].workbench.trajectories()


async def test_history_shows_what_the_store_already_holds(tmp_path: Any) -> None:
    # `clawft-workbench send ...` then `clawft-workbench --db same-file`: the earlier request is listed.
    db = str(tmp_path / "shared.duckdb")
    with Workbench(db=db, seed=1) as wb:
        earlier = wb.send("classify this ticket")
    app = WorkbenchApp(Workbench(db=db, seed=0, clock=lambda: FIXED_TIME))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        history = app.screen.query_one("#history", HistoryTable)
        assert history.row_count == 1
        row = history.get_row_at(0)
        assert row[1].plain == earlier.decision.model and row[2].plain == "ok"
