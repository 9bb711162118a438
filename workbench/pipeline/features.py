"""Features for learned routers: one vector per request, one per (request, candidate), as a 2-step sequence.

Request: complexity, the seven factors and the security signal, classifier confidence, task type one-hot.
Candidate: model one-hot, log expected request cost, expected latency, recent success rate, whether any
latency was observed. The FastGRNN reads the request at step 1 and the candidate at step 2, so its hidden
state carries the request into the judgement of each candidate.
"""

from __future__ import annotations

import numpy as np

from workbench.domain import TASK_TYPES, TaskProfile
from workbench.pipeline.candidate_pool import CandidatePool, RouteContext
from workbench.routing_config import FACTORS

REQUEST_SIGNALS: tuple[str, ...] = (*FACTORS, "security")
TASK_SLOTS: tuple[str, ...] = (*TASK_TYPES, "other")
REQUEST_DIM = 1 + len(REQUEST_SIGNALS) + 1 + len(TASK_SLOTS) + 1  # + a constant 1 so step 1 is never all zero
CANDIDATE_EXTRA = 4
LATENCY_SCALE_MS = 10_000.0  # expected latency enters as tens of seconds: ~[0, 1] for real deployments


def request_features(profile: TaskProfile) -> np.ndarray:
    r = np.zeros(REQUEST_DIM)
    r[0] = profile.complexity
    factors = profile.factors
    for i, name in enumerate(REQUEST_SIGNALS):
        r[1 + i] = factors.get(name, 0.0)
    base = 1 + len(REQUEST_SIGNALS)
    r[base] = profile.confidence
    task = profile.task_type if profile.task_type in TASK_TYPES else "other"
    r[base + 1 + TASK_SLOTS.index(task)] = 1.0
    r[-1] = 1.0
    return r


def candidate_dim(pool: CandidatePool) -> int:
    return pool.n + CANDIDATE_EXTRA


def candidate_features(pool: CandidatePool, ctx: RouteContext) -> np.ndarray:
    n = pool.n
    stats = pool.fleet.stats
    out = np.zeros((n, n + CANDIDATE_EXTRA))
    out[np.arange(n), np.arange(n)] = 1.0
    cost = np.maximum(pool.expected_cost(ctx), 1e-9)
    out[:, n] = (np.log10(cost) + 4.0) / 2.0  # ~[-1, 1.5] for $1e-6 .. $0.1 requests
    tried = stats.latency_n[pool.s_idx] > 0
    out[:, n + 1] = np.where(tried, stats.expected_latency_ms(pool.s_idx, ctx.tokens_out) / LATENCY_SCALE_MS, 0.0)
    out[:, n + 2] = stats.success[pool.s_idx]
    out[:, n + 3] = tried
    return out


def sequences(request: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    """(n, 2, D) inputs: step 1 = [request, 0], step 2 = [0, candidate]."""
    n, c = candidates.shape
    r = len(request)
    xs = np.zeros((n, 2, r + c))
    xs[:, 0, :r] = request
    xs[:, 1, r:] = candidates
    return xs
