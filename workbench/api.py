"""The facade both faces use: `Workbench(db, config)` -> send / trajectories / ... .

The TUI, the headless CLI and notebooks all go through this object, so an operation means the
same thing everywhere. It owns the store, the pipeline registry, the transport and the event bus.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import threading
import time
from collections.abc import Callable, Coroutine, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from workbench.config import WorkbenchConfig, load_config
from workbench.domain import ChatRequest, Trajectory
from workbench.events import Event
from workbench.pipeline.build import PipelineRegistry, build_pipeline
from workbench.session import Session

if TYPE_CHECKING:
    import polars as pl

    from workbench.pipeline.breaker import BreakerInfo
    from workbench.replay.compare import Comparison
    from workbench.replay.engine import Progress
    from workbench.replay.facade import ExportReport, ReplayReport, TuneReport
    from workbench.replay.shadow import ShadowResult
    from workbench.replay.tune import Objective, TuneProgress
    from workbench.report import TrajectoryReport
    from workbench.store import TrajectoryStore
    from workbench.transport.simulated import Fault

T = TypeVar("T")

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
        # The session's clock also drives breaker cooldowns, so a fixed clock (tests, snapshots) fixes both.
        self.registry: PipelineRegistry = build_pipeline(self.config, seed=seed, clock=clock)
        # The store counts this config's classifier cues in imported full-information logs, so replays under it
        # classify from counts instead of scanning every prompt.
        self.store: TrajectoryStore = open_store(
            resolve_db(db), read_only=read_only, privacy=self.config.store.privacy, routing=self.config.routing
        )
        self.session = Session(self.registry, None if self.store.read_only else self.store, clock=clock)
        # Learners resume from their newest saved state (policies table), checkpoint every N updates and on close.
        from workbench.learning.policy_store import resume

        self._policies = resume(self.registry, self.store)
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

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Run `coro` on the Workbench's own loop thread, where `send` runs; returns at once.

        A face with its own event loop (the TUI) sends here and awaits `asyncio.wrap_future(...)`, so pipeline
        work (routing, the transport, scoring) never runs on its UI loop and every request shares one loop.
        """
        return asyncio.run_coroutine_threadsafe(coro, self._portal())

    def send(self, prompt: str | ChatRequest, *, model: str | None = None, **metadata: Any) -> Trajectory:
        """Send one prompt through the pipeline and return its trajectory (blocking)."""
        future = asyncio.run_coroutine_threadsafe(self.send_async(prompt, model=model, **metadata), self._portal())
        return future.result()

    # -- fleet: breakers and the simulated fleet's fault switches -------------------------------------
    def deployments(self) -> list[str]:
        """Every deployment the pipelines may route to (preferred models, tiers, default), then any the
        breaker board has seen, in first-seen order."""
        config = self.config
        refs: list[str] = [config.routing.default_model]
        for pc in config.pipelines.values():
            refs += pc.preferred_models
        for tier in config.routing.tiers.tiers.values():
            refs += tier.models
        models = [config.resolve(m) for m in refs]
        models += [b.model for b in self.breaker_snapshot()]
        return list(dict.fromkeys(models))

    def breaker_snapshot(self) -> list[BreakerInfo]:
        """The breaker board as records (deployments it has not seen yet are closed and absent)."""
        fleet = self.registry.fleet
        return [] if fleet is None else fleet.board.snapshot()

    def fleet_now(self) -> float:
        """The clock breaker cooldowns run on (the Workbench's clock)."""
        fleet = self.registry.fleet
        return fleet.clock() if fleet is not None else time.time()

    def breakers(self) -> pl.DataFrame:
        """One row per deployment: breaker state, failures, seconds until half-open, and its fault switches."""
        import polars as pl

        infos = {b.model: b for b in self.breaker_snapshot()}
        now = self.fleet_now()
        faults = self.faults()
        rows = []
        for model in self.deployments():
            info = infos.get(model)
            fault = faults.get(model)
            rows.append(
                {
                    "model": model,
                    "state": info.state.value if info else "closed",
                    "consecutive_failures": info.consecutive_failures if info else 0,
                    "window_failures": info.window_failures if info else 0,
                    "window_outcomes": info.window_outcomes if info else 0,
                    "reopens_in_s": max(0.0, info.reopens_at - now) if info and info.reopens_at else None,
                    "reason": info.reason if info else "",
                    "down": bool(fault and fault.down),
                    "rate_429": fault.rate_429 if fault else 0.0,
                }
            )
        return pl.DataFrame(rows)

    def faults(self) -> dict[str, Fault]:
        """The simulated fleet's fault switches that were ever set, by model (empty for other transports)."""
        return dict(getattr(self.registry.transport, "faults", {}))

    def set_fault(self, model: str, *, down: bool | None = None, rate_429: float | None = None) -> Fault:
        """Flip the simulated fleet's fault switches for `model`: take it down, or make a share of its attempts
        get HTTP 429. Only the simulated transport has switches."""
        from workbench.errors import BadInputError
        from workbench.transport.simulated import SimulatedTransport

        transport = self.registry.transport
        if not isinstance(transport, SimulatedTransport):
            raise BadInputError(
                f"fault switches need the simulated transport; this workbench uses '{transport.name}' "
                f"(set transport.kind to simulated in the config to rehearse outages)"
            )
        model = self.config.resolve(model)
        if not transport.serves(model):
            raise BadInputError(
                f"set_fault: the simulated fleet has no model '{model}'; choose one of: {', '.join(transport.models())}"
            )
        if rate_429 is not None and not 0.0 <= rate_429 <= 1.0:
            raise BadInputError(f"set_fault: rate_429 must be within [0, 1] (a share of attempts), got {rate_429}")
        fault = transport.fault(model)
        if down is not None:
            fault.down = down
        if rate_429 is not None:
            fault.rate_429 = rate_429
        return fault

    def sample_prompts(self, limit: int = 200) -> list[str]:
        """Prompts for the traffic generator: the built-in mix, then distinct prompts from the store's newest
        trajectories (hashed or redacted prompts are left out)."""
        from workbench.traffic import SAMPLE_PROMPTS

        stored = [p for p in self.trajectories(limit)["prompt"].to_list() if p and not str(p).startswith("sha256:")]
        return list(dict.fromkeys([*SAMPLE_PROMPTS, *stored]))

    # -- store ------------------------------------------------------------------------------------
    def query(self, name: str, /, **params: Any) -> pl.DataFrame:
        """A named analytical query (`queries/<name>.sql`, e.g. cost_by_model_task) as a polars DataFrame."""
        self.store.flush()
        return self.store.query(name, **params)

    def find_trajectories(
        self,
        *,
        task_type: str | None = None,
        model: str | None = None,
        status: str | None = None,
        since: float | None = None,
        log: str | None = None,
        limit: int = 200,
    ) -> pl.DataFrame:
        """Trajectories matching every filter given, newest first. `model` matches chosen or served model as a
        substring; `since` is unix seconds."""
        self.store.flush()
        return self.store.query(
            "filter_trajectories",
            task_type=task_type or None, model=model or None, status=status or None,
            since_unix=since, log=log or None, limit=limit,
        )

    def report(self, trajectory_id: str) -> TrajectoryReport:
        """One trajectory with everything it went through, displayable in a notebook (`_repr_html_`)."""
        from workbench.errors import BadInputError
        from workbench.report import TrajectoryReport

        t = self.trajectory(trajectory_id)
        if t is None:
            raise BadInputError(f"no trajectory '{trajectory_id}' in {self.db_path or ':memory:'}; list ids with "
                                f"Workbench.trajectories()")
        seq = self.store.query("get_trajectory", trajectory_id=trajectory_id)
        witness = seq["witness_hash"][0] if seq.height and "witness_hash" in seq.columns else None
        return TrajectoryReport(t, witness_hash=witness)

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

    def replay(
        self,
        log: str,
        pipelines: Sequence[str],
        *,
        seed: int = 0,
        progress: Progress | None = None,
        cancel: threading.Event | None = None,
        block: int | None = None,
    ) -> ReplayReport:
        """`compare`, plus each config pipeline replayed with outcomes fed back (learning curves): on
        full-information logs in blocks of `block` events decided with the learner's state at the block start
        (default 1024; 1 = event by event), each curve naming its block size.

        The run is stored in `replay_runs`; `.table()` / `.curves_table()` are polars DataFrames."""
        from workbench.replay.facade import run_replay

        self.store.flush()
        return run_replay(self.store, self.config, log, pipelines, seed=seed, progress=progress, cancel=cancel,
                          block=block)

    def tune(
        self,
        log: str,
        pipeline: str,
        objective: str | Objective,
        *,
        out: str | os.PathLike[str] | None = None,
        candidates: int = 27,
        eta: int = 3,
        executor: str | concurrent.futures.Executor = "process",
        seed: int = 0,
        progress: TuneProgress | None = None,
        cancel: threading.Event | None = None,
    ) -> TuneReport:
        """Tune `pipeline` on `log` for `objective` ('max-quality:cost<=X' or 'min-cost:quality>=Y') by successive
        halving; writes the tuned config to `out` when given. `.table()` lists every trial."""
        from workbench.replay.facade import run_tune

        self.store.flush()
        return run_tune(self.store, self.config, log, pipeline, objective, out=out, candidates=candidates, eta=eta,
                        executor=executor, seed=seed, progress=progress, cancel=cancel)

    def export(
        self, log: str, pipeline: str, out: str | os.PathLike[str], *, seed: int = 0, progress: Progress | None = None
    ) -> ExportReport:
        """Write `pipeline`'s config to `out` with its metrics replayed on `log` as provenance."""
        from workbench.replay.facade import run_export

        self.store.flush()
        return run_export(self.store, self.config, log, pipeline, out, seed=seed, progress=progress)

    def shadow(
        self,
        log: str,
        pipeline: str,
        *,
        sample: int = 100,
        cost_cap_usd: float = 0.10,
        max_output_tokens: int = 1024,
        seed: int = 0,
        progress: Progress | None = None,
        cancel: threading.Event | None = None,
    ) -> ShadowResult:
        """Re-run a seeded sample of `log`'s prompts live through `pipeline` (its config's transport: the simulated
        fleet unless it names another), stopping before the next request could take the spend past
        `cost_cap_usd`. Trajectories go to the log `shadow:LOG`; `.table()` is a polars DataFrame."""
        from workbench.replay.facade import run_shadow

        self.store.flush()
        return run_shadow(self.store, self.config, log, pipeline, sample=sample, cost_cap_usd=cost_cap_usd,
                          max_output_tokens=max_output_tokens, seed=seed, progress=progress, cancel=cancel)

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
            self._close_store()

    def _close_store(self) -> None:
        """Save what the learners learned since their last checkpoint, then close the store."""
        from workbench.learning.policy_store import checkpoint

        try:
            checkpoint(self.registry, self._policies)
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
        self._close_store()

    def __enter__(self) -> Workbench:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = ["Workbench", "resolve_config", "resolve_db"]
