"""Resilience rules of the transport: which failures to retry, how long to back off, rate limits, fallback chains.

Backoff is exponential with full jitter (uniform in [0, min(cap, initial x 2^retry)], the AWS
architecture blog's recommendation against synchronised retry storms), with the server's Retry-After
as a floor. 429, 5xx, 408, timeouts, connection errors and broken streams are retried; other 4xx
(400, 401, 403, 404, 422, ...) never are: the same request would fail the same way.
"""

from __future__ import annotations

import email.utils
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from workbench.config import TransportConfig

# Error classes (Attempt.status values) worth another try on the same deployment.
RETRYABLE_CLASSES = frozenset({"timeout", "connection_error", "malformed_response", "stream_error"})


def status_class(http_status: int) -> str:
    return f"http_{http_status}"


def is_retryable(status: str) -> bool:
    """Whether an attempt that ended with `status` (an Attempt.status) may be retried on the same deployment."""
    if status in RETRYABLE_CLASSES:
        return True
    if status.startswith("http_"):
        code = int(status[5:])
        return code in (408, 429) or code >= 500
    return False


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_retries: int = 2
    initial_s: float = 0.5
    cap_s: float = 8.0
    max_retry_after_s: float = 60.0

    @classmethod
    def from_config(cls, config: TransportConfig) -> RetryPolicy:
        r = config.retry
        return cls(r.max_retries, r.backoff_initial_s, r.backoff_cap_s, r.max_retry_after_s)

    def backoff_s(self, retry: int, retry_after_s: float | None, rng: np.random.Generator) -> float:
        """Seconds to wait before retry number `retry + 1` (retry counts from 0)."""
        ceiling = min(self.cap_s, self.initial_s * 2.0**retry)
        wait = float(rng.uniform(0.0, ceiling))
        if retry_after_s is not None:
            wait = max(wait, retry_after_s)
        return wait


def parse_retry_after(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds the server asks us to wait: `retry-after-ms` (OpenAI's), else `Retry-After` (seconds or a date)."""
    ms = headers.get("retry-after-ms")
    if ms is not None:
        try:
            value = float(ms) / 1000.0
            if math.isfinite(value) and value >= 0:
                return value
        except ValueError:
            pass
    raw = headers.get("retry-after")
    if raw is None:
        return None
    raw = raw.strip()
    try:
        value = float(raw)
        return value if math.isfinite(value) and value >= 0 else None
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def fallback_chain(model: str, fallbacks: Sequence[str], max_fallbacks: int = 5) -> list[str]:
    """The deployments to try, in order: no repeats (so no loops) and at most `max_fallbacks` after the first."""
    return list(dict.fromkeys((model, *fallbacks)))[: max_fallbacks + 1]


class TokenBucket:
    """`capacity` units, refilled continuously at `capacity` per minute. Reservations may overdraw: the
    overdraft is how long the caller must wait, which keeps waiting callers in arrival order."""

    def __init__(self, per_minute: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self.clock = clock
        self.level = self.capacity
        self.updated = clock()

    def _refill(self) -> None:
        now = self.clock()
        self.level = min(self.capacity, self.level + (now - self.updated) * self.rate)
        self.updated = now

    def reserve(self, amount: float) -> float:
        """Take `amount` now; returns the seconds to wait until the taken units are really there."""
        self._refill()
        self.level -= amount
        return 0.0 if self.level >= 0 else -self.level / self.rate

    def refund(self, amount: float) -> None:
        self._refill()
        self.level = min(self.capacity, self.level + amount)


class RateLimiter:
    """Requests-per-minute and tokens-per-minute buckets for one provider."""

    def __init__(self, rpm: int | None, tpm: int | None, clock: Callable[[], float] = time.monotonic) -> None:
        self.requests = TokenBucket(rpm, clock) if rpm else None
        self.tokens = TokenBucket(tpm, clock) if tpm else None

    def reserve(self, tokens: int) -> float:
        wait = 0.0
        if self.requests is not None:
            wait = max(wait, self.requests.reserve(1))
        if self.tokens is not None:
            wait = max(wait, self.tokens.reserve(tokens))
        return wait

    def cancel(self, tokens: int) -> None:
        """Give back a reservation that will not be used (its wait was longer than the deadline allows)."""
        if self.requests is not None:
            self.requests.refund(1)
        if self.tokens is not None:
            self.tokens.refund(tokens)

    def settle(self, estimated: int, actual: int) -> None:
        """Correct the token bucket once the real usage is known."""
        if self.tokens is not None and actual != estimated:
            if actual > estimated:
                self.tokens.reserve(actual - estimated)
            else:
                self.tokens.refund(estimated - actual)
