"""Learning curves in mini-batches: delayed-feedback replay of sona pipelines on full-information logs.

`curves.curve_fullinfo` replays event by event: route with the learner's current weights, look the outcome up,
feed it back, next event. That is exact and slow in Python (~1k events/s for sona). Here the log is cut into
blocks of B events: every event of a block is decided with the learners' state as of the block start (one
matrix product per pipeline, the epsilon-greedy draws taken from the router's own generator in the very order
the sequential path draws them), then each learner takes the block's outcomes in one vectorised step
(`SonaLearner.learn_batch`). This is the batched-bandit setting (feedback arrives B events late). With B = 1 it
is the sequential replay exactly; larger B changes the curve a little (tests bound how much on the drift log).

Pipelines whose routers do not learn are decided by `BatchDecider` (one routed request per distinct key), which
is exact here too because nothing they read changes with feedback. Everything else (pattern and neural routers,
bandits, strategies that read latency or usage, exploration by softmax, rate limits) is refused with the reason,
and the caller replays that spec sequentially. The ReasoningBank is left out: with no pattern router to read its
patterns it changes no decision (its clustering draws from its own stream).
"""

from __future__ import annotations

import functools
import threading
from itertools import accumulate

import numpy as np
from numpy.typing import NDArray

from workbench.learning.sona import SonaLearner, SonaPolicy
from workbench.pipeline.build import Pipeline, PipelineRegistry, build_pipeline
from workbench.pipeline.learned_router import LearnedRouter
from workbench.replay.curves import Curve
from workbench.replay.engine import OfflineTransport, PolicySpec, Progress, ReplayCancelled
from workbench.replay.fullinfo import NO_OUTCOME, FullInfoLog
from workbench.replay.profile_scan import ProfileScan
from workbench.replay.stream import FullInfoSource, source_from_log
from workbench.replay.vectorised import BatchDecider, prompt_column

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]
DEFAULT_BLOCK = 1024  # events per block: >= 100k events/s, within the stated drift-log tolerance (tests)
FAILED_LATENCY_MS = 5.0  # the sequential replay's rule: a logged latency this low (or none) is a failed call


def batchable(registry: PipelineRegistry) -> str | None:
    """None when every pipeline can be replayed in blocks; else why not (the caller goes event by event)."""
    if any(d.rpm is not None or d.tpm is not None for d in registry.config.routing.deployments.values()):
        return "rate limits are configured (usage feeds back into every decision)"
    decider = BatchDecider(registry)
    for k, p in enumerate(registry.all()):
        if _sona(p) is not None:
            router = p.router
            assert isinstance(router, LearnedRouter)
            mode = router.kit.explorer.settings.mode
            if mode == "softmax":
                return f"pipeline {p.pipeline_id}: softmax exploration"
            if router.kit.estimator.settings.action not in ("escalate", "record"):
                return f"pipeline {p.pipeline_id}: uncertainty action '{router.kit.estimator.settings.action}'"
            continue
        if decider.kind[k] is None:
            return f"pipeline {p.pipeline_id}: {decider.why[k]}"
        strategies = [getattr(p.router, "strategy", None), *getattr(p.router, "strategies", [])]
        names = {s.name for s in strategies if s is not None}
        if names - {"cost-based"}:
            return f"pipeline {p.pipeline_id}: strategy {', '.join(sorted(names))} reads state that feedback changes"
    return None


def _sona(p: Pipeline) -> SonaLearner | None:
    router = p.router
    if isinstance(router, LearnedRouter) and isinstance(router.policy, SonaPolicy):
        learner = router.policy.learner
        if p.learner is learner:
            return learner
    return None


