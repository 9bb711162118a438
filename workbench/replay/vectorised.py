"""Whole-log decisions for stateless routers: per-prompt features cached once per log, then numpy.

`decide` (engine.py) routes prompt by prompt through the real pipeline. For a registry whose every pipeline
uses a router whose decision is a pure function of (required capabilities, prompt tokens) -- today the
`static` router -- the same decisions come from a few array operations over features computed once per
(log, config) and cached in memory. Anything else returns None and the caller falls back to `decide`.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from workbench.domain import ChatRequest
from workbench.pipeline.build import PipelineRegistry
from workbench.pipeline.context import request_tokens
from workbench.pipeline.route import StaticRouter
from workbench.replay.fullinfo import NO_OUTCOME, FullInfoLog

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]
CACHE_SIZE = 16  # (log, config) feature sets kept; a tuning sweep reuses a few at a time


@dataclass(frozen=True)
class PromptFeatures:
    """What the classifiers said about each prompt of one log, computed once."""

    pipeline: IntArray  # index into registry.all()
    task_type: list[str]
    complexity: FloatArray
    capabilities: IntArray  # index into `capability_sets`
    capability_sets: list[tuple[str, ...]]
    tokens_in: IntArray


_cache: OrderedDict[tuple[str, int, str, str], PromptFeatures] = OrderedDict()


def _log_digest(log: FullInfoLog) -> str:
    h = hashlib.sha256()
    for p in log.prompts:
        h.update(p.encode())
        h.update(b"\0")
    return h.hexdigest()[:16]


def prompt_features(registry: PipelineRegistry, log: FullInfoLog) -> PromptFeatures:
    """The registry's classification of every prompt, cached by (log name, size, prompt digest, config hash).

    The whole config hash is the key (not just the classifier sections) so a cached profile can never be
    stale; configs that differ only in their routers therefore classify again.
    """
    key = (log.name, log.n, _log_digest(log), registry.config_hash)
    hit = _cache.get(key)
    if hit is not None:
        _cache.move_to_end(key)
        return hit
    pipelines = registry.all()
    index = {id(p): i for i, p in enumerate(pipelines)}
    sets: dict[tuple[str, ...], int] = {}
    pipe = np.empty(log.n, dtype=np.int64)
    caps = np.empty(log.n, dtype=np.int64)
    tokens = np.empty(log.n, dtype=np.int64)
    complexity = np.empty(log.n)
    tasks: list[str] = []
    for i, prompt in enumerate(log.prompts):
        request = ChatRequest.from_prompt(prompt)
        pipeline, profile = registry.profile(request)
        pipe[i] = index[id(pipeline)]
        caps[i] = sets.setdefault(tuple(profile.required_capabilities), len(sets))
        tokens[i] = request_tokens(request.messages)
        complexity[i] = profile.complexity
        tasks.append(profile.task_type)
    features = PromptFeatures(pipe, tasks, complexity, caps, list(sets), tokens)
    _cache[key] = features
    while len(_cache) > CACHE_SIZE:
        _cache.popitem(last=False)
    return features


def vectorisable(registry: PipelineRegistry) -> str | None:
    """None when every pipeline's router can be decided over whole arrays, else why not."""
    for p in registry.all():
        if type(p.router) is not StaticRouter:
            return f"router '{getattr(p.router, 'name', type(p.router).__name__)}' of pipeline {p.pipeline_id}"
    return None


def _static(
    router: StaticRouter, features: PromptFeatures, rows: IntArray
) -> tuple[IntArray, FloatArray, NDArray[np.bool_]]:
    """StaticRouter over `rows`: the first preferred model passing the capability and window filters, else #1.

    Returns the chosen index into router.models and each model's score and whether it was admitted (what
    `_preference` reads off the candidates)."""
    m = len(router.models)
    prices = [router.prices.get(model) for model in router.models]
    window = np.array([p.context_window if p is not None else np.iinfo(np.int64).max for p in prices])
    # Missing capability per (capability set, model): a small table, gathered per prompt.
    missing = np.array(
        [[p is not None and any(c not in p.capabilities for c in cs) for p in prices]
         for cs in features.capability_sets],
        dtype=bool,
    ).reshape(len(features.capability_sets), m)
    excluded = missing[features.capabilities[rows]] | (features.tokens_in[rows, None] > window[None, :])
    ok = ~excluded
    chosen = np.where(ok.any(axis=1), ok.argmax(axis=1), 0).astype(np.int64)
    scores = np.round(1.0 - np.arange(m) / m, 4)
    return chosen, np.broadcast_to(scores, ok.shape), ok


def _column_score(column: IntArray, scores: FloatArray, admitted: NDArray[np.bool_], c: int) -> FloatArray:
    """The score of log column `c` per prompt, as `_preference` reads it: a dict by column built from the admitted
    candidates, so the last admitted candidate mapped to the column wins and none at all scores 0."""
    out = np.zeros(scores.shape[0])
    for j in np.nonzero(column == c)[0]:
        out = np.where(admitted[:, j], scores[:, j], out)
    return out


def decide_vectorised(registry: PipelineRegistry, log: FullInfoLog) -> tuple[IntArray, FloatArray | None] | None:
    """The decisions `decide` makes, over the whole log at once; None when a router is not vectorisable."""
    if vectorisable(registry) is not None:
        return None
    features = prompt_features(registry, log)
    choice = np.full(log.n, NO_OUTCOME, dtype=np.int64)
    two = len(log.models) == 2
    pref = np.zeros(log.n) if two else None
    if two:
        s, w = log.strong_weak()
    for k, pipeline in enumerate(registry.all()):
        rows = np.nonzero(features.pipeline == k)[0]
        if rows.size == 0:
            continue
        router = pipeline.router
        assert isinstance(router, StaticRouter)
        chosen, scores, admitted = _static(router, features, rows)
        column = np.array([log.model_index(m) for m in router.models], dtype=np.int64)
        choice[rows] = column[chosen]
        if pref is not None:
            # The score of the model mapped to each log column (0 when excluded or not a candidate).
            pref[rows] = _column_score(column, scores, admitted, s) - _column_score(column, scores, admitted, w)
    return choice, pref


__all__ = ["PromptFeatures", "decide_vectorised", "prompt_features", "vectorisable"]
