"""Streamed replay: results over batches (memory, Parquet, store pages) equal the whole-log results."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from workbench.config import parse_config
from workbench.replay.bandit import replay_bandit
from workbench.replay.bandit_stream import replay_bandit_source, source_from_bandit, source_from_store_bandit
from workbench.replay.engine import PolicySpec
from workbench.replay.fullinfo import FullInfoLog, PolicyResult, evaluate, random_choice
from workbench.replay.loader import load_bandit, load_fullinfo, sample_bandit, sample_fullinfo
from workbench.replay.stream import (
    replay_source,
    source_from_log,
    source_from_parquet,
    source_from_store,
    write_wide_parquet,
)
from workbench.replay.tune import shard
from workbench.sim.traffic import sim_config_dict
from workbench.store import open_store
from workbench.store.samples import sample_files, seed_from_samples


def _spec(router: str = "cost-based") -> PolicySpec:
    data = sim_config_dict()
    data["routing"]["exploration"] = {"mode": "off"}
    data["transport"] = {}
    for p in data["pipelines"].values():
        p["router"] = router
    return PolicySpec(router, config=parse_config(data, "test"))


def _same(a: list[PolicyResult], b: list[PolicyResult]) -> None:
    """Counts, shares, percentiles and notes equal; sums and means equal to float rounding (batches add up in
    another order)."""
    assert [r.pipeline for r in a] == [r.pipeline for r in b]
    for x, y in zip(a, b, strict=True):
        assert (x.n, x.covered, x.model_share, x.notes, x.estimator) == (
            y.n, y.covered, y.model_share, y.notes, y.estimator), x.pipeline
        np.testing.assert_array_equal(list(x.latency.values()), list(y.latency.values()))  # NaN-aware: exact
        close = pytest.approx
        assert (x.quality.mean, x.quality.low, x.quality.high, x.cost_usd) == close(
            (y.quality.mean, y.quality.low, y.quality.high, y.cost_usd), rel=1e-9), x.pipeline
        for m in ("apgr", "cpt50", "cpt80", "aiq"):
            vx, vy = getattr(x, m), getattr(y, m)
            assert (vx is None) == (vy is None) and (vx is None or vx == close(vy, rel=1e-9, abs=1e-12)), m
        assert x.per_task.keys() == y.per_task.keys()
        for t in x.per_task:
            assert x.per_task[t]["n"] == y.per_task[t]["n"]
            assert x.per_task[t]["quality"] == close(y.per_task[t]["quality"], abs=2e-6)


@pytest.fixture(scope="module")
def full() -> FullInfoLog:
    log = sample_fullinfo("sim-drift-full")
    assert log is not None
    part = shard(log, 4_000)
    assert isinstance(part, FullInfoLog)
    return part


def test_batches_give_the_whole_log_result(full: FullInfoLog) -> None:
    specs = [_spec(), _spec("static"), PolicySpec("always:openai/gpt-4o", baseline="always", model="openai/gpt-4o")]
    whole = replay_source(source_from_log(full, batch=full.n), specs)
    _same(replay_source(source_from_log(full, batch=577), specs), whole)
    assert [r.pipeline for r in whole][-2:] == ["oracle", "random"]


def test_random_draws_batch_by_batch_equal_one_draw() -> None:
    for log in (sample_fullinfo("routellm-mmlu"), sample_fullinfo("sim-drift-full")):
        assert log is not None
        part = shard(log, 3_001)
        assert isinstance(part, FullInfoLog)
        one, _ = random_choice(part, np.random.default_rng(5))
        rng = np.random.default_rng(5)
        pieces = [random_choice(part.slice(s, min(part.n, s + 700)), rng)[0] for s in range(0, part.n, 700)]
        np.testing.assert_array_equal(np.concatenate(pieces), one)


def test_two_model_curve_metrics_survive_batching() -> None:
    log = sample_fullinfo("routellm-mmlu")
    assert log is not None
    part = shard(log, 5_000)
    assert isinstance(part, FullInfoLog)
    specs = [PolicySpec("oracle", baseline="oracle"), PolicySpec("random", baseline="random")]
    whole = replay_source(source_from_log(part, batch=part.n), specs)
    batched = replay_source(source_from_log(part, batch=999), specs)
    _same(batched, whole)
    assert whole[1].apgr == pytest.approx(0.5, abs=0.05)
    # The one-batch path is `evaluate` itself.
    oracle = evaluate(part, "oracle", *__import__("workbench.replay.fullinfo", fromlist=["oracle_choice"])
                      .oracle_choice(part))
    assert oracle.apgr == whole[0].apgr


def test_parquet_round_trip_streams_the_same_results(full: FullInfoLog, tmp_path: Path) -> None:
    path = tmp_path / "wide.parquet"
    assert write_wide_parquet(source_from_log(full, batch=1_000).batches(), path) == full.n
    source = source_from_parquet(path, batch=700)
    assert source.n == full.n and source.models == full.models
    _same(replay_source(source, [_spec()]), replay_source(source_from_log(full), [_spec()]))


def test_a_bad_parquet_file_is_a_clear_error(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from workbench.errors import BadInputError

    pq.write_table(pa.table({"x": [1]}), tmp_path / "x.parquet")
    with pytest.raises(BadInputError, match="not a wide full-information log"):
        source_from_parquet(tmp_path / "x.parquet")
    (tmp_path / "y.parquet").write_text("not parquet")
    with pytest.raises(BadInputError, match="not a readable Parquet file"):
        source_from_parquet(tmp_path / "y.parquet")


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store file with the shipped sample logs imported (outcome logs and trajectory logs)."""
    path = tmp_path_factory.mktemp("store") / "w.duckdb"
    with open_store(str(path), seed_samples=False) as store:
        seed_from_samples(store, sample_files())
    return path


