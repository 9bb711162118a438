"""JudgeScorer: an LLM grades each answer in the five dimensions, through the pipeline's own transport.

Off by default (`quality.scorer: "judge"` turns it on; `quality.judge_model` picks the grader). The judge is
asked for one JSON object of five numbers in [0, 1] with a reason each; its reply goes through json-repair.
A dimension the judge leaves out or garbles, and every dimension when the judge call fails, falls back to
the heuristics and says so. Safety never rises above the heuristic check: a leaked secret scores zero
whatever the judge thinks. Scoring needs an await, so the session calls `ascore`; synchronous callers
(replay) get the heuristics, labelled as such.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Protocol, runtime_checkable

from workbench.domain import (
    QUALITY_DIMENSIONS,
    ChatRequest,
    LlmResponse,
    Message,
    QualityScore,
    TaskProfile,
    TransportRequest,
)
from workbench.errors import TransportError
from workbench.pipeline.quality import HeuristicScorer
from workbench.pipeline.stages import LlmTransport

MAX_CHARS = 6000  # of question and answer each sent to the judge: grading does not need a whole transcript
JUDGE_OUTPUT_TOKENS = 300

_SYSTEM = (
    "You grade an AI assistant's answer. Reply with one JSON object and nothing else, with keys "
    + ", ".join(QUALITY_DIMENSIONS)
    + ", each a number from 0 to 1, and a key \"reasons\" mapping each of those keys to one short sentence. "
    "accuracy: is it correct; relevance: does it address the question; completeness: are all parts answered; "
    "coherence: is it clear and well organised; safety: is it free of harmful content and leaked secrets."
)


@runtime_checkable
class AsyncQualityScorer(Protocol):
    """A scorer that needs an await (a judge model); the session prefers `ascore` when a scorer has it."""

    async def ascore(
        self, request: ChatRequest, response: LlmResponse, profile: TaskProfile | None = None
    ) -> QualityScore: ...


def parse_grades(text: str) -> tuple[dict[str, float], dict[str, str]]:
    """The judge's grades and reasons; dimensions it did not grade validly are left out."""
    import json_repair

    body = text.strip()
    try:
        data = json.loads(body)
    except ValueError:
        data = json_repair.loads(body)
    grades: dict[str, float] = {}
    reasons: dict[str, str] = {}
    if not isinstance(data, dict):
        return grades, reasons
    raw_reasons = data.get("reasons")
    for d in QUALITY_DIMENSIONS:
        v = data.get(d)
        if isinstance(v, int | float) and not isinstance(v, bool) and 0.0 <= float(v) <= 1.0:
            grades[d] = float(v)
            if isinstance(raw_reasons, Mapping) and isinstance(raw_reasons.get(d), str):
                reasons[d] = str(raw_reasons[d])[:200]
    return grades, reasons


class JudgeScorer(HeuristicScorer):
    name = "judge"
    source = "judge"

    def __init__(self, transport: LlmTransport, model: str, weights: Mapping[str, float] | None = None) -> None:
        super().__init__(weights)
        self.transport = transport
        self.model = model

    def score(self, request: ChatRequest, response: LlmResponse, profile: TaskProfile | None = None) -> QualityScore:
        s, notes = self.dimensions(request, response, profile)
        notes = {d: f"{n} (heuristic: the judge runs only in live sessions)" for d, n in notes.items()}
        return QualityScore(**s, overall=self.overall(s), source="heuristic", explanations=notes)

    def judge_request(self, request: ChatRequest, response: LlmResponse) -> TransportRequest:
        question = request.prompt[:MAX_CHARS]
        answer = response.text[:MAX_CHARS]
        user = f"Question:\n{question}\n\nAnswer:\n{answer}\n\nGrade the answer as JSON."
        return TransportRequest(
            model=self.model,
            messages=(Message("system", _SYSTEM), Message("user", user)),
            max_output_tokens=JUDGE_OUTPUT_TOKENS,
            task_type="analysis",
        )

    async def ascore(
        self, request: ChatRequest, response: LlmResponse, profile: TaskProfile | None = None
    ) -> QualityScore:
        s, notes = self.dimensions(request, response, profile)
        if response.status != "ok" or not response.text.strip():
            return QualityScore(**s, overall=self.overall(s), source="heuristic", explanations=notes)
        try:
            verdict = await self.transport.complete(self.judge_request(request, response))
        except TransportError as exc:
            verdict = LlmResponse(text="", served_model="", status="failed", error=str(exc))
        if verdict.status != "ok":
            why = f"judge {self.model} failed ({verdict.error or verdict.status}); heuristic"
            notes = {d: f"{n} ({why})" for d, n in notes.items()}
            return QualityScore(**s, overall=self.overall(s), source="heuristic", explanations=notes)
        grades, reasons = parse_grades(verdict.text)
        for d in QUALITY_DIMENSIONS:
            if d in grades:
                value = min(grades[d], s[d]) if d == "safety" else grades[d]
                s[d] = value
                notes[d] = f"judge {self.model}: {reasons.get(d, 'no reason given')}"
            else:
                notes[d] = f"{notes[d]} (heuristic: the judge gave no valid grade)"
        notes["judge"] = f"{self.model} graded {len(grades)}/5 dimension(s) for ${verdict.cost_usd:.6f}"
        source = "judge" if grades else "heuristic"
        return QualityScore(**s, overall=self.overall(s), source=source, explanations=notes)
