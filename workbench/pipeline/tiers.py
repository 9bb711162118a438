"""Tiers: complexity ranges -> named tiers of models across all providers, plus hard rules that force a tier."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass

from workbench.domain import TaskProfile
from workbench.routing_config import TiersConfig


@dataclass(frozen=True, slots=True)
class Tier:
    name: str
    upto: float  # complexity below this lands here (the top tier takes everything up to 1.0)
    models: tuple[str, ...]


class TierMap:
    def __init__(self, config: TiersConfig, resolve: Callable[[str], str] = lambda m: m) -> None:
        self.tiers = [
            Tier(name, spec.upto, tuple(dict.fromkeys(resolve(m) for m in spec.models)))
            for name, spec in config.tiers.items()
        ]
        self._position = {t.name: i for i, t in enumerate(self.tiers)}
        self.rules = [(r.signal, r.above, self._position[r.tier]) for r in config.rules]
        uptos = [t.upto for t in self.tiers]
        # Ascending bounds (the usual layout) let a bisection find the first tier whose bound exceeds c.
        self._uptos = uptos if uptos == sorted(uptos) else None

    @property
    def boundaries(self) -> tuple[float, ...]:
        return tuple(t.upto for t in self.tiers[:-1])

    def position(self, name: str) -> int:
        return self._position[name]

    def tier_for(self, profile: TaskProfile) -> tuple[int, str, bool]:
        """(tier position, why, forced by a hard rule)."""
        c = profile.complexity
        last = len(self.tiers) - 1
        if self._uptos is not None:
            pos = min(bisect_right(self._uptos, c), last)
        else:
            pos = next((i for i, t in enumerate(self.tiers) if c < t.upto), last)
        why = f"complexity {c:.2f} -> {self.tiers[pos].name}"
        forced = -1
        rule_note = ""
        for signal, above, target in self.rules:
            value = c if signal == "complexity" else profile.factors.get(signal, 0.0)
            if value > above and target > forced:
                forced = target
                rule_note = f"rule {signal} {value:.2f} > {above:g} forces {self.tiers[target].name}"
        if forced >= 0:
            return forced, f"{why}; {rule_note}", True
        return pos, why, False
