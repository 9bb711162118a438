"""Widgets of the workbench TUI. They format what they are given and hold no domain logic."""

from __future__ import annotations

from workbench.tui.widgets.breaker_board import BreakerBoard
from workbench.tui.widgets.decision_panel import DecisionPanel
from workbench.tui.widgets.history import HISTORY_CAP, HistoryTable
from workbench.tui.widgets.live_metrics import LiveMetrics
from workbench.tui.widgets.response_view import ResponseView
from workbench.tui.widgets.status_bar import StatusBar

__all__ = ["HISTORY_CAP", "BreakerBoard", "DecisionPanel", "HistoryTable", "LiveMetrics", "ResponseView", "StatusBar"]
