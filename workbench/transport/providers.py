"""The provider registry: base URL, key env var, wire format and headers per provider; `provider/model` resolution.

A model is named `provider/model` (`anthropic/claude-sonnet-4`, `together/mistralai/Mixtral-8x7B-...`):
the text before the first `/` picks the provider, the rest is the model it is asked for. Aliases
(config.BUILTIN_ALIASES plus `routing.aliases`) resolve first; `providers.<name>` in the config overrides a
built-in provider or adds a new OpenAI- or Anthropic-compatible one; `transport.model_params` adds
per-model request fields.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal

from workbench.errors import BadInputError

if TYPE_CHECKING:
    from workbench.config import WorkbenchConfig

Wire = Literal["openai", "anthropic"]

# The mock server's default address; `clawft-workbench mock-server` listens here unless told otherwise.
MOCK_BASE_URL = "http://127.0.0.1:8765/v1"
# Headers between the workbench and its own mock server only, so the simulated fleet can model quality
# by task type and complexity and report the true quality back (for label scoring). Real providers never see them.
TASK_HEADER = "x-clawft-task-type"
COMPLEXITY_HEADER = "x-clawft-complexity"
QUALITY_HEADER = "x-clawft-simulated-quality"


@dataclass(frozen=True, slots=True)
class ProviderSpec:
    """How to talk to one provider. `base_url` ends before the wire's path (`/chat/completions`, `/messages`)."""

    name: str
    base_url: str
    key_env: str | None  # the environment variable holding the key; None: the provider takes no key
    wire: Wire = "openai"
    headers: Mapping[str, str] = field(default_factory=dict)
    key_required: bool = True  # False for local servers (ollama, vllm) and the mock, where a key is optional
    # Short names used in this workbench -> the id the provider's API expects (dated or suffixed ids).
    model_ids: Mapping[str, str] = field(default_factory=dict)
    rpm: int | None = None
    tpm: int | None = None
    # True for the workbench's own mock server: requests carry the task type and complexity, and the
    # answer's simulated true quality comes back (see TASK_HEADER). Never set for a real provider.
    mock_server: bool = False


def _spec(name: str, base_url: str, key_env: str | None, **kw: Any) -> ProviderSpec:
    for key in ("headers", "model_ids"):
        if key in kw:
            kw[key] = MappingProxyType(dict(kw[key]))
    return ProviderSpec(name, base_url, key_env, **kw)


# Public base URLs of each provider's OpenAI-compatible (or Anthropic) endpoint, from their API docs.
BUILTIN_PROVIDERS: Mapping[str, ProviderSpec] = MappingProxyType(
    {
        s.name: s
        for s in (
            _spec("openai", "https://api.openai.com/v1", "OPENAI_API_KEY"),
            _spec(
                "anthropic",
                "https://api.anthropic.com/v1",
                "ANTHROPIC_API_KEY",
                wire="anthropic",
                headers={"anthropic-version": "2023-06-01"},
                model_ids={
                    "claude-sonnet-4": "claude-sonnet-4-20250514",
                    "claude-opus-4": "claude-opus-4-20250514",
                    "claude-3-5-haiku": "claude-3-5-haiku-20241022",
                },
            ),
            _spec("openrouter", "https://openrouter.ai/api/v1", "OPENROUTER_API_KEY",
                  headers={"X-Title": "clawft-workbench"}),
            _spec("groq", "https://api.groq.com/openai/v1", "GROQ_API_KEY",
                  model_ids={"llama-3.1-8b": "llama-3.1-8b-instant", "llama-3.3-70b": "llama-3.3-70b-versatile"}),
            _spec("deepseek", "https://api.deepseek.com/v1", "DEEPSEEK_API_KEY"),
            _spec("gemini", "https://generativelanguage.googleapis.com/v1beta/openai", "GEMINI_API_KEY"),
            _spec("mistral", "https://api.mistral.ai/v1", "MISTRAL_API_KEY",
                  model_ids={"mistral-small": "mistral-small-latest", "mistral-large": "mistral-large-latest"}),
            _spec("together", "https://api.together.xyz/v1", "TOGETHER_API_KEY"),
            _spec("fireworks", "https://api.fireworks.ai/inference/v1", "FIREWORKS_API_KEY"),
            _spec("xai", "https://api.x.ai/v1", "XAI_API_KEY"),
            _spec("moonshot", "https://api.moonshot.ai/v1", "MOONSHOT_API_KEY"),
            _spec("zhipu", "https://open.bigmodel.cn/api/paas/v4", "ZHIPUAI_API_KEY"),
            _spec("dashscope", "https://dashscope-intl.aliyuncs.com/compatible-mode/v1", "DASHSCOPE_API_KEY"),
            _spec("minimax", "https://api.minimax.io/v1", "MINIMAX_API_KEY"),
            _spec("ollama", "http://127.0.0.1:11434/v1", "OLLAMA_API_KEY", key_required=False),
            _spec("vllm", "http://127.0.0.1:8000/v1", "VLLM_API_KEY", key_required=False),
            # Any other OpenAI-compatible server: set providers.custom.base_url (or `send --base-url`).
            _spec("custom", "http://127.0.0.1:8000/v1", "CUSTOM_API_KEY", key_required=False),
            # The workbench's own mock server (`clawft-workbench mock-server`); it serves the simulated fleet's
            # names, so `mock/openai/gpt-4o-mini` asks it for `openai/gpt-4o-mini`.
            _spec("mock", MOCK_BASE_URL, "MOCK_API_KEY", key_required=False, mock_server=True),
        )
    }
)


