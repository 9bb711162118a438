"""Learned routers: hashed embeddings, the pattern bank (HNSW and exact), PatternRouter and the FastGRNN
NeuralRouter, trained on simulated logs and judged on held-out prompts against static and random routing.

Decision quality on a held-out prompt = the simulated fleet's expected quality for the chosen model at the
prompt's task type and complexity (what the fleet's hidden true quality is centred on).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from routing_helpers import analyzer, expected_quality, full_information_log, kit, split

from workbench.config import parse_config
from workbench.domain import ChatRequest, Trajectory
from workbench.errors import BadInputError
from workbench.pipeline import build_pipeline
from workbench.pipeline.embeddings import HashedEmbedder
from workbench.pipeline.fastgrnn import FastGRNN
from workbench.pipeline.neural_router import NeuralRouter
from workbench.pipeline.pattern_router import PatternBank, PatternRouter
from workbench.pipeline.route import StaticRouter
from workbench.pipeline.stages import ModelRouter
from workbench.prices import shipped_prices

PRICES = shipped_prices()
# No model dominates this set: the best one depends on the task type and the complexity.
MODELS = [
    "openai/gpt-4o-mini", "groq/llama-3.1-8b", "deepseek/deepseek-chat", "gemini/gemini-2.0-flash",
    "anthropic/claude-3-5-haiku", "groq/llama-3.3-70b",
]
CLF = analyzer()


@pytest.fixture(scope="module")
def data() -> tuple[list[Trajectory], list[str]]:
    train, test = split(150, 100, seed=7)
    return full_information_log(train, MODELS, seed=3, clf=CLF), test


def held_out_quality(router: ModelRouter, test: list[str]) -> float:
    values = []
    for p in test:
        request = ChatRequest.from_prompt(p)
        profile = CLF.classify(request)
        values.append(expected_quality(router.route(request, profile).model, profile))
    return float(np.mean(values))


def random_quality(test: list[str]) -> float:
    """Uniform random routing, in expectation (exact, no sampling)."""
    return float(np.mean([np.mean([expected_quality(m, CLF.classify(ChatRequest.from_prompt(p))) for m in MODELS])
                          for p in test]))


# -- embeddings -------------------------------------------------------------------------------------------
def test_hashed_embeddings_are_normalised_stable_and_similar_for_similar_text() -> None:
    e = HashedEmbedder()
    a = e.embed("Explain why the Raft consensus protocol needs a leader")
    assert a.shape == (384,) and a.dtype == np.float32 and float(np.linalg.norm(a)) == pytest.approx(1.0, abs=1e-5)
    assert np.array_equal(a, HashedEmbedder().embed("Explain why the Raft consensus protocol needs a leader"))
    near = e.embed("explain why raft consensus needs a leader node")
    far = e.embed("write a poem about the sea")
    assert float(a @ near) > 0.6 > 0.3 > float(a @ far)
    assert e.embed_many(["a", "b"]).shape == (2, 384) and not e.embed("").any()


# -- pattern bank -------------------------------------------------------------------------------------------
def test_bank_merges_near_duplicates_and_discounts_trust_until_used() -> None:
    e = HashedEmbedder()
    bank = PatternBank(384, min_trust_uses=5)
    v = e.embed("summarize the quarterly report")
    first = bank.add(v, "m/a", 1.0)
    assert bank.add(v, "m/a", 1.0) == first and bank.n == 1  # same prompt, same model: one pattern, 2 uses
    assert bank.add(v, "m/b", 0.0) != first and bank.n == 2  # same prompt, another model: its own pattern
    assert bank.trust()[first] == pytest.approx(1.0 * 2 / 5)  # mean outcome 1.0, discounted: 2 of 5 uses
    for _ in range(5):
        bank.add(v, "m/a", 1.0)
    assert bank.trust()[first] == pytest.approx(1.0)


def test_hnsw_search_agrees_with_exact_search(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((600, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    exact, hnsw = PatternBank(384, brute_force_below=10_000), PatternBank(384, brute_force_below=100)
    for i, v in enumerate(vectors):
        exact.add(v, f"m/{i % 3}", 0.5)
        hnsw.add(v, f"m/{i % 3}", 0.5)
    assert hnsw._hnsw is not None and exact._hnsw is None
    recall = []
    for q in vectors[:50] + 0.05 * rng.standard_normal((50, 384)).astype(np.float32):
        q = q / np.linalg.norm(q)
        a, sa = exact.neighbours(q, 8)
        b, sb = hnsw.neighbours(q, 8)
        recall.append(len(set(a.tolist()) & set(b.tolist())) / 8)
        assert sb[0] == pytest.approx(sa[0], abs=1e-4) and list(sb) == sorted(sb, reverse=True)
    assert np.mean(recall) > 0.9
    hnsw.save(tmp_path / "bank.npz")
    loaded = PatternBank.load(tmp_path / "bank.npz")
    assert loaded.n == hnsw.n and loaded.models == hnsw.models and loaded._hnsw is not None
    assert np.array_equal(loaded.neighbours(vectors[3], 1)[0], [3])
    with pytest.raises(BadInputError, match="pattern bank not found"):
        PatternBank.load(tmp_path / "missing.npz")


def test_pattern_router_beats_random_on_held_out_prompts(data: tuple[list[Trajectory], list[str]]) -> None:
    log, test = data
    embedder = HashedEmbedder()
    bank = PatternBank.from_trajectories(log, embedder)
    assert 0 < bank.n <= len(log)
    router = PatternRouter(MODELS, PRICES, bank, embedder, kit(), np.random.default_rng(0))
    learned, chance = held_out_quality(router, test), random_quality(test)
    assert learned > chance + 0.02
    d = router.route(ChatRequest.from_prompt(test[0]), CLF.classify(ChatRequest.from_prompt(test[0])))
    assert "of the votes of 8 similar pattern(s)" in d.reason and 0 <= d.uncertainty <= 1


def test_empty_bank_routes_in_configured_order_and_says_so() -> None:
    router = PatternRouter(MODELS, PRICES, PatternBank(384), HashedEmbedder(), kit(), np.random.default_rng(0))
    d = router.route(ChatRequest.from_prompt("hello"), CLF.classify(ChatRequest.from_prompt("hello")))
    assert d.model == MODELS[0] and "no similar pattern" in d.reason and d.uncertainty == 1.0


# -- FastGRNN and the neural router ---------------------------------------------------------------------------
def test_fastgrnn_gradients_match_finite_differences() -> None:
    rng = np.random.default_rng(1)
    net = FastGRNN(5, 4, rng)
    xs = rng.standard_normal((3, 2, 5))
    weights = rng.standard_normal(3)
    _, cache = net.forward(xs)
    grads = net.backward(cache, weights)  # d(sum w * score) / d(params)
    eps = 1e-6
    for name, param in net.params.items():
        flat = param.reshape(-1)
        for j in range(min(flat.size, 6)):
            old = flat[j]
            flat[j] = old + eps
            up = float(weights @ net.scores(xs))
            flat[j] = old - eps
            down = float(weights @ net.scores(xs))
            flat[j] = old
            assert grads[name].reshape(-1)[j] == pytest.approx((up - down) / (2 * eps), rel=1e-4, abs=1e-7), name


def test_neural_router_learns_from_logs_and_beats_static_on_held_out_prompts(
    data: tuple[list[Trajectory], list[str]], tmp_path: Path
) -> None:
    log, test = data
    router = NeuralRouter(MODELS, PRICES, kit(), np.random.default_rng(0), hidden=16)
    before = {k: v.copy() for k, v in router.net.params.items()}
    report = router.fit(log, epochs=300)
    assert report.examples == 150 and report.loss_after < report.loss_before * 0.7
    assert report.weight_change > 0.1 and any(not np.allclose(before[k], router.net.params[k]) for k in before)

    static = StaticRouter(MODELS, PRICES)
    learned, baseline, chance = held_out_quality(router, test), held_out_quality(static, test), random_quality(test)
    assert learned > baseline + 0.03 and learned > chance + 0.05
    # It learned an interaction, not a constant: more than one model is chosen across held-out prompts.
    picks = Counter(router.route(ChatRequest.from_prompt(p), CLF.classify(ChatRequest.from_prompt(p))).model
                    for p in test)
    assert len(picks) >= 2

    router.save(tmp_path / "neural.npz")
    again = NeuralRouter(MODELS, PRICES, kit(), np.random.default_rng(9), hidden=16, weights=tmp_path / "neural.npz")
    assert again.trained and held_out_quality(again, test) == pytest.approx(learned)
    with pytest.raises(BadInputError, match="trained for candidates"):
        NeuralRouter(MODELS[:3], PRICES, kit(), np.random.default_rng(0), weights=tmp_path / "neural.npz")


def test_distillation_from_a_teacher_learns_where_the_log_alone_cannot() -> None:
    # A bandit-style log: each prompt served once, so there is no best-observed target anywhere.
    train, test = split(80, 40, seed=11)
    full = full_information_log(train, MODELS, seed=5, clf=CLF)
    served = np.random.default_rng(2).integers(len(MODELS), size=len(train))
    one_each = [full[i * len(MODELS) + int(j)] for i, j in enumerate(served)]
    student = NeuralRouter(MODELS, PRICES, kit(), np.random.default_rng(0))
    with pytest.raises(BadInputError, match="no training signal"):
        student.fit(one_each)
    teacher = StaticRouter(["deepseek/deepseek-chat", *MODELS], PRICES)  # a teacher with a clear preference
    report = student.fit(one_each, teacher=teacher, teacher_weight=1.0, epochs=150)
    assert report.examples == len({t.request.prompt for t in one_each}) and report.weight_change > 0
    agree = [student.route(ChatRequest.from_prompt(p), CLF.classify(ChatRequest.from_prompt(p))).model
             == "deepseek/deepseek-chat" for p in test]
    assert np.mean(agree) > 0.9


def test_untrained_neural_router_routes_in_order_and_says_so() -> None:
    cfg = parse_config({"pipelines": {"default": {"classifier": "complexity", "router": "neural"}}})
    reg = build_pipeline(cfg, seed=0)
    request = ChatRequest.from_prompt("summarize the report")
    pipeline, profile = reg.profile(request)
    d = pipeline.router.route(request, profile)
    assert d.strategy == "neural" and "untrained" in d.reason
    assert d.model == reg.config.routing.tiers.tiers["fast"].models[0]  # fleet-wide candidates, config order


def test_endpoint_embedder_normalises_and_keeps_the_key_out_of_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    import httpx

    from workbench.errors import TransportError
    from workbench.pipeline.embeddings import EndpointEmbedder

    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if b"fail" in request.content:
            return httpx.Response(500, json={"error": "boom"})
        texts = json.loads(request.content)["input"]
        data = [{"index": i, "embedding": [3.0, 4.0, 0.0]} for i in range(len(texts))]
        return httpx.Response(200, json={"data": data})

    monkeypatch.setenv("EMBED_KEY", "sk-secret-123")
    e = EndpointEmbedder("http://127.0.0.1:9/v1", "embed-small", 3, "EMBED_KEY", transport=httpx.MockTransport(handler))
    v = e.embed_many(["a", "b"])
    assert v.shape == (2, 3) and np.allclose(v[0], [0.6, 0.8, 0.0])
    assert seen[0].url.path == "/v1/embeddings" and seen[0].headers["authorization"] == "Bearer sk-secret-123"
    with pytest.raises(TransportError) as info:
        e.embed("fail")
    assert "HTTP 500" in str(info.value) and "sk-secret" not in str(info.value)
    bad_dim = EndpointEmbedder("http://127.0.0.1:9/v1", "m", 384, transport=httpx.MockTransport(handler))
    with pytest.raises(TransportError, match=r"set routing\.pattern\.embeddings\.dim"):
        bad_dim.embed("x")
    monkeypatch.delenv("EMBED_KEY")
    with pytest.raises(BadInputError, match="EMBED_KEY is not set"):
        EndpointEmbedder("http://127.0.0.1:9/v1", "m", 3, "EMBED_KEY")
