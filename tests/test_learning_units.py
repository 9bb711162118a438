"""Learning components on their own: MicroLoRA/BaseLoRA, EWC++, the reward-shift detector, the ReasoningBank,
LinUCB and Thompson sampling. Each test checks that learning changes state, and changes it the right way."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.domain import ChatRequest, TaskProfile
from workbench.learning.bandits import BanditLearner, LinearArms, LinUCBPolicy, ThompsonPolicy
from workbench.learning.ewc import EwcPlusPlus, RewardShiftDetector
from workbench.learning.lora import LowRankLinear
from workbench.learning.reasoning_bank import ReasoningBank, kmeans
from workbench.learning.settings import BanditConfig, BankConfig, EwcConfig, LearningConfig
from workbench.learning.sona import SonaLearner, SonaPolicy
from workbench.pipeline.embeddings import HashedEmbedder
from workbench.pipeline.features import REQUEST_DIM, TASK_SLOTS, request_features


def x_for(task: str) -> np.ndarray:
    return request_features(TaskProfile(task_type=task))


# -- MicroLoRA / BaseLoRA ---------------------------------------------------------------------------------
def test_micro_step_moves_only_the_rank_2_factors_and_reduces_the_error() -> None:
    lin = LowRankLinear(3, REQUEST_DIM, micro_rank=2, base_rank=8, rng=np.random.default_rng(0))
    x = x_for("development")
    before_w, before_base = lin.W.copy(), lin.base.copy()
    for _ in range(30):
        error = 0.5 - float(lin.W[1] @ x)
        lin.step(1, x, error, 0.1 / float(x @ x))
    assert not np.allclose(lin.W, before_w)  # the weights changed
    assert np.array_equal(lin.base, before_base)  # ...through the micro factors only
    assert np.linalg.matrix_rank(lin.W - lin.base) <= 2
    assert abs(0.5 - float(lin.W[1] @ x)) < 0.1  # the prediction moved most of the way to the target


def test_consolidation_folds_the_micro_update_into_the_base_and_restarts_it() -> None:
    lin = LowRankLinear(3, REQUEST_DIM, micro_rank=2, base_rank=8, rng=np.random.default_rng(1))
    x = x_for("analysis")
    for _ in range(20):
        lin.step(0, x, 0.3 - float(lin.W[0] @ x), 0.1 / float(x @ x))
    w = lin.W.copy()
    moved = lin.consolidate()
    assert moved > 0
    assert np.allclose(lin.W, w, atol=1e-12)  # rank 3 <= 8: consolidation is exact
    assert not lin.U.any()  # the micro adapter starts again from zero


def test_base_lora_truncates_to_rank_8() -> None:
    rng = np.random.default_rng(2)
    lin = LowRankLinear(12, 20, micro_rank=2, base_rank=8, rng=rng)
    lin.base = rng.normal(size=(12, 20))  # full rank 12
    lin.consolidate()
    assert np.linalg.matrix_rank(lin.base) == 8


# -- EWC++ ------------------------------------------------------------------------------------------------
def test_shift_detector_fires_on_a_shift_and_not_on_stationary_noise() -> None:
    rng = np.random.default_rng(3)
    quiet = RewardShiftDetector(window=40, threshold=5.0, min_gap=200)
    assert not any(quiet.update(float(v)) for v in rng.normal(0.0, 0.05, 3000))
    shifted = RewardShiftDetector(window=40, threshold=5.0, min_gap=200)
    fired = [shifted.update(float(v)) for v in np.concatenate([rng.normal(0, 0.05, 500), rng.normal(-0.3, 0.05, 50)])]
    assert not any(fired[:500]) and any(fired[500:505])


def test_ewc_fisher_tracks_the_updated_row_and_the_penalty_pulls_back_to_the_anchor() -> None:
    ewc = EwcPlusPlus((3, REQUEST_DIM), EwcConfig(penalty=1.0))
    x = x_for("triage")
    for _ in range(10):
        ewc.observe(2, x, 0.2)
    assert ewc.fisher[2].sum() > 0 and not ewc.fisher[:2].any()
    w = np.zeros((3, REQUEST_DIM))
    assert ewc.penalty_step(w, 0.1) is None  # no boundary yet: nothing to protect
    ewc.boundary(w)
    moved = w + 0.5
    pull = ewc.penalty_step(moved, 0.1)
    assert pull is not None
    assert (pull[2][x != 0] > 0).all()  # important weights are pulled back towards the anchor
    assert not pull[:2].any()  # weights that never mattered are free


def test_sona_with_ewc_stays_nearer_the_old_regime_than_without() -> None:
    x = x_for("development")

    def learner(ewc: bool) -> SonaLearner:
        cfg = LearningConfig(ewc=EwcConfig(enabled=ewc, penalty=1.0, min_gap=50))
        return SonaLearner(["a/m1", "b/m2"], cfg, np.random.default_rng(4))

    on, off = learner(True), learner(False)
    for lrn in (on, off):
        noise = np.random.default_rng(6)
        for _ in range(400):  # regime 1: m1 is worth 0.8, m2 0.6
            lrn.learn(0, x, 0.8 + noise.normal(0, 0.02))
            lrn.learn(1, x, 0.6 + noise.normal(0, 0.02))
        for _ in range(150):  # regime 2: m1 collapses
            lrn.learn(0, x, 0.2 + noise.normal(0, 0.02))
            lrn.learn(1, x, 0.6 + noise.normal(0, 0.02))
    assert on.ewc is not None and on.ewc.boundaries >= 1
    # Both learned that m1 got worse; the EWC learner kept more of what it knew about regime 1.
    gap_on = float(on.lin.W[0] @ x - on.lin.W[1] @ x)
    gap_off = float(off.lin.W[0] @ x - off.lin.W[1] @ x)
    assert gap_on > gap_off


# -- SONA learner ---------------------------------------------------------------------------------------
def test_sona_learns_which_model_is_best_per_task_type() -> None:
    truth = {"triage": (0.9, 0.6), "development": (0.5, 0.8), "creative": (0.7, 0.4)}
    lrn = SonaLearner(["a/cheap", "b/strong"], LearningConfig(), np.random.default_rng(7))
    policy = SonaPolicy(lrn)
    rng = np.random.default_rng(8)
    w0 = lrn.lin.W.copy()
    for _ in range(300):
        task = list(truth)[int(rng.integers(3))]
        row = int(rng.integers(2))
        lrn.learn(row, x_for(task), truth[task][row] + rng.normal(0, 0.03))
    assert not np.allclose(lrn.lin.W, w0)
    both = np.ones(2, dtype=bool)
    for task, (a, b) in truth.items():
        picked = int(np.argmax(policy.evaluate(x_for(task), both, rng).probs))
        assert picked == (0 if a > b else 1), task
    assert lrn.version == 300  # one version per update that changed the weights


def test_sona_state_round_trips_exactly() -> None:
    cfg = LearningConfig()
    emb = HashedEmbedder()
    a = SonaLearner(["a/m1", "b/m2", "c/m3"], cfg, np.random.default_rng(9), embedder=emb)
    rng = np.random.default_rng(10)
    for i in range(170):
        a.learn(i % 3, x_for(TASK_SLOTS[i % 5]), float(rng.uniform(0.4, 0.9)), prompt=f"prompt {i % 7}", cost=0.001)
    b = SonaLearner(["a/m1", "b/m2", "c/m3"], cfg, np.random.default_rng(999), embedder=emb)
    b.load_state(a.state())
    assert np.array_equal(a.lin.W, b.lin.W) and b.version == a.version == 170
    assert a.bank is not None and b.bank is not None and np.array_equal(a.bank.centroids, b.bank.centroids)
    for lrn in (a, b):  # the same next updates give the same weights (rng state travelled too)
        lrn.learn(1, x_for("triage"), 0.7, prompt="again", cost=0.0)
        for _ in range(40):
            lrn.learn(2, x_for("analysis"), 0.5, prompt="more", cost=0.0)
    assert np.array_equal(a.lin.W, b.lin.W)


# -- ReasoningBank -----------------------------------------------------------------------------------------
def test_kmeans_separates_clear_clusters() -> None:
    rng = np.random.default_rng(11)
    centres = np.eye(4, 16)
    x = np.repeat(centres, 30, axis=0) + rng.normal(0, 0.05, (120, 16))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    _, labels = kmeans(x, 4, rng, 20)
    for c in range(4):
        assert len(set(labels[c * 30 : (c + 1) * 30].tolist())) == 1
    assert len(set(labels.tolist())) == 4


def test_reasoning_bank_clusters_merges_prunes_and_feeds_the_pattern_router() -> None:
    from routing_helpers import kit

    from workbench.pipeline.pattern_router import PatternBank, PatternRouter
    from workbench.prices import shipped_prices

    emb = HashedEmbedder()
    models = ["openai/gpt-4o-mini", "deepseek/deepseek-chat"]
    bank = ReasoningBank(emb.dim, models, BankConfig(clusters=4, prune_after=50, min_count=3))
    rng = np.random.default_rng(12)
    code = [f"debug the rust module for service {i} it panics" for i in range(40)]
    poems = [f"write a haiku about the ocean at dawn number {i}" for i in range(40)]
    for p in code:  # deepseek is better at code, gpt-4o-mini at poems
        bank.record(emb.embed(p), 1, 0.85, 0.001)
        bank.record(emb.embed(p), 0, 0.55, 0.001)
    for p in poems:
        bank.record(emb.embed(p), 0, 0.8, 0.001)
        bank.record(emb.embed(p), 1, 0.5, 0.001)
    assert bank.consolidate(rng) and 2 <= bank.size <= 4
    means = bank.mean_outcome()
    assert np.nanmax(means) == pytest.approx(0.85) and np.nanmin(means) == pytest.approx(0.5)
    # Consolidating the same traffic again merges into the existing patterns instead of duplicating them.
    size = bank.size
    for p in code:
        bank.record(emb.embed(p), 1, 0.85, 0.001)
    bank.consolidate(rng)
    assert bank.size == size
    # A one-off pattern that is never used again is pruned once stale.
    bank.record(emb.embed("zzz qqq completely unrelated xylophone"), 0, 0.1, 0.0)
    bank.consolidate(rng)
    lonely = bank.size
    for p in poems[:60]:
        bank.record(emb.embed(p), 0, 0.8, 0.001)
    for p in poems:
        bank.record(emb.embed(p), 0, 0.8, 0.001)
    bank.consolidate(rng)
    assert bank.size == lonely - 1
    router = PatternRouter(models, shipped_prices(), PatternBank(emb.dim), emb, kit(), np.random.default_rng(0))
    router.bank = bank.to_pattern_bank(router.bank)
    assert router.bank.n >= 2 * (bank.size - 0) - 2
    p = ChatRequest.from_prompt("debug the rust module for service 99 it panics")
    assert router.route(p, TaskProfile("development")).model == "deepseek/deepseek-chat"
    q = ChatRequest.from_prompt("write a haiku about the ocean at dawn number 99")
    assert router.route(q, TaskProfile("creative")).model == "openai/gpt-4o-mini"


# -- bandits ----------------------------------------------------------------------------------------------
def test_linucb_sherman_morrison_matches_the_inverse_and_finds_the_better_arm() -> None:
    lrn = BanditLearner("linucb", ["a/m1", "b/m2"], BanditConfig())
    policy = LinUCBPolicy(lrn)
    rng = np.random.default_rng(13)
    both = np.ones(2, dtype=bool)
    x = x_for("research")
    for _ in range(200):
        row = int(np.argmax(policy.evaluate(x, both, rng).probs))
        lrn.arms.update(row, x, (0.8 if row == 1 else 0.5) + rng.normal(0, 0.05))
    assert np.allclose(lrn.arms.A_inv, np.linalg.inv(lrn.arms.A), atol=1e-8)
    assert lrn.arms.counts[1] > 150  # it settled on the better arm after trying both
    assert lrn.arms.counts[0] >= 1


def test_thompson_propensity_is_the_distribution_it_draws_from() -> None:
    lrn = BanditLearner("thompson", ["a/m1", "b/m2", "c/m3"], BanditConfig())
    policy = ThompsonPolicy(lrn)
    rng = np.random.default_rng(14)
    x = x_for("creative")
    for _ in range(30):
        for row, value in enumerate((0.5, 0.7, 0.72)):
            lrn.arms.update(row, x, value + rng.normal(0, 0.05))
    admissible = np.array([True, True, False])
    scores = policy.evaluate(x, admissible, rng)
    assert scores.probs[2] == 0.0  # never a non-admissible candidate
    assert scores.probs.sum() == pytest.approx(1.0)
    assert scores.probs[1] > scores.probs[0]


def test_discounted_arms_forget_old_evidence() -> None:
    x = x_for("triage")
    plain = LinearArms(1, REQUEST_DIM, BanditConfig())
    forgetful = LinearArms(1, REQUEST_DIM, BanditConfig(discount=0.9))
    for arms in (plain, forgetful):
        for _ in range(200):
            arms.update(0, x, 0.8)
        for _ in range(30):
            arms.update(0, x, 0.2)
    assert float(forgetful.theta[0] @ x) < 0.3 < float(plain.theta[0] @ x)


def test_an_outcome_without_a_reward_leaves_every_learner_unchanged() -> None:
    from routing_helpers import trajectory

    from workbench.domain import LlmResponse

    request = ChatRequest.from_prompt("label this message")
    response = LlmResponse(text="spam", served_model="a/m1", status="ok")
    unscored = trajectory(request, TaskProfile("triage"), "a/m1", response, 0.0)
    assert unscored.reward is None
    for learner in (SonaLearner(["a/m1"], LearningConfig(), np.random.default_rng(0)),
                    BanditLearner("linucb", ["a/m1"], BanditConfig())):
        learner.record(unscored)
        assert learner.version == 0
