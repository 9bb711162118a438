"""API keys: resolved from config or environment, and scrubbed from every text the workbench writes.

Keys live only in `KeyRing` (as `SecretStr`) and in the request headers built from it. Everything
the transport records (attempt errors, response metadata, log records) goes through `redact`, which
removes every key the ring handed out plus the usual credential shapes (`Bearer ...`, `sk-...`).
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Iterable, Mapping

from pydantic import SecretStr

from workbench.errors import MissingKeyError
from workbench.transport.providers import ProviderSpec

REDACTED = "[REDACTED]"
# Shapes of credentials worth scrubbing even when the ring never saw the key (a provider echoing one back).
_PATTERNS = (
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]{8,}"),
    re.compile(r"(?i)((?:x-)?api[-_]?key[\"']?\s*[:=]\s*[\"']?)[A-Za-z0-9._~+/=-]{8,}"),
    re.compile(r"\b(sk-(?:ant-|proj-|or-)?)[A-Za-z0-9_-]{12,}"),
)
# Keys shorter than this are not scrubbed by value: replacing every "abc" in a log would hide real text.
_MIN_SECRET = 6
# Loggers whose records may describe requests: ours and httpx's.
LOGGERS: tuple[str, ...] = (
    "workbench.transport",
    "workbench.transport.http",
    "workbench.transport.mock_server",
    "httpx",
    "httpcore",
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.http2",
)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with every known secret and every credential-shaped token replaced by [REDACTED]."""
    for secret in secrets:
        if len(secret) >= _MIN_SECRET and secret in text:
            text = text.replace(secret, REDACTED)
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: m.group(1) + REDACTED, text)
    return text


class RedactingFilter(logging.Filter):
    """Scrubs log records in place: the formatted message, so args holding a key are covered too."""

    def __init__(self) -> None:
        super().__init__("")
        self._secrets: set[str] = set()
        self._lock = threading.Lock()

    def add(self, secrets: Iterable[str]) -> None:
        with self._lock:
            self._secrets.update(s for s in secrets if len(s) >= _MIN_SECRET)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact(message, tuple(self._secrets))
        if clean != message:
            record.msg, record.args = clean, None
        return True


# Logging is process-wide, so the filter is too: one instance attached once to each request logger.
# Filters on a logger only see records created on that very logger, hence the explicit list above.
_FILTER = RedactingFilter()


def install_redaction(secrets: Iterable[str] = ()) -> RedactingFilter:
    """Attach the redacting filter to the request loggers (idempotent) and teach it these secrets."""
    _FILTER.add(secrets)
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
    return _FILTER


class KeyRing:
    """Where each provider's key comes from: `providers.<name>.api_key` in the config, else its env var."""

    def __init__(
        self, config_keys: Mapping[str, SecretStr] | None = None, env: Mapping[str, str] | None = None
    ) -> None:
        self._config = dict(config_keys or {})
        self._env = env if env is not None else os.environ
        self._seen: set[str] = set()

    def key(self, spec: ProviderSpec) -> str | None:
        """The provider's key, or None when it has none and needs none. Raises MissingKeyError otherwise."""
        secret = self._config.get(spec.name)
        value = secret.get_secret_value() if secret is not None else None
        if not value and spec.key_env:
            value = self._env.get(spec.key_env) or None
        if value:
            if value not in self._seen:
                self._seen.add(value)
                install_redaction([value])
            return value
        if spec.key_required:
            raise MissingKeyError(spec.name, spec.key_env or f"{spec.name.upper()}_API_KEY")
        return None

    def has_key(self, spec: ProviderSpec) -> bool:
        try:
            return self.key(spec) is not None or not spec.key_required
        except MissingKeyError:
            return False

    @property
    def secrets(self) -> tuple[str, ...]:
        return tuple(self._seen)

    def redact(self, text: str) -> str:
        return redact(text, self._seen)
