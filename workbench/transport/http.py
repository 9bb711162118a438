"""HttpTransport: real providers over httpx (OpenAI and Anthropic wire), with retries, rate limits and fallbacks.

One pooled `httpx.AsyncClient` with per-phase timeouts serves every provider. A request walks its
fallback chain (no repeats, at most `max_fallbacks` after the first); each deployment gets up to
`max_retries` retries with full-jitter backoff and Retry-After as a floor; every attempt, failed or not,
is recorded as an `Attempt`. The whole request ends within `deadline_s` with a recorded outcome.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import httpx
import numpy as np

from workbench.config import TransportConfig, WorkbenchConfig
from workbench.domain import Attempt, LlmResponse, TransportRequest, Usage
from workbench.errors import BadInputError, MissingKeyError
from workbench.pipeline.context import estimate_tokens, request_tokens
from workbench.pipeline.route import DEFAULT_OUTPUT_TOKENS
from workbench.prices import PriceTable
from workbench.transport import wire_anthropic, wire_openai
from workbench.transport.jsonfix import repair_structured, repair_tool_calls, wants_json
from workbench.transport.keys import KeyRing, install_redaction
from workbench.transport.providers import (
    COMPLEXITY_HEADER,
    QUALITY_HEADER,
    TASK_HEADER,
    Deployment,
    ProviderRegistry,
    ProviderSpec,
)
from workbench.transport.resilience import (
    RateLimiter,
    RetryPolicy,
    fallback_chain,
    is_retryable,
    parse_retry_after,
    status_class,
)
from workbench.transport.sse import aiter_sse
from workbench.transport.wire import Parsed, StreamParser, StreamProviderError, WireError

log = logging.getLogger("workbench.transport.http")

# Provider error types inside a stream that another try would only repeat.
_FATAL_STREAM_ERRORS = frozenset(
    {"invalid_request_error", "authentication_error", "permission_error", "not_found_error", "invalid_request"}
)
_WIRES: dict[str, tuple[ModuleType, Callable[[], StreamParser]]] = {
    "openai": (wire_openai, wire_openai.OpenAIStreamParser),
    "anthropic": (wire_anthropic, wire_anthropic.AnthropicStreamParser),
}


@dataclass(frozen=True, slots=True)
class HttpSettings:
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    connect_s: float = 5.0
    read_s: float = 60.0
    write_s: float = 10.0
    pool_s: float = 5.0
    deadline_s: float = 120.0
    max_fallbacks: int = 5
    max_connections: int = 100

    @classmethod
    def from_config(cls, tc: TransportConfig) -> HttpSettings:
        t = tc.timeouts
        return cls(RetryPolicy.from_config(tc), t.connect, t.read, t.write, t.pool, tc.deadline_s,
                   tc.max_fallbacks, tc.max_connections)

    def timeout(self) -> httpx.Timeout:
        return httpx.Timeout(connect=self.connect_s, read=self.read_s, write=self.write_s, pool=self.pool_s)


@dataclass(slots=True)
class _Outcome:
    """One attempt's result: the record, and on success the parsed answer and time to first token."""

    attempt: Attempt
    parsed: Parsed | None = None
    first_token_at: float | None = None
    emitted: bool = False  # whether stream deltas already went out to the caller
    simulated_quality: float | None = None  # the mock server's hidden true quality, when it sent one


