"""The breaker board: every deployment's circuit breaker (state, failures, cooldown countdown, last transition)
and its simulated fault switches. Keyed rows updated cell by cell; the keys here post `FaultRequested`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import DataTable

from workbench import events
from workbench.pipeline.breaker import BreakerInfo
from workbench.tui.widgets.format import DASH, fit

STATE_STYLE = {"closed": "green", "open": "bold red", "half-open": "bold yellow"}
MODEL_WIDTH = 26
COLUMNS = ("model", "breaker", "fails", "last", "fault")
SHORT = {"closed": "closed", "open": "open", "half-open": "half"}


def fault_label(down: bool, rate_429: float) -> str:
    if down:
        return "DOWN"
    return f"429 {rate_429:.0%}" if rate_429 > 0 else DASH


def row_cells(
    model: str, info: BreakerInfo | None, last: events.BreakerChanged | None, now: float, fault: tuple[bool, float]
) -> tuple[Text, ...]:
    state = info.state.value if info else "closed"
    fails = f"{info.consecutive_failures}/{info.window_failures}" if info else "0/0"
    shown = state
    if info is not None and info.reopens_at is not None:  # open: the cooldown's countdown to half-open
        shown = f"{state} {max(0.0, info.reopens_at - now):.0f}s"
    transition = f"{SHORT.get(last.old, last.old)}→{SHORT.get(last.new, last.new)}" if last else DASH
    down, rate = fault
    return (
        Text(fit(model, MODEL_WIDTH)),
        Text(shown, style=STATE_STYLE.get(state, "")),
        Text(fails, justify="right"),
        Text(transition),
        Text(fault_label(down, rate), style="bold red" if down or rate else "dim"),
    )


class BreakerBoard(DataTable[Text]):
    """One row per deployment: breaker state (with the countdown to half-open while open), consecutive/window
    failures, the last transition, and the fault switches. With the board focused: `d` takes the highlighted
    model down (or back up), `r` injects 429s on half its attempts (or stops them)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("d", "toggle_down", "Down/up", id="fault_down"),
        Binding("r", "toggle_429", "429s", id="fault_429"),
    ]

    class FaultRequested(Message):
        """The operator asked to flip a fault switch (`kind` is `down` or `429`) of `model`."""

        def __init__(self, model: str, kind: str) -> None:
            super().__init__()
            self.model = model
            self.kind = kind

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes, cursor_type="row", zebra_stripes=True)
        self._cells: dict[str, tuple[str, ...]] = {}

    def on_mount(self) -> None:
        self.border_title = "Breakers & faults  (d: down/up  r: 429s)"
        self.add_column("model", key="model", width=MODEL_WIDTH)
        # Fixed widths: a countdown or a fault switch appearing must not shift the columns.
        self.add_column("breaker", key="breaker", width=9)
        self.add_column(Text("fails", justify="right"), key="fails", width=5)
        self.add_column("last", key="last", width=11)
        self.add_column("fault", key="fault", width=7)

    @property
    def models(self) -> list[str]:
        return list(self._cells)

    def cell(self, model: str, column: str) -> str:
        """What the board shows for `model` in `column` (plain text)."""
        return self._cells[model][COLUMNS.index(column)]

    def show(
        self,
        models: Sequence[str],
        infos: Sequence[BreakerInfo],
        transitions: Mapping[str, events.BreakerChanged],
        faults: Mapping[str, tuple[bool, float]],
        now: float,
    ) -> None:
        """Add rows for new deployments and update only the cells that changed (Dolphie's keyed diff)."""
        by_model = {b.model: b for b in infos}
        for model in models:
            cells = row_cells(model, by_model.get(model), transitions.get(model), now, faults.get(model, (False, 0.0)))
            plain = tuple(c.plain for c in cells)
            old = self._cells.get(model)
            if old is None:
                self.add_row(*cells, key=model)
            elif old != plain:
                for column, before, after, cell in zip(COLUMNS, old, plain, cells, strict=True):
                    if before != after:
                        self.update_cell(model, column, cell)
            self._cells[model] = plain

    def highlighted_model(self) -> str | None:
        if not self.row_count:
            return None
        key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        return str(key) if key is not None else None

    def _request(self, kind: str) -> None:
        model = self.highlighted_model()
        if model is not None:
            self.post_message(self.FaultRequested(model, kind))

    def action_toggle_down(self) -> None:
        self._request("down")

    def action_toggle_429(self) -> None:
        self._request("429")


__all__ = ["BreakerBoard", "fault_label"]
