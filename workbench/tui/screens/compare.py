"""The Replay / Compare screen: pick a log and two or more pipelines, replay them side by side (progress bar,
cancel), read the metrics table (estimator named, CIs) and the charts; export the pipeline you prefer.

The replay runs in a thread worker; progress and the result come back as `ReplayProgress` / `ReplayFinished`.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import (
    Button,
    DataTable,
    Footer,
    Header,
    Input,
    ProgressBar,
    Select,
    SelectionList,
    Static,
    TabbedContent,
    TabPane,
)
from textual.widgets.selection_list import Selection
from textual.worker import Worker
from textual_plotext import PlotextPlot

from workbench.api import Workbench
from workbench.errors import BadInputError, WorkbenchError
from workbench.replay.compare import Comparison
from workbench.replay.curves import Curve
from workbench.tui import messages
from workbench.tui.screens import WorkbenchScreen
from workbench.tui.widgets.format import DASH

BASELINES = ("oracle", "random")
DEFAULT_EXPORT = "tuned-pipeline.json"
RESULT_COLUMNS = (
    ("pipeline", "pipeline"), ("estimator", "estimator"), ("n", "n"), ("quality", "quality"),
    ("quality_ci", "95% CI"), ("cost_per_request_usd", "$/req"), ("latency_p50_ms", "p50 ms"),
    ("latency_p95_ms", "p95 ms"), ("aiq", "AIQ"),
)


def fmt(value: Any, key: str) -> str:
    if value is None:
        return DASH
    if key == "quality_ci":
        lo, hi = value
        return DASH if lo is None or hi is None else f"{lo:.3f}-{hi:.3f}"
    if key == "cost_per_request_usd":
        return f"{value:.6f}"
    if key.startswith("latency"):
        return f"{value:,.0f}"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


class CompareScreen(WorkbenchScreen):
    SUB_TITLE = "Compare"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+r", "run", "Run", id="compare_run"),
        Binding("ctrl+g", "cancel", "Cancel", id="compare_cancel"),
        Binding("ctrl+s", "export", "Export selected", id="compare_export"),
    ]

    def __init__(self, workbench: Workbench, *, name: str | None = None, id: str | None = None) -> None:
        super().__init__(name=name, id=id)
        self.workbench = workbench
        self.comparison: Comparison | None = None
        self._cancel: threading.Event | None = None
        self._specs: set[str] = set()
        self.curves: list[Curve] = []

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False)
        with Horizontal(id="compare-top"):
            with Vertical(id="compare-pick"):
                yield Select[str]([], prompt="Pick a log", id="log", allow_blank=True)
                yield Input(placeholder="add a pipeline: config .json path or always:MODEL, Enter", id="add-pipeline",
                            compact=True)
                yield Static("", id="compare-status", markup=False)
                yield ProgressBar(total=100, show_eta=False, id="progress")
                with Horizontal(id="compare-buttons"):
                    yield Button("Run ^r", id="run", variant="primary", compact=True)
                    yield Button("Cancel ^g", id="cancel", compact=True, disabled=True)
                    yield Button("Export ^s", id="export", compact=True)
                yield Input(DEFAULT_EXPORT, placeholder="export path", id="export-path", compact=True)
            yield SelectionList[str](id="pipelines")
        yield DataTable[Text](id="results", cursor_type="row", zebra_stripes=True)
        with TabbedContent(id="charts"):
            with TabPane("Cost vs quality", id="tab-pareto"):
                yield PlotextPlot(id="pareto")
            with TabPane("Latency", id="tab-latency"):
                yield PlotextPlot(id="latency")
            with TabPane("Learning curves", id="tab-curves"):
                yield PlotextPlot(id="curves")
        yield Footer()

    @on(SelectionList.SelectedChanged, "#pipelines")
    def _picked(self) -> None:
        self.update_picked()

    def update_picked(self) -> None:
        n = len(self.pipelines.selected)
        self.pipelines.border_title = f"Pipelines: {n} picked (space toggles)"

    def on_mount(self) -> None:
        self.query_one("#compare-pick").border_title = "Log"
        self.query_one("#results").border_title = "Results"
        for field in self.query(Input):
            field.cursor_blink = not self.app.is_headless
        table = self.results
        for key, label in RESULT_COLUMNS:
            table.add_column(label, key=key)
        pipelines = self.pipelines
        names = sorted(self.workbench.config.pipelines)
        for name in names:
            pipelines.add_option(Selection(f"pipeline {name}", name, name in names[:2]))
        for name in BASELINES:
            pipelines.add_option(Selection(f"{name} (baseline)", name, False))
        self._specs.update([*names, *BASELINES])
        self.update_picked()
        self.set_status("Pick a log and two or more pipelines, then Run (ctrl+r).")
        self.load_logs()

    # -- parts --------------------------------------------------------------------------------------
    @property
    def results(self) -> DataTable[Text]:
        return self.query_one("#results", DataTable)

    @property
    def pipelines(self) -> SelectionList[str]:
        return self.query_one("#pipelines", SelectionList)

    @property
    def log_select(self) -> Select[str]:
        return self.query_one("#log", Select)

    @property
    def status(self) -> str:
        return str(self.query_one("#compare-status", Static).content)

    def set_status(self, text: str) -> None:
        self.query_one("#compare-status", Static).update(text)

    # -- logs ---------------------------------------------------------------------------------------
    @work(thread=True, group="db", exit_on_error=False)
    def load_logs(self) -> None:
        from workbench.store.samples import sample_files

        options: dict[str, str] = {}
        for row in self.workbench.logs().to_dicts():
            if row["kind"] != "live" or row["trajectories"]:
                options[str(row["name"])] = f"{row['name']} ({row['kind']}, {row['rows']:,} rows)"
        for path in sample_files():
            options.setdefault(path.stem, f"{path.stem} (shipped sample)")
        self.app.call_from_thread(self._show_logs, options)

    def _show_logs(self, options: dict[str, str]) -> None:
        select = self.log_select
        select.set_options([(label, name) for name, label in options.items()])
        for preferred in ("sim-drift-full", "routellm-mmlu"):
            if preferred in options:
                select.value = preferred
                break

    # -- pipelines ------------------------------------------------------------------------------------
    @on(Input.Submitted, "#add-pipeline")
    def _add_pipeline(self, event: Input.Submitted) -> None:
        event.stop()
        spec = event.value.strip()
        if not spec:
            return
        try:
            from workbench.replay.engine import resolve_spec

            resolve_spec(spec, self.workbench.config)
        except WorkbenchError as exc:
            self.notify(str(exc), title="Pipeline", severity="error", markup=False)
            return
        if spec not in self._specs:
            self._specs.add(spec)
            self.pipelines.add_option(Selection(spec, spec, True))
        else:
            self.pipelines.select(spec)
        event.input.clear()

    # -- run / cancel ---------------------------------------------------------------------------------
    @on(Button.Pressed, "#run")
    def _run_pressed(self, event: Button.Pressed) -> None:
        self.action_run()

    @on(Button.Pressed, "#cancel")
    def _cancel_pressed(self, event: Button.Pressed) -> None:
        self.action_cancel()

    @on(Button.Pressed, "#export")
    def _export_pressed(self, event: Button.Pressed) -> None:
        self.action_export()

    def action_run(self) -> None:
        log = self.log_select.value
        chosen = list(self.pipelines.selected)
        if not isinstance(log, str):
            self.notify("Pick a log to replay first.", severity="warning")
            return
        if len(chosen) < 2:
            self.notify("Pick two or more pipelines to compare (space toggles one).", severity="warning")
            return
        if self._cancel is not None:
            self.notify("A comparison is already running; cancel it first (ctrl+g).", severity="warning")
            return
        self._cancel = threading.Event()
        self.query_one("#run", Button).disabled = True
        self.query_one("#cancel", Button).disabled = False
        self.query_one("#progress", ProgressBar).update(total=100, progress=0)
        self.set_status(f"Replaying {log} through {', '.join(chosen)}...")
        self.run_comparison(log, chosen, self._cancel)

    def action_cancel(self) -> None:
        if self._cancel is None:
            self.notify("No comparison is running.", severity="warning")
            return
        self._cancel.set()
        self.set_status("Cancelling...")

    @work(thread=True, exclusive=True, group="replay", exit_on_error=False)
    def run_comparison(self, log: str, pipelines: list[str], cancel: threading.Event) -> None:
        from workbench.replay.engine import ReplayCancelled

        def progress(label: str, done: int, total: int) -> None:
            self.post_message(messages.ReplayProgress(label, done, total))

        from workbench.replay.curves import learning_curves
        from workbench.replay.engine import resolve_spec
        from workbench.replay.loader import load_log

        try:
            comparison = self.workbench.compare(log, pipelines, seed=0, progress=progress, cancel=cancel)
            # The same pipelines replayed in order, learning as they go: reward over the log.
            replayed, _ = load_log(self.workbench.store, log)
            specs = [resolve_spec(p, self.workbench.config) for p in pipelines]
            curves = learning_curves(replayed, specs, seed=0, progress=progress, cancel=cancel)
        except ReplayCancelled:
            self.post_message(messages.ReplayFinished(None))
            return
        except BaseException:
            self.app.call_from_thread(self._idle)
            raise
        self.post_message(messages.ReplayFinished(comparison, curves))

    def _idle(self) -> None:
        self._cancel = None
        self.query_one("#run", Button).disabled = False
        self.query_one("#cancel", Button).disabled = True

    def worker_failed(self, worker: Worker[Any], error: BaseException | None) -> None:
        if worker.group == "replay":
            self._idle()
            self.set_status("The comparison failed; see the notification.")

    def on_replay_progress(self, message: messages.ReplayProgress) -> None:
        bar = self.query_one("#progress", ProgressBar)
        bar.update(total=max(1, message.total), progress=message.done)
        self.set_status(f"{message.label}: {message.done:,} / {message.total:,} prompts")

    def on_replay_finished(self, message: messages.ReplayFinished) -> None:
        self._idle()
        if message.comparison is None:
            self.set_status("Cancelled; nothing was stored.")
            self.notify("Comparison cancelled.", title="Compare")
            return
        self.show(message.comparison, message.curves)

    # -- results --------------------------------------------------------------------------------------
    def show(self, comparison: Comparison, curves: Sequence[Curve] = ()) -> None:
        self.comparison = comparison
        self.curves = list(curves)
        table = self.results
        table.clear()
        for row in comparison.rows():
            table.add_row(*(Text(fmt(row.get(key), key)) for key, _ in RESULT_COLUMNS), key=row["pipeline"])
        self.query_one("#progress", ProgressBar).update(total=100, progress=100)
        self.draw_charts(comparison, self.curves)
        for note in comparison.notes:
            self.notify(note, title="Compare", markup=False)
        # Land on the best of the operator's own pipelines, ready to export.
        mine = [r for r in comparison.rows() if r["pipeline"] not in BASELINES and r["quality"] is not None
                and not r["pipeline"].startswith("always:")]
        estimator = comparison.outcome_source.split(" (")[0]
        if mine:
            best = max(mine, key=lambda r: r["quality"])
            table.move_cursor(row=table.get_row_index(best["pipeline"]))
            table.focus()
            self.set_status(f"{estimator}. Highest quality of yours: {best['pipeline']}; ctrl+s exports the "
                            f"highlighted row.")
        else:
            self.set_status(f"{comparison.log}: {comparison.outcome_source}")

    def draw_charts(self, comparison: Comparison, curves: Sequence[Curve] = ()) -> None:
        rows = comparison.rows()
        scored = [r for r in rows if r["quality"] is not None and r["cost_per_request_usd"] is not None]
        pareto = self.query_one("#pareto", PlotextPlot)
        plt = pareto.plt
        plt.clear_data()
        plt.clear_figure()
        for r in scored:
            plt.scatter([r["cost_per_request_usd"]], [r["quality"]], label=r["pipeline"], marker="dot")
        plt.title("Quality vs cost per request (oracle and random beside the pipelines)")
        plt.xlabel("$ per request")
        plt.ylabel("quality")
        pareto.refresh()

        latency = self.query_one("#latency", PlotextPlot)
        plt = latency.plt
        plt.clear_data()
        plt.clear_figure()
        timed = [r for r in rows if r["latency_p50_ms"] is not None]
        if timed:
            plt.multiple_bar(
                [r["pipeline"] for r in timed],
                [[r[f"latency_{p}_ms"] or 0.0 for r in timed] for p in ("p50", "p95", "p99")],
                labels=["p50", "p95", "p99"],  # type: ignore[call-arg]  # the stub says `label`; plotext takes `labels`
            )
        plt.title("Latency distribution: p50 / p95 / p99 per pipeline (ms)")
        latency.refresh()

        curves_plot = self.query_one("#curves", PlotextPlot)
        plt = curves_plot.plt
        plt.clear_data()
        plt.clear_figure()
        drawn = 0
        for curve in curves:
            data = curve.as_dict(points=curves_plot.size.width or 100)
            if data["position"]:
                plt.plot(data["position"], data["windowed_reward"], label=f"{curve.pipeline} ({curve.estimator})")
                drawn += 1
        window = curves[0].as_dict()["window"] if drawn else 0
        plt.title(f"Learning curves: mean reward over the last {window} prompts, through the log" if drawn else
                  "No learning curves: baselines do not learn (pick a pipeline)")
        plt.xlabel("prompt")
        curves_plot.refresh()

    # -- export ---------------------------------------------------------------------------------------
    def selected_pipeline(self) -> str | None:
        table = self.results
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return str(key) if key is not None else None

    def action_export(self) -> None:
        label = self.selected_pipeline()
        if label is None:
            self.notify("Run a comparison, then highlight the pipeline to export.", severity="warning")
            return
        path = self.query_one("#export-path", Input).value.strip() or DEFAULT_EXPORT
        try:
            written = export_pipeline(self.workbench, label, path, self.comparison)
        except WorkbenchError as exc:
            self.notify(str(exc), title="Export", severity="error", markup=False)
            return
        self.notify(f"Pipeline {label} written to {written}", title="Exported", markup=False)
        self.set_status(f"Exported {label} to {written}")


def export_pipeline(workbench: Workbench, label: str, path: str, comparison: Comparison | None) -> Path:
    """Write the config that replays as `label` (a pipeline of the config, or a config file) to `path`."""
    from workbench.replay.engine import resolve_spec
    from workbench.replay.export import export_config

    if label in BASELINES or label.startswith("always:"):
        raise BadInputError(f"'{label}' is a baseline, not a pipeline; highlight a pipeline row to export it")
    spec = resolve_spec(label, workbench.config)
    if spec.config is None:
        raise BadInputError(f"'{label}' has no config to export")
    provenance: dict[str, Any] = {"source": "compare screen", "pipeline": label}
    if comparison is not None:
        provenance["log"] = comparison.log
        provenance["outcome_source"] = comparison.outcome_source
        row = next((r for r in comparison.rows() if r["pipeline"] == label), None)
        if row is not None:
            provenance["metrics"] = {k: row[k] for k in ("quality", "cost_per_request_usd", "latency_p50_ms")}
    return export_config(spec.config, path, provenance)


__all__ = ["CompareScreen", "export_pipeline"]