class HttpTransport:
    """The `http` transport. `complete` returns one LlmResponse; `stream` yields text deltas, then it."""

    name = "http"

    def __init__(
        self,
        registry: ProviderRegistry,
        prices: PriceTable,
        *,
        keys: KeyRing | None = None,
        settings: HttpSettings | None = None,
        seed: int = 0,
        client: httpx.AsyncClient | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.registry = registry
        self.prices = prices
        self.keys = keys or KeyRing()
        self.settings = settings or HttpSettings()
        self.rng = np.random.default_rng(seed)
        self._client = client
        self._owns_client = client is None
        self.sleep = sleep
        self.clock = clock
        self._limiters: dict[str, RateLimiter] = {}
        install_redaction()  # credential-shaped text is scrubbed from request logs even before a key is used

    @classmethod
    def from_config(cls, config: WorkbenchConfig, prices: PriceTable, *, seed: int | None = None) -> HttpTransport:
        keys = KeyRing({n: p.api_key for n, p in config.providers.items() if p.api_key is not None})
        return cls(
            ProviderRegistry.from_config(config),
            prices,
            keys=keys,
            settings=HttpSettings.from_config(config.transport),
            seed=config.transport.seed if seed is None else seed,
        )

    # -- what it serves ---------------------------------------------------------------------------
    def serves(self, model: str) -> bool:
        return self.registry.knows(model)

    def check_keys(self, models: Iterable[str]) -> None:
        """Raise MissingKeyError (naming the env var) for the first model whose provider has no key."""
        for model in models:
            self.keys.key(self.registry.resolve(model).provider)

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            n = self.settings.max_connections
            self._client = httpx.AsyncClient(
                timeout=self.settings.timeout(),
                limits=httpx.Limits(max_connections=n, max_keepalive_connections=n),
                headers={"user-agent": "clawft-workbench"},
            )
        return self._client

    def _limiter(self, spec: ProviderSpec) -> RateLimiter | None:
        if not (spec.rpm or spec.tpm):
            return None
        if spec.name not in self._limiters:
            self._limiters[spec.name] = RateLimiter(spec.rpm, spec.tpm, self.clock)
        return self._limiters[spec.name]

    # -- the two entry points ---------------------------------------------------------------------
    async def complete(self, request: TransportRequest) -> LlmResponse:
        return await self._run(request, stream=False, emit=None)

    async def stream(self, request: TransportRequest) -> AsyncIterator[str | LlmResponse]:
        # The request runs in its own task so that its deadline (asyncio.timeout) never fires inside the
        # caller's code between two deltas. Deltas cross over in batches: one wake-up per network read,
        # not one per delta, which keeps streaming within a few percent of raw httpx.
        pending: list[str] = []
        wake = asyncio.Event()

        def emit(delta: str) -> None:
            pending.append(delta)
            wake.set()

        task = asyncio.create_task(self._run(request, stream=True, emit=emit))
        task.add_done_callback(lambda _t: wake.set())
        try:
            while True:
                await wake.wait()
                wake.clear()
                finished = task.done()  # read before draining: a delta added after this gets another round
                batch = pending[:]
                del pending[:]
                for delta in batch:
                    yield delta
                if finished and not pending:
                    break
            yield task.result()
        finally:
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def aclose(self) -> None:
        if self._client is not None and self._owns_client:
            await self._client.aclose()
            self._client = None

    # -- the attempt loop -------------------------------------------------------------------------
    async def _run(self, request: TransportRequest, *, stream: bool, emit: Callable[[str], None] | None) -> LlmResponse:
        started = self.clock()
        deadline = started + self.settings.deadline_s
        policy = self.settings.retry
        chain = fallback_chain(request.model, request.fallbacks, self.settings.max_fallbacks)
        attempts: list[Attempt] = []
        restarts = 0
        waited_s = 0.0
        for name in chain:
            try:
                dep = self.registry.resolve(name)
                key = self.keys.key(dep.provider)
            except MissingKeyError as exc:
                attempts.append(Attempt(name, "missing_key", 0.0, error=str(exc)))
                continue
            except BadInputError as exc:
                attempts.append(Attempt(name, "unknown_provider", 0.0, error=str(exc)))
                continue
            wire, parser = _WIRES[dep.provider.wire]
            body = wire.build_body(dep, request, stream=stream)
            headers = wire.build_headers(dep, key)
            if dep.provider.mock_server:
                headers[TASK_HEADER] = request.task_type
                headers[COMPLEXITY_HEADER] = f"{request.complexity:.4f}"
            url = dep.provider.base_url.rstrip("/") + wire.PATH
            estimate = request_tokens(request.messages) + (request.max_output_tokens or DEFAULT_OUTPUT_TOKENS)
            limiter = self._limiter(dep.provider)
            for retry in range(policy.max_retries + 1):
                remaining = deadline - self.clock()
                if remaining <= 0:
                    attempts.append(Attempt(name, "deadline_exceeded", 0.0,
                                            error=f"request deadline of {self.settings.deadline_s:g} s reached"))
                    return self._failed(request, attempts, started, chain)
                if limiter is not None:
                    wait = limiter.reserve(estimate)
                    if wait >= remaining:
                        limiter.cancel(estimate)
                        attempts.append(Attempt(name, "rate_limited", 0.0, error=(
                            f"local rate limit of provider {dep.provider.name} needs {wait:.1f} s; "
                            f"the deadline leaves {remaining:.1f} s")))
                        break
                    if wait > 0:
                        waited_s += wait
                        await self.sleep(wait)
                outcome = await self._attempt(dep, url, body, headers, parser, stream, emit, deadline)
                attempts.append(outcome.attempt)
                self._log(outcome.attempt)
                if outcome.parsed is not None:
                    if limiter is not None:
                        used = (outcome.parsed.input_tokens or 0) + (outcome.parsed.output_tokens or 0)
                        limiter.settle(estimate, used or estimate)
                    return self._success(dep, request, outcome, attempts, started, restarts, waited_s, stream)
                if outcome.emitted and emit is not None:
                    restarts += 1
                    emit(f"\n\n[stream from {name} broke ({outcome.attempt.status}); trying again]\n\n")
                status = outcome.attempt.status
                if status == "deadline_exceeded":
                    return self._failed(request, attempts, started, chain)
                if not is_retryable(status) or retry == policy.max_retries:
                    break
                retry_after = outcome.attempt.retry_after_s
                if retry_after is not None and retry_after > policy.max_retry_after_s:
                    break  # the server wants a long pause: the next deployment is the better bet
                wait = policy.backoff_s(retry, retry_after, self.rng)
                if self.clock() + wait >= deadline:
                    break  # no time left to retry here, but a fallback may still make it
                await self.sleep(wait)
        return self._failed(request, attempts, started, chain)

    async def _attempt(
        self,
        dep: Deployment,
        url: str,
        body: dict[str, Any],
        headers: dict[str, str],
        parser_factory: Callable[[], StreamParser],
        stream: bool,
        emit: Callable[[str], None] | None,
        deadline: float,
    ) -> _Outcome:
        wire = _WIRES[dep.provider.wire][0]
        t0 = self.clock()
        out = _Outcome(Attempt(dep.name, "ok", 0.0))

        def done(status: str, *, http_status: int | None = None, retry_after: float | None = None,
                 error: str | None = None) -> _Outcome:
            latency = round((self.clock() - t0) * 1000.0, 3)
            clean = self.keys.redact(error) if error else None
            out.attempt = Attempt(dep.name, status, latency, http_status, retry_after, clean)
            return out

        try:
            async with asyncio.timeout(max(0.0, deadline - t0)):
                async with self._http().stream("POST", url, json=body, headers=headers) as resp:
                    head_at = self.clock()
                    quality = resp.headers.get(QUALITY_HEADER)
                    if quality is not None and dep.provider.mock_server:
                        with contextlib.suppress(ValueError):
                            out.simulated_quality = float(quality)
                    if not 200 <= resp.status_code < 300:
                        raw = await resp.aread()
                        return done(status_class(resp.status_code), http_status=resp.status_code,
                                    retry_after=parse_retry_after(resp.headers), error=_error_text(raw))
                    if not stream:
                        raw = await resp.aread()
                        try:
                            data = json.loads(raw)
                        except ValueError as exc:
                            raise WireError(f"response body is not JSON ({exc})") from None
                        out.parsed = wire.parse_response(data)
                        out.first_token_at = head_at
                    else:
                        ctype = resp.headers.get("content-type", "")
                        if "text/event-stream" not in ctype:
                            raise WireError(f"asked for a stream but got content-type {ctype!r}")
                        parser = parser_factory()
                        async for event in aiter_sse(resp.aiter_bytes()):
                            delta = parser.feed(event)
                            if delta:
                                if out.first_token_at is None:
                                    out.first_token_at = self.clock()
                                out.emitted = True
                                if emit is not None:
                                    emit(delta)
                            if parser.done:
                                break
                        out.parsed = parser.result()
                        if out.first_token_at is None:
                            out.first_token_at = self.clock()
                    done("ok", http_status=resp.status_code)
                    return out
        except TimeoutError:
            out.parsed = None
            return done("deadline_exceeded", error=f"request deadline of {self.settings.deadline_s:g} s reached")
        except httpx.TimeoutException as exc:
            out.parsed = None
            return done("timeout", error=f"{_phase(exc)} timeout talking to {dep.provider.name}")
        except httpx.HTTPError as exc:
            out.parsed = None
            return done("connection_error", error=f"{type(exc).__name__}: {exc}")
        except WireError as exc:
            out.parsed = None
            return done("malformed_response", error=str(exc))
        except StreamProviderError as exc:
            out.parsed = None
            status = f"provider_{exc.kind}" if exc.kind in _FATAL_STREAM_ERRORS else "stream_error"
            return done(status, error=str(exc))

    # -- results ----------------------------------------------------------------------------------
    def _success(
        self,
        dep: Deployment,
        request: TransportRequest,
        outcome: _Outcome,
        attempts: list[Attempt],
        started: float,
        restarts: int,
        waited_s: float,
        stream: bool,
    ) -> LlmResponse:
        parsed = outcome.parsed
        assert parsed is not None  # _run only calls this on success
        estimated = parsed.input_tokens is None or parsed.output_tokens is None
        in_tokens = parsed.input_tokens if parsed.input_tokens is not None else request_tokens(request.messages)
        out_tokens = parsed.output_tokens if parsed.output_tokens is not None else estimate_tokens(parsed.text)
        tool_calls, repaired = repair_tool_calls(parsed.tool_calls)
        text = parsed.text
        metadata: dict[str, Any] = {
            "provider": dep.provider.name,
            "wire": dep.provider.wire,
            "stream": stream,
            "upstream_model": parsed.model,
            "response_id": parsed.response_id,
        }
        if wants_json(dep.params) and text:
            fixed, text_repaired = repair_structured(text)
            if text_repaired:
                metadata["raw_text"] = text
                text, repaired = fixed, True
        priced_as = next((m for m in (dep.name, dep.upstream) if m in self.prices), None)
        metadata["priced_as"] = priced_as
        if outcome.simulated_quality is not None:
            metadata["simulated_true_quality"] = outcome.simulated_quality
        if estimated:
            metadata["usage_estimated"] = True
        if restarts:
            metadata["stream_restarts"] = restarts
        if waited_s:
            metadata["rate_limit_wait_ms"] = round(waited_s * 1000.0, 3)
        first = outcome.first_token_at if outcome.first_token_at is not None else self.clock()
        return LlmResponse(
            text=text,
            served_model=dep.name,
            status="ok",
            usage=Usage(in_tokens, out_tokens),
            cost_usd=self.prices.cost(priced_as, in_tokens, out_tokens) if priced_as else 0.0,
            price_version=self.prices.version,
            ttft_ms=round((first - started) * 1000.0, 3),
            latency_ms=round((self.clock() - started) * 1000.0, 3),
            attempts=tuple(attempts),
            tool_calls=tuple(tool_calls),
            finish_reason=parsed.finish_reason,
            json_repaired=repaired,
            metadata=metadata,
        )

    def _failed(
        self, request: TransportRequest, attempts: list[Attempt], started: float, chain: list[str]
    ) -> LlmResponse:
        last = attempts[-1] if attempts else None
        detail = f"{last.status}" + (f" ({last.error})" if last and last.error else "") if last else "none"
        return LlmResponse(
            text="",
            served_model="",
            status="failed",
            latency_ms=round((self.clock() - started) * 1000.0, 3),
            attempts=tuple(attempts),
            price_version=self.prices.version,
            finish_reason="error",
            error=self.keys.redact(f"all {len(chain)} deployment(s) in the chain failed; last: {detail}"),
            metadata={"chain": chain},
        )

    def _log(self, attempt: Attempt) -> None:
        if attempt.status == "ok":
            log.debug("attempt %s ok in %.1f ms", attempt.deployment, attempt.latency_ms)
        else:
            log.info("attempt %s failed: %s in %.1f ms (%s)", attempt.deployment, attempt.status,
                     attempt.latency_ms, attempt.error or "")


def _phase(exc: httpx.TimeoutException) -> str:
    return {
        httpx.ConnectTimeout: "connect",
        httpx.ReadTimeout: "read",
        httpx.WriteTimeout: "write",
        httpx.PoolTimeout: "pool",
    }.get(type(exc), "request")


def _error_text(raw: bytes, limit: int = 300) -> str:
    """The provider's error message (OpenAI and Anthropic both nest it under `error.message`), cut short."""
    text = raw.decode("utf-8", "replace")
    try:
        data = json.loads(text)
    except ValueError:
        return text[:limit] or "(empty body)"
    if isinstance(data, dict) and isinstance(data.get("error"), dict):
        err = data["error"]
        kind = err.get("type") or err.get("code") or ""
        return f"{kind}: {err.get('message', '')}"[:limit] if kind else str(err.get("message", ""))[:limit]
    return text[:limit]
