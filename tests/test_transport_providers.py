"""Provider registry, config for the transport, litellm price files, and the simulated fleet's schedule."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from workbench.config import parse_config
from workbench.domain import LlmResponse, Message, TransportRequest
from workbench.errors import BadInputError, ConfigError
from workbench.pipeline import build_pipeline
from workbench.pipeline.build import price_table
from workbench.prices import load_prices, shipped_prices
from workbench.transport.http import HttpTransport
from workbench.transport.providers import BUILTIN_PROVIDERS, ProviderRegistry
from workbench.transport.schedule import FleetSchedule, burst_429, drift, outage, slow_stream
from workbench.transport.simulated import SimulatedTransport

REQUIRED = {"openai", "anthropic", "openrouter", "groq", "deepseek", "gemini", "mistral", "together", "fireworks",
            "xai", "moonshot", "zhipu", "dashscope", "minimax", "ollama", "vllm", "custom"}


# -- the registry ----------------------------------------------------------------------------------
def test_the_registry_has_every_required_provider() -> None:
    assert set(BUILTIN_PROVIDERS) >= REQUIRED
    for name, spec in BUILTIN_PROVIDERS.items():
        assert spec.base_url.startswith(("https://", "http://127.0.0.1")), name
        assert spec.key_env and spec.key_env.endswith("_API_KEY") and spec.key_env.isupper(), name
        assert spec.key_required == (spec.base_url.startswith("https://")), name  # local servers need no key
    assert BUILTIN_PROVIDERS["anthropic"].wire == "anthropic"
    assert BUILTIN_PROVIDERS["anthropic"].headers["anthropic-version"] == "2023-06-01"
    assert {s.wire for n, s in BUILTIN_PROVIDERS.items() if n != "anthropic"} == {"openai"}
    assert BUILTIN_PROVIDERS["gemini"].base_url.endswith("/openai")  # gemini through its OpenAI-compatible API


def test_prefix_routing_aliases_and_model_ids() -> None:
    reg = ProviderRegistry(aliases={"gpt4": "openai/gpt-4o", "fast": "groq/llama-3.1-8b"})
    d = reg.resolve("together/mistralai/Mixtral-8x7B-Instruct-v0.1")
    assert (d.provider.name, d.model, d.upstream) == ("together", "mistralai/Mixtral-8x7B-Instruct-v0.1",
                                                       "mistralai/Mixtral-8x7B-Instruct-v0.1")
    assert reg.resolve("gpt4").name == "openai/gpt-4o"
    assert reg.resolve("fast").model == "llama-3.1-8b-instant"  # the short name becomes groq's real id
    assert reg.resolve("mock/openai/gpt-4o-mini").model == "openai/gpt-4o-mini"
    assert reg.knows("xai/grok-3") and not reg.knows("acme/x") and not reg.knows("plainname")
    with pytest.raises(BadInputError, match=r"unknown provider 'acme'.*providers\.acme\.base_url"):
        reg.resolve("acme/model")
    with pytest.raises(BadInputError, match="provider/model"):
        reg.resolve("plainname")


def test_config_overrides_adds_providers_and_per_model_params() -> None:
    cfg = parse_config({
        "routing": {"aliases": {"house": "acme/big-model"}},
        "providers": {
            "openai": {"base_url": "https://gateway.internal/v1", "headers": {"X-Team": "routing"}, "rpm": 500},
            "acme": {"base_url": "https://llm.acme.test/v1", "wire": "anthropic", "api_key_env": "ACME_KEY"},
        },
        "transport": {"kind": "http", "model_params": {"house": {"temperature": 0.1}}},
    })
    reg = ProviderRegistry.from_config(cfg)
    openai = reg.resolve("openai/gpt-4o").provider
    assert openai.base_url == "https://gateway.internal/v1" and openai.key_env == "OPENAI_API_KEY"
    assert openai.headers["X-Team"] == "routing" and openai.rpm == 500
    acme = reg.resolve("house")
    assert acme.provider.wire == "anthropic" and acme.provider.key_env == "ACME_KEY" and not acme.provider.key_required
    assert dict(acme.params) == {"temperature": 0.1}
    with pytest.raises(BadInputError, match=r"providers\.nobase: 'nobase' is not a built-in provider"):
        ProviderRegistry.from_config(parse_config({"providers": {"nobase": {"wire": "openai"}}}))


def test_transport_config_is_strict_and_level_0_by_default() -> None:
    cfg = parse_config({})
    assert cfg.transport.kind == "simulated" and cfg.transport.retry.backoff_initial_s == 0.5
    assert cfg.transport.retry.backoff_cap_s == 8.0 and cfg.transport.max_fallbacks == 5
    for bad, words in [
        ({"transport": {"retry": {"max_retrys": 1}}}, "unknown key 'max_retrys' (did you mean 'max_retries'?)"),
        ({"transport": {"max_fallbacks": 9}}, "transport.max_fallbacks"),
        ({"transport": {"model_params": {"openai/gpt-4o": {"stream": True}}}}, "which the transport owns"),
        ({"providers": {"openai": {"headers": {"Authorization": "Bearer x"}}}}, "looks like a credential"),
        ({"transport": {"events": [{"kind": "outage", "model": "a/b", "start": 5, "end": 5}]}}, "must be after"),
        ({"transport": {"events": [{"kind": "drift", "model": "a/b"}]}}, "non-zero quality_delta"),
        ({"transport": {"events": [{"kind": "drift", "model": "a/b", "quality_delta": 0.1, "modle": 1}]}},
         "transport.events.0.modle: unknown key 'modle' (did you mean 'model'?)"),
    ]:
        with pytest.raises(ConfigError) as info:
            parse_config(bad)
        assert any(words in p for p in info.value.problems), info.value.problems


def test_http_pipelines_build_and_unservable_models_are_config_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GROQ_API_KEY", "gsk-test-0123456789")
    cfg = parse_config({"transport": {"kind": "http"},
                        "pipelines": {"default": {"preferred_models": ["groq/llama-3.1-8b"]}}})
    reg = build_pipeline(cfg)
    assert isinstance(reg.transport, HttpTransport) and reg.transport.name == "http"
    bad = parse_config({"transport": {"kind": "http"},
                        "pipelines": {"default": {"preferred_models": ["acme/model"]}}})
    with pytest.raises(ConfigError, match="the http transport cannot serve 'acme/model'"):
        build_pipeline(bad)


# -- prices ----------------------------------------------------------------------------------------
def test_litellm_price_file_is_laid_over_the_shipped_table(tmp_path: Path) -> None:
    litellm = {
        "sample_spec": {"input_cost_per_token": 0},
        "gpt-4o": {"input_cost_per_token": 2.6e-06, "output_cost_per_token": 1.1e-05, "max_input_tokens": 128000,
                   "litellm_provider": "openai", "mode": "chat", "supports_function_calling": True},
        "together_ai/meta-llama/Llama-3-8b-chat-hf": {"input_cost_per_token": 2e-07, "output_cost_per_token": 2e-07,
                                                      "litellm_provider": "together_ai", "mode": "chat"},
        "text-embedding-3-small": {"input_cost_per_token": 2e-08, "litellm_provider": "openai", "mode": "embedding"},
    }
    f = tmp_path / "model_prices_and_context_window.json"
    f.write_text(json.dumps(litellm))
    table = load_prices(f)
    assert table.version.startswith(shipped_prices().version + "+litellm-")
    assert table.get("openai/gpt-4o").input_per_token == 2.6e-06  # type: ignore[union-attr]
    assert "tools" in table.get("gpt-4o").capabilities  # type: ignore[union-attr]
    assert "together/meta-llama/Llama-3-8b-chat-hf" in table and "text-embedding-3-small" not in table
    assert "anthropic/claude-sonnet-4" in table  # the shipped entries stay underneath
    cfg = parse_config({"transport": {"price_file": str(f)}})
    assert price_table(cfg).get("openai/gpt-4o").output_per_token == 1.1e-05  # type: ignore[union-attr]
    with pytest.raises(BadInputError, match=r"transport\.price_file: .*not found"):
        price_table(parse_config({"transport": {"price_file": str(tmp_path / "missing.json")}}))


# -- the simulated fleet's schedule ----------------------------------------------------------------
PRICES = shipped_prices()
MODEL, OTHER = "openai/gpt-4o", "groq/llama-3.1-8b"


def ask(t: SimulatedTransport, task: str = "creative", fallbacks: tuple[str, ...] = (OTHER,)) -> LlmResponse:
    request = TransportRequest(MODEL, (Message("user", "write a poem about queues"),), fallbacks=fallbacks,
                               task_type=task, complexity=0.4)
    return asyncio.run(t.complete(request))


def quiet(t: SimulatedTransport) -> SimulatedTransport:
    for m in t.models():
        t.fault(m).error_rate = 0.0  # only the schedule fails requests here
    return t


def test_outage_window_by_request_index() -> None:
    t = quiet(SimulatedTransport(PRICES, seed=1, schedule=FleetSchedule([outage(MODEL, 2, 4)])))
    served = [ask(t).served_model for _ in range(6)]
    assert served == [MODEL, MODEL, OTHER, OTHER, MODEL, MODEL]
    t2 = quiet(SimulatedTransport(PRICES, seed=1, schedule=FleetSchedule([outage(MODEL, 2, 4)])))
    third = [ask(t2) for _ in range(3)][-1]
    assert [a.status for a in third.attempts] == ["connection_error", "ok"]


def test_drift_against_the_clock_changes_quality_for_one_task_type() -> None:
    now = [0.0]
    schedule = FleetSchedule([drift(MODEL, 100.0, -0.3, task_type="creative", unit="time")])
    t = quiet(SimulatedTransport(PRICES, seed=2, schedule=schedule, clock=lambda: now[0]))
    before = t.expected_quality(MODEL, "creative", 0.4)
    assert t.expected_quality(MODEL, "analysis", 0.4, now=200.0) == t.expected_quality(MODEL, "analysis", 0.4)
    early = [ask(t).metadata["simulated_true_quality"] for _ in range(20)]
    now[0] = 150.0
    assert t.expected_quality(MODEL, "creative", 0.4) == pytest.approx(before - 0.3)
    late = [ask(t).metadata["simulated_true_quality"] for _ in range(20)]
    late_analysis = [ask(t, task="analysis").metadata["simulated_true_quality"] for _ in range(20)]
    assert sum(early) / 20 - sum(late) / 20 > 0.2
    assert abs(sum(late_analysis) / 20 - t.expected_quality(MODEL, "analysis", 0.4)) < 0.05


def test_429_burst_records_retry_after_and_slow_stream_stretches_time() -> None:
    t = quiet(SimulatedTransport(PRICES, seed=3, max_retries=2,
                                 schedule=FleetSchedule([burst_429(MODEL, 0, 1, retry_after_s=1.5)])))
    r = ask(t)
    assert [(a.status, a.retry_after_s) for a in r.attempts[:3]] == [("http_429", 1.5)] * 3
    assert r.served_model == OTHER and r.latency_ms >= 2 * 1500
    assert [a.status for a in ask(t).attempts] == ["ok"]  # the burst was request 0 only

    plain = quiet(SimulatedTransport(PRICES, seed=4))
    slow = quiet(SimulatedTransport(PRICES, seed=4, schedule=FleetSchedule([slow_stream(MODEL, 0, 10, factor=5)])))
    a, b = ask(plain), ask(slow)
    assert b.usage == a.usage and b.ttft_ms == pytest.approx(5 * a.ttft_ms, abs=0.01)  # timings round to 1 us
    assert b.latency_ms - b.ttft_ms == pytest.approx(5 * (a.latency_ms - a.ttft_ms), abs=0.01)


def test_schedules_are_deterministic_for_a_seed_and_load_from_config() -> None:
    events = [burst_429(MODEL, 1, 3, rate=0.5), outage(OTHER, 2, 5), drift(MODEL, 4, 0.1)]

    def run(seed: int) -> list[LlmResponse]:
        t = SimulatedTransport(PRICES, seed=seed, schedule=FleetSchedule(events))
        return [ask(t) for _ in range(8)]

    assert run(11) == run(11) and run(11) != run(12)
    cfg = parse_config({"transport": {"events": [
        {"kind": "outage", "model": "gpt-4o", "start": 0, "end": 2},
        {"kind": "drift", "model": "openai/gpt-4o", "start": 30, "unit": "time", "quality_delta": -0.2},
    ]}})
    transport = build_pipeline(cfg, seed=0).transport
    assert isinstance(transport, SimulatedTransport)
    assert [e.model for e in transport.schedule.events] == [MODEL, MODEL]  # the alias resolved
    assert transport.schedule.down(MODEL, 1, 0.0) and not transport.schedule.down(MODEL, 2, 0.0)
    assert transport.schedule.quality_delta(MODEL, "triage", 0, 31.0) == -0.2
