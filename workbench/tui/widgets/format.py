"""Display formatting shared by the TUI widgets: money, times, numbers. Presentation only."""

from __future__ import annotations

from workbench.domain import Attempt

DASH = "-"


def usd(value: float) -> str:
    return f"${value:.6f}"


def ms(value: float) -> str:
    return f"{value:,.0f} ms"


def num(value: float | None, digits: int = 3) -> str:
    return DASH if value is None else f"{value:.{digits}f}"


def fit(text: str, width: int) -> str:
    """`text` cut to `width` cells with a trailing ellipsis when it is longer."""
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"


def attempts_summary(attempts: tuple[Attempt, ...]) -> str:
    """`3 (http_429 @ openai/gpt-4o, http_503 @ ...)`: the count, then every non-ok attempt."""
    failed = [f"{a.status} @ {a.deployment}" for a in attempts if a.status != "ok"]
    return f"{len(attempts)} ({', '.join(failed)})" if failed else str(len(attempts))


__all__ = ["DASH", "attempts_summary", "fit", "ms", "num", "usd"]
