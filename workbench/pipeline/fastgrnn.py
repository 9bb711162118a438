"""A FastGRNN cell in numpy (Kusupati et al., NeurIPS 2018) with a linear read-out, backprop through time and Adam.

    z_t  = sigmoid(W x_t + U h_{t-1} + b_z)
    h~_t = tanh(W x_t + U h_{t-1} + b_h)
    h_t  = (zeta (1 - z_t) + nu) * h~_t + z_t * h_{t-1},    zeta = sigmoid(zeta^), nu = sigmoid(nu^)
    score = v . h_T + c

The gate and the candidate state share W and U (the cell's point: half a GRU's parameters); zeta and nu
are trained. Inputs are batches of short sequences, shape (B, T, D).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

PARAMS: tuple[str, ...] = ("W", "U", "bz", "bh", "zeta", "nu", "v", "c")


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))  # overflow-free logistic


@dataclass
class _Cache:
    xs: np.ndarray
    hs: list[np.ndarray]  # h_0 .. h_T
    zs: list[np.ndarray]
    cs: list[np.ndarray]  # candidate states h~_t


class FastGRNN:
    def __init__(self, input_dim: int, hidden: int, rng: np.random.Generator) -> None:
        self.input_dim = input_dim
        self.hidden = hidden
        scale_w = 1.0 / np.sqrt(input_dim)
        self.params: dict[str, np.ndarray] = {
            "W": rng.normal(0.0, scale_w, (hidden, input_dim)),
            "U": rng.normal(0.0, 1.0 / np.sqrt(hidden), (hidden, hidden)) * 0.5,
            "bz": np.ones(hidden),  # start with gates leaning to 'keep': stable early training
            "bh": np.zeros(hidden),
            "zeta": np.array([1.0]),  # pre-sigmoid; the paper initialises zeta ~ 1, nu ~ 0 after the sigmoid
            "nu": np.array([-4.0]),
            "v": rng.normal(0.0, 1.0 / np.sqrt(hidden), hidden),
            "c": np.zeros(1),
        }

    # -- forward / backward ---------------------------------------------------------------------------
    def forward(self, xs: np.ndarray) -> tuple[np.ndarray, _Cache]:
        p = self.params
        b, t_steps, _ = xs.shape
        zeta, nu = _sigmoid(p["zeta"])[0], _sigmoid(p["nu"])[0]
        h = np.zeros((b, self.hidden))
        hs, zs, cs = [h], [], []
        for t in range(t_steps):
            a = xs[:, t, :] @ p["W"].T + h @ p["U"].T
            z = _sigmoid(a + p["bz"])
            c = np.tanh(a + p["bh"])
            h = (zeta * (1.0 - z) + nu) * c + z * h
            hs.append(h)
            zs.append(z)
            cs.append(c)
        return h @ p["v"] + p["c"][0], _Cache(xs, hs, zs, cs)

    def scores(self, xs: np.ndarray) -> np.ndarray:
        return self.forward(xs)[0]

    def backward(self, cache: _Cache, dscore: np.ndarray) -> dict[str, np.ndarray]:
        p = self.params
        zeta, nu = _sigmoid(p["zeta"])[0], _sigmoid(p["nu"])[0]
        grads = {k: np.zeros_like(v) for k, v in p.items()}
        h_top = cache.hs[-1]
        grads["v"] = h_top.T @ dscore
        grads["c"] = np.array([dscore.sum()])
        dh = np.outer(dscore, p["v"])
        dzeta = dnu = 0.0
        for t in range(len(cache.zs) - 1, -1, -1):
            z, c, h_prev, x = cache.zs[t], cache.cs[t], cache.hs[t], cache.xs[:, t, :]
            gate = zeta * (1.0 - z) + nu
            dc = dh * gate
            dz = dh * (h_prev - zeta * c)
            dzeta += float((dh * (1.0 - z) * c).sum())
            dnu += float((dh * c).sum())
            da_c = dc * (1.0 - c * c)
            da_z = dz * z * (1.0 - z)
            da = da_c + da_z
            grads["bh"] += da_c.sum(axis=0)
            grads["bz"] += da_z.sum(axis=0)
            grads["W"] += da.T @ x
            grads["U"] += da.T @ h_prev
            dh = dh * z + da @ p["U"]
        grads["zeta"] = np.array([dzeta * zeta * (1.0 - zeta)])
        grads["nu"] = np.array([dnu * nu * (1.0 - nu)])
        return grads

    # -- persistence --------------------------------------------------------------------------------
    def state(self) -> dict[str, np.ndarray]:
        return {k: v.copy() for k, v in self.params.items()}

    def load_state(self, state: dict[str, np.ndarray]) -> None:
        for k in PARAMS:
            if state[k].shape != self.params[k].shape:
                raise ValueError(f"parameter {k} has shape {state[k].shape}, expected {self.params[k].shape}")
            self.params[k] = np.array(state[k], dtype=float)

    def save(self, path: str | Path, **extra: np.ndarray) -> None:
        arrays: dict[str, Any] = {f"p_{k}": v for k, v in self.params.items()}
        arrays.update(extra)
        np.savez_compressed(Path(path), **arrays)


class Adam:
    def __init__(self, params: dict[str, np.ndarray], lr: float = 0.01, beta1: float = 0.9, beta2: float = 0.999):
        self.lr, self.beta1, self.beta2 = lr, beta1, beta2
        self.m = {k: np.zeros_like(v) for k, v in params.items()}
        self.v = {k: np.zeros_like(v) for k, v in params.items()}
        self.t = 0

    def step(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray]) -> None:
        self.t += 1
        b1, b2 = self.beta1, self.beta2
        for k, g in grads.items():
            self.m[k] = b1 * self.m[k] + (1 - b1) * g
            self.v[k] = b2 * self.v[k] + (1 - b2) * g * g
            m_hat = self.m[k] / (1 - b1**self.t)
            v_hat = self.v[k] / (1 - b2**self.t)
            params[k] -= self.lr * m_hat / (np.sqrt(v_hat) + 1e-8)
