"""Learned state in the store's `policies` table: each save is a new version; a restart resumes from the newest.

A policy is named `learner/<pipeline>/<learner>/<signature>`: the signature (candidates, feature size, ranks)
keeps a state from ever loading into a learner of another shape; a changed config simply starts a new line.
The learner's own `version` (what trajectories record before and after) travels inside the state, so it
keeps counting across restarts. Learners are checkpointed every `checkpoint_every` updates and on close.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from workbench.pipeline.build import PipelineRegistry
    from workbench.store import TrajectoryStore


@runtime_checkable
class PersistentLearner(Protocol):
    name: str

    @property
    def version(self) -> int: ...

    @property
    def signature(self) -> str: ...

    def state(self) -> bytes: ...

    def load_state(self, blob: bytes, what: str = ...) -> None: ...


def policy_name(pipeline_id: str, learner: PersistentLearner) -> str:
    return f"learner/{pipeline_id}/{learner.name}/{learner.signature}"


class PolicyStore:
    """Saves and loads learners' state through `TrajectoryStore.save_policy` / `load_policy`."""

    def __init__(self, store: TrajectoryStore) -> None:
        self.store = store
        self.saved: dict[str, tuple[int, int]] = {}  # policy -> (store version, learner version) last saved/loaded

    def save(self, name: str, learner: PersistentLearner) -> int | None:
        """Store a new version when the learner changed since the last save; returns it (None: nothing new)."""
        last = self.saved.get(name)
        if last is not None and last[1] == learner.version:
            return None
        version = self.store.save_policy(
            name, learner.state(), parent=last[0] if last else None, notes=f"learner version {learner.version}"
        )
        self.saved[name] = (version, learner.version)
        return version

    def load(self, name: str, learner: PersistentLearner) -> int | None:
        """Load the newest stored version into the learner; returns its store version (None: none stored)."""
        found = self.store.load_policy(name)
        if found is None:
            return None
        version, state = found
        if not isinstance(state, bytes):
            from workbench.errors import BadInputError

            raise BadInputError(f"policy {name!r} version {version} is not a learner's saved state")
        learner.load_state(state, f"policy {name!r} version {version}")
        self.saved[name] = (version, learner.version)
        return version


class Checkpointer:
    """Attached to a learner's `on_update` hooks (or called by the session owner): saves every N updates."""

    def __init__(self, policies: PolicyStore, name: str, every: int) -> None:
        self.policies = policies
        self.name = name
        self.every = every
        self.pending = 0

    def __call__(self, learner: PersistentLearner) -> None:
        self.pending += 1
        if self.pending >= self.every:
            self.pending = 0
            self.policies.save(self.name, learner)


def learners(registry: PipelineRegistry) -> list[tuple[str, PersistentLearner]]:
    """(pipeline id, learner) for every pipeline whose learner keeps state."""
    out: list[tuple[str, PersistentLearner]] = []
    for p in registry.all():
        if isinstance(p.learner, PersistentLearner):
            out.append((p.pipeline_id, p.learner))
    return out


def resume(registry: PipelineRegistry, store: TrajectoryStore) -> PolicyStore | None:
    """Load every learner's newest saved state and checkpoint it from now on. None when nothing learns or
    the store is read-only (the learners then start fresh and are not saved)."""
    found = learners(registry)
    if not found or store.read_only:
        return None
    policies = PolicyStore(store)
    for pipeline_id, learner in found:
        name = policy_name(pipeline_id, learner)
        policies.load(name, learner)
        hooks = getattr(learner, "on_update", None)
        if isinstance(hooks, list):
            every = registry.for_task(pipeline_id).config.learning.checkpoint_every
            hooks.append(Checkpointer(policies, name, every))
    return policies


def checkpoint(registry: PipelineRegistry, policies: PolicyStore | None) -> None:
    """Save every learner that changed since its last save (on close)."""
    if policies is None:
        return
    for pipeline_id, learner in learners(registry):
        policies.save(policy_name(pipeline_id, learner), learner)
