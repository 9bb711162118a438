"""Level-0 learning: none. The version never moves because nothing is learned."""

from __future__ import annotations

from workbench.domain import Trajectory


class NoopLearner:
    name = "noop"

    @property
    def version(self) -> int:
        return 0

    def record(self, trajectory: Trajectory) -> None:
        return None
