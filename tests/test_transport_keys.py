"""API keys: from config or env, sent to the provider and nowhere else (database, logs, exports, errors)."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from transport_support import PRICES, treq

from workbench.api import Workbench
from workbench.cli import main
from workbench.config import parse_config
from workbench.errors import MissingKeyError
from workbench.pipeline import build_pipeline
from workbench.transport.http import HttpSettings, HttpTransport
from workbench.transport.keys import REDACTED, KeyRing, install_redaction, redact
from workbench.transport.mock_server import MockServer
from workbench.transport.providers import ProviderRegistry
from workbench.transport.resilience import RetryPolicy

CONFIG_KEY = "sk-planted-config-5f0b1c2d3e4f5a6b7c8d"
ENV_KEY = "sk-planted-env-9a8b7c6d5e4f3a2b1c0d"


@pytest.fixture
def captured_logs() -> Iterator[io.StringIO]:
    """Everything the workbench, httpx and httpcore log at DEBUG, as a user's root handler would see it."""
    text = io.StringIO()
    handler = logging.StreamHandler(text)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield text
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)


def test_a_planted_key_is_sent_but_never_stored_logged_or_exported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, captured_logs: io.StringIO, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("WB_PLANTED_KEY", ENV_KEY)
    with MockServer(seed=0) as srv:
        srv.set_fault("openai/gpt-4o-mini", rate_429=1.0, retry_after_s=0.01, times=1)  # an error path too
        srv.set_fault("groq/llama-3.1-8b", error_rate=1.0, error_status=401, times=1)
        config = {
            "transport": {"kind": "http", "retry": {"backoff_initial_s": 0.01, "backoff_cap_s": 0.02}},
            "providers": {"mock": {"base_url": srv.base_url, "api_key": CONFIG_KEY},
                          "mockenv": {"base_url": srv.base_url, "api_key_env": "WB_PLANTED_KEY"}},
            "pipelines": {"triage": {"preferred_models": ["mock/openai/gpt-4o-mini"]},
                          "default": {"preferred_models": ["mockenv/groq/llama-3.1-8b", "mock/groq/llama-3.1-8b"]}},
        }
        cfg_file = tmp_path / "config.json"
        cfg_file.write_text(json.dumps(config))
        db = tmp_path / "planted.duckdb"
        with Workbench(db=db, config=cfg_file, seed=0) as wb:
            sent = [wb.send("classify this ticket", model="mock/openai/gpt-4o-mini"),
                    wb.send("tell me about queues", model="mockenv/groq/llama-3.1-8b")]
            assert wb.trajectories().height == 2  # both are in the database we are about to grep
        assert srv.stats["authorized"] >= 3  # the keys really went out, on the retries too
    assert [t.response.status for t in sent] == ["ok", "failed"]
    assert [a.status for a in sent[0].response.attempts] == ["http_429", "ok"]
    assert sent[1].response.attempts[0].status == "http_401"

    assert main(["config", "export", "--config", str(cfg_file)]) == 0
    assert main(["config", "show", "--config", str(cfg_file)]) == 0
    exported = capsys.readouterr().out
    assert "mockenv" in exported and "WB_PLANTED_KEY" in exported  # the export is real, the env var name is fine

    logs = captured_logs.getvalue()
    assert "attempt mock/openai/gpt-4o-mini failed: http_429" in logs and "HTTP Request: POST" in logs
    stored = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("planted.duckdb"))
    assert len(stored) > 10_000
    for secret in (CONFIG_KEY, ENV_KEY):
        for where, text in [("database", stored.decode("latin-1")), ("logs", logs), ("export", exported),
                            ("trajectories", json.dumps([t.to_dict() for t in sent]))]:
            assert secret not in text, f"{where} holds a planted key"
            assert secret[3:20] not in text, f"{where} holds part of a planted key"


def test_the_redacting_filter_scrubs_records_that_carry_a_key(captured_logs: io.StringIO) -> None:
    install_redaction([CONFIG_KEY])
    logging.getLogger("workbench.transport.http").warning("sending with key %s", CONFIG_KEY)
    logging.getLogger("httpx").warning("Authorization: Bearer sk-some-other-key-0123456789abcdef")
    out = captured_logs.getvalue()
    assert CONFIG_KEY not in out and "sk-some-other-key" not in out
    assert out.count(REDACTED) == 2 and "sending with key" in out


def test_redact_known_values_and_credential_shapes() -> None:
    text = f"key={CONFIG_KEY} Bearer abcdefghijkl x-api-key: zyxwvutsrqpo sk-ant-api03-aaaaaaaaaaaaaaaa short=abc"
    clean = redact(text, [CONFIG_KEY, "abc"])
    assert CONFIG_KEY not in clean and "abcdefghijkl" not in clean and "zyxwvutsrqpo" not in clean
    assert "sk-ant-api03-aaaa" not in clean and "short=abc" in clean  # very short values are left alone


async def test_a_provider_echoing_the_key_in_an_error_is_redacted() -> None:
    key = "sk-echoed-key-0123456789abcdefghij"

    def handler(request: httpx.Request) -> httpx.Response:
        sent = request.headers["authorization"].removeprefix("Bearer ")
        return httpx.Response(401, json={"error": {"type": "invalid_request_error",
                                                   "message": f"Incorrect API key provided: {sent}."}})

    t = HttpTransport(ProviderRegistry(), PRICES, keys=KeyRing(env={"OPENAI_API_KEY": key}),
                      client=httpx.AsyncClient(transport=httpx.MockTransport(handler)),
                      settings=HttpSettings(retry=RetryPolicy(max_retries=2)))
    r = await t.complete(treq("openai/gpt-4o-mini"))
    assert [a.status for a in r.attempts] == ["http_401"]  # a 401 is never retried
    assert "Incorrect API key provided: [REDACTED]" in (r.attempts[0].error or "")
    assert key not in (r.error or "") and key not in json.dumps([a.error for a in r.attempts])


def test_a_missing_key_names_the_env_var_before_any_request(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with MockServer() as srv:
        cfg = parse_config({"transport": {"kind": "http"}, "providers": {"openai": {"base_url": srv.base_url}},
                            "pipelines": {"default": {"preferred_models": ["openai/gpt-4o-mini"]}}})
        with pytest.raises(MissingKeyError) as info:
            build_pipeline(cfg)
        assert srv.fleet.requests == 0
    message = str(info.value)
    assert "OPENAI_API_KEY" in message and "providers.openai.api_key" in message and "401" not in message
    assert info.value.exit_code == 2


def test_config_key_wins_over_env_and_local_providers_need_none(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", ENV_KEY)
    cfg = parse_config({"providers": {"openai": {"api_key": CONFIG_KEY}}})
    t = HttpTransport.from_config(cfg, PRICES)
    spec = t.registry.resolve("openai/gpt-4o").provider
    assert t.keys.key(spec) == CONFIG_KEY
    assert t.keys.key(t.registry.resolve("ollama/llama3.2").provider) is None  # local: no key, no error
    assert CONFIG_KEY not in json.dumps(cfg.public_dict()) and CONFIG_KEY not in repr(cfg)
