"""Circuit breakers: the state machine (unit and property tests), which statuses count, and the board."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.domain import Attempt
from workbench.pipeline.breaker import (
    ADMIT,
    BLOCKED_OPEN,
    BLOCKED_PROBING,
    BreakerBoard,
    BreakerState,
    CircuitBreaker,
    counts_as_failure,
)
from workbench.routing_config import BreakerConfig

CLOSED, OPEN, HALF = BreakerState.CLOSED, BreakerState.OPEN, BreakerState.HALF_OPEN
LEGAL = {(CLOSED, OPEN), (OPEN, HALF), (HALF, CLOSED), (HALF, OPEN)}


def settings_(**kw: object) -> BreakerConfig:
    base: dict[str, object] = {
        "consecutive_failures": 3, "failure_rate": 0.5, "window_s": 60, "min_requests": 6, "cooldown_s": 30,
        "half_open_probes": 2,
    }
    base.update(kw)
    return BreakerConfig.model_validate(base)


def test_opens_after_consecutive_failures_and_a_success_resets_the_count() -> None:
    b = CircuitBreaker("m", settings_())
    assert b.record(True, 0) == [] and b.record(True, 1) == []
    b.record(False, 2)  # a success in between: the run starts again
    assert b.consecutive == 0
    b.record(True, 3)
    b.record(True, 4)
    changes = b.record(True, 5)
    assert [(c.old, c.new) for c in changes] == [(CLOSED, OPEN)]
    assert changes[0].at == 5 and "3 consecutive failures" in changes[0].reason
    assert not b.admits()


def test_failure_rate_trigger_needs_the_minimum_number_of_outcomes() -> None:
    b = CircuitBreaker("m", settings_(consecutive_failures=100))
    outcomes = [True, False, True, False, True]  # 60% failures but only 5 outcomes (< 6)
    for t, failed in enumerate(outcomes):
        assert b.record(failed, t) == []
    changes = b.record(False, 6)  # 6 outcomes, 3 failures = 50% >= threshold
    assert [(c.old, c.new) for c in changes] == [(CLOSED, OPEN)]
    assert "failure rate 50% over 6 outcomes" in changes[0].reason


def test_old_outcomes_leave_the_window() -> None:
    b = CircuitBreaker("m", settings_(consecutive_failures=100, window_s=10))
    for t in range(5):
        b.record(True, t)  # 5 failures early
    for t in range(20, 26):
        assert b.record(False, t) == []  # by now the failures are out of the 10 s window
    assert b.state is CLOSED and b.window_failures == 0


def test_cooldown_then_half_open_probes_close_it() -> None:
    b = CircuitBreaker("m", settings_())
    for t in range(3):
        b.record(True, t)
    assert b.state is OPEN and b.poll(31) is None  # opened at t=2, cooldown 30 s: not before 32
    change = b.poll(32)
    assert change is not None and (change.old, change.new) == (OPEN, HALF)
    b.dispatched(32)
    b.dispatched(32)
    assert not b.admits()  # both probe slots taken
    assert b.record(False, 33) == [] and b.admits()  # one probe back: a slot frees
    changes = b.record(False, 34)
    assert [(c.old, c.new) for c in changes] == [(HALF, CLOSED)] and "2 probe(s) succeeded" in changes[0].reason
    assert b.admits() and b.consecutive == 0 and not b.window


def test_a_failed_probe_reopens() -> None:
    b = CircuitBreaker("m", settings_())
    for t in range(3):
        b.record(True, t)
    changes = b.record(True, 40)  # the poll moves it to half-open, the failure reopens it
    assert [(c.old, c.new) for c in changes] == [(OPEN, HALF), (HALF, OPEN)]
    assert b.opened_at == 40 and b.reopens_at == 70


def test_which_statuses_count_is_config() -> None:
    counted = ["http_429", "http_5xx", "timeout", "connection_error"]
    assert counts_as_failure("http_503", counted) is True
    assert counts_as_failure("http_429", counted) is True
    assert counts_as_failure("ok", counted) is False
    assert counts_as_failure("http_400", counted) is None  # a bad request says nothing about the deployment
    assert counts_as_failure("http_429", ["http_5xx"]) is None


# -- property: random event sequences never break the machine's rules ------------------------------------
EVENTS = st.lists(
    st.tuples(st.sampled_from(["fail", "ok", "dispatch", "wait"]), st.floats(min_value=0.0, max_value=40.0)),
    max_size=80,
)


@settings(max_examples=300, deadline=None)
@given(events=EVENTS, k=st.integers(1, 3), n=st.integers(1, 5))
def test_random_sequences_follow_the_state_machine(events: list[tuple[str, float]], k: int, n: int) -> None:
    s = settings_(consecutive_failures=n, half_open_probes=k, min_requests=4)
    b = CircuitBreaker("m", s)
    now = 0.0
    successes_in_half = 0
    for kind, dt in events:
        now += dt if kind == "wait" else 0.01
        before = b.state
        if kind == "dispatch":
            change = b.dispatched(now)
            changes = [change] if change else []
        elif kind == "wait":
            change = b.poll(now)
            changes = [change] if change else []
        else:
            changes = b.record(kind == "fail", now)
        # every transition is a legal edge, chained from the state before, stamped with the current time
        state = before
        for c in changes:
            assert (c.old, c.new) in LEGAL and c.old is state and c.at == now
            state = c.new
            if c.new is HALF:
                successes_in_half = 0
        assert state is b.state
        # every event polls first, so a breaker still open is inside its cooldown, and admits nothing
        if b.state is OPEN:
            assert not b.admits() and now < b.reopens_at
        # closed: the triggers are below their thresholds after every record
        if b.state is CLOSED:
            assert b.consecutive < n
            total = len(b.window)
            assert not (total >= s.min_requests and b.window_failures / total >= s.failure_rate)
        if b.state is HALF and kind == "ok":
            successes_in_half += 1
            assert successes_in_half < k  # k successes would have closed it
        assert 0 <= b.probes_in_flight <= max(k, len(events))


@settings(max_examples=50, deadline=None)
@given(events=EVENTS)
def test_same_events_same_transitions(events: list[tuple[str, float]]) -> None:
    def run() -> list[tuple[str, str, float]]:
        b, now, log = CircuitBreaker("m", settings_()), 0.0, []
        for kind, dt in events:
            now += dt
            changes = b.record(kind == "fail", now) if kind in ("fail", "ok") else [b.poll(now)]
            log += [(c.old.value, c.new.value, c.at) for c in changes if c]
        return log

    assert run() == run()


# -- the board --------------------------------------------------------------------------------------------
def test_board_checks_many_deployments_at_once_and_reports_transitions() -> None:
    clock = [100.0]
    board = BreakerBoard(settings_(), lambda: clock[0])
    models = [f"p/m{i}" for i in range(50)]
    idx = board.indices(models)
    assert (board.check(idx) == ADMIT).all()
    board.record([Attempt("p/m7", "http_503", 1.0)] * 3 + [Attempt("p/m9", "ok", 1.0)])
    codes = board.check(idx)
    assert codes[7] == BLOCKED_OPEN and (np.delete(codes, 7) == ADMIT).all()
    assert "3 consecutive failures" in board.blocked_reason(int(idx[7]), BLOCKED_OPEN, clock[0])
    changes = board.drain()
    assert [(c.model, c.new) for c in changes] == [("p/m7", OPEN)] and board.drain() == []

    clock[0] += 31  # past the cooldown: the next check moves it to half-open and reports it
    assert board.check(idx)[7] == ADMIT
    assert [(c.model, c.old, c.new) for c in board.drain()] == [("p/m7", OPEN, HALF)]
    board.dispatched("p/m7")
    board.dispatched("p/m7")
    assert board.check(idx)[7] == BLOCKED_PROBING  # both probe slots in flight
    board.record([Attempt("p/m7", "ok", 1.0), Attempt("p/m7", "ok", 1.0)])
    assert board.state("p/m7") is CLOSED and [c.new for c in board.drain()] == [CLOSED]


def test_disabled_board_never_blocks() -> None:
    board = BreakerBoard(settings_(enabled=False), lambda: 0.0)
    board.record([Attempt("p/a", "http_503", 1.0)] * 10)
    assert (board.check(board.indices(["p/a"])) == ADMIT).all() and board.drain() == []
