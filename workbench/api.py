"""The facade both faces use: `Workbench(db, config)` -> send / trajectories / ... .

The TUI, the headless CLI and notebooks all go through this object, so an operation means the
same thing everywhere. It owns the store, the pipeline registry, the transport and the event bus.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from workbench.config import WorkbenchConfig, load_config
from workbench.domain import ChatRequest, Trajectory
from workbench.events import Event
from workbench.pipeline.build import PipelineRegistry, build_pipeline
from workbench.session import Session

if TYPE_CHECKING:
    import polars as pl

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
        self.store: TrajectoryStore = open_store(resolve_db(db), read_only=read_only)
        self.session = Session(self.registry, None if self.store.read_only else self.store, clock=clock)
        self._loop: asyncio.AbstractEventLoop | None = None

    # -- live -------------------------------------------------------------------------------------
    @property
    def transport_name(self) -> str:
        return self.registry.transport.name

    def subscribe(self, listener: Callable[[Event], None]) -> Callable[[], None]:
        return self.session.subscribe(listener)

    @staticmethod
    def _request(prompt: str | ChatRequest, **metadata: Any) -> ChatRequest:
        return prompt if isinstance(prompt, ChatRequest) else ChatRequest.from_prompt(prompt, **metadata)

    async def send_async(self, prompt: str | ChatRequest, *, stream: bool = False, **metadata: Any) -> Trajectory:
        return await self.session.run(self._request(prompt, **metadata), stream=stream)

    def send(self, prompt: str | ChatRequest, **metadata: Any) -> Trajectory:
        """Send one prompt through the pipeline and return its trajectory (blocking)."""
        if self._loop is None:
            self._loop = asyncio.new_event_loop()
        return self._loop.run_until_complete(self.send_async(prompt, **metadata))

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

    # -- lifecycle --------------------------------------------------------------------------------
    def close(self) -> None:
        try:
            if self._loop is not None:
                self._loop.run_until_complete(self.registry.transport.aclose())
                self._loop.close()
                self._loop = None
        finally:
            self.store.close()

    def __enter__(self) -> Workbench:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = ["Workbench", "resolve_config", "resolve_db"]
