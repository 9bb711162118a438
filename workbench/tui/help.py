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
    "1. Type a prompt in the box at the top left and press Enter to send it.",
    "2. The decision panel shows the task type, the pipeline and why the router chose its model.",
    "3. The response streams in below the prompt; the outcome (cost, latency, attempts) follows.",
    "4. History lists this session's requests; the status bar keeps the running cost.",
    "5. Ctrl+P opens the command palette; every action here is also there.",
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
