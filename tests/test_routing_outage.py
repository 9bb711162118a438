"""On the simulated fleet with an outage window: the breaker opens, traffic moves, half-open probes close it,
and every step is visible in the trajectories and the session's BreakerChanged events."""

from __future__ import annotations

import asyncio

from routing_helpers import Clock

from workbench.config import parse_config
from workbench.domain import ChatRequest, Trajectory
from workbench.events import BreakerChanged, DecisionMade, ResponseReceived
from workbench.pipeline import build_pipeline
from workbench.session import Session

CHEAP, NEXT, THIRD = "groq/llama-3.1-8b", "gemini/gemini-2.0-flash", "openai/gpt-4o-mini"


def session(
    clock: Clock, router: str = "cost-based", **routing: object
) -> tuple[Session, list[Trajectory], list[object]]:
    cfg = parse_config({
        "pipelines": {"default": {"router": router, "preferred_models": [CHEAP, NEXT, THIRD]}},
        "routing": {"breaker": {"consecutive_failures": 3, "cooldown_s": 30, "half_open_probes": 2}, **routing},
    })
    reg = build_pipeline(cfg, seed=4, clock=clock)
    sink: list[Trajectory] = []
    s = Session(reg, sink, clock=clock)
    events: list[object] = []
    s.subscribe(events.append)
    return s, sink, events


def send(s: Session, clock: Clock, n: int, gap: float = 1.0) -> list[Trajectory]:
    out = []
    for _ in range(n):
        out.append(asyncio.run(s.run(ChatRequest.from_prompt("tell me about rivers"))))
        clock.advance(gap)
    return out


def changes(events: list[object]) -> list[tuple[str, str, str]]:
    return [(e.model, e.old, e.new) for e in events if isinstance(e, BreakerChanged)]


def test_outage_opens_the_breaker_moves_traffic_and_probes_close_it() -> None:
    clock = Clock()
    s, sink, events = session(clock)
    transport = s.registry.transport

    healthy = send(s, clock, 3)
    assert {t.response.served_model for t in healthy} == {CHEAP}

    transport.fault(CHEAP).down = True  # type: ignore[attr-defined]  # the outage window starts
    failing = send(s, clock, 3)
    for t in failing:  # chosen, failed, served by the fallback: the request itself still succeeds
        assert t.decision.model == CHEAP and t.response.served_model == NEXT
        assert t.response.attempts[0].deployment == CHEAP and t.response.attempts[0].status == "connection_error"
    assert changes(events) == [(CHEAP, "closed", "open")]
    opened = next(e for e in events if isinstance(e, BreakerChanged))
    assert opened.at == failing[-1].created_at and "3 consecutive failures" in opened.reason
    # The event comes before the response it was caused by is reported.
    kinds = [type(e) for e in events]
    assert kinds.index(BreakerChanged) < len(kinds) - 1 - kinds[::-1].index(ResponseReceived)

    moved = send(s, clock, 4)
    for t in moved:  # traffic moved: the open deployment is excluded with its reason and never tried
        cheap = next(c for c in t.decision.candidates if c.model == CHEAP)
        assert cheap.excluded and cheap.excluded.startswith("breaker open (3 consecutive failures)")
        assert t.decision.model == NEXT and CHEAP not in t.decision.fallbacks
        assert all(a.deployment != CHEAP for a in t.response.attempts)

    transport.fault(CHEAP).down = False  # the outage ends
    clock.advance(30)  # past the cooldown
    probes = send(s, clock, 2)
    assert [t.decision.model for t in probes] == [CHEAP, CHEAP]  # half-open admits the probes
    assert all(t.response.served_model == CHEAP for t in probes)
    assert changes(events)[1:] == [(CHEAP, "open", "half-open"), (CHEAP, "half-open", "closed")]

    after = send(s, clock, 2)
    assert all(t.decision.model == CHEAP and t.decision.candidates[0].excluded is None for t in after)
    assert len(sink) == 3 + 3 + 4 + 2 + 2  # exactly one trajectory per request throughout


def test_a_failed_probe_reopens_and_fail_fast_still_logs_a_trajectory() -> None:
    clock = Clock()
    s, sink, events = session(clock, breaker={"consecutive_failures": 2, "cooldown_s": 10,
                                              "all_open_policy": "fail-fast"})
    transport = s.registry.transport
    for m in (CHEAP, NEXT, THIRD):
        transport.fault(m).down = True  # type: ignore[attr-defined]
    send(s, clock, 2)
    assert {new for _, _, new in changes(events)} == {"open"}
    blocked = send(s, clock, 1)[0]
    assert blocked.decision.policy == "fail-fast" and blocked.response.status == "failed"
    assert blocked.response.attempts == () and "every candidate's breaker is open" in (blocked.response.error or "")
    assert sink[-1] is blocked

    clock.advance(10)
    probe = send(s, clock, 1)[0]  # cooldown passed: half-open, probe sent, still down: reopened
    assert probe.decision.policy == "" and probe.response.status == "failed"
    assert (CHEAP, "half-open", "open") in changes(events)
    decisions = [e for e in events if isinstance(e, DecisionMade)]
    assert len(decisions) == len(sink) == 4
