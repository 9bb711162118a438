"""Config fuzzing: 1,100 generated configs, mutations of real ones and random junk. Every one either builds a
pipeline or is rejected with ConfigError (or another BadInputError) naming a dotted path and a reason; no other
exception ever escapes."""

from __future__ import annotations

import json
from collections import Counter
from importlib import resources
from typing import Any

from fuzz_support import FUZZ, json_values, mutate
from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.config import WorkbenchConfig, embedded_config, parse_config
from workbench.errors import BadInputError, ConfigError
from workbench.pipeline import build_pipeline

SECTIONS = tuple(WorkbenchConfig.model_fields)
DEFAULT = json.loads(resources.files("workbench").joinpath("data/default_config.json").read_text(encoding="utf-8"))
BASES: list[dict[str, Any]] = [
    DEFAULT,
    embedded_config().public_dict(),  # every field spelled out: the widest surface to mutate
    {"transport": {"kind": "http", "deadline_s": 60, "model_params": {"openai/gpt-4o": {"temperature": 0.2}}},
     "providers": {"openai": {"rpm": 500, "api_key": "sk-fuzz-0000000000000000"}},
     "pipelines": {"default": {"preferred_models": ["openai/gpt-4o-mini"]}}},
    {"pipelines": {"default": {"classifier": "complexity", "router": "tier", "learner": "noop"},
                   "triage": {"router": "linucb", "preferred_models": ["groq/llama-3.1-8b", "openai/gpt-4o-mini"]}},
     "routing": {"exploration": {"mode": "epsilon-greedy", "epsilon": 0.05}}},
]


def check(data: Any, outcomes: Counter[str]) -> None:
    """The property: a built pipeline, or a rejection whose every line is `dotted.path: reason`."""
    try:
        config = parse_config(data, "fuzz")
    except ConfigError as exc:
        assert_lines(exc)
        outcomes["rejected by the loader"] += 1
        return
    try:
        registry = build_pipeline(config, seed=0)
    except ConfigError as exc:
        assert_lines(exc)
        outcomes["rejected by build_pipeline"] += 1
        return
    except BadInputError as exc:  # e.g. MissingKeyError: names the env var and the config path to set
        assert "providers." in str(exc) or "routing." in str(exc), str(exc)
        outcomes["rejected by build_pipeline"] += 1
        return
    assert registry.default.pipeline_id == "default"
    outcomes["built"] += 1


def assert_lines(exc: ConfigError) -> None:
    assert exc.problems, "a ConfigError without problems"
    for line in exc.problems:
        path, sep, reason = line.partition(": ")
        assert sep and reason.strip(), f"no reason in {line!r}"
        top = path.split(".")[0]
        assert path == "(top level)" or top in SECTIONS or (path == top and reason.startswith("unknown key")), (
            f"no dotted config path in {line!r}")
    assert "Traceback" not in str(exc)


def test_mutated_configs_build_or_name_path_and_reason() -> None:
    outcomes: Counter[str] = Counter()

    @settings(max_examples=700, **FUZZ)
    @given(st.data())
    def run(data: st.DataObject) -> None:
        base = data.draw(st.sampled_from(BASES))
        check(mutate(data.draw, base), outcomes)

    run()
    print(f"\nmutated configs: {dict(outcomes)}")
    assert sum(outcomes.values()) >= 700
    # Both sides of the property were exercised, not only one.
    assert outcomes["built"] >= 50 and outcomes["rejected by the loader"] >= 300


def test_random_junk_is_rejected_with_path_and_reason() -> None:
    outcomes: Counter[str] = Counter()
    junk = st.one_of(json_values, st.dictionaries(st.sampled_from([*SECTIONS, "x"]), json_values, max_size=4))

    @settings(max_examples=400, **FUZZ)
    @given(junk)
    def run(data: Any) -> None:
        check(data, outcomes)

    run()
    print(f"\nrandom configs: {dict(outcomes)}")
    assert sum(outcomes.values()) >= 400 and outcomes["rejected by the loader"] >= 300
