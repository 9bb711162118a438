"""The router's confidence in a decision: score margin, vote share, sample counts, classifier confidence.

Each available signal becomes a confidence in [0, 1]; the decision's confidence is the weakest of them
(thin data undermines a wide margin), and the reason names the signal that limited it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from workbench.routing_config import UncertaintyConfig


@dataclass(frozen=True, slots=True)
class Assessment:
    confidence: float
    limiting: str  # which signal set the confidence ("" when nothing limited it)
    detail: str  # e.g. "margin 0.04", for the reason line

    @property
    def uncertainty(self) -> float:
        return round(1.0 - self.confidence, 4)


def top_two_margin(scores: np.ndarray, admissible: np.ndarray) -> float | None:
    """Best minus second-best admissible score, in O(N); None with fewer than two candidates."""
    if len(scores) <= 32:  # plain Python is quicker than numpy on a handful of candidates
        kept = sorted([s for s, ok in zip(scores.tolist(), admissible.tolist(), strict=True) if ok])
        return float(kept[-1] - kept[-2]) if len(kept) >= 2 else None
    pool = scores[admissible]
    if pool.size < 2:
        return None
    top = np.partition(pool, pool.size - 2)[-2:]
    return float(top[1] - top[0])


_DETAIL = {
    "margin": "score margin {:.3f}",
    "votes": "vote share {:.2f}",
    "samples": "{:.0f} sample(s)",
    "classifier": "classifier confidence {:.2f}",
}


class UncertaintyEstimator:
    def __init__(self, settings: UncertaintyConfig) -> None:
        self.settings = settings

    def assess(
        self,
        *,
        margin: float | None = None,
        vote_share: float | None = None,
        samples: float | None = None,
        classifier: float | None = None,
    ) -> Assessment:
        s = self.settings
        value, limiting, raw = 2.0, "", 0.0
        # The weakest signal wins; its words are only formatted once it is known (this runs per decision).
        if margin is not None:
            value, limiting, raw = min(1.0, max(0.0, margin) / s.margin_scale), "margin", margin
        if vote_share is not None and vote_share < value:
            value, limiting, raw = vote_share, "votes", vote_share
        if samples is not None and samples / (samples + s.prior_samples) < value:
            value, limiting, raw = samples / (samples + s.prior_samples), "samples", samples
        if classifier is not None and classifier < value:
            value, limiting, raw = classifier, "classifier", classifier
        if not limiting:
            return Assessment(1.0, "", "")
        return Assessment(round(float(value), 4), limiting, _DETAIL[limiting].format(raw))

    def low(self, assessment: Assessment) -> bool:
        return assessment.confidence < self.settings.threshold
