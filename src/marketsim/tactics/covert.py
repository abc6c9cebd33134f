"""Covert police time: officer-days spent without street presence.

`PoliceForce.deploy` assigns units to an order with no cells (so other orders
cannot use them) but books officer-days only for units that walk a beat. A
covert order (investigation, surveillance, case building, targeted arrests of
named people) therefore has its officer-days charged here: the units that
deploy actually gave the order are counted the next day, from
`police.unit_order`, and booked to the tactic's account and to the harm
ledger's `officer_day` (the cost of policing) at the cells where the work is
aimed.
"""

from __future__ import annotations

import numpy as np

from marketsim.state import World
from marketsim.tactics.base import Order

NO_CELLS = np.empty(0, dtype=np.int64)


class CovertTime:
    """Issues covert orders and charges the officer-days deploy actually granted them."""

    def __init__(self, tactic: str):
        self.tactic = tactic
        self._pending: list[tuple[Order, np.ndarray]] = []
        self.officer_days = 0.0  # recorded days only

    def request(
        self,
        world: World,
        units: int,
        where: np.ndarray,
        targets: np.ndarray | None = None,
        target_prob: float = 0.0,
    ) -> Order:
        """Commit `units` with no street presence; `where` are the cells the work is about."""
        order = Order(
            tactic=self.tactic,
            units=int(units),
            cells=NO_CELLS,
            visible=False,
            targets=NO_CELLS if targets is None else np.asarray(targets, dtype=np.int64),
            target_prob=float(target_prob),
        )
        world.police.request(order)
        self._pending.append((order, np.asarray(where, dtype=np.int64)))
        return order

    def settle(self, world: World) -> None:
        """Charge yesterday's covert orders (call at the start of step and in finalize)."""
        if not self._pending:
            return
        granted = {id(o): 0 for o, _ in self._pending}
        for o in world.police.unit_order:
            if o is not None and id(o) in granted:
                granted[id(o)] += 1
        for order, where in self._pending:
            n = granted[id(order)]
            if n == 0:
                continue
            world.accounts.add(self.tactic, "officer_days", float(n))
            if world.accounts.recording:
                self.officer_days += n
            if where.size:
                world.ledger.add("officer_day", where, n / where.size)
        self._pending = []
