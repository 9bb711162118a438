"""Prompt embeddings: hashed bag of words + character n-grams (the offline default), or an embeddings endpoint.

The hashed embedder needs no model and no network: words and character 3/4-grams are hashed with a
stable hash (crc32 and a multiplicative mix, never Python's per-process `hash`) into 384 signed buckets,
then L2-normalised. Similar wording lands close together, which is what nearest-neighbour routing needs.
"""

from __future__ import annotations

import os
import re
import zlib
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

from workbench.errors import BadInputError, TransportError
from workbench.routing_config import EmbeddingsConfig

_WORDS = re.compile(r"[a-z0-9]+")
_NON_ALNUM = re.compile(r"[^a-z0-9]+")
_MIX = np.uint64(2654435761)  # Knuth's multiplicative hash constant
_MASK32 = np.uint64(0xFFFFFFFF)


class Embedder(Protocol):
    dim: int
    kind: str

    def embed(self, text: str) -> np.ndarray:
        """One L2-normalised float32 vector of length `dim`."""
        ...

    def embed_many(self, texts: Sequence[str]) -> np.ndarray: ...


def _normalise(v: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(v))
    return (v / norm).astype(np.float32) if norm > 0 else v.astype(np.float32)


class HashedEmbedder:
    kind = "hashed"

    def __init__(self, dim: int = 384, char_weight: float = 0.7) -> None:
        self.dim = dim
        self.char_weight = char_weight
        self._dim64 = np.uint64(dim)

    def _char_block(self, text: str) -> np.ndarray:
        data = np.frombuffer((" " + _NON_ALNUM.sub(" ", text) + " ").encode(), dtype=np.uint8).astype(np.uint64)
        out = np.zeros(self.dim)
        for n, seed in ((3, 0x9E37), (4, 0x85EB)):
            if len(data) < n:
                continue
            h = np.full(len(data) - n + 1, seed, dtype=np.uint64)
            for k in range(n):
                h = (h * np.uint64(257) + data[k : len(data) - n + 1 + k]) & _MASK32
            h = (h * _MIX) & _MASK32
            signs = np.where((h >> np.uint64(31)) & np.uint64(1), 1.0, -1.0)
            out += np.bincount((h % self._dim64).astype(np.intp), weights=signs, minlength=self.dim)
        return out

    def embed(self, text: str) -> np.ndarray:
        lowered = text.lower()
        words = np.zeros(self.dim)
        for w in _WORDS.findall(lowered):
            h = zlib.crc32(w.encode())
            words[h % self.dim] += 1.0 if (h >> 31) & 1 else -1.0
        chars = self._char_block(lowered)
        wn, cn = float(np.linalg.norm(words)), float(np.linalg.norm(chars))
        v = (words / wn if wn else words) + self.char_weight * (chars / cn if cn else chars)
        return _normalise(v)

    def embed_many(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self.embed(t) for t in texts])


class EndpointEmbedder:
    """An OpenAI-compatible `/embeddings` endpoint over httpx. The key comes from an env var and goes
    only into the Authorization header: never into errors, logs or saved banks."""

    kind = "endpoint"

    def __init__(
        self,
        base_url: str,
        model: str,
        dim: int,
        api_key_env: str | None = None,
        timeout: float = 30.0,
        transport: Any = None,  # an httpx transport, for tests (httpx.MockTransport)
    ) -> None:
        import httpx

        self.dim = dim
        self.model = model
        headers = {}
        if api_key_env:
            key = os.environ.get(api_key_env)
            if not key:
                raise BadInputError(
                    f"routing.pattern.embeddings.api_key_env: environment variable {api_key_env} is not set; "
                    "export it or remove api_key_env for an endpoint without auth"
                )
            headers["Authorization"] = f"Bearer {key}"
        self._url = base_url.rstrip("/") + "/embeddings"
        self._client = httpx.Client(headers=headers, timeout=timeout, transport=transport)

    def embed_many(self, texts: Sequence[str]) -> np.ndarray:
        import httpx

        try:
            resp = self._client.post(self._url, json={"model": self.model, "input": list(texts)})
        except httpx.HTTPError as exc:
            raise TransportError(f"embeddings endpoint {self._url}: {type(exc).__name__}") from None
        if resp.status_code != 200:
            raise TransportError(f"embeddings endpoint {self._url} answered HTTP {resp.status_code}")
        try:
            rows = sorted(resp.json()["data"], key=lambda d: d.get("index", 0))
            vectors = np.array([r["embedding"] for r in rows], dtype=np.float32)
        except (KeyError, TypeError, ValueError):
            raise TransportError(f"embeddings endpoint {self._url}: response is not OpenAI embeddings JSON") from None
        if vectors.shape != (len(texts), self.dim):
            raise TransportError(
                f"embeddings endpoint {self._url}: got vectors of shape {vectors.shape}, expected "
                f"({len(texts)}, {self.dim}); set routing.pattern.embeddings.dim to the model's size"
            )
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        out: np.ndarray = vectors / np.where(norms > 0, norms, 1.0)
        return out

    def embed(self, text: str) -> np.ndarray:
        row: np.ndarray = self.embed_many([text])[0]
        return row

    def close(self) -> None:
        self._client.close()


def make_embedder(config: EmbeddingsConfig) -> Embedder:
    if config.kind == "endpoint":
        assert config.base_url and config.model  # the config validator guarantees both
        return EndpointEmbedder(config.base_url, config.model, config.dim, config.api_key_env)
    return HashedEmbedder(config.dim)
