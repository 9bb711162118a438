"""Learning pipelines end to end: config pairing checks, shared router/learner state through the session,
learner versions on trajectories, persistence in the `policies` table and resuming after a restart."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from learning_helpers import MODELS, config, run, stream

from workbench.api import Workbench
from workbench.config import parse_config
from workbench.domain import ChatRequest
from workbench.errors import ConfigError
from workbench.learning.policy_store import PolicyStore, policy_name
from workbench.learning.sona import SonaLearner
from workbench.pipeline import build_pipeline
from workbench.pipeline.pattern_router import PatternRouter
from workbench.store import open_store


def _problems(pipeline: dict[str, object]) -> str:
    with pytest.raises(ConfigError) as err:
        build_pipeline(parse_config({"pipelines": {"default": {"preferred_models": MODELS, **pipeline}}}))
    return str(err.value)


def test_a_learning_router_needs_its_own_learner_and_says_how_to_fix_it() -> None:
    msg = _problems({"router": "sona", "quality": {"scorer": "label"}})
    assert "pipelines.default.learner" in msg and "set learner to 'sona'" in msg
    msg = _problems({"router": "linucb", "learner": "thompson", "quality": {"scorer": "label"}})
    assert "needs learner 'linucb'" in msg


def test_a_learner_without_its_router_or_without_a_reward_is_a_config_error() -> None:
    msg = _problems({"router": "static", "learner": "linucb", "quality": {"scorer": "label"}})
    assert "set router to 'linucb'" in msg
    msg = _problems({"router": "sona", "learner": "sona"})  # default scorer: noop
    assert "pipelines.default.quality.scorer" in msg and "'label'" in msg


def test_unknown_learner_names_the_choices() -> None:
    with pytest.raises(ConfigError) as err:
        parse_config({"pipelines": {"default": {"learner": "sonar"}}})
    assert "did you mean 'sona'" in str(err.value)


def test_bad_learning_config_on_the_cli_is_exit_2(tmp_path: Path) -> None:
    from test_cli import cli

    bad = tmp_path / "bad.json"
    bad.write_text('{"pipelines": {"default": {"router": "sona", "learner": "noop"}}}')
    out = cli("send", "hello", "--config", str(bad), "--db", str(tmp_path / "w.duckdb"))
    assert out.returncode == 2
    assert "Traceback" not in out.stderr and "set learner to 'sona'" in out.stderr


@pytest.mark.parametrize("kind", ["sona", "linucb", "thompson"])
def test_router_and_learner_share_state_and_versions_advance(kind: str) -> None:
    cfg = config(kind, kind)
    registry = build_pipeline(cfg)
    pipeline = registry.default
    assert pipeline.router.name == kind and pipeline.learner.name == kind
    request = ChatRequest.from_prompt("debug this rust module for a job scheduler: it panics on empty input")
    _, profile = registry.profile(request)
    before = [c.score for c in pipeline.router.route(request, profile).candidates]
    result = run(cfg, stream(120, 5), registry=registry)
    after = [c.score for c in pipeline.router.route(request, profile).candidates]
    assert before != after  # the learner's updates changed what the router scores
    ts = result.trajectories
    assert all(t.learner_version_after == t.learner_version_before + 1 for t in ts if t.reward is not None)
    assert ts[-1].learner_version_after == pipeline.learner.version == sum(t.reward is not None for t in ts)
    assert all(0 < t.decision.propensity <= 1 for t in ts)


def test_an_explicit_send_does_not_move_the_learner() -> None:
    registry = build_pipeline(config("sona", "sona"))
    import asyncio

    from workbench.session import Session

    session = Session(registry, None)
    t = asyncio.run(session.run(ChatRequest.from_prompt("label this message"), model=MODELS[0]))
    assert t.reward is not None and t.learner_version_before == t.learner_version_after == 0


def test_saved_state_reloads_to_identical_decisions() -> None:
    greedy = {"epsilon": 0.0}
    reqs = stream(300, 8)
    for kind in ("sona", "linucb"):
        cfg = config(kind, kind, learning=greedy)
        trained = build_pipeline(cfg)
        run(cfg, reqs[:200], registry=trained)
        store = open_store(":memory:")
        try:
            name = policy_name("default", trained.default.learner)  # type: ignore[arg-type]
            assert PolicyStore(store).save(name, trained.default.learner) == 1  # type: ignore[arg-type]
            fresh = build_pipeline(cfg)
            assert PolicyStore(store).load(name, fresh.default.learner) == 1  # type: ignore[arg-type]
        finally:
            store.close()
        assert fresh.default.learner.version == trained.default.learner.version > 0
        for p in reqs[200:]:
            request = ChatRequest.from_prompt(p)
            _, profile = trained.profile(request)
            a, b = trained.default.router.route(request, profile), fresh.default.router.route(request, profile)
            assert (a.model, a.candidates, a.propensity) == (b.model, b.candidates, b.propensity)


def test_a_restart_resumes_from_the_last_saved_version(tmp_path: Path) -> None:
    db = tmp_path / "learn.duckdb"
    cfg = config("sona", "sona", learning={"checkpoint_every": 25})
    prompts = stream(90, 9)
    with Workbench(db=db, config=cfg) as wb:
        for p in prompts[:60]:
            wb.send(p)
        learner = wb.registry.default.learner
        assert isinstance(learner, SonaLearner)
        version, weights = learner.version, learner.lin.W.copy()
        saved = wb.store.load_policy(policy_name("default", learner))
        assert saved is not None and saved[0] == 2  # checkpoints at 25 and 50 updates
    with Workbench(db=db, config=cfg) as wb:
        learner = wb.registry.default.learner
        assert isinstance(learner, SonaLearner)
        assert learner.version == version and np.array_equal(learner.lin.W, weights)  # closed: saved at 60
        t = wb.send(prompts[60])
        assert t.learner_version_before == version and t.learner_version_after == version + 1
        rows = wb.store.load_policy(policy_name("default", learner))
        assert rows is not None and rows[0] == 3


def test_the_sona_learner_refreshes_a_pattern_routers_bank() -> None:
    cfg = parse_config({"pipelines": {"default": {
        "router": "pattern", "learner": "sona", "preferred_models": MODELS,
        "quality": {"scorer": "label", "weights": {"accuracy": 1.0}}, "learning": {"consolidate_every": 40},
    }}})
    registry = build_pipeline(cfg)
    router = registry.default.router
    assert isinstance(router, PatternRouter) and router.bank.n == 0
    run(cfg, stream(100, 4), registry=registry)
    assert router.bank.n > 0  # fed by the ReasoningBank at the consolidations (40, 80)
    d = router.route(ChatRequest.from_prompt("write a haiku about the moon"), registry.default.classifier.classify(
        ChatRequest.from_prompt("write a haiku about the moon")))
    assert "votes" in d.reason
