"""`WorkbenchApp`: the Textual face over a `Workbench`. Screens are app modes (Live, Compare, Trajectories,
Config); app-wide keys (remappable by binding id from the config's `tui.keys`), theme, help and the command
palette's actions live here.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any, ClassVar

from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.screen import Screen

from workbench.api import Workbench
from workbench.tui.help import HelpScreen
from workbench.tui.screens.compare import CompareScreen
from workbench.tui.screens.config import ConfigScreen
from workbench.tui.screens.live import LiveScreen
from workbench.tui.screens.trajectories import TrajectoriesScreen

# mode name -> (title shown in the header, palette help)
SCREENS: dict[str, tuple[str, str]] = {
    "live": ("Live", "Send prompts, watch decisions, breakers and traffic"),
    "compare": ("Compare", "Replay a log through two or more pipelines, side by side"),
    "trajectories": ("Trajectories", "Browse and filter logged requests; open one in detail"),
    "config": ("Config", "Pipelines per task type: edit, validate, export; open a tuned config"),
}


class WorkbenchApp(App[int]):
    """The operator's bench. Takes a ready `Workbench` and closes it on exit."""

    CSS_PATH = "app.tcss"
    TITLE = "clawft-workbench"
    SUB_TITLE = "Live"
    DEFAULT_MODE: ClassVar[str] = "live"
    THEME = "textual-dark"

    # Every binding has an id so a keymap from config (`tui.keys`) can remap it (`App.set_keymap`).
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f1", "help", "Help", id="help"),
        Binding("f2", "switch_mode('live')", "Live", id="screen_live"),
        Binding("f3", "switch_mode('compare')", "Compare", id="screen_compare"),
        Binding("f4", "switch_mode('trajectories')", "Trajectories", id="screen_trajectories"),
        Binding("f5", "switch_mode('config')", "Config", id="screen_config"),
        Binding("ctrl+q", "quit", "Quit", id="quit", priority=True),
    ]

    def __init__(self, workbench: Workbench, *, monotonic: Callable[[], float] = time.monotonic, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.workbench = workbench
        self.add_mode("live", partial(LiveScreen, workbench, monotonic=monotonic))
        self.add_mode("compare", partial(CompareScreen, workbench))
        self.add_mode("trajectories", partial(TrajectoriesScreen, workbench))
        self.add_mode("config", partial(ConfigScreen, workbench))

    def on_mount(self) -> None:
        tui = self.workbench.config.tui
        theme = tui.theme or self.THEME
        if theme in self.available_themes:
            self.theme = theme
        else:
            self.theme = self.THEME
            self.notify(
                f"tui.theme '{theme}' is not a theme; choose one of: {', '.join(sorted(self.available_themes))}",
                title="Config", severity="warning", markup=False,
            )
        self.apply_keymap(tui.keys)

    def apply_keymap(self, keys: dict[str, str]) -> None:
        """Remap bindings by id; unknown ids are reported (with the known ones) rather than ignored silently."""
        if not keys:
            return
        known = self.binding_ids()
        unknown = sorted(set(keys) - known)
        if unknown:
            self.notify(
                f"tui.keys: unknown binding id(s) {', '.join(unknown)}; known ids: {', '.join(sorted(known))}",
                title="Config", severity="warning", markup=False,
            )
        self.set_keymap({k: v for k, v in keys.items() if k in known})

    def binding_ids(self) -> set[str]:
        """Every binding id of the app, its screens and their widgets (what `tui.keys` may remap)."""
        from workbench.tui.widgets import BreakerBoard

        ids: set[str] = set()
        for owner in (WorkbenchApp, LiveScreen, CompareScreen, TrajectoriesScreen, ConfigScreen, BreakerBoard,
                      HelpScreen):
            for b in owner.BINDINGS:
                if isinstance(b, Binding) and b.id:
                    ids.add(b.id)
        return ids

    async def on_unmount(self) -> None:
        # On this loop: the transport's HTTP client is bound to the loop that used it.
        await self.workbench.aclose()

    # -- actions ----------------------------------------------------------------------------------
    def key_help(self) -> list[tuple[str, str]]:
        """(key, description) for the bindings in effect on the current screen, as the Footer shows them."""
        rows: dict[str, tuple[str, str]] = {}
        for active in self.screen.active_bindings.values():
            binding = active.binding
            if not binding.description or not (binding.show or binding.id):
                continue
            rows.setdefault(binding.action, (self.get_key_display(binding), binding.description))
        palette = Binding(self.COMMAND_PALETTE_BINDING, "command_palette", key_display=self.COMMAND_PALETTE_DISPLAY)
        rows.setdefault("command_palette", (self.get_key_display(palette), "Command palette"))
        return list(rows.values())

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.key_help()))

    def _on_live(self, action: Callable[[LiveScreen], None]) -> Callable[[], None]:
        def run() -> None:
            if isinstance(self.screen, LiveScreen):
                action(self.screen)
            else:
                self.notify("Only available on the Live screen (F2).", severity="warning")

        return run

    def _on(self, kind: type[Screen[Any]], mode: str, action: Callable[[Any], object]) -> Callable[[], None]:
        """Run `action` on the screen of `mode`, switching there first."""

        def run() -> None:
            if self.current_mode != mode:
                self.switch_mode(mode)
            self.call_after_refresh(lambda: action(self.screen) if isinstance(self.screen, kind) else None)

        return run

    def _fault(self, model: str, kind: str) -> Callable[[], None]:
        return self._on(LiveScreen, "live", lambda screen: screen.toggle_fault(model, kind))

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        for mode, (title, help_text) in SCREENS.items():
            yield SystemCommand(f"Screen: {title}", help_text, partial(self.switch_mode, mode))
        yield SystemCommand("Send prompt", "Send what is in the prompt box", self._on_live(LiveScreen.action_send))
        yield SystemCommand("Clear", "Clear the response and the decision", self._on_live(LiveScreen.action_clear))
        yield SystemCommand("Traffic: start / stop", "Send sample prompts at the chosen rate (Live screen)",
                            self._on(LiveScreen, "live", LiveScreen.action_toggle_traffic))
        if hasattr(self.workbench.registry.transport, "faults"):
            for model in self.workbench.deployments():
                yield SystemCommand(f"Fault: take {model} down / up", "Simulated outage: watch its breaker open",
                                    self._fault(model, "down"))
                yield SystemCommand(f"Fault: 429s on {model} on / off", "Half its attempts get HTTP 429",
                                    self._fault(model, "429"))
        yield SystemCommand("Compare: run", "Replay the chosen log through the chosen pipelines",
                            self._on(CompareScreen, "compare", CompareScreen.action_run))
        yield SystemCommand("Compare: cancel", "Stop the running comparison",
                            self._on(CompareScreen, "compare", CompareScreen.action_cancel))
        yield SystemCommand("Trajectories: refresh", "Re-run the filter",
                            self._on(TrajectoriesScreen, "trajectories", TrajectoriesScreen.action_refresh))
        yield SystemCommand("Trajectories: verify witness chain", "Recompute the store's hash chain",
                            self._on(TrajectoriesScreen, "trajectories", TrajectoriesScreen.action_verify))
        yield SystemCommand("Config: validate", "Check the edited config",
                            self._on(ConfigScreen, "config", ConfigScreen.action_validate))
        yield SystemCommand("Config: export", "Write the edited config to the export path",
                            self._on(ConfigScreen, "config", ConfigScreen.action_export))
        yield SystemCommand("Config: open", "Load a config file (e.g. a tuned config) into the editor",
                            self._on(ConfigScreen, "config", ConfigScreen.action_open))
        yield SystemCommand("Help", "Keys and how to use the workbench", self.action_help)
        yield SystemCommand("Quit", "Quit the workbench", self.action_quit)
        for command in super().get_system_commands(screen):
            if command.title != "Quit":  # ours above replaces Textual's own
                yield command


def run(db: str | None, config: str | None, seed: int | None) -> int:
    """Open a Workbench on `db` / `config` and run the TUI until the user quits; returns the exit code.

    Errors opening the workbench (bad config, locked database) propagate as `WorkbenchError` for the CLI
    to print.
    """
    app = WorkbenchApp(Workbench(db=db, config=config, seed=seed))
    app.run()
    return app.return_code or 0


__all__ = ["SCREENS", "WorkbenchApp", "run"]
