"""Widgets of the workbench TUI. They format what they are given and hold no domain logic.

Loaded on first use (PEP 562), so importing the package imports nothing of Textual.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from workbench.tui.widgets.breaker_board import BreakerBoard
    from workbench.tui.widgets.decision_panel import DecisionPanel
    from workbench.tui.widgets.history import HISTORY_CAP, HistoryTable
    from workbench.tui.widgets.live_metrics import LiveMetrics
    from workbench.tui.widgets.response_view import ResponseView
    from workbench.tui.widgets.status_bar import StatusBar

_HOME = {
    "BreakerBoard": "breaker_board",
    "DecisionPanel": "decision_panel",
    "HISTORY_CAP": "history",
    "HistoryTable": "history",
    "LiveMetrics": "live_metrics",
    "ResponseView": "response_view",
    "StatusBar": "status_bar",
}
__all__ = ["HISTORY_CAP", "BreakerBoard", "DecisionPanel", "HistoryTable", "LiveMetrics", "ResponseView", "StatusBar"]


def __getattr__(name: str) -> Any:
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"workbench.tui.widgets.{module}"), name)
