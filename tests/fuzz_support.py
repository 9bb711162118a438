"""Hypothesis strategies shared by the fuzz tests: JSON values, and mutations of a valid JSON document."""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck
from hypothesis import strategies as st

# Deterministic in CI: the same examples every run (derandomize). No per-example deadline and no "too slow" health
# check: on a shared 2-core machine generation time says nothing about the code under test.
FUZZ: dict[str, Any] = {"deadline": None, "derandomize": True, "database": None,
                        "suppress_health_check": [HealthCheck.too_slow]}

Path = tuple[str | int, ...]

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=20),
    st.sampled_from(["", " ", "openai/gpt-4o", "static", "tier", "http", "-1", "1e999", "\x00", "ünï/cödé"]),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)),
    max_leaves=12,
)


def paths(doc: Any, prefix: Path = ()) -> list[Path]:
    """Every path into a nested JSON document (the root included), depth first."""
    out = [prefix]
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += paths(v, (*prefix, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out += paths(v, (*prefix, i))
    return out


def _parent(doc: Any, path: Path) -> Any:
    for step in path[:-1]:
        doc = doc[step]
    return doc


def near(value: Any) -> st.SearchStrategy[Any]:
    """Values a hand-edited config plausibly holds instead of `value`: a wrong type, an edge number, a typo."""
    if isinstance(value, bool):
        return st.sampled_from([not value, "true", 1, None])
    if isinstance(value, int | float):
        return st.sampled_from([0, -1, -value, value * 1000, 0.5, str(value), math.inf, math.nan, None, True])
    if isinstance(value, str):
        return st.sampled_from(["", value[:-1], value.upper(), value + "x", f" {value}", 0, None, [value]])
    if isinstance(value, list):
        return st.sampled_from([[], [None], [*value, *value], {}, "x", None])
    return st.sampled_from([{}, [], None, "x", 0])


def mutate(draw: Callable[..., Any], base: Any, max_edits: int = 3) -> Any:
    """1..max_edits edits of a copy of `base`: replace a value (with a near or a random one), delete a key,
    add an unknown key, misspell a key."""
    doc = copy.deepcopy(base)
    for _ in range(draw(st.integers(1, max_edits))):
        path = draw(st.sampled_from(paths(doc)))
        op = draw(st.sampled_from(["near", "junk", "delete", "add", "typo"]))
        if not path:  # the root itself
            if op in ("near", "junk"):
                doc = draw(json_values if op == "junk" else near(doc))
            continue
        parent, key = _parent(doc, path), path[-1]
        if op == "near":
            parent[key] = draw(near(parent[key]))
        elif op == "junk":
            parent[key] = draw(json_values)
        elif op == "delete" and isinstance(parent, dict):
            del parent[key]
        elif op == "add" and isinstance(parent[key], dict):
            parent[key][draw(st.text(min_size=1, max_size=8))] = draw(json_values)
        elif op == "typo" and isinstance(parent, dict) and isinstance(key, str) and len(key) > 1:
            i = draw(st.integers(0, len(key) - 1))
            parent[key[:i] + key[i + 1 :]] = parent.pop(key)
    return doc
