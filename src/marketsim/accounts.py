"""Per-tactic accounts: the resources each tactic uses and the enforcement harms it causes.

Every tactic is charged for its own officer-days, the arrests its officers
make (and the children affected, prosecutions and custody days that follow),
treatment place-days of the people it refers, and any money it spends
(CCTV, civil orders). Arrests for acquisitive crime made in routine response
are charged to the account "reactive"; treatment entered by self-referral to
"self_referral".
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

REACTIVE = "reactive"
SELF_REFERRAL = "self_referral"
ITEMS = (
    "officer_days",
    "arrests",
    "prosecutions",
    "children_affected",
    "prison_days",
    "treatment_place_days",
)


@dataclass
class Account:
    counts: dict[str, float] = field(default_factory=lambda: dict.fromkeys(ITEMS, 0.0))
    spend_gbp: dict[str, float] = field(default_factory=dict)


class Accounts:
    """Accounts by name, with a stable integer index per name for array columns."""

    def __init__(self, names: list[str]):
        self.names: list[str] = []
        self._index: dict[str, int] = {}
        self.accounts: dict[str, Account] = {}
        for name in [REACTIVE, SELF_REFERRAL, *names]:
            self.index(name)
        self.recording = False

    def index(self, name: str) -> int:
        if name not in self._index:
            self._index[name] = len(self.names)
            self.names.append(name)
            self.accounts[name] = Account()
        return self._index[name]

    def add(self, name: str, item: str, amount: float = 1.0) -> None:
        if self.recording:
            self.accounts[name].counts[item] += amount

    def add_by_index(self, item: str, index: np.ndarray) -> None:
        """Add one per row to the account each row's index names (-1: nobody's)."""
        if not self.recording or index.size == 0:
            return
        self.add_counts(item, np.bincount(index[index >= 0], minlength=len(self.names)))

    def add_counts(self, item: str, counts: np.ndarray) -> None:
        """Add `counts[i]` to the account with index i."""
        if not self.recording:
            return
        # Python numbers (a few accounts): no numpy call or scalar per account
        for i, count in enumerate(counts.tolist()):
            if count:
                self.accounts[self.names[i]].counts[item] += float(count)

    def spend(self, name: str, what: str, gbp: float) -> None:
        """Money a tactic spends directly (not officer time), e.g. CCTV or civil orders."""
        if self.recording:
            self.index(name)
            acct = self.accounts[name]
            acct.spend_gbp[what] = acct.spend_gbp.get(what, 0.0) + gbp

    def summary(self, unit_costs: dict[str, float]) -> dict[str, dict]:
        """Plain data for summary.json, with a GBP total at the given unit costs."""
        out = {}
        for name, acct in self.accounts.items():
            cost = sum(acct.counts[k] * unit_costs.get(k, 0.0) for k in ITEMS) + sum(
                acct.spend_gbp.values()
            )
            if cost == 0 and not any(acct.counts.values()):
                continue
            out[name] = {**acct.counts, "spend_gbp": dict(acct.spend_gbp), "cost_gbp": cost}
        return out
