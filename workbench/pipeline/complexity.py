"""Level-1 classification: the seven-factor ComplexityAnalyzer (task type via the keyword classifier).

Each factor is in [0, 1] and says what moved it (`TaskProfile.factor_notes`). The score is
0.5 x weighted mean + 0.5 x mean of the two largest factors, so one strong signal is not averaged away.
A `security` signal rides along in `factors` for hard tier rules; it is not part of the score.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from itertools import repeat
from operator import mul

from workbench.domain import ChatRequest, TaskProfile
from workbench.pipeline.context import request_tokens
from workbench.pipeline.route import DEFAULT_OUTPUT_TOKENS, EXPECTED_OUTPUT_TOKENS
from workbench.routing_config import FACTORS, ComplexityConfig

_WORD = re.compile(r"[\w'-]+")


_TOKEN = re.compile(r"[\w-]+")


def _odd_pattern(cue: str) -> str:
    stem = cue[:-1] if cue.endswith("*") else cue
    body = r"\s+".join(map(re.escape, stem.split())) + (r"[\w-]*" if cue.endswith("*") else "")
    return r"(?<![\w-])" + body + r"(?![\w-])"


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
            for raw in words:
                w = " ".join(raw.strip().lower().split())
                if not w or w == "*":
                    continue
                parts = w.split()
                if not all(_TOKEN.fullmatch(p.rstrip("*")) for p in parts) or "*" in w[:-1]:
                    odd.setdefault(w, []).append(gi)
                elif len(parts) > 1:
                    phrases.setdefault(tuple(parts), []).append(gi)
                elif w.endswith("*"):
                    if len(w) >= 4:
                        prefixes.setdefault(w[:3], {}).setdefault(w[:-1], []).append(gi)
                    else:  # a stem under three letters is too short to key: the regex takes it
                        odd.setdefault(w, []).append(gi)
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
        self._odd = [
            (re.compile(_odd_pattern(w), re.IGNORECASE), tuple(gis))
            for w, gis in odd.items()
        ]

    def scan(self, text: str) -> tuple[list[list[str]], int]:
        """Every hit per group in order of appearance (repeats included), and the number of tokens read."""
        found: list[list[str]] = [[] for _ in self.groups]
        free = [0] * len(self.groups)  # per group: the first token a new match may start at
        tokens = _TOKEN.findall(text.lower())
        exact, prefixes, heads = self._exact, self._prefixes, self._heads
        n = len(tokens)
        for i, tok in enumerate(tokens):
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
        for pattern, gis in self._odd:
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
    words = ", ".join(map("'{}'".format, dict.fromkeys(found[best_i])))
    return best, round(best_hits / total, 4), f"keywords {words} -> {best}"


class FastKeywordClassifier:
    """The keyword classifier's rule (most hits wins, ties to the type listed first) on a CueMatcher scan.

    Same results as `KeywordClassifier` for the same keyword lists, at a third of its cost.
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


def _quote(hits: list[str], limit: int = 4) -> str:
    shown = ", ".join(f"'{h}'" for h in hits[:limit])
    return shown + (f" +{len(hits) - limit} more" if len(hits) > limit else "")


def _saturating(found: list[str], saturation: int) -> tuple[float, str, int]:
    if not found:
        return 0.0, "no cue", 0
    hits = list(dict.fromkeys(found))
    return min(1.0, len(hits) / saturation), _quote(hits), len(hits)


