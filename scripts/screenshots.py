"""Regenerate `screenshots/*.svg`: every TUI screen at 120x40 from a fixed seed and a fixed clock.

    python scripts/screenshots.py
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from workbench.api import Workbench
from workbench.tui.app import WorkbenchApp

OUT = Path(__file__).resolve().parents[1] / "screenshots"
FIXED_TIME = 1_700_000_000.0


async def live() -> None:
    app = WorkbenchApp(Workbench(db=":memory:", seed=0, clock=lambda: FIXED_TIME))
    async with app.run_test(size=(120, 40)) as pilot:
        for prompt in ("classify this ticket: login fails", "write a haiku about routers"):
            await pilot.click("#prompt")
            await pilot.press(*prompt, "enter")
            await app.workers.wait_for_complete()
            await pilot.pause()
        app.save_screenshot("live.svg", str(OUT))


def main() -> None:
    OUT.mkdir(exist_ok=True)
    asyncio.run(live())
    print(f"wrote {OUT / 'live.svg'}")


if __name__ == "__main__":
    main()
