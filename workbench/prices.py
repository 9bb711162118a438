"""Per-model prices, context windows and capabilities, with the version every logged cost names.

A small curated table ships with the package (litellm field names); a user-supplied litellm-format
`model_prices_and_context_window.json` or the config's `models` section override it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from workbench.errors import BadInputError

_CAPABILITY_FLAGS = {
    "supports_function_calling": "tools",
    "supports_vision": "vision",
    "supports_response_schema": "json_schema",
}


@dataclass(frozen=True, slots=True)
class ModelPrice:
    input_per_token: float
    output_per_token: float
    context_window: int
    capabilities: frozenset[str]

    def cost(self, input_tokens: int, output_tokens: int) -> float:
        return input_tokens * self.input_per_token + output_tokens * self.output_per_token


class PriceTable:
    def __init__(self, entries: Mapping[str, ModelPrice], version: str) -> None:
        self._entries = dict(entries)
        self.version = version

    def __contains__(self, model: str) -> bool:
        return model in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def models(self) -> list[str]:
        return sorted(self._entries)

    def items(self) -> list[tuple[str, ModelPrice]]:
        return list(self._entries.items())

    def get(self, model: str) -> ModelPrice | None:
        return self._entries.get(model)

    def cost(self, model: str, input_tokens: int, output_tokens: int) -> float:
        price = self._entries.get(model)
        return price.cost(input_tokens, output_tokens) if price else 0.0

    def merged(self, overrides: Mapping[str, ModelPrice], tag: str) -> PriceTable:
        """A new table with `overrides` on top; the version says so, so logged costs stay traceable."""
        if not overrides:
            return self
        entries = {**self._entries, **overrides}
        return PriceTable(entries, f"{self.version}+{tag}")


def _entry(name: str, raw: Mapping[str, Any], source: str) -> ModelPrice:
    try:
        inp = float(raw.get("input_cost_per_token", 0.0))
        out = float(raw.get("output_cost_per_token", 0.0))
        window = int(raw.get("max_input_tokens") or raw.get("max_tokens") or 128_000)
    except (TypeError, ValueError) as exc:
        raise BadInputError(f"{source}: model '{name}': bad price field ({exc})") from None
    if inp < 0 or out < 0 or window <= 0:
        raise BadInputError(f"{source}: model '{name}': prices must be >= 0 and the context window > 0")
    caps = frozenset(cap for flag, cap in _CAPABILITY_FLAGS.items() if raw.get(flag))
    return ModelPrice(inp, out, window, caps)


# litellm's `litellm_provider` values -> this workbench's provider names (workbench.transport.providers).
LITELLM_PROVIDERS: dict[str, str] = {
    "openai": "openai",
    "text-completion-openai": "openai",
    "anthropic": "anthropic",
    "openrouter": "openrouter",
    "groq": "groq",
    "deepseek": "deepseek",
    "gemini": "gemini",
    "mistral": "mistral",
    "codestral": "mistral",
    "together_ai": "together",
    "fireworks_ai": "fireworks",
    "xai": "xai",
    "moonshot": "moonshot",
    "zai": "zhipu",
    "zhipuai": "zhipu",
    "dashscope": "dashscope",
    "minimax": "minimax",
    "ollama": "ollama",
    "ollama_chat": "ollama",
    "hosted_vllm": "vllm",
}


def _workbench_name(name: str, raw: Mapping[str, Any]) -> str | None:
    """`provider/model` under this workbench's provider names for a litellm key, or None when it has no mapping.

    litellm keys are bare for some providers (`gpt-4o`, `claude-sonnet-4-20250514`) and prefixed with
    litellm's own provider name for others (`together_ai/...`); routing here always uses `provider/model`.
    """
    litellm_provider = str(raw.get("litellm_provider", ""))
    ours = LITELLM_PROVIDERS.get(litellm_provider)
    if ours is None:
        return None
    for prefix in (f"{litellm_provider}/", f"{ours}/"):
        if name.startswith(prefix):
            return f"{ours}/{name[len(prefix):]}"
    return f"{ours}/{name}"


def parse_litellm(data: Mapping[str, Any], source: str, version: str | None = None) -> PriceTable:
    entries: dict[str, ModelPrice] = {}
    for name, raw in data.items():
        if name.startswith("_") or name == "sample_spec" or not isinstance(raw, Mapping):
            continue
        if raw.get("mode", "chat") != "chat":
            continue
        entry = _entry(name, raw, source)
        entries[name] = entry
        alias = _workbench_name(name, raw)
        if alias is not None:
            entries.setdefault(alias, entry)
    if version is None:
        blob = json.dumps(data, sort_keys=True).encode()
        version = f"litellm-{hashlib.sha256(blob).hexdigest()[:12]}"
    return PriceTable(entries, version)


def shipped_prices() -> PriceTable:
    text = resources.files("workbench").joinpath("data/prices.json").read_text(encoding="utf-8")
    data = json.loads(text)
    return parse_litellm(data, "workbench/data/prices.json", version=str(data["_version"]))


def load_litellm_file(path: str | Path) -> PriceTable:
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BadInputError(f"{p}: price file not found") from None
    except json.JSONDecodeError as exc:
        raise BadInputError(f"{p}: line {exc.lineno} column {exc.colno}: not valid JSON: {exc.msg}") from None
    if not isinstance(data, dict):
        raise BadInputError(f"{p}: expected a JSON object of model name -> price entry")
    return parse_litellm(data, str(p))


def load_prices(price_file: str | Path | None = None) -> PriceTable:
    """The shipped table, with a user's litellm price file laid over it when one is named.

    The version names both (`curated-...+litellm-<hash>`), so every logged cost says which prices it used.
    """
    table = shipped_prices()
    if price_file is None:
        return table
    try:
        user = load_litellm_file(price_file)
    except BadInputError as exc:
        raise BadInputError(f"transport.price_file: {exc}; point it at a litellm model_prices JSON file") from None
    return table.merged(dict(user.items()), user.version)
