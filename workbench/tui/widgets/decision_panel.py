"""The Live screen's right column: what the router decided for the latest request, and how it went."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import DataTable, Static

from workbench import events
from workbench.domain import QUALITY_DIMENSIONS, LlmResponse, QualityScore, Trajectory
from workbench.tui.widgets.bars import bar_lines
from workbench.tui.widgets.format import DASH, attempts_summary, ms, num, usd

LABEL_WIDTH = 12
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
        yield Static("", id="factors", markup=False)
        yield DataTable[Text](id="candidates", cursor_type="row", zebra_stripes=True)
        yield Static("", id="decision-outcome", markup=False)
        yield Static("", id="quality-bars", markup=False)

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
    def factors(self) -> Static:
        return self.query_one("#factors", Static)

    @property
    def quality(self) -> Static:
        return self.query_one("#quality-bars", Static)

    @property
    def text(self) -> str:
        """Everything the panel shows as plain text (summary, factors, candidate rows, outcome, quality bars)."""
        rows = [" ".join(str(cell) for cell in self.candidates.get_row_at(i)) for i in range(self.candidates.row_count)]
        return "\n".join(
            [str(self.summary.content), str(self.factors.content), *rows, str(self.outcome.content),
             str(self.quality.content)]
        )

    # -- updates ----------------------------------------------------------------------------------
    def clear(self) -> None:
        self.summary.update(IDLE_TEXT)
        self.factors.update("")
        self.candidates.clear()
        self._set_outcome([])
        self.quality.update("")

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
                    ("uncertainty", num(decision.uncertainty)),
                    ("reason", decision.reason or DASH),
                ]
            )
        )
        self.show_factors(profile.factors, profile.complexity)
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
        self.quality.update("")
        self.outcome.update(Content.assemble(("waiting for the response...", "dim italic")))

    def show_factors(self, factors: Mapping[str, float], complexity: float) -> None:
        if not factors:
            # The keyword classifier scores no factors; the complexity classifier scores seven.
            self.factors.update(Content.assemble(("complexity factors: none scored by this classifier", "dim")))
            return
        self.factors.update(bar_lines([("complexity", complexity), *factors.items()]))

    def show_trajectory(self, trajectory: Trajectory) -> None:
        """A finished request in one go (the traffic generator's newest, shown at the flush rate)."""
        self.show_decision(
            events.DecisionMade(trajectory.trajectory_id, trajectory.pipeline_id, trajectory.profile,
                                trajectory.decision)
        )
        self.show_response(trajectory.response)
        self.show_quality(trajectory.quality)

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
        if quality.overall is None:
            self.quality.update(Content.assemble(("quality: not scored by this pipeline", "dim")))
        else:
            self.quality.update(
                bar_lines([(d, getattr(quality, d)) for d in QUALITY_DIMENSIONS], colour=True)
            )

    def _set_outcome(self, rows: list[tuple[str, str]]) -> None:
        self._outcome = rows
        self.outcome.update(field_lines(rows))


__all__ = ["DecisionPanel", "field_lines"]
