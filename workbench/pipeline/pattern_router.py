"""PatternRouter: nearest logged prompts vote for the model that served them well.

The pattern bank is built from logged trajectories: each outcome becomes a pattern (prompt embedding, model,
uses, summed outcome); a near-duplicate of an existing pattern for the same model merges into it. Neighbours
come from exact search below `brute_force_below` patterns and from an HNSW index (usearch) above. Each
neighbour votes for its model with weight similarity x trust, trust = mean outcome discounted until the
pattern has `min_trust_uses` uses; the decision's confidence is the winner's share of the votes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np

from workbench.domain import ChatRequest, LlmResponse, RoutingDecision, TaskProfile, Trajectory
from workbench.errors import BadInputError
from workbench.pipeline.candidate_pool import CandidatePool, route_context
from workbench.pipeline.embeddings import Embedder
from workbench.pipeline.selection import RoutingKit, decision, select
from workbench.pipeline.strategies import ScoredStrategy
from workbench.prices import PriceTable
from workbench.routing_config import PatternConfig


def default_outcome(t: Trajectory) -> float:
    """How well a logged request went, in [0, 1]: its reward, else its quality, else 1 served / 0 failed."""
    if t.reward is not None:
        return float(min(1.0, max(0.0, t.reward)))
    if t.quality.overall is not None:
        return float(t.quality.overall)
    return 1.0 if t.response.status == "ok" else 0.0


def outcome_model(t: Trajectory) -> str:
    """The model an outcome belongs to: the one that answered, or the chosen one when nothing did."""
    return t.response.served_model or t.decision.model


class PatternBank:
    def __init__(
        self,
        dim: int,
        *,
        merge_similarity: float = 0.97,
        min_trust_uses: int = 5,
        brute_force_below: int = 2000,
        embedder_kind: str = "hashed",
    ) -> None:
        self.dim = dim
        self.merge_similarity = merge_similarity
        self.min_trust_uses = min_trust_uses
        self.brute_force_below = brute_force_below
        self.embedder_kind = embedder_kind
        self.models: list[str] = []
        self._model_index: dict[str, int] = {}
        self.n = 0
        self._vectors = np.zeros((64, dim), dtype=np.float32)
        self._model_of = np.zeros(64, dtype=np.intp)
        self._uses = np.zeros(64)
        self._value = np.zeros(64)
        self._hnsw: object | None = None  # usearch Index, built when the bank grows past brute force

    # -- contents -------------------------------------------------------------------------------------
    @property
    def vectors(self) -> np.ndarray:
        return self._vectors[: self.n]

    @property
    def model_of(self) -> np.ndarray:
        return self._model_of[: self.n]

    @property
    def uses(self) -> np.ndarray:
        return self._uses[: self.n]

    def trust(self) -> np.ndarray:
        """Mean outcome, discounted until a pattern has `min_trust_uses` uses."""
        uses = self._uses[: self.n]
        return (self._value[: self.n] / np.maximum(uses, 1.0)) * np.minimum(1.0, uses / self.min_trust_uses)

    def model_id(self, model: str) -> int:
        i = self._model_index.get(model)
        if i is None:
            i = self._model_index[model] = len(self.models)
            self.models.append(model)
        return i

    def _grow(self) -> None:
        cap = len(self._uses) * 2
        self._vectors = np.concatenate([self._vectors, np.zeros_like(self._vectors)])[:cap]
        self._model_of = np.concatenate([self._model_of, np.zeros_like(self._model_of)])[:cap]
        self._uses = np.concatenate([self._uses, np.zeros_like(self._uses)])[:cap]
        self._value = np.concatenate([self._value, np.zeros_like(self._value)])[:cap]

    def add(self, vector: np.ndarray, model: str, outcome: float, *, uses: float = 1.0, merge: bool = True) -> int:
        """Record one outcome (or, with `uses` > 1, `uses` outcomes summing to `outcome`: a learned pattern).

        Returns the pattern it went to (merged into a near-duplicate, or new; `merge=False` always adds).
        """
        mid = self.model_id(model)
        if self.n and merge:
            idx, sims = self.neighbours(vector, 4)
            for i, s in zip(idx.tolist(), sims.tolist(), strict=True):
                if s >= self.merge_similarity and self._model_of[i] == mid:
                    u = self._uses[i]
                    merged = self._vectors[i] * u + vector * uses
                    self._vectors[i] = merged / max(float(np.linalg.norm(merged)), 1e-12)
                    self._uses[i] = u + uses
                    self._value[i] += outcome
                    self._reindex(i, replace=True)
                    return int(i)
        if self.n == len(self._uses):
            self._grow()
        i = self.n
        self._vectors[i] = vector
        self._model_of[i] = mid
        self._uses[i] = uses
        self._value[i] = outcome
        self.n += 1
        self._reindex(i, replace=False)
        return i

    def empty_like(self) -> PatternBank:
        """A new empty bank with the same settings (the ReasoningBank refills one from its patterns)."""
        return PatternBank(
            self.dim, merge_similarity=self.merge_similarity, min_trust_uses=self.min_trust_uses,
            brute_force_below=self.brute_force_below, embedder_kind=self.embedder_kind,
        )

    # -- search ---------------------------------------------------------------------------------------
    def _reindex(self, i: int, *, replace: bool) -> None:
        if self._hnsw is None:
            if self.n >= self.brute_force_below:
                self._build_hnsw()
            return
        index = self._hnsw
        if replace:
            index.remove(i)  # type: ignore[attr-defined]
        index.add(i, self._vectors[i], threads=1)  # type: ignore[attr-defined]

    def _build_hnsw(self) -> None:
        from usearch.index import Index

        # Generous graph and search breadth: banks are small (thousands) and recall matters more than a few us.
        index = Index(ndim=self.dim, metric="cos", dtype="f32", connectivity=16, expansion_add=128,
                      expansion_search=64)
        if self.n:
            index.add(np.arange(self.n), self._vectors[: self.n], threads=1)  # one thread: a reproducible graph
        self._hnsw = index

    def neighbours(self, vector: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Up to k nearest patterns: (indices, cosine similarities), most similar first."""
        if self.n == 0:
            return np.zeros(0, dtype=np.intp), np.zeros(0)
        k = min(k, self.n)
        if self._hnsw is None:
            sims = self._vectors[: self.n] @ vector
            top = np.argpartition(-sims, k - 1)[:k] if k < self.n else np.arange(self.n)
            top = top[np.argsort(-sims[top], kind="stable")]
            return top, sims[top].astype(float)
        found = self._hnsw.search(vector, k, threads=1)  # type: ignore[attr-defined]
        keys = np.asarray(found.keys, dtype=np.intp)
        return keys, 1.0 - np.asarray(found.distances, dtype=float)

    # -- building and persistence --------------------------------------------------------------------
    @classmethod
    def from_trajectories(
        cls,
        trajectories: Iterable[Trajectory],
        embedder: Embedder,
        config: PatternConfig | None = None,
        outcome: Callable[[Trajectory], float] = default_outcome,
    ) -> PatternBank:
        cfg = config or PatternConfig()
        bank = cls(
            embedder.dim, merge_similarity=cfg.merge_similarity, min_trust_uses=cfg.min_trust_uses,
            brute_force_below=cfg.brute_force_below, embedder_kind=embedder.kind,
        )
        bank.learn(trajectories, embedder, outcome)
        return bank

    def learn(
        self,
        trajectories: Iterable[Trajectory],
        embedder: Embedder,
        outcome: Callable[[Trajectory], float] = default_outcome,
    ) -> int:
        """Add logged trajectories to the bank. Returns how many were added."""
        added = 0
        for t in trajectories:
            if t.response.status == "failed" and not t.response.attempts:
                continue  # never sent (e.g. a fail-fast decision): says nothing about any model
            self.add(embedder.embed(t.request.prompt), outcome_model(t), outcome(t))
            added += 1
        return added

    def save(self, path: str | Path) -> None:
        np.savez_compressed(
            Path(path), vectors=self.vectors, model_of=self.model_of, uses=self.uses, value=self._value[: self.n],
            models=np.array(self.models, dtype=str),
            meta=np.array([self.dim, self.min_trust_uses, self.brute_force_below], dtype=np.int64),
            merge=np.array([self.merge_similarity]), kind=np.array([self.embedder_kind], dtype=str),
        )

    @classmethod
    def load(cls, path: str | Path) -> PatternBank:
        p = Path(path)
        try:
            with np.load(p) as data:
                dim, min_uses, brute = (int(x) for x in data["meta"])
                bank = cls(dim, merge_similarity=float(data["merge"][0]), min_trust_uses=min_uses,
                           brute_force_below=brute, embedder_kind=str(data["kind"][0]))
                for m in data["models"].tolist():
                    bank.model_id(str(m))
                n = len(data["uses"])
                while len(bank._uses) < n:
                    bank._grow()
                bank._vectors[:n] = data["vectors"]
                bank._model_of[:n] = data["model_of"]
                bank._uses[:n] = data["uses"]
                bank._value[:n] = data["value"]
                bank.n = n
        except FileNotFoundError:
            raise BadInputError(f"{p}: pattern bank not found; build one from logged trajectories first") from None
        except (OSError, KeyError, ValueError) as exc:
            raise BadInputError(f"{p}: not a pattern bank saved by the workbench ({exc})") from None
        if bank.n >= bank.brute_force_below:
            bank._build_hnsw()
        return bank


