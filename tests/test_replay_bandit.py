"""Bandit-log replay: IPS/SNIPS/DR through the engine on logs sampled from full-information data."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from workbench.config import parse_config
from workbench.errors import BadInputError
from workbench.replay.bandit import BanditLog, replay_bandit
from workbench.replay.engine import PolicySpec, replay_fullinfo, resolve_spec
from workbench.replay.fullinfo import FullInfoLog
from workbench.replay.loader import fullinfo_from_frame
from workbench.sim.traffic import fullinfo_table

MODELS = ["groq/llama-3.1-8b", "openai/gpt-4o-mini", "anthropic/claude-sonnet-4"]


@pytest.fixture(scope="module")
def full() -> FullInfoLog:
    df = pl.from_arrow(fullinfo_table(600, seed=3))
    assert isinstance(df, pl.DataFrame)
    return fullinfo_from_frame("sim", df.filter(pl.col("model").is_in(MODELS)))


def sample_bandit(full: FullInfoLog, seed: int, *, deterministic: bool = False) -> BanditLog:
    """Log one action per prompt from a known random policy (a Dirichlet draw per prompt, floor 0.1)."""
    rng = np.random.default_rng(seed)
    n, m = full.n, len(full.models)
    p = 0.1 + 0.7 * rng.dirichlet(np.ones(m), size=n)
    if deterministic:
        p = np.zeros((n, m))
        p[:, 0] = 1.0
    u = rng.random(n)[:, None]
    action = np.minimum((u > np.cumsum(p, axis=1)).sum(axis=1), m - 1).astype(np.int64)
    rows = np.arange(n)
    return BanditLog(
        name="sampled", prompts=full.prompts, task_types=full.task_types, models=full.models, action=action,
        propensity=p[rows, action], quality=full.quality[rows, action], cost=full.cost[rows, action],
        latency=full.latency[rows, action], failed=np.zeros(n, dtype=bool), fallback=np.zeros(n, dtype=bool),
    )


def specs() -> list[PolicySpec]:
    cfg = parse_config({"pipelines": {
        "default": {"router": "static", "preferred_models": ["openai/gpt-4o-mini"]},
        "triage": {"router": "static", "preferred_models": ["groq/llama-3.1-8b"]},
        "development": {"router": "static", "preferred_models": ["anthropic/claude-sonnet-4"]},
    }})
    return [PolicySpec("mixed", config=cfg), PolicySpec("always:anthropic/claude-sonnet-4", baseline="always",
                                                       model="anthropic/claude-sonnet-4")]


def test_ci_of_every_estimator_covers_the_exact_value_in_90_percent_of_50_seeds(full: FullInfoLog) -> None:
    exact = {r.pipeline: r.quality.mean for r in replay_fullinfo(full, specs())}
    hits: dict[tuple[str, str], int] = {}
    for seed in range(50):
        for r in replay_bandit(sample_bandit(full, seed), specs(), seed=seed, n_boot=200):
            assert r.estimator == "dr"
            for name, est in r.estimates.items():
                lo, hi = est["ci"]
                hits[(r.pipeline, name)] = hits.get((r.pipeline, name), 0) + int(lo <= exact[r.pipeline] <= hi)
    assert set(hits) == {(p, e) for p in exact if p in ("mixed", "always:anthropic/claude-sonnet-4")
                         for e in ("ips", "snips", "dr")}
    for key, n in hits.items():
        assert n >= 45, f"{key}: CI covered the exact value in {n}/50 seeds"


def test_the_estimate_moves_with_the_policy_and_ess_is_reported(full: FullInfoLog) -> None:
    log = sample_bandit(full, 1)
    cheap, best = replay_bandit(log, [resolve_spec("always:groq/llama-3.1-8b", parse_config({})),
                                      resolve_spec("always:anthropic/claude-sonnet-4", parse_config({}))])
    assert cheap.quality.high < best.quality.low  # a weak model is estimated worse, and the CIs say so
    assert cheap.cost_per_request < best.cost_per_request
    assert 0 < (cheap.ess or 0) < log.n and cheap.coverage == pytest.approx(1.0)
    assert set(cheap.per_task) == set(full.task_types)


def test_deterministic_logs_get_the_direct_method_flagged_biased(full: FullInfoLog) -> None:
    log = sample_bandit(full, 2, deterministic=True)
    assert full.models[0] == "anthropic/claude-sonnet-4"  # the only model the deterministic log chose
    (r,) = replay_bandit(log, [resolve_spec("always:openai/gpt-4o-mini", parse_config({}))])
    assert r.estimator == "direct-method (biased)"
    assert any("deterministic" in n for n in r.notes) and any("BIASED" in n for n in r.notes)
    assert r.coverage == pytest.approx(0.0)  # the log never tried gpt-4o-mini: the estimate rests on nothing
    (same,) = replay_bandit(log, [resolve_spec("always:anthropic/claude-sonnet-4", parse_config({}))])
    assert same.coverage == pytest.approx(1.0)
    assert same.quality.mean == pytest.approx(np.nanmean(log.quality), abs=1e-9)


def test_missing_propensities_warn_and_unknown_models_or_oracle_are_refused(full: FullInfoLog) -> None:
    log = sample_bandit(full, 3)
    blind = BanditLog(**{**log.__dict__, "propensity": np.full(log.n, np.nan)})
    (r,) = replay_bandit(blind, [resolve_spec("always:groq/llama-3.1-8b", parse_config({}))])
    assert r.estimator.startswith("direct-method") and any("no propensities" in n for n in r.notes)
    with pytest.raises(BadInputError, match="never chose that model"):
        replay_bandit(log, [resolve_spec("always:openai/gpt-4o", parse_config({}))])
    with pytest.raises(BadInputError, match="bandit log"):
        replay_bandit(log, [resolve_spec("oracle", parse_config({}))])
