"""Task profiles for a whole prompt column: what `registry.profile` gives each prompt, without a loop over prompts.

The complexity analyzer's numbers (complexity, the seven factors and the security signal, confidence) depend on
the prompt only through a handful of counts: the task type, the prompt's token estimate, how many tokens it has,
and how many distinct cue hits each cue group has. `CueScan` finds those counts for the whole column; the analyzer
itself then profiles ONE representative prompt per distinct combination, and every prompt with that combination
gets its profile. So the figures are the analyzer's own, by construction (explanations and factor notes, which
quote the prompt's words, are the representative's: replay reads only the numbers). Rows the byte rules cannot
settle (non-ASCII text, ambiguous overlaps) are profiled one by one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import polars as pl
from numpy.typing import NDArray

from workbench.domain import ChatRequest, TaskProfile
from workbench.pipeline.build import PipelineRegistry
from workbench.pipeline.classify import KeywordClassifier
from workbench.pipeline.complexity import ComplexityAnalyzer
from workbench.pipeline.features import REQUEST_DIM, request_features
from workbench.replay.columns import prompt_tokens, text_column
from workbench.replay.cue_features import CueColumns
from workbench.replay.keyword_scan import CueScan, KeywordScan

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]


@dataclass
class ProfileTable:
    """Distinct profiles seen so far (grows across batches), with each one's request features."""

    profiles: list[TaskProfile] = field(default_factory=list)
    _x: list[FloatArray] = field(default_factory=list)
    _codes: dict[tuple[object, ...], int] = field(default_factory=dict)

    def code(self, p: TaskProfile) -> int:
        key = (p.task_type, p.complexity, tuple(sorted(p.factors.items())), p.confidence, p.budget_class,
               p.required_capabilities)
        c = self._codes.get(key)
        if c is None:
            c = self._codes[key] = len(self.profiles)
            self.profiles.append(p)
            self._x.append(request_features(p))
        return c

    def features(self) -> FloatArray:
        return np.array(self._x) if self._x else np.zeros((0, REQUEST_DIM))


@dataclass(frozen=True)
class ColumnProfiles:
    pipeline: IntArray  # index into registry.all()
    profile: IntArray  # code into the scan's ProfileTable
    tokens_in: IntArray
    scalar_rows: int
    recorded: bool = False  # the cue counts came with the log (cue_features.py), not from scanning the text