class ComplexityAnalyzer:
    """A TaskClassifier that adds the seven complexity factors, the score, a confidence and an explanation.

    `boundaries` are the tier thresholds: a score close to one is less certain than one far from all.
    """

    name = "complexity"

    def __init__(
        self,
        config: ComplexityConfig,
        keywords: Mapping[str, Sequence[str]],
        default_task_type: str = "triage",
        boundaries: Sequence[float] = (0.30, 0.70),
    ) -> None:
        self.config = config
        self.default_task_type = default_task_type
        self._tasks = list(keywords)
        total = sum(config.weights[f] for f in FACTORS)
        self._weights = tuple(config.weights[f] / total for f in FACTORS)
        # One matcher, one pass: the task keyword groups first, then the cue groups.
        self._matcher = CueMatcher({**{f"task:{t}": w for t, w in keywords.items()},
                                    **{f"cue:{g}": w for g, w in config.cues.items()}})
        self._group = {g[4:]: i for i, g in enumerate(self._matcher.groups) if g.startswith("cue:")}
        self._boundaries = tuple(b for b in boundaries if 0.0 < b < 1.0)
        self._log_span = math.log(config.token_high / config.token_low)

    # -- factors ----------------------------------------------------------------------------------
    def _token_factor(self, request: ChatRequest, task_type: str) -> tuple[float, str]:
        cfg = self.config
        prompt = request_tokens(request.messages)
        out = request.max_output_tokens or EXPECTED_OUTPUT_TOKENS.get(task_type, DEFAULT_OUTPUT_TOKENS)
        total = prompt + out
        value = min(1.0, max(0.0, math.log(max(total, 1) / cfg.token_low) / self._log_span))
        return value, f"~{total} tokens ({prompt} prompt + {out} expected output)"

    def _context_factor(self, request: ChatRequest, hits: list[str]) -> tuple[float, str, int]:
        kw, note, n = _saturating(hits, self.config.cue_saturation)
        earlier = sum(1 for m in request.messages if m.role != "system") - 1
        history = min(1.0, max(0, earlier) / self.config.history_turns_full)
        if history > kw:
            return history, f"{earlier} earlier turn(s) in the conversation", n + 1
        return kw, note, n

    def _tool_factor(self, request: ChatRequest, hits: list[str]) -> tuple[float, str, int]:
        kw, note, n = _saturating(hits, self.config.cue_saturation)
        if request.tools:
            offered = min(1.0, 0.5 + 0.1 * len(request.tools))
            if offered >= kw:
                return offered, f"{len(request.tools)} tool(s) offered", n + 1
        return kw, note, n

    def _ambiguity_factor(self, words: int, hits: list[str]) -> tuple[float, str, int]:
        cfg = self.config
        span = cfg.long_prompt_words - cfg.short_prompt_words
        shortness = min(1.0, max(0.0, (cfg.long_prompt_words - words) / span))
        vague, note, n = _saturating(hits, cfg.cue_saturation)
        value = 0.5 * shortness + 0.5 * vague
        return value, f"{words} word(s)" + (f", vague {note}" if n else ""), n

    # -- the classifier -----------------------------------------------------------------------------
    def classify(self, request: ChatRequest) -> TaskProfile:
        text = request.prompt
        sat = self.config.cue_saturation
        found, words = self._matcher.scan(text)
        task_type, _, keyword_note = pick_task(self._tasks, found[: len(self._tasks)], self.default_task_type)
        g = self._group
        token, token_note = self._token_factor(request, task_type)
        reasoning, reasoning_note, n_r = _saturating(found[g["reasoning"]], sat)
        domain, domain_note, n_d = _saturating(found[g["domain"]], sat)
        security, security_note, n_s = _saturating(found[g["security"]], self.config.security_saturation)
        context, context_note, n_c = self._context_factor(request, found[g["context"]])
        structure, structure_note, n_o = _saturating(found[g["structure"]], sat)
        tools, tools_note, n_t = self._tool_factor(request, found[g["tools"]])
        ambiguity, ambiguity_note, n_a = self._ambiguity_factor(words, found[g["vague"]])
        if security > domain:
            # Security work is specialist work: the domain factor never reads lower than the security signal.
            domain, domain_note = security, f"security {security_note}"
        values = (token, reasoning, domain, context, structure, tools, ambiguity)
        notes = (token_note, reasoning_note, domain_note, context_note, structure_note, tools_note, ambiguity_note)

        # map over builtins rather than generator expressions: the same sums and roundings, in fewer steps.
        weighted = sum(map(mul, self._weights, values))
        top = sorted(values, reverse=True)
        score = round(0.5 * weighted + 0.5 * (top[0] + top[1]) / 2.0, 4)

        cues = n_r + n_d + n_s + n_c + n_o + n_t + n_a
        # Evidence: cues found and words read. A two-word prompt with no cue gives little to go on.
        evidence = 1.0 - math.exp(-(cues + words / 10.0) / 2.0)
        # Near a tier boundary a small error in any factor flips the tier; thin evidence makes that likelier.
        # Far from every boundary the tier is clear even for a two-word prompt.
        margin = min([abs(score - b) for b in self._boundaries], default=1.0)
        confidence = round((0.5 + 0.5 * evidence) * min(1.0, margin / 0.1), 4)

        factors = dict(zip(FACTORS, map(round, values, repeat(4)), strict=True))
        factors["security"] = round(security, 4)
        factor_notes = dict(zip(FACTORS, notes, strict=True))
        factor_notes["security"] = security_note
        leaders = sorted([(v, f) for f, v in zip(FACTORS, values, strict=True) if v > 0], reverse=True)[:2]
        led = ", ".join(f"{f} {v:.2f}" for v, f in leaders) or "no factor above 0"
        return TaskProfile(
            task_type=task_type,
            complexity=score,
            factors=factors,
            budget_class=str(request.metadata.get("budget_class", "standard")),
            urgency=str(request.metadata.get("urgency", "normal")),
            required_capabilities=("tools",) if request.tools else (),
            confidence=confidence,
            explanation=f"{keyword_note}; complexity {score:.2f} ({led})",
            factor_notes=factor_notes,
        )
