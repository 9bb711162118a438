"""The workbench config: the plan's `config.json` (pipelines per task type) plus providers, models, routing.

Strict pydantic models: unknown keys and bad values are rejected with a JSON path and a reason a user
can act on; every field has a level-0 default so a minimal or old config still loads.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeFloat,
    PositiveInt,
    SecretStr,
    ValidationError,
    field_validator,
)

from workbench.errors import ConfigError

# Implementations build_pipeline knows, per stage. Validation names the choices when a value is off.
CLASSIFIERS: tuple[str, ...] = ("keyword",)
ROUTERS: tuple[str, ...] = ("static", "cost-based")
ASSEMBLERS: tuple[str, ...] = ("token-budget",)
SCORERS: tuple[str, ...] = ("noop",)
LEARNERS: tuple[str, ...] = ("noop",)

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


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


def _one_of(value: str, choices: tuple[str, ...], what: str) -> str:
    if value not in choices:
        hint = difflib.get_close_matches(value, choices, n=1)
        did = f" (did you mean '{hint[0]}'?)" if hint else ""
        raise ValueError(f"unknown {what} '{value}'{did}; choose one of: {', '.join(choices)}")
    return value


class ContextConfig(_Strict):
    assembler: str = "token-budget"
    max_tokens: PositiveInt = 8000
    # Accepted so the plan's config.json loads; the workbench has no web or file-tree source to include.
    include_web_results: bool = False
    include_file_tree: bool = False

    @field_validator("assembler")
    @classmethod
    def _assembler(cls, v: str) -> str:
        return _one_of(v, ASSEMBLERS, "context assembler")


class QualityConfig(_Strict):
    scorer: str = "noop"
    min_score: float | None = Field(default=None, ge=0.0, le=1.0)
    retry_if_below: bool = False
    min_tool_call_accuracy: float | None = Field(default=None, ge=0.0, le=1.0)

    @field_validator("scorer")
    @classmethod
    def _scorer(cls, v: str) -> str:
        return _one_of(v, SCORERS, "quality scorer")


class PipelineConfig(_Strict):
    classifier: str = "keyword"
    router: str = "static"
    preferred_models: list[str] = Field(default_factory=list)
    context: ContextConfig = Field(default_factory=ContextConfig)
    quality: QualityConfig = Field(default_factory=QualityConfig)
    learner: str = "noop"

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


class ProviderConfig(_Strict):
    base_url: str | None = None
    api_key_env: str | None = None
    api_key: SecretStr | None = None
    wire: Literal["openai", "anthropic"] = "openai"
    headers: dict[str, str] = Field(default_factory=dict)

    @field_validator("base_url")
    @classmethod
    def _url(cls, v: str | None) -> str | None:
        if v is not None and not v.startswith(("http://", "https://")):
            raise ValueError(f"base_url must start with http:// or https://, got '{v}'")
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


class TransportConfig(_Strict):
    kind: Literal["simulated", "http"] = "simulated"
    seed: int = 0


class WorkbenchConfig(_Strict):
    pipelines: dict[str, PipelineConfig] = Field(default_factory=dict)
    providers: dict[str, ProviderConfig] = Field(default_factory=dict)
    models: dict[str, ModelConfig] = Field(default_factory=dict)
    routing: RoutingConfig = Field(default_factory=RoutingConfig)
    transport: TransportConfig = Field(default_factory=TransportConfig)

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
        blob = json.dumps(self.public_dict(), sort_keys=True, separators=(",", ":"))
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
