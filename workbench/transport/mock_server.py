"""The simulated fleet served over real HTTP on loopback: OpenAI- and Anthropic-compatible, with fault injection.

`GET /v1/models`, `POST /v1/chat/completions` (OpenAI, streamed or not) and `POST /v1/messages`
(Anthropic, streamed or not) answer like the real APIs, from a seeded `SimulatedTransport`. Per-model
fault switches (error rate, 429 with Retry-After, hang, malformed SSE, truncated JSON, connection
reset, slow stream) come from a faults file and can be changed at run time through `/_mock/faults`.

The stdlib `ThreadingHTTPServer` (HTTP/1.1 keep-alive, chunked streams) is enough for a loopback test
server and adds no dependency; a thread per connection also lets a hanging request hang alone.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import math
import socket
import struct
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, fields
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np

from workbench.domain import Message, TransportRequest
from workbench.errors import BadInputError
from workbench.prices import PriceTable, load_prices
from workbench.transport.providers import COMPLEXITY_HEADER, QUALITY_HEADER, TASK_HEADER
from workbench.transport.schedule import FleetSchedule
from workbench.transport.simulated import SimulatedTransport
from workbench.transport.textgen import key_terms
from workbench.transport.wire import text_of

log = logging.getLogger("workbench.transport.mock_server")

def is_loopback(host: str) -> bool:
    """Whether `host` is `localhost` or a loopback IP literal (127.0.0.0/8, ::1). A name that merely starts with
    "127." is not: DNS could point it anywhere."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass
class MockFault:
    """Fault switches for one model (or `*` for every model). Probabilities are per request."""

    error_rate: float = 0.0  # answer with `error_status`
    error_status: int = 503
    rate_429: float = 0.0  # answer 429 with Retry-After / retry-after-ms
    retry_after_s: float = 1.0
    hang: float = 0.0  # accept the request and never answer (until the server's hang_s)
    malformed_sse: float = 0.0  # stream: valid chunks, then a broken one; non-stream: a cut-off JSON body
    truncated_json: float = 0.0  # tool-call arguments / JSON-mode content cut short (the model's fault)
    reset: float = 0.0  # close the connection with a TCP reset, no response
    slow_stream_ms: float = 0.0  # pause between stream chunks
    times: int | None = None  # apply to the first N requests for the model only; None: always

    @classmethod
    def from_dict(cls, data: Any, where: str) -> MockFault:
        if not isinstance(data, Mapping):
            raise BadInputError(f"{where}: expected an object of fault switches")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise BadInputError(
                f"{where}: unknown fault switch(es) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
            )
        fault = cls(**data)
        for name in ("error_rate", "rate_429", "hang", "malformed_sse", "truncated_json", "reset"):
            value = getattr(fault, name)
            if not isinstance(value, int | float) or not 0.0 <= value <= 1.0:
                raise BadInputError(f"{where}.{name}: a probability between 0 and 1, got {value!r}")
        if not 400 <= int(fault.error_status) <= 599:
            raise BadInputError(f"{where}.error_status: an HTTP error status (400-599), got {fault.error_status!r}")
        if fault.retry_after_s < 0 or fault.slow_stream_ms < 0:
            raise BadInputError(f"{where}: retry_after_s and slow_stream_ms must be >= 0")
        if fault.times is not None and (not isinstance(fault.times, int) or fault.times < 0):
            raise BadInputError(f"{where}.times: a count >= 0, got {fault.times!r}")
        return fault


