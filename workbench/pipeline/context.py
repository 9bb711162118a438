"""Level-0 context assembly: keep what matters most and truncate the rest to a token budget."""

from __future__ import annotations

from collections.abc import Sequence

from workbench.domain import AssembledContext, ChatRequest, Message, TaskProfile


def estimate_tokens(text: str) -> int:
    """~4 characters a token: the usual rule of thumb when no tokenizer is at hand."""
    return len(text) // 4 + 1


def message_tokens(message: Message) -> int:
    return estimate_tokens(message.content) + 4  # role and framing overhead per message


def request_tokens(messages: Sequence[Message]) -> int:
    return sum(map(message_tokens, messages))


class TokenBudgetAssembler:
    """Keeps system prompts, the first and the latest message; fills the middle newest-first to the budget."""

    name = "token-budget"

    def __init__(self, max_tokens: int) -> None:
        self.max_tokens = max_tokens

    def assemble(self, request: ChatRequest, profile: TaskProfile) -> AssembledContext:
        msgs = list(request.messages)
        costs = [message_tokens(m) for m in msgs]
        keep = {i for i, m in enumerate(msgs) if m.role == "system"}
        conversation = [i for i in range(len(msgs)) if i not in keep]
        if conversation:
            keep.update({conversation[0], conversation[-1]})
        used = sum(costs[i] for i in keep)
        for i in reversed(conversation[1:-1]):
            if used + costs[i] > self.max_tokens:
                break  # newest-first: once one does not fit, older ones would break continuity
            keep.add(i)
            used += costs[i]
        kept = tuple(msgs[i] for i in sorted(keep))
        dropped = len(msgs) - len(kept)
        notes = f"dropped {dropped} middle message(s) to fit {self.max_tokens} tokens" if dropped else ""
        if used > self.max_tokens:
            notes = (notes + "; " if notes else "") + f"essential messages alone need {used} tokens"
        return AssembledContext(messages=kept, tokens=used, budget=self.max_tokens, dropped=dropped, notes=notes)
