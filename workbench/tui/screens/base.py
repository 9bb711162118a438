"""The base class every mode screen shares: the one place a worker failure turns into an error notification."""

from __future__ import annotations

from typing import Any

from textual import on
from textual.screen import Screen
from textual.worker import Worker, WorkerState


class WorkbenchScreen(Screen[None]):
    """Base for the app's mode screens: workers started here fail into a notification, never a crash."""

    @on(Worker.StateChanged)
    def _notify_worker_error(self, event: Worker.StateChanged) -> None:
        if event.state is not WorkerState.ERROR:
            return
        error = event.worker.error
        # markup=False: an error message may contain brackets that are not markup.
        self.notify(str(error), title=f"{event.worker.group} failed", severity="error", markup=False)
        self.worker_failed(event.worker, error)

    def worker_failed(self, worker: Worker[Any], error: BaseException | None) -> None:
        """Hook for subclasses to tidy their widgets after a failed worker (the user is already notified)."""