def parse_faults(data: Any, where: str = "faults") -> tuple[dict[str, MockFault], FleetSchedule]:
    """A faults document: `{"models": {model or "*": {switch: value}}, "events": [fleet events]}`."""
    if not isinstance(data, Mapping):
        raise BadInputError(f"{where}: expected a JSON object with `models` and/or `events`")
    unknown = sorted(set(data) - {"models", "events"})
    if unknown:
        raise BadInputError(f"{where}: unknown key(s) {', '.join(unknown)}; allowed: models, events")
    models = data.get("models", {})
    if not isinstance(models, Mapping):
        raise BadInputError(f"{where}.models: expected an object of model name -> fault switches")
    faults = {str(m): MockFault.from_dict(f, f"{where}.models.{m}") for m, f in models.items()}
    events = data.get("events", [])
    if not isinstance(events, list):
        raise BadInputError(f"{where}.events: expected a list of fleet events")
    try:
        schedule = FleetSchedule.from_dicts(events, f"{where}.events")
    except TypeError as exc:
        raise BadInputError(f"{where}.events: {exc}") from None
    return faults, schedule


def load_faults(path: str | Path) -> tuple[dict[str, MockFault], FleetSchedule]:
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BadInputError(f"--faults {p}: file not found") from None
    except json.JSONDecodeError as exc:
        raise BadInputError(f"--faults {p}: line {exc.lineno} column {exc.colno}: not valid JSON: {exc.msg}") from None
    return parse_faults(data, str(p))


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    # socketserver's default backlog of 5 drops bursts of new connections (clients then wait 1 s to re-SYN).
    request_queue_size = 256
    mock: MockServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients hang up mid-stream on purpose (a broken stream, a read timeout): that is not a server fault.
        exc = sys.exc_info()[1]
        if isinstance(exc, ConnectionError | TimeoutError):
            log.debug("client %s went away: %s", client_address, exc)
        else:
            log.warning("mock-server: request from %s failed", client_address, exc_info=True)


class _Server6(_Server):
    address_family = socket.AF_INET6


class MockServer:
    """The fleet on a loopback port. `start()` serves from a background thread; `serve_forever()` in the foreground."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        seed: int = 0,
        prices: PriceTable | None = None,
        faults: Mapping[str, MockFault] | None = None,
        schedule: FleetSchedule | None = None,
        pace: float = 0.0,
        hang_s: float = 30.0,
        extra_models: Iterable[str] = (),
    ) -> None:
        if not is_loopback(host):
            raise BadInputError(f"mock-server: host {host!r} is not a loopback address; it serves only 127.0.0.1 / ::1")
        if pace < 0:
            raise BadInputError("mock-server: --pace must be >= 0")
        self.fleet = SimulatedTransport(
            prices or load_prices(), seed=seed, schedule=schedule, extra_models=extra_models
        )
        self.rng = np.random.default_rng(seed + 1)
        self.faults: dict[str, MockFault] = dict(faults or {})
        self.pace = pace
        self.hang_s = hang_s
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.stats: Counter[str] = Counter()
        self._served: Counter[str] = Counter()
        self._thread: threading.Thread | None = None
        server_cls: type[_Server] = _Server6 if ":" in host else _Server
        try:
            self.httpd = server_cls((host, port), _Handler)
        except OSError as exc:
            raise BadInputError(f"mock-server: cannot listen on {host}:{port}: {exc.strerror}") from None
        bound = self.host
        if not is_loopback(bound):  # `localhost` resolved to something else
            self.httpd.server_close()
            raise BadInputError(f"mock-server: {host!r} resolved to {bound}, not loopback")
        self.httpd.mock = self

    # -- address ----------------------------------------------------------------------------------
    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    @property
    def host(self) -> str:
        return str(self.httpd.server_address[0])

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/v1"

    # -- lifecycle --------------------------------------------------------------------------------
    def start(self) -> MockServer:
        # A short poll interval: stop() waits up to one interval for the serving loop to notice.
        self._thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), name="mock-server",
                                        daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        try:
            self.httpd.serve_forever()
        finally:
            self.stopping.set()
            self.httpd.server_close()

    def stop(self) -> None:
        self.stopping.set()  # releases hanging and slow handlers
        if self._thread is not None:
            self.httpd.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self.httpd.server_close()

    def __enter__(self) -> MockServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- faults -----------------------------------------------------------------------------------
    def set_fault(self, model: str, fault: MockFault | None = None, **switches: Any) -> MockFault:
        """Set one model's switches (`*` for all); `set_fault(m, rate_429=1.0, times=2)`."""
        chosen = fault or MockFault.from_dict(switches, f"faults.models.{model}")
        with self.lock:
            self.faults[model] = chosen
            self._served[model] = 0
        return chosen

    def clear_faults(self) -> None:
        with self.lock:
            self.faults.clear()
            self._served.clear()

    def draw_fault(self, model: str) -> tuple[str | None, MockFault]:
        """(the fault this request gets or None, the switches in force for it). One draw per switch, in a
        fixed order, under the lock; past a switch set's `times`, nothing is in force."""
        with self.lock:
            fault = self.faults.get(model) or self.faults.get("*")
            n = self._served[model]
            self._served[model] += 1
            if fault is None or (fault.times is not None and n >= fault.times):
                return None, MockFault()
            for name in ("reset", "hang", "rate_429", "error_rate", "malformed_sse", "truncated_json"):
                p = float(getattr(fault, name))
                if p > 0 and (p >= 1.0 or self.rng.random() < p):
                    return name, fault
            return None, fault

    def faults_document(self) -> dict[str, Any]:
        with self.lock:
            return {"models": {m: asdict(f) for m, f in self.faults.items()}}

    def count(self, key: str) -> None:
        with self.lock:
            self.stats[key] += 1


