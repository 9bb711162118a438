"""The workbench config: the plan's `config.json` (pipelines per task type) plus providers, models, routing.

Strict pydantic models: unknown keys and bad values are rejected with a JSON path and a reason a user
can act on; every field has a level-0 default so a minimal or old config still loads.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    Field,
    NonNegativeFloat,
    PositiveFloat,
    PositiveInt,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from workbench.config_base import SECRET_FIELDS, Strict, env_var_name, http_url, one_of
from workbench.domain import QUALITY_DIMENSIONS
from workbench.errors import ConfigError
from workbench.learning.settings import LearningConfig
from workbench.routing_config import (
    STRATEGIES,
    BreakerConfig,
    ComplexityConfig,
    DeploymentConfig,
    ExplorationConfig,
    NeuralConfig,
    PatternConfig,
    StrategyConfig,
    TiersConfig,
    UncertaintyConfig,
)

# Implementations build_pipeline knows, per stage. Validation names the choices when a value is off.
CLASSIFIERS: tuple[str, ...] = ("keyword", "complexity")
ROUTERS: tuple[str, ...] = ("static", *STRATEGIES, "tier", "pattern", "neural", "sona", "linucb", "thompson")
ASSEMBLERS: tuple[str, ...] = ("token-budget", "attention")
SCORERS: tuple[str, ...] = ("noop", "heuristic", "label", "judge")
# Learners update the state of their own router (sona, linucb, thompson; sona also feeds `pattern`).
LEARNERS: tuple[str, ...] = ("noop", "sona", "linucb", "thompson")

DEFAULT_KEYWORDS: dict[str, list[str]] = {
    "development": [
        "code", "function", "implement", "debug", "fix", "program", "script", "compile", "refactor",
        "class", "module", "bug", "review", "audit", "test", "python", "rust", "sql",
    ],
    "research": ["search", "find", "research", "look up", "sources", "cite", "literature"],
    "creative": ["write", "story", "poem", "haiku", "compose", "draft", "lyrics", "essay"],
    "analysis": ["analyze", "analyse", "explain", "summarize", "summarise", "compare", "evaluate", "assess", "why"],
    "triage": ["classify", "label", "route", "yes or no", "quick", "tl;dr"],
}

# Friendly names that resolve without any config. `routing.aliases` adds to these and wins on a clash.
# The plan's example config names families (claude-sonnet, llama-3.1-70b); they map to current models.
BUILTIN_ALIASES: dict[str, str] = {
    "gpt4": "openai/gpt-4o",
    "gpt-4o": "openai/gpt-4o",
    "gpt-4o-mini": "openai/gpt-4o-mini",
    "claude-sonnet": "anthropic/claude-sonnet-4",
    "claude-haiku": "anthropic/claude-3-5-haiku",
    "anthropic/claude-sonnet": "anthropic/claude-sonnet-4",
    "anthropic/claude-haiku": "anthropic/claude-3-5-haiku",
    "groq/llama-3.1-70b": "groq/llama-3.3-70b",
    "llama-8b": "groq/llama-3.1-8b",
}


_Strict = Strict
_one_of = one_of


class ContextConfig(_Strict):
    assembler: str = "token-budget"
    max_tokens: PositiveInt = 8000
    # attention assembler: recent turns always kept, the content-word floor below which a chunk is
    # dropped, and the softmax temperature over query-chunk cosine similarity.
    window: int = Field(default=4, ge=0)
    min_information: int = Field(default=2, ge=0)
    temperature: PositiveFloat = 0.1
    # Accepted so the plan's config.json loads; the workbench has no web or file-tree source to include.
    include_web_results: bool = False
    include_file_tree: bool = False

    @field_validator("assembler")
    @classmethod
    def _assembler(cls, v: str) -> str:
        return _one_of(v, ASSEMBLERS, "context assembler")


class QualityConfig(_Strict):
    scorer: str = "noop"
    # Relative weights of the five dimensions in `overall` (normalised to sum 1).
    weights: dict[str, NonNegativeFloat] = Field(
        default_factory=lambda: {"accuracy": 0.30, "relevance": 0.20, "completeness": 0.20, "coherence": 0.15,
                                 "safety": 0.15}
    )
    # reward = overall - cost_weight x cost in USD - latency_weight x latency in seconds. At the defaults a
    # $0.01 request costs 0.1 reward and a 10 s one 0.1: a model must be clearly better to be worth either.
    cost_weight: NonNegativeFloat = 10.0
    latency_weight: NonNegativeFloat = 0.01
    min_score: float | None = Field(default=None, ge=0.0, le=1.0)
    retry_if_below: bool = False
    min_tool_call_accuracy: float | None = Field(default=None, ge=0.0, le=1.0)
    # scorer 'judge': the model (provider/model or alias) that grades answers through the pipeline's transport;
    # None: routing.default_model.
    judge_model: str | None = None

    @field_validator("scorer")
    @classmethod
    def _scorer(cls, v: str) -> str:
        return _one_of(v, SCORERS, "quality scorer")

    @field_validator("weights")
    @classmethod
    def _weights(cls, v: dict[str, float]) -> dict[str, float]:
        for key in v:
            _one_of(key, QUALITY_DIMENSIONS, "quality dimension")
        if sum(v.values()) <= 0:
            raise ValueError("at least one quality weight must be positive")
        return v


class PipelineConfig(_Strict):
    classifier: str = "keyword"
    router: str = "static"
    preferred_models: list[str] = Field(default_factory=list)
    context: ContextConfig = Field(default_factory=ContextConfig)
    quality: QualityConfig = Field(default_factory=QualityConfig)
    learner: str = "noop"
    learning: LearningConfig = Field(default_factory=LearningConfig)  # read only when learner is not noop

    @field_validator("classifier")
    @classmethod
    def _classifier(cls, v: str) -> str:
        return _one_of(v, CLASSIFIERS, "classifier")

    @field_validator("router")
    @classmethod
    def _router(cls, v: str) -> str:
        return _one_of(v, ROUTERS, "router")

    @field_validator("learner")
    @classmethod
    def _learner(cls, v: str) -> str:
        return _one_of(v, LEARNERS, "learner")

    @field_validator("preferred_models")
    @classmethod
    def _models(cls, v: list[str]) -> list[str]:
        for m in v:
            if not m.strip():
                raise ValueError("empty model name; write models as provider/model, e.g. openai/gpt-4o-mini")
        return v


# Header names and values that carry credentials (names: Authorization, x-api-key, Ocp-Apim-Subscription-Key,
# Cookie, ...; values: `Bearer ...`, `Basic ...`, `sk-...` keys). Such headers are refused: headers are exported.
_CREDENTIAL_HEADER_WORDS = ("auth", "key", "token", "secret", "cookie", "password")
_CREDENTIAL_VALUE = re.compile(r"(?i)^\s*(bearer|basic|token)\s+\S{6,}|\bsk-[A-Za-z0-9_-]{12,}")


class ProviderConfig(_Strict):
    """Overrides for a built-in provider (workbench.transport.providers), or a new OpenAI/Anthropic-compatible one."""

    base_url: str | None = None
    api_key_env: str | None = None
    api_key: SecretStr | None = None
    # None: the built-in provider's wire format (openai for a provider the registry does not know).
    wire: Literal["openai", "anthropic"] | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    # Client-side token buckets (requests / tokens per minute); None: no local limit.
    rpm: PositiveInt | None = None
    tpm: PositiveInt | None = None

    @field_validator("base_url")
    @classmethod
    def _url(cls, v: str | None) -> str | None:
        return http_url(v)

    @field_validator("api_key_env")
    @classmethod
    def _env(cls, v: str | None) -> str | None:
        return env_var_name(v)

    @field_validator("headers")
    @classmethod
    def _no_secret_headers(cls, v: dict[str, str]) -> dict[str, str]:
        # Headers are exported with the config; a key in them would leak. Keys belong in api_key / api_key_env.
        for name, value in v.items():
            if any(word in name.lower() for word in _CREDENTIAL_HEADER_WORDS) or _CREDENTIAL_VALUE.search(value):
                raise ValueError(
                    f"header '{name}' looks like a credential; put the key in `api_key` or name its "
                    f"environment variable in `api_key_env` (both are kept out of exports and logs)"
                )
        return v


class ModelConfig(_Strict):
    input_cost_per_token: NonNegativeFloat = 0.0
    output_cost_per_token: NonNegativeFloat = 0.0
    context_window: PositiveInt = 128_000
    capabilities: list[str] = Field(default_factory=list)


class RoutingConfig(_Strict):
    default_model: str = "openai/gpt-4o-mini"
    default_task_type: str = "triage"
    aliases: dict[str, str] = Field(default_factory=dict)
    keywords: dict[str, list[str]] = Field(default_factory=lambda: {k: list(v) for k, v in DEFAULT_KEYWORDS.items()})
    # Routing intelligence (workbench/routing_config.py documents each default; all level-0 compatible).
    complexity: ComplexityConfig = Field(default_factory=ComplexityConfig)
    tiers: TiersConfig = Field(default_factory=TiersConfig)
    strategy: StrategyConfig = Field(default_factory=StrategyConfig)
    deployments: dict[str, DeploymentConfig] = Field(default_factory=dict)
    breaker: BreakerConfig = Field(default_factory=BreakerConfig)
    uncertainty: UncertaintyConfig = Field(default_factory=UncertaintyConfig)
    exploration: ExplorationConfig = Field(default_factory=ExplorationConfig)
    pattern: PatternConfig = Field(default_factory=PatternConfig)
    neural: NeuralConfig = Field(default_factory=NeuralConfig)


class RetryConfig(_Strict):
    """Retries per deployment: exponential backoff with full jitter, Retry-After as a floor."""

    max_retries: int = Field(default=2, ge=0, le=10)
    backoff_initial_s: PositiveFloat = 0.5
    backoff_cap_s: PositiveFloat = 8.0
    # A Retry-After longer than this is not waited out: the transport moves on to the next fallback.
    max_retry_after_s: PositiveFloat = 60.0


class TimeoutsConfig(_Strict):
    """httpx timeouts per phase, in seconds; `read` is the longest gap allowed between two bytes of a stream."""

    connect: PositiveFloat = 5.0
    read: PositiveFloat = 60.0
    write: PositiveFloat = 10.0
    pool: PositiveFloat = 5.0


class FleetEventConfig(_Strict):
    """One scheduled event of the simulated fleet, against its request counter or its clock (seconds)."""

    kind: Literal["outage", "burst_429", "slow_stream", "drift"]
    model: str
    start: NonNegativeFloat = 0.0
    end: NonNegativeFloat | None = None  # exclusive; None: to the end (a drift never ends)
    unit: Literal["request", "time"] = "request"
    task_type: str | None = None  # drift: the task type it affects; None: every task type
    quality_delta: float = Field(default=0.0, ge=-1.0, le=1.0)  # drift: change in expected quality
    rate: float = Field(default=1.0, gt=0.0, le=1.0)  # burst_429: chance an attempt in the window gets a 429
    retry_after_s: NonNegativeFloat = 2.0  # burst_429
    factor: float = Field(default=4.0, ge=1.0)  # slow_stream: TTFT x factor and tokens/s / factor

    @model_validator(mode="after")
    def _window(self) -> FleetEventConfig:
        if self.end is not None and self.end <= self.start:
            raise ValueError(f"end ({self.end}) must be after start ({self.start})")
        if self.kind == "drift" and self.quality_delta == 0.0:
            raise ValueError("a drift needs a non-zero quality_delta (e.g. -0.2: the model gets worse)")
        return self


# Request fields the transport itself sets; a per-model override of them would break the request.
RESERVED_MODEL_PARAMS: tuple[str, ...] = ("model", "messages", "stream", "stream_options", "tools", "system")


class TransportConfig(_Strict):
    kind: Literal["simulated", "http"] = "simulated"
    seed: int = 0
    retry: RetryConfig = Field(default_factory=RetryConfig)
    timeouts: TimeoutsConfig = Field(default_factory=TimeoutsConfig)
    # Every request ends with a recorded outcome within this many seconds, retries and fallbacks included.
    deadline_s: PositiveFloat = 120.0
    max_fallbacks: int = Field(default=5, ge=0, le=5)
    max_connections: PositiveInt = 100
    # provider/model (or alias) -> extra request fields, e.g. {"openai/gpt-4o": {"temperature": 0.2}}.
    model_params: dict[str, dict[str, Any]] = Field(default_factory=dict)
    # A litellm-format model_prices_and_context_window.json laid over the shipped price table.
    price_file: str | None = None
    # Scheduled outages, 429 bursts, slow streams and quality drift of the simulated fleet.
    events: list[FleetEventConfig] = Field(default_factory=list)

    @field_validator("model_params")
    @classmethod
    def _params(cls, v: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        for model, params in v.items():
            bad = sorted(set(params) & set(RESERVED_MODEL_PARAMS))
            if bad:
                raise ValueError(
                    f"model_params for '{model}' sets {', '.join(bad)}, which the transport owns; "
                    f"remove them (allowed: sampling fields such as temperature, top_p, max_tokens, stop, seed)"
                )
        return v


class StoreConfig(_Strict):
    # What the trajectory store keeps of prompts, messages and responses: the text, the text with emails, API
    # keys and long numbers masked, or only a sha256 of it. Recorded on every row.
    privacy: Literal["full", "redacted", "hash-only"] = "full"


class TuiConfig(_Strict):
    """The TUI's keys and theme. Names are checked by the TUI (the core does not import Textual)."""

    # binding id -> key(s), e.g. {"traffic": "ctrl+g", "screen_compare": "f7"}; F1 help lists the ids in effect.
    keys: dict[str, str] = Field(default_factory=dict)
    theme: str = "textual-dark"


