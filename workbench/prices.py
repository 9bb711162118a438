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


def parse_litellm(data: Mapping[str, Any], source: str, version: str | None = None) -> PriceTable:
    entries: dict[str, ModelPrice] = {}
    for name, raw in data.items():
        if name.startswith("_") or name == "sample_spec" or not isinstance(raw, Mapping):
            continue
        if raw.get("mode", "chat") != "chat":
            continue
        entries[name] = _entry(name, raw, source)
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
