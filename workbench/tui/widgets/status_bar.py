"""One line under the header: transport, database and this session's running totals."""

from __future__ import annotations

from textual.content import Content
from textual.reactive import reactive
from textual.widget import Widget

from workbench.tui.widgets.format import usd


class StatusBar(Widget):
    """Renders from reactives, so a burst of totals updates repaints once."""

    DEFAULT_CSS = """
    StatusBar { height: 1; }
    """

    transport: reactive[str] = reactive("")
    db: reactive[str] = reactive("")
    requests: reactive[int] = reactive(0)
    cost_usd: reactive[float] = reactive(0.0)

    def add_request(self, cost_usd: float) -> None:
        self.requests += 1
        self.cost_usd += cost_usd

    def reset(self) -> None:
        self.requests = 0
        self.cost_usd = 0.0

    def render(self) -> Content:
        plural = "" if self.requests == 1 else "s"
        return Content.assemble(
            (" transport ", "dim"),
            (self.transport, "bold"),
            ("  db ", "dim"),
            self.db,
            ("  session ", "dim"),
            f"{self.requests} request{plural}",
            ("  cost ", "dim"),
            (usd(self.cost_usd), "bold"),
        )


__all__ = ["StatusBar"]
