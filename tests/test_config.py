"""Config loading: the plan's format, level-0 defaults, and errors with a path and a reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from workbench.config import PipelineConfig, WorkbenchConfig, json_schema, load_config, parse_config
from workbench.errors import ConfigError

PLAN_EXAMPLE = {
    "pipelines": {
        "research": {
            "router": "cost-based",
            "preferred_models": ["anthropic/claude-sonnet", "openai/gpt-4o"],
            "context": {"max_tokens": 100000, "include_web_results": True},
            "quality": {"min_score": 0.8, "retry_if_below": True},
        },
        "development": {
            "router": "static",
            "preferred_models": ["anthropic/claude-sonnet", "groq/llama-3.1-70b"],
            "context": {"max_tokens": 32000, "include_file_tree": True},
            "quality": {"min_tool_call_accuracy": 0.95},
        },
        "triage": {
            "router": "cost-based",
            "preferred_models": ["groq/llama-3.1-8b", "anthropic/claude-haiku"],
            "context": {"max_tokens": 4000},
            "quality": {"min_score": 0.5},
        },
    }
}


def problems(data: object) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(data)
    return info.value.problems


def test_minimal_config_takes_level0_defaults() -> None:
    cfg = parse_config({"pipelines": {"triage": {"router": "static", "preferred_models": ["groq/llama-3.1-8b"]}}})
    triage = cfg.pipelines["triage"]
    assert triage.context.max_tokens == PipelineConfig().context.max_tokens
    assert triage.quality.scorer == "noop" and triage.learner == "noop" and triage.classifier == "keyword"
    assert cfg.transport.kind == "simulated"
    # A task type without a pipeline falls back to the default one.
    assert cfg.pipeline_for("creative") == PipelineConfig()


def test_plan_example_loads_and_resolves_family_aliases() -> None:
    cfg = parse_config(PLAN_EXAMPLE)
    assert cfg.resolve("anthropic/claude-sonnet") == "anthropic/claude-sonnet-4"
    assert cfg.pipelines["research"].context.include_web_results is True


def test_typo_in_key_names_path_and_suggestion() -> None:
    found = problems({"pipelines": {"triage": {"routr": "static"}}})
    assert len(found) == 1
    assert found[0].startswith("pipelines.triage.routr: unknown key 'routr'")
    assert "did you mean 'router'" in found[0]


def test_negative_price_names_path() -> None:
    found = problems({"models": {"acme/m1": {"input_cost_per_token": -1e-6}}})
    assert found[0].startswith("models.acme/m1.input_cost_per_token:")
    assert "greater than or equal to 0" in found[0]


def test_unknown_router_lists_choices() -> None:
    found = problems({"pipelines": {"triage": {"router": "cost-base"}}})
    assert "did you mean 'cost-based'" in found[0] and "static" in found[0]


def test_model_reference_must_be_provider_model_or_alias() -> None:
    found = problems({"pipelines": {"triage": {"preferred_models": ["llama"]}}})
    assert found[0].startswith("pipelines.triage.preferred_models.0: 'llama' is neither provider/model nor an alias")
    cfg = parse_config({"routing": {"aliases": {"llama": "groq/llama-3.1-8b"}},
                        "pipelines": {"triage": {"preferred_models": ["llama"]}}})
    assert cfg.resolve("llama") == "groq/llama-3.1-8b"


def test_every_problem_is_reported_at_once() -> None:
    found = problems({"pipelinez": {}, "models": {"a/b": {"context_window": 0}}})
    assert {p.split(":")[0] for p in found} == {"pipelinez", "models.a/b.context_window"}


def test_non_object_and_bad_json(tmp_path: Path) -> None:
    assert problems([1, 2])[0].startswith("(top level): expected a JSON object")
    bad = tmp_path / "bad.json"
    bad.write_text('{"pipelines": {,}}')
    with pytest.raises(ConfigError) as info:
        load_config(bad)
    assert info.value.problems[0].startswith("line 1 column 16: not valid JSON")
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "missing.json")
    assert "not found" in info.value.problems[0]


def test_public_dict_leaves_out_keys_and_hash_is_stable() -> None:
    cfg = parse_config({"providers": {"openai": {"api_key": "sk-planted-secret-123"}}})
    exported = json.dumps(cfg.public_dict())
    assert "sk-planted-secret-123" not in exported
    assert "sk-planted-secret-123" not in repr(cfg)
    assert cfg.config_hash() == parse_config({"providers": {"openai": {"api_key": "sk-other"}}}).config_hash()
    assert cfg.config_hash() != WorkbenchConfig(routing={"default_model": "openai/gpt-4o"}).config_hash()


def test_exported_config_round_trips() -> None:
    cfg = parse_config(PLAN_EXAMPLE)
    again = parse_config(cfg.public_dict())
    assert again == cfg and again.config_hash() == cfg.config_hash()


def test_json_schema_describes_pipelines() -> None:
    schema = json_schema()
    assert "pipelines" in schema["properties"]
    assert "PipelineConfig" in schema["$defs"]
