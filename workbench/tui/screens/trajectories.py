"""The Trajectories screen: filter logged requests (task type, model, status, time) through the store's named
query `filter_trajectories`, and open one in detail (attempts, candidates, scores, witness status).

Every store read runs in a thread worker; a filter change re-runs the query (exclusive: the newest wins).
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import DataTable, Footer, Header, Input, Select, Static

from workbench.api import Workbench
from workbench.domain import TASK_TYPES
from workbench.report import TrajectoryReport
from workbench.tui.screens import WorkbenchScreen
from workbench.tui.widgets.decision_panel import field_lines
from workbench.tui.widgets.format import DASH, fit

LIMIT = 500
SINCE = (("any time", 0.0), ("last hour", 3600.0), ("last day", 86_400.0), ("last week", 604_800.0))
STATUSES = ("ok", "failed")


class TrajectoriesScreen(WorkbenchScreen):
    SUB_TITLE = "Trajectories"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+r", "refresh", "Refresh", id="trajectories_refresh"),
        Binding("ctrl+y", "verify", "Verify chain", id="trajectories_verify"),
    ]

    def __init__(self, workbench: Workbench, *, name: str | None = None, id: str | None = None) -> None:
        super().__init__(name=name, id=id)
        self.workbench = workbench
        self.report: TrajectoryReport | None = None

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False)
        with Horizontal(id="filters"):
            yield Select[str]([(t, t) for t in TASK_TYPES], prompt="task type", id="f-task", compact=True)
            yield Input(placeholder="model contains", id="f-model", compact=True)
            yield Select[str]([(s, s) for s in STATUSES], prompt="status", id="f-status", compact=True)
            yield Select[float]([(label, s) for label, s in SINCE], value=0.0, allow_blank=False, id="f-since",
                                compact=True)
        yield Static("", id="t-count", markup=False)
        yield DataTable[Text](id="t-table", cursor_type="row", zebra_stripes=True)
        with VerticalScroll(id="t-detail"):
            yield Static("Highlight a trajectory to see it in detail.", id="t-sections", markup=False)
            yield DataTable[Text](id="t-candidates", zebra_stripes=True, cursor_type="none")
            yield DataTable[Text](id="t-attempts", zebra_stripes=True, cursor_type="none")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#t-detail").border_title = "Detail"
        self.query_one("#t-table").border_title = "Trajectories"
        self.query_one("#f-model", Input).cursor_blink = not self.app.is_headless
        table = self.table
        for key in ("time", "task", "model", "status", "cost $", "ms", "quality", "prompt"):
            table.add_column(key, key=key)
        cands = self.query_one("#t-candidates", DataTable)
        for key in ("candidate", "score", "prob", "excluded"):
            cands.add_column(key, key=key)
        attempts = self.query_one("#t-attempts", DataTable)
        for key in ("attempt at", "status", "ms", "http", "retry-after"):
            attempts.add_column(key, key=key)
        self.action_refresh()

    @property
    def table(self) -> DataTable[Text]:
        return self.query_one("#t-table", DataTable)

    def filters(self) -> dict[str, Any]:
        task = self.query_one("#f-task", Select).value
        status = self.query_one("#f-status", Select).value
        since = self.query_one("#f-since", Select).value
        return {
            "task_type": task if isinstance(task, str) else None,
            "model": self.query_one("#f-model", Input).value.strip() or None,
            "status": status if isinstance(status, str) else None,
            "since": self.workbench.session.clock() - since if isinstance(since, float) and since else None,
        }

    @on(Select.Changed)
    @on(Input.Submitted, "#f-model")
    def _filter_changed(self, event: Any) -> None:
        self.action_refresh()

    def action_refresh(self) -> None:
        self.load(self.filters())

    @work(thread=True, exclusive=True, group="db", exit_on_error=False)
    def load(self, filters: dict[str, Any]) -> None:
        frame = self.workbench.find_trajectories(**filters, limit=LIMIT)
        self.app.call_from_thread(self.show_rows, frame.to_dicts(), filters)

    def show_rows(self, rows: list[dict[str, Any]], filters: dict[str, Any]) -> None:
        table = self.table
        table.clear()
        for r in rows:
            created = r["created_at"]
            q = r.get("q_overall")
            table.add_row(
                Text(created.strftime("%m-%d %H:%M:%S") if created is not None else DASH),
                Text(str(r.get("task_type") or DASH)),
                Text(fit(str(r.get("served_model") or r.get("model") or DASH), 26)),
                Text(str(r["status"]), style="" if r["status"] == "ok" else "bold red"),
                Text(f"{float(r.get('cost_usd') or 0.0):.6f}", justify="right"),
                Text(f"{float(r.get('latency_ms') or 0.0):,.0f}", justify="right"),
                Text(DASH if q is None else f"{q:.3f}", justify="right"),
                Text(fit(str(r.get("prompt") or ""), 40)),
                key=str(r["trajectory_id"]),
            )
        active = ", ".join(f"{k}={v}" for k, v in filters.items() if v is not None and k != "since")
        capped = f" (newest {LIMIT})" if len(rows) == LIMIT else ""
        self.query_one("#t-count", Static).update(
            f"{len(rows)} trajectories{capped}" + (f" matching {active}" if active else "")
        )
        if not rows:
            self.show_report(None)

    @on(DataTable.RowHighlighted, "#t-table")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.row_key.value is not None:
            self.load_detail(str(event.row_key.value))

    @work(thread=True, exclusive=True, group="detail", exit_on_error=False)
    def load_detail(self, trajectory_id: str) -> None:
        report = self.workbench.report(trajectory_id)
        self.app.call_from_thread(self.show_report, report)

    def show_report(self, report: TrajectoryReport | None) -> None:
        self.report = report
        sections = self.query_one("#t-sections", Static)
        cands = self.query_one("#t-candidates", DataTable)
        attempts = self.query_one("#t-attempts", DataTable)
        cands.clear()
        attempts.clear()
        if report is None:
            sections.update("No trajectory matches the filters.")
            return
        rows: list[tuple[str, str]] = []
        for title, fields in report.sections():
            rows.append((f"— {title}", ""))
            rows += fields
        sections.update(field_lines(rows))
        for c in report.trajectory.decision.candidates:
            cands.add_row(Text(c.model), Text(f"{c.score:.3f}"), Text(f"{c.probability:.3f}"), Text(c.excluded or DASH))
        for a in report.trajectory.response.attempts:
            attempts.add_row(
                Text(a.deployment), Text(a.status, style="" if a.status == "ok" else "bold red"),
                Text(f"{a.latency_ms:,.0f}"), Text(str(a.http_status or DASH)),
                Text(DASH if a.retry_after_s is None else f"{a.retry_after_s:g}s"),
            )

    def action_verify(self) -> None:
        self.notify("Verifying the witness chain...", title="Witness")
        self.verify()

    @work(thread=True, exclusive=True, group="verify", exit_on_error=False)
    def verify(self) -> None:
        report = self.workbench.store.verify()
        if report.ok:
            text, severity = f"Chain intact over {report.checked:,} trajectories.", "information"
        else:
            text, severity = f"Broken at {report.broken_id} (#{report.broken_seq}): {report.reason}", "error"
        self.app.call_from_thread(self.notify, text, title="Witness", severity=severity, markup=False)


__all__ = ["TrajectoriesScreen"]
