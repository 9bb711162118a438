"""Plain typed records shared by every layer: requests, profiles, decisions, responses, scores, trajectories.

Records are frozen dataclasses (cheap to build on the hot path, hashable where it helps); the config
layer uses pydantic at the boundary instead. ``to_dict`` gives the canonical JSON-ready form that the
store, the CLI's ``--json`` and the witness chain all use, so there is exactly one serialisation.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# The five task types of the plan; `custom:<name>` types come from config.
TASK_TYPES: tuple[str, ...] = ("research", "development", "creative", "triage", "analysis")
BUDGET_CLASSES: tuple[str, ...] = ("minimal", "standard", "premium")
URGENCIES: tuple[str, ...] = ("low", "normal", "high")
QUALITY_DIMENSIONS: tuple[str, ...] = ("accuracy", "relevance", "completeness", "coherence", "safety")


def new_id() -> str:
    """A fresh trajectory / request id (time-ordered UUIDv7 is not in 3.11's stdlib; uuid4 hex is enough)."""
    return uuid.uuid4().hex


@dataclass(frozen=True, slots=True)
class Message:
    role: str  # system | user | assistant | tool
    content: str


@dataclass(frozen=True, slots=True)
class ChatRequest:
    messages: tuple[Message, ...]
    tools: tuple[Mapping[str, Any], ...] = ()
    metadata: Mapping[str, Any] = field(default_factory=dict)
    max_output_tokens: int | None = None

    @classmethod
    def from_prompt(cls, prompt: str, *, system: str | None = None, **metadata: Any) -> ChatRequest:
        msgs = [Message("system", system)] if system else []
        msgs.append(Message("user", prompt))
        return cls(messages=tuple(msgs), metadata=dict(metadata))

    @property
    def prompt(self) -> str:
        """The latest user message: what classifiers and routers look at."""
        for m in reversed(self.messages):
            if m.role == "user":
                return m.content
        return ""


@dataclass(frozen=True, slots=True)
class TaskProfile:
    task_type: str
    complexity: float = 0.0
    factors: Mapping[str, float] = field(default_factory=dict)
    budget_class: str = "standard"
    urgency: str = "normal"
    required_capabilities: tuple[str, ...] = ()
    confidence: float = 1.0
    explanation: str = ""
    factor_notes: Mapping[str, str] = field(default_factory=dict)  # what moved each factor


@dataclass(frozen=True, slots=True)
class Candidate:
    """One deployment the router considered. `excluded` is the reason it was dropped, or None."""

    model: str  # provider/model
    score: float = 0.0
    probability: float = 0.0
    excluded: str | None = None


@dataclass(frozen=True, slots=True)
class RoutingDecision:
    model: str  # chosen provider/model
    strategy: str
    candidates: tuple[Candidate, ...] = ()
    propensity: float = 1.0
    explored: bool = False
    uncertainty: float = 0.0
    reason: str = ""
    fallbacks: tuple[str, ...] = ()  # ordered chain the transport may use after `model`
    tier: str = ""  # tier the router worked in, when it uses tiers
    policy: str = ""  # a policy that overrode normal selection (e.g. every candidate's breaker open)

    @property
    def provider(self) -> str:
        return self.model.split("/", 1)[0] if "/" in self.model else ""

    @property
    def model_name(self) -> str:
        return self.model.split("/", 1)[1] if "/" in self.model else self.model


@dataclass(frozen=True, slots=True)
class AssembledContext:
    messages: tuple[Message, ...]
    tokens: int
    budget: int
    dropped: int = 0
    notes: str = ""


@dataclass(frozen=True, slots=True)
class TransportRequest:
    """What the transport sends: the chosen deployment, its fallback chain and the assembled messages.

    `task_type` and `complexity` travel along so a simulated fleet can model quality; real
    providers ignore them.
    """

    model: str
    messages: tuple[Message, ...]
    fallbacks: tuple[str, ...] = ()
    tools: tuple[Mapping[str, Any], ...] = ()
    max_output_tokens: int | None = None
    task_type: str = ""
    complexity: float = 0.0


@dataclass(frozen=True, slots=True)
class Attempt:
    """One try against one deployment. `status` is `ok` or an error class (`http_429`, `timeout`, ...)."""

    deployment: str
    status: str
    latency_ms: float
    http_status: int | None = None
    retry_after_s: float | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0


@dataclass(frozen=True, slots=True)
class LlmResponse:
    text: str
    served_model: str
    status: str  # ok | failed
    usage: Usage = field(default_factory=Usage)
    cost_usd: float = 0.0
    price_version: str = ""
    ttft_ms: float = 0.0
    latency_ms: float = 0.0
    attempts: tuple[Attempt, ...] = ()
    tool_calls: tuple[Mapping[str, Any], ...] = ()
    finish_reason: str = "stop"
    json_repaired: bool = False
    error: str | None = None
    # Provider-specific extras; the simulated fleet puts its hidden true quality here for label scoring.
    metadata: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class QualityScore:
    """Five dimensions in [0, 1] and their weighted overall; None where nothing was scored (NoopScorer)."""

    accuracy: float | None = None
    relevance: float | None = None
    completeness: float | None = None
    coherence: float | None = None
    safety: float | None = None
    overall: float | None = None
    source: str = "none"  # none | heuristic | label | judge
    explanations: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Trajectory:
    """Everything one request went through: the unit the store logs and replay reads."""

    trajectory_id: str
    created_at: float  # unix seconds
    pipeline_id: str
    config_hash: str
    request: ChatRequest
    profile: TaskProfile
    decision: RoutingDecision
    context: AssembledContext
    response: LlmResponse
    quality: QualityScore
    reward: float | None = None
    reward_source: str = ""  # how `reward` was obtained: label, heuristic, judge, simulated...
    learner_version_before: int = 0
    learner_version_after: int = 0
    source: str = "live"  # live | simulated | imported
    log: str = "live"

    def to_dict(self) -> dict[str, Any]:
        return to_plain(self)  # type: ignore[no-any-return]


def to_plain(obj: Any) -> Any:
    """Dataclasses -> dicts, tuples -> lists, mappings -> dicts: the canonical JSON-ready form."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        out = {f.name: to_plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
        if isinstance(obj, RoutingDecision):
            out["provider"] = obj.provider
        return out
    if isinstance(obj, Mapping):
        return {str(k): to_plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [to_plain(v) for v in obj]
    return obj
