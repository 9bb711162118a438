"""The replay engine: N pipelines over one log, side by side, each result naming its outcome source.

Pipelines are built with the same `build_pipeline` the live path uses, over a transport that never
calls a provider: replay looks outcomes up instead. Decisions are made prompt by prompt (the router is
the thing under test); evaluation is vectorised. Runs report progress and can be cancelled.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from workbench.config import WorkbenchConfig, load_config
from workbench.domain import ChatRequest, LlmResponse, RoutingDecision, TransportRequest
from workbench.errors import BadInputError, TransportError, WorkbenchError
from workbench.pipeline.build import PipelineRegistry
from workbench.replay.fullinfo import NO_OUTCOME, FullInfoLog, PolicyResult

Progress = Callable[[str, int, int], None]  # (pipeline label, done, total)
BATCH = 2_000  # prompts between progress reports and cancellation checks


class ReplayCancelled(WorkbenchError):
    """The run was cancelled; nothing partial is reported or stored."""


class OfflineTransport:
    """The transport replay pipelines are built with: it serves any model name and never sends anything."""

    name = "replay"

    def serves(self, model: str) -> bool:
        return True

    async def complete(self, request: TransportRequest) -> LlmResponse:
        raise TransportError("replay looks outcomes up; it never calls a provider")

    async def stream(self, request: TransportRequest) -> AsyncIterator[str | LlmResponse]:
        raise TransportError("replay looks outcomes up; it never calls a provider")
        yield ""  # pragma: no cover - makes this an async generator

    async def aclose(self) -> None:
        return None


@dataclass(frozen=True)
class PolicySpec:
    """What to replay: a built-in baseline (`oracle`, `random`, `always:MODEL`) or a pipeline config."""

    label: str
    baseline: str | None = None  # oracle | random | always
    model: str | None = None  # for always:MODEL
    config: WorkbenchConfig | None = None


def resolve_spec(spec: str, base: WorkbenchConfig) -> PolicySpec:
    """SPEC is `oracle`, `random`, `always:MODEL`, a config file, or a pipeline named in the base config."""
    s = spec.strip()
    if s in ("oracle", "random"):
        return PolicySpec(s, baseline=s)
    if s.startswith("always:"):
        model = s.split(":", 1)[1].strip()
        if not model:
            raise BadInputError("--pipeline always:MODEL needs a model, e.g. always:gpt-4-1106-preview")
        return PolicySpec(s, baseline="always", model=model)
    path = Path(s)
    if path.suffix == ".json" or path.exists():
        return PolicySpec(path.stem if path.stem else s, config=load_config(path))
    if s in base.pipelines:
        # One named pipeline serves every prompt: the registry's default becomes that pipeline.
        only = base.model_copy(update={"pipelines": {"default": base.pipelines[s]}})
        return PolicySpec(s, config=only)
    names = ", ".join(sorted(base.pipelines)) or "none"
    raise BadInputError(
        f"--pipeline {spec!r}: not a baseline (oracle, random, always:MODEL), not a .json config file, "
        f"and not a pipeline of the config (it has: {names})"
    )


def _preference(decision: RoutingDecision, strong: str, weak: str, log: FullInfoLog) -> float:
    """How much the router preferred the strong model to the weak one (score margin; 0 when unscored)."""
    scores = {log.model_index(c.model): c.score for c in decision.candidates if c.excluded is None}
    s, w = log.model_index(strong), log.model_index(weak)
    return float(scores.get(s, 0.0) - scores.get(w, 0.0))


def decide(
    registry: PipelineRegistry,
    log: FullInfoLog,
    *,
    label: str,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Route every prompt of the log; returns the chosen column per prompt and the strong-vs-weak preference."""
    choice = np.full(log.n, NO_OUTCOME, dtype=np.int64)
    two = len(log.models) == 2
    pref = np.zeros(log.n) if two else None
    if two:
        s, w = log.strong_weak()
        strong, weak = log.models[s], log.models[w]
    for start in range(0, log.n, BATCH):
        if cancel is not None and cancel.is_set():
            raise ReplayCancelled(f"replay of {label} cancelled at prompt {start} of {log.n}")
        for i in range(start, min(log.n, start + BATCH)):
            request = ChatRequest.from_prompt(log.prompts[i])
            # The same classify-then-reprofile step as the live session, so replayed decisions match live ones.
            pipeline, profile = registry.profile(request)
            decision = pipeline.router.route(request, profile)
            choice[i] = log.model_index(decision.model)
            if pref is not None:
                pref[i] = _preference(decision, strong, weak, log)
        if progress is not None:
            progress(label, min(log.n, start + BATCH), log.n)
    return choice, pref


def decide_fast(
    registry: PipelineRegistry,
    log: FullInfoLog,
    *,
    label: str,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> tuple[np.ndarray, np.ndarray | None, str]:
    """`decide`'s decisions, vectorised for the pipelines whose routers are stateless in replay (the rest prompt by
    prompt, in batches, cancellable); the third value names the path each pipeline took (for the notes)."""
    from workbench.replay.vectorised import BatchDecider

    decider = BatchDecider(registry)
    choice = np.full(log.n, NO_OUTCOME, dtype=np.int64)
    pref = np.zeros(log.n) if len(log.models) == 2 else None
    step = BATCH if not decider.fully_vectorised else max(BATCH, 262_144)
    for start in range(0, log.n, step):
        if cancel is not None and cancel.is_set():
            raise ReplayCancelled(f"replay of {label} cancelled at prompt {start} of {log.n}")
        stop = min(log.n, start + step)
        c, p = decider.decide(log.slice(start, stop))
        choice[start:stop] = c
        if pref is not None and p is not None:
            pref[start:stop] = p
        if progress is not None:
            progress(label, stop, log.n)
    return choice, pref, decider.paths()


def replay_fullinfo(
    log: FullInfoLog,
    specs: Sequence[PolicySpec],
    *,
    seed: int = 0,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> list[PolicyResult]:
    """Exact results for every spec on a full-information log, oracle and random beside them."""
    from workbench.replay.stream import replay_source, source_from_log

    return replay_source(source_from_log(log), specs, seed=seed, progress=progress, cancel=cancel)
