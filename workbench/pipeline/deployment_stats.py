"""What the strategies know about each deployment: latency EWMAs, success rate, in-flight and per-minute usage.

One instance is shared by every router of a registry (deployments are shared), fed once per request by the
session: `dispatched` before the transport call, `observe` with the response after. State lives in numpy
arrays indexed like the breaker board's, so a strategy reads 1,000 deployments without a Python loop.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np

from workbench.domain import LlmResponse
from workbench.routing_config import DeploymentConfig, StrategyConfig


class DeploymentStats:
    def __init__(
        self,
        settings: StrategyConfig,
        deployments: Mapping[str, DeploymentConfig],
        clock: Callable[[], float],
    ) -> None:
        self.settings = settings
        self.deployments = dict(deployments)
        self.clock = clock
        self._index: dict[str, int] = {}
        self._cap = 0
        # Fast path: with no rpm/tpm configured and no Retry-After pending, nothing can be rate limited.
        self._any_limits = False
        self._retry_horizon = 0.0
        self._alloc(16)

    def _alloc(self, cap: int) -> None:
        def grow(name: str, fill: float) -> np.ndarray:
            new = np.full(cap, fill)
            if self._cap:
                new[: self._cap] = getattr(self, name)
            return new

        self.ttft_ms = grow("ttft_ms", 0.0)
        self.ms_per_token = grow("ms_per_token", 0.0)
        self.latency_n = grow("latency_n", 0.0)
        self.success = grow("success", 1.0)  # EWMA of attempt success; 1.0 until told otherwise
        self.success_n = grow("success_n", 0.0)
        self.inflight = grow("inflight", 0.0)
        self.minute = grow("minute", -1.0)  # the minute the usage counters belong to
        self.minute_requests = grow("minute_requests", 0.0)
        self.minute_tokens = grow("minute_tokens", 0.0)
        self.weight = grow("weight", 1.0)
        self.rpm = grow("rpm", np.inf)
        self.tpm = grow("tpm", np.inf)
        self.retry_until = grow("retry_until", 0.0)  # a provider's Retry-After, as an absolute time
        self._cap = cap

    def index(self, model: str) -> int:
        i = self._index.get(model)
        if i is None:
            i = self._index[model] = len(self._index)
            if i >= self._cap:
                self._alloc(self._cap * 2)
            dep = self.deployments.get(model)
            if dep is not None:
                self.weight[i] = dep.weight
                self.rpm[i] = dep.rpm if dep.rpm is not None else np.inf
                self.tpm[i] = dep.tpm if dep.tpm is not None else np.inf
                self._any_limits = self._any_limits or dep.rpm is not None or dep.tpm is not None
        return i

    def indices(self, models: Sequence[str]) -> np.ndarray:
        return np.array([self.index(m) for m in models], dtype=np.intp)

    # -- reads ----------------------------------------------------------------------------------------
    def usage(self, idx: np.ndarray, now: float) -> tuple[np.ndarray, np.ndarray]:
        """Requests and tokens in the current minute (older minutes read as zero)."""
        current = self.minute[idx] == float(int(now // 60))
        return np.where(current, self.minute_requests[idx], 0.0), np.where(current, self.minute_tokens[idx], 0.0)

    def may_limit(self, now: float) -> bool:
        """False when nothing can be rate limited: no rpm/tpm configured and no Retry-After pending."""
        return self._any_limits or now < self._retry_horizon

    def rate_limited(self, idx: np.ndarray, now: float, tokens: int) -> np.ndarray:
        """Mask of deployments over their rpm/tpm this minute or inside a provider's Retry-After."""
        if not self._any_limits and now >= self._retry_horizon:
            return np.zeros(len(idx), dtype=bool)
        reqs, toks = self.usage(idx, now)
        out: np.ndarray = (reqs >= self.rpm[idx]) | (toks + tokens > self.tpm[idx]) | (self.retry_until[idx] > now)
        return out

    def rate_limit_reason(self, i: int, now: float, tokens: int) -> str:
        if self.retry_until[i] > now:
            left = self.retry_until[i] - now
            # Under a second, in ms: "0.0s" read as if the wait were over while the deployment was still excluded.
            wait = f"{left:.1f}s" if left >= 1.0 else f"{max(1.0, left * 1000.0):.0f} ms"
            return f"rate limited: provider asked to retry after {wait}"
        reqs, toks = self.usage(np.array([i]), now)
        if reqs[0] >= self.rpm[i]:
            return f"rate limit: {reqs[0]:.0f}/{self.rpm[i]:.0f} requests this minute"
        return f"rate limit: {toks[0]:.0f} + ~{tokens} tokens > {self.tpm[i]:.0f} tpm"

    def expected_latency_ms(self, idx: np.ndarray, output_tokens: int) -> np.ndarray:
        out: np.ndarray = self.ttft_ms[idx] + self.ms_per_token[idx] * output_tokens
        return out

    # -- feeding --------------------------------------------------------------------------------------
    def _roll(self, i: int, now: float) -> None:
        minute = float(int(now // 60))
        if self.minute[i] != minute:
            self.minute[i], self.minute_requests[i], self.minute_tokens[i] = minute, 0.0, 0.0

    def dispatched(self, model: str, now: float | None = None) -> None:
        now = self.clock() if now is None else now
        i = self.index(model)
        self.inflight[i] += 1
        self._roll(i, now)
        self.minute_requests[i] += 1

    def observe(self, dispatched_model: str, response: LlmResponse, now: float | None = None) -> None:
        """The outcome of a request sent to `dispatched_model` (its chain may have served another)."""
        now = self.clock() if now is None else now
        i = self.index(dispatched_model)
        self.inflight[i] = max(0.0, self.inflight[i] - 1)
        a_s = self.settings.success_ewma_alpha
        for attempt in response.attempts:
            if attempt.status == "unknown_model":
                continue
            j = self.index(attempt.deployment)
            ok = 1.0 if attempt.status == "ok" else 0.0
            self.success[j] += a_s * (ok - self.success[j])
            self.success_n[j] += 1
            if attempt.retry_after_s:
                self.retry_until[j] = max(self.retry_until[j], now + attempt.retry_after_s)
                self._retry_horizon = max(self._retry_horizon, now + attempt.retry_after_s)
        if response.status != "ok" or not response.served_model:
            return
        j = self.index(response.served_model)
        self._roll(j, now)
        self.minute_tokens[j] += response.usage.input_tokens + response.usage.output_tokens
        last = response.attempts[-1] if response.attempts else None
        ttft = response.ttft_ms
        if last is not None and last.status == "ok" and last.latency_ms > 0:
            ttft = min(ttft, last.latency_ms) if ttft > 0 else last.latency_ms
        per_token = max(0.0, response.latency_ms - response.ttft_ms) / max(1, response.usage.output_tokens)
        alpha = self.settings.latency_ewma_alpha
        if self.latency_n[j] == 0:
            self.ttft_ms[j], self.ms_per_token[j] = ttft, per_token
        else:
            self.ttft_ms[j] += alpha * (ttft - self.ttft_ms[j])
            self.ms_per_token[j] += alpha * (per_token - self.ms_per_token[j])
        self.latency_n[j] += 1
