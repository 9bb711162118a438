"""The Live screen: type a prompt, watch the routing decision, the streamed response and the outcome; run the
traffic generator, flip the simulated fleet's fault switches and watch the breakers.

Domain events arrive through `Workbench.subscribe`. Every event goes into a bounded feed that a 4 Hz timer
folds into one coalesced `LiveSnapshot` (totals, rate, history, breaker board); the operator's own prompts
also post per-event messages so their response streams in as it arrives.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any, ClassVar

import numpy as np
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.timer import Timer
from textual.widgets import Footer, Header, Input
from textual.worker import Worker

from workbench.api import Workbench
from workbench.domain import Trajectory
from workbench.errors import WorkbenchError
from workbench.events import Event
from workbench.traffic import SAMPLE_PROMPTS, TrafficGenerator, check_rate
from workbench.tui import messages
from workbench.tui.feed import LiveFeed, LiveState
from workbench.tui.screens import WorkbenchScreen
from workbench.tui.widgets import BreakerBoard, DecisionPanel, HistoryTable, LiveMetrics, ResponseView, StatusBar
from workbench.tui.widgets.live_metrics import TrafficState

IN_MEMORY_LABEL = ":memory:"
HISTORY_ON_OPEN = 50  # requests from the store shown when the screen opens
# Rows the Live history keeps. Under heavy traffic a full table is refilled at every flush and DataTable
# measures every cell it adds, so the scrollback stays short; the Trajectories screen browses the rest.
LIVE_HISTORY_CAP = 60
FLUSH_HZ = 4.0  # the UI folds the feed this often (CRAFT: 2-4 Hz)
DEFAULT_RATE = 5.0
RATE_429 = 0.5  # share of attempts the 429 switch fails
FOLLOW_EVERY_S = 1.0  # how often the decision panel moves to the newest generated request

# Set inside the operator's own send: the listener posts per-event messages only for those requests, so
# generated traffic (hundreds a second) never floods the message queue.
INTERACTIVE: ContextVar[bool] = ContextVar("interactive", default=False)


def db_label(workbench: Workbench) -> str:
    """The database as the status bar shows it; an in-memory store has no path."""
    return workbench.db_path or IN_MEMORY_LABEL


class LiveScreen(WorkbenchScreen):
    """Prompt, response, breaker board and history on the left; decision and throughput on the right."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+t", "toggle_traffic", "Traffic", id="traffic"),
        Binding("ctrl+b", "focus_board", "Breakers", id="focus_board"),
        Binding("ctrl+l", "clear", "Clear", id="clear"),
        Binding("escape", "focus_prompt", "Focus prompt", id="focus_prompt", show=False),
    ]

    def __init__(
        self,
        workbench: Workbench,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        name: str | None = None,
        id: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id)
        self.workbench = workbench
        self.monotonic = monotonic
        self.feed = LiveFeed()
        self.traffic: TrafficGenerator | None = None
        self.state: LiveState | None = None
        self._unsubscribe: Callable[[], None] | None = None
        # The request the response/decision widgets follow; events of older requests only reach history.
        self._current: str | None = None
        self._in_flight = 0  # the operator's own requests not finished yet
        self._shown_seq = 0  # the newest trajectory number the history shows
        self._timer: Timer | None = None
        # The decision panel follows generated traffic from its start until the operator sends a prompt.
        self._following = False
        self._followed_at = float("-inf")
        self._last_model: str | None = None
        self._prompts: list[str] = list(SAMPLE_PROMPTS)

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False)
        yield StatusBar(id="status")
        with Horizontal(id="main"):
            with Vertical(id="left"):
                yield Input(placeholder="Ask something, then press Enter", id="prompt")
                with VerticalScroll(id="response-scroll"):
                    yield ResponseView(id="response")
                yield BreakerBoard(id="board")
                yield HistoryTable(cap=LIVE_HISTORY_CAP, id="history")
            with Vertical(id="right"):
                yield DecisionPanel(id="decision")
                yield LiveMetrics(id="metrics")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#response-scroll").border_title = "Response"
        status = self.query_one(StatusBar)
        status.transport = self.workbench.transport_name
        status.db = db_label(self.workbench)
        self.response.set_placeholder("The response streams here.")
        prompt = self.prompt
        # A blinking cursor is the one moving part left in a headless (test/snapshot) run.
        prompt.cursor_blink = not self.app.is_headless
        self.query_one("#traffic-rate", Input).cursor_blink = not self.app.is_headless
        prompt.focus()
        self._unsubscribe = self.workbench.subscribe(self._on_workbench_event)
        self.refresh_board()
        self._timer = self.set_interval(1 / FLUSH_HZ, self.flush)
        self.load_history()

    @work(thread=True, group="db", exit_on_error=False)
    def load_history(self) -> None:
        """Show what the store already holds (earlier sessions, other processes) without blocking the UI."""
        rows = self.workbench.trajectories(HISTORY_ON_OPEN).to_dicts()
        self._prompts = self.workbench.sample_prompts()  # for the traffic generator, read here off the UI loop
        if rows:
            self.app.call_from_thread(self.history.add_logged, rows)

    def on_unmount(self) -> None:
        if self.traffic is not None:
            self.traffic.stop()
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    def _on_workbench_event(self, event: Event) -> None:
        # Called by the session on the Workbench's loop thread: a deque append and (for the operator's own
        # requests) a thread-safe post; never widget work.
        self.feed.push(event)
        if INTERACTIVE.get():
            self.post_message(messages.to_message(event))

    # -- parts ------------------------------------------------------------------------------------
    @property
    def prompt(self) -> Input:
        return self.query_one("#prompt", Input)

    @property
    def response(self) -> ResponseView:
        return self.query_one("#response", ResponseView)

    @property
    def decision(self) -> DecisionPanel:
        return self.query_one("#decision", DecisionPanel)

    @property
    def history(self) -> HistoryTable:
        return self.query_one("#history", HistoryTable)

    @property
    def board(self) -> BreakerBoard:
        return self.query_one("#board", BreakerBoard)

    # -- the coalesced flush ------------------------------------------------------------------------
    def flush(self) -> None:
        """Fold the feed into a snapshot and post it; a queued older snapshot is replaced, not piled up."""
        self.post_message(messages.LiveSnapshot(self.feed.fold(self.monotonic())))

    def on_live_snapshot(self, message: messages.LiveSnapshot) -> None:
        state = self.state = message.state
        with self.app.batch_update():
            status = self.query_one(StatusBar)
            status.requests, status.cost_usd = state.requests, state.cost_usd
            new = [t for n, t in state.recent if n > self._shown_seq]
            self._shown_seq = state.seq
            self.history.add_trajectories(new)
            self.refresh_board(state)
            self.query_one(LiveMetrics).show(state)
            now = self.monotonic()
            if self._following and not self._in_flight and new and (
                now - self._followed_at >= FOLLOW_EVERY_S or now == self._followed_at
            ):
                # At most once a second: the panel is for reading, and it is the dearest part to repaint.
                self._followed_at = now
                self._current = None
                self.decision.show_trajectory(new[-1])

    def refresh_board(self, state: LiveState | None = None) -> None:
        wb = self.workbench
        faults = {m: (f.down, f.rate_429) for m, f in wb.faults().items()}
        transitions = state.transitions if state is not None else {}
        self.board.show(wb.deployments(), wb.breaker_snapshot(), transitions, faults, wb.fleet_now())

    # -- actions ----------------------------------------------------------------------------------
    @on(Input.Submitted, "#prompt")
    def _prompt_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_send()

    def action_send(self) -> None:
        """Send what is in the prompt box; an empty prompt sends nothing."""
        prompt = self.prompt
        text = prompt.value.strip()
        if not text:
            self.notify("Type a prompt first.", severity="warning")
            return
        prompt.clear()
        self.send_prompt(text)

    @work(exclusive=False, group="send", exit_on_error=False)
    async def send_prompt(self, text: str) -> Trajectory:
        workbench = self.workbench

        async def interactive() -> Trajectory:
            INTERACTIVE.set(True)  # this task's own context: generated traffic stays unmarked
            return await workbench.send_async(text, stream=True)

        self._in_flight += 1
        try:
            # On the Workbench's loop thread: pipeline work never runs on the UI loop.
            return await asyncio.wrap_future(workbench.submit(interactive()))
        finally:
            self._in_flight -= 1

    def action_clear(self) -> None:
        self._current = None
        self.response.clear()
        self.decision.clear()

    def action_focus_prompt(self) -> None:
        self.prompt.focus()

    def action_focus_board(self) -> None:
        """Focus the board on the model the latest request went to: the one an operator most likely means."""
        board = self.board
        if self._last_model in board.models:
            board.move_cursor(row=board.models.index(self._last_model))
        board.focus()

    # -- traffic generator ----------------------------------------------------------------------------
    @property
    def traffic_running(self) -> bool:
        return self.traffic is not None and not self.traffic.stopped

    def action_toggle_traffic(self) -> None:
        if self.traffic_running:
            self.stop_traffic()
        else:
            self.start_traffic()

    @on(TrafficState.Toggled)
    def _traffic_clicked(self, event: TrafficState.Toggled) -> None:
        event.stop()
        self.action_toggle_traffic()

    def rate(self) -> float:
        raw = self.query_one("#traffic-rate", Input).value.strip() or str(DEFAULT_RATE)
        try:
            return check_rate(float(raw))
        except ValueError:
            raise WorkbenchError(f"traffic rate '{raw}' is not a number; type requests per second, e.g. 5") from None

    def start_traffic(self, rate: float | None = None) -> None:
        if self.traffic_running:
            return
        try:
            rate = self.rate() if rate is None else check_rate(rate)
        except WorkbenchError as exc:
            self.notify(str(exc), title="Traffic", severity="error", markup=False)
            return
        prompts = self._prompts
        seed = int(self.workbench.config.transport.seed)
        self.traffic = TrafficGenerator(
            lambda p: self.workbench.send_async(p), prompts, rate=rate, rng=np.random.default_rng(seed)
        )
        self.run_traffic(self.traffic)
        self._following = True
        self.query_one(TrafficState).on = True
        self.notify(f"Sending {len(prompts)} sample prompts at {rate:g}/s.", title="Traffic on")

    @work(exclusive=True, group="traffic", exit_on_error=False)
    async def run_traffic(self, generator: TrafficGenerator) -> int:
        return await asyncio.wrap_future(self.workbench.submit(generator.run()))

    def stop_traffic(self) -> None:
        self.query_one(TrafficState).on = False
        if self.traffic is not None and not self.traffic.stopped:
            self.traffic.stop()
            self.notify(f"{self.traffic.sent:,} requests sent.", title="Traffic off")

    @on(Input.Submitted, "#traffic-rate")
    def _rate_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        try:
            rate = self.rate()
        except WorkbenchError as exc:
            self.notify(str(exc), title="Traffic", severity="error", markup=False)
            return
        if self.traffic is not None and self.traffic_running:
            self.traffic.rate = rate
            self.notify(f"Now {rate:g} requests/s.", title="Traffic")

    # -- fault switches ---------------------------------------------------------------------------------
    @on(BreakerBoard.FaultRequested)
    def _fault_requested(self, event: BreakerBoard.FaultRequested) -> None:
        event.stop()
        self.toggle_fault(event.model, event.kind)

    def toggle_fault(self, model: str, kind: str) -> None:
        """Flip `model`'s `down` or `429` switch of the simulated fleet and say what that means."""
        try:
            current = self.workbench.set_fault(model)
            if kind == "down":
                fault = self.workbench.set_fault(model, down=not current.down)
                text = (f"{model} is down: its attempts fail, so its breaker opens after repeated failures"
                        if fault.down else f"{model} is back up")
            else:
                fault = self.workbench.set_fault(model, rate_429=0.0 if current.rate_429 else RATE_429)
                text = (f"{model} answers {fault.rate_429:.0%} of attempts with HTTP 429"
                        if fault.rate_429 else f"{model} no longer returns 429s")
        except WorkbenchError as exc:
            self.notify(str(exc), title="Fault switch", severity="error", markup=False)
            return
        self.notify(text, title="Fault switch", markup=False)
        self.refresh_board(self.state)

    def worker_failed(self, worker: Worker[Any], error: BaseException | None) -> None:
        if worker.group == "send" and not self.response.text:
            self.response.set_placeholder("The request failed; see the notification.")
        if worker.group == "traffic":
            self.query_one(TrafficState).on = False

    # -- domain messages (the operator's own requests) ------------------------------------------------
    def on_decision_made(self, message: messages.DecisionMade) -> None:
        event = message.event
        self._current = event.trajectory_id
        self._last_model = event.decision.model
        self._following = False
        self.response.clear()
        # Follow the stream's tail until the user scrolls up (Textual releases the anchor then).
        self.query_one("#response-scroll").anchor()
        self.response.set_placeholder(f"waiting for {event.decision.model}...")
        self.decision.show_decision(event)

    def on_stream_delta(self, message: messages.StreamDelta) -> None:
        if message.event.trajectory_id == self._current:
            self.response.append(message.event.text)

    def on_response_received(self, message: messages.ResponseReceived) -> None:
        event = message.event
        if event.trajectory_id != self._current:
            return
        response = event.response
        if not self.response.text:
            # Not streamed (or nothing arrived): show the final text, or why there is none.
            if response.text:
                self.response.set_text(response.text)
            else:
                self.response.set_placeholder(f"No response: {response.error or response.status}")
        self.decision.show_response(response)

    def on_quality_scored(self, message: messages.QualityScored) -> None:
        if message.event.trajectory_id == self._current:
            self.decision.show_quality(message.event.quality)

    def on_breaker_changed(self, message: messages.BreakerChanged) -> None:
        event = message.event
        if event.new == "open":
            self.notify(f"{event.model}: {event.reason}", title="Breaker open", severity="warning", markup=False)

    def on_trajectory_logged(self, message: messages.TrajectoryLogged) -> None:
        trajectory = message.event.trajectory
        self.flush()  # the operator's request shows in history and totals now, not at the next tick
        if trajectory.response.status != "ok":
            self.notify(
                trajectory.response.error or "request failed", title="Request failed", severity="warning", markup=False
            )


__all__ = ["INTERACTIVE", "LIVE_HISTORY_CAP", "LiveScreen", "db_label"]
