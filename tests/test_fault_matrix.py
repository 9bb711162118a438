"""The fault matrix: whole sessions (Workbench -> pipeline -> real http transport -> loopback mock server) under
429 storms, 5xx bursts, timeouts, resets, hangs, malformed SSE, truncated JSON, slow streams and a dead fleet.

For every case: each request ends with a recorded outcome within its deadline, the attempts and fallbacks are
exactly what the retry policy and the breakers (as configured) allow, the breakers end in the configured states,
and the store holds one trajectory per request with the attempts the caller saw. The breaker clock is a fake
one the test moves, so cooldowns take no wall time; retries and timeouts are milliseconds.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from transport_support import PRIMARY, SECOND, THIRD, WEATHER_TOOL, Sent, send_all, session_config

from workbench.api import Workbench
from workbench.pipeline.breaker import FAIL_FAST, LEAST_RECENTLY_FAILED
from workbench.transport.mock_server import MockServer

T0 = 1_700_000_000.0
SLACK_S = 0.5  # scheduling noise on a loaded 2-core machine, on top of the configured deadline
P, S, T = PRIMARY, SECOND, THIRD


def fleet(model: str) -> str:
    """The mock server's name for a deployment (`mock/openai/gpt-4o-mini` -> `openai/gpt-4o-mini`)."""
    return model.split("/", 1)[1]


def tries(model: str, status: str, n: int = 3) -> list[tuple[str, str]]:
    return [(model, status)] * n


@dataclasses.dataclass(frozen=True)
class Case:
    id: str
    faults: Mapping[str, Mapping[str, Any]]  # fleet model (or "*") -> mock-server fault switches
    # Expected (deployment, status) attempts per request; the last list stands for every later request.
    attempts: list[list[tuple[str, str]]]
    breakers: Mapping[str, str]  # deployment -> breaker state after the last request
    requests: int = 3
    stream: bool = False
    tools: bool = False
    transport: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    breaker: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    advance: Mapping[int, float] = dataclasses.field(default_factory=dict)  # after request i, move the clock
    # Expected exclusion reason (a prefix) of the primary per request, "" for none; the last stands for the rest.
    excluded: tuple[str, ...] = ("",)
    min_first_s: float = 0.0  # the first request cannot be quicker than this (it waited out Retry-After)
    max_first_s: float | None = None


