"""Attention-based context assembly: keep the history and memory that matter to the current query.

Each history message and memory chunk is scored by softmax attention of its embedding against the
query's; the local window of recent turns is always kept (local-global attention), chunks with too
little information are dropped, and the rest fill the token budget by attention weight. The result
says what was kept and why.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from workbench.domain import AssembledContext, ChatRequest, Message, TaskProfile
from workbench.pipeline.context import estimate_tokens, message_tokens
from workbench.pipeline.embeddings import Embedder, HashedEmbedder
from workbench.text import key_terms

MEMORY_KEY = "memory"  # request.metadata["memory"]: a list of memory chunks (strings) the caller can offer


def attention_weights(query: np.ndarray, keys: np.ndarray, temperature: float) -> np.ndarray:
    """softmax(q . k / temperature). Embeddings are unit-norm, so the usual 1/sqrt(d) scale would flatten
    every weight to uniform; a temperature sets the sharpness instead."""
    logits = (keys @ query).astype(np.float64) / temperature
    logits -= logits.max()
    w = np.exp(logits)
    out: np.ndarray = w / w.sum()
    return out


class AttentionAssembler:
    name = "attention"

    def __init__(
        self,
        max_tokens: int,
        *,
        window: int = 4,
        min_information: int = 2,
        temperature: float = 0.1,
        embedder: Embedder | None = None,
    ) -> None:
        self.max_tokens = max_tokens
        self.window = window
        self.min_information = min_information
        self.temperature = temperature
        self.embedder = embedder or HashedEmbedder()

    def assemble(self, request: ChatRequest, profile: TaskProfile) -> AssembledContext:
        msgs = list(request.messages)
        system = [i for i, m in enumerate(msgs) if m.role == "system"]
        conversation = [i for i in range(len(msgs)) if i not in system]
        latest = conversation[-1] if conversation else None
        # The local window: the most recent turns before the query, always kept.
        window = conversation[-1 - self.window : -1] if self.window > 0 else []
        always = set(system) | set(window) | ({latest} if latest is not None else set())
        used = sum(message_tokens(msgs[i]) for i in always)

        memory: Sequence[str] = [m for m in request.metadata.get(MEMORY_KEY, ()) if isinstance(m, str)]
        # Candidates for attention: older history (by index) and memory chunks (by -1 - position).
        history = [i for i in conversation if i not in always]
        texts = [msgs[i].content for i in history] + list(memory)
        ids: list[int] = history + [-1 - j for j in range(len(memory))]

        low_info = {cid for cid, text in zip(ids, texts, strict=True) if len(key_terms(text)) < self.min_information}
        scored = [(cid, text) for cid, text in zip(ids, texts, strict=True) if cid not in low_info]
        kept: set[int] = set()
        weights: dict[int, float] = {}
        over_budget = 0
        if scored and request.prompt.strip():
            query = self.embedder.embed(request.prompt)
            keys = self.embedder.embed_many([t for _, t in scored])
            w = attention_weights(query, keys, self.temperature)
            for k in np.argsort(-w, kind="stable"):
                cid, text = scored[int(k)]
                cost = message_tokens(msgs[cid]) if cid >= 0 else estimate_tokens(text) + 2
                if used + cost > self.max_tokens:
                    over_budget += 1
                    continue  # a smaller, less relevant chunk may still fit
                kept.add(cid)
                weights[cid] = float(w[int(k)])
                used += cost

        keep_history = sorted(always | {c for c in kept if c >= 0})
        kept_memory = [memory[-1 - c] for c in sorted(kept) if c < 0]
        out: list[Message] = [msgs[i] for i in keep_history if i in system]
        if kept_memory:
            out.append(Message("system", "Relevant memory:\n" + "\n".join(f"- {m}" for m in reversed(kept_memory))))
        out += [msgs[i] for i in keep_history if i not in system]

        dropped = len(texts) - len(kept)
        top = sorted(weights.values(), reverse=True)[:3]
        notes = (
            f"window kept {len(window)} recent turn(s); attention kept {len(kept)} of {len(texts)} older "
            f"message(s)/memory chunk(s)" + (f" (top weights {', '.join(f'{x:.2f}' for x in top)})" if top else "")
            + f"; dropped {len(low_info)} low-information, {over_budget} over the {self.max_tokens}-token budget"
        )
        return AssembledContext(
            messages=tuple(out), tokens=used, budget=self.max_tokens, dropped=dropped, notes=notes
        )
