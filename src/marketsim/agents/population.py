"""Struct-of-arrays storage behind the Mesa agents.

Each kind of agent keeps its state in numpy arrays held by a population object,
one row per agent ever created, so the day's phases update whole populations at
once. The Mesa agents (views.py) are views onto these rows that the model keeps
in step, for Mesa's AgentSet, the grid and the visualisation.
"""

from __future__ import annotations

import numpy as np

NEVER = -(2**62)  # a day before any day, burn-in included (burn-in days are negative)


class Population:
    """Growable columns: FIELDS maps a column name to (dtype, fill value)."""

    FIELDS: dict[str, tuple[type, float]] = {}

    def __init__(self, capacity: int = 64):
        self.n = 0
        self._capacity = max(16, capacity)
        for name, (dtype, fill) in self.FIELDS.items():
            setattr(self, name, np.full(self._capacity, fill, dtype=dtype))
        self.agents: list = []

    def grow(self, extra: int) -> np.ndarray:
        """Append `extra` rows (filled with defaults) and return their indices."""
        need = self.n + extra
        if need > self._capacity:
            cap = max(need, 2 * self._capacity)
            for name, (dtype, fill) in self.FIELDS.items():
                old = getattr(self, name)
                new = np.full(cap, fill, dtype=dtype)
                new[: self.n] = old[: self.n]
                setattr(self, name, new)
            self._capacity = cap
        rows = np.arange(self.n, need)
        self.n = need
        return rows

    def view(self, name: str) -> np.ndarray:
        """The live rows of one column."""
        return getattr(self, name)[: self.n]
