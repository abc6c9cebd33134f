"""Dealers' state: one row per dealer ever created (struct of arrays).

Traits (design §4): tier (user-dealer, street seller, crew member), crew, a
heavy-tailed violence trait (Braga 2001: a few actors do most violence), open
or closed mode, runner exploitation and product risk. Entry is booked in
events.py, and the daily decisions are in phases/dealers.py.
"""

from __future__ import annotations

import numpy as np

from marketsim.agents.population import NEVER, Population

# states
ACTIVE, REMANDED, PRISON, DIVERTED, DESISTED = range(5)
STATE_NAMES = ("active", "remanded", "prison", "diverted", "desisted")
# tiers
USER_DEALER, STREET, CREW = range(3)
TIER_NAMES = ("user_dealer", "street", "crew")


class DealerPopulation(Population):
    FIELDS = {
        "cell": (np.int64, 0),
        "state": (np.int8, ACTIVE),
        "tier": (np.int8, STREET),
        "crew": (np.int64, -1),
        "left_cell": (np.int64, -1),  # the established pitch it was pushed from (-1: none)
        "violence": (float, 0.0),
        "open": (bool, True),
        "exploits": (bool, False),
        "product_risk": (float, 0.0),
        "risk": (float, 0.0),  # perceived risk, 0-1
        "close_threshold": (float, 0.35),
        "price": (float, 0.0),
        "profit": (float, 0.0),  # smoothed daily profit, GBP
        "debt": (float, 0.0),  # owed after seizures, GBP
        "sales": (np.int64, 0),  # today's sales
        "sales_total": (np.int64, 0),
        "violence_total": (np.int64, 0),  # incidents caused (recorded period)
        "days_active": (np.int64, 0),  # days active in the recorded period
        "arrests": (np.int64, 0),
        "user": (np.int64, -1),  # the user row of a user-dealer
        "children": (np.int64, 0),
        "event_day": (np.int64, NEVER),  # next custody event (sentence or release)
        "convicted": (bool, False),
        "entered_day": (np.int64, 0),
        "deterrent": (float, 0.0),  # expected cost of violence set by tactics
        "arrested_by": (np.int64, -1),  # account index of the tactic behind the last arrest
        # violent incidents known to police, fading (half-life ~70 days)
        "incidents_recent": (float, 0.0),
    }

    def active(self) -> np.ndarray:
        return (self.state[: self.n] == ACTIVE).nonzero()[0]
