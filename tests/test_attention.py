"""Attention-based context assembly keeps what is relevant to the query, within budget, and says why."""

from __future__ import annotations

from workbench.domain import ChatRequest, Message, TaskProfile
from workbench.pipeline.attention import AttentionAssembler, attention_weights
from workbench.pipeline.context import message_tokens
from workbench.pipeline.embeddings import HashedEmbedder

PROFILE = TaskProfile(task_type="development")


def conversation() -> ChatRequest:
    msgs = [
        Message("system", "You are a helpful engineer."),
        Message("user", "Our Postgres database replication lag spikes during nightly vacuum runs."),
        Message("assistant", "Replication lag during vacuum usually comes from WAL volume; tune vacuum cost."),
        Message("user", "Separately, what is a good recipe for banana bread with walnuts?"),
        Message("assistant", "Mash ripe bananas, mix flour, sugar, butter, eggs, walnuts; bake an hour."),
        Message("user", "ok"),
        Message("assistant", "thanks"),
        Message("user", "Let us talk about the weekend hiking trip plans in the mountains."),
        Message("assistant", "Pack layers, water and a map; check the mountain weather forecast."),
        Message("user", "How do I reduce Postgres replication lag caused by vacuum and WAL?"),
    ]
    return ChatRequest(messages=tuple(msgs))


def test_relevant_history_is_kept_and_irrelevant_dropped_under_budget() -> None:
    req = conversation()
    essentials = sum(message_tokens(m) for m in (req.messages[0], *req.messages[-3:]))
    budget = essentials + message_tokens(req.messages[1]) + message_tokens(req.messages[2]) + 5
    ctx = AttentionAssembler(budget, window=2).assemble(req, PROFILE)
    contents = [m.content for m in ctx.messages]
    assert contents[0].startswith("You are")  # system prompt
    assert contents[-1] == req.messages[-1].content  # the query
    assert req.messages[-2].content in contents and req.messages[-3].content in contents  # local window
    assert req.messages[1].content in contents and req.messages[2].content in contents  # relevant: Postgres
    assert not any("banana" in c for c in contents)  # irrelevant, and no room for it
    assert ctx.tokens <= budget
    assert "dropped 2 low-information" in ctx.notes  # "ok" / "thanks"


def test_with_room_everything_informative_is_kept_in_original_order() -> None:
    req = conversation()
    ctx = AttentionAssembler(100_000, window=2).assemble(req, PROFILE)
    kept = [m for m in req.messages if m in ctx.messages]
    assert list(ctx.messages) == kept  # order preserved
    assert len(ctx.messages) == len(req.messages) - 2  # only the two low-information turns go


def test_memory_chunks_compete_for_the_budget() -> None:
    memory = [
        "The payments service runs on Postgres 15 with two streaming replicas in another region.",
        "The office coffee machine was replaced last spring with an espresso model.",
    ]
    req = ChatRequest(messages=(Message("user", "Why might Postgres replicas in another region lag?"),),
                      metadata={"memory": memory})
    budget = message_tokens(req.messages[0]) + 30
    ctx = AttentionAssembler(budget).assemble(req, PROFILE)
    assert ctx.messages[0].role == "system" and "payments service" in ctx.messages[0].content
    assert "coffee" not in ctx.messages[0].content


def test_attention_weights_are_a_distribution_peaked_on_the_similar_key() -> None:
    emb = HashedEmbedder()
    q = emb.embed("postgres replication lag")
    keys = emb.embed_many(["postgres replication lag during vacuum", "banana bread recipe"])
    w = attention_weights(q, keys, 0.1)
    assert abs(w.sum() - 1.0) < 1e-9 and w[0] > 0.9


def test_config_selects_the_attention_assembler() -> None:
    from workbench.config import parse_config
    from workbench.pipeline import build_pipeline

    cfg = parse_config({"pipelines": {"default": {"context": {"assembler": "attention", "window": 2}}}})
    assembler = build_pipeline(cfg, seed=0).default.context
    assert isinstance(assembler, AttentionAssembler) and assembler.window == 2
