"""Config sections for routing intelligence: complexity, tiers, strategies, breakers, uncertainty, exploration.

They hang under `routing` in the workbench config. Every default is level-0 compatible: exploration is off,
breakers only exclude deployments that really failed, and nothing here changes a static pipeline.
Kept apart from `config.py` (which imports this module) so routing knobs live in one place.
"""

from __future__ import annotations

import itertools
from typing import Literal

from pydantic import (
    Field,
    NonNegativeFloat,
    PositiveFloat,
    PositiveInt,
    field_validator,
    model_validator,
)

from workbench.config_base import Strict, env_var_name, http_url, one_of

# The seven complexity factors, in the order the docs list them.
FACTORS: tuple[str, ...] = (
    "token_count",
    "reasoning_depth",
    "domain_specificity",
    "context_dependency",
    "output_structure",
    "tool_usage",
    "ambiguity",
)
# Signals a hard tier rule may test: the seven factors, the auxiliary security signal, and the score itself.
RULE_SIGNALS: tuple[str, ...] = (*FACTORS, "security", "complexity")

DEFAULT_WEIGHTS: dict[str, float] = {
    "token_count": 0.10,
    "reasoning_depth": 0.30,
    "domain_specificity": 0.20,
    "context_dependency": 0.10,
    "output_structure": 0.10,
    "tool_usage": 0.10,
    "ambiguity": 0.10,
}

# Cue words per signal. Whole words; a trailing `*` matches any ending ("optimi*" -> optimise, optimization).
DEFAULT_CUES: dict[str, list[str]] = {
    "reasoning": [
        "why", "explain", "reason*", "trade-off*", "tradeoff*", "design*", "architect*", "debug*", "root cause",
        "distributed", "prove", "proof", "derive", "step by step", "analy*", "compare", "optimi*", "evaluate",
        "justify", "implication*", "concurren*", "race condition*", "scal*", "algorithm*", "edge case*",
        "consisten*", "deadlock*", "invariant*", "formal*",
    ],
    "domain": [
        "sql", "database*", "protocol*", "tcp", "http", "kernel*", "compiler*", "cryptograph*", "ml",
        "machine learning", "neural", "gradient*", "theorem*", "quantum", "regex*", "kubernetes", "consensus",
        "raft", "paxos", "genom*", "legal", "statute*", "tax", "derivative*", "statistic*", "bayesian",
        "differential equation*", "assembly", "gpu", "cuda", "latency", "throughput", "eigen*", "topolog*",
    ],
    "security": [
        "security", "secure", "vulnerab*", "exploit*", "cve", "xss", "csrf", "injection", "sqli",
        "authenticat*", "authoriz*", "encrypt*", "password*", "secret*", "privilege escalation", "threat model*",
        "penetration", "pentest*", "malware", "sanitiz*", "tls", "oauth", "jwt", "attack*", "backdoor*",
    ],
    "context": [
        "above", "earlier", "previous*", "as discussed", "you said", "attached", "attachment*", "this code",
        "the code below", "following", "the file", "the document", "continue", "again", "same as before",
        "the last one", "that one", "as before", "mentioned",
    ],
    "structure": [
        "json", "yaml", "csv", "table", "schema*", "xml", "markdown", "bullet*", "list of", "format*",
        "code block", "signature*", "code", "function", "class", "script", "snippet", "template", "diagram",
        "step-by-step", "numbered",
    ],
    "tools": [
        "tool*", "search the web", "browse", "call the api", "api call*", "execute", "run", "fetch",
        "calculator", "retrieve", "query the", "web search", "look up", "download",
    ],
    "vague": [
        "something", "stuff", "thing", "things", "whatever", "somehow", "maybe", "anything", "kind of",
        "sort of", "etc", "some ideas", "help", "better", "improve", "fix it", "make it", "nice", "good",
    ],
}


_Strict = Strict
_choice = one_of


