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
import polars as pl
from numpy.typing import NDArray

from workbench.learning.blas import single_threaded_blas
from workbench.learning.sona import SonaLearner, SonaPolicy
from workbench.pipeline.build import Pipeline, PipelineRegistry, build_pipeline
from workbench.pipeline.learned_router import LearnedRouter
from workbench.replay.curves import Curve
from workbench.replay.engine import OfflineTransport, PolicySpec, Progress, ReplayCancelled
from workbench.replay.fullinfo import NO_OUTCOME, FullInfoLog
from workbench.replay.profile_scan import ColumnProfiles, ProfileScan
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
    if epsilon <= 0.0 or k == 0:
        return best.copy()
    if n > 1 and admissible.all():
        return _explore(best, None, n, epsilon, rng)
    if not (admissible.sum(axis=1) > 1).all():
        return _epsilon_loop(best, admissible, epsilon, rng)
    return _explore(best, admissible, n, epsilon, rng)


def _explore(
    best: IntArray, admissible: BoolArray | None, n: int, epsilon: float, rng: np.random.Generator
) -> IntArray:
    """`_epsilon_picks` where every decision has at least two of its n candidates admissible (`admissible` None:
    all n, for every decision).

    Every decision takes one uniform, and one more when it explores: stream position j is an epsilon test unless it
    is the pick of the test just before it. Only the few values below epsilon can start an exploration, so those
    are walked in Python; values are drawn only as surely needed, so the generator ends where the sequential
    path's does."""
    k = best.size
    out = best.copy()
    chunk: FloatArray = rng.random(size=k)
    chunks = [chunk]
    drawn, offset, pick = k, 0, -1
    explored: list[int] = []  # decision index of each exploration, in order
    while True:
        for j in np.flatnonzero(chunk < epsilon).tolist():
            j += offset
            if j == pick:
                continue  # the pick of the exploration before it: its value is not a test
            explored.append(j - len(explored))  # the tests before j: j minus the picks before it
            pick = j + 1
        need = k + len(explored)  # every test has been read once the stream holds k tests and their picks
        if need == drawn:
            break
        chunk = rng.random(size=need - drawn)
        chunks.append(chunk)
        offset, drawn = drawn, need
    if not explored:
        return out
    values = chunks[0] if len(chunks) == 1 else np.concatenate(chunks)
    sel = np.array(explored, dtype=np.int64)
    u = values[sel + np.arange(1, sel.size + 1)]  # exploration i's pick sits after its test, at decision + i + 1
    if admissible is None:
        cum, total = _cumulative(_every(n))
        out[sel] = np.minimum(np.searchsorted(cum, u * total, side="right"), n - 1)
        return out
    patterns = np.unique(admissible[sel], axis=0)
    for pattern in patterns:
        mine = slice(None) if patterns.shape[0] == 1 else (admissible[sel] == pattern).all(axis=1)
        cum, total = _cumulative(pattern)
        out[sel[mine]] = np.minimum(np.searchsorted(cum, u[mine] * total, side="right"), pattern.size - 1)
    return out


def _cumulative(pattern: BoolArray) -> tuple[FloatArray, float]:
    """The uniform draw over an admissible pattern as `exploration.draw` makes it: (running sum, total)."""
    key = pattern.tobytes()
    got = _cumulatives.get(key)
    if got is None:
        probs = pattern / pattern.sum()
        got = _cumulatives[key] = (np.array(list(accumulate(probs.tolist()))), float(np.add.reduce(probs)))
    return got


@functools.lru_cache(maxsize=64)
def _every(n: int) -> BoolArray:
    """The pattern with all n candidates admissible (kept: asked for once per block)."""
    return np.ones(n, dtype=bool)


