"""Load replay inputs from the store: full-information logs as aligned prompt x model matrices."""

from __future__ import annotations

import numpy as np
import polars as pl

from workbench.errors import BadInputError
from workbench.replay.bandit import BanditLog, bandit_from_frame
from workbench.replay.fullinfo import FullInfoLog
from workbench.store import TrajectoryStore


def fullinfo_from_frame(name: str, df: pl.DataFrame, *, models: list[str] | None = None) -> FullInfoLog:
    """Pivot outcome rows (prompt_id, model, quality, cost_usd, latency_ms, ...) into a FullInfoLog.

    Prompts keep the order they first appear in; models are sorted (or `models`, the whole log's list when `df`
    is one page of it). A prompt missing any model's outcome cannot be replayed exactly and is dropped.
    """
    if df.is_empty():
        raise BadInputError(f"log '{name}' has no full-information outcomes; `clawft-workbench logs` lists the logs")
    models = models if models is not None else sorted(df["model"].unique().to_list())
    counts = df.group_by("prompt_id").agg(pl.len().alias("k"))
    complete = counts.filter(pl.col("k") == len(models))["prompt_id"]
    full = df.filter(pl.col("prompt_id").is_in(complete.implode()) & pl.col("model").is_in(models))
    has_task = "task" in full.columns
    first = (
        full.with_row_index("_pos")
        .group_by("prompt_id")
        .agg(pl.col("_pos").min(), pl.col("prompt").last(), *([pl.col("task").last()] if has_task else []))
        .sort("_pos")
        .with_row_index("_row")
    )
    n, m = first.height, len(models)
    placed = full.join(first.select("prompt_id", "_row"), on="prompt_id", how="left", maintain_order="left")
    rows = placed["_row"].to_numpy().astype(np.int64)
    cols = placed["model"].replace_strict(models, list(range(m)), return_dtype=pl.Int64).to_numpy()

    def matrix(column: str) -> np.ndarray:
        out = np.full((n, m), np.nan)
        out[rows, cols] = full[column].cast(pl.Float64).fill_null(np.nan).to_numpy()
        return out

    prompts = first["prompt"].cast(pl.String).fill_null("").to_list()
    tasks = first["task"].cast(pl.String).fill_null("").to_list() if has_task else [""] * n
    return FullInfoLog(
        name=name,
        prompt_ids=[str(p) for p in first["prompt_id"].to_list()],
        prompts=prompts,
        models=models,
        quality=matrix("quality"),
        cost=matrix("cost_usd"),
        latency=matrix("latency_ms"),
        task_types=tasks,
        cost_derived=bool(full["cost_derived"].any()) if "cost_derived" in full.columns else False,
    )


def load_fullinfo(store: TrajectoryStore, log: str) -> FullInfoLog:
    """A whole full-information log of the store, carrying the cue counts recorded at import when every prompt has
    them (so replay, tuning and curves over it classify from counts: replay/cue_features.py)."""
    from workbench.replay.store_pages import with_recorded_cues

    return with_recorded_cues(store, fullinfo_from_frame(log, store.outcomes(log)))


def sample_fullinfo(log: str) -> FullInfoLog | None:
    """A shipped full-information sample log read straight from sample_logs/, for stores that lack it."""
    from workbench.store.samples import sample_files

    for path in sample_files():
        if path.stem == log:
            df = pl.read_parquet(path)
            if "model" in df.columns and "quality" in df.columns:
                return fullinfo_from_frame(log, df)
    return None


def load_bandit(store: TrajectoryStore, log: str) -> BanditLog:
    """A trajectory log (bandit, live or imported) as replay events, in logged order."""
    return bandit_from_frame(log, store.query("bandit_events", log=log))


BANDIT_COLUMNS = ("prompt", "task_type", "complexity", "model", "propensity", "q_overall", "reward", "cost_usd",
                  "latency_ms", "status", "served_model")


def sample_bandit(log: str) -> BanditLog | None:
    """A shipped trajectory sample log (e.g. sim-drift-bandit) read straight from sample_logs/."""
    from workbench.store.samples import sample_files

    for path in sample_files():
        if path.stem == log:
            df = pl.read_parquet(path)
            if "trajectory_id" in df.columns:
                return bandit_from_frame(log, df.select(BANDIT_COLUMNS).rename({"q_overall": "quality"}))
    return None


def load_log(store: TrajectoryStore, log: str) -> tuple[FullInfoLog | BanditLog, str | None]:
    """The log as replay input (full-information or events), falling back to the shipped sample of that name.

    Returns the log and a note when it came from sample_logs/ rather than the store.
    """
    try:
        kind = log_kind(store, log)
    except BadInputError:
        sample: FullInfoLog | BanditLog | None = sample_fullinfo(log) or sample_bandit(log)
        if sample is None:
            raise
        return sample, f"read from the shipped sample log {log} (not in {store.path})"
    if kind == "full-information":
        return load_fullinfo(store, log), None
    return load_bandit(store, log), None


def log_kind(store: TrajectoryStore, log: str) -> str:
    """The catalogue's kind of a log (live | full-information | bandit | imported); an unknown log is bad input."""
    logs = store.logs()
    match = logs.filter(pl.col("name") == log)
    if match.is_empty():
        names = ", ".join(logs["name"].to_list()) or "none"
        raise BadInputError(f"no log named '{log}' in {store.path}; logs there: {names}")
    return str(match["kind"][0])


__all__ = [
    "fullinfo_from_frame", "load_bandit", "load_fullinfo", "load_log", "log_kind", "sample_bandit", "sample_fullinfo",
]
