"""Whole-batch decisions for stateless routers: classify the prompt column at once, decide once per distinct key.

`decide` (engine.py) routes prompt by prompt through the real pipeline. In replay nothing feeds the fleet state
(no breaker trips, no latency or usage observed), so a static, strategy or tier router's decision is a pure
function of a few request facts: the pipeline, the task type, the prompt's token count (capabilities are always
none: replayed requests are built from the prompt alone) and, for the tier router, the complexity profile.
`BatchDecider` therefore

1. classifies the whole prompt column with `KeywordScan` (the keyword classifier's rule, exactly), and counts
   tokens with one string-length pass;
2. groups rows by that key and routes ONE representative request per distinct key through the real router
   (`registry.profile` + `router.route`, as `decide` does), then gathers the decision to every row of the key.

The decisions are the scalar path's by construction, provided the router consumed no randomness and kept no state:
a router whose generator moved while deciding (exploration, random tie-breaks, weighted shuffles) is restored and
routed prompt by prompt instead, as are routers of other kinds (learning, pattern, neural, round-robin).
`BatchDecider.paths()` names which path each pipeline took. Features are cached per (batch content, classifier
config), so a second replay of the same log with the same classifier config skips classification.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
from numpy.typing import NDArray

from workbench.config import RoutingConfig
from workbench.domain import ChatRequest, RoutingDecision
from workbench.pipeline.build import Pipeline, PipelineRegistry
from workbench.pipeline.classify import KeywordClassifier
from workbench.pipeline.complexity import ComplexityAnalyzer
from workbench.pipeline.route import StaticRouter
from workbench.pipeline.strategy_router import StrategyRouter
from workbench.pipeline.tier_router import TierRouter
from workbench.replay.columns import prompt_tokens, text_column
from workbench.replay.cue_features import CueColumns
from workbench.replay.fullinfo import NO_OUTCOME, FullInfoLog
from workbench.replay.keyword_scan import KeywordColumn, KeywordScan
from workbench.replay.profile_scan import ProfileScan, ProfileTable, group_rows

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]
# Strategies that keep no state between decisions (round-robin advances a rotation: not memoisable).
STATELESS_STRATEGIES = frozenset(
    {"cost-based", "usage-based", "latency-based", "least-busy", "simple-shuffle", "rate-limit-aware"}
)
CACHE_BYTES = 512 * 1024 * 1024  # cached per-row features kept across replays (~6 bytes a row)


@dataclass(frozen=True)
class BatchFeatures:
    """What classification says about each prompt of one batch."""

    task: NDArray[np.int16]  # code into `task_names`
    task_names: list[str]
    tokens_in: NDArray[np.int32]  # int32 keeps a cached 10M-row log's features at 60 MB
    scalar_rows: int  # rows the scalar classifier decided (non-ASCII text, ambiguous keyword overlaps)
    recorded: bool = False  # the cue counts came with the log (cue_features.py), not from scanning the text

    @property
    def nbytes(self) -> int:
        return int(self.task.nbytes + self.tokens_in.nbytes)


_cache: OrderedDict[tuple[str, str], BatchFeatures] = OrderedDict()
_cache_stats = {"hits": 0, "misses": 0, "recorded": 0}


def _content_digest(prompts: pl.Series) -> str:
    # The polars row hash is stable within a process, which is all an in-memory cache needs.
    h = prompts.hash(seed=0).to_numpy()
    return hashlib.blake2b(h.tobytes() + len(h).to_bytes(8, "little"), digest_size=16).hexdigest()


def classifier_fingerprint(registry: PipelineRegistry) -> str | None:
    """A hash of everything the registry's task-type rule reads, or None when it is not the keyword rule."""
    if not isinstance(registry.classifier, KeywordClassifier | ComplexityAnalyzer):
        return None
    r = registry.config.routing
    key = json.dumps({"keywords": r.keywords, "default": r.default_task_type}, sort_keys=True)
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def prompt_column(prompts: Sequence[str] | pl.Series) -> pl.Series:
    """Prompts as a polars string column (a batch read from Arrow already is one: no copy)."""
    held = getattr(prompts, "series", None)
    if isinstance(prompts, pl.Series):
        s = prompts
    elif isinstance(held, pl.Series):
        s = held
    else:
        s = pl.Series("prompt", list(prompts), dtype=pl.String)
    return text_column(s)


