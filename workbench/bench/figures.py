"""A benchmark figure with its goal beside it, and the comparisons that decide whether it is met."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NotRequired, TypedDict


class Figure(TypedDict):
    """One headline figure. `value` is a number, or per-name numbers (per router, per strategy); then `each`
    says, for every name the goal applies to, whether it is met (names without a goal are left out)."""

    value: float | dict[str, float]
    unit: str
    goal: str
    met: bool
    each: NotRequired[dict[str, bool]]


def at_most(value: float, limit: float, unit: str) -> Figure:
    return {"value": round(value, 3), "unit": unit, "goal": f"<= {limit:g} {unit}", "met": value <= limit}


def at_least(value: float, floor: float, unit: str) -> Figure:
    return {"value": round(value, 3), "unit": unit, "goal": f">= {floor:g} {unit}", "met": value >= floor}


def each_at_most(
    values: Mapping[str, float], limit: float, unit: str, *, judged: tuple[str, ...] = (), scope: str = ""
) -> Figure:
    """Per-name values under one goal; `judged` (all names when empty) are the ones the goal applies to."""
    each = {n: values[n] <= limit for n in (judged or tuple(values)) if n in values}
    goal = f"<= {limit:g} {unit}" + (f" {scope}" if scope else "")
    return {"value": {k: round(v, 3) for k, v in values.items()}, "unit": unit, "goal": goal,
            "met": all(each.values()), "each": each}


def is_figure(item: Any) -> bool:
    return isinstance(item, dict) and {"value", "goal", "met"} <= item.keys()
