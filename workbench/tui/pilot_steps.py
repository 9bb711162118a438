"""Scripted operator steps for a Textual pilot: the snapshot tests and `scripts/screenshots.py` drive the
screens through these, so a screenshot and its snapshot test show the same scene."""

from __future__ import annotations

from typing import Any

from textual.pilot import Pilot

from workbench.tui.screens.live import LiveScreen


async def send(pilot: Pilot[Any], text: str) -> None:
    """Type `text` into the Live screen's prompt, press Enter and wait until the request is done."""
    screen = pilot.app.screen
    assert isinstance(screen, LiveScreen)
    screen.prompt.value = text
    await pilot.press("escape", "enter")
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def trip_breaker(pilot: Pilot[Any], prompt: str, model: str, sends: int = 5) -> None:
    """Send once, take `model` down in the simulated fleet, keep sending until its breaker opens."""
    await send(pilot, prompt)
    screen = pilot.app.screen
    assert isinstance(screen, LiveScreen)
    screen.toggle_fault(model, "down")
    for _ in range(sends):
        await send(pilot, prompt)
    screen.flush()
    await pilot.pause()