def _epsilon_picks(
    best: IntArray, admissible: BoolArray, epsilon: float, rng: np.random.Generator
) -> IntArray:
    """The explorer's epsilon-greedy picks for a block of decisions, drawing from `rng` exactly what the
    sequential path draws: one uniform per decision for the epsilon test and, when it explores, one more for the
    uniform pick among the admissible (none when only one is admissible)."""
    k, n = admissible.shape
    out = best.copy()
    if epsilon <= 0.0 or k == 0:
        return out
    counts = admissible.sum(axis=1)
    if not (counts > 1).all():
        return _epsilon_loop(best, admissible, epsilon, rng)
    # Every decision takes one uniform, and one more when it explores. Stream position j is an epsilon test
    # unless the position before it was a test that explored: a run of L explores before j leaves j a test iff
    # L is even. Values are drawn only as surely needed, so the generator ends where the sequential path's does.
    values: FloatArray = np.asarray(rng.random(size=k), dtype=np.float64)
    while True:
        low = values < epsilon
        pos = np.arange(values.size)
        last_high = np.maximum.accumulate(np.where(~low, pos, -1))
        run = np.zeros(values.size, dtype=np.int64)
        run[1:] = pos[:-1] - last_high[:-1]  # explores in a row just before each position
        tests = np.flatnonzero(run % 2 == 0)
        pending = bool(tests.size) and tests[-1] == values.size - 1 and bool(low[-1])  # second draw not drawn yet
        if tests.size == k and not pending:
            break
        values = np.concatenate([values, np.asarray(rng.random(size=(k - tests.size) + int(pending)))])
    explored = np.flatnonzero(low[tests])
    if explored.size == 0:
        return out
    patterns = admissible[:1] if admissible.all() else np.unique(admissible[explored], axis=0)
    for pattern in patterns:
        sel = explored if patterns.shape[0] == 1 else explored[(admissible[explored] == pattern).all(axis=1)]
        probs = pattern / pattern.sum()
        cum = np.array(list(accumulate(probs.tolist())))
        total = float(np.add.reduce(probs))
        out[sel] = np.minimum(np.searchsorted(cum, values[tests[sel] + 1] * total, side="right"), n - 1)
    return out


def _epsilon_loop(best: IntArray, admissible: BoolArray, epsilon: float, rng: np.random.Generator) -> IntArray:
    """`_epsilon_picks` one decision at a time (rows with one admissible candidate, or none, draw less)."""
    from workbench.pipeline.exploration import draw

    out = best.copy()
    for i in range(best.size):
        adm = admissible[i]
        if not adm.any():
            continue  # every candidate excluded: the router sends to the best anyway, drawing nothing
        if rng.random() < epsilon:
            out[i] = draw(adm / adm.sum(), rng)
    return out


def curve_batched(
    log: FullInfoLog | FullInfoSource, spec: PolicySpec, *, block: int = DEFAULT_BLOCK, seed: int = 0,
    progress: Progress | None = None, cancel: threading.Event | None = None,
) -> Curve | None:
    """The learning curve of `spec` replayed in blocks of `block` events; None when the registry cannot be
    replayed in blocks (see `batchable`)."""
    if spec.config is None:
        return None
    if block < 1:
        raise ValueError("block must be at least 1")
    clock = [0.0]
    registry = build_pipeline(spec.config, transport=OfflineTransport(), seed=seed, clock=lambda: clock[0])
    if batchable(registry) is not None:
        return None
    source = log if isinstance(log, FullInfoSource) else source_from_log(log)
    pipelines = registry.all()
    learners = [_sona(p) for p in pipelines]
    decider = BatchDecider(registry)
    scan = ProfileScan(registry)
    to_learner: dict[int, IntArray] = {}
    positions: list[IntArray] = []
    rewards: list[FloatArray] = []
    oracles: list[FloatArray] = []
    done = 0
    for part in source.batches():
        # Classify the whole batch at once; blocks then slice it.
        column_all = prompt_column(part.prompts)
        found = scan.scan(column_all)
        x_table = scan.table.features()
        for start in range(0, part.n, block):
            if cancel is not None and cancel.is_set():
                raise ReplayCancelled(f"learning-curve replay of {spec.label} cancelled at prompt {done}")
            stop = min(part.n, start + block)
            batch = part.slice(start, stop)
            column = column_all.slice(start, stop - start)
            pipe, codes, tokens = found.pipeline[start:stop], found.profile[start:stop], found.tokens_in[start:stop]
            xs = x_table[codes]
            choice = np.full(batch.n, NO_OUTCOME, dtype=np.int64)
            for k, pipeline in enumerate(pipelines):
                rows = np.flatnonzero(pipe == k)
                if rows.size == 0:
                    continue
                learner = learners[k]
                if learner is None:
                    if not decider.memoised(k, batch, column, rows, codes, tokens, choice, None):
                        raise AssertionError(f"pipeline {pipeline.pipeline_id} stopped being memoisable mid-replay")
                    continue
                choice[rows] = _sona_choices(pipeline, learner, batch, xs[rows], tokens[rows])
            reward = np.full(batch.n, np.nan)
            r_idx = np.flatnonzero(choice != NO_OUTCOME)
            reward[r_idx] = batch.quality[r_idx, choice[r_idx]]
            lat = batch.latency[r_idx, choice[r_idx]]
            served = np.zeros(batch.n, dtype=bool)
            served[r_idx] = np.isfinite(lat) & (lat > FAILED_LATENCY_MS)
            clock[0] += 2.0 * r_idx.size
            for k, learner in enumerate(learners):
                if learner is None:
                    continue
                rows = np.flatnonzero((pipe == k) & served)
                if rows.size == 0:
                    continue
                router = pipelines[k].router
                assert isinstance(router, LearnedRouter)
                if k not in to_learner:  # every batch of a source shares its model list
                    to_learner[k] = _learner_rows(router, learner, batch)
                lrows = to_learner[k][choice[rows]]
                keep = lrows >= 0
                learner.learn_batch(lrows[keep], xs[rows][keep], reward[rows][keep])
            keep = np.isfinite(reward)
            positions.append(np.flatnonzero(keep) + done)
            rewards.append(reward[keep])
            oracles.append(np.nanmax(batch.quality, axis=1)[keep])
            done += batch.n
        if progress is not None:
            progress(spec.label, done, source.n or done)
    return Curve(spec.label, "exact", _cat(positions, np.int64), _cat(rewards, np.float64), _cat(oracles, np.float64),
                 done, block=block)