class WorkbenchConfig(_Strict):
    pipelines: dict[str, PipelineConfig] = Field(default_factory=dict)
    providers: dict[str, ProviderConfig] = Field(default_factory=dict)
    models: dict[str, ModelConfig] = Field(default_factory=dict)
    routing: RoutingConfig = Field(default_factory=RoutingConfig)
    transport: TransportConfig = Field(default_factory=TransportConfig)
    store: StoreConfig = Field(default_factory=StoreConfig)
    tui: TuiConfig = Field(default_factory=TuiConfig)
    # Where an exported (tuned) config came from: source log, estimator, metrics, date. Informational only:
    # it never changes behaviour and is left out of the config hash.
    provenance: dict[str, Any] | None = None

    def reference_problems(self) -> list[str]:
        """Cross-field checks (model references, aliases) that a single field validator cannot see."""
        problems: list[str] = []
        for name, target in self.routing.aliases.items():
            if "/" not in target:
                problems.append(f"routing.aliases.{name}: alias target '{target}' must be provider/model")
        refs = [("routing.default_model", self.routing.default_model)]
        for task, p in self.pipelines.items():
            refs += [(f"pipelines.{task}.preferred_models.{i}", m) for i, m in enumerate(p.preferred_models)]
        for where, ref in refs:
            if "/" not in ref and ref not in self.routing.aliases and ref not in BUILTIN_ALIASES:
                problems.append(
                    f"{where}: '{ref}' is neither provider/model nor an alias; write it as provider/model "
                    f"(e.g. openai/gpt-4o-mini) or add it to routing.aliases"
                )
        for name in self.models:
            if "/" not in name:
                problems.append(f"models.{name}: model names must be provider/model")
        return problems

    def resolve(self, model: str) -> str:
        """An alias or provider/model -> provider/model."""
        return self.routing.aliases.get(model) or BUILTIN_ALIASES.get(model, model)

    def pipeline_for(self, task_type: str) -> PipelineConfig:
        return self.pipelines.get(task_type) or self.pipelines.get("default") or PipelineConfig()

    def public_dict(self) -> dict[str, Any]:
        """The effective config with every default filled in and secrets left out: safe to export."""
        data = self.model_dump(mode="json", exclude_none=True)
        for prov in data.get("providers", {}).values():
            prov.pop("api_key", None)
        return data

    def config_hash(self) -> str:
        data = self.public_dict()
        data.pop("tui", None)  # keys and theme do not change what a pipeline does
        data.pop("provenance", None)  # the same pipeline exported twice is the same pipeline
        blob = json.dumps(data, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _path(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(p) for p in loc) or "(top level)"


def _reason(err: Mapping[str, Any]) -> str:
    kind = err.get("type", "")
    loc = err.get("loc", ())
    if kind == "extra_forbidden":
        key = str(loc[-1]) if loc else "?"
        known = _known_keys(loc[:-1])
        hint = difflib.get_close_matches(key, known, n=1)
        did = f" (did you mean '{hint[0]}'?)" if hint else ""
        return f"unknown key '{key}'{did}; allowed keys: {', '.join(known)}"
    msg = str(err.get("msg", "invalid value"))
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    if any(str(part) in SECRET_FIELDS for part in loc):
        return msg  # the value may be a key: name the field, never repeat what it holds
    if "input" in err and kind not in ("missing",) and not isinstance(err["input"], dict | list):
        msg = f"{msg} (got {err['input']!r})"
    return msg


def _known_keys(loc: tuple[int | str, ...]) -> list[str]:
    """The field names allowed at a location, for 'did you mean' hints."""
    model: Any = WorkbenchConfig
    i = 0
    while i < len(loc):
        field = model.model_fields.get(str(loc[i]))
        if field is None:
            return []
        ann = field.annotation
        args = getattr(ann, "__args__", ())
        if args and getattr(ann, "__origin__", None) is dict:
            i += 1  # skip the dict key (task type, provider name, ...)
            ann = args[1]
        elif args and getattr(ann, "__origin__", None) is list:
            i += 1  # skip the list index (transport.events.0, ...)
            ann = args[0]
        model = ann
        i += 1
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return []
    return list(model.model_fields)


def parse_config(data: Any, source: str = "config") -> WorkbenchConfig:
    if not isinstance(data, dict):
        raise ConfigError(source, [f"(top level): expected a JSON object, got {type(data).__name__}"])
    try:
        cfg = WorkbenchConfig.model_validate(data)
    except ValidationError as exc:
        problems = [f"{_path(tuple(e.get('loc', ())))}: {_reason(e)}" for e in exc.errors()]
        raise ConfigError(source, problems) from None
    problems = cfg.reference_problems()
    if problems:
        raise ConfigError(source, problems)
    return cfg


def embedded_config() -> WorkbenchConfig:
    """The config used when none is given: a pipeline per task type over the simulated fleet."""
    from importlib import resources

    text = resources.files("workbench").joinpath("data/default_config.json").read_text(encoding="utf-8")
    return parse_config(json.loads(text), "workbench/data/default_config.json (embedded default)")


def load_config(path: str | os.PathLike[str] | None) -> WorkbenchConfig:
    """Load a config file, or the embedded default config when `path` is None."""
    if path is None:
        return embedded_config()
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(str(p), ["(file): not found; check the path or pass --config an existing file"]) from None
    except OSError as exc:
        raise ConfigError(str(p), [f"(file): cannot read: {exc.strerror}"]) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(str(p), [f"line {exc.lineno} column {exc.colno}: not valid JSON: {exc.msg}"]) from None
    return parse_config(data, str(p))


def json_schema() -> dict[str, Any]:
    return WorkbenchConfig.model_json_schema()
