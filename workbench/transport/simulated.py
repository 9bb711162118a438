"""The simulated provider fleet: the offline default transport, deterministic for a seed.

It behaves like a real transport from the pipeline's side (attempts, retries with backoff, a bounded
fallback chain, token counts, list-price costs, TTFT and latency) without any network. Time is
simulated: latencies are drawn, not slept, unless `pace` > 0 asks streams to play out in real time.

Besides each model's own error rate, a `FleetSchedule` (workbench.transport.schedule) adds outage
windows, 429 bursts, slow streams and quality drift against the fleet's request counter or clock, and
operator switches (`fault(model)`) add faults by hand. The clock is simulated too: it starts at 0 and
advances by each request's simulated latency (or pass `clock=` to drive it from outside).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass

import numpy as np

from workbench.domain import Attempt, LlmResponse, TransportRequest, Usage
from workbench.pipeline.context import request_tokens
from workbench.pipeline.route import DEFAULT_OUTPUT_TOKENS, EXPECTED_OUTPUT_TOKENS, MAX_FALLBACKS
from workbench.prices import PriceTable
from workbench.transport.fleet import DEFAULT_PROFILES, ModelProfile, generic_profile
from workbench.transport.schedule import FleetSchedule
from workbench.transport.textgen import answer_text


@dataclass
class Fault:
    """Operator-set fault switches for one simulated deployment."""

    down: bool = False
    rate_429: float = 0.0
    retry_after_s: float = 2.0
    error_rate: float | None = None  # overrides the profile's chance of a 503 when set
    slow_factor: float = 1.0  # TTFT x factor and tokens/s / factor: a slow stream


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
        schedule: FleetSchedule | None = None,
        clock: Callable[[], float] | None = None,
        max_fallbacks: int = MAX_FALLBACKS,
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
        self.schedule = schedule or FleetSchedule()
        self.clock = clock
        self.max_fallbacks = max_fallbacks
        self.requests = 0  # requests served so far: the counter schedules are written against
        self.sim_time_s = 0.0  # the simulated clock, when no `clock` is given

    # -- fleet ------------------------------------------------------------------------------------
    def serves(self, model: str) -> bool:
        return model in self.profiles

    def models(self) -> list[str]:
        return sorted(self.profiles)

    def fault(self, model: str) -> Fault:
        return self.faults.setdefault(model, Fault())

    # -- schedule and clock -----------------------------------------------------------------------
    def now(self) -> float:
        """The fleet's clock in seconds: the injected clock, else the simulated one."""
        return self.clock() if self.clock is not None else self.sim_time_s

    def advance(self, seconds: float) -> None:
        """Move the simulated clock on (idle time between requests)."""
        self.sim_time_s += seconds

    def begin(self) -> tuple[int, float]:
        """Count one request; returns its index and the clock reading schedules are checked against."""
        index = self.requests
        self.requests += 1
        return index, self.now()

    def is_down(self, model: str, index: int, now: float) -> bool:
        fault = self.faults.get(model)
        return bool(fault and fault.down) or self.schedule.down(model, index, now)

    def expected_quality(
        self, model: str, task_type: str, complexity: float, *, index: int | None = None, now: float | None = None
    ) -> float:
        """A model's expected quality, drift included, at a request index / time (default: the next request)."""
        profile = self.profiles.get(model) or generic_profile(model)
        index = self.requests if index is None else index
        now = self.now() if now is None else now
        q = profile.expected_quality(task_type, complexity) + self.schedule.quality_delta(model, task_type, index, now)
        return min(1.0, max(0.0, q))

    # -- one attempt ------------------------------------------------------------------------------
    def scheduled_failure(self, model: str, index: int, now: float) -> Attempt | None:
        """The failure that outages, 429 bursts and fault switches impose on this attempt, if any."""
        fault = self.faults.get(model)
        if self.is_down(model, index, now):
            return Attempt(model, "connection_error", 5.0, error="deployment down (simulated outage)")
        burst = self.schedule.burst(model, index, now)
        if burst is not None and (burst.rate >= 1.0 or self.rng.random() < burst.rate):
            return Attempt(model, "http_429", 40.0, http_status=429, retry_after_s=burst.retry_after_s,
                           error="rate limited (simulated 429 burst)")
        if fault and fault.rate_429 > 0 and self.rng.random() < fault.rate_429:
            return Attempt(model, "http_429", 40.0, http_status=429, retry_after_s=fault.retry_after_s)
        return None

    def _attempt(self, model: str, index: int = 0, now: float = 0.0) -> tuple[Attempt, float]:
        """Draw one attempt's fate. Returns the attempt and the TTFT it would have had on success."""
        profile = self.profiles[model]
        fault = self.faults.get(model)
        rng = self.rng
        ttft = float(profile.ttft_ms * rng.lognormal(0.0, 0.35)) * self._slow(model, index, now)
        failure = self.scheduled_failure(model, index, now)
        if failure is not None:
            return failure, ttft
        error_rate = fault.error_rate if fault and fault.error_rate is not None else profile.error_rate
        if rng.random() < error_rate:
            return Attempt(model, "http_503", float(ttft * 0.5), http_status=503, error="service unavailable"), ttft
        return Attempt(model, "ok", ttft, http_status=200), ttft

    def _slow(self, model: str, index: int, now: float) -> float:
        fault = self.faults.get(model)
        return (fault.slow_factor if fault else 1.0) * self.schedule.slow_factor(model, index, now)

    def _backoff_ms(self, retry: int, retry_after_s: float | None) -> float:
        # Full jitter (AWS architecture blog): uniform in [0, min(cap, initial * 2^retry)]; Retry-After is a floor.
        ceiling = min(self.backoff_cap_s, self.backoff_initial_s * 2**retry)
        wait = float(self.rng.uniform(0.0, ceiling))
        if retry_after_s is not None:
            wait = max(wait, retry_after_s)
        return wait * 1000.0

    async def complete(self, request: TransportRequest) -> LlmResponse:
        response = self._complete(request)
        self.sim_time_s += response.latency_ms / 1000.0
        return response

    def _complete(self, request: TransportRequest) -> LlmResponse:
        chain = list(dict.fromkeys((request.model, *request.fallbacks)))[: self.max_fallbacks + 1]
        attempts: list[Attempt] = []
        elapsed = 0.0
        index, now = self.begin()
        for model in chain:
            if model not in self.profiles:
                attempts.append(Attempt(model, "unknown_model", 0.0, error="not in the simulated fleet"))
                continue
            for retry in range(self.max_retries + 1):
                attempt, ttft = self._attempt(model, index, now)
                attempts.append(attempt)
                elapsed += attempt.latency_ms
                if attempt.status == "ok":
                    return self.generate(request, model, attempts=attempts, elapsed_ms=elapsed, ttft_ms=ttft,
                                         index=index, now=now)
                if attempt.status == "connection_error" and retry == 0 and self.is_down(model, index, now):
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

    def generate(
        self,
        request: TransportRequest,
        model: str | None = None,
        *,
        attempts: list[Attempt] | None = None,
        elapsed_ms: float | None = None,
        ttft_ms: float | None = None,
        index: int | None = None,
        now: float | None = None,
    ) -> LlmResponse:
        """A successful answer from `model` (default: the request's): text, tokens, cost, timings, true quality.

        The mock server calls this directly (it applies its own faults first); `complete` calls it after
        its attempt loop with the attempts so far.
        """
        model = model or request.model
        profile = self.profiles.get(model) or generic_profile(model)
        if index is None or now is None:
            index, now = self.begin()
        slow = self._slow(model, index, now)
        ttft = ttft_ms if ttft_ms is not None else float(profile.ttft_ms * self.rng.lognormal(0.0, 0.35)) * slow
        if attempts is None:
            attempts = [Attempt(model, "ok", ttft, http_status=200)]
        elapsed = elapsed_ms if elapsed_ms is not None else ttft
        rng = self.rng
        wanted = EXPECTED_OUTPUT_TOKENS.get(request.task_type, DEFAULT_OUTPUT_TOKENS)
        out_tokens = max(1, int(wanted * rng.lognormal(0.0, 0.3)))
        finish = "stop"
        if request.max_output_tokens and out_tokens > request.max_output_tokens:
            out_tokens, finish = request.max_output_tokens, "length"
        in_tokens = request_tokens(request.messages)
        generation_ms = out_tokens / profile.tokens_per_s * 1000.0 * slow
        prompt = next((m.content for m in reversed(request.messages) if m.role == "user"), "")
        text = answer_text(prompt, request.task_type, out_tokens, rng)
        true_q = self.expected_quality(model, request.task_type, request.complexity, index=index, now=now)
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
            metadata={"simulated_true_quality": round(true_q, 4), "simulated_request_index": index},
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
