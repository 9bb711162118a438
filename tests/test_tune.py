"""The tuner (successive halving on replayed traffic) and the exported config reproducing decisions live."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from workbench.api import Workbench
from workbench.config import load_config, parse_config
from workbench.domain import ChatRequest
from workbench.errors import BadInputError
from workbench.pipeline.build import build_pipeline
from workbench.replay.engine import OfflineTransport, PolicySpec, decide, replay_fullinfo
from workbench.replay.export import export_config
from workbench.replay.fullinfo import FullInfoLog
from workbench.replay.loader import fullinfo_from_frame
from workbench.replay.tune import Objective, evaluate_candidate, search_space, shard, tune
from workbench.sim.traffic import fullinfo_table

BASE = {
    "pipelines": {"default": {"classifier": "complexity", "router": "tier", "quality": {"scorer": "label"}}},
    "routing": {"exploration": {"mode": "epsilon-greedy", "epsilon": 0.1}},
}


@pytest.fixture(scope="module")
def full() -> FullInfoLog:
    df = pl.from_arrow(fullinfo_table(900, seed=5))
    assert isinstance(df, pl.DataFrame)
    return fullinfo_from_frame("sim", df)


def test_objective_parsing_and_ranking() -> None:
    o = Objective.parse("max-quality:cost<=0.002")
    assert (o.goal, o.limit) == ("max-quality", 0.002)
    ok, dear = {"quality": 0.7, "cost_per_request_usd": 0.001}, {"quality": 0.9, "cost_per_request_usd": 0.01}
    assert o.feasible(ok) and not o.feasible(dear) and o.score(ok) > o.score(dear)
    m = Objective.parse("min-cost:quality>=0.8")
    assert m.score(dear) > m.score(ok)  # only the dear one reaches the quality target
    with pytest.raises(BadInputError, match="max-quality:cost<="):
        Objective.parse("fast please")


def test_search_space_names_the_knobs_and_refuses_a_static_pipeline() -> None:
    names = {p.name for p in search_space(parse_config(BASE))}
    assert {"routing.tiers.tiers", "routing.tiers.strategy", "routing.exploration.epsilon"} <= names
    assert "routing.complexity.weights.reasoning_depth" in names
    with pytest.raises(BadInputError, match="nothing to tune"):
        search_space(parse_config({}))


def test_tuning_beats_or_matches_the_base_and_respects_the_constraint(full: FullInfoLog) -> None:
    base = parse_config(BASE)
    objective = Objective.parse("max-quality:cost<=0.0015")
    with ThreadPoolExecutor(2) as pool:
        result = tune(full, base, objective, candidates=9, eta=3, min_events=100, seed=1, executor=pool)
    assert result.rungs[-1] == full.n and len(result.rungs) >= 2
    assert result.best.n == full.n and objective.feasible(result.best.metrics)
    assert result.best.score >= result.baseline.score
    # The winner's figures are what replaying its config gives: no number is invented by the search.
    again = evaluate_candidate(full, result.best.config, 1)
    assert again["quality"] == pytest.approx(result.best.metrics["quality"])
    # Candidates on the first rung saw fewer events than survivors on the last.
    assert min(t.n for t in result.trials) < full.n
    # A process pool gives the same answer: each candidate is a pure function of (shard, config, seed).
    with ThreadPoolExecutor(1) as one:
        serial = tune(full, base, objective, candidates=9, eta=3, min_events=100, seed=1, executor=one)
    assert serial.best.index == result.best.index


def test_evaluate_candidate_is_pure_and_runs_in_a_process_pool(full: FullInfoLog) -> None:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    part = shard(full, 150)
    data = parse_config(BASE).public_dict()
    # Spawned workers (what make_executor("process") uses): replay runs polars, which a forked child can hang in.
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        a, b = pool.submit(evaluate_candidate, part, data, 0), pool.submit(evaluate_candidate, part, data, 0)
        assert a.result() == b.result() == evaluate_candidate(part, data, 0)


def test_exported_config_loaded_live_makes_the_replayed_decisions(full: FullInfoLog, tmp_path: Path) -> None:
    base = parse_config(BASE)
    with ThreadPoolExecutor(2) as pool:
        result = tune(full, base, Objective.parse("max-quality:cost<=0.0015"), candidates=6, eta=3,
                      min_events=100, seed=2, executor=pool)
    out = export_config(result.best_config(), tmp_path / "tuned.json",
                        {"source_log": full.name, "estimator": "exact", "metrics": result.best.metrics})
    data = json.loads(out.read_text())
    assert data["provenance"]["source_log"] == "sim" and "exported_at" in data["provenance"]
    loaded = load_config(out)
    assert loaded.config_hash() == result.best_config().config_hash()  # provenance never changes the pipeline

    prompts = full.prompts[:80]
    head = shard(full, 80)
    assert isinstance(head, FullInfoLog)
    registry = build_pipeline(loaded, transport=OfflineTransport(), seed=11)
    replayed, _ = decide(registry, head, label="tuned")
    with Workbench(db=":memory:", config=out, seed=11) as wb:
        live = [wb.send(p).decision.model for p in prompts]
    assert [head.models[i] for i in replayed] == live
    assert len(set(live)) > 1  # a real routing policy, not one model for everything


def test_replay_fullinfo_of_the_tuned_config_differs_from_the_base(full: FullInfoLog) -> None:
    # Sanity that tuning knobs matter at all: two sampled configs give different exact results.
    base = parse_config(BASE)
    cheap = parse_config({**BASE, "routing": {**BASE["routing"], "tiers": {"tiers": {
        "fast": {"upto": 0.9, "models": ["groq/llama-3.1-8b"]},
        "premium": {"upto": 1.0, "models": ["anthropic/claude-sonnet-4"]}}, "rules": []}}})
    a, b = replay_fullinfo(full, [PolicySpec("base", config=base), PolicySpec("cheap", config=cheap)])[:2]
    assert a.cost_per_request != b.cost_per_request
    assert np.isfinite(a.quality.mean) and np.isfinite(b.quality.mean)
    assert ChatRequest.from_prompt("x").prompt == "x"