class ProfileScan:
    """`registry.profile` over whole prompt columns, for registries whose classifiers are the keyword classifier
    and the complexity analyzer (the only two there are); state (the memo) carries across batches."""

    def __init__(self, registry: PipelineRegistry) -> None:
        if not isinstance(registry.classifier, KeywordClassifier | ComplexityAnalyzer):
            raise ValueError("ProfileScan needs the keyword classifier or the complexity analyzer")
        self.registry = registry
        r = registry.config.routing
        self.pipelines = registry.all()
        index = {id(p): i for i, p in enumerate(self.pipelines)}
        self.keywords = KeywordScan(r.keywords, r.default_task_type)
        self.by_task = np.array([index[id(registry.for_task(t))] for t in self.keywords.names], dtype=np.int64)
        self.table = ProfileTable()
        self._analyzers: dict[int, ComplexityAnalyzer] = {}
        for i, p in enumerate(self.pipelines):
            if isinstance(p.classifier, ComplexityAnalyzer):
                self._analyzers[i] = p.classifier
            elif not isinstance(p.classifier, KeywordClassifier):
                raise ValueError(f"pipeline {p.pipeline_id}: classifier {p.classifier.name} has no column form")
        self._tasks = len(r.keywords)
        cues = {f"task:{t}": w for t, w in r.keywords.items()}
        if self._analyzers:
            cfg = next(iter(self._analyzers.values())).config
            cues |= {f"cue:{g}": w for g, w in cfg.cues.items()}
        self.cues = CueScan(cues)
        self._groups = cues
        self._memo: dict[tuple[int, ...], int] = {}
        self._by_prompt: dict[str, tuple[int, int]] = {}

    def scan(self, prompts: pl.Series, recorded: CueColumns | None = None) -> ColumnProfiles:
        """Profiles of a prompt column; `recorded` are cue counts the log carries (used when they were recorded
        for exactly these cue groups, instead of scanning the text)."""
        s = text_column(prompts)
        n = s.len()
        cue_groups = range(self._tasks, len(self.cues.groups)) if self._analyzers else range(0)
        found = recorded.select(self._groups, list(cue_groups)) if recorded is not None else None
        used_recorded = found is not None
        if found is None:
            found = self.cues.scan(s, distinct=cue_groups, words=bool(self._analyzers))
        code, _ = self.keywords.pick(found.counts[:, : self._tasks])
        pipe = self.by_task[code]
        tokens = prompt_tokens(s)
        profile = np.empty(n, dtype=np.int64)
        settled = ~found.scalar
        for k in range(len(self.pipelines)):
            rows = np.flatnonzero(settled & (pipe == k))
            if rows.size == 0:
                continue
            if k in self._analyzers:
                assert found.distinct is not None and found.words is not None
                parts = [code[rows].astype(np.int64), tokens[rows], found.words[rows],
                         *(found.distinct[rows, j] for j in range(self._tasks, found.distinct.shape[1]))]
            else:  # the keyword classifier: task type and confidence (a function of the task-group counts)
                parts = [code[rows].astype(np.int64), *(found.counts[rows, j] for j in range(self._tasks))]
            keys, first, inverse = group_rows(parts)
            codes = []
            for key, j in zip(keys, first.tolist(), strict=True):
                c = self._memo.get((k, *key))
                if c is None:
                    _, prof = self.registry.profile(ChatRequest.from_prompt(str(s[int(rows[j])])))
                    c = self._memo[(k, *key)] = self.table.code(prof)
                codes.append(c)
            profile[rows] = np.array(codes, dtype=np.int64)[inverse]
        rest = np.flatnonzero(found.scalar)
        if rest.size:
            index = {id(p): i for i, p in enumerate(self.pipelines)}
            for i, prompt in zip(rest.tolist(), s.gather(rest).to_list(), strict=True):
                got = self._by_prompt.get(prompt)
                if got is None:
                    chosen, prof = self.registry.profile(ChatRequest.from_prompt(prompt))
                    got = self._by_prompt[prompt] = (index[id(chosen)], self.table.code(prof))
                pipe[i], profile[i] = got
        return ColumnProfiles(pipe, profile, tokens, int(rest.size), used_recorded)

def group_rows(parts: list[IntArray]) -> tuple[list[tuple[int, ...]], IntArray, IntArray]:
    """Distinct rows of the key columns (non-negative ints): (keys, first row of each, key index per row)."""
    combined = np.zeros(parts[0].size, dtype=np.int64)
    radix = 1
    for part in parts:
        width = int(part.max()) + 1 if part.size else 1
        radix *= width
        if radix >= 1 << 62:  # too wide to mix into one int64: sort the stacked columns instead
            uniq, first, inverse = np.unique(np.stack(parts, axis=1), axis=0, return_index=True, return_inverse=True)
            return ([tuple(int(v) for v in row) for row in uniq.tolist()], first.astype(np.int64),
                    inverse.reshape(-1).astype(np.int64))
        combined = combined * width + part  # mixed radix: distinct tuples, distinct ints
    top = int(combined.max()) + 1 if combined.size else 1
    if top <= 4 * combined.size + 1024:
        # Dense keys (the usual case: token counts and a few task types): counting beats sorting.
        first_at = np.full(top, combined.size, dtype=np.int64)
        # Assigned in reverse, the last write per key (what numpy keeps for repeated indices) is its first row.
        first_at[combined[::-1]] = np.arange(combined.size - 1, -1, -1, dtype=np.int64)
        present = np.flatnonzero(first_at < combined.size)
        slot = np.zeros(top, dtype=np.int64)
        slot[present] = np.arange(present.size)
        first, inverse = first_at[present], slot[combined]
    else:
        _, first, inverse = np.unique(combined, return_index=True, return_inverse=True)
    keys = [tuple(int(part[i]) for part in parts) for i in first.tolist()]
    return keys, first.astype(np.int64), inverse.reshape(-1).astype(np.int64)


__all__ = ["ColumnProfiles", "ProfileScan", "ProfileTable", "group_rows"]
