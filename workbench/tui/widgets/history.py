"""This session's recent requests, newest last, bounded so a long session never grows the table."""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from typing import Any

from rich.text import Text
from textual.widgets import DataTable

from workbench.domain import Trajectory
from workbench.tui.widgets.format import DASH, fit

HISTORY_CAP = 200
MODEL_WIDTH = 26  # the longest model id of the default pipelines; longer ids end in an ellipsis
TASK_WIDTH = 11  # "development"

Row = tuple[Text, Text, Text, Text, Text]


class HistoryTable(DataTable[Text]):
    """Task type, model, status, cost and latency per request.

    Rows live in a bounded deque; while it has room a request is one `add_row`, and once it is full
    the table is cleared and refilled from the deque (never trimmed row by row).
    """

    def __init__(self, *, cap: int = HISTORY_CAP, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes, cursor_type="row", zebra_stripes=True)
        self._rows: deque[tuple[str, Row]] = deque(maxlen=cap)

    def on_mount(self) -> None:
        self.border_title = "History"
        # Fixed widths: a refill under heavy traffic then never measures a cell (DataTable's costliest step).
        self.add_column("task", key="task", width=TASK_WIDTH)
        self.add_column("model", key="model", width=MODEL_WIDTH)
        self.add_column("status", key="status", width=6)
        # Units live in the headers so the five columns fit the left column at 120 cells.
        self.add_column(Text("cost $", justify="right"), key="cost", width=9)
        self.add_column(Text("ms", justify="right"), key="latency", width=7)

    @staticmethod
    def row_for(trajectory: Trajectory) -> Row:
        response = trajectory.response
        return (
            Text(trajectory.profile.task_type),
            Text(fit(response.served_model or trajectory.decision.model or DASH, MODEL_WIDTH)),
            Text(response.status, style="" if response.status == "ok" else "bold red"),
            Text(f"{response.cost_usd:.6f}", justify="right"),
            Text(f"{response.latency_ms:,.0f}", justify="right"),
        )

    @staticmethod
    def row_for_logged(row: Mapping[str, Any]) -> Row:
        """A row of the store's `recent_trajectories` query (an earlier session's request)."""
        status = str(row.get("status") or DASH)
        return (
            Text(str(row.get("task_type") or DASH)),
            Text(fit(str(row.get("model") or DASH), MODEL_WIDTH)),
            Text(status, style="" if status == "ok" else "bold red"),
            Text(f"{float(row.get('cost_usd') or 0.0):.6f}", justify="right"),
            Text(f"{float(row.get('latency_ms') or 0.0):,.0f}", justify="right"),
        )

    def add_logged(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Show requests already in the store, given newest first, below nothing this session sent yet."""
        shown = {key for key, _ in self._rows}
        for row in reversed(rows):
            key = str(row["trajectory_id"])
            if key not in shown:
                self._add((key, self.row_for_logged(row)))

    def add_trajectory(self, trajectory: Trajectory) -> None:
        # Keyed by trajectory id: stable and unique, and keys are never displayed.
        self._add((trajectory.trajectory_id, self.row_for(trajectory)))

    def add_trajectories(self, trajectories: Sequence[Trajectory]) -> None:
        """Many at once (a flush of generated traffic): one refill at most, however many arrive."""
        if not trajectories:
            return
        cap = self._rows.maxlen or len(trajectories)
        overflow = len(self._rows) + len(trajectories) > cap
        self._rows.extend((t.trajectory_id, self.row_for(t)) for t in trajectories[-cap:])
        if overflow:
            self.clear()
            for key, row in self._rows:
                self.add_row(*row, key=key)
        else:
            for key, row in list(self._rows)[-len(trajectories):]:
                self.add_row(*row, key=key)
        self.move_cursor(row=self.row_count - 1, animate=False)

    def _add(self, entry: tuple[str, Row]) -> None:
        full = len(self._rows) == self._rows.maxlen
        self._rows.append(entry)
        if full:
            self.clear()
            for key, row in self._rows:
                self.add_row(*row, key=key)
        else:
            self.add_row(*entry[1], key=entry[0])
        self.move_cursor(row=self.row_count - 1, animate=False)

    def clear_history(self) -> None:
        self._rows.clear()
        self.clear()


__all__ = ["HISTORY_CAP", "HistoryTable"]
