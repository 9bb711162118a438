"""Prompt cue counts recorded when a full-information log is imported, and read back with each replay page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from workbench.pipeline.build import build_pipeline
from workbench.replay.cue_features import CueSet, record
from workbench.replay.engine import OfflineTransport, PolicySpec
from workbench.replay.stream import replay_source, source_from_store
from workbench.replay.vectorised import BatchDecider, prompt_column
from workbench.sim.traffic import one_router_config
from workbench.store import open_store
from workbench.store.outcomes import OutcomeSet, conform
from workbench.store.samples import sample_files

MODELS = ("m-a", "m-b", "m-c")


def _config(router: str, **routing: Any) -> Any:
    return one_router_config(router, routing=routing)


def _outcomes(prompts: list[str], log: str = "cues") -> OutcomeSet:
    """Every prompt answered by every model, in the importers' layout (one row_index a prompt)."""
    n, m = len(prompts), len(MODELS)
    rng = np.random.default_rng(3)
    table = pa.table({
        "prompt_id": [f"p{i}" for i in range(n) for _ in MODELS],
        "row_index": pa.array(np.repeat(np.arange(n), m), pa.int64()),
        "prompt": [p for p in prompts for _ in MODELS],
        "model": list(MODELS) * n,
        "quality": rng.uniform(0, 1, n * m),
        "cost_usd": rng.uniform(0, 0.01, n * m),
    })
    return OutcomeSet(log, conform(table, "test", log=log), "test", "")


def _sample_store(tmp_path: Path, **kw: Any) -> Any:
    store = open_store(tmp_path / "s.duckdb", seed_samples=False, **kw)
    store.import_files("parquet", [f for f in sample_files() if f.stem == "sim-drift-full"])
    return store


def test_recorded_counts_decide_as_the_text_does(tmp_path: Path) -> None:
    specs = [PolicySpec("cost", config=_config("cost-based")), PolicySpec("tier", config=_config("tier"))]
    with _sample_store(tmp_path) as store:
        assert store.logs().filter(store.logs()["name"] == "sim-drift-full")["cue_prompts"][0] == 10_000
        counted = list(source_from_store(store, "sim-drift-full", batch=3_000).batches())
        plain = list(source_from_store(store, "sim-drift-full", batch=3_000, cues=False).batches())
        assert [p.n for p in counted] == [p.n for p in plain] and all(p.cues is None for p in plain)
        for spec in specs:
            assert spec.config is not None
            deciders = [BatchDecider(build_pipeline(spec.config, transport=OfflineTransport(), seed=0)) for _ in "ab"]
            for a, b in zip(counted, plain, strict=True):
                assert a.cues is not None and a.cues.n == a.n
                (ca, pa_), (cb, pb) = deciders[0].decide(a), deciders[1].decide(b)
                np.testing.assert_array_equal(ca, cb)
                np.testing.assert_array_equal(pa_, pb)
            assert deciders[0].recorded_rows == 10_000 and deciders[1].recorded_rows == 0, spec.label
        with_counts = replay_source(source_from_store(store, "sim-drift-full"), specs[:1], baselines=False)[0]
        from_text = replay_source(source_from_store(store, "sim-drift-full", cues=False), specs[:1],
                                  baselines=False)[0]
    assert "cue counts recorded with the log for 10,000 of 10,000 prompts" in with_counts.notes[0]
    assert "whole prompt column" in from_text.notes[0]
    assert (with_counts.n, with_counts.model_share, with_counts.cost_usd) == (
        from_text.n, from_text.model_share, pytest.approx(from_text.cost_usd, rel=1e-12))


def test_a_log_imported_under_other_cue_words_is_replayed_from_text(tmp_path: Path) -> None:
    other = _config("cost-based", keywords={"development": ["kernel", "compiler"], "creative": ["sonnet"]})
    with _sample_store(tmp_path, routing=other.routing) as store:
        assert store.cue_set == CueSet.of_routing(other.routing) != CueSet.of_routing(_config("static").routing)
        assert store.logs()["cue_prompts"].max() == 10_000
        spec = PolicySpec("cost", config=_config("cost-based"))
        source = source_from_store(store, "sim-drift-full")
        assert all(p.cues is not None for p in source.batches())  # recorded, but for other words: not used
        got = replay_source(source, [spec], baselines=False)[0]
        assert "whole prompt column" in got.notes[0]
        own = replay_source(source, [PolicySpec("own", config=other)], baselines=False)[0]
        assert "cue counts recorded with the log" in own.notes[0]


def test_counts_come_from_the_text_before_redaction_and_hash_only_keeps_none(tmp_path: Path) -> None:
    prompts = ["please debug@example.com about the crash", "write a poem", "explain why tcp is slow"]
    cues = CueSet.of_routing(_config("static").routing)
    dev = cues.names.index("task:development")
    with open_store(tmp_path / "r.duckdb", seed_samples=False, privacy="redacted") as store:
        store.ingest([_outcomes(prompts)])
        (page,) = source_from_store(store, "cues").batches()
        assert page.prompts[0] == "please [email] about the crash"
        assert page.cues is not None
        np.testing.assert_array_equal(page.cues.counts, record(cues, prompt_column(prompts)).counts)
        assert page.cues.counts[0, dev] == 1  # the word the redaction masked still counts
        assert record(cues, prompt_column(list(page.prompts))).counts[0, dev] == 0
    with open_store(tmp_path / "h.duckdb", seed_samples=False, privacy="hash-only") as store:
        assert store.cue_set is None
        store.ingest([_outcomes(prompts)])
        assert store.logs()["cue_prompts"][0] == 0
        assert all(p.cues is None for p in source_from_store(store, "cues").batches())


