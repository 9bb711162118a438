"""`WorkbenchApp`: the Textual face over a `Workbench`. Screens are app modes (Live today; Replay,
Trajectories and Config later); app-wide keys, help and the command palette's actions live here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import partial
from typing import Any, ClassVar

from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.screen import Screen

from workbench.api import Workbench
from workbench.tui.help import HelpScreen
from workbench.tui.screens.live import LiveScreen


class WorkbenchApp(App[int]):
    """The operator's bench. Takes a ready `Workbench` and closes it on exit."""

    CSS_PATH = "app.tcss"
    TITLE = "clawft-workbench"
    SUB_TITLE = "Live"
    DEFAULT_MODE: ClassVar[str] = "live"
    THEME = "textual-dark"

    # Every binding has an id so a keymap from config can remap it (`App.set_keymap`).
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f1", "help", "Help", id="help"),
        Binding("ctrl+q", "quit", "Quit", id="quit", priority=True),
    ]

    def __init__(self, workbench: Workbench, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.workbench = workbench
        self.add_mode("live", partial(LiveScreen, workbench))

    def on_mount(self) -> None:
        self.theme = self.THEME

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
                self.notify("Only available on the Live screen.", severity="warning")

        return run

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield SystemCommand("Send prompt", "Send what is in the prompt box", self._on_live(LiveScreen.action_send))
        yield SystemCommand("Clear", "Clear the response and the decision", self._on_live(LiveScreen.action_clear))
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


__all__ = ["WorkbenchApp", "run"]