def batch_features(
    registry: PipelineRegistry, prompts: Sequence[str] | pl.Series, recorded: CueColumns | None = None,
) -> BatchFeatures | None:
    """Task type and token count per prompt, cached by (classifier config, batch content); None when the registry's
    classifier is not the keyword rule (then the caller classifies prompt by prompt). `recorded` are cue counts
    the log carries: used when they were recorded for this config's keyword groups, instead of scanning the text."""
    finger = classifier_fingerprint(registry)
    if finger is None:
        return None
    s = prompt_column(prompts)
    r = registry.config.routing
    found = recorded.select({f"task:{t}": w for t, w in r.keywords.items()}) if recorded is not None else None
    if found is not None:
        _cache_stats["recorded"] += 1
        return _features(_keyword_scan(finger, r).classify(s, found), s, recorded=True)
    key = (finger, _content_digest(s))
    hit = _cache.get(key)
    if hit is not None and hit.task.size == s.len():
        _cache.move_to_end(key)
        _cache_stats["hits"] += 1
        return hit
    _cache_stats["misses"] += 1
    features = _features(_keyword_scan(finger, r).classify(s), s)
    _cache[key] = features
    while sum(f.nbytes for f in _cache.values()) > CACHE_BYTES and len(_cache) > 1:
        _cache.popitem(last=False)
    return features


_scans: dict[str, KeywordScan] = {}


def _keyword_scan(fingerprint: str, routing: RoutingConfig) -> KeywordScan:
    """One scanner per classifier config (its patterns are built once, not per batch)."""
    scan = _scans.get(fingerprint)
    if scan is None:
        scan = _scans[fingerprint] = KeywordScan(routing.keywords, routing.default_task_type)
    return scan


def _features(col: KeywordColumn, s: pl.Series, *, recorded: bool = False) -> BatchFeatures:
    # request_tokens of a one-message request: len(prompt) // 4 + 1, plus the per-message overhead.
    tokens = prompt_tokens(s).astype(np.int32)
    return BatchFeatures(col.code, col.names, tokens, col.scalar_rows, recorded)


def cache_stats() -> dict[str, int]:
    return {**_cache_stats, "entries": len(_cache)}


def clear_cache() -> None:
    _cache.clear()
    _cache_stats.update(hits=0, misses=0, recorded=0)


# -- per-pipeline decision paths ------------------------------------------------------------------------------


def _memo_kind(pipeline: Pipeline) -> tuple[str | None, str]:
    """('static' | 'strategy' | 'tier', '') when the router's decisions can be memoised by key, else (None, why)."""
    router = pipeline.router
    name = getattr(router, "name", type(router).__name__)
    if type(router) is StaticRouter:
        return "static", ""
    if type(router) is StrategyRouter:
        if router.strategy.name in STATELESS_STRATEGIES:
            return "strategy", ""
        return None, f"router '{name}' keeps state between decisions"
    if type(router) is TierRouter:
        if all(s.name in STATELESS_STRATEGIES for s in router.strategies):
            return "tier", ""
        return None, f"tier strategy '{router.strategy_name}' keeps state between decisions"
    return None, f"router '{name}' learns or reads per-prompt state"


def _rng_state(pipeline: Pipeline) -> Any:
    rng = getattr(pipeline.router, "rng", None)
    return None if rng is None else rng.bit_generator.state


@dataclass
class _Entry:
    decision: RoutingDecision
    prefs: dict[tuple[str, ...], float]  # per log model list: the strong-vs-weak preference


