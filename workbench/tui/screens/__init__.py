"""Top-level screens of the workbench TUI (one per app mode) and the base class they share.

Everything here loads on first use (PEP 562): importing the package imports nothing of Textual, so
tools that walk the package (and the core's no-Textual check) stay cheap and honest.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from workbench.tui.screens.base import WorkbenchScreen
    from workbench.tui.screens.live import LiveScreen

__all__ = ["LiveScreen", "WorkbenchScreen"]


def __getattr__(name: str) -> Any:
    if name == "WorkbenchScreen":
        from workbench.tui.screens.base import WorkbenchScreen

        return WorkbenchScreen
    if name == "LiveScreen":
        from workbench.tui.screens.live import LiveScreen

        return LiveScreen
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
