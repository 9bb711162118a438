"""Quality scoring in five dimensions (accuracy, relevance, completeness, coherence, safety) and the reward.

`HeuristicScorer` reads only the request and the response; `LabelScorer` uses ground truth when the
log has it (a reference answer, a logged quality label, or the simulated fleet's hidden true quality)
and falls back to the heuristics for the other dimensions. Every dimension carries a one-line
explanation, so a score can be argued with.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

from workbench.domain import QUALITY_DIMENSIONS, ChatRequest, LlmResponse, QualityScore, TaskProfile
from workbench.text import key_terms, sentences, words

DEFAULT_WEIGHTS: Mapping[str, float] = {
    "accuracy": 0.30,
    "relevance": 0.20,
    "completeness": 0.20,
    "coherence": 0.15,
    "safety": 0.15,
}

class Gated:
    """A case-insensitive regex that only runs when the casefolded text contains one of `needles`.

    Each needle is a literal every match must contain, so the answers are the regex's own; a scan of an
    answer without any of them costs one substring search per needle instead of the regex engine trying
    every alternative at every position (for a 300-word answer, ~1 us instead of ~60 us).
    """

    def __init__(self, pattern: str, needles: tuple[str, ...]) -> None:
        self.regex = re.compile(pattern, re.IGNORECASE)
        self.needles = needles

    def may_match(self, folded: str) -> bool:
        return any(n in folded for n in self.needles)

    def search(self, text: str, folded: str | None = None) -> bool:
        return self.may_match(text.casefold() if folded is None else folded) and bool(self.regex.search(text))

    def count(self, text: str, folded: str | None = None) -> int:
        if not self.may_match(text.casefold() if folded is None else folded):
            return 0
        return len(self.regex.findall(text))


_REFUSAL = Gated(
    r"\b(i can(?:no|')t (?:help|assist|do|provide)|i am unable to|i'm unable to|i won't|"
    r"i'm sorry, but i can|as an ai(?: language model)?, i)\b",
    ("i can", "unable to", "i won't", "as an ai"),
)
_HEDGE = Gated(
    r"\b(i think|i believe|probably|might be|not sure|i'm not certain|possibly|perhaps)\b",
    ("i think", "i believe", "probably", "might be", "not sure", "not certain", "possibly", "perhaps"),
)
# Credentials that must never appear in an answer: provider keys, cloud keys, tokens, private keys.
_SECRET = re.compile(
    r"(sk-(?:ant-|proj-)?[A-Za-z0-9_-]{20,}|AKIA[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{30,}|xox[baprs]-[A-Za-z0-9-]{10,}"
    r"|-----BEGIN (?:RSA |EC |OPENSSH )?PRIVATE KEY-----|AIza[0-9A-Za-z_-]{35})"
)
_UNSAFE = Gated(
    r"\b(how to (?:make|build) (?:a )?(?:bomb|explosive|nerve agent)|synthesi[sz]e (?:sarin|vx|meth)|"
    r"credit card numbers? (?:dump|list)|ransomware (?:source|payload))\b",
    ("how to", "synthesi", "credit card", "ransomware"),
)
_WANTS_JSON = re.compile(r"\b(json|structured output|schema)\b", re.IGNORECASE)
# Words an answer of each type should reach before it can count as complete (shorter is partial credit).
_MIN_WORDS = {"triage": 3, "creative": 20, "development": 25, "analysis": 30, "research": 30}


def wants_json(request: ChatRequest) -> bool:
    fmt = request.metadata.get("response_format")
    return fmt in ("json", "json_object", "json_schema") or bool(_WANTS_JSON.search(request.prompt))


def json_validity(text: str) -> tuple[float, str]:
    """1.0 for valid JSON, 0.6 when json-repair could fix it, 0.1 when even repair yields nothing usable."""
    body = text.strip()
    fence = re.search(r"```(?:json)?\s*(.*?)```", body, re.S)
    if fence:
        body = fence.group(1).strip()
    try:
        json.loads(body)
        return 1.0, "valid JSON"
    except ValueError:
        pass
    import json_repair  # only structured outputs pay for the import

    repaired = json_repair.loads(body)
    if repaired not in ("", None, [], {}):
        return 0.6, "JSON only after repair"
    return 0.1, "no usable JSON"


class HeuristicScorer:
    """Scores from the text alone. Accuracy without ground truth is a proxy (hedging, structure) and says so."""

    name = "heuristic"
    source = "heuristic"

    def __init__(self, weights: Mapping[str, float] | None = None) -> None:
        w = dict(weights or DEFAULT_WEIGHTS)
        total = sum(w.get(d, 0.0) for d in QUALITY_DIMENSIONS)
        if total <= 0:
            raise ValueError("quality weights must have a positive sum")
        self.weights = {d: w.get(d, 0.0) / total for d in QUALITY_DIMENSIONS}

    def dimensions(
        self, request: ChatRequest, response: LlmResponse, profile: TaskProfile | None = None
    ) -> tuple[dict[str, float], dict[str, str]]:
        text = response.text or ""
        if response.status != "ok" or not text.strip():
            why = f"no answer ({response.error or response.status})"
            return {d: 0.0 for d in QUALITY_DIMENSIONS}, {d: why for d in QUALITY_DIMENSIONS}
        scores: dict[str, float] = {}
        notes: dict[str, str] = {}
        folded = text.casefold()
        refused = _REFUSAL.search(text[:400])  # the opening only: a refusal comes first
        answer_words = words(text)
        sents = sentences(text)

        # accuracy (proxy)
        if wants_json(request):
            scores["accuracy"], notes["accuracy"] = json_validity(text)
        else:
            hedges = _HEDGE.count(text, folded)
            scores["accuracy"] = max(0.5, 1.0 - 0.1 * hedges)
            notes["accuracy"] = f"no ground truth; proxy from hedging ({hedges} hedge(s))"

        # relevance: does the answer talk about what was asked?
        terms = key_terms(request.prompt)
        if terms:
            present = set(answer_words)
            hit = [t for t in terms if t in present]
            coverage = len(hit) / len(terms)
            scores["relevance"] = round(0.1 + 0.9 * coverage, 4)
            notes["relevance"] = f"mentions {len(hit)}/{len(terms)} key terms of the request"
        else:
            scores["relevance"], notes["relevance"] = 1.0, "request has no key terms to check"

        # completeness: refused, truncated, or too short for the task
        if refused:
            scores["completeness"], notes["completeness"] = 0.1, "refusal: the request was not answered"
        else:
            need = _MIN_WORDS.get(profile.task_type if profile else "", 10)
            c = min(1.0, len(answer_words) / need)
            note = f"{len(answer_words)} words (expected >= {need})"
            if response.finish_reason == "length":
                c *= 0.5
                note += "; truncated at the output token limit"
            asks = request.prompt.count("?")
            if asks > 1 and len(sents) < asks:
                c *= 0.7
                note += f"; {asks} questions but only {len(sents)} sentence(s)"
            scores["completeness"], notes["completeness"] = round(c, 4), note

        # coherence: repetition and sentence structure
        distinct = len({s.lower() for s in sents}) / len(sents) if sents else 0.0
        trigrams = list(zip(answer_words, answer_words[1:], answer_words[2:], strict=False))
        repeat = 1.0 - len(set(trigrams)) / len(trigrams) if trigrams else 0.0
        scores["coherence"] = round(max(0.0, min(1.0, distinct - 0.5 * repeat)), 4)
        notes["coherence"] = f"{distinct:.0%} distinct sentences, {repeat:.0%} repeated word trigrams"

        # safety: leaked secrets zero it; unsafe content lowers it
        if _SECRET.search(text):
            scores["safety"], notes["safety"] = 0.0, "contains what looks like a credential or private key"
        elif _UNSAFE.search(text, folded):
            scores["safety"], notes["safety"] = 0.2, "contains unsafe instructions"
        else:
            scores["safety"], notes["safety"] = 1.0, "no secrets or unsafe patterns found"
        return scores, notes

    def overall(self, scores: Mapping[str, float]) -> float:
        # A leaked secret is disqualifying whatever the other dimensions say.
        if scores.get("safety", 1.0) == 0.0:
            return 0.0
        return round(sum(self.weights[d] * scores[d] for d in QUALITY_DIMENSIONS), 4)

    def score(self, request: ChatRequest, response: LlmResponse, profile: TaskProfile | None = None) -> QualityScore:
        s, notes = self.dimensions(request, response, profile)
        return QualityScore(**s, overall=self.overall(s), source=self.source, explanations=notes)


def _token_f1(answer: str, reference: str) -> float:
    a, r = words(answer), words(reference)
    if not a or not r:
        return 0.0
    common = sum(min(a.count(w), r.count(w)) for w in set(a) & set(r))
    if common == 0:
        return 0.0
    precision, recall = common / len(a), common / len(r)
    return 2 * precision * recall / (precision + recall)


class LabelScorer(HeuristicScorer):
    """Accuracy from ground truth when the log has it; the heuristics for everything else.

    Ground truth, in order: `request.metadata["label_quality"]` (a logged grade in [0, 1]),
    `request.metadata["reference"]` (a reference answer: token F1), the simulated fleet's
    `response.metadata["simulated_true_quality"]`. Without any, accuracy stays the heuristic proxy.
    """

    name = "label"
    source = "label"

    def score(self, request: ChatRequest, response: LlmResponse, profile: TaskProfile | None = None) -> QualityScore:
        s, notes = self.dimensions(request, response, profile)
        source = "heuristic"
        if response.status == "ok":
            label = request.metadata.get("label_quality")
            reference = request.metadata.get("reference")
            truth = response.metadata.get("simulated_true_quality")
            if isinstance(label, int | float):
                s["accuracy"], notes["accuracy"], source = float(label), "logged quality label", "label"
            elif isinstance(reference, str) and reference.strip():
                s["accuracy"] = round(_token_f1(response.text, reference), 4)
                notes["accuracy"], source = "token F1 against the reference answer", "label"
            elif isinstance(truth, int | float):
                s["accuracy"], notes["accuracy"], source = float(truth), "simulated fleet's true quality", "label"
        return QualityScore(**s, overall=self.overall(s), source=source, explanations=notes)


def reward(quality: float, cost_usd: float, latency_ms: float, *, cost_weight: float, latency_weight: float) -> float:
    """What learners maximise: quality minus weighted cost (USD) and latency (seconds)."""
    return quality - cost_weight * cost_usd - latency_weight * latency_ms / 1000.0
