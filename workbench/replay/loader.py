"""Load replay inputs from the store: full-information logs as aligned prompt x model matrices."""

from __future__ import annotations

import numpy as np
import polars as pl

from workbench.errors import BadInputError
from workbench.replay.bandit import BanditLog, bandit_from_frame
from workbench.replay.fullinfo import FullInfoLog
from workbench.store import TrajectoryStore


def fullinfo_from_frame(name: str, df: pl.DataFrame) -> FullInfoLog:
    """Pivot outcome rows (prompt_id, model, quality, cost_usd, latency_ms, ...) into a FullInfoLog.

    Prompts keep the order they first appear in; models are sorted. A prompt missing any model's outcome
    cannot be replayed exactly and is dropped (the count is in the log's name notes via `dropped`).
    """
    if df.is_empty():
        raise BadInputError(f"log '{name}' has no full-information outcomes; `clawft-workbench logs` lists the logs")
    models = sorted(df["model"].unique().to_list())
    counts = df.group_by("prompt_id").agg(pl.len().alias("k"))
    complete = counts.filter(pl.col("k") == len(models))["prompt_id"]
    full = df.filter(pl.col("prompt_id").is_in(complete.implode()))
    first = full.with_row_index("_pos").group_by("prompt_id").agg(pl.col("_pos").min()).sort("_pos")
    ids = first["prompt_id"].to_list()
    index = {pid: i for i, pid in enumerate(ids)}
    col = {m: j for j, m in enumerate(models)}
    n, m = len(ids), len(models)
    rows = np.array([index[p] for p in full["prompt_id"].to_list()], dtype=np.int64)
    cols = np.array([col[x] for x in full["model"].to_list()], dtype=np.int64)

    def matrix(column: str) -> np.ndarray:
        out = np.full((n, m), np.nan)
        out[rows, cols] = full[column].cast(pl.Float64).fill_null(np.nan).to_numpy()
        return out

    prompt_of = dict(zip(full["prompt_id"].to_list(), full["prompt"].to_list(), strict=True))
    tasks = full["task"].to_list() if "task" in full.columns else [""] * full.height
    task_of = dict(zip(full["prompt_id"].to_list(), tasks, strict=True))
    return FullInfoLog(
        name=name,
        prompt_ids=ids,
        prompts=[str(prompt_of[p] or "") for p in ids],
        models=models,
        quality=matrix("quality"),
        cost=matrix("cost_usd"),
        latency=matrix("latency_ms"),
        task_types=[str(task_of.get(p) or "") for p in ids],
        cost_derived=bool(full["cost_derived"].any()) if "cost_derived" in full.columns else False,
    )


def load_fullinfo(store: TrajectoryStore, log: str) -> FullInfoLog:
    return fullinfo_from_frame(log, store.outcomes(log))


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
