"""`TrajectoryReport`: one trajectory laid out for people (sections of label/value rows, candidate and attempt
tables), shared by the TUI's detail view and notebooks (`_repr_html_`)."""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import polars as pl

from workbench.domain import QUALITY_DIMENSIONS, Trajectory

DASH = "-"


def _num(value: float | None, digits: int = 3) -> str:
    return DASH if value is None else f"{value:.{digits}f}"


@dataclass(frozen=True)
class TrajectoryReport:
    trajectory: Trajectory
    witness_hash: str | None = None  # the store's chain link for this row; None until the writer chained it

    @property
    def witness_status(self) -> str:
        if not self.witness_hash:
            return "not chained yet (the writer chains rows as it stores them)"
        return f"chained, link {self.witness_hash[:16]}… (run verify to check the whole chain)"

    def sections(self) -> list[tuple[str, list[tuple[str, str]]]]:
        t = self.trajectory
        p, d, r, q = t.profile, t.decision, t.response, t.quality
        when = datetime.fromtimestamp(t.created_at, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        factors = ", ".join(f"{k} {v:.2f}" for k, v in p.factors.items()) or DASH
        return [
            ("Request", [
                ("id", t.trajectory_id), ("time", when), ("log", t.log), ("pipeline", t.pipeline_id),
                ("prompt", t.request.prompt),
            ]),
            ("Task profile", [
                ("task type", p.task_type), ("complexity", _num(p.complexity)), ("factors", factors),
                ("budget", p.budget_class), ("explanation", p.explanation or DASH),
            ]),
            ("Decision", [
                ("model", d.model), ("strategy", d.strategy), ("tier", d.tier or DASH),
                ("propensity", _num(d.propensity) + (" (explored)" if d.explored else "")),
                ("uncertainty", _num(d.uncertainty)), ("reason", d.reason or DASH),
                ("fallbacks", ", ".join(d.fallbacks) or DASH),
            ]),
            ("Outcome", [
                ("served", r.served_model or DASH), ("status", r.status + (f": {r.error}" if r.error else "")),
                ("cost", f"${r.cost_usd:.6f}"), ("latency", f"{r.latency_ms:,.0f} ms"),
                ("ttft", f"{r.ttft_ms:,.0f} ms"),
                ("tokens", f"{r.usage.input_tokens} in / {r.usage.output_tokens} out"),
            ]),
            ("Quality", [
                *[(dim, _num(getattr(q, dim))) for dim in QUALITY_DIMENSIONS],
                ("overall", f"{_num(q.overall)} ({q.source})"),
                ("reward", f"{_num(t.reward)} ({t.reward_source or DASH})"),
            ]),
            ("Witness", [("status", self.witness_status)]),
        ]

    def candidates(self) -> pl.DataFrame:
        rows: list[dict[str, Any]] = [
            {"model": c.model, "score": c.score, "probability": c.probability, "excluded": c.excluded}
            for c in self.trajectory.decision.candidates
        ]
        return pl.DataFrame(rows, schema={"model": pl.String, "score": pl.Float64, "probability": pl.Float64,
                                          "excluded": pl.String})

    def attempts(self) -> pl.DataFrame:
        rows: list[dict[str, Any]] = [
            {"deployment": a.deployment, "status": a.status, "latency_ms": a.latency_ms,
             "http_status": a.http_status, "retry_after_s": a.retry_after_s, "error": a.error}
            for a in self.trajectory.response.attempts
        ]
        return pl.DataFrame(rows, schema={"deployment": pl.String, "status": pl.String, "latency_ms": pl.Float64,
                                          "http_status": pl.Int64, "retry_after_s": pl.Float64, "error": pl.String})

    def text(self) -> str:
        lines: list[str] = []
        for title, rows in self.sections():
            lines.append(title)
            lines += [f"  {label:<12} {value}" for label, value in rows]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.text()

    def _repr_html_(self) -> str:  # rich display in notebooks
        parts = []
        for title, rows in self.sections():
            body = "".join(f"<tr><th style='text-align:left'>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
                           for k, v in rows)
            parts.append(f"<h4>{html.escape(title)}</h4><table>{body}</table>")
        parts.append("<h4>Candidates</h4>" + self.candidates()._repr_html_())
        parts.append("<h4>Attempts</h4>" + self.attempts()._repr_html_())
        return "".join(parts)


__all__ = ["TrajectoryReport"]
