"""Profiles of the simulated provider fleet: speed, reliability and quality per model, named after real models.

Prices are not here: they come from the price table, so simulated costs are list prices.
Quality figures are invented but shaped like public leaderboards (bigger models degrade less with
complexity; some models are better at some task types) so routing has real trade-offs to find.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType


@dataclass(frozen=True, slots=True)
class ModelProfile:
    model: str
    quality: float  # expected quality of a simple request, in [0, 1]
    skill: float  # in [0, 1]: how little quality drops as complexity rises
    ttft_ms: float  # median time to first token
    tokens_per_s: float
    error_rate: float = 0.01  # chance an attempt fails with a 5xx
    task_bonus: Mapping[str, float] = field(default_factory=dict)

    def expected_quality(self, task_type: str, complexity: float) -> float:
        q = self.quality + self.task_bonus.get(task_type, 0.0) - (1.0 - self.skill) * 0.6 * complexity
        return min(1.0, max(0.0, q))


def _p(model: str, quality: float, skill: float, ttft: float, tps: float, err: float, **bonus: float) -> ModelProfile:
    return ModelProfile(model, quality, skill, ttft, tps, err, MappingProxyType(bonus))


DEFAULT_PROFILES: tuple[ModelProfile, ...] = (
    _p("openai/gpt-4o", 0.86, 0.85, 450, 90, 0.010, analysis=0.02),
    _p("openai/gpt-4o-mini", 0.74, 0.55, 350, 120, 0.010, triage=0.08),
    _p("openai/gpt-4-1106-preview", 0.84, 0.85, 700, 35, 0.010),
    _p("anthropic/claude-sonnet-4", 0.88, 0.90, 700, 70, 0.015, creative=0.04, development=0.03),
    _p("anthropic/claude-3-5-haiku", 0.72, 0.50, 400, 110, 0.010, triage=0.06),
    _p("groq/llama-3.1-8b", 0.58, 0.30, 150, 700, 0.020, triage=0.12),
    _p("groq/llama-3.3-70b", 0.75, 0.60, 250, 300, 0.020),
    _p("deepseek/deepseek-chat", 0.79, 0.70, 1200, 40, 0.030, development=0.06, analysis=0.03),
    _p("mistral/mistral-small", 0.67, 0.45, 300, 130, 0.015),
    _p("together/mistralai/Mixtral-8x7B-Instruct-v0.1", 0.66, 0.45, 400, 90, 0.015),
    _p("gemini/gemini-2.0-flash", 0.75, 0.60, 300, 200, 0.015, research=0.04),
)


def generic_profile(model: str) -> ModelProfile:
    """A middling profile for models the user adds in config without a curated profile."""
    return ModelProfile(model, 0.70, 0.55, 500, 100, 0.015)
