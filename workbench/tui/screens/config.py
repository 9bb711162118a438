"""The Config screen: the pipelines per task type; edit a pipeline's router (strategy), the in-tier strategy and
the tier thresholds; validate with the strict loader; export; open a config file (e.g. the tuner's output).

Edits go into a plain dict copy of the effective config; validation is `parse_config`, so the screen accepts
exactly what the CLI and `build_pipeline` accept.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, DataTable, Footer, Header, Input, Label, Select, Static

from workbench.api import Workbench
from workbench.config import ROUTERS, WorkbenchConfig, load_config, parse_config
from workbench.errors import ConfigError, WorkbenchError
from workbench.routing_config import STRATEGIES
from workbench.tui.screens import WorkbenchScreen
from workbench.tui.widgets.format import DASH, fit

DEFAULT_EXPORT = "workbench-config.json"


class ConfigScreen(WorkbenchScreen):
    SUB_TITLE = "Config"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+r", "validate", "Validate", id="config_validate"),
        Binding("ctrl+s", "export", "Export", id="config_export"),
        Binding("ctrl+o", "open", "Open", id="config_open"),
    ]

    def __init__(self, workbench: Workbench, *, name: str | None = None, id: str | None = None) -> None:
        super().__init__(name=name, id=id)
        self.workbench = workbench
        self.data: dict[str, Any] = workbench.config.public_dict()
        self.source = "the running config"
        self.valid: WorkbenchConfig | None = workbench.config
        self._loading = False

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False)
        with Horizontal(id="config-main"):
            yield DataTable[Text](id="c-pipelines", cursor_type="row", zebra_stripes=True)
            with VerticalScroll(id="c-edit"):
                yield Label("", id="c-selected")
                yield Label("router (strategy) of this pipeline")
                yield Select[str]([(r, r) for r in ROUTERS], allow_blank=False, id="c-router", compact=True)
                yield Label("in-tier strategy (routing.tiers.strategy)")
                yield Select[str]([(s, s) for s in STRATEGIES], allow_blank=False, id="c-tier-strategy",
                                  compact=True)
                yield Label("tier thresholds: complexity below this lands in the tier")
                yield Vertical(id="c-tiers")
                yield Static("", id="c-result", markup=False)
        with Horizontal(id="c-files"):
            yield Input(DEFAULT_EXPORT, placeholder="path to export to or open from", id="c-path", compact=True)
            yield Button("Validate ^r", id="c-validate", compact=True)
            yield Button("Export ^s", id="c-export", compact=True, variant="primary")
            yield Button("Open ^o", id="c-open", compact=True)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#c-pipelines").border_title = "Pipelines per task type"
        self.query_one("#c-edit").border_title = "Edit"
        self.query_one("#c-path", Input).cursor_blink = not self.app.is_headless
        table = self.table
        for key in ("task type", "classifier", "router", "models", "scorer"):
            table.add_column(key, key=key)
        self.show_config()

    @property
    def table(self) -> DataTable[Text]:
        return self.query_one("#c-pipelines", DataTable)

    @property
    def result(self) -> str:
        return str(self.query_one("#c-result", Static).content)

    def selected(self) -> str | None:
        table = self.table
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return str(key) if key is not None else None

    # -- showing -------------------------------------------------------------------------------------
    def show_config(self) -> None:
        """Refill the table and the form from `self.data` (after open, or on mount)."""
        self._loading = True
        table = self.table
        table.clear()
        pipelines: dict[str, Any] = self.data.get("pipelines", {})
        for task, p in pipelines.items():
            models = ", ".join(p.get("preferred_models") or [self.data["routing"]["default_model"]])
            table.add_row(
                Text(task), Text(p.get("classifier", DASH)), Text(p.get("router", DASH)), Text(fit(models, 44)),
                Text(p.get("quality", {}).get("scorer", DASH)), key=task,
            )
        tiers = self.data["routing"]["tiers"]
        self.query_one("#c-tier-strategy", Select).value = tiers["strategy"]
        box = self.query_one("#c-tiers", Vertical)
        box.remove_children()
        box.mount_all(
            Horizontal(Label(f"{name:<10}"), Input(str(spec["upto"]), id=f"tier-{name}", compact=True,
                                                   type="number"), classes="tier-row")
            for name, spec in tiers["tiers"].items()
        )
        self.show_selected()
        self.call_after_refresh(self._loaded)

    def _loaded(self) -> None:
        self._loading = False

    def show_selected(self) -> None:
        task = self.selected()
        label = self.query_one("#c-selected", Label)
        if task is None:
            label.update("no pipelines in this config")
            return
        label.update(f"pipeline: {task}")
        router = self.data["pipelines"][task].get("router", "static")
        self.query_one("#c-router", Select).value = router

    @on(DataTable.RowHighlighted, "#c-pipelines")
    def _row(self, event: DataTable.RowHighlighted) -> None:
        self._loading = True
        self.show_selected()
        self.call_after_refresh(self._loaded)

    # -- editing ---------------------------------------------------------------------------------------
    @on(Select.Changed, "#c-router")
    def _router_changed(self, event: Select.Changed) -> None:
        task = self.selected()
        if self._loading or task is None or not isinstance(event.value, str):
            return
        if self.data["pipelines"][task].get("router") == event.value:
            return  # the form showing the config, not an edit
        self.data["pipelines"][task]["router"] = event.value
        self.table.update_cell(task, "router", Text(event.value))
        self.edited()

    @on(Select.Changed, "#c-tier-strategy")
    def _strategy_changed(self, event: Select.Changed) -> None:
        tiers = self.data["routing"]["tiers"]
        if self._loading or not isinstance(event.value, str) or tiers["strategy"] == event.value:
            return
        self.data["routing"]["tiers"]["strategy"] = event.value
        self.edited()

    @on(Input.Changed, ".tier-row Input")
    def _tier_changed(self, event: Input.Changed) -> None:
        if self._loading or event.input.id is None:
            return
        name = event.input.id.removeprefix("tier-")
        raw = event.value.strip()
        try:
            value: Any = float(raw)
        except ValueError:
            value = raw  # kept as typed: validation names the field and the problem
        spec = self.data["routing"]["tiers"]["tiers"].get(name)
        if spec is None or spec["upto"] == value:
            return
        spec["upto"] = value
        self.edited()

    def set_router(self, task: str, router: str) -> None:
        """Set `task`'s router (what the Select does), for the palette and tests."""
        self.data["pipelines"][task]["router"] = router
        self.table.update_cell(task, "router", Text(router))
        self.edited()

    def set_tier_threshold(self, tier: str, upto: Any) -> None:
        self.data["routing"]["tiers"]["tiers"][tier]["upto"] = upto
        self.edited()

    def edited(self) -> None:
        self.valid = None
        self.query_one("#c-result", Static).update("edited; validate (ctrl+r) before exporting")

    # -- validate / export / open ------------------------------------------------------------------------
    @on(Button.Pressed, "#c-validate")
    def _validate_pressed(self) -> None:
        self.action_validate()

    @on(Button.Pressed, "#c-export")
    def _export_pressed(self) -> None:
        self.action_export()

    @on(Button.Pressed, "#c-open")
    def _open_pressed(self) -> None:
        self.action_open()

    def action_validate(self) -> WorkbenchConfig | None:
        data = copy.deepcopy(self.data)
        data.pop("provenance", None)  # a tuned export carries its provenance beside the config
        note = ""
        try:
            config = parse_config(data, self.source)
            if config.transport.kind == "simulated":
                # The check a live session makes: every pipeline must build over the configured transport.
                from workbench.pipeline.build import build_pipeline

                build_pipeline(config, seed=0)
            else:
                note = "; the http transport was not contacted"
        except ConfigError as exc:
            self.valid = None
            self.query_one("#c-result", Static).update("invalid:\n" + "\n".join(exc.problems))
            self.notify(f"{len(exc.problems)} problem(s); see the Edit panel.", title="Config invalid",
                        severity="error")
            return None
        except WorkbenchError as exc:
            self.valid = None
            self.query_one("#c-result", Static).update(f"invalid: {exc}")
            self.notify(str(exc), title="Config invalid", severity="error", markup=False)
            return None
        self.valid = config
        self.query_one("#c-result", Static).update(f"valid (config hash {config.config_hash()}{note})")
        return config

    def action_export(self) -> None:
        config = self.action_validate()
        if config is None:
            return
        path = Path(self.query_one("#c-path", Input).value.strip() or DEFAULT_EXPORT).expanduser()
        try:
            from workbench.replay.export import export_config

            written = export_config(config, path, {"source": "config screen", "edited_from": self.source})
        except WorkbenchError as exc:
            self.notify(str(exc), title="Export", severity="error", markup=False)
            return
        self.query_one("#c-result", Static).update(f"exported to {written}")
        self.notify(f"Config written to {written}", title="Exported", markup=False)

    def action_open(self) -> None:
        path = self.query_one("#c-path", Input).value.strip()
        if not path:
            self.notify("Type the path of a config file to open.", severity="warning")
            return
        try:
            raw = json.loads(Path(path).expanduser().read_text(encoding="utf-8"))
            if isinstance(raw, dict):
                raw.pop("provenance", None)
            config = parse_config(raw, path) if isinstance(raw, dict) else load_config(path)
        except (OSError, json.JSONDecodeError) as exc:
            self.notify(f"cannot open {path}: {exc}", title="Open", severity="error", markup=False)
            return
        except WorkbenchError as exc:
            self.notify(str(exc), title="Open", severity="error", markup=False)
            return
        self.data = config.public_dict()
        self.source = path
        self.valid = config
        self.show_config()
        self.query_one("#c-result", Static).update(f"opened {path} (valid)")
        self.notify(f"Opened {path}", title="Config", markup=False)


__all__ = ["ConfigScreen"]