def test_a_second_import_into_the_log_drops_its_counts(tmp_path: Path) -> None:
    with open_store(tmp_path / "s.duckdb", seed_samples=False) as store:
        store.ingest([_outcomes(["write a poem", "fix this code"])])
        assert store.logs()["cue_prompts"][0] == 2
        more = _outcomes(["write a poem", "fix this code"]).table.slice(0, 1)  # p0's first model, renamed
        more = more.set_column(more.schema.get_field_index("model"), "model", pa.array(["m-d"], pa.string()))
        store.ingest([OutcomeSet("cues", more, "test", "")])
        assert store.logs()["cue_prompts"][0] == 0
        assert store.query("cue_set_of_log", log="cues").is_empty()
        (page,) = source_from_store(store, "cues").batches()
        assert list(page.prompt_ids) == ["p0"] and page.cues is None  # p1 has no m-d outcome: dropped


def test_counts_are_not_recorded_when_prompts_share_a_row_index(tmp_path: Path) -> None:
    one = _outcomes(["write a poem", "fix this code"]).table
    shared = one.set_column(one.schema.get_field_index("row_index"), "row_index",
                            pa.array([0] * one.num_rows, pa.int64()))
    with open_store(tmp_path / "s.duckdb", seed_samples=False) as store:
        store.ingest([OutcomeSet("cues", shared, "test", "")])
        assert store.logs()["cue_prompts"][0] == 0
        (page,) = source_from_store(store, "cues").batches()
        assert list(page.prompt_ids) == ["p0", "p1"] and page.cues is None


def test_pages_without_counts_and_sets_under_other_rules_read_the_text(tmp_path: Path) -> None:
    from workbench.errors import BadInputError

    spec = PolicySpec("cost", config=_config("cost-based"))
    prompts = [f"fix the code {i}" if i % 2 else f"write a poem {i}" for i in range(40)]
    with open_store(tmp_path / "s.duckdb", seed_samples=False) as store:
        store.ingest([_outcomes(prompts)])
        # Counts lost for one prompt of the second page: that page is classified from its text, the others not.
        with store._cursor() as cur:
            cur.execute("DELETE FROM prompt_cues WHERE row_index = 13").fetchall()
        pages = list(source_from_store(store, "cues", batch=10).batches())
        assert [p.cues is None for p in pages] == [False, True, False, False]
        got = replay_source(source_from_store(store, "cues", batch=10), [spec], baselines=False)[0]
        assert "cue counts recorded with the log for 30 of 40 prompts" in got.notes[0]
        with store._cursor() as cur:
            cur.execute("UPDATE cue_sets SET cues = '{\"rules\": 0}'").fetchall()
        source = source_from_store(store, "cues", batch=10)
        assert source.note is not None and "recorded under other rules" in source.note
        assert all(p.cues is None for p in source.batches())
        assert source.note in replay_source(source, [spec], baselines=False)[0].notes
        with pytest.raises(BadInputError, match="no full-information outcomes"):
            source_from_store(store, "nothing")


def test_whole_log_reads_carry_the_counts_into_tuning_shards(tmp_path: Path) -> None:
    """`load_fullinfo` (replay, tune and curves over a store log) attaches the recorded counts matched by prompt id,
    shards keep them, and decisions from them equal decisions from the text."""
    from workbench.replay.engine import replay_fullinfo
    from workbench.replay.fullinfo import FullInfoLog
    from workbench.replay.loader import load_fullinfo
    from workbench.replay.tune import shard

    spec = PolicySpec("cost", config=_config("cost-based"))
    with _sample_store(tmp_path) as store:
        log = load_fullinfo(store, "sim-drift-full")
    assert log.cues is not None and log.cues.n == log.n == 10_000
    # Row i's counts are prompt i's, whatever order the store keeps them in.
    cues = CueSet.of_routing(_config("cost-based").routing)
    np.testing.assert_array_equal(log.cues.counts[:500], record(cues, prompt_column(log.prompts[:500])).counts)
    part = shard(log, 4_000)
    assert isinstance(part, FullInfoLog) and part.cues is not None and part.cues.n == 4_000
    plain = FullInfoLog(part.name, part.prompt_ids, part.prompts, part.models, part.quality, part.cost, part.latency,
                        part.task_types, part.cost_derived)
    a, b = replay_fullinfo(part, [spec])[0], replay_fullinfo(plain, [spec])[0]
    assert "recorded with the log for 4,000 of 4,000" in " ".join(a.notes)
    assert (a.n, a.model_share, a.quality.mean) == (b.n, b.model_share, b.quality.mean)


def test_whole_log_reads_without_counts_for_every_prompt_carry_none(tmp_path: Path) -> None:
    from workbench.replay.loader import load_fullinfo

    with open_store(tmp_path / "h.duckdb", seed_samples=False, privacy="hash-only") as store:
        store.ingest([_outcomes(["fix the code", "write a poem"])])
        assert load_fullinfo(store, "cues").cues is None  # hash-only records none