_cumulatives: dict[bytes, tuple[FloatArray, float]] = {}  # one entry per admissible pattern seen (a few)


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
    lanes = {k: _Lane(k, pipelines[k], learner) for k, learner in enumerate(learners) if learner is not None}
    others = [k for k, learner in enumerate(learners) if learner is None]
    positions: list[IntArray] = []
    rewards: list[FloatArray] = []
    oracles: list[FloatArray] = []
    done = 0
    for part in source.batches():
        # Classify the whole batch at once; blocks then slice it.
        column_all = prompt_column(part.prompts)
        found = scan.scan(column_all, part.cues)
        x_table = scan.table.features()
        starts = list(range(0, part.n, block))
        for lane in lanes.values():
            lane.load(part, found, x_table, starts)
        reward = np.full(part.n, np.nan)
        with single_threaded_blas():  # one limit around every consolidation of the part, not one each
            for j, start in enumerate(starts):
                if cancel is not None and cancel.is_set():
                    raise ReplayCancelled(f"learning-curve replay of {spec.label} cancelled at prompt {done + start}")
                stop = min(part.n, start + block)
                decided = _memoised(decider, pipelines, others, part, column_all, found, start, stop, reward)
                for lane in lanes.values():
                    decided += lane.decide(j, reward)
                clock[0] += 2.0 * decided
                for lane in lanes.values():
                    lane.learn()
        if part.n:
            keep = np.isfinite(reward)
            positions.append(np.flatnonzero(keep) + done)
            rewards.append(reward[keep])
            oracles.append(_best_of_row(part.quality)[keep])
        done += part.n
        if progress is not None:
            progress(spec.label, done, source.n or done)
    return Curve(spec.label, "exact", _cat(positions, np.int64), _cat(rewards, np.float64), _cat(oracles, np.float64),
                 done, block=block)


def _memoised(
    decider: BatchDecider, pipelines: list[Pipeline], others: list[int], part: FullInfoLog, column_all: pl.Series,
    found: ColumnProfiles, start: int, stop: int, reward: FloatArray,
) -> int:
    """Rows [start, stop) of the non-learning pipelines `others`, decided once per distinct key: their rewards go
    into `reward`; returns how many rows had an outcome."""
    if not others:
        return 0
    batch = part.slice(start, stop)
    column = column_all.slice(start, stop - start)
    pipe, codes, tokens = found.pipeline[start:stop], found.profile[start:stop], found.tokens_in[start:stop]
    choice = np.full(batch.n, NO_OUTCOME, dtype=np.int64)
    for k in others:
        rows = np.flatnonzero(pipe == k)
        if rows.size and not decider.memoised(k, batch, column, rows, codes, tokens, choice, None):
            raise AssertionError(f"pipeline {pipelines[k].pipeline_id} stopped being memoisable mid-replay")
    r_idx = np.flatnonzero(choice != NO_OUTCOME)
    reward[start + r_idx] = batch.quality[r_idx, choice[r_idx]]
    return int(r_idx.size)


