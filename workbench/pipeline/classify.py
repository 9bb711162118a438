"""Level-0 task classification: whole-word keyword matching with keyword lists from config.

One scan over the prompt's tokens finds every keyword group's hits (`CueMatcher`); the complexity analyzer
reuses the same matcher for its cue groups, so the task type it reports is the keyword classifier's.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from workbench.domain import ChatRequest, TaskProfile

_TOKEN = re.compile(r"[\w-]+")


def _odd_pattern(cue: str) -> str:
    stem = cue[:-1] if cue.endswith("*") else cue
    body = r"\s+".join(map(re.escape, stem.split())) + (r"[\w-]*" if cue.endswith("*") else "")
    return r"(?<![\w-])" + body + r"(?![\w-])"


EXACT, STEM, PHRASE, ODD = "exact", "stem", "phrase", "odd"


def cue_kind(raw: str) -> tuple[str, str] | None:
    """A cue normalised (lower case, single spaces) and how it matches: a whole word, a `stem*` of three or
    more letters, a phrase of words, or an odd cue (other characters, a shorter stem) left to a regex. None for
    an empty cue."""
    w = " ".join(raw.strip().lower().split())
    if not w or w == "*":
        return None
    parts = w.split()
    if not all(_TOKEN.fullmatch(p.rstrip("*")) for p in parts) or "*" in w[:-1]:
        return w, ODD
    if len(parts) > 1:
        return w, PHRASE
    if w.endswith("*"):
        # A stem under three letters is too short to key by its first three: the regex takes it.
        return (w, STEM) if len(w) >= 4 else (w, ODD)
    return w, EXACT


class CueMatcher:
    """Finds the cue words of several groups in one pass over the prompt's tokens.

    Words are dict lookups, `stem*` cues prefix checks keyed by their first three letters, phrases token
    sequences keyed by their first word; cues with other characters (`tl;dr`) fall back to a regex. Within a
    group, matches do not overlap and a phrase wins over a word starting at the same token, as a regex
    alternation sorted longest-first would do. One scan instead of a regex per group keeps classification
    inside the decision-time budget.
    """

    def __init__(self, groups: Mapping[str, Sequence[str]]) -> None:
        self.groups = list(groups)
        exact: dict[str, list[int]] = {}
        prefixes: dict[str, dict[str, list[int]]] = {}
        phrases: dict[tuple[str, ...], list[int]] = {}
        odd: dict[str, list[int]] = {}
        for gi, words in enumerate(groups.values()):
            for w, kind in filter(None, map(cue_kind, words)):
                if kind == ODD:
                    odd.setdefault(w, []).append(gi)
                elif kind == PHRASE:
                    phrases.setdefault(tuple(w.split()), []).append(gi)
                elif kind == STEM:
                    prefixes.setdefault(w[:3], {}).setdefault(w[:-1], []).append(gi)
                else:
                    exact.setdefault(w, []).append(gi)
        self._exact = {w: tuple(g) for w, g in exact.items()}
        self._prefixes = {k: [(stem, tuple(g)) for stem, g in v.items()] for k, v in prefixes.items()}
        heads: dict[str, list[tuple[tuple[str, ...], bool, tuple[int, ...]]]] = {}
        for parts_, gis in sorted(phrases.items(), key=lambda kv: len(" ".join(kv[0])), reverse=True):
            star = parts_[-1].endswith("*")
            body = (*parts_[:-1], parts_[-1].rstrip("*"))
            heads.setdefault(body[0], []).append((body, star, tuple(gis)))
        self._heads = heads
        # Most tokens match nothing: one set test per token (in a comprehension, so in C) finds the few that
        # may, and only those pay for the lookups below.
        self._keyed = frozenset(heads) | frozenset(self._exact)
        self._stems = frozenset(self._prefixes)
        # An odd cue's regex scans every position of the prompt; its first word, as a plain substring test,
        # rules most prompts out first. Only for ASCII words: there str.lower() and re.IGNORECASE agree.
        self._odd = [
            (w.split()[0].rstrip("*") if w.isascii() else "", re.compile(_odd_pattern(w), re.IGNORECASE), tuple(gis))
            for w, gis in odd.items()
        ]

    def scan(self, text: str) -> tuple[list[list[str]], int]:
        """Every hit per group in order of appearance (repeats included), and the number of tokens read."""
        found: list[list[str]] = [[] for _ in self.groups]
        free = [0] * len(self.groups)  # per group: the first token a new match may start at
        lowered = text.lower()
        tokens = _TOKEN.findall(lowered)
        exact, prefixes, heads = self._exact, self._prefixes, self._heads
        n = len(tokens)
        keyed, stems = self._keyed, self._stems
        for i in [i for i, tok in enumerate(tokens) if tok in keyed or tok[:3] in stems]:
            tok = tokens[i]
            phrases = heads.get(tok)
            if phrases:
                for body, star, gis in phrases:
                    end = i + len(body)
                    if end > n or tokens[i + 1 : end - 1] != list(body[1:-1]):
                        continue
                    last = tokens[end - 1]
                    if not (last.startswith(body[-1]) if star else last == body[-1]):
                        continue
                    for gi in gis:
                        if free[gi] <= i:
                            found[gi].append(" ".join(tokens[i:end]))
                            free[gi] = end
            gis_ = exact.get(tok)
            if gis_:
                for gi in gis_:
                    if free[gi] <= i:
                        found[gi].append(tok)
                        free[gi] = i + 1
            cands = prefixes.get(tok[:3])
            if cands:
                for stem, pgis in cands:
                    if tok.startswith(stem):
                        for gi in pgis:
                            if free[gi] <= i:
                                found[gi].append(tok)
                                free[gi] = i + 1
        for needle, pattern, gis in self._odd:
            if needle not in lowered:
                continue
            for hit in pattern.findall(text):
                for gi in gis:
                    found[gi].append(hit.lower())
        return found, n


def pick_task(tasks: Sequence[str], found: Sequence[list[str]], default: str) -> tuple[str, float, str]:
    """Most hits wins, ties to the type listed first: (task type, confidence, explanation)."""
    counts = list(map(len, found))
    best_hits = max(counts, default=0)
    if best_hits == 0:
        return default, 0.0, f"no keyword matched -> default type {default}"
    total = sum(counts)
    best_i = counts.index(best_hits)  # the first type with the most hits
    best = tasks[best_i]
    words = "', '".join(dict.fromkeys(found[best_i]))
    return best, round(best_hits / total, 4), f"keywords '{words}' -> {best}"


class KeywordClassifier:
    """Picks the task type whose keywords occur most often in the latest user message.

    Whole words and phrases only (a substring match would make "all" hit "install"); ties go to the type
    listed first in the config; no hit gives the configured default type.
    """

    name = "keyword"

    def __init__(self, keywords: Mapping[str, Sequence[str]], default_task_type: str = "triage") -> None:
        self.default_task_type = default_task_type
        self._matcher = CueMatcher(keywords)

    def task_type(self, request: ChatRequest) -> tuple[str, float, str]:
        """(task type, confidence, explanation) for the latest user message."""
        found, _ = self._matcher.scan(request.prompt)
        return pick_task(self._matcher.groups, found, self.default_task_type)

    def classify(self, request: ChatRequest) -> TaskProfile:
        task, confidence, explanation = self.task_type(request)
        return TaskProfile(
            task_type=task,
            budget_class=str(request.metadata.get("budget_class", "standard")),
            urgency=str(request.metadata.get("urgency", "normal")),
            required_capabilities=("tools",) if request.tools else (),
            confidence=confidence,
            explanation=explanation,
        )
