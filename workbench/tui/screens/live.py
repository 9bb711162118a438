"""The Live screen: type a prompt, watch the routing decision, the streamed response and the outcome.

Domain events arrive through `Workbench.subscribe`; the listener only posts the matching Textual
message to this screen, and the `on_<message>` handlers below do the widget work.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Footer, Header, Input
from textual.worker import Worker

from workbench.api import Workbench
from workbench.domain import Trajectory
from workbench.events import Event
from workbench.tui import messages
from workbench.tui.screens import WorkbenchScreen
from workbench.tui.widgets import DecisionPanel, HistoryTable, ResponseView, StatusBar

IN_MEMORY_LABEL = ":memory:"
HISTORY_ON_OPEN = 50  # requests from the store shown when the screen opens


def db_label(workbench: Workbench) -> str:
    """The database as the status bar shows it; an in-memory store has no path."""
    return workbench.db_path or IN_MEMORY_LABEL


class LiveScreen(WorkbenchScreen):
    """Prompt, response and history on the left; the decision panel on the right."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+l", "clear", "Clear", id="clear"),
        Binding("escape", "focus_prompt", "Focus prompt", id="focus_prompt", show=False),
    ]

    def __init__(self, workbench: Workbench, *, name: str | None = None, id: str | None = None) -> None:
        super().__init__(name=name, id=id)
        self.workbench = workbench
        self._unsubscribe: Callable[[], None] | None = None
        # The request the response/decision widgets follow; events of older requests only reach history.
        self._current: str | None = None

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False)
        yield StatusBar(id="status")
        with Horizontal(id="main"):
            with Vertical(id="left"):
                yield Input(placeholder="Ask something, then press Enter", id="prompt")
                with VerticalScroll(id="response-scroll"):
                    yield ResponseView(id="response")
                yield HistoryTable(id="history")
            yield DecisionPanel(id="decision")
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
        prompt.focus()
        self._unsubscribe = self.workbench.subscribe(self._on_workbench_event)
        self.load_history()

    @work(thread=True, group="db", exit_on_error=False)
    def load_history(self) -> None:
        """Show what the store already holds (earlier sessions, other processes) without blocking the UI."""
        rows = self.workbench.trajectories(HISTORY_ON_OPEN).to_dicts()
        if rows:
            self.app.call_from_thread(self.history.add_logged, rows)

    def on_unmount(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    def _on_workbench_event(self, event: Event) -> None:
        # Called synchronously from the session: post only, never touch widgets here.
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
        return await self.workbench.send_async(text, stream=True)

    def action_clear(self) -> None:
        self._current = None
        self.response.clear()
        self.decision.clear()

    def action_focus_prompt(self) -> None:
        self.prompt.focus()

    def worker_failed(self, worker: Worker[Any], error: BaseException | None) -> None:
        if worker.group == "send" and not self.response.text:
            self.response.set_placeholder("The request failed; see the notification.")

    # -- domain messages --------------------------------------------------------------------------
    def on_decision_made(self, message: messages.DecisionMade) -> None:
        event = message.event
        self._current = event.trajectory_id
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

    def on_trajectory_logged(self, message: messages.TrajectoryLogged) -> None:
        trajectory = message.event.trajectory
        self.history.add_trajectory(trajectory)
        self.query_one(StatusBar).add_request(trajectory.response.cost_usd)
        if trajectory.response.status != "ok":
            self.notify(
                trajectory.response.error or "request failed", title="Request failed", severity="warning", markup=False
            )


__all__ = ["LiveScreen", "db_label"]
