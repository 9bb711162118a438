"""Flattens a Trajectory into one typed `trajectories` row (dict or Arrow) and rebuilds it exactly from such a row."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from workbench.domain import (
    AssembledContext,
    Attempt,
    Candidate,
    ChatRequest,
    LlmResponse,
    Message,
    QualityScore,
    RoutingDecision,
    TaskProfile,
    Trajectory,
    Usage,
    to_plain,
)
from workbench.errors import BadInputError, StoreError

Row = dict[str, Any]

_MESSAGE = pa.struct([("role", pa.string()), ("content", pa.string())])
_CANDIDATE = pa.struct(
    [("model", pa.string()), ("score", pa.float64()), ("probability", pa.float64()), ("excluded", pa.string())]
)
_ATTEMPT = pa.struct(
    [
        ("deployment", pa.string()),
        ("status", pa.string()),
        ("latency_ms", pa.float64()),
        ("http_status", pa.int32()),
        ("retry_after_s", pa.float64()),
        ("error", pa.string()),
    ]
)

# Same names, order and types as `trajectories` in queries/schema.sql (a test holds the two together).
ROW_SCHEMA: pa.Schema = pa.schema(
    [
        pa.field("trajectory_id", pa.string(), nullable=False),
        pa.field("created_at", pa.timestamp("us"), nullable=False),
        pa.field("created_unix", pa.float64(), nullable=False),
        pa.field("log", pa.string(), nullable=False),
        pa.field("source", pa.string(), nullable=False),
        ("pipeline_id", pa.string()),
        ("config_hash", pa.string()),
        ("prompt", pa.string()),
        ("messages", pa.list_(_MESSAGE)),
        ("tools", pa.string()),
        ("request_metadata", pa.string()),
        ("max_output_tokens", pa.int64()),
        ("task_type", pa.string()),
        ("complexity", pa.float64()),
        ("factors", pa.map_(pa.string(), pa.float64())),
        ("budget_class", pa.string()),
        ("urgency", pa.string()),
        ("required_capabilities", pa.list_(pa.string())),
        ("profile_confidence", pa.float64()),
        ("profile_explanation", pa.string()),
        ("factor_notes", pa.string()),
        ("model", pa.string()),
        ("provider", pa.string()),
        ("strategy", pa.string()),
        ("candidates", pa.list_(_CANDIDATE)),
        ("propensity", pa.float64()),
        ("explored", pa.bool_()),
        ("uncertainty", pa.float64()),
        ("decision_reason", pa.string()),
        ("fallbacks", pa.list_(pa.string())),
        ("tier", pa.string()),
        ("decision_policy", pa.string()),
        ("context_messages", pa.list_(_MESSAGE)),
        ("context_tokens", pa.int64()),
        ("context_budget", pa.int64()),
        ("context_dropped", pa.int64()),
        ("context_notes", pa.string()),
        ("served_model", pa.string()),
        ("status", pa.string()),
        ("response_text", pa.string()),
        ("tool_calls", pa.string()),
        ("finish_reason", pa.string()),
        ("json_repaired", pa.bool_()),
        ("response_error", pa.string()),
        ("input_tokens", pa.int64()),
        ("output_tokens", pa.int64()),
        ("cost_usd", pa.float64()),
        ("price_version", pa.string()),
        ("ttft_ms", pa.float64()),
        ("latency_ms", pa.float64()),
        ("attempts", pa.list_(_ATTEMPT)),
        ("response_metadata", pa.string()),
        ("q_accuracy", pa.float64()),
        ("q_relevance", pa.float64()),
        ("q_completeness", pa.float64()),
        ("q_coherence", pa.float64()),
        ("q_safety", pa.float64()),
        ("q_overall", pa.float64()),
        ("quality_source", pa.string()),
        ("quality_explanations", pa.string()),
        ("reward", pa.float64()),
        ("reward_source", pa.string()),
        ("learner_version_before", pa.int32()),
        ("learner_version_after", pa.int32()),
        ("witness_hash", pa.string()),
        ("witness_seq", pa.int64()),
        ("privacy", pa.string()),
        ("witness_version", pa.int16()),
    ]
)

# Where each field of the Trajectory tree lives. Not used to build rows (explicit code is faster and clearer);
# it exists so a test can notice a field added to the domain records that the store would silently drop.
FIELD_COLUMNS: Mapping[str, str] = {
    "trajectory_id": "trajectory_id",
    "created_at": "created_unix",
    "pipeline_id": "pipeline_id",
    "config_hash": "config_hash",
    "request.messages": "messages",
    "request.tools": "tools",
    "request.metadata": "request_metadata",
    "request.max_output_tokens": "max_output_tokens",
    "profile.task_type": "task_type",
    "profile.complexity": "complexity",
    "profile.factors": "factors",
    "profile.budget_class": "budget_class",
    "profile.urgency": "urgency",
    "profile.required_capabilities": "required_capabilities",
    "profile.confidence": "profile_confidence",
    "profile.explanation": "profile_explanation",
    "profile.factor_notes": "factor_notes",
    "decision.model": "model",
    "decision.strategy": "strategy",
    "decision.candidates": "candidates",
    "decision.propensity": "propensity",
    "decision.explored": "explored",
    "decision.uncertainty": "uncertainty",
    "decision.reason": "decision_reason",
    "decision.fallbacks": "fallbacks",
    "decision.tier": "tier",
    "decision.policy": "decision_policy",
    "context.messages": "context_messages",
    "context.tokens": "context_tokens",
    "context.budget": "context_budget",
    "context.dropped": "context_dropped",
    "context.notes": "context_notes",
    "response.text": "response_text",
    "response.served_model": "served_model",
    "response.status": "status",
    "response.usage.input_tokens": "input_tokens",
    "response.usage.output_tokens": "output_tokens",
    "response.cost_usd": "cost_usd",
    "response.price_version": "price_version",
    "response.ttft_ms": "ttft_ms",
    "response.latency_ms": "latency_ms",
    "response.attempts": "attempts",
    "response.tool_calls": "tool_calls",
    "response.finish_reason": "finish_reason",
    "response.json_repaired": "json_repaired",
    "response.error": "response_error",
    "response.metadata": "response_metadata",
    "quality.accuracy": "q_accuracy",
    "quality.relevance": "q_relevance",
    "quality.completeness": "q_completeness",
    "quality.coherence": "q_coherence",
    "quality.safety": "q_safety",
    "quality.overall": "q_overall",
    "quality.source": "quality_source",
    "quality.explanations": "quality_explanations",
    "reward": "reward",
    "reward_source": "reward_source",
    "learner_version_before": "learner_version_before",
    "learner_version_after": "learner_version_after",
    "source": "source",
    "log": "log",
}
# Columns computed from other fields (for queries and list views) or bookkeeping filled in by the writer (the
# witness chain, the privacy mode applied); ignored when reading back.
DERIVED_COLUMNS: frozenset[str] = frozenset(
    {"created_at", "prompt", "provider", "witness_hash", "witness_seq", "privacy", "witness_version"}
)


def _plain_default(obj: Any) -> Any:
    if isinstance(obj, Mapping) or (dataclasses.is_dataclass(obj) and not isinstance(obj, type)):
        return to_plain(obj)
    raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")


# One encoder for all rows: json.dumps with non-default options builds a new encoder on every call.
_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), default=_plain_default)


def _json(value: Any, trajectory_id: str, what: str) -> str:
    """Canonical JSON, the same text as `json.dumps(to_plain(value), sort_keys=True, separators=(",", ":"))`.

    json.dumps walks dicts, lists and tuples itself far faster than to_plain does; to_plain is only asked about
    what json cannot handle (non-dict mappings, dataclasses). This runs on the caller's thread for every append.
    """
    if not value:
        # Empty is the common case (no tools, no tool calls, no notes); the encoder's per-call overhead is ~1 us.
        if isinstance(value, tuple | list):
            return "[]"
        if isinstance(value, Mapping):
            return "{}"
    try:
        return _ENCODER.encode(value)
    except (TypeError, ValueError) as exc:
        raise BadInputError(f"trajectory {trajectory_id}: {what} cannot be stored as JSON: {exc}") from exc


def _messages(messages: Iterable[Message]) -> list[dict[str, str]]:
    return [{"role": m.role, "content": m.content} for m in messages]


def trajectory_to_row(t: Trajectory) -> Row:
    """One `trajectories` row as a dict keyed by column name (Python values Arrow converts by ROW_SCHEMA)."""
    req, prof, dec, ctx, resp, q = t.request, t.profile, t.decision, t.context, t.response, t.quality
    tid = t.trajectory_id
    try:
        created_at = datetime.fromtimestamp(t.created_at, tz=UTC).replace(tzinfo=None)
    except (OverflowError, OSError, ValueError, TypeError) as exc:
        raise BadInputError(f"trajectory {tid}: created_at={t.created_at!r} is not a usable unix time: {exc}") from exc
    return {
        "trajectory_id": tid,
        "created_at": created_at,
        "created_unix": t.created_at,
        "log": t.log,
        "source": t.source,
        "pipeline_id": t.pipeline_id,
        "config_hash": t.config_hash,
        "prompt": req.prompt,
        "messages": _messages(req.messages),
        "tools": _json(req.tools, tid, "request.tools"),
        "request_metadata": _json(req.metadata, tid, "request.metadata"),
        "max_output_tokens": req.max_output_tokens,
        "task_type": prof.task_type,
        "complexity": prof.complexity,
        "factors": dict(prof.factors),
        "budget_class": prof.budget_class,
        "urgency": prof.urgency,
        "required_capabilities": list(prof.required_capabilities),
        "profile_confidence": prof.confidence,
        "profile_explanation": prof.explanation,
        "factor_notes": _json(prof.factor_notes, tid, "profile.factor_notes"),
        "model": dec.model,
        "provider": dec.provider,
        "strategy": dec.strategy,
        "candidates": [
            {"model": c.model, "score": c.score, "probability": c.probability, "excluded": c.excluded}
            for c in dec.candidates
        ],
        "propensity": dec.propensity,
        "explored": dec.explored,
        "uncertainty": dec.uncertainty,
        "decision_reason": dec.reason,
        "fallbacks": list(dec.fallbacks),
        "tier": dec.tier,
        "decision_policy": dec.policy,
        "context_messages": _messages(ctx.messages),
        "context_tokens": ctx.tokens,
        "context_budget": ctx.budget,
        "context_dropped": ctx.dropped,
        "context_notes": ctx.notes,
        "served_model": resp.served_model,
        "status": resp.status,
        "response_text": resp.text,
        "tool_calls": _json(resp.tool_calls, tid, "response.tool_calls"),
        "finish_reason": resp.finish_reason,
        "json_repaired": resp.json_repaired,
        "response_error": resp.error,
        "input_tokens": resp.usage.input_tokens,
        "output_tokens": resp.usage.output_tokens,
        "cost_usd": resp.cost_usd,
        "price_version": resp.price_version,
        "ttft_ms": resp.ttft_ms,
        "latency_ms": resp.latency_ms,
        "attempts": [
            {
                "deployment": a.deployment,
                "status": a.status,
                "latency_ms": a.latency_ms,
                "http_status": a.http_status,
                "retry_after_s": a.retry_after_s,
                "error": a.error,
            }
            for a in resp.attempts
        ],
        "response_metadata": _json(resp.metadata, tid, "response.metadata"),
        "q_accuracy": q.accuracy,
        "q_relevance": q.relevance,
        "q_completeness": q.completeness,
        "q_coherence": q.coherence,
        "q_safety": q.safety,
        "q_overall": q.overall,
        "quality_source": q.source,
        "quality_explanations": _json(q.explanations, tid, "quality.explanations"),
        "reward": t.reward,
        "reward_source": t.reward_source,
        "learner_version_before": t.learner_version_before,
        "learner_version_after": t.learner_version_after,
        "witness_hash": None,
        "witness_seq": None,
        "privacy": None,
        "witness_version": None,
    }


def rows_to_arrow(rows: Sequence[Mapping[str, Any]]) -> pa.Table:
    """Rows from trajectory_to_row as one Arrow table with ROW_SCHEMA (raises pyarrow errors on ill-typed values)."""
    return pa.Table.from_pylist(list(rows), schema=ROW_SCHEMA)


def _loads(text: str | None, empty: Any) -> Any:
    return empty if text is None else json.loads(text)


def _pairs(value: Any) -> dict[str, float]:
    """A MAP column as a dict, whichever reader produced it.

    DuckDB's Python rows give a dict, pyarrow's to_pylist a list of (key, value) tuples, polars a list of
    {"key", "value"} structs.
    """
    if value is None:
        return {}
    if isinstance(value, Mapping):
        return dict(value)
    out: dict[str, float] = {}
    for item in value:
        if isinstance(item, Mapping):
            out[item["key"]] = item["value"]
        else:
            key, val = item
            out[key] = val
    return out


def _created(row: Mapping[str, Any]) -> float:
    unix = row.get("created_unix")
    if unix is not None:
        return float(unix)
    # Rows written by other tools may carry only the timestamp; it is UTC by the schema's convention.
    created_at = row["created_at"]
    if not isinstance(created_at, datetime):
        raise StoreError(f"trajectory row {row.get('trajectory_id')!r} has no usable created_at: {created_at!r}")
    return created_at.replace(tzinfo=UTC).timestamp()


def _to_messages(items: Iterable[Mapping[str, Any]] | None) -> tuple[Message, ...]:
    return tuple(Message(m["role"], m["content"]) for m in items or ())


def row_to_trajectory(row: Mapping[str, Any]) -> Trajectory:
    """The inverse of trajectory_to_row: `row_to_trajectory(trajectory_to_row(t)) == t`, also after a DuckDB trip."""
    try:
        return Trajectory(
            trajectory_id=row["trajectory_id"],
            created_at=_created(row),
            pipeline_id=row["pipeline_id"],
            config_hash=row["config_hash"],
            request=ChatRequest(
                messages=_to_messages(row["messages"]),
                tools=tuple(_loads(row["tools"], [])),
                metadata=_loads(row["request_metadata"], {}),
                max_output_tokens=row["max_output_tokens"],
            ),
            profile=TaskProfile(
                task_type=row["task_type"],
                complexity=row["complexity"],
                factors=_pairs(row["factors"]),
                budget_class=row["budget_class"],
                urgency=row["urgency"],
                required_capabilities=tuple(row["required_capabilities"] or ()),
                confidence=row["profile_confidence"],
                explanation=row["profile_explanation"],
                factor_notes=_loads(row["factor_notes"], {}),
            ),
            decision=RoutingDecision(
                model=row["model"],
                strategy=row["strategy"],
                candidates=tuple(
                    Candidate(c["model"], c["score"], c["probability"], c["excluded"]) for c in row["candidates"] or ()
                ),
                propensity=row["propensity"],
                explored=row["explored"],
                uncertainty=row["uncertainty"],
                reason=row["decision_reason"],
                fallbacks=tuple(row["fallbacks"] or ()),
                tier=row["tier"],
                policy=row["decision_policy"],
            ),
            context=AssembledContext(
                messages=_to_messages(row["context_messages"]),
                tokens=row["context_tokens"],
                budget=row["context_budget"],
                dropped=row["context_dropped"],
                notes=row["context_notes"],
            ),
            response=LlmResponse(
                text=row["response_text"],
                served_model=row["served_model"],
                status=row["status"],
                usage=Usage(row["input_tokens"], row["output_tokens"]),
                cost_usd=row["cost_usd"],
                price_version=row["price_version"],
                ttft_ms=row["ttft_ms"],
                latency_ms=row["latency_ms"],
                attempts=tuple(
                    Attempt(
                        deployment=a["deployment"],
                        status=a["status"],
                        latency_ms=a["latency_ms"],
                        http_status=a["http_status"],
                        retry_after_s=a["retry_after_s"],
                        error=a["error"],
                    )
                    for a in row["attempts"] or ()
                ),
                tool_calls=tuple(_loads(row["tool_calls"], [])),
                finish_reason=row["finish_reason"],
                json_repaired=row["json_repaired"],
                error=row["response_error"],
                metadata=_loads(row["response_metadata"], {}),
            ),
            quality=QualityScore(
                accuracy=row["q_accuracy"],
                relevance=row["q_relevance"],
                completeness=row["q_completeness"],
                coherence=row["q_coherence"],
                safety=row["q_safety"],
                overall=row["q_overall"],
                source=row["quality_source"],
                explanations=_loads(row["quality_explanations"], {}),
            ),
            reward=row["reward"],
            reward_source=row["reward_source"],
            learner_version_before=row["learner_version_before"],
            learner_version_after=row["learner_version_after"],
            source=row["source"],
            log=row["log"],
        )
    except KeyError as exc:
        raise StoreError(f"trajectory row {row.get('trajectory_id')!r} lacks column {exc.args[0]!r}") from exc
    except (TypeError, ValueError) as exc:  # json.JSONDecodeError is a ValueError
        raise StoreError(f"trajectory row {row.get('trajectory_id')!r} cannot be read back: {exc}") from exc


# -- columnar: the writer thread's path ------------------------------------------------------------------------

JsonTexts = tuple[str, str, str, str, str, str]


def json_texts(t: Trajectory) -> JsonTexts:
    """The stored JSON texts of a trajectory's free-form fields, in canonical.canonical_plain's order."""
    tid, req, resp = t.trajectory_id, t.request, t.response
    return (
        _json(req.tools, tid, "request.tools"),
        _json(req.metadata, tid, "request.metadata"),
        _json(t.profile.factor_notes, tid, "profile.factor_notes"),
        _json(resp.tool_calls, tid, "response.tool_calls"),
        _json(resp.metadata, tid, "response.metadata"),
        _json(t.quality.explanations, tid, "quality.explanations"),
    )


def _message_lists(groups: Sequence[Sequence[Message]]) -> pa.Array:
    offsets = [0]
    roles: list[str] = []
    contents: list[str] = []
    for group in groups:
        for m in group:
            roles.append(m.role)
            contents.append(m.content)
        offsets.append(len(roles))
    values = pa.StructArray.from_arrays(
        [pa.array(roles, pa.string()), pa.array(contents, pa.string())], fields=list(_MESSAGE)
    )
    return pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), values)


def _struct_lists(groups: Sequence[Sequence[Any]], struct: pa.StructType, getters: Sequence[Any]) -> pa.Array:
    offsets = [0]
    flat: list[Any] = []
    for group in groups:
        flat.extend(group)
        offsets.append(len(flat))
    children = [pa.array([get(x) for x in flat], type=f.type) for f, get in zip(struct, getters, strict=True)]
    values = pa.StructArray.from_arrays(children, fields=list(struct))
    return pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), values)


def _created_at(unix: pa.Array) -> pa.Array:
    """Float unix seconds -> UTC TIMESTAMP(us), rounded to the nearest microsecond."""
    import numpy as np

    seconds = unix.to_numpy(zero_copy_only=False)
    bad = ~np.isfinite(seconds) | (np.abs(seconds) > 2.5e11)  # beyond year 9999 DuckDB cannot hold it
    if bad.any():
        raise ValueError(f"created_at={seconds[bad][0]!r} is not a usable unix time")
    micros = np.rint(seconds * 1e6).astype(np.int64)
    return pa.array(micros, pa.int64()).cast(pa.timestamp("us"))


def _column(name: str, build: Any) -> pa.Array:
    try:
        array: pa.Array = build()
        return array
    except (pa.ArrowException, TypeError, ValueError, OverflowError) as exc:
        raise ValueError(f"column {name}: {exc}") from exc


def build_columns(ts: Sequence[Trajectory], texts: Sequence[JsonTexts], privacy: str) -> pa.Table:
    """One Arrow table of ROW_SCHEMA for `ts` (already under their privacy mode), built column by column.

    The witness columns are left NULL for the chain to fill. Raises ValueError naming the column when a value
    has the wrong type; the writer then splits the batch to find the row.
    """
    n = len(ts)
    reqs = [t.request for t in ts]
    profs = [t.profile for t in ts]
    decs = [t.decision for t in ts]
    ctxs = [t.context for t in ts]
    resps = [t.response for t in ts]
    qs = [t.quality for t in ts]
    s, f64, i64, i32, b = pa.string(), pa.float64(), pa.int64(), pa.int32(), pa.bool_()

    def col(name: str, values: Any, typ: pa.DataType) -> pa.Array:
        return _column(name, lambda: pa.array(values, type=typ))

    unix = col("created_unix", [t.created_at for t in ts], f64)
    arrays: dict[str, pa.Array] = {
        "trajectory_id": col("trajectory_id", [t.trajectory_id for t in ts], s),
        "created_at": _column("created_at", lambda: _created_at(unix)),
        "created_unix": unix,
        "log": col("log", [t.log for t in ts], s),
        "source": col("source", [t.source for t in ts], s),
        "pipeline_id": col("pipeline_id", [t.pipeline_id for t in ts], s),
        "config_hash": col("config_hash", [t.config_hash for t in ts], s),
        "prompt": col("prompt", [r.prompt for r in reqs], s),
        "messages": _column("messages", lambda: _message_lists([r.messages for r in reqs])),
        "tools": col("tools", [x[0] for x in texts], s),
        "request_metadata": col("request_metadata", [x[1] for x in texts], s),
        "max_output_tokens": col("max_output_tokens", [r.max_output_tokens for r in reqs], i64),
        "task_type": col("task_type", [p.task_type for p in profs], s),
        "complexity": col("complexity", [p.complexity for p in profs], f64),
        "factors": col("factors", [dict(p.factors) for p in profs], ROW_SCHEMA.field("factors").type),
        "budget_class": col("budget_class", [p.budget_class for p in profs], s),
        "urgency": col("urgency", [p.urgency for p in profs], s),
        "required_capabilities": col(
            "required_capabilities", [list(p.required_capabilities) for p in profs], pa.list_(s)
        ),
        "profile_confidence": col("profile_confidence", [p.confidence for p in profs], f64),
        "profile_explanation": col("profile_explanation", [p.explanation for p in profs], s),
        "factor_notes": col("factor_notes", [x[2] for x in texts], s),
        "model": col("model", [d.model for d in decs], s),
        "provider": col("provider", [d.provider for d in decs], s),
        "strategy": col("strategy", [d.strategy for d in decs], s),
        "candidates": _column(
            "candidates",
            lambda: _struct_lists(
                [d.candidates for d in decs],
                _CANDIDATE,
                [lambda c: c.model, lambda c: c.score, lambda c: c.probability, lambda c: c.excluded],
            ),
        ),
        "propensity": col("propensity", [d.propensity for d in decs], f64),
        "explored": col("explored", [d.explored for d in decs], b),
        "uncertainty": col("uncertainty", [d.uncertainty for d in decs], f64),
        "decision_reason": col("decision_reason", [d.reason for d in decs], s),
        "fallbacks": col("fallbacks", [list(d.fallbacks) for d in decs], pa.list_(s)),
        "tier": col("tier", [d.tier for d in decs], s),
        "decision_policy": col("decision_policy", [d.policy for d in decs], s),
        "context_messages": _column("context_messages", lambda: _message_lists([c.messages for c in ctxs])),
        "context_tokens": col("context_tokens", [c.tokens for c in ctxs], i64),
        "context_budget": col("context_budget", [c.budget for c in ctxs], i64),
        "context_dropped": col("context_dropped", [c.dropped for c in ctxs], i64),
        "context_notes": col("context_notes", [c.notes for c in ctxs], s),
        "served_model": col("served_model", [r.served_model for r in resps], s),
        "status": col("status", [r.status for r in resps], s),
        "response_text": col("response_text", [r.text for r in resps], s),
        "tool_calls": col("tool_calls", [x[3] for x in texts], s),
        "finish_reason": col("finish_reason", [r.finish_reason for r in resps], s),
        "json_repaired": col("json_repaired", [r.json_repaired for r in resps], b),
        "response_error": col("response_error", [r.error for r in resps], s),
        "input_tokens": col("input_tokens", [r.usage.input_tokens for r in resps], i64),
        "output_tokens": col("output_tokens", [r.usage.output_tokens for r in resps], i64),
        "cost_usd": col("cost_usd", [r.cost_usd for r in resps], f64),
        "price_version": col("price_version", [r.price_version for r in resps], s),
        "ttft_ms": col("ttft_ms", [r.ttft_ms for r in resps], f64),
        "latency_ms": col("latency_ms", [r.latency_ms for r in resps], f64),
        "attempts": _column(
            "attempts",
            lambda: _struct_lists(
                [r.attempts for r in resps],
                _ATTEMPT,
                [
                    lambda a: a.deployment,
                    lambda a: a.status,
                    lambda a: a.latency_ms,
                    lambda a: a.http_status,
                    lambda a: a.retry_after_s,
                    lambda a: a.error,
                ],
            ),
        ),
        "response_metadata": col("response_metadata", [x[4] for x in texts], s),
        "q_accuracy": col("q_accuracy", [q.accuracy for q in qs], f64),
        "q_relevance": col("q_relevance", [q.relevance for q in qs], f64),
        "q_completeness": col("q_completeness", [q.completeness for q in qs], f64),
        "q_coherence": col("q_coherence", [q.coherence for q in qs], f64),
        "q_safety": col("q_safety", [q.safety for q in qs], f64),
        "q_overall": col("q_overall", [q.overall for q in qs], f64),
        "quality_source": col("quality_source", [q.source for q in qs], s),
        "quality_explanations": col("quality_explanations", [x[5] for x in texts], s),
        "reward": col("reward", [t.reward for t in ts], f64),
        "reward_source": col("reward_source", [t.reward_source for t in ts], s),
        "learner_version_before": col("learner_version_before", [t.learner_version_before for t in ts], i32),
        "learner_version_after": col("learner_version_after", [t.learner_version_after for t in ts], i32),
        "witness_hash": pa.nulls(n, s),
        "witness_seq": pa.nulls(n, i64),
        "privacy": pa.array([privacy] * n, s),
        "witness_version": pa.nulls(n, pa.int16()),
    }
    try:
        return pa.Table.from_arrays([arrays[f.name] for f in ROW_SCHEMA], schema=ROW_SCHEMA)
    except (pa.ArrowException, ValueError) as exc:  # a NULL in a NOT NULL column
        raise ValueError(f"trajectory batch does not fit the trajectories table: {exc}") from exc
