"""The canonical JSON of a trajectory as stored: a JSONL export line, and the text witness version 1 hashed.

It is `json.dumps(t.to_dict(), sort_keys=True, separators=(",", ":"))` of the trajectory as the store gives it
back: numbers in float columns as floats, integer columns as ints, free-form mappings as their JSON round trip.
Built by hand instead of through `to_dict()` because `to_plain` walks every dataclass by reflection (~200 us a
trajectory); tests hold the two equal.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from json.encoder import encode_basestring_ascii
from typing import Any

from workbench.domain import Message, Trajectory

# The C encoder, configured once; json.dumps with options builds a new encoder on every call.
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"))
_loads = json.loads


def _f(x: Any) -> float | None:
    return None if x is None else float(x)


def _i(x: Any) -> int | None:
    return None if x is None else int(x)


def _messages(messages: Iterable[Message]) -> list[dict[str, Any]]:
    return [{"content": m.content, "role": m.role} for m in messages]


def canonical_plain(t: Trajectory, json_texts: tuple[str, str, str, str, str, str]) -> dict[str, Any]:
    """The to_dict() form of `t` as stored.

    `json_texts` are the stored JSON texts of (request.tools, request.metadata, profile.factor_notes,
    response.tool_calls, response.metadata, quality.explanations): reading them back is what the store gives.
    """
    tools, metadata, factor_notes, tool_calls, response_metadata, explanations = json_texts
    req, prof, dec, ctx, resp, q = t.request, t.profile, t.decision, t.context, t.response, t.quality
    return {
        "trajectory_id": t.trajectory_id,
        "created_at": float(t.created_at),
        "pipeline_id": t.pipeline_id,
        "config_hash": t.config_hash,
        "request": {
            "messages": _messages(req.messages),
            "tools": _loads(tools),
            "metadata": _loads(metadata),
            "max_output_tokens": _i(req.max_output_tokens),
        },
        "profile": {
            "task_type": prof.task_type,
            "complexity": _f(prof.complexity),
            "factors": {k: _f(v) for k, v in prof.factors.items()},
            "budget_class": prof.budget_class,
            "urgency": prof.urgency,
            "required_capabilities": list(prof.required_capabilities),
            "confidence": _f(prof.confidence),
            "explanation": prof.explanation,
            "factor_notes": _loads(factor_notes),
        },
        "decision": {
            "model": dec.model,
            "strategy": dec.strategy,
            "candidates": [
                {"excluded": c.excluded, "model": c.model, "probability": _f(c.probability), "score": _f(c.score)}
                for c in dec.candidates
            ],
            "propensity": _f(dec.propensity),
            "explored": dec.explored,
            "uncertainty": _f(dec.uncertainty),
            "reason": dec.reason,
            "fallbacks": list(dec.fallbacks),
            "tier": dec.tier,
            "policy": dec.policy,
            "provider": dec.provider,
        },
        "context": {
            "messages": _messages(ctx.messages),
            "tokens": _i(ctx.tokens),
            "budget": _i(ctx.budget),
            "dropped": _i(ctx.dropped),
            "notes": ctx.notes,
        },
        "response": {
            "text": resp.text,
            "served_model": resp.served_model,
            "status": resp.status,
            "usage": {"input_tokens": _i(resp.usage.input_tokens), "output_tokens": _i(resp.usage.output_tokens)},
            "cost_usd": _f(resp.cost_usd),
            "price_version": resp.price_version,
            "ttft_ms": _f(resp.ttft_ms),
            "latency_ms": _f(resp.latency_ms),
            "attempts": [
                {
                    "deployment": a.deployment,
                    "error": a.error,
                    "http_status": _i(a.http_status),
                    "latency_ms": _f(a.latency_ms),
                    "retry_after_s": _f(a.retry_after_s),
                    "status": a.status,
                }
                for a in resp.attempts
            ],
            "tool_calls": _loads(tool_calls),
            "finish_reason": resp.finish_reason,
            "json_repaired": resp.json_repaired,
            "error": resp.error,
            "metadata": _loads(response_metadata),
        },
        "quality": {
            "accuracy": _f(q.accuracy),
            "relevance": _f(q.relevance),
            "completeness": _f(q.completeness),
            "coherence": _f(q.coherence),
            "safety": _f(q.safety),
            "overall": _f(q.overall),
            "source": q.source,
            "explanations": _loads(explanations),
        },
        "reward": _f(t.reward),
        "reward_source": t.reward_source,
        "learner_version_before": _i(t.learner_version_before),
        "learner_version_after": _i(t.learner_version_after),
        "source": t.source,
        "log": t.log,
    }


_str = encode_basestring_ascii  # the C function json.dumps uses for str values: quoted and escaped
_float_repr = float.__repr__
_int_repr = int.__repr__


def _s(x: Any) -> str:
    return "null" if x is None else _str(x)


def _n(x: Any) -> str:
    """A float field as json.dumps writes float(x): repr, or NaN / Infinity / -Infinity (allow_nan's spelling)."""
    if x is None:
        return "null"
    r = _float_repr(float(x))
    if r[-1] in "nf":  # nan, inf, -inf: finite reprs end in a digit
        return "NaN" if r == "nan" else ("Infinity" if r == "inf" else "-Infinity")
    return r


def _d(x: Any) -> str:
    return "null" if x is None else _int_repr(int(x))


def _b(x: Any) -> str:
    return "null" if x is None else ("true" if x else "false")


def _msgs(messages: Iterable[Message]) -> str:
    return "[" + ",".join(f'{{"content":{_s(m.content)},"role":{_s(m.role)}}}' for m in messages) + "]"


def _strs(values: Iterable[Any]) -> str:
    return "[" + ",".join(_s(v) for v in values) + "]"


def canonical_json(t: Trajectory, json_texts: tuple[str, str, str, str, str, str]) -> str:
    """The canonical JSON text: `json.dumps(canonical_plain(t, json_texts), sort_keys=True, separators=(",", ":"))`.

    Written out field by field (keys in sorted order) instead of through the json encoder, whose C loop calls a
    Python function for every float: this is ~5x faster and runs for every stored trajectory. The free-form
    fields are embedded as their stored canonical text, which is what re-encoding their parsed value gives.
    ASCII only: non-ASCII characters are escaped as json.dumps does by default. Tests hold it equal to the
    json.dumps of `to_dict()` of the stored record.
    """
    tools, metadata, factor_notes, tool_calls, response_metadata, explanations = json_texts
    req, prof, dec, ctx, resp, q = t.request, t.profile, t.decision, t.context, t.response, t.quality
    factors = ",".join(f"{_str(k)}:{_n(v)}" for k, v in sorted(prof.factors.items()))
    candidates = ",".join(
        f'{{"excluded":{_s(c.excluded)},"model":{_s(c.model)},"probability":{_n(c.probability)},'
        f'"score":{_n(c.score)}}}'
        for c in dec.candidates
    )
    attempts = ",".join(
        f'{{"deployment":{_s(a.deployment)},"error":{_s(a.error)},"http_status":{_d(a.http_status)},'
        f'"latency_ms":{_n(a.latency_ms)},"retry_after_s":{_n(a.retry_after_s)},"status":{_s(a.status)}}}'
        for a in resp.attempts
    )
    return (
        f'{{"config_hash":{_s(t.config_hash)},'
        f'"context":{{"budget":{_d(ctx.budget)},"dropped":{_d(ctx.dropped)},"messages":{_msgs(ctx.messages)},'
        f'"notes":{_s(ctx.notes)},"tokens":{_d(ctx.tokens)}}},'
        f'"created_at":{_n(t.created_at)},'
        f'"decision":{{"candidates":[{candidates}],"explored":{_b(dec.explored)},'
        f'"fallbacks":{_strs(dec.fallbacks)},"model":{_s(dec.model)},"policy":{_s(dec.policy)},'
        f'"propensity":{_n(dec.propensity)},"provider":{_s(dec.provider)},"reason":{_s(dec.reason)},'
        f'"strategy":{_s(dec.strategy)},"tier":{_s(dec.tier)},"uncertainty":{_n(dec.uncertainty)}}},'
        f'"learner_version_after":{_d(t.learner_version_after)},'
        f'"learner_version_before":{_d(t.learner_version_before)},'
        f'"log":{_s(t.log)},"pipeline_id":{_s(t.pipeline_id)},'
        f'"profile":{{"budget_class":{_s(prof.budget_class)},"complexity":{_n(prof.complexity)},'
        f'"confidence":{_n(prof.confidence)},"explanation":{_s(prof.explanation)},'
        f'"factor_notes":{factor_notes},"factors":{{{factors}}},'
        f'"required_capabilities":{_strs(prof.required_capabilities)},"task_type":{_s(prof.task_type)},'
        f'"urgency":{_s(prof.urgency)}}},'
        f'"quality":{{"accuracy":{_n(q.accuracy)},"coherence":{_n(q.coherence)},'
        f'"completeness":{_n(q.completeness)},"explanations":{explanations},"overall":{_n(q.overall)},'
        f'"relevance":{_n(q.relevance)},"safety":{_n(q.safety)},"source":{_s(q.source)}}},'
        f'"request":{{"max_output_tokens":{_d(req.max_output_tokens)},"messages":{_msgs(req.messages)},'
        f'"metadata":{metadata},"tools":{tools}}},'
        f'"response":{{"attempts":[{attempts}],"cost_usd":{_n(resp.cost_usd)},"error":{_s(resp.error)},'
        f'"finish_reason":{_s(resp.finish_reason)},"json_repaired":{_b(resp.json_repaired)},'
        f'"latency_ms":{_n(resp.latency_ms)},"metadata":{response_metadata},'
        f'"price_version":{_s(resp.price_version)},"served_model":{_s(resp.served_model)},'
        f'"status":{_s(resp.status)},"text":{_s(resp.text)},"tool_calls":{tool_calls},'
        f'"ttft_ms":{_n(resp.ttft_ms)},'
        f'"usage":{{"input_tokens":{_d(resp.usage.input_tokens)},"output_tokens":{_d(resp.usage.output_tokens)}}}}},'
        f'"reward":{_n(t.reward)},"reward_source":{_s(t.reward_source)},"source":{_s(t.source)},'
        f'"trajectory_id":{_s(t.trajectory_id)}}}'
    )


def canonical_json_reference(t: Trajectory, json_texts: tuple[str, str, str, str, str, str]) -> str:
    """The same text through the json encoder: the definition canonical_json is tested against."""
    return _CANONICAL.encode(canonical_plain(t, json_texts))