class PatternRouter:
    name = "pattern"

    def __init__(
        self,
        models: Sequence[str],
        prices: PriceTable,
        bank: PatternBank,
        embedder: Embedder,
        kit: RoutingKit,
        rng: np.random.Generator,
        k: int = 8,
    ) -> None:
        if bank.dim != embedder.dim:
            raise BadInputError(
                f"pattern bank has {bank.dim}-dim vectors but the embedder makes {embedder.dim}; "
                "rebuild the bank or set routing.pattern.embeddings.dim to match"
            )
        self.pool = CandidatePool(models, prices, kit.fleet)
        self.bank = bank
        self.embedder = embedder
        self.kit = kit
        self.rng = rng
        self.k = k

    def votes(self, prompt: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per candidate: summed votes; and the neighbours found (indices, similarities)."""
        bank = self.bank
        idx, sims = bank.neighbours(self.embedder.embed(prompt), self.k)
        votes = np.zeros(self.pool.n)
        if idx.size:
            position = np.array([self.pool.position.get(m, -1) for m in bank.models], dtype=np.intp)
            pos = position[bank.model_of[idx]]
            weight = np.maximum(sims, 0.0) * bank.trust()[idx]
            keep = pos >= 0
            np.add.at(votes, pos[keep], weight[keep])
        return votes, idx, sims

    def route(self, request: ChatRequest, profile: TaskProfile) -> RoutingDecision:
        ctx = route_context(request, profile, self.kit.fleet.clock())
        screen = self.pool.screen(profile, ctx)
        votes, idx, sims = self.votes(request.prompt)
        usable = votes[screen.admissible].sum() if screen.admissible.any() else 0.0
        if usable <= 0:
            # No similar pattern votes for a usable candidate: nothing learned applies, route in config order.
            scores = np.linspace(1.0, 0.5, self.pool.n)
            strategy = ScoredStrategy(
                "pattern",
                scores, 0.0, lambda _: "in configured order: no similar pattern in the bank votes for a usable model"
            )
            choice = select(self.pool, screen, strategy, ctx, self.kit, self.rng, vote_share=0.0)
        else:
            scores = votes / votes.max()
            share_of = votes / usable
            winner = int(np.argmax(np.where(screen.admissible, votes, -1.0)))
            k, nearest = idx.size, float(sims[0])

            def note(pos: int) -> str:
                return (
                    f"has {share_of[pos]:.0%} of the votes of {k} similar pattern(s) "
                    f"(nearest similarity {nearest:.2f})"
                )

            strategy = ScoredStrategy("pattern", scores, float(self.bank.uses[idx].sum()), note)
            choice = select(
                self.pool, screen, strategy, ctx, self.kit, self.rng, vote_share=float(share_of[winner])
            )
        return decision(self.pool, choice, self.name, strategy.describe(self.pool, choice.position, ctx))

    def update(self, decision: RoutingDecision, response: LlmResponse) -> None:
        # The bank learns from scored trajectories (PatternBank.learn), not from raw responses.
        return None
