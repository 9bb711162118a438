"""Level-0 task classification: whole-word keyword matching with keyword lists from config."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from workbench.domain import ChatRequest, TaskProfile


def _pattern(words: Sequence[str]) -> re.Pattern[str]:
    # Whole words only: a substring match would make "all" hit "install". Phrases match across any spacing.
    alts = sorted((r"\s+".join(map(re.escape, w.lower().split())) for w in words if w.strip()), key=len, reverse=True)
    return re.compile(r"(?<![\w-])(?:" + "|".join(alts) + r")(?![\w-])", re.IGNORECASE) if alts else re.compile(r"(?!)")


class KeywordClassifier:
    """Picks the task type whose keywords occur most often in the latest user message.

    Ties go to the type listed first in the config; no hit gives the configured default type.
    """

    name = "keyword"

    def __init__(self, keywords: Mapping[str, Sequence[str]], default_task_type: str = "triage") -> None:
        self.default_task_type = default_task_type
        self._patterns = [(task, _pattern(words)) for task, words in keywords.items()]

    def classify(self, request: ChatRequest) -> TaskProfile:
        text = request.prompt
        best_task = self.default_task_type
        best_hits: list[str] = []
        total = 0
        for task, pattern in self._patterns:
            hits = pattern.findall(text)
            total += len(hits)
            if len(hits) > len(best_hits):
                best_task, best_hits = task, hits
        caps = ("tools",) if request.tools else ()
        if best_hits:
            words = ", ".join(f"'{w.lower()}'" for w in dict.fromkeys(best_hits))
            explanation = f"keywords {words} -> {best_task}"
            confidence = len(best_hits) / total
        else:
            explanation = f"no keyword matched -> default type {best_task}"
            confidence = 0.0
        budget = str(request.metadata.get("budget_class", "standard"))
        urgency = str(request.metadata.get("urgency", "normal"))
        return TaskProfile(
            task_type=best_task,
            budget_class=budget,
            urgency=urgency,
            required_capabilities=caps,
            confidence=round(confidence, 4),
            explanation=explanation,
        )
