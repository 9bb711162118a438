"""Regenerate `screenshots/*.svg`: every TUI screen at 120x40 from a fixed seed, a fixed clock and counted ids.

    python scripts/screenshots.py
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Select, SelectionList, TabbedContent

import workbench.session
from workbench.api import Workbench
from workbench.tui.app import WorkbenchApp
from workbench.tui.pilot_steps import send, trip_breaker

OUT = Path(__file__).resolve().parents[1] / "screenshots"
FIXED_TIME = 1_700_000_000.0
SIZE = (120, 40)
TRIAGE = "triage: classify this ticket"


async def settle(pilot: Pilot[Any]) -> None:
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    await pilot.pause()


async def live(pilot: Pilot[Any]) -> None:
    """A breaker tripped by the outage switch, requests falling back."""
    await trip_breaker(pilot, TRIAGE, "groq/llama-3.1-8b")


async def compare(pilot: Pilot[Any]) -> None:
    await pilot.press("f3")
    await settle(pilot)
    screen = pilot.app.screen
    screen.query_one("#log", Select).value = "sim-drift-full"
    chooser = screen.query_one("#pipelines", SelectionList)
    chooser.deselect_all()
    for name in ("triage", "analysis"):
        chooser.select(name)
    await pilot.press("ctrl+r")
    await settle(pilot)
    screen.query_one("#charts", TabbedContent).active = "tab-curves"  # the drift and how each pipeline copes
    await pilot.pause()
    screen.query_one("#results", DataTable).focus()
    await pilot.pause()


async def trajectories(pilot: Pilot[Any]) -> None:
    for prompt in (TRIAGE, "write a haiku about routers", "explain why p99 latency doubled"):
        await send(pilot, prompt)
    await pilot.press("f4")
    await settle(pilot)


async def config(pilot: Pilot[Any]) -> None:
    await pilot.press("f5")
    await settle(pilot)
    pilot.app.screen.query_one("#c-path", Input).value = "tuned-pipeline.json"


async def shoot(name: str, scenario: Callable[[Pilot[Any]], Awaitable[None]]) -> Path:
    counter = itertools.count(1)
    workbench.session.new_id = lambda: f"{next(counter):032x}"  # type: ignore[attr-defined]
    app = WorkbenchApp(Workbench(db=":memory:", seed=0, clock=lambda: FIXED_TIME), monotonic=lambda: 0.0)
    async with app.run_test(size=SIZE) as pilot:
        await scenario(pilot)
        app.clear_notifications()
        await pilot.pause()
        app.save_screenshot(f"{name}.svg", str(OUT))
    return OUT / f"{name}.svg"


def main() -> None:
    OUT.mkdir(exist_ok=True)
    for name, scenario in (("live", live), ("compare", compare), ("trajectories", trajectories), ("config", config)):
        print(f"wrote {asyncio.run(shoot(name, scenario))}")


if __name__ == "__main__":
    main()
