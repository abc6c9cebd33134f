"""Users and user-dealers: dependence, need, income, contacts, treatment state.

A user lives in a home cell (their Mesa cell) and travels to buy. Users are
conserved: every row is in exactly one state (active, prison, dead, recovered)
for as long as the run lasts; treatment state is tracked beside it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from mesa.discrete_space import CellAgent

from marketsim.agents.population import NEVER, Population

if TYPE_CHECKING:
    from marketsim.model import MarketModel

# states
ACTIVE, PRISON, DEAD, RECOVERED = range(4)
STATE_NAMES = ("active", "prison", "dead", "recovered")
# treatment states
NO_TREATMENT, WAITING, IN_TREATMENT, COMPLETED = range(4)
TREATMENT_NAMES = ("none", "waiting", "in_treatment", "completed")


class User(CellAgent):
    """A user. State lives in `model.users` row `idx`; the cell is their home."""

    def __init__(self, model: MarketModel, idx: int):
        super().__init__(model)
        self.idx = idx

    @property
    def _pop(self) -> UserPopulation:
        return self.model.users

    @property
    def state(self) -> str:
        return STATE_NAMES[self._pop.state[self.idx]]

    @property
    def treatment(self) -> str:
        return TREATMENT_NAMES[self._pop.treatment[self.idx]]

    @property
    def dependent(self) -> bool:
        return bool(self._pop.dependent[self.idx])

    @property
    def is_user_dealer(self) -> bool:
        return bool(self._pop.dealer[self.idx] >= 0)

    @property
    def contacts(self) -> list[int]:
        return [int(c) for c in self._pop.contacts[self.idx] if c >= 0]


class UserPopulation(Population):
    FIELDS = {
        "home": (np.int64, 0),
        "state": (np.int8, ACTIVE),
        "treatment": (np.int8, NO_TREATMENT),
        "dependent": (bool, False),
        "income": (float, 0.0),  # legitimate GBP per day
        "cash": (float, 0.0),
        "dealer": (np.int64, -1),  # dealer row if a user-dealer
        "tolerance_until": (np.int64, NEVER),  # day tolerance returns after prison / drop-out
        "adverse_until": (np.int64, NEVER),  # recent overdose or arrest: more likely to seek help
        "treatment_day": (np.int64, NEVER),  # day treatment started (or joined the list)
        "missed": (np.int64, 0),  # appointments missed this episode
        "site": (np.int64, -1),  # treatment site (waiting or in treatment)
        "release_day": (np.int64, NEVER),
        "recovered_day": (np.int64, NEVER),
        "children": (np.int64, 0),
        "crimes": (np.int64, 0),
        "arrests": (np.int64, 0),
        "started_day": (np.int64, 0),
        "arrested_by": (np.int64, -1),  # account charged with the user's custody
        "referred_by": (np.int64, -1),  # account charged with the user's treatment place
    }

    def __init__(self, capacity: int, max_contacts: int):
        super().__init__(capacity)
        self.max_contacts = max_contacts
        self.contacts = np.full((self._capacity, max_contacts), -1, dtype=np.int64)

    def _grow(self, extra: int) -> np.ndarray:
        old_cap = self._capacity
        rows = super()._grow(extra)
        if self._capacity != old_cap:
            new = np.full((self._capacity, self.max_contacts), -1, dtype=np.int64)
            new[:old_cap] = self.contacts
            self.contacts = new
        return rows

    def create(
        self,
        model: MarketModel,
        homes: np.ndarray,
        dependent: np.ndarray,
        rng: np.random.Generator,
    ) -> np.ndarray:
        cfg = model.config.users
        n = len(homes)
        rows = self._grow(n)
        self.home[rows] = homes
        self.dependent[rows] = dependent
        median = np.where(dependent, cfg.income_dependent, cfg.income_recreational)
        self.income[rows] = median * rng.lognormal(0.0, 0.5, n)
        self.cash[rows] = self.income[rows] * 2
        self.children[rows] = rng.poisson(cfg.children_mean, n)
        self.started_day[rows] = model.day
        for r in rows:
            agent = User(model, int(r))
            agent.cell = model.town.cell(int(self.home[r]))
            self.agents.append(agent)
        return rows

    def in_state(self, state: int) -> np.ndarray:
        return (self.state[: self.n] == state).nonzero()[0]

    def add_contact(self, rows: np.ndarray, dealers: np.ndarray, rng: np.random.Generator) -> None:
        """Give each user a dealer's number, overwriting a random slot when full."""
        if rows.size == 0:
            return
        have = (self.contacts[rows] == dealers[:, None]).any(axis=1)
        rows, dealers = rows[~have], dealers[~have]
        empty = self.contacts[rows] < 0
        slot = np.where(
            empty.any(axis=1), empty.argmax(axis=1), rng.integers(0, self.max_contacts, rows.size)
        )
        self.contacts[rows, slot] = dealers
