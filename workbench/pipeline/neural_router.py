"""NeuralRouter: a FastGRNN scores each (request, candidate) pair; trained from logged trajectories.

Training groups the log by prompt. Where a prompt was served by two or more candidate models, the target is
the best observed outcome (cross-entropy over the observed candidates); an optional teacher router adds a
distillation term toward its candidate probabilities. Candidate statistics (latency, success rate) are
replayed in log order, so each example sees only what was known when it was logged. Untrained, the router
routes in configured order and says so rather than trusting random weights.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from workbench.domain import ChatRequest, LlmResponse, RoutingDecision, TaskProfile, Trajectory
from workbench.errors import BadInputError
from workbench.pipeline.breaker import BreakerBoard
from workbench.pipeline.candidate_pool import CandidatePool, Fleet, RouteContext, route_context
from workbench.pipeline.deployment_stats import DeploymentStats
from workbench.pipeline.fastgrnn import PARAMS, Adam, FastGRNN
from workbench.pipeline.features import (
    LATENCY_SCALE_MS,
    candidate_dim,
    candidate_features,
    request_features,
    sequences,
)
from workbench.pipeline.pattern_router import default_outcome, outcome_model
from workbench.pipeline.selection import RoutingKit, decision, select
from workbench.pipeline.stages import ModelRouter
from workbench.pipeline.strategies import ScoredStrategy
from workbench.prices import PriceTable
from workbench.routing_config import BreakerConfig, StrategyConfig


@dataclass(frozen=True, slots=True)
class TrainingReport:
    examples: int  # prompts with a target (two or more observed models, or a teacher)
    loss_before: float
    loss_after: float
    weight_change: float  # relative L2 change of all parameters
    train_accuracy: float  # share of multi-model examples where the top score is the best observed model


@dataclass
class _Example:
    xs: np.ndarray  # (n, 2, D)
    observed: np.ndarray  # (n,) bool
    best: int  # position of the best observed model, or -1
    teacher: np.ndarray | None  # (n,) distribution, or None


def _softmax(s: np.ndarray, mask: np.ndarray) -> np.ndarray:
    z = np.where(mask, s, -np.inf)
    z = z - z.max(axis=-1, keepdims=True)
    e = np.where(mask, np.exp(z), 0.0)
    out: np.ndarray = e / e.sum(axis=-1, keepdims=True)
    return out


class NeuralRouter:
    name = "neural"

    def __init__(
        self,
        models: Sequence[str],
        prices: PriceTable,
        kit: RoutingKit,
        rng: np.random.Generator,
        *,
        hidden: int = 16,
        weights: str | Path | None = None,
    ) -> None:
        self.prices = prices
        self.kit = kit
        self.rng = rng
        self.pool = CandidatePool(models, prices, kit.fleet)
        from workbench.pipeline.features import REQUEST_DIM

        self.input_dim = REQUEST_DIM + candidate_dim(self.pool)
        # Initial weights from their own stream, so training is reproducible whatever the routing draws.
        self.net = FastGRNN(self.input_dim, hidden, np.random.default_rng([kit.seed, 0x4E52]))
        self.trained = False
        self.examples = 0
        # Latency / success features as training last saw them, per candidate: used for deployments the live
        # fleet has not observed yet, so a fresh start does not feed the net inputs it never trained on.
        # Columns: TTFT ms, ms per output token, success rate, observed (0/1).
        self.learned_dynamics = np.zeros((self.pool.n, 4))
        self.learned_dynamics[:, 2] = 1.0
        if weights is not None:
            self.load(weights)

    @property
    def models(self) -> list[str]:
        return self.pool.models

    # -- routing ------------------------------------------------------------------------------------
    def _inputs(self, pool: CandidatePool, profile: TaskProfile, ctx: RouteContext) -> np.ndarray:
        cands = candidate_features(pool, ctx)
        if pool is self.pool and self.trained:
            untried = (cands[:, -1] == 0) & (self.learned_dynamics[:, 3] > 0)
            if untried.any():
                n, dyn = pool.n, self.learned_dynamics
                cands[untried, n + 1] = (dyn[untried, 0] + dyn[untried, 1] * ctx.tokens_out) / LATENCY_SCALE_MS
                cands[untried, n + 2] = dyn[untried, 2]
                cands[untried, n + 3] = 1.0
        return sequences(request_features(profile), cands)

    def route(self, request: ChatRequest, profile: TaskProfile) -> RoutingDecision:
        ctx = route_context(request, profile, self.kit.fleet.clock())
        screen = self.pool.screen(profile, ctx)
        if not self.trained:
            scores = np.linspace(1.0, 0.5, self.pool.n)
            strategy = ScoredStrategy(
                "neural", scores, 0.0, lambda _: "in configured order: untrained (routing.neural.weights unset)"
            )
            choice = select(self.pool, screen, strategy, ctx, self.kit, self.rng)
        else:
            raw = self.net.scores(self._inputs(self.pool, profile, ctx))
            mask = screen.admissible if screen.admissible.any() else np.ones(self.pool.n, dtype=bool)
            probs = _softmax(raw, mask)
            examples = self.examples
            strategy = ScoredStrategy(
                "neural",
                probs, None, lambda pos: f"scored {probs[pos]:.2f} by the FastGRNN (trained on {examples} prompts)"
            )
            choice = select(self.pool, screen, strategy, ctx, self.kit, self.rng)
        return decision(self.pool, choice, self.name, strategy.describe(self.pool, choice.position, ctx))

    def update(self, decision: RoutingDecision, response: LlmResponse) -> None:
        return None  # learns offline from logged trajectories (fit), not per response

    # -- training -----------------------------------------------------------------------------------
    def _examples(
        self,
        trajectories: Iterable[Trajectory],
        outcome: Callable[[Trajectory], float],
        teacher: ModelRouter | None,
    ) -> list[_Example]:
        ordered = sorted(trajectories, key=lambda t: t.created_at)
        # A private fleet replays the log, so features see the latency and success known at the time.
        replay = Fleet(
            BreakerBoard(BreakerConfig(enabled=False), lambda: 0.0),
            DeploymentStats(StrategyConfig(), {}, lambda: 0.0),
            lambda: 0.0,
        )
        pool = CandidatePool(self.pool.models, self.prices, replay)
        groups: dict[str, tuple[np.ndarray, Trajectory, dict[int, list[float]]]] = {}
        for t in ordered:
            key = t.request.prompt
            if key not in groups:
                ctx = route_context(t.request, t.profile, t.created_at)
                groups[key] = (self._inputs(pool, t.profile, ctx), t, {})
            pos = pool.position.get(outcome_model(t))
            if pos is not None and (t.response.attempts or t.response.status == "ok"):
                groups[key][2].setdefault(pos, []).append(outcome(t))
            if t.response.attempts:
                replay.stats.observe(t.decision.model, t.response, t.created_at)
        st, idx = replay.stats, pool.s_idx
        self.learned_dynamics = np.column_stack(
            [st.ttft_ms[idx], st.ms_per_token[idx], st.success[idx], (st.latency_n[idx] > 0).astype(float)]
        )
        examples = []
        for xs, first, seen in groups.values():
            observed = np.zeros(pool.n, dtype=bool)
            observed[list(seen)] = True
            best = max(seen, key=lambda p: (float(np.mean(seen[p])), -p)) if len(seen) >= 2 else -1
            target = None
            if teacher is not None:
                d = teacher.route(first.request, first.profile)
                q = np.zeros(pool.n)
                for c in d.candidates:
                    p = pool.position.get(c.model)
                    if p is not None:
                        q[p] += c.probability
                target = q / q.sum() if q.sum() > 0 else None
            if best >= 0 or target is not None:
                examples.append(_Example(xs, observed, best, target))
        return examples

    def _loss_and_grad(
        self, examples: list[_Example], teacher_weight: float, l2: float
    ) -> tuple[float, dict[str, np.ndarray], float]:
        n = self.pool.n
        xs = np.concatenate([e.xs for e in examples])
        scores, cache = self.net.forward(xs)
        s = scores.reshape(len(examples), n)
        ds = np.zeros_like(s)
        loss, hits, counted = 0.0, 0, 0
        everyone = np.ones(n, dtype=bool)
        for k, e in enumerate(examples):
            if e.best >= 0:
                p = _softmax(s[k], e.observed)
                loss -= float(np.log(max(p[e.best], 1e-12)))
                ds[k] += p
                ds[k, e.best] -= 1.0
                hits += int(np.argmax(np.where(e.observed, s[k], -np.inf)) == e.best)
                counted += 1
            if e.teacher is not None:
                q = _softmax(s[k], everyone)
                loss -= teacher_weight * float(np.sum(e.teacher * np.log(np.maximum(q, 1e-12))))
                ds[k] += teacher_weight * (q - e.teacher)
        m = len(examples)
        grads = self.net.backward(cache, ds.reshape(-1) / m)
        for name in ("W", "U", "v"):
            grads[name] += l2 * self.net.params[name]
            loss += 0.5 * l2 * m * float(np.sum(self.net.params[name] ** 2))
        return loss / m, grads, hits / counted if counted else 0.0

    def fit(
        self,
        trajectories: Iterable[Trajectory],
        *,
        teacher: ModelRouter | None = None,
        teacher_weight: float = 0.5,
        epochs: int = 300,
        lr: float = 0.02,
        l2: float = 1e-4,
        outcome: Callable[[Trajectory], float] = default_outcome,
    ) -> TrainingReport:
        """Train on logged trajectories (full batch, Adam). Raises when the log gives nothing to learn from."""
        examples = self._examples(trajectories, outcome, teacher)
        if not examples:
            raise BadInputError(
                "no training signal: no prompt in the log was served by two or more candidate models and no "
                "teacher was given; log full-information outcomes, or pass a teacher router"
            )
        before = self.net.state()
        loss0, _, _ = self._loss_and_grad(examples, teacher_weight, l2)
        opt = Adam(self.net.params, lr=lr)
        for _ in range(epochs):
            _, grads, _ = self._loss_and_grad(examples, teacher_weight, l2)
            opt.step(self.net.params, grads)
        loss1, _, accuracy = self._loss_and_grad(examples, teacher_weight, l2)
        delta = sum(float(np.sum((self.net.params[k] - before[k]) ** 2)) for k in PARAMS)
        size = sum(float(np.sum(before[k] ** 2)) for k in PARAMS)
        self.trained = True
        self.examples = len(examples)
        return TrainingReport(len(examples), round(loss0, 6), round(loss1, 6), float(np.sqrt(delta / size)), accuracy)

    # -- persistence --------------------------------------------------------------------------------
    def save(self, path: str | Path) -> None:
        self.net.save(
            path, models=np.array(self.pool.models, dtype=str),
            meta=np.array([self.input_dim, self.net.hidden, self.examples, int(self.trained)], dtype=np.int64),
            dynamics=self.learned_dynamics,
        )

    def load(self, path: str | Path) -> None:
        p = Path(path)
        try:
            with np.load(p) as data:
                models = [str(m) for m in data["models"].tolist()]
                input_dim, hidden, examples, trained = (int(x) for x in data["meta"])
                state = {k: data[f"p_{k}"] for k in PARAMS}
                dynamics = np.array(data["dynamics"], dtype=float)
        except FileNotFoundError:
            raise BadInputError(f"{p}: neural router weights not found; train and save them first") from None
        except (OSError, KeyError, ValueError) as exc:
            raise BadInputError(f"{p}: not neural router weights saved by the workbench ({exc})") from None
        if models != self.pool.models:
            raise BadInputError(
                f"{p}: weights were trained for candidates {models}, this router has {self.pool.models}; "
                "retrain for these candidates or use the same preferred_models"
            )
        if input_dim != self.input_dim or hidden != self.net.hidden:
            raise BadInputError(
                f"{p}: weights have input {input_dim} / hidden {hidden}, expected {self.input_dim} / "
                f"{self.net.hidden}; set routing.neural.hidden to {hidden} or retrain"
            )
        self.net.load_state(state)
        self.learned_dynamics = dynamics
        self.examples = examples
        self.trained = bool(trained)
