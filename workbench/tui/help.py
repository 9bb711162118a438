"""F1 help: the keys in effect where help was opened, and how to use the bench in five lines."""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static

HOW_TO_USE = (
    "Screens: F2 Live, F3 Compare, F4 Trajectories, F5 Config. Ctrl+P lists every action and screen.",
    "Live: type a prompt and press Enter; the decision panel shows the task profile, candidates, the chosen",
    "  model with its propensity, uncertainty and reason, then the outcome and five quality bars.",
    "Live: Ctrl+T starts/stops sample traffic at the rate beside 'traffic' (type a rate, Enter).",
    "Live: Ctrl+B focuses the breaker board; on a model, d takes it down (or up), r injects 429s.",
    "  Keep sending: its breaker opens after repeated failures and requests fall back to the next model.",
    "Compare: pick a log and two or more pipelines (space), Ctrl+R runs, Ctrl+G cancels; highlight the",
    "  pipeline you prefer in Results and press Ctrl+S to export it as a config file.",
    "Trajectories: filter by task type, model, status, time; the highlighted row opens below.",
    "Config: edit a pipeline's router, the in-tier strategy and tier thresholds; Ctrl+R validates,",
    "  Ctrl+S exports, Ctrl+O opens a config (e.g. a tuned one). Keys are remappable: config tui.keys.",
)


def key_lines(keys: Iterable[tuple[str, str]]) -> Content:
    parts: list[str | tuple[str, str]] = []
    for i, (key, description) in enumerate(keys):
        if i:
            parts.append("\n")
        parts.append((f"{key:>10}", "bold"))
        parts.append(f"  {description}")
    return Content.assemble(*parts)


class HelpScreen(ModalScreen[None]):
    """A modal over the current screen; escape (or F1 again) closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,f1", "dismiss", "Close", id="help_close"),
    ]

    def __init__(self, keys: Iterable[tuple[str, str]]) -> None:
        super().__init__()
        self.keys = list(keys)

    def compose(self) -> ComposeResult:
        with Vertical(id="help-dialog"):
            yield Static(Content.assemble(("Keys", "bold")), classes="help-heading")
            yield Static(key_lines(self.keys), id="help-keys")
            yield Static(Content.assemble(("How to use", "bold")), classes="help-heading")
            yield Static("\n".join(HOW_TO_USE), id="help-how", markup=False)
            yield Static(Content.assemble(("escape closes this help", "dim italic")), id="help-close")

    def on_mount(self) -> None:
        self.query_one("#help-dialog").border_title = "Help"


__all__ = ["HOW_TO_USE", "HelpScreen"]