class ComplexityConfig(_Strict):
    """The ComplexityAnalyzer: factor weights, cue words and the scales that turn counts into [0, 1]."""

    # Partial maps are fine: a factor left out keeps its default weight. Weights are normalised to sum 1.
    weights: dict[str, NonNegativeFloat] = Field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    cues: dict[str, list[str]] = Field(default_factory=lambda: {k: list(v) for k, v in DEFAULT_CUES.items()})
    token_low: PositiveInt = 150  # estimated prompt + output tokens at or below this: token factor 0
    token_high: PositiveInt = 8000  # at or above this: token factor 1 (log scale in between)
    cue_saturation: PositiveInt = 3  # distinct cue hits that make a keyword factor 1
    security_saturation: PositiveInt = 2  # security cue hits that make the security signal 1
    short_prompt_words: PositiveInt = 4  # prompts this short are fully ambiguous on length
    long_prompt_words: PositiveInt = 30  # prompts this long are not ambiguous on length
    history_turns_full: PositiveInt = 6  # earlier turns that make context dependency 1

    @field_validator("weights")
    @classmethod
    def _weights(cls, v: dict[str, float]) -> dict[str, float]:
        for key in v:
            _choice(key, FACTORS, "complexity factor")
        merged = {**DEFAULT_WEIGHTS, **v}
        if sum(merged.values()) <= 0:
            raise ValueError("complexity weights sum to 0; give at least one factor a positive weight")
        return merged

    @field_validator("cues")
    @classmethod
    def _cues(cls, v: dict[str, list[str]]) -> dict[str, list[str]]:
        for key, words in v.items():
            _choice(key, tuple(DEFAULT_CUES), "cue group")
            if any(not w.strip() or w.strip() == "*" for w in words):
                raise ValueError(f"cue group '{key}' has an empty word; remove it")
        return {**{k: list(w) for k, w in DEFAULT_CUES.items()}, **v}

    @model_validator(mode="after")
    def _ranges(self) -> ComplexityConfig:
        if self.token_high <= self.token_low:
            raise ValueError(f"token_high ({self.token_high}) must be above token_low ({self.token_low})")
        if self.long_prompt_words <= self.short_prompt_words:
            raise ValueError("long_prompt_words must be above short_prompt_words")
        return self


class TierSpec(_Strict):
    upto: float = Field(gt=0.0, le=1.0)  # complexity below this (exclusive) lands here; the top tier says 1.0
    models: list[str] = Field(min_length=1)


class TierRule(_Strict):
    """A hard rule: when `signal` exceeds `above`, the request goes to `tier` (e.g. security -> premium)."""

    signal: str
    above: float = Field(ge=0.0, le=1.0)
    tier: str

    @field_validator("signal")
    @classmethod
    def _signal(cls, v: str) -> str:
        return _choice(v, RULE_SIGNALS, "rule signal")


DEFAULT_TIERS: dict[str, dict[str, object]] = {
    "fast": {
        "upto": 0.30,
        "models": [
            "groq/llama-3.1-8b", "openai/gpt-4o-mini", "gemini/gemini-2.0-flash", "anthropic/claude-3-5-haiku",
            "mistral/mistral-small",
        ],
    },
    "standard": {
        "upto": 0.70,
        "models": ["deepseek/deepseek-chat", "groq/llama-3.3-70b", "gemini/gemini-2.0-flash", "openai/gpt-4o-mini"],
    },
    "premium": {
        "upto": 1.0,
        "models": ["anthropic/claude-sonnet-4", "openai/gpt-4o", "openai/gpt-4-1106-preview"],
    },
}

STRATEGIES: tuple[str, ...] = (
    "simple-shuffle",
    "round-robin",
    "least-busy",
    "usage-based",
    "latency-based",
    "cost-based",
    "rate-limit-aware",
)


class TiersConfig(_Strict):
    """Complexity ranges -> tiers of models across all providers, hard rules, and the in-tier strategy."""

    tiers: dict[str, TierSpec] = Field(
        default_factory=lambda: {k: TierSpec.model_validate(v) for k, v in DEFAULT_TIERS.items()}
    )
    rules: list[TierRule] = Field(default_factory=lambda: [TierRule(signal="security", above=0.8, tier="premium")])
    strategy: str = "cost-based"  # picks the model inside the tier
    max_request_usd: PositiveFloat | None = None  # a tier whose candidates all cost more steps down a tier
    minimal_budget_steps_down: bool = True  # a request with budget_class "minimal" starts one tier lower

    @field_validator("strategy")
    @classmethod
    def _strategy(cls, v: str) -> str:
        return _choice(v, STRATEGIES, "strategy")

    @model_validator(mode="after")
    def _order(self) -> TiersConfig:
        if not self.tiers:
            raise ValueError("tiers is empty; list at least one tier with upto 1.0")
        bounds = [spec.upto for spec in self.tiers.values()]
        if any(b <= a for a, b in itertools.pairwise(bounds)):
            raise ValueError(f"tier bounds must rise in the order listed (cheapest first); got {bounds}")
        if bounds[-1] != 1.0:
            raise ValueError(f"the last tier must have upto 1.0 so every complexity lands somewhere; got {bounds[-1]}")
        for i, rule in enumerate(self.rules):
            if rule.tier not in self.tiers:
                raise ValueError(f"rules.{i}.tier '{rule.tier}' is not a tier; choose one of: {', '.join(self.tiers)}")
        return self


