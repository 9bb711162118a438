"""The facade both faces use: `Workbench(db, config)` -> send / trajectories / ... .

The TUI, the headless CLI and notebooks all go through this object, so an operation means the
same thing everywhere. It owns the store, the pipeline registry, the transport and the event bus.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from workbench.config import WorkbenchConfig, load_config
from workbench.domain import ChatRequest, Trajectory
from workbench.events import Event
from workbench.pipeline.build import PipelineRegistry, build_pipeline
from workbench.session import Session

if TYPE_CHECKING:
    import polars as pl

    from workbench.replay.compare import Comparison
    from workbench.replay.engine import Progress
    from workbench.store import TrajectoryStore

DB_ENV = "CLAWFT_WORKBENCH_DB"
CONFIG_ENV = "CLAWFT_WORKBENCH_CONFIG"


def resolve_db(db: str | os.PathLike[str] | None) -> str | None:
    """`--db` wins, then $CLAWFT_WORKBENCH_DB, then None (the store's platform default)."""
    if db is not None:
        return str(db)
    return os.environ.get(DB_ENV) or None


def resolve_config(config: str | os.PathLike[str] | WorkbenchConfig | None) -> WorkbenchConfig:
    if isinstance(config, WorkbenchConfig):
        return config
    if config is None:
        config = os.environ.get(CONFIG_ENV) or None
    return load_config(config)


class Workbench:
    """One operator's bench: a store, a pipeline registry and a live session over them.

    >>> with Workbench(db=":memory:") as wb:          # doctest: +SKIP
    ...     t = wb.send("write a haiku about routers")
    ...     t.decision.model
    """

    def __init__(
        self,
        db: str | os.PathLike[str] | None = None,
        config: str | os.PathLike[str] | WorkbenchConfig | None = None,
        *,
        seed: int | None = None,
        clock: Callable[[], float] = time.time,
        read_only: bool = False,
    ) -> None:
        from workbench.store import open_store

        self.config = resolve_config(config)
        self.registry: PipelineRegistry = build_pipeline(self.config, seed=seed)
        self.store: TrajectoryStore = open_store(
            resolve_db(db), read_only=read_only, privacy=self.config.store.privacy
        )
        self.session = Session(self.registry, None if self.store.read_only else self.store, clock=clock)
        # The blocking API runs coroutines on a private loop in its own thread, so `send` also works
        # where a loop is already running (a notebook, an async test). Async callers use `send_async`
        # on their own loop instead; one Workbench should stick to one of the two.
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: threading.Thread | None = None
        self._closed = False

    # -- live -------------------------------------------------------------------------------------
    @property
    def transport_name(self) -> str:
        return self.registry.transport.name

    def subscribe(self, listener: Callable[[Event], None]) -> Callable[[], None]:
        return self.session.subscribe(listener)

    @staticmethod
    def _request(prompt: str | ChatRequest, **metadata: Any) -> ChatRequest:
        return prompt if isinstance(prompt, ChatRequest) else ChatRequest.from_prompt(prompt, **metadata)

    async def send_async(
        self, prompt: str | ChatRequest, *, stream: bool = False, model: str | None = None, **metadata: Any
    ) -> Trajectory:
        """`model` (provider/model) bypasses routing and sends there directly (strategy `explicit`)."""
        return await self.session.run(self._request(prompt, **metadata), stream=stream, model=model)

    def _portal(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            self._loop = asyncio.new_event_loop()
            self._loop_thread = threading.Thread(target=self._loop.run_forever, name="workbench-loop", daemon=True)
            self._loop_thread.start()
        return self._loop

    def send(self, prompt: str | ChatRequest, *, model: str | None = None, **metadata: Any) -> Trajectory:
        """Send one prompt through the pipeline and return its trajectory (blocking)."""
        future = asyncio.run_coroutine_threadsafe(self.send_async(prompt, model=model, **metadata), self._portal())
        return future.result()

    # -- store ------------------------------------------------------------------------------------
    def trajectories(self, limit: int = 50) -> pl.DataFrame:
        """The newest trajectories, newest first."""
        self.store.flush()
        return self.store.recent(limit)

    def trajectory(self, trajectory_id: str) -> Trajectory | None:
        self.store.flush()
        return self.store.get(trajectory_id)

    @property
    def db_path(self) -> str:
        return str(getattr(self.store, "path", ""))

    def logs(self) -> pl.DataFrame:
        """Every log in the store with its kind (live, full-information, bandit, imported) and row counts."""
        self.store.flush()
        return self.store.logs()

    # -- replay -----------------------------------------------------------------------------------
    def compare(
        self,
        log: str,
        pipelines: Sequence[str],
        *,
        seed: int = 0,
        progress: Progress | None = None,
        cancel: threading.Event | None = None,
    ) -> Comparison:
        """Replay `pipelines` (config files, pipeline names, `oracle`, `random`, `always:MODEL`) over `log`."""
        from workbench.replay.compare import compare

        self.store.flush()
        return compare(self.store, log, pipelines, self.config, seed=seed, progress=progress, cancel=cancel)

    # -- lifecycle --------------------------------------------------------------------------------
    def close(self) -> None:
        """Close the transport and the store (flushing every queued trajectory). Idempotent."""
        if self._closed:
            return
        self._closed = True
        try:
            loop = self._loop
            if loop is not None:
                asyncio.run_coroutine_threadsafe(self.registry.transport.aclose(), loop).result()
                loop.call_soon_threadsafe(loop.stop)
                if self._loop_thread is not None:
                    self._loop_thread.join()
                loop.close()
                self._loop = None
        finally:
            self.store.close()

    async def aclose(self) -> None:
        """Close from async code that used `send_async` on its own loop (the TUI)."""
        if self._closed:
            return
        if self._loop is None:
            await self.registry.transport.aclose()
        else:
            await asyncio.to_thread(self.close)
            return
        self._closed = True
        self.store.close()

    def __enter__(self) -> Workbench:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = ["Workbench", "resolve_config", "resolve_db"]
