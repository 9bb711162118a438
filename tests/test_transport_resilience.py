"""Resilience: full-jitter backoff, Retry-After as a floor, what is retried, rate limits, loop-free fallbacks."""

from __future__ import annotations

import email.utils
from collections.abc import Callable

import httpx
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from transport_support import PRICES, fixture_text, treq

from workbench.domain import TransportRequest
from workbench.transport.http import HttpSettings, HttpTransport
from workbench.transport.keys import KeyRing
from workbench.transport.providers import BUILTIN_PROVIDERS, ProviderRegistry, ProviderSpec
from workbench.transport.resilience import (
    RateLimiter,
    RetryPolicy,
    TokenBucket,
    fallback_chain,
    is_retryable,
    parse_retry_after,
)

OK_BODY = fixture_text("openai_chat.json").encode()


class FakeTime:
    """A clock that only moves when the transport sleeps, so backoff tests take no real time."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


# -- pure rules ------------------------------------------------------------------------------------
@given(retry=st.integers(0, 10), retry_after=st.none() | st.floats(0, 30), seed=st.integers(0, 2**31))
def test_backoff_is_full_jitter_capped_with_retry_after_floor(retry: int, retry_after: float | None, seed: int) -> None:
    policy = RetryPolicy(max_retries=3, initial_s=0.5, cap_s=8.0)
    wait = policy.backoff_s(retry, retry_after, np.random.default_rng(seed))
    ceiling = min(8.0, 0.5 * 2**retry)
    if retry_after is None:
        assert 0.0 <= wait <= ceiling
    else:
        assert retry_after <= wait <= max(ceiling, retry_after)


def test_backoff_spreads_over_the_whole_range() -> None:
    # Full jitter draws from [0, ceiling], not [ceiling/2, ceiling]: retries of many clients do not bunch.
    rng = np.random.default_rng(0)
    waits = [RetryPolicy().backoff_s(3, None, rng) for _ in range(2000)]
    assert min(waits) < 0.4 and max(waits) > 3.6 and 1.8 < float(np.mean(waits)) < 2.2


def test_retry_after_forms() -> None:
    assert parse_retry_after({"retry-after": "3"}) == 3.0
    assert parse_retry_after({"retry-after": "3", "retry-after-ms": "1500"}) == 1.5  # OpenAI's finer header wins
    when = email.utils.formatdate(1_000_010.0, usegmt=True)
    assert parse_retry_after({"retry-after": when}, now=1_000_000.0) == pytest.approx(10.0)
    assert parse_retry_after({"retry-after": "soon"}) is None
    assert parse_retry_after({}) is None


@pytest.mark.parametrize(
    ("status", "retry"),
    [("http_429", True), ("http_500", True), ("http_503", True), ("http_529", True), ("http_408", True),
     ("timeout", True), ("connection_error", True), ("malformed_response", True), ("stream_error", True),
     ("http_400", False), ("http_401", False), ("http_403", False), ("http_404", False), ("http_422", False),
     ("missing_key", False), ("rate_limited", False), ("provider_invalid_request_error", False)],
)
def test_what_is_retried(status: str, retry: bool) -> None:
    assert is_retryable(status) is retry


def test_fallback_chain_has_no_loops_and_at_most_five_fallbacks() -> None:
    assert fallback_chain("a", ["b", "a", "c", "b"]) == ["a", "b", "c"]
    assert fallback_chain("a", [str(i) for i in range(10)]) == ["a", "0", "1", "2", "3", "4"]
    assert fallback_chain("a", ["b"], max_fallbacks=0) == ["a"]


def test_token_buckets_for_requests_and_tokens() -> None:
    t = FakeTime()
    bucket = TokenBucket(60, t.clock)  # 60 a minute: one a second
    assert [bucket.reserve(1) for _ in range(60)] == [0.0] * 60
    assert bucket.reserve(1) == pytest.approx(1.0)  # the 61st waits for the refill
    t.now += 30
    assert bucket.reserve(1) == 0.0
    limiter = RateLimiter(rpm=None, tpm=1000, clock=t.clock)
    assert limiter.reserve(800) == 0.0
    assert limiter.reserve(400) == pytest.approx(200 / (1000 / 60))
    limiter.cancel(400)
    assert limiter.reserve(200) == 0.0


# -- the transport's attempt loop, against scripted servers ----------------------------------------
Script = dict[str, list[int | type[Exception]]]


def scripted(script: Script, *, headers: dict[str, str] | None = None,
             seen: list[str] | None = None) -> Callable[[httpx.Request], httpx.Response]:
    """Each host answers its next scripted status (or raises the scripted httpx error); 200 when out of script."""

    def handler(request: httpx.Request) -> httpx.Response:
        host = request.url.host.split(".")[0]
        if seen is not None:
            seen.append(host)
        queue = script.get(host, [])
        step = queue.pop(0) if queue else 200
        if isinstance(step, type):
            raise step("scripted failure", request=request)
        if step == 200:
            return httpx.Response(200, headers={"content-type": "application/json"}, content=OK_BODY)
        return httpx.Response(step, headers=headers or {}, json={"error": {"type": "scripted", "message": f"{step}"}})

    return handler


def transport(script: Script, fake: FakeTime, *, headers: dict[str, str] | None = None, seen: list[str] | None = None,
              retry: RetryPolicy | None = None, deadline_s: float = 60.0, rpm: int | None = None) -> HttpTransport:
    specs = {f"p{i}": ProviderSpec(f"p{i}", f"http://p{i}.test/v1", None, key_required=False, rpm=rpm)
             for i in range(1, 9)}
    specs["openai"] = BUILTIN_PROVIDERS["openai"]
    client = httpx.AsyncClient(transport=httpx.MockTransport(scripted(script, headers=headers, seen=seen)))
    return HttpTransport(ProviderRegistry(specs), PRICES, keys=KeyRing(env={}), client=client,
                         settings=HttpSettings(retry=retry or RetryPolicy(), deadline_s=deadline_s),
                         sleep=fake.sleep, clock=fake.clock, seed=1)


def request(*models: str) -> TransportRequest:
    return treq(models[0], *models[1:])


async def test_client_errors_are_not_retried_but_fall_back() -> None:
    for code in (400, 401, 404):
        fake, seen = FakeTime(), []
        r = await transport({"p1": [code]}, fake, seen=seen).complete(request("p1/m", "p2/m"))
        assert [a.status for a in r.attempts] == [f"http_{code}", "ok"], code
        assert seen == ["p1", "p2"] and fake.sleeps == []  # no second try at p1, no wait
        assert r.served_model == "p2/m"


async def test_5xx_timeouts_and_connection_errors_are_retried_with_backoff() -> None:
    fake = FakeTime()
    t = transport({"p1": [503, httpx.ReadTimeout, httpx.ConnectError]}, fake)
    r = await t.complete(request("p1/m", "p2/m"))
    assert [a.status for a in r.attempts] == ["http_503", "timeout", "connection_error", "ok"]
    assert [a.deployment for a in r.attempts] == ["p1/m"] * 3 + ["p2/m"]
    assert "read timeout" in (r.attempts[1].error or "")
    assert len(fake.sleeps) == 2 and all(0 <= s <= c for s, c in zip(fake.sleeps, (0.5, 1.0), strict=True))


async def test_retry_after_is_a_floor_and_recorded_on_each_attempt() -> None:
    fake = FakeTime()
    t = transport({"p1": [429, 429]}, fake, headers={"retry-after": "2"})
    r = await t.complete(request("p1/m"))
    assert [(a.status, a.retry_after_s) for a in r.attempts] == [("http_429", 2.0), ("http_429", 2.0), ("ok", None)]
    assert len(fake.sleeps) == 2 and all(s >= 2.0 for s in fake.sleeps)
    assert r.status == "ok" and r.latency_ms >= 4000  # the waits count towards the request's latency


async def test_a_long_retry_after_moves_on_instead_of_waiting() -> None:
    fake = FakeTime()
    t = transport({"p1": [429]}, fake, headers={"retry-after": "120"}, retry=RetryPolicy(max_retry_after_s=60))
    r = await t.complete(request("p1/m", "p2/m"))
    assert [a.status for a in r.attempts] == ["http_429", "ok"] and fake.sleeps == []


async def test_every_deployment_failing_ends_with_every_attempt_recorded() -> None:
    fake = FakeTime()
    chain = [f"p{i}/m" for i in range(1, 8)]
    script: Script = {f"p{i}": [500, 500, 500] for i in range(1, 8)}
    r = await transport(script, fake).complete(request(*chain, "p1/m", "p3/m"))  # a loop back is ignored
    assert r.status == "failed" and r.served_model == "" and r.finish_reason == "error"
    assert len(r.attempts) == 6 * 3  # the first + 5 fallbacks, 3 tries each; p7 never tried
    assert [a.deployment for a in r.attempts][::3] == chain[:6]
    assert "6 deployment(s)" in (r.error or "") and "http_500" in (r.error or "")


async def test_the_deadline_bounds_the_whole_request() -> None:
    fake = FakeTime()
    script: Script = {f"p{i}": [503, 503, 503] for i in range(1, 7)}
    t = transport(script, fake, headers={"retry-after": "4"}, deadline_s=10.0)
    start = fake.now
    r = await t.complete(request(*[f"p{i}/m" for i in range(1, 7)]))
    assert r.status == "failed"
    assert fake.now - start <= 10.0  # every wait it took fit inside the deadline
    assert len(r.attempts) < 18  # it gave up on retries the deadline could not fit


async def test_missing_key_on_a_fallback_is_an_attempt_not_a_401() -> None:
    fake, seen = FakeTime(), []
    r = await transport({"p1": [503, 503, 503]}, fake, seen=seen).complete(request("p1/m", "openai/gpt-4o-mini"))
    assert r.status == "failed" and r.attempts[-1].status == "missing_key"
    assert "OPENAI_API_KEY" in (r.attempts[-1].error or "") and "openai" not in seen


async def test_local_rate_limit_waits_then_falls_back_when_the_wait_is_too_long() -> None:
    fake = FakeTime()
    t = transport({}, fake, rpm=2, deadline_s=20.0)
    for _ in range(2):
        assert (await t.complete(request("p1/m"))).attempts[-1].status == "ok"
    third = await t.complete(request("p1/m", "p2/m"))  # p1's bucket is empty for 30 s > the deadline
    assert [a.status for a in third.attempts] == ["rate_limited", "ok"] and fake.sleeps == []
    fake.now += 31  # the bucket refills
    assert [a.status for a in (await t.complete(request("p1/m"))).attempts] == ["ok"]


async def test_unknown_provider_in_the_chain() -> None:
    r = await transport({}, FakeTime()).complete(request("nope/m", "p1/m"))
    assert [a.status for a in r.attempts] == ["unknown_provider", "ok"]
    assert "unknown provider 'nope'" in (r.attempts[0].error or "")