def test_store_pages_equal_the_loaded_log(seeded: Path) -> None:
    with open_store(str(seeded), seed_samples=False) as store:
        whole = load_fullinfo(store, "sim-drift-full")
        assert whole.cues is not None  # both reads carry the counts recorded at import, so both notes say so
        source = source_from_store(store, "sim-drift-full", batch=1_500)
        parts = list(source.batches())
        assert len(parts) == -(-whole.n // 1_500) and sum(p.n for p in parts) == whole.n
        assert [q for p in parts for q in p.prompt_ids] == list(whole.prompt_ids)
        np.testing.assert_array_equal(np.concatenate([p.quality for p in parts]), whole.quality)
        _same(replay_source(source, [_spec()]), replay_source(source_from_log(whole), [_spec()]))
        mmlu = source_from_store(store, "routellm-mmlu", batch=4_000)
        assert all(p.strong_weak() == load_fullinfo(store, "routellm-mmlu").strong_weak() for p in mmlu.batches())


def test_bandit_pages_from_the_store_equal_the_whole_log(seeded: Path) -> None:
    specs = [_spec(), PolicySpec("random", baseline="random"),
             PolicySpec("always:openai/gpt-4o-mini", baseline="always", model="openai/gpt-4o-mini")]
    with open_store(str(seeded), seed_samples=False) as store:
        whole = load_bandit(store, "sim-drift-bandit")
        source = source_from_store_bandit(store, "sim-drift-bandit", page=3_000)
        assert source.n == whole.n and source.models == whole.models
        pages = list(source.batches())
        assert len(pages) == -(-whole.n // 3_000)
        np.testing.assert_array_equal(np.concatenate([p.action for p in pages]), whole.action)
        assert [q for p in pages for q in p.prompts] == list(whole.prompts)
        streamed = replay_bandit_source(source, specs, n_boot=50)
    assert [r.as_dict() for r in streamed] == [r.as_dict() for r in replay_bandit(whole, specs, n_boot=50)]


def test_bandit_source_from_memory_matches_replay_bandit() -> None:
    whole = sample_bandit("sim-drift-bandit")
    assert whole is not None
    log = shard(whole, 5_000)
    assert not isinstance(log, FullInfoLog)
    specs = [_spec("static")]
    got = replay_bandit_source(source_from_bandit(log, page=4_096), specs, n_boot=30)
    assert [r.as_dict() for r in got] == [r.as_dict() for r in replay_bandit(log, specs, n_boot=30)]


# -- store pages: the numpy pivot against the polars pivot of the same rows ------------------------------------------


def _outcome_rows(layout: str) -> pa.Table:
    """Outcome rows of 12 prompts x 3 models in the given layout, physically shuffled, with gaps: p1 lacks the last
    model, p4 a middle one, p7 the first; p2's text, p5's task and p8's latencies are NULL."""
    models = ["m-a", "m-b", "m-c"]
    rng = np.random.default_rng(11)
    rows = []
    for i in range(12):
        for j, m in enumerate(models):
            if (i, j) in {(1, 2), (4, 1), (7, 0)}:
                continue
            ri = {"dense": i, "sparse": i * 1_000 + 7, "shared": i // 2, "per-row": 3 * i + j}[layout]
            rows.append({"prompt_id": f"p{i}", "row_index": ri, "model": m,
                         "prompt": None if i == 2 else f"fix the code of prompt {i} ({m})",
                         "task": None if i == 5 else f"t{i % 3}", "quality": float(rng.uniform()),
                         "cost_usd": float(rng.uniform(0, 0.01)),
                         "latency_ms": None if i == 8 else float(rng.uniform(100, 900))})
    order = rng.permutation(len(rows))
    return pa.Table.from_pylist([rows[k] for k in order])


@pytest.mark.parametrize("layout", ["dense", "sparse", "shared", "per-row"])
@pytest.mark.parametrize("privacy", ["full", "hash-only"])
def test_store_pages_pivot_as_the_loader_does(tmp_path: Path, layout: str, privacy: str) -> None:
    """Each page equals the polars pivot of its rows (prompts missing a model dropped, text and task of the last
    model, NULLs as "" and NaN), in every layout, whether the log's layout is certified by recorded counts (full)
    or checked page by page (hash-only records none)."""
    from workbench.replay.loader import fullinfo_from_frame
    from workbench.replay.store_pages import open_log, read_page
    from workbench.store.outcomes import OutcomeSet, conform

    with open_store(tmp_path / "s.duckdb", seed_samples=False, privacy=privacy) as store:
        store.ingest([OutcomeSet("g", conform(_outcome_rows(layout), "test", log="g"), "test", "")])
        assert bool(store.query("cue_set_of_log", log="g").height) == (privacy == "full" and layout != "shared"
                                                                      and layout != "per-row")
        for batch in (4, 1_000):
            src = open_log(store, "g", batch)
            got, want = [], []
            for lo, hi in itertools.pairwise(src.bounds):
                page = read_page(store, src, lo, hi)
                rows = store.query("outcomes_page", log="g", lo=lo, hi=hi)
                ref = fullinfo_from_frame("g", rows, models=src.models) if rows.height else None
                if ref is None or ref.n == 0:
                    assert page is None
                    continue
                assert page is not None
                assert (list(page.prompt_ids), list(page.prompts), list(page.task_types)) == (
                    list(ref.prompt_ids), list(ref.prompts), list(ref.task_types))
                for field in ("quality", "cost", "latency"):
                    np.testing.assert_array_equal(getattr(page, field), getattr(ref, field))
                got += list(page.prompt_ids)
                want += list(ref.prompt_ids)
            if layout != "per-row":  # one prompt's rows on several row_index values may straddle pages
                assert got == list(load_fullinfo(store, "g").prompt_ids)
            assert "p1" not in got and "p4" not in got and "p7" not in got


def test_read_ahead_keeps_order_stops_early_and_passes_errors_on() -> None:
    from workbench.replay.stream import read_ahead

    log = sample_fullinfo("sim-drift-full")
    assert log is not None
    parts = [log.slice(i, i + 1_000) for i in range(0, 5_000, 1_000)]
    read: list[int] = []

    def source(fail_at: int | None = None) -> Iterator[FullInfoLog]:
        for i, p in enumerate(parts):
            if i == fail_at:
                raise OSError("disk gone")
            read.append(i)
            yield p

    assert [p.prompt_ids[0] for p in read_ahead(source())] == [p.prompt_ids[0] for p in parts]
    read.clear()
    it = read_ahead(source())
    next(it)
    it.close()  # the caller stops after one batch: at most one more was read, and the generator is closed
    assert read in ([0], [0, 1])
    with pytest.raises(OSError, match="disk gone"):
        list(read_ahead(source(fail_at=3)))
