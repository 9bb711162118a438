"""The simulated provider fleet: the offline default transport, deterministic for a seed.

It behaves like a real transport from the pipeline's side (attempts, retries with backoff, a bounded
fallback chain, token counts, list-price costs, TTFT and latency) without any network. Time is
simulated: latencies are drawn, not slept, unless `pace` > 0 asks streams to play out in real time.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass

import numpy as np

from workbench.domain import Attempt, LlmResponse, TransportRequest, Usage
from workbench.pipeline.context import request_tokens
from workbench.pipeline.route import DEFAULT_OUTPUT_TOKENS, EXPECTED_OUTPUT_TOKENS, MAX_FALLBACKS
from workbench.prices import PriceTable
from workbench.transport.fleet import DEFAULT_PROFILES, ModelProfile, generic_profile
from workbench.transport.textgen import answer_text


@dataclass
class Fault:
    """Operator-set fault switches for one simulated deployment."""

    down: bool = False
    rate_429: float = 0.0
    retry_after_s: float = 2.0


class SimulatedTransport:
    name = "simulated"

    def __init__(
        self,
        prices: PriceTable,
        *,
        seed: int = 0,
        profiles: Iterable[ModelProfile] = DEFAULT_PROFILES,
        extra_models: Iterable[str] = (),
        max_retries: int = 2,
        backoff_initial_s: float = 0.5,
        backoff_cap_s: float = 8.0,
        pace: float = 0.0,
    ) -> None:
        self.prices = prices
        self.rng = np.random.default_rng(seed)
        self.profiles = {p.model: p for p in profiles}
        for model in extra_models:
            self.profiles.setdefault(model, generic_profile(model))
        self.max_retries = max_retries
        self.backoff_initial_s = backoff_initial_s
        self.backoff_cap_s = backoff_cap_s
        self.pace = pace
        self.faults: dict[str, Fault] = {}

    # -- fleet ------------------------------------------------------------------------------------
    def serves(self, model: str) -> bool:
        return model in self.profiles

    def models(self) -> list[str]:
        return sorted(self.profiles)

    def fault(self, model: str) -> Fault:
        return self.faults.setdefault(model, Fault())

    # -- one attempt ------------------------------------------------------------------------------
    def _attempt(self, model: str) -> tuple[Attempt, float]:
        """Draw one attempt's fate. Returns the attempt and the TTFT it would have had on success."""
        profile = self.profiles[model]
        fault = self.faults.get(model)
        rng = self.rng
        ttft = float(profile.ttft_ms * rng.lognormal(0.0, 0.35))
        if fault and fault.down:
            return Attempt(model, "connection_error", 5.0, error="deployment down (simulated outage)"), ttft
        if fault and fault.rate_429 > 0 and rng.random() < fault.rate_429:
            return Attempt(model, "http_429", 40.0, http_status=429, retry_after_s=fault.retry_after_s), ttft
        if rng.random() < profile.error_rate:
            return Attempt(model, "http_503", float(ttft * 0.5), http_status=503, error="service unavailable"), ttft
        return Attempt(model, "ok", ttft, http_status=200), ttft

    def _backoff_ms(self, retry: int, retry_after_s: float | None) -> float:
        # Full jitter (AWS architecture blog): uniform in [0, min(cap, initial * 2^retry)]; Retry-After is a floor.
        ceiling = min(self.backoff_cap_s, self.backoff_initial_s * 2**retry)
        wait = float(self.rng.uniform(0.0, ceiling))
        if retry_after_s is not None:
            wait = max(wait, retry_after_s)
        return wait * 1000.0

    async def complete(self, request: TransportRequest) -> LlmResponse:
        chain = list(dict.fromkeys((request.model, *request.fallbacks)))[: MAX_FALLBACKS + 1]
        attempts: list[Attempt] = []
        elapsed = 0.0
        for model in chain:
            if model not in self.profiles:
                attempts.append(Attempt(model, "unknown_model", 0.0, error="not in the simulated fleet"))
                continue
            for retry in range(self.max_retries + 1):
                attempt, ttft = self._attempt(model)
                attempts.append(attempt)
                elapsed += attempt.latency_ms
                if attempt.status == "ok":
                    return self._success(request, model, attempts, elapsed, ttft)
                if attempt.status == "connection_error" and retry == 0 and self.faults.get(model, Fault()).down:
                    break  # a hard-down deployment: retrying it only burns the deadline, move on
                if retry < self.max_retries:
                    elapsed += self._backoff_ms(retry, attempt.retry_after_s)
        last = attempts[-1] if attempts else None
        return LlmResponse(
            text="",
            served_model="",
            status="failed",
            latency_ms=round(elapsed, 3),
            attempts=tuple(attempts),
            price_version=self.prices.version,
            finish_reason="error",
            error=f"all {len(chain)} deployment(s) in the chain failed; last: {last.status if last else 'none'}",
        )

    def _success(
        self, request: TransportRequest, model: str, attempts: list[Attempt], elapsed: float, ttft: float
    ) -> LlmResponse:
        profile = self.profiles[model]
        rng = self.rng
        wanted = EXPECTED_OUTPUT_TOKENS.get(request.task_type, DEFAULT_OUTPUT_TOKENS)
        out_tokens = max(1, int(wanted * rng.lognormal(0.0, 0.3)))
        finish = "stop"
        if request.max_output_tokens and out_tokens > request.max_output_tokens:
            out_tokens, finish = request.max_output_tokens, "length"
        in_tokens = request_tokens(request.messages)
        generation_ms = out_tokens / profile.tokens_per_s * 1000.0
        prompt = next((m.content for m in reversed(request.messages) if m.role == "user"), "")
        text = answer_text(prompt, request.task_type, out_tokens, rng)
        true_q = profile.expected_quality(request.task_type, request.complexity)
        true_q = float(min(1.0, max(0.0, true_q + rng.normal(0.0, 0.05))))
        before = elapsed - attempts[-1].latency_ms  # time spent on failed attempts and backoff
        return LlmResponse(
            text=text,
            served_model=model,
            status="ok",
            usage=Usage(in_tokens, out_tokens),
            cost_usd=self.prices.cost(model, in_tokens, out_tokens),
            price_version=self.prices.version,
            ttft_ms=round(before + ttft, 3),
            latency_ms=round(before + ttft + generation_ms, 3),
            attempts=tuple(attempts),
            finish_reason=finish,
            metadata={"simulated_true_quality": round(true_q, 4)},
        )

    async def stream(self, request: TransportRequest) -> AsyncIterator[str | LlmResponse]:
        response = await self.complete(request)
        if response.status == "ok":
            words = response.text.split(" ")
            step = max(1, len(words) // 40)
            if self.pace > 0:
                await asyncio.sleep(response.ttft_ms / 1000.0 * self.pace)
            per_chunk = (response.latency_ms - response.ttft_ms) / 1000.0 / max(1, len(words) // step)
            for i in range(0, len(words), step):
                piece = " ".join(words[i : i + step])
                yield piece if i == 0 else " " + piece
                if self.pace > 0:
                    await asyncio.sleep(per_chunk * self.pace)
        yield response

    async def aclose(self) -> None:
        return None