class BatchDecider:
    """`decide`'s decisions for one registry over successive batches of a log (state carries across batches)."""

    def __init__(self, registry: PipelineRegistry) -> None:
        self.registry = registry
        self.pipelines = registry.all()
        self._index = {id(p): i for i, p in enumerate(self.pipelines)}
        self.kind: list[str | None] = []
        self.why: list[str] = []
        for p in self.pipelines:
            kind, why = _memo_kind(p)
            self.kind.append(kind)
            self.why.append(why)
        self._memo: list[dict[tuple[Any, ...], _Entry]] = [{} for _ in self.pipelines]
        self._profiles: ProfileScan | None = None  # whole-profile codes, when a tier router reads complexity
        self._table = ProfileTable()  # profile codes of the prompt-by-prompt classification
        self.keyword_rule = classifier_fingerprint(registry) is not None
        self.scalar_rows = 0  # classified by the scalar classifier (see BatchFeatures.scalar_rows)
        self.classified = 0  # rows classified (not served from the feature cache)
        self.recorded_rows = 0  # rows classified from cue counts recorded with the log
        self.rows = 0

    # -- reporting ------------------------------------------------------------------------------------------
    def paths(self) -> str:
        """Which path ran, per pipeline, for the result's notes."""
        vec = [p.pipeline_id for p, k in zip(self.pipelines, self.kind, strict=True) if k is not None]
        slow = [f"{p.pipeline_id} ({w})" for p, k, w in zip(self.pipelines, self.kind, self.why, strict=True)
                if k is None]
        parts = []
        if vec:
            how = "keyword rule over the whole prompt column" if self.keyword_rule else "prompt by prompt"
            if self.recorded_rows:
                how = (f"keyword rule over cue counts recorded with the log for {self.recorded_rows:,} of "
                       f"{self.rows:,} prompts")
            parts.append(f"decisions vectorised (one routed request per distinct key; classification {how}) for "
                         f"{', '.join(vec)}")
        if slow:
            parts.append(f"decided prompt by prompt for {', '.join(slow)}")
        return "; ".join(parts)

    @property
    def fully_vectorised(self) -> bool:
        return all(k is not None for k in self.kind)

    # -- one batch --------------------------------------------------------------------------------------------
    def decide(self, log: FullInfoLog, prompts: pl.Series | None = None) -> tuple[IntArray, FloatArray | None]:
        """Chosen column per prompt (NO_OUTCOME where the log lacks the model) and, on two-model logs, the
        strong-vs-weak preference."""
        n = log.n
        self.rows += n
        column = prompts if prompts is not None else prompt_column(log.prompts)
        pipe, codes, tokens = self._classify(column, log)
        choice = np.full(n, NO_OUTCOME, dtype=np.int64)
        two = len(log.models) == 2
        pref = np.zeros(n) if two else None
        for k, pipeline in enumerate(self.pipelines):
            rows = np.flatnonzero(pipe == k)
            if rows.size == 0:
                continue
            if self.kind[k] is None:
                self._scalar(pipeline, log, rows, choice, pref)
                continue
            if not self.memoised(k, log, column, rows, codes, tokens, choice, pref):
                self._scalar(pipeline, log, rows, choice, pref)
        return choice, pref

    def _classify(self, column: pl.Series, log: FullInfoLog) -> tuple[IntArray, IntArray, IntArray]:
        """(pipeline index, key code, prompt tokens) per row. The key code is the task type, or the whole profile
        when a tier router reads complexity."""
        if self.keyword_rule and "tier" in self.kind:
            if self._profiles is None:
                self._profiles = ProfileScan(self.registry)
            found = self._profiles.scan(column, log.cues)
            self.scalar_rows += found.scalar_rows
            self.recorded_rows += log.n if found.recorded else 0
            return found.pipeline, found.profile, found.tokens_in
        features = batch_features(self.registry, column, log.cues) if self.keyword_rule else None
        if features is not None:
            self.scalar_rows += features.scalar_rows
            self.recorded_rows += log.n if features.recorded else 0
            by_task = np.array([self._index[id(self.registry.for_task(t))] for t in features.task_names],
                               dtype=np.int64)
            return by_task[features.task], features.task.astype(np.int64), features.tokens_in.astype(np.int64)
        # Not the keyword rule: classify each distinct prompt with the registry's own classifier.
        self.scalar_rows += log.n
        pipe = np.empty(log.n, dtype=np.int64)
        code = np.empty(log.n, dtype=np.int64)
        seen: dict[str, tuple[int, int]] = {}
        for i, prompt in enumerate(log.prompts):
            got = seen.get(prompt)
            if got is None:
                pipeline, profile = self.registry.profile(ChatRequest.from_prompt(prompt))
                got = seen[prompt] = (self._index[id(pipeline)], self._table.code(profile))
            pipe[i], code[i] = got
        tokens = prompt_tokens(column)
        return pipe, code, tokens

    def memoised(
        self, k: int, log: FullInfoLog, column: pl.Series, rows: IntArray, codes: IntArray, tokens: IntArray,
        choice: IntArray, pref: FloatArray | None,
    ) -> bool:
        """Decide pipeline k's `rows` once per distinct (code, prompt tokens) into `choice` / `pref`; `codes` is a
        stable int code of the task type (static, strategy routers) or of the whole profile (tier routers).
        False, with the router's state restored, when the router turned out to draw at random."""
        pipeline = self.pipelines[k]
        if self.kind[k] is None:
            return False
        parts = [codes[rows], tokens[rows]]
        keys, first, inverse = group_rows(parts)
        memo = self._memo[k]
        before = _rng_state(pipeline)
        entries: list[_Entry] = []
        fresh = False
        for j, key in enumerate(keys):
            entry = memo.get(key)
            if entry is None:
                prompt = str(column[int(rows[first[j]])])
                request = ChatRequest.from_prompt(prompt)
                chosen, profile = self.registry.profile(request)
                if chosen is not pipeline:  # the key's task type disagrees with the scalar classifier: never memoise
                    raise AssertionError(f"keyword column put a prompt in {pipeline.pipeline_id}, the scalar "
                                         f"classifier in {chosen.pipeline_id}")
                entry = memo[key] = _Entry(pipeline.router.route(request, profile), {})
                fresh = True
            entries.append(entry)
        if fresh and _rng_state(pipeline) != before:
            # The router drew randomness: its decisions are not a function of the key. Undo and go row by row.
            rng = getattr(pipeline.router, "rng", None)
            if rng is not None:
                rng.bit_generator.state = before
            self.kind[k] = None
            self.why[k] = f"router '{pipeline.router.name}' draws at random in replay"
            memo.clear()
            return False
        cols = np.array([log.model_index(e.decision.model) for e in entries], dtype=np.int64)
        choice[rows] = cols[inverse]
        if pref is not None:
            s, w = log.strong_weak()
            models = tuple(log.models)
            values = []
            for e in entries:
                v = e.prefs.get(models)
                if v is None:
                    v = e.prefs[models] = _preference(e.decision, log.models[s], log.models[w], log)
                values.append(v)
            pref[rows] = np.array(values)[inverse]
        return True

    def _scalar(
        self, pipeline: Pipeline, log: FullInfoLog, rows: IntArray, choice: IntArray, pref: FloatArray | None
    ) -> None:
        """`decide`'s loop over `rows` (in order) for one pipeline's router."""
        if pref is not None:
            s, w = log.strong_weak()
            strong, weak = log.models[s], log.models[w]
        profile_of = self.registry.profile
        for i in rows.tolist():
            request = ChatRequest.from_prompt(log.prompts[i])
            chosen, profile = profile_of(request)
            decision = chosen.router.route(request, profile)
            choice[i] = log.model_index(decision.model)
            if pref is not None:
                pref[i] = _preference(decision, strong, weak, log)


def _preference(decision: RoutingDecision, strong: str, weak: str, log: FullInfoLog) -> float:
    from workbench.replay.engine import _preference as scalar_preference

    return scalar_preference(decision, strong, weak, log)


def decide_vectorised(registry: PipelineRegistry, log: FullInfoLog) -> tuple[IntArray, FloatArray | None, str]:
    """`decide`'s decisions over one whole log, vectorised where the routers allow; the note names the paths."""
    decider = BatchDecider(registry)
    choice, pref = decider.decide(log)
    return choice, pref, decider.paths()


__all__ = [
    "BatchDecider", "BatchFeatures", "batch_features", "cache_stats", "classifier_fingerprint", "clear_cache",
    "decide_vectorised", "prompt_column",
]