OK_S = [(S, "ok")]
CASES = [
    Case("429-storm-retry-after", {fleet(P): {"rate_429": 1.0, "retry_after_s": 0.1}},
         [tries(P, "http_429") + OK_S, OK_S], {P: "open", S: "closed"},
         excluded=("", "rate limited"), min_first_s=0.2),
    # A Retry-After beyond max_retry_after_s (1 s) is not waited out: straight to the next deployment.
    Case("429-long-retry-after", {fleet(P): {"rate_429": 1.0, "retry_after_s": 30}},
         [tries(P, "http_429", 1) + OK_S, OK_S], {P: "closed", S: "closed"},
         excluded=("", "rate limited"), max_first_s=1.0),
    # A burst of three 503s opens the primary's breaker; after the cooldown two probes close it again.
    Case("5xx-burst-then-recovery", {fleet(P): {"error_rate": 1.0, "times": 3}},
         [tries(P, "http_503") + OK_S, OK_S, [(P, "ok")]], {P: "closed", S: "closed"},
         requests=4, advance={1: 31.0}, excluded=("", "breaker open", "")),
    Case("5xx-500-stays-open", {fleet(P): {"error_rate": 1.0, "error_status": 500}},
         [tries(P, "http_500") + OK_S, OK_S], {P: "open", S: "closed"}, excluded=("", "breaker open")),
    Case("read-timeouts", {fleet(P): {"hang": 1.0}},
         [tries(P, "timeout") + OK_S, OK_S], {P: "open", S: "closed"},
         transport={"timeouts": {"read": 0.15}}, excluded=("", "breaker open"), min_first_s=0.45),
    Case("connection-resets", {fleet(P): {"reset": 1.0}, fleet(S): {"reset": 1.0}},
         [tries(P, "connection_error") + tries(S, "connection_error") + [(T, "ok")], [(T, "ok")]],
         {P: "open", S: "open", T: "closed"}, excluded=("", "breaker open")),
    # A request that hangs everywhere is cut at its deadline; a deadline is not a deployment fault.
    Case("hang-past-deadline", {"*": {"hang": 1.0}},
         [[(P, "deadline_exceeded")]], {}, requests=2,
         transport={"deadline_s": 0.4, "timeouts": {"read": 5.0}}, min_first_s=0.4),
    # Malformed SSE is retried but (by default) says nothing about the deployment's health...
    Case("malformed-sse", {fleet(P): {"malformed_sse": 1.0}},
         [tries(P, "malformed_response") + OK_S], {P: "closed", S: "closed"}, stream=True),
    # ... unless the config counts it.
    Case("malformed-sse-counted", {fleet(P): {"malformed_sse": 1.0}},
         [tries(P, "malformed_response") + OK_S, OK_S], {P: "open", S: "closed"}, stream=True,
         breaker={"count": ["http_429", "http_5xx", "timeout", "connection_error", "malformed_response"]},
         excluded=("", "breaker open")),
    Case("truncated-json-body", {fleet(P): {"malformed_sse": 1.0}},
         [tries(P, "malformed_response") + OK_S], {P: "closed", S: "closed"}),
    # The model's cut-off tool arguments are repaired, not retried: one ok attempt.
    Case("truncated-tool-json", {fleet(P): {"truncated_json": 1.0}}, [[(P, "ok")]], {P: "closed"}, tools=True),
    Case("truncated-tool-json-stream", {fleet(P): {"truncated_json": 1.0}}, [[(P, "ok")]], {P: "closed"},
         tools=True, stream=True),
    Case("slow-stream-within-read-timeout", {fleet(P): {"slow_stream_ms": 5}}, [[(P, "ok")]], {P: "closed"},
         stream=True, requests=2),
    Case("slow-stream-past-read-timeout", {fleet(P): {"slow_stream_ms": 400}},
         [tries(P, "timeout") + OK_S, OK_S], {P: "open", S: "closed"}, stream=True,
         transport={"timeouts": {"read": 0.1}}, excluded=("", "breaker open")),
    # Every deployment down: the first request walks the whole chain; then every breaker is open and the
    # all-open policy decides. least-recently-failed still tries (the primary failed first)...
    Case("all-down-least-recently-failed", {"*": {"error_rate": 1.0}},
         [tries(P, "http_503") + tries(S, "http_503") + tries(T, "http_503")],
         {P: "open", S: "open", T: "open"}, breaker={"all_open_policy": LEAST_RECENTLY_FAILED},
         excluded=("", "breaker open")),
    # ... fail-fast sends nothing, and the request is still one failed trajectory.
    Case("all-down-fail-fast", {"*": {"error_rate": 1.0}},
         [tries(P, "http_503") + tries(S, "http_503") + tries(T, "http_503"), []],
         {P: "open", S: "open", T: "open"}, breaker={"all_open_policy": FAIL_FAST},
         excluded=("", "breaker open")),
    Case("all-down-streamed", {"*": {"error_rate": 1.0, "error_status": 502}},
         [tries(P, "http_502") + tries(S, "http_502") + tries(T, "http_502")],
         {P: "open", S: "open", T: "open"}, requests=2, stream=True, excluded=("", "breaker open")),
]


@pytest.fixture(scope="module")
def server() -> Iterator[MockServer]:
    # hang_s bounds how long a hanging handler thread lives after its client gave up.
    with MockServer(seed=0, hang_s=2.0) as srv:
        yield srv