class DeploymentConfig(_Strict):
    """Per-deployment knobs the strategies read: shuffle weight and rate limits (None: unlimited)."""

    weight: PositiveFloat = 1.0
    rpm: PositiveInt | None = None
    tpm: PositiveInt | None = None


class StrategyConfig(_Strict):
    shuffle_weight_by: Literal["weight", "rpm", "tpm"] = "weight"
    latency_ewma_alpha: float = Field(default=0.2, gt=0.0, le=1.0)
    # Deployments whose expected latency is within this fraction of the fastest tie; ties break at random.
    latency_tie_buffer: NonNegativeFloat = 0.10
    # Untried deployments are assumed as fast as the fastest tried one (optimistic, but bounded by real data,
    # so a new deployment gets traffic without winning forever as litellm's zero prior does).
    latency_untried_prior: Literal["best-observed"] = "best-observed"
    success_ewma_alpha: float = Field(default=0.1, gt=0.0, le=1.0)


BREAKER_POLICIES: tuple[str, ...] = ("least-recently-failed", "fail-fast", "ignore-breakers")


class BreakerConfig(_Strict):
    """Circuit breakers per deployment, fed by every attempt the transport records."""

    enabled: bool = True
    consecutive_failures: PositiveInt = 5
    failure_rate: float = Field(default=0.5, gt=0.0, le=1.0)
    window_s: PositiveFloat = 60.0
    min_requests: PositiveInt = 10  # the failure-rate trigger needs at least this many outcomes in the window
    cooldown_s: PositiveFloat = 30.0
    half_open_probes: PositiveInt = 2  # probes admitted at once in half-open; this many successes close it
    # Attempt statuses that count as failures. `http_5xx` matches every 5xx. Others (400s) do not count.
    count: list[str] = Field(default_factory=lambda: ["http_429", "http_5xx", "timeout", "connection_error"])
    all_open_policy: str = "least-recently-failed"

    @field_validator("all_open_policy")
    @classmethod
    def _policy(cls, v: str) -> str:
        return _choice(v, BREAKER_POLICIES, "all-open policy")

    @field_validator("count")
    @classmethod
    def _count(cls, v: list[str]) -> list[str]:
        for status in v:
            if status == "ok" or not status.strip():
                raise ValueError(f"'{status}' cannot count as a failure; list error statuses such as http_503")
        return v


class UncertaintyConfig(_Strict):
    """Below `threshold` confidence a decision escalates (safer tier), explores, falls back, or only records."""

    threshold: float = Field(default=0.25, ge=0.0, le=1.0)
    action: Literal["escalate", "explore", "fallback", "record"] = "escalate"
    margin_scale: PositiveFloat = 0.15  # a score margin this large between the best two means full confidence
    prior_samples: PositiveFloat = 5.0  # confidence from n samples is n / (n + prior_samples)


class ExplorationConfig(_Strict):
    """Off by default. When on, every decision's propensity is the full probability of the chosen model."""

    mode: Literal["off", "epsilon-greedy", "softmax"] = "off"
    epsilon: float = Field(default=0.05, ge=0.0, le=1.0)
    temperature: PositiveFloat = 0.1
    floor: float = Field(default=0.01, ge=0.0, le=1.0)  # softmax: no candidate below this probability


class EmbeddingsConfig(_Strict):
    kind: Literal["hashed", "endpoint"] = "hashed"
    dim: PositiveInt = 384
    base_url: str | None = None  # endpoint only: an OpenAI-compatible server exposing /embeddings
    model: str | None = None
    api_key_env: str | None = None

    @model_validator(mode="after")
    def _endpoint(self) -> EmbeddingsConfig:
        if self.kind == "endpoint" and not (self.base_url and self.model):
            raise ValueError("kind 'endpoint' needs base_url and model (e.g. http://127.0.0.1:8080/v1, text-embed)")
        http_url(self.base_url)
        env_var_name(self.api_key_env)
        return self


class PatternConfig(_Strict):
    bank: str | None = None  # a saved pattern bank (.npz); None: start empty and route statically until built
    k: PositiveInt = 8
    brute_force_below: PositiveInt = 2000  # below this many patterns exact search beats building an HNSW graph
    merge_similarity: float = Field(default=0.97, gt=0.0, le=1.0)
    min_trust_uses: PositiveInt = 5  # trust is discounted until a pattern has this many uses
    embeddings: EmbeddingsConfig = Field(default_factory=EmbeddingsConfig)


class NeuralConfig(_Strict):
    weights: str | None = None  # saved FastGRNN weights (.npz); None: untrained, routes statically and says so
    hidden: PositiveInt = 16