@dataclass(frozen=True, slots=True)
class Deployment:
    """One resolved model: what the transport calls, where, and with which extra request fields."""

    name: str  # provider/model as routed and logged
    provider: ProviderSpec
    model: str  # the id sent on the wire
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def upstream(self) -> str:
        """The model name after the provider prefix (`mock/openai/gpt-4o` -> `openai/gpt-4o`)."""
        return self.name.split("/", 1)[1]


class ProviderRegistry:
    """Built-in providers with the config's overrides and additions, plus aliases and per-model params."""

    def __init__(
        self,
        providers: Mapping[str, ProviderSpec] = BUILTIN_PROVIDERS,
        *,
        aliases: Mapping[str, str] | None = None,
        model_params: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        self.providers = dict(providers)
        self.aliases = dict(aliases or {})
        self.model_params = {self.aliases.get(k, k): dict(v) for k, v in (model_params or {}).items()}

    @classmethod
    def from_config(cls, config: WorkbenchConfig) -> ProviderRegistry:
        from workbench.config import BUILTIN_ALIASES

        providers = dict(BUILTIN_PROVIDERS)
        for name, pc in config.providers.items():
            base = providers.get(name)
            if base is None:
                if pc.base_url is None:
                    raise BadInputError(
                        f"providers.{name}: '{name}' is not a built-in provider, so it needs a base_url "
                        f"(built-in: {', '.join(sorted(BUILTIN_PROVIDERS))})"
                    )
                env = pc.api_key_env or f"{name.upper().replace('-', '_')}_API_KEY"
                base = ProviderSpec(name, pc.base_url, env, key_required=False)
            providers[name] = replace(
                base,
                base_url=pc.base_url or base.base_url,
                key_env=pc.api_key_env or base.key_env,
                wire=pc.wire or base.wire,
                headers=MappingProxyType({**base.headers, **pc.headers}),
                rpm=pc.rpm or base.rpm,
                tpm=pc.tpm or base.tpm,
            )
        return cls(
            providers,
            aliases={**BUILTIN_ALIASES, **config.routing.aliases},
            model_params=config.transport.model_params,
        )

    def with_provider(self, spec: ProviderSpec) -> ProviderRegistry:
        """A copy with one provider added or replaced (the CLI's `send --base-url`)."""
        out = ProviderRegistry(self.providers, aliases=self.aliases)
        out.providers[spec.name] = spec
        out.model_params = dict(self.model_params)
        return out

    def canonical(self, model: str) -> str:
        return self.aliases.get(model, model)

    def knows(self, model: str) -> bool:
        name = self.canonical(model)
        return "/" in name and name.split("/", 1)[0] in self.providers

    def resolve(self, model: str) -> Deployment:
        """`provider/model` or an alias -> a Deployment. Unknown providers are a clear, fixable error."""
        name = self.canonical(model)
        if "/" not in name:
            raise BadInputError(
                f"model '{model}': write it as provider/model (e.g. openai/gpt-4o-mini) or add an alias "
                f"under routing.aliases"
            )
        provider_name, short = name.split("/", 1)
        spec = self.providers.get(provider_name)
        if spec is None:
            raise BadInputError(
                f"model '{model}': unknown provider '{provider_name}'; use one of "
                f"{', '.join(sorted(self.providers))}, or add providers.{provider_name}.base_url to the config"
            )
        wire_id = spec.model_ids.get(short, short)
        return Deployment(name, spec, wire_id, MappingProxyType(self.model_params.get(name, {})))