def _cat(parts: list[np.ndarray], dtype: type) -> np.ndarray:
    return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype=dtype)


@functools.lru_cache(maxsize=256)
def _columns(pool_models: tuple[str, ...], log_models: tuple[str, ...]) -> IntArray:
    """The log column of each pool model (NO_OUTCOME where the log has none), looked up once per pair of lists."""
    probe = FullInfoLog("columns", [], [], list(log_models), np.zeros((0, len(log_models))),
                        np.zeros((0, len(log_models))), np.zeros((0, len(log_models))))
    return np.array([probe.model_index(m) for m in pool_models], dtype=np.int64)


def _learner_rows(router: LearnedRouter, learner: SonaLearner, log: FullInfoLog) -> IntArray:
    """Log column -> the learner's row for the model in it (-1 where the learner has none)."""
    out = np.full(len(log.models) + 1, -1, dtype=np.int64)  # the extra slot takes NO_OUTCOME (-1)
    for m in router.pool.models:
        j = log.model_index(m)
        if j != NO_OUTCOME and m in learner.position:
            out[j] = learner.position[m]
    return out


def _sona_choices(
    pipeline: Pipeline, learner: SonaLearner, log: FullInfoLog, xs: FloatArray, tokens: IntArray
) -> IntArray:
    """Log column chosen for each row: the sona router's decisions from the learner's current state."""
    router = pipeline.router
    assert isinstance(router, LearnedRouter)
    pool = router.pool
    scores = learner.lin.batch_scores(xs) + learner.baseline
    # The screen's context-window filter (replayed requests carry no tools; nothing trips a breaker here).
    admissible: BoolArray = np.asarray(~(pool.window[None, :] < tokens[:, None]), dtype=bool)
    none: BoolArray = np.asarray(~admissible.any(axis=1), dtype=bool)
    mask = np.where(none[:, None], True, admissible)
    best = np.argmax(np.where(mask, scores, -np.inf), axis=1).astype(np.int64)
    settings = router.kit.explorer.settings
    epsilon = settings.epsilon if settings.mode == "epsilon-greedy" else 0.0
    if none.any():
        picks = _epsilon_loop(best, admissible, epsilon, router.rng)
    else:
        picks = _epsilon_picks(best, admissible, epsilon, router.rng)
    out: IntArray = _columns(tuple(pool.models), tuple(log.models))[picks]
    return out


__all__ = ["DEFAULT_BLOCK", "batchable", "curve_batched"]

