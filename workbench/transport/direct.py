"""Direct sends (`send --model/--provider/--base-url`): the deployment named and a config reaching it over HTTP.

Contract:
- `--model P/M` alone: provider P from the registry (its public base URL and key env var), aliases allowed.
- `--provider mock`: the mock server (default base URL http://127.0.0.1:8765/v1); the model defaults to the
  config's default model and keeps its fleet name, so `--provider mock --model gpt4` asks for `openai/gpt-4o`.
- `--provider P --model M`: `P/M` (M as given, unless it already starts with `P/`).
- `--base-url URL` without `--provider`: a custom OpenAI-compatible server (`custom/M`, M sent verbatim;
  key from $CUSTOM_API_KEY if set). With `--provider P`, it overrides P's base URL.
- `--wire anthropic|openai` overrides the wire format (e.g. the mock server's Anthropic endpoint).
"""

from __future__ import annotations

from pydantic import ValidationError

from workbench.config import ProviderConfig, WorkbenchConfig
from workbench.errors import BadInputError
from workbench.transport.providers import BUILTIN_PROVIDERS


def deployment_name(config: WorkbenchConfig, model: str | None, provider: str | None, base_url: str | None) -> str:
    if provider is None and base_url is not None:
        provider = "custom"
    if provider is None:
        if model is None:
            raise BadInputError("send: --model is needed when neither --provider nor --base-url is given")
        name = config.resolve(model)
        if "/" not in name:
            raise BadInputError(
                f"send --model {model}: write it as provider/model (e.g. openai/gpt-4o-mini), or pass --provider"
            )
        return name
    if provider == "mock":
        wanted = config.resolve(model or config.routing.default_model)
        return wanted if wanted.startswith("mock/") else f"mock/{wanted}"
    wanted = model or config.routing.default_model
    return wanted if wanted.startswith(f"{provider}/") else f"{provider}/{wanted}"


def direct_config(
    config: WorkbenchConfig,
    *,
    model: str | None = None,
    provider: str | None = None,
    base_url: str | None = None,
    wire: str | None = None,
) -> tuple[WorkbenchConfig, str]:
    """(a config whose only target is the named deployment over the http transport, that deployment)."""
    name = deployment_name(config, model, provider, base_url)
    target = name.split("/", 1)[0]
    if target not in BUILTIN_PROVIDERS and target not in config.providers:
        raise BadInputError(
            f"send: unknown provider '{target}'; use one of {', '.join(sorted(BUILTIN_PROVIDERS))} "
            f"or add providers.{target}.base_url to the config"
        )
    providers = dict(config.providers)
    if base_url is not None or wire is not None:
        current = providers.get(target) or ProviderConfig()
        data = current.model_dump(exclude_none=True)
        data.pop("api_key", None)  # re-attached below as the same SecretStr, never as text
        if base_url is not None:
            data["base_url"] = base_url
        if wire is not None:
            data["wire"] = wire
        try:
            updated = ProviderConfig.model_validate(data)
        except ValidationError as exc:
            reason = exc.errors()[0].get("msg", "invalid value").removeprefix("Value error, ")
            raise BadInputError(f"send --base-url/--wire: {reason}") from None
        if current.api_key is not None:
            updated = updated.model_copy(update={"api_key": current.api_key})
        providers[target] = updated
    derived = config.model_copy(
        update={
            "pipelines": {},
            "providers": providers,
            "transport": config.transport.model_copy(update={"kind": "http"}),
            "routing": config.routing.model_copy(update={"default_model": name}),
        }
    )
    return derived, name
