"""Bandit logs in Open Bandit Pipeline form (action, reward, pscore, context) to and from trajectories.

OBP keeps logged bandit feedback as a dict of arrays: `action` (int, n), `reward` (float, n), `pscore` (the
logging policy's probability of the action, n), `context` (float, n x d), optional `position` (n) and
`n_actions`. Files: `.npz` (`numpy.savez(path, **bandit_feedback)`, plus optional `action_names`,
`context_names`, `timestamp`, `prompt`) or `.csv` (columns action, reward, pscore, context_0..context_{d-1},
optional action_name, timestamp, prompt, position). Each round becomes one trajectory: the action's name is the
chosen model, pscore its propensity, the context vector its profile factors (`context_<j>`), the reward its reward.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from workbench.domain import (
    AssembledContext,
    Candidate,
    ChatRequest,
    LlmResponse,
    QualityScore,
    RoutingDecision,
    TaskProfile,
    Trajectory,
)
from workbench.errors import BadInputError

_CONTEXT = re.compile(r"^context_(\d+)$")
SUFFIXES = (".npz", ".csv")


@dataclass(frozen=True, slots=True)
class BanditLog:
    """OBP's arrays, checked: n rounds, d context features, k actions."""

    action: np.ndarray  # int64 (n,)
    reward: np.ndarray  # float64 (n,)
    pscore: np.ndarray  # float64 (n,)
    context: np.ndarray  # float64 (n, d)
    action_names: list[str]
    context_names: list[str]
    position: np.ndarray | None = None
    timestamp: np.ndarray | None = None
    prompt: list[str] | None = None

    @property
    def n_rounds(self) -> int:
        return int(self.action.shape[0])


def _check(log: BanditLog, where: str) -> None:
    n = log.n_rounds
    for name, arr in (("reward", log.reward), ("pscore", log.pscore)):
        if arr.shape != (n,):
            raise BadInputError(f"{where}: {name} has shape {arr.shape}, expected ({n},) like action")
    if log.context.ndim != 2 or log.context.shape[0] != n:
        raise BadInputError(f"{where}: context has shape {log.context.shape}, expected ({n}, d)")
    if len(log.context_names) != log.context.shape[1]:
        raise BadInputError(f"{where}: {len(log.context_names)} context names for {log.context.shape[1]} features")
    k = len(log.action_names)
    bad = np.flatnonzero((log.action < 0) | (log.action >= k))
    if bad.size:
        i = int(bad[0])
        raise BadInputError(f"{where}: row {i + 1}: action {int(log.action[i])} is outside 0..{k - 1}")
    bad = np.flatnonzero(~(np.isfinite(log.pscore) & (log.pscore > 0) & (log.pscore <= 1)))
    if bad.size:
        i = int(bad[0])
        raise BadInputError(f"{where}: row {i + 1}: pscore {float(log.pscore[i])!r} is not a probability in (0, 1]")
    bad = np.flatnonzero(~np.isfinite(log.reward))
    if bad.size:
        i = int(bad[0])
        raise BadInputError(f"{where}: row {i + 1}: reward {float(log.reward[i])!r} is not a finite number")
    rows = np.flatnonzero(~np.isfinite(log.context).all(axis=1))
    if rows.size:
        raise BadInputError(f"{where}: row {int(rows[0]) + 1}: context holds a value that is not a finite number")
    optional: list[tuple[np.ndarray | None, str]] = [(log.position, "position"), (log.timestamp, "timestamp")]
    for maybe, name in optional:
        if maybe is not None and maybe.shape != (n,):
            raise BadInputError(f"{where}: {name} has shape {maybe.shape}, expected ({n},)")
    if log.prompt is not None and len(log.prompt) != n:
        raise BadInputError(f"{where}: prompt has {len(log.prompt)} entries, expected {n}")


def _numeric(data: Any, key: str, where: str, dtype: type) -> np.ndarray:
    arr = np.asarray(data[key])
    if arr.dtype.kind not in "iuf" + ("b" if dtype is float else ""):
        raise BadInputError(f"{where}: {key} must be numeric, got values of type {arr.dtype}")
    if dtype is int:
        if arr.dtype.kind == "f" and not np.all(np.floor(arr) == arr):
            i = int(np.flatnonzero(np.floor(arr) != arr)[0])
            raise BadInputError(f"{where}: row {i + 1}: {key} {float(arr[i])!r} is not a whole number")
        return arr.astype(np.int64)
    return arr.astype(np.float64)