def check_outcomes(wb: Workbench, sent: list[Sent], deadline_s: float) -> None:
    """What every case shares: a bounded outcome per request, and exactly those outcomes in the store."""
    for s in sent:
        r = s.trajectory.response
        assert s.elapsed_s <= deadline_s + SLACK_S, f"a request took {s.elapsed_s:.2f} s (deadline {deadline_s})"
        assert r.status in ("ok", "failed")
        if r.status == "ok":
            assert r.attempts[-1].status == "ok" and r.served_model == r.attempts[-1].deployment
            assert r.text or r.tool_calls
        else:
            assert r.error and not r.served_model
    wb.store.flush()
    assert wb.store.count() == len(sent)
    for s in sent:
        stored = wb.trajectory(s.trajectory.trajectory_id)
        assert stored is not None
        assert stored.response.status == s.trajectory.response.status
        assert stored.response.attempts == s.trajectory.response.attempts
    assert wb.store.verify().ok


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
async def test_fault_matrix(server: MockServer, case: Case) -> None:
    server.clear_faults()
    for model, switches in case.faults.items():
        server.set_fault(model, **switches)
    now = [T0]
    config = session_config(server, transport=case.transport, breaker=case.breaker)
    wb = Workbench(db=":memory:", config=config, seed=0, clock=lambda: now[0])
    tools = (WEATHER_TOOL,) if case.tools else ()
    sent: list[Sent] = []
    try:
        for i in range(case.requests):
            (one,) = await send_all(wb, [f"tell me about queues, take {i}"], stream=case.stream, tools=tools)
            sent.append(one)
            now[0] += case.advance.get(i, 0.0)
        check_outcomes(wb, sent, config.transport.deadline_s)
        states = {b.model: b.state.value for b in wb.breaker_snapshot()}
    finally:
        await wb.aclose()
        server.clear_faults()

    for i, s in enumerate(sent):
        t = s.trajectory
        expected = case.attempts[min(i, len(case.attempts) - 1)]
        assert [(a.deployment, a.status) for a in t.response.attempts] == expected, f"request {i}"
        assert t.response.status == ("ok" if expected and expected[-1][1] == "ok" else "failed")
        primary = next(c for c in t.decision.candidates if c.model == P)
        reason = case.excluded[min(i, len(case.excluded) - 1)]
        assert (primary.excluded or "").startswith(reason) and bool(primary.excluded) == bool(reason), (i, primary)
        if case.stream and t.response.status == "ok":
            restarts = t.response.metadata.get("stream_restarts", 0)
            # The caller saw the final answer, after a notice for every stream that broke midway.
            assert s.streamed.endswith(t.response.text) and s.streamed.count("trying again") == restarts
    for model, state in case.breakers.items():
        assert states.get(model, "closed") == state, (model, states)

    first = sent[0]
    assert first.elapsed_s >= case.min_first_s
    if case.max_first_s is not None:
        assert first.elapsed_s <= case.max_first_s
    if case.id.startswith("429-storm"):
        assert [a.retry_after_s for a in first.trajectory.response.attempts[:3]] == [0.1] * 3
    if case.id == "all-down-fail-fast":
        later = sent[1].trajectory
        assert later.decision.policy == FAIL_FAST and later.response.attempts == ()
        assert "breaker" in (later.response.error or "")
    if case.tools:
        (call,) = first.trajectory.response.tool_calls
        assert first.trajectory.response.json_repaired and isinstance(call["arguments"], dict)
    if case.id == "slow-stream-within-read-timeout":
        # Each of the answer's chunks waited 5 ms: a slow stream is slow, not broken.
        words = len(first.trajectory.response.text.split())
        assert first.elapsed_s >= words * 0.005


async def test_mixed_faults_under_concurrency_end_within_the_deadline(server: MockServer) -> None:
    """Every fault at once, at random, with eight requests in flight: nothing hangs, nothing is lost."""
    server.clear_faults()
    server.set_fault("*", rate_429=0.15, retry_after_s=0.05, error_rate=0.15, reset=0.1, hang=0.05,
                     malformed_sse=0.1, slow_stream_ms=1)
    config = session_config(server, transport={"deadline_s": 1.0, "timeouts": {"read": 0.2}},
                            breaker={"consecutive_failures": 1000, "min_requests": 1000})  # keep every path live
    wb = Workbench(db=":memory:", config=config, seed=0)
    prompts = [f"request {i}: tell me about queues" for i in range(48)]
    try:
        plain = await send_all(wb, prompts[:24], concurrency=8)
        streamed = await send_all(wb, prompts[24:], concurrency=8, stream=True)
        check_outcomes(wb, plain + streamed, config.transport.deadline_s)
    finally:
        await wb.aclose()
        server.clear_faults()
    statuses = {a.status for s in plain + streamed for a in s.trajectory.response.attempts}
    # The mix really happened: retried failures of several kinds, and most requests still served.
    assert {"http_429", "http_503", "connection_error"} <= statuses
    served = sum(s.trajectory.response.status == "ok" for s in plain + streamed)
    assert served >= 40, served
