"""Running totals, request rate, a latency sparkline and the traffic generator's controls."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import Input, Sparkline, Static

from workbench.tui.feed import LiveState
from workbench.tui.widgets.format import ms, usd

SPARK_POINTS = 60


class TrafficState(Static):
    """ON / OFF for the traffic generator; a click toggles it like ctrl+t."""

    on: reactive[bool] = reactive(False)

    class Toggled(Message):
        pass

    def render(self) -> Content:
        return Content.assemble((" ON  ", "bold reverse green") if self.on else (" OFF ", "bold reverse"))

    def on_click(self) -> None:
        self.post_message(self.Toggled())


class LiveMetrics(Vertical):
    """Request rate, totals, latency p50 and a sparkline of the newest latencies; the traffic controls."""

    def compose(self) -> ComposeResult:
        yield Static("", id="metrics-line", markup=False)
        yield Sparkline([], id="latency-spark")
        with Horizontal(id="traffic-row"):
            yield Static("traffic", id="traffic-label")
            yield TrafficState(id="traffic-state")
            yield Input("5", id="traffic-rate", type="number", compact=True, select_on_focus=True)
            yield Static("req/s  (ctrl+t)", id="traffic-unit")

    def on_mount(self) -> None:
        self.border_title = "Throughput"
        self.show(None)

    def show(self, state: LiveState | None) -> None:
        line = self.query_one("#metrics-line", Static)
        # layout=False: the line is a fixed two rows (app.tcss), and a layout pass of the whole screen at every
        # flush is what made the UI stutter under heavy traffic (benchmarks/bench_tui.py).
        if state is None or not state.requests:
            line.update(Content.assemble(("no requests yet", "dim italic")), layout=False)
            return
        lat = sorted(state.latencies_ms)
        p50 = lat[len(lat) // 2] if lat else 0.0
        line.update(
            Content.assemble(
                ("rps ", "dim"), (f"{state.rps:,.1f}", "bold"),
                ("  requests ", "dim"), f"{state.requests:,}",
                ("  failed ", "dim"), (f"{state.failed:,}", "bold red" if state.failed else ""),
                ("\ncost ", "dim"), (usd(state.cost_usd), "bold"),
                ("  latency p50 ", "dim"), ms(p50),
                # Events the bounded feed dropped between two flushes (only under an extreme burst).
                *((("  dropped ", "dim"), (f"{state.dropped:,}", "bold yellow")) if state.dropped else ()),
            ),
            layout=False,
        )
        self.query_one("#latency-spark", Sparkline).data = list(state.latencies_ms[-SPARK_POINTS:])


__all__ = ["LiveMetrics", "TrafficState"]