def read_npz(path: Path) -> BanditLog:
    where = str(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            missing = [k for k in ("action", "reward", "pscore", "context") if k not in data.files]
            if missing:
                raise BadInputError(
                    f"{where}: missing OBP array(s) {', '.join(missing)}; "
                    "an OBP log holds action, reward, pscore, context"
                )
            action = _numeric(data, "action", where, int)
            context = _numeric(data, "context", where, float)
            if context.ndim == 1:
                context = context.reshape(-1, 1)
            n_actions = int(data["n_actions"]) if "n_actions" in data.files else int(action.max(initial=-1)) + 1
            position = _numeric(data, "position", where, int) if "position" in data.files else None
            timestamp = _numeric(data, "timestamp", where, float) if "timestamp" in data.files else None
            names = [str(x) for x in data["action_names"]] if "action_names" in data.files else []
            names = names or [f"action-{i}" for i in range(n_actions)]
            cnames = [str(x) for x in data["context_names"]] if "context_names" in data.files else []
            log = BanditLog(
                action=action,
                reward=_numeric(data, "reward", where, float),
                pscore=_numeric(data, "pscore", where, float),
                context=context,
                action_names=names,
                context_names=cnames or [f"context_{j}" for j in range(context.shape[1])],
                position=position,
                timestamp=timestamp,
                prompt=[str(x) for x in data["prompt"]] if "prompt" in data.files else None,
            )
    except BadInputError:
        raise
    except (OSError, ValueError, KeyError) as exc:
        raise BadInputError(f"{where}: not a readable .npz of OBP arrays: {exc}") from exc
    _check(log, where)
    return log


def read_csv(path: Path) -> BanditLog:
    where = str(path)
    try:
        handle = path.open(encoding="utf-8", newline="")
    except OSError as exc:
        raise BadInputError(f"{where}: cannot read: {exc}") from exc
    with handle:
        reader = csv.DictReader(handle)
        header = reader.fieldnames or []
        missing = [c for c in ("action", "reward", "pscore") if c not in header]
        if missing:
            raise BadInputError(f"{where}: row 0 (header): missing column(s) {', '.join(missing)}")
        ccols = sorted((c for c in header if _CONTEXT.match(c)), key=lambda c: int(c.split("_")[1]))
        names: dict[str, int] = {}
        action: list[int] = []
        reward: list[float] = []
        pscore: list[float] = []
        context: list[list[float]] = []
        timestamp: list[float] = []
        prompt: list[str] = []
        position: list[int] = []
        try:
            for i, row in enumerate(reader, 1):
                at = f"{where}: row {i} (line {reader.line_num})"
                if None in row or any(v is None for v in row.values()):
                    raise BadInputError(f"{at}: expected {len(header)} fields")
                try:
                    a = int(row["action"])
                    action.append(a)
                    reward.append(float(row["reward"]))
                    pscore.append(float(row["pscore"]))
                    context.append([float(row[c]) for c in ccols])
                    if "timestamp" in row:
                        timestamp.append(float(row["timestamp"]))
                    if "position" in row:
                        position.append(int(row["position"]))
                except ValueError as exc:
                    raise BadInputError(f"{at}: {exc}") from exc
                label = row.get("action_name")
                if label is not None and names.setdefault(label, a) != a:
                    raise BadInputError(f"{at}: action_name {label!r} was action {names[label]} in an earlier row")
                if "prompt" in row:
                    prompt.append(row["prompt"])
        except csv.Error as exc:
            raise BadInputError(f"{where}: line {reader.line_num}: not valid CSV: {exc}") from exc
    k = max(action, default=-1) + 1
    by_index = {a: n for n, a in names.items()}
    log = BanditLog(
        action=np.asarray(action, np.int64),
        reward=np.asarray(reward, np.float64),
        pscore=np.asarray(pscore, np.float64),
        context=np.asarray(context, np.float64).reshape(len(action), len(ccols)),
        action_names=[by_index.get(j, f"action-{j}") for j in range(k)],
        context_names=ccols,
        position=np.asarray(position, np.int64) if position else None,
        timestamp=np.asarray(timestamp, np.float64) if timestamp else None,
        prompt=prompt or None,
    )
    _check(log, where)
    return log


def read_bandit_log(path: Path) -> BanditLog:
    if path.suffix == ".npz":
        return read_npz(path)
    if path.suffix == ".csv":
        return read_csv(path)
    raise BadInputError(f"{path}: an OBP log must be .npz (numpy.savez of OBP's arrays) or .csv")


def to_trajectories(log: BanditLog, name: str) -> list[Trajectory]:
    """One trajectory per round; ids `<log>:<round>`, times from `timestamp` or the round number."""
    out: list[Trajectory] = []
    k = len(log.action_names)
    for i in range(log.n_rounds):
        a = int(log.action[i])
        model = log.action_names[a]
        meta: dict[str, Any] = {"obp": {"action": a, "n_actions": k, "round": i}}
        if log.position is not None:
            meta["obp"]["position"] = int(log.position[i])
        pscore = float(log.pscore[i])
        out.append(
            Trajectory(
                trajectory_id=f"{name}:{i:07d}",
                created_at=float(log.timestamp[i]) if log.timestamp is not None else float(i),
                pipeline_id="obp-logging-policy",
                config_hash="",
                request=ChatRequest.from_prompt(log.prompt[i] if log.prompt is not None else "", **meta),
                profile=TaskProfile(
                    task_type="",
                    factors={c: float(x) for c, x in zip(log.context_names, log.context[i], strict=True)},
                ),
                decision=RoutingDecision(
                    model=model,
                    strategy="logged",
                    candidates=(Candidate(model, probability=pscore),),
                    propensity=pscore,
                    reason="imported from an Open Bandit Pipeline log",
                ),
                context=AssembledContext(messages=(), tokens=0, budget=0),
                response=LlmResponse(text="", served_model=model, status="ok"),
                quality=QualityScore(),
                reward=float(log.reward[i]),
                reward_source="obp",
                source="imported",
                log=name,
            )
        )
    return out


def _context_order(names: set[str]) -> list[str]:
    def key(n: str) -> tuple[int, int, str]:
        m = _CONTEXT.match(n)
        return (0, int(m.group(1)), "") if m else (1, 0, n)

    return sorted(names, key=key)


def from_trajectories(ts: Sequence[Trajectory], where: str) -> BanditLog:
    """A log's trajectories in OBP form. Rounds imported from OBP keep their action indices; others are numbered
    by sorted model name. The context is the profile factors (missing ones 0.0)."""
    if not ts:
        raise BadInputError(f"{where}: the log has no trajectories to export")
    obp = [t.request.metadata.get("obp") for t in ts]
    if all(isinstance(o, dict) and isinstance(o.get("action"), int) for o in obp):
        k = max(int(o["n_actions"]) if isinstance(o, dict) and "n_actions" in o else 0 for o in obp)
        index = {t.decision.model: int(o["action"]) for t, o in zip(ts, obp, strict=True) if isinstance(o, dict)}
        k = max(k, max(index.values()) + 1)
    else:
        index = {m: j for j, m in enumerate(sorted({t.decision.model for t in ts}))}
        k = len(index)
    names = [f"action-{j}" for j in range(k)]
    for model, j in index.items():
        names[j] = model
    cnames = _context_order({name for t in ts for name in t.profile.factors})
    rewards: list[float] = []
    pscores: list[float] = []
    for i, t in enumerate(ts):
        reward = t.reward if t.reward is not None else t.quality.overall
        if reward is None or not math.isfinite(reward):
            raise BadInputError(f"{where}: row {i + 1} ({t.trajectory_id}): no reward or quality score to export")
        if t.decision.propensity is None or not 0 < t.decision.propensity <= 1:
            raise BadInputError(f"{where}: row {i + 1} ({t.trajectory_id}): propensity {t.decision.propensity!r}")
        rewards.append(float(reward))
        pscores.append(float(t.decision.propensity))
    positions = [o.get("position") if isinstance(o, dict) else None for o in obp]
    log = BanditLog(
        action=np.asarray([index[t.decision.model] for t in ts], np.int64),
        reward=np.asarray(rewards, np.float64),
        pscore=np.asarray(pscores, np.float64),
        context=np.asarray([[float(t.profile.factors.get(c, 0.0)) for c in cnames] for t in ts], np.float64).reshape(
            len(ts), len(cnames)
        ),
        action_names=names,
        context_names=cnames,
        position=np.asarray(positions, np.int64) if all(isinstance(p, int) for p in positions) else None,
        timestamp=np.asarray([t.created_at for t in ts], np.float64),
        prompt=[t.request.prompt for t in ts],
    )
    _check(log, where)
    return log


def write_bandit_log(log: BanditLog, path: Path) -> None:
    if path.suffix == ".npz":
        arrays: dict[str, Any] = {
            "n_rounds": np.int64(log.n_rounds),
            "n_actions": np.int64(len(log.action_names)),
            "action": log.action,
            "reward": log.reward,
            "pscore": log.pscore,
            "context": log.context,
            "action_names": np.asarray(log.action_names, dtype=np.str_),
            "context_names": np.asarray(log.context_names, dtype=np.str_),
        }
        if log.position is not None:
            arrays["position"] = log.position
        if log.timestamp is not None:
            arrays["timestamp"] = log.timestamp
        if log.prompt is not None:
            arrays["prompt"] = np.asarray(log.prompt, dtype=np.str_)
        with path.open("wb") as handle:
            np.savez(handle, **arrays)
        return
    if path.suffix != ".csv":
        raise BadInputError(f"{path}: an OBP export is written as .npz or .csv")
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        ccols = [f"context_{j}" for j in range(len(log.context_names))]
        extra = (["position"] if log.position is not None else []) + ["timestamp", "prompt"]
        writer.writerow(["action", "action_name", "reward", "pscore", *ccols, *extra])
        for i in range(log.n_rounds):
            a = int(log.action[i])
            row: list[Any] = [a, log.action_names[a], repr(float(log.reward[i])), repr(float(log.pscore[i]))]
            row += [repr(float(x)) for x in log.context[i]]
            if log.position is not None:
                row.append(int(log.position[i]))
            row.append(repr(float(log.timestamp[i])) if log.timestamp is not None else "")
            row.append(log.prompt[i] if log.prompt is not None else "")
            writer.writerow(row)
