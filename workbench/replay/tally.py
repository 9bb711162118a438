"""Exact evaluation of one policy's choices, batch by batch, in bounded memory.

A `Tally` takes the choices for successive batches of a full-information log and keeps only what the metrics
need: counts, sums and the quality mean and M2 (merged per batch, Chan et al.), each chosen latency (percentiles
are exact, so every value is kept: 8 bytes a row), per-model counts, per-task sums, and for two-model logs the
three per-row columns the strong-call curve sorts. `result()` gives the same PolicyResult `evaluate` gives on the
whole log at once (to float rounding in the quality CI).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl
from numpy.typing import NDArray

from workbench.replay.columns import text_column
from workbench.replay.metrics import Z95 as _Z95
from workbench.replay.metrics import MeanCI, aiq, apgr, cpt, percentiles, strong_call_curve_from

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
NO_OUTCOME = -1
MAX_TASKS = 64  # more distinct task groups than this is not a grouping worth a table


class _Column:
    """A float64 column grown by appending batches (amortised doubling, so no list of chunks to concatenate);
    `reserve` sizes it once when the row count is known, so a long log never holds two copies while growing."""

    def __init__(self) -> None:
        self.data = np.empty(1024)
        self.size = 0

    def reserve(self, n: int) -> None:
        if n > self.data.size:
            grown = np.empty(n)
            grown[: self.size] = self.data[: self.size]
            self.data = grown

    def extend(self, values: FloatArray) -> None:
        need = self.size + values.size
        if need > self.data.size:
            grown = np.empty(max(need, 2 * self.data.size))
            grown[: self.size] = self.data[: self.size]
            self.data = grown
        self.data[self.size : need] = values
        self.size = need

    def view(self) -> FloatArray:
        out: FloatArray = self.data[: self.size]
        return out


@dataclass
class Tally:
    """Running exact metrics of one policy over a log's batches."""

    name: str
    models: list[str]
    strong_weak: tuple[int, int] | None = None  # two-model logs: keep what the strong-call curve needs
    with_curve: bool = True  # False: the policy has no preference (a single operating point)
    n: int = 0
    chosen: int = 0  # rows whose choice the log has an outcome for
    covered: int = 0  # of those, rows with a finite quality (what the mean and CI are over)
    q_mean: float = 0.0
    q_m2: float = 0.0
    cost_sum: float = 0.0
    counts: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    latency: _Column = field(default_factory=_Column)
    tasks: dict[str, list[float]] | None = field(default_factory=dict)  # task -> [n, covered, q sum, cost sum]
    pref: _Column = field(default_factory=_Column)
    dq: _Column = field(default_factory=_Column)  # q_strong - q_weak per row
    dc: _Column = field(default_factory=_Column)  # c_strong - c_weak per row
    q_weak_sum: float = 0.0
    q_strong_sum: float = 0.0
    c_weak_sum: float = 0.0

    def __post_init__(self) -> None:
        if self.counts.size != len(self.models):
            self.counts = np.zeros(len(self.models), dtype=np.int64)

    def reserve(self, rows: int) -> None:
        """Size the per-row columns for a log of `rows` rows up front."""
        self.latency.reserve(rows)
        if self.strong_weak is not None and self.with_curve:
            for col in (self.pref, self.dq, self.dc):
                col.reserve(rows)

    def add(
        self, quality: FloatArray, cost: FloatArray, latency: FloatArray, choice: IntArray,
        tasks: TaskCodes | None = None, preference: FloatArray | None = None,
    ) -> None:
        """One batch: its n x m outcome matrices and the chosen column per row (NO_OUTCOME where none applies)."""
        ok = choice != NO_OUTCOME
        rows = np.flatnonzero(ok)
        cols = choice[ok]
        q = quality[rows, cols]
        self.n += choice.size
        self.chosen += int(cols.size)
        self._quality(q)
        self.cost_sum += float(cost[rows, cols].sum())
        self.latency.extend(latency[rows, cols])
        if cols.size:
            self.counts += np.bincount(cols, minlength=len(self.models))
        if tasks is not None:
            self._tasks(tasks, ok, quality, cost, choice)
        else:
            self.tasks = None  # a batch without task types: no per-task table for the log
        if self.strong_weak is not None:
            s, w = self.strong_weak
            if preference is not None and self.with_curve:
                self.pref.extend(preference)
                self.dq.extend(quality[:, s] - quality[:, w])
                self.dc.extend(cost[:, s] - cost[:, w])
            else:
                self.with_curve = False
            self.q_weak_sum += float(quality[:, w].sum())
            self.q_strong_sum += float(quality[:, s].sum())
            self.c_weak_sum += float(cost[:, w].sum())

    def _quality(self, q: FloatArray) -> None:
        v = q[np.isfinite(q)]
        k = int(v.size)
        if k == 0:
            return
        mean = float(v.mean())
        m2 = float(((v - mean) ** 2).sum())
        if self.covered == 0:
            self.covered, self.q_mean, self.q_m2 = k, mean, m2
            return
        total = self.covered + k
        delta = mean - self.q_mean
        self.q_mean += delta * k / total
        self.q_m2 += m2 + delta * delta * self.covered * k / total
        self.covered = total

    def _tasks(self, tasks: TaskCodes, ok: NDArray[np.bool_], quality: FloatArray, cost: FloatArray,
               choice: IntArray) -> None:
        if self.tasks is None:
            return
        names, inverse = tasks
        rows = np.flatnonzero(ok)
        q = quality[rows, choice[rows]]
        c = cost[rows, choice[rows]]
        k = len(names)
        n_all = np.bincount(inverse, minlength=k)
        n_cov = np.bincount(inverse[rows], minlength=k)
        q_sum = np.bincount(inverse[rows], weights=q, minlength=k)
        c_sum = np.bincount(inverse[rows], weights=c, minlength=k)
        for i, t in enumerate(names):
            if not n_all[i]:
                continue
            cell = self.tasks.setdefault(t, [0.0, 0.0, 0.0, 0.0])
            cell[0] += float(n_all[i])
            cell[1] += float(n_cov[i])
            cell[2] += float(q_sum[i])
            cell[3] += float(c_sum[i])
        if len(self.tasks) > MAX_TASKS:
            self.tasks = None

    # -- the result -----------------------------------------------------------------------------------------
    def quality_ci(self) -> MeanCI:
        n = self.covered
        if n == 0:
            return MeanCI(float("nan"), float("nan"), float("nan"), 0)
        half = _Z95 * float(np.sqrt(self.q_m2 / (n - 1))) / np.sqrt(n) if n > 1 else 0.0
        return MeanCI(self.q_mean, self.q_mean - half, self.q_mean + half, n)

    def per_task(self) -> dict[str, dict[str, Any]]:
        if not self.tasks:
            return {}
        out: dict[str, dict[str, Any]] = {}
        for t in sorted(self.tasks):
            n_all, n_cov, q_sum, c_sum = self.tasks[t]
            out[t] = {
                "n": int(n_all),
                "quality": round(q_sum / n_cov, 6) if n_cov else None,
                "cost_per_request_usd": round(c_sum / n_cov, 8) if n_cov else None,
            }
        return out

    def curve(self) -> dict[str, float] | None:
        """APGR, CPT(50%), CPT(80%) and AIQ of the preference order, on a two-model log."""
        if self.strong_weak is None or not self.with_curve or self.pref.size == 0:
            return None
        pref = self.pref.view()
        if np.ptp(pref) <= 0:
            return None
        n = pref.size
        curve = strong_call_curve_from(pref, self.dq.view(), self.q_weak_sum, self.q_strong_sum / n)
        order = np.argsort(-pref, kind="stable")
        extra_cost = np.concatenate([[0.0], np.cumsum(self.dc.view()[order])])
        ks = np.round(curve.fraction * n).astype(np.int64)
        costs = (self.c_weak_sum + extra_cost[ks]) / n
        return {"apgr": apgr(curve), "cpt50": cpt(curve, 0.5), "cpt80": cpt(curve, 0.8),
                "aiq": aiq(costs, curve.quality)}


TaskCodes = tuple[list[str], IntArray]  # (distinct task types, code per row)


def task_codes(task_types: Sequence[str]) -> TaskCodes | None:
    """A batch's task types as codes (computed once, shared by every policy's tally); None when it has none."""
    if not len(task_types):
        return None
    held = getattr(task_types, "series", None)  # a batch read from Arrow keeps its column: no Python strings
    column = held if isinstance(held, pl.Series) else pl.Series("task", list(task_types), dtype=pl.String)
    column = text_column(column)
    names = column.unique().sort().to_list()
    codes = column.cast(pl.Enum(names)).to_physical().to_numpy().astype(np.int64)
    return names, codes


def latency_percentiles(t: Tally) -> dict[str, float]:
    return percentiles(t.latency.view())


__all__ = ["NO_OUTCOME", "Tally", "TaskCodes", "latency_percentiles", "task_codes"]
