"""The Live screen's right column: what the router decided for the latest request, and how it went."""

from __future__ import annotations

from collections.abc import Iterable

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import DataTable, Static

from workbench import events
from workbench.domain import LlmResponse, QualityScore
from workbench.tui.widgets.format import DASH, attempts_summary, ms, num, usd

LABEL_WIDTH = 11
IDLE_TEXT = "No request yet. Type a prompt and press Enter."


def field_lines(rows: Iterable[tuple[str, str]]) -> Content:
    """`label  value` lines with dimmed, aligned labels; values are plain text (never markup)."""
    parts: list[str | tuple[str, str]] = []
    for i, (label, value) in enumerate(rows):
        if i:
            parts.append("\n")
        parts.append((label.ljust(LABEL_WIDTH), "dim"))
        parts.append(value)
    return Content.assemble(*parts)


def right(value: str) -> Text:
    return Text(value, justify="right")


class DecisionPanel(VerticalScroll):
    """Task profile, routing decision and candidates; then the response's outcome once it lands."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._outcome: list[tuple[str, str]] = []

    def compose(self) -> ComposeResult:
        yield Static(IDLE_TEXT, id="decision-summary", markup=False)
        yield DataTable[Text](id="candidates", cursor_type="row", zebra_stripes=True)
        yield Static("", id="decision-outcome", markup=False)

    def on_mount(self) -> None:
        self.border_title = "Decision"
        table = self.candidates
        table.add_column("model", key="model")
        table.add_column(right("score"), key="score")
        table.add_column(right("prob"), key="probability")
        table.add_column("excluded", key="excluded")

    # -- parts ------------------------------------------------------------------------------------
    @property
    def candidates(self) -> DataTable[Text]:
        return self.query_one("#candidates", DataTable)

    @property
    def summary(self) -> Static:
        return self.query_one("#decision-summary", Static)

    @property
    def outcome(self) -> Static:
        return self.query_one("#decision-outcome", Static)

    @property
    def text(self) -> str:
        """Everything the panel shows as plain text (summary + candidate rows + outcome)."""
        rows = [" ".join(str(cell) for cell in self.candidates.get_row_at(i)) for i in range(self.candidates.row_count)]
        return "\n".join([str(self.summary.content), *rows, str(self.outcome.content)])

    # -- updates ----------------------------------------------------------------------------------
    def clear(self) -> None:
        self.summary.update(IDLE_TEXT)
        self.candidates.clear()
        self._set_outcome([])

    def show_decision(self, event: events.DecisionMade) -> None:
        profile, decision = event.profile, event.decision
        task = f"{profile.task_type} ({profile.explanation})" if profile.explanation else profile.task_type
        propensity = num(decision.propensity) + ("  explored" if decision.explored else "")
        self.summary.update(
            field_lines(
                [
                    ("task", task),
                    ("pipeline", event.pipeline_id),
                    ("strategy", decision.strategy),
                    ("model", decision.model),
                    ("propensity", propensity),
                    ("reason", decision.reason or DASH),
                ]
            )
        )
        table = self.candidates
        table.clear()
        for c in decision.candidates:
            table.add_row(
                Text(c.model),
                right(num(c.score)),
                right(num(c.probability)),
                Text(c.excluded or DASH),
                key=c.model,
            )
        self._set_outcome([])
        self.outcome.update(Content.assemble(("waiting for the response...", "dim italic")))

    def show_response(self, response: LlmResponse) -> None:
        rows = [
            ("served", response.served_model or DASH),
            ("status", response.status if response.status == "ok" else f"{response.status}: {response.error or DASH}"),
            ("cost", usd(response.cost_usd)),
            ("latency", ms(response.latency_ms)),
            ("ttft", ms(response.ttft_ms)),
            ("attempts", attempts_summary(response.attempts)),
            ("tokens", f"{response.usage.input_tokens} in / {response.usage.output_tokens} out"),
        ]
        self._set_outcome(rows)

    def show_quality(self, quality: QualityScore) -> None:
        score = DASH if quality.overall is None else f"{quality.overall:.3f}"
        self._set_outcome([*self._outcome, ("quality", f"{score} ({quality.source})")])

    def _set_outcome(self, rows: list[tuple[str, str]]) -> None:
        self._outcome = rows
        self.outcome.update(field_lines(rows))


__all__ = ["DecisionPanel", "field_lines"]
