"""Transports: the simulated fleet (the offline default), real providers over HTTP, and the loopback mock server.

`factory.transport_from_config` builds the one `transport.kind` names; `providers` is the registry of
providers, `http` the httpx transport with its wire formats (`wire_openai`, `wire_anthropic`, `sse`),
`resilience` its retry / rate-limit / fallback rules, `keys` key resolution and redaction, `jsonfix`
JSON repair, `simulated` + `fleet` + `schedule` the simulated fleet, `mock_server` that fleet over HTTP.
"""