# -- the request handler ----------------------------------------------------------------------------
class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so clients pool connections as they do with real providers
    # Headers and body go out in separate writes; with Nagle on, the body waits ~40 ms for a delayed ACK.
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)

    @property
    def mock(self) -> MockServer:
        return self.server.mock

    # ---- plumbing
    def _json(self, status: int, payload: Any, headers: Mapping[str, str] | None = None) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def _raw(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _body(self) -> Any:
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            return json.loads(raw or b"null")
        except json.JSONDecodeError as exc:
            return exc

    def _start_stream(self, headers: Mapping[str, str] | None = None) -> None:
        self.send_response(200)
        self.send_header("content-type", "text/event-stream; charset=utf-8")
        self.send_header("cache-control", "no-cache")
        self.send_header("transfer-encoding", "chunked")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):X}\r\n".encode() + data + b"\r\n")

    def _end_stream(self) -> None:
        self.wfile.write(b"0\r\n\r\n")

    def _pause(self, seconds: float) -> bool:
        """Sleep, but wake when the server stops. False when it is stopping."""
        if seconds <= 0:
            return not self.mock.stopping.is_set()
        return not self.mock.stopping.wait(seconds)

    # ---- routes
    def do_GET(self) -> None:
        if self.path.rstrip("/") == "/v1/models":
            now = int(time.time())
            data = [{"id": m, "object": "model", "created": now, "owned_by": m.split("/", 1)[0]}
                    for m in self.mock.fleet.models()]
            self._json(200, {"object": "list", "data": data})
        elif self.path == "/_mock/faults":
            self._json(200, self.mock.faults_document())
        elif self.path == "/_mock/stats":
            with self.mock.lock:
                self._json(200, {"counts": dict(self.mock.stats), "requests": self.mock.fleet.requests})
        else:
            self._json(404, _openai_error(f"no route GET {self.path}", "invalid_request_error", "not_found"))

    def do_POST(self) -> None:
        route = self.path.split("?", 1)[0].rstrip("/")
        body = self._body()
        if route == "/_mock/faults":
            self._set_faults(body)
        elif route == "/v1/chat/completions":
            self._openai(body)
        elif route == "/v1/messages":
            self._anthropic(body)
        else:
            self._json(404, _openai_error(f"no route POST {self.path}", "invalid_request_error", "not_found"))

    def do_DELETE(self) -> None:
        if self.path == "/_mock/faults":
            self.mock.clear_faults()
            self._json(200, self.mock.faults_document())
        else:
            self._json(404, _openai_error(f"no route DELETE {self.path}", "invalid_request_error", "not_found"))

    def _set_faults(self, body: Any) -> None:
        try:
            faults, _ = parse_faults(body if not isinstance(body, Exception) else None, "faults")
        except BadInputError as exc:
            self._json(400, _openai_error(str(exc), "invalid_request_error", "bad_faults"))
            return
        for model, fault in faults.items():
            self.mock.set_fault(model, fault)
        self._json(200, self.mock.faults_document())

    # ---- shared request handling
    def _common(self, body: Any, anthropic: bool) -> tuple[str, TransportRequest, dict[str, Any]] | None:
        """Validate the body, count auth, apply faults that end the request. None when already answered."""
        err = _anthropic_error if anthropic else _openai_error
        if isinstance(body, Exception) or not isinstance(body, dict):
            self._json(400, err("request body is not a JSON object", "invalid_request_error", "invalid_json"))
            return None
        model = body.get("model")
        messages = body.get("messages")
        if not isinstance(model, str) or not isinstance(messages, list) or not messages:
            self._json(400, err("`model` (a string) and `messages` (a non-empty list) are required",
                                "invalid_request_error", "missing_field"))
            return None
        if anthropic:
            if "max_tokens" not in body:
                self._json(400, err("max_tokens: Field required", "invalid_request_error", "missing_field"))
                return None
            if not self.headers.get("anthropic-version"):
                self._json(400, err("anthropic-version: header is required", "invalid_request_error", "header"))
                return None
        if not self.mock.fleet.serves(model):
            status, kind = (404, "not_found_error") if anthropic else (404, "invalid_request_error")
            self._json(status, err(f"The model `{model}` does not exist or you do not have access to it.",
                                   kind, "model_not_found"))
            return None
        if self.headers.get("authorization") or self.headers.get("x-api-key"):
            self.mock.count("authorized")  # a key arrived; the mock never stores or echoes it
        fault, switches = self.mock.draw_fault(model)
        self.mock.count(f"fault:{fault or 'none'}")
        if fault == "reset":
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            return None
        if fault == "hang":
            self._pause(self.mock.hang_s)
            self.close_connection = True
            return None
        with self.mock.lock:
            index, now = self.mock.fleet.begin()
            failure = self.mock.fleet.scheduled_failure(model, index, now)
        if fault == "rate_429" or (failure is not None and failure.status == "http_429"):
            wait = switches.retry_after_s
            if fault != "rate_429" and failure is not None:
                wait = failure.retry_after_s or 1.0
            headers = {"retry-after": str(max(0, math.ceil(wait))), "retry-after-ms": str(int(wait * 1000))}
            kind = "rate_limit_error"
            self._json(429, err("Rate limit reached for requests (simulated)", kind, "rate_limit_exceeded"), headers)
            return None
        if fault == "error_rate" or failure is not None:
            status = switches.error_status if fault == "error_rate" else 503
            kind = "overloaded_error" if anthropic and status in (503, 529) else "api_error"
            self._json(status, err("The server had an error while processing your request (simulated)",
                                   kind, "server_error"))
            return None
        treq = _transport_request(body, anthropic, self.headers.get(TASK_HEADER, ""),
                                  self.headers.get(COMPLEXITY_HEADER, "0"))
        with self.mock.lock:
            response = self.mock.fleet.generate(treq, model, index=index, now=now)
        wants_tool = _tool_to_call(body, anthropic)
        content = response.text
        fmt = body.get("response_format")
        if not anthropic and isinstance(fmt, dict) and fmt.get("type") in ("json_object", "json_schema"):
            content = json.dumps({"answer": response.text[:200], "model": model, "terms": key_terms(
                treq.messages[-1].content)})
            if fault == "truncated_json":
                content = content[: max(1, len(content) * 2 // 3)]
        plan = {
            "model": model,
            "text": "" if wants_tool else content,
            "tool": wants_tool,
            "arguments": _arguments(wants_tool, treq, fault == "truncated_json") if wants_tool else "",
            "input_tokens": response.usage.input_tokens,
            "output_tokens": response.usage.output_tokens,
            "finish": "tool_calls" if wants_tool else response.finish_reason,
            "ttft_s": response.ttft_ms / 1000.0,
            "gen_s": max(0.0, response.latency_ms - response.ttft_ms) / 1000.0,
            "fault": fault,
            "slow_ms": switches.slow_stream_ms,
            "quality": response.metadata.get("simulated_true_quality"),
        }
        return model, treq, plan

    def _sim_headers(self, plan: Mapping[str, Any]) -> dict[str, str]:
        return {QUALITY_HEADER: str(plan["quality"])} if plan.get("quality") is not None else {}

    # ---- OpenAI
    def _openai(self, body: Any) -> None:
        common = self._common(body, anthropic=False)
        if common is None:
            return
        _, _, plan = common
        rid = f"chatcmpl-{uuid.uuid4().hex[:24]}"
        created = int(time.time())
        if not self._pause(plan["ttft_s"] * self.mock.pace):
            return
        if not body.get("stream"):
            message: dict[str, Any] = {"role": "assistant", "content": plan["text"] or None, "refusal": None}
            if plan["tool"]:
                message["tool_calls"] = [{"id": f"call_{uuid.uuid4().hex[:24]}", "type": "function",
                                          "function": {"name": plan["tool"], "arguments": plan["arguments"]}}]
            payload = {
                "id": rid, "object": "chat.completion", "created": created, "model": plan["model"],
                "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": plan["finish"]}],
                "usage": _openai_usage(plan), "system_fingerprint": "fp_clawft_mock",
            }
            if plan["fault"] == "malformed_sse":
                raw = json.dumps(payload).encode()
                self._raw(200, raw[: len(raw) // 2])
                return
            self._pause(plan["gen_s"] * self.mock.pace)
            self._json(200, payload, self._sim_headers(plan))
            return
        self._start_stream(self._sim_headers(plan))
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        pieces = list(_openai_chunks(plan))
        delay = self._chunk_delay(plan, len(pieces))
        for i, delta in enumerate(pieces):
            if plan["fault"] == "malformed_sse" and i == max(1, len(pieces) // 2):
                self._chunk(b'data: {"id": "' + rid.encode() + b'", "choices": [{"delta": {"content": "brok\n\n')
                self._end_stream()
                return
            chunk = {"id": rid, "object": "chat.completion.chunk", "created": created, "model": plan["model"],
                     "system_fingerprint": "fp_clawft_mock",
                     "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": None}]}
            if include_usage:
                chunk["usage"] = None
            self._chunk(b"data: " + json.dumps(chunk).encode() + b"\n\n")
            if not self._pause(delay):
                return
        last: dict[str, Any] = {
            "id": rid, "object": "chat.completion.chunk", "created": created, "model": plan["model"],
            "system_fingerprint": "fp_clawft_mock",
            "choices": [{"index": 0, "delta": {}, "logprobs": None, "finish_reason": plan["finish"]}],
        }
        if include_usage:
            last["usage"] = None
        self._chunk(b"data: " + json.dumps(last).encode() + b"\n\n")
        if include_usage:
            usage = {"id": rid, "object": "chat.completion.chunk", "created": created, "model": plan["model"],
                     "system_fingerprint": "fp_clawft_mock", "choices": [], "usage": _openai_usage(plan)}
            self._chunk(b"data: " + json.dumps(usage).encode() + b"\n\n")
        self._chunk(b"data: [DONE]\n\n")
        self._end_stream()

    def _chunk_delay(self, plan: Mapping[str, Any], n: int) -> float:
        return float(plan["slow_ms"]) / 1000.0 + float(plan["gen_s"]) * self.mock.pace / max(1, n)

    # ---- Anthropic
    def _anthropic(self, body: Any) -> None:
        common = self._common(body, anthropic=True)
        if common is None:
            return
        _, _, plan = common
        mid = f"msg_{uuid.uuid4().hex[:24]}"
        stop = {"tool_calls": "tool_use", "length": "max_tokens"}.get(plan["finish"], "end_turn")
        content: list[dict[str, Any]] = []
        if plan["text"]:
            content.append({"type": "text", "text": plan["text"]})
        tool_id = f"toolu_{uuid.uuid4().hex[:24]}"
        if not self._pause(plan["ttft_s"] * self.mock.pace):
            return
        if not body.get("stream"):
            if plan["tool"]:
                try:
                    tool_input = json.loads(plan["arguments"])
                except json.JSONDecodeError:
                    tool_input = {"_truncated": plan["arguments"]}  # a non-streamed tool_use input is an object
                content.append({"type": "tool_use", "id": tool_id, "name": plan["tool"], "input": tool_input})
            payload = {"id": mid, "type": "message", "role": "assistant", "model": plan["model"], "content": content,
                       "stop_reason": stop, "stop_sequence": None,
                       "usage": {"input_tokens": plan["input_tokens"], "output_tokens": plan["output_tokens"]}}
            if plan["fault"] == "malformed_sse":
                raw = json.dumps(payload).encode()
                self._raw(200, raw[: len(raw) // 2])
                return
            self._pause(plan["gen_s"] * self.mock.pace)
            self._json(200, payload, self._sim_headers(plan))
            return

        def event(name: str, data: Mapping[str, Any]) -> None:
            self._chunk(f"event: {name}\ndata: ".encode() + json.dumps(data).encode() + b"\n\n")

        self._start_stream(self._sim_headers(plan))
        event("message_start", {"type": "message_start", "message": {
            "id": mid, "type": "message", "role": "assistant", "model": plan["model"], "content": [],
            "stop_reason": None, "stop_sequence": None,
            "usage": {"input_tokens": plan["input_tokens"], "output_tokens": 1}}})
        event("ping", {"type": "ping"})
        blocks: list[tuple[dict[str, Any], list[dict[str, Any]]]] = []
        if plan["text"]:
            words = _split_words(plan["text"])
            blocks.append(({"type": "text", "text": ""}, [{"type": "text_delta", "text": w} for w in words]))
        if plan["tool"]:
            parts = _split_args(plan["arguments"])
            blocks.append(({"type": "tool_use", "id": tool_id, "name": plan["tool"], "input": {}},
                           [{"type": "input_json_delta", "partial_json": p} for p in ["", *parts]]))
        total = sum(len(d) for _, d in blocks)
        delay = self._chunk_delay(plan, total)
        sent = 0
        for index, (start, deltas) in enumerate(blocks):
            event("content_block_start", {"type": "content_block_start", "index": index, "content_block": start})
            for delta in deltas:
                if plan["fault"] == "malformed_sse" and sent == max(1, total // 2):
                    self._chunk(b'event: content_block_delta\ndata: {"type": "content_block_delta", "ind\n\n')
                    self._end_stream()
                    return
                event("content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta})
                sent += 1
                if not self._pause(delay):
                    return
            event("content_block_stop", {"type": "content_block_stop", "index": index})
        event("message_delta", {"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": None},
                                "usage": {"output_tokens": plan["output_tokens"]}})
        event("message_stop", {"type": "message_stop"})
        self._end_stream()


# -- helpers ----------------------------------------------------------------------------------------
def _openai_error(message: str, kind: str, code: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


def _anthropic_error(message: str, kind: str, _code: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": kind, "message": message}}


def _openai_usage(plan: Mapping[str, Any]) -> dict[str, int]:
    i, o = int(plan["input_tokens"]), int(plan["output_tokens"])
    return {"prompt_tokens": i, "completion_tokens": o, "total_tokens": i + o}


def _transport_request(body: Mapping[str, Any], anthropic: bool, task_type: str, complexity: str) -> TransportRequest:
    messages = []
    if anthropic and body.get("system"):
        messages.append(Message("system", text_of(body["system"])))
    for m in body.get("messages", []):
        if isinstance(m, Mapping):
            messages.append(Message(str(m.get("role", "user")), text_of(m.get("content"))))
    try:
        level = min(1.0, max(0.0, float(complexity)))
    except ValueError:
        level = 0.0
    max_tokens = body.get("max_tokens") or body.get("max_completion_tokens")
    return TransportRequest(
        model=str(body["model"]),
        messages=tuple(messages),
        tools=tuple(body.get("tools") or ()),
        max_output_tokens=int(max_tokens) if isinstance(max_tokens, int) and max_tokens > 0 else None,
        task_type=task_type[:40],
        complexity=level,
    )


def _tool_to_call(body: Mapping[str, Any], anthropic: bool) -> str | None:
    """The tool the simulated model calls: the one tool_choice names, else the first; none after a tool result."""
    tools = body.get("tools") or []
    if not tools:
        return None
    choice = body.get("tool_choice")
    if choice == "none" or (isinstance(choice, Mapping) and choice.get("type") == "none"):
        return None
    last = body["messages"][-1]
    content = last.get("content") if isinstance(last, Mapping) else None
    if last.get("role") == "tool" or (
        isinstance(content, list) and any(isinstance(b, Mapping) and b.get("type") == "tool_result" for b in content)
    ) or (isinstance(content, str) and content.startswith("[tool result]")):
        return None
    if isinstance(choice, Mapping):
        named = (choice.get("function") or {}).get("name") or choice.get("name")
        if named:
            return str(named)
    first = tools[0]
    return str(first.get("name") or (first.get("function") or {}).get("name") or "tool")


def _schema_of(tool_name: str, tools: Any) -> Mapping[str, Any]:
    for t in tools or ():
        fn = t.get("function", t)
        if fn.get("name") == tool_name:
            schema = fn.get("parameters") or fn.get("input_schema") or {}
            return schema if isinstance(schema, Mapping) else {}
    return {}


def _arguments(tool: str, treq: TransportRequest, truncate: bool) -> str:
    """Arguments that fit the tool's JSON schema, filled from the prompt's key terms."""
    schema = _schema_of(tool, treq.tools)
    props = schema.get("properties") or {}
    terms = key_terms(treq.messages[-1].content if treq.messages else "") or ["example"]
    args: dict[str, Any] = {}
    for i, (name, spec) in enumerate(props.items()):
        kind = spec.get("type") if isinstance(spec, Mapping) else None
        if isinstance(spec, Mapping) and spec.get("enum"):
            args[name] = spec["enum"][0]
        elif kind == "integer":
            args[name] = i + 1
        elif kind == "number":
            args[name] = float(i + 1)
        elif kind == "boolean":
            args[name] = True
        elif kind == "array":
            args[name] = terms[:2]
        elif kind == "object":
            args[name] = {}
        else:
            args[name] = " ".join(terms[i % len(terms):][:2]) or "example"
    text = json.dumps(args)
    return text[: max(1, len(text) * 2 // 3)] if truncate else text


def _split_words(text: str) -> list[str]:
    """Token-like pieces: each word with the whitespace before it, as providers stream them."""
    out: list[str] = []
    start = 0
    for i in range(1, len(text)):
        if text[i] == " " and text[i - 1] != " ":
            out.append(text[start:i])
            start = i
    out.append(text[start:])
    return [w for w in out if w]


def _split_args(arguments: str, pieces: int = 4) -> list[str]:
    step = max(1, math.ceil(len(arguments) / pieces))
    return [arguments[i : i + step] for i in range(0, len(arguments), step)]


def _openai_chunks(plan: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    yield {"role": "assistant", "content": "", "refusal": None}
    if plan["text"]:
        for word in _split_words(plan["text"]):
            yield {"content": word}
    if plan["tool"]:
        call_id = f"call_{uuid.uuid4().hex[:24]}"
        yield {"tool_calls": [{"index": 0, "id": call_id, "type": "function",
                               "function": {"name": plan["tool"], "arguments": ""}}]}
        for part in _split_args(plan["arguments"]):
            yield {"tool_calls": [{"index": 0, "function": {"arguments": part}}]}
