"""Level-1 classification: the seven-factor ComplexityAnalyzer (task type via the keyword classifier).

Each factor is in [0, 1] and says what moved it (`TaskProfile.factor_notes`). The score is
0.5 x weighted mean + 0.5 x mean of the two largest factors, so one strong signal is not averaged away.
A `security` signal rides along in `factors` for hard tier rules; it is not part of the score.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from operator import mul

from workbench.domain import ChatRequest, TaskProfile
from workbench.pipeline.classify import CueMatcher, pick_task
from workbench.pipeline.context import request_tokens
from workbench.pipeline.route import DEFAULT_OUTPUT_TOKENS, EXPECTED_OUTPUT_TOKENS
from workbench.routing_config import FACTORS, ComplexityConfig


def _quote(hits: list[str], limit: int = 4) -> str:
    shown = "'" + "', '".join(hits[:limit]) + "'"
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

        # map over builtins rather than generator expressions: the same sums and roundings, in fewer steps.
        weighted = sum(map(mul, self._weights, values))
        # One sort serves both the score (two largest values) and the explanation (two leading factors).
        ranked = sorted(zip(values, FACTORS, strict=True), reverse=True)
        score = round(0.5 * weighted + 0.5 * (ranked[0][0] + ranked[1][0]) / 2.0, 4)

        cues = n_r + n_d + n_s + n_c + n_o + n_t + n_a
        # Evidence: cues found and words read. A two-word prompt with no cue gives little to go on.
        evidence = 1.0 - math.exp(-(cues + words / 10.0) / 2.0)
        # Near a tier boundary a small error in any factor flips the tier; thin evidence makes that likelier.
        # Far from every boundary the tier is clear even for a two-word prompt.
        margin = min([abs(score - b) for b in self._boundaries], default=1.0)
        confidence = round((0.5 + 0.5 * evidence) * min(1.0, margin / 0.1), 4)

        # Literal dicts in FACTORS order: a third of the cost of building them through zip and map.
        factors = {
            "token_count": round(token, 4), "reasoning_depth": round(reasoning, 4),
            "domain_specificity": round(domain, 4), "context_dependency": round(context, 4),
            "output_structure": round(structure, 4), "tool_usage": round(tools, 4),
            "ambiguity": round(ambiguity, 4), "security": round(security, 4),
        }
        factor_notes = {
            "token_count": token_note, "reasoning_depth": reasoning_note, "domain_specificity": domain_note,
            "context_dependency": context_note, "output_structure": structure_note, "tool_usage": tools_note,
            "ambiguity": ambiguity_note, "security": security_note,
        }
        if ranked[1][0] > 0:
            led = f"{ranked[0][1]} {ranked[0][0]:.2f}, {ranked[1][1]} {ranked[1][0]:.2f}"
        elif ranked[0][0] > 0:
            led = f"{ranked[0][1]} {ranked[0][0]:.2f}"
        else:
            led = "no factor above 0"
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
