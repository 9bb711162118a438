"""Cue counts recorded with a log: replays that read them decide exactly as replays that scan the text, they are
used only for the config they were recorded for, and a file whose counts are damaged is replayed from its text."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workbench.config import WorkbenchConfig
from workbench.pipeline.build import build_pipeline
from workbench.replay.batched_curves import curve_batched
from workbench.replay.cue_features import METADATA_KEY, CueSet, record
from workbench.replay.engine import OfflineTransport, PolicySpec
from workbench.replay.fullinfo import FullInfoLog
from workbench.replay.keyword_scan import CueScan
from workbench.replay.loader import sample_fullinfo
from workbench.replay.stream import replay_source, source_from_parquet, write_wide_parquet
from workbench.replay.tune import shard
from workbench.replay.vectorised import BatchDecider, clear_cache
from workbench.sim.traffic import one_router_config

ODD_PROMPTS = ["café: write a poem", "Ünïcode summarize the code", "", "tl;dr: classify this", "TL;DR tl;drx",
               "look,  up the literature... lookup", "debug_this debug-this DEBUG this", "step by step, step-by-step"]


def _config(router: str, **routing: Any) -> WorkbenchConfig:
    return one_router_config(router, routing=routing)


@pytest.fixture(scope="module")
def log() -> FullInfoLog:
    base = sample_fullinfo("sim-drift-full")
    assert base is not None
    part = shard(base, 2_500)
    assert isinstance(part, FullInfoLog)
    # Prompts the byte rules cannot settle (non-ASCII, odd cues) ride along in place of the first rows.
    prompts = list(ODD_PROMPTS) + list(part.prompts[len(ODD_PROMPTS):])
    return dataclasses.replace(part, prompts=prompts)


@pytest.fixture(scope="module")
def files(log: FullInfoLog, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("cues")
    plain, with_cues = folder / "plain.parquet", folder / "cues.parquet"
    write_wide_parquet(iter([log.slice(0, 1_000), log.slice(1_000, log.n)]), plain)
    write_wide_parquet(iter([log.slice(0, 1_000), log.slice(1_000, log.n)]), with_cues,
                       CueSet.of_routing(_config("static").routing))
    return plain, with_cues


def _choices(path: Path, config: WorkbenchConfig, batch: int = 700) -> tuple[np.ndarray, str]:
    clear_cache()  # no in-process reuse: every batch is classified from the file
    decider = BatchDecider(build_pipeline(config, transport=OfflineTransport(), seed=0))
    out = [decider.decide(b)[0] for b in source_from_parquet(path, batch=batch).batches()]
    return np.concatenate(out), decider.paths()


@pytest.mark.parametrize("router", ["static", "cost-based", "tier"])
def test_recorded_counts_decide_exactly_as_scanning_the_text(files: tuple[Path, Path], router: str) -> None:
    plain, with_cues = files
    config = _config(router)
    scanned, scanned_path = _choices(plain, config)
    recorded, recorded_path = _choices(with_cues, config)
    np.testing.assert_array_equal(recorded, scanned)
    assert "recorded with the log" in recorded_path and "recorded" not in scanned_path
    # And whole results agree, notes aside (they name the path taken).
    spec = PolicySpec(router, config=config)
    a, b = replay_source(source_from_parquet(plain), [spec]), replay_source(source_from_parquet(with_cues), [spec])
    assert [(r.pipeline, r.quality.mean, r.cost_usd, r.model_share) for r in a] == [
        (r.pipeline, r.quality.mean, r.cost_usd, r.model_share) for r in b]


def test_counts_recorded_for_other_cues_are_not_used(files: tuple[Path, Path]) -> None:
    plain, with_cues = files
    config = _config("cost-based", keywords={"development": ["code", "debug*"], "creative": ["poem", "story"]})
    scanned, _ = _choices(plain, config)
    recorded, path = _choices(with_cues, config)
    np.testing.assert_array_equal(recorded, scanned)
    assert "recorded" not in path  # the keyword groups differ from the recorded set: the text was scanned


def test_damaged_or_foreign_counts_fall_back_to_the_text(files: tuple[Path, Path], tmp_path: Path) -> None:
    plain, with_cues = files
    table = pq.read_table(with_cues)
    meta = dict(table.schema.metadata or {})
    config = _config("cost-based")
    scanned, _ = _choices(plain, config)

    other_rules = tmp_path / "rules.parquet"
    pq.write_table(table.replace_schema_metadata({**meta, METADATA_KEY: meta[METADATA_KEY].replace(
        b'"rules":1', b'"rules":99')}), other_rules)
    narrow = tmp_path / "narrow.parquet"
    counts = table.column("cue.counts").combine_chunks()
    cut = pa.array([v[:2] for v in counts.to_pylist()], type=pa.binary(2))
    pq.write_table(table.set_column(table.schema.get_field_index("cue.counts"), "cue.counts", cut), narrow)

    for path, why in ((other_rules, "other rules"), (narrow, "cue.counts is fixed_size_binary[2]")):
        source = source_from_parquet(path)
        assert source.note is not None and why in source.note
        got, decided = _choices(path, config)
        np.testing.assert_array_equal(got, scanned)
        assert "recorded" not in decided
        result = replay_source(source, [PolicySpec("c", config=config)], baselines=False)[0]
        assert any(why in note for note in result.notes)  # the reader is told why replay took the slow path


def test_learning_curves_equal_with_recorded_counts(log: FullInfoLog) -> None:
    spec = PolicySpec("sona", config=_sona())
    cues = CueSet.of_routing(_sona().routing)
    with_cues = dataclasses.replace(log, cues=record(cues, pl.Series(list(log.prompts))))
    a = curve_batched(log, spec, block=256)
    b = curve_batched(with_cues, spec, block=256)
    assert a is not None and b is not None
    np.testing.assert_array_equal(a.position, b.position)
    np.testing.assert_array_equal(a.reward, b.reward)


def _sona() -> WorkbenchConfig:
    return one_router_config("sona", learner="sona")


WORDS = ["code", "debug", "debugging", "fix", "explain", "why", "look", "up", "the", "race", "condition", "poem",
         "tl;dr", "step", "by", "sql", "injection", "summarize", "x", "-", ",", ".", "Café", "API", "tool"]


@settings(max_examples=120, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(st.sampled_from(WORDS), max_size=14).map(" ".join), min_size=1, max_size=30),
       st.data())
def test_a_subset_of_recorded_groups_counts_as_its_own_scan(prompts: list[str], data: st.DataObject) -> None:
    """Counts recorded for a larger set, selected down to some groups, equal a scan of just those groups on every
    row both settle; rows the subset scan cannot settle are never settled by the recorded counts."""
    routing = _config("static").routing
    cues = CueSet.of_routing(routing)
    groups = dict(cues.groups)
    names = data.draw(st.lists(st.sampled_from(list(groups)), min_size=1, unique=True))
    wanted = {n: list(groups[n]) for n in names}
    distinct = [i for i, n in enumerate(names) if n in cues.distinct]
    column = pl.Series(prompts)
    selected = record(cues, column).select(wanted, distinct)
    own = CueScan(wanted).scan(column, distinct=distinct, words=True)
    assert selected is not None
    assert not (own.scalar & ~selected.scalar).any()
    ok = ~selected.scalar
    np.testing.assert_array_equal(selected.counts[ok], own.counts[ok])
    if distinct:
        assert selected.distinct is not None and own.distinct is not None
        np.testing.assert_array_equal(selected.distinct[ok][:, distinct], own.distinct[ok][:, distinct])
    assert own.words is not None and selected.words is not None
    np.testing.assert_array_equal(selected.words, own.words)


def test_a_group_recorded_with_other_words_is_refused() -> None:
    cues = CueSet.of_routing(_config("static").routing)
    got = record(cues, pl.Series(["fix the code"]))
    name, words = cues.groups[0]
    assert got.select({name: list(words)}) is not None
    assert got.select({name: [*words, "extra"]}) is None
    assert got.select({"task:unknown": ["x"]}) is None
    plain = next(n for n in cues.names if n not in cues.distinct)
    assert got.select({plain: list(dict(cues.groups)[plain])}, distinct=[0]) is None  # no distinct counts kept


def test_a_star_phrase_head_at_the_very_end_of_a_column_is_counted_safely() -> None:
    """A phrase head as the last bytes of the whole column (found by the property test above: 'API', whose
    phrase 'api call*' cannot follow) once read past the buffer while hashing the missing tail."""
    routing = _config("static").routing
    cues = CueSet.of_routing(routing)
    got = record(cues, pl.Series(["make an api call", "API"]))
    tools = cues.names.index("cue:tools")
    kept = [n for n in cues.names if n in cues.distinct].index("cue:tools")
    assert (got.counts[0, tools], got.distinct[0, kept]) == (1, 1)  # 'api call*' followed
    assert (got.counts[1, tools], got.distinct[1, kept]) == (0, 0)  # a head alone is no hit


def test_a_column_scanned_in_two_halves_counts_as_one(monkeypatch: pytest.MonkeyPatch, log: FullInfoLog) -> None:
    from workbench.replay import keyword_scan

    cues = CueSet.of_routing(_config("static").routing)
    groups = dict(cues.groups)
    distinct = [i for i, n in enumerate(cues.names) if n in cues.distinct]
    prompts = pl.Series([*ODD_PROMPTS, *list(log.prompts)[:301], "make an api call", "API"])
    whole = CueScan(groups).scan(prompts, distinct=distinct, words=True)
    monkeypatch.setattr(keyword_scan, "PARALLEL_ROWS", 8)
    monkeypatch.setattr(keyword_scan, "_CORES", 2)
    halves = CueScan(groups).scan(prompts, distinct=distinct, words=True)
    for a, b in ((whole.counts, halves.counts), (whole.distinct, halves.distinct), (whole.words, halves.words),
                 (whole.scalar, halves.scalar)):
        np.testing.assert_array_equal(a, b)
    assert whole.scalar.any() and whole.counts.sum() > 0  # the column exercises both paths
