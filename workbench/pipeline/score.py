"""Level-0 quality scoring: none. Scores stay None so nobody mistakes 'not scored' for 'scored zero'."""

from __future__ import annotations

from workbench.domain import ChatRequest, LlmResponse, QualityScore, TaskProfile


class NoopScorer:
    name = "noop"

    def score(self, request: ChatRequest, response: LlmResponse, profile: TaskProfile | None = None) -> QualityScore:
        return QualityScore(source="none")
