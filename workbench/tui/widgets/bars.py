"""Horizontal bars for values in [0, 1] (complexity factors, quality dimensions), as text: cheap to render."""

from __future__ import annotations

from collections.abc import Iterable

from textual.content import Content

from workbench.tui.widgets.format import DASH

FULL, EMPTY = "█", "░"


def bar(value: float | None, width: int) -> str:
    """`width` cells, filled in proportion to `value` (clamped to [0, 1]); a missing value is all empty."""
    if value is None:
        return EMPTY * width
    filled = round(min(1.0, max(0.0, value)) * width)
    return FULL * filled + EMPTY * (width - filled)


def bar_style(value: float | None) -> str:
    if value is None:
        return "dim"
    return "green" if value >= 0.75 else "yellow" if value >= 0.5 else "red"


def bar_lines(
    rows: Iterable[tuple[str, float | None]], *, label_width: int = 18, width: int = 18, colour: bool = False
) -> Content:
    """`label  ██████░░░░  0.62` per row; `colour` shades the bar by value (quality), else one colour (factors)."""
    parts: list[str | tuple[str, str]] = []
    for i, (label, value) in enumerate(rows):
        if i:
            parts.append("\n")
        parts.append((label[:label_width].ljust(label_width), "dim"))
        parts.append((bar(value, width), bar_style(value) if colour else "$accent"))
        parts.append(f" {DASH if value is None else f'{value:.2f}'}")
    return Content.assemble(*parts)


__all__ = ["bar", "bar_lines"]
