"""The Textual face of the workbench. Importing the package is cheap; `WorkbenchApp` and `run` load on use."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from workbench.tui.app import WorkbenchApp, run

__all__ = ["WorkbenchApp", "run"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from workbench.tui import app

        return getattr(app, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