class _Lane:
    """One sona pipeline in a replay: its rows of each batch (features, admissible candidates) gathered once,
    then per block its decisions from the learner's state at the block start, and the block's feedback."""

    def __init__(self, k: int, pipeline: Pipeline, learner: SonaLearner) -> None:
        router = pipeline.router
        assert isinstance(router, LearnedRouter)
        self.k, self.router, self.learner = k, router, learner
        settings = router.kit.explorer.settings
        self.epsilon = settings.epsilon if settings.mode == "epsilon-greedy" else 0.0
        self.learner_rows: IntArray | None = None
        self.pending: tuple[IntArray, FloatArray, FloatArray, BoolArray] | None = None

    def load(self, part: FullInfoLog, found: ColumnProfiles, x_table: FloatArray, starts: list[int]) -> None:
        """Take this pipeline's rows of `part`, and where each block's share of them begins and ends."""
        pool = self.router.pool
        self.rows = np.flatnonzero(found.pipeline == self.k)
        self.cuts: list[int] = np.searchsorted(self.rows, [*starts, part.n]).tolist()
        self.xs = x_table[found.profile[self.rows]]
        # The screen's context-window filter (replayed requests carry no tools; nothing trips a breaker here).
        tokens = found.tokens_in[self.rows]
        self.admissible: BoolArray = np.asarray(~(pool.window[None, :] < tokens[:, None]), dtype=bool)
        self.every = pool.n > 1 and bool(self.admissible.all())
        self.quality, self.latency = part.quality, part.latency
        self.columns = _columns(tuple(pool.models), tuple(part.models))  # pick -> log column
        self.complete = bool((self.columns != NO_OUTCOME).all())
        if self.learner_rows is None:  # every batch of a source shares its model list
            self.learner_rows = _learner_rows(self.router, self.learner, part)
        self.pick_rows = self.learner_rows[self.columns]  # pick -> the learner's row (-1: none)

    def decide(self, j: int, reward: FloatArray) -> int:
        """Decide block j's rows from the learner's current state; their rewards go into `reward` (rows of the
        batch). Returns how many had an outcome; what the learner takes is kept for `learn`."""
        lo, hi = self.cuts[j], self.cuts[j + 1]
        self.pending = None
        if lo == hi:
            return 0
        rows, xs = self.rows[lo:hi], self.xs[lo:hi]
        picks = self._picks(xs, None if self.every else self.admissible[lo:hi])
        columns = self.columns[picks]
        if self.complete:
            got = self.quality[rows, columns]
            latency = self.latency[rows, columns]
            reward[rows] = got
            decided = hi - lo
        else:  # a pool model the log never evaluated: no outcome, nothing learned
            has = columns != NO_OUTCOME
            got = np.full(hi - lo, np.nan)
            latency = np.full(hi - lo, np.nan)
            got[has] = self.quality[rows[has], columns[has]]
            latency[has] = self.latency[rows[has], columns[has]]
            reward[rows[has]] = got[has]
            decided = int(np.count_nonzero(has))
        learner_rows = self.pick_rows[picks]
        learnt = np.isfinite(latency) & (latency > FAILED_LATENCY_MS) & (learner_rows >= 0)
        self.pending = (learner_rows, xs, got, learnt)
        return decided

    def learn(self) -> None:
        """Feed the decided block's served outcomes to the learner, in order."""
        if self.pending is None:
            return
        learner_rows, xs, got, learnt = self.pending
        self.pending = None
        if learnt.all():
            self.learner.learn_batch(learner_rows, xs, got)
        elif learnt.any():
            self.learner.learn_batch(learner_rows[learnt], xs[learnt], got[learnt])

    def _picks(self, xs: FloatArray, admissible: BoolArray | None) -> IntArray:
        """Pool position chosen for each row (`admissible` None: every candidate is, for every row)."""
        rng = self.router.rng
        scores = self.learner.lin.batch_scores(xs) + self.learner.baseline
        if admissible is None:
            best: IntArray = scores.argmax(axis=1)
            return _explore(best, None, scores.shape[1], self.epsilon, rng) if self.epsilon > 0.0 else best
        none: BoolArray = np.asarray(~admissible.any(axis=1), dtype=bool)
        mask = np.where(none[:, None], True, admissible)
        best = np.argmax(np.where(mask, scores, -np.inf), axis=1).astype(np.int64)
        if none.any():
            return _epsilon_loop(best, admissible, self.epsilon, rng)
        return _epsilon_picks(best, admissible, self.epsilon, rng)


def _best_of_row(quality: FloatArray) -> FloatArray:
    """np.nanmax(quality, axis=1) (fmax over each row, left to right), taken column against column: the same values,
    ~5x faster than reducing along the short model axis, and no warning for rows no model has an outcome for."""
    out: FloatArray = functools.reduce(np.fmax, [quality[:, j] for j in range(quality.shape[1])],
                                       np.full(quality.shape[0], np.nan))
    return out


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


__all__ = ["DEFAULT_BLOCK", "batchable", "curve_batched"]

