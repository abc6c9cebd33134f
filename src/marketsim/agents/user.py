"""Users and user-dealers: dependence, need, income, contacts, treatment state.

A user lives in a home cell and travels to buy; new users are booked in events.py. Users are
conserved: every row is in exactly one state (active, prison, dead, recovered)
for as long as the run lasts; treatment state is tracked beside it.
"""

from __future__ import annotations

import numpy as np

from marketsim.agents.population import NEVER, Population

# states
ACTIVE, PRISON, DEAD, RECOVERED = range(4)
STATE_NAMES = ("active", "prison", "dead", "recovered")
# treatment states
NO_TREATMENT, WAITING, IN_TREATMENT, COMPLETED = range(4)
TREATMENT_NAMES = ("none", "waiting", "in_treatment", "completed")


class UserPopulation(Population):
    FIELDS = {
        "home": (np.int64, 0),
        "state": (np.int8, ACTIVE),
        "treatment": (np.int8, NO_TREATMENT),
        "dependent": (bool, False),
        "income": (float, 0.0),  # legitimate GBP per day
        "cash": (float, 0.0),
        "search": (float, 0.0),  # recent share of failed searches (Moore 1973 search time)
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

    def grow(self, extra: int) -> np.ndarray:
        old_cap = self._capacity
        rows = super().grow(extra)
        if self._capacity != old_cap:
            new = np.full((self._capacity, self.max_contacts), -1, dtype=np.int64)
            new[:old_cap] = self.contacts
            self.contacts = new
        return rows

    def in_state(self, state: int) -> np.ndarray:
        return (self.state[: self.n] == state).nonzero()[0]
