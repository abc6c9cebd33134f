"""Police units: limited officer-days, deployed each day by the active tactics.

Each unit works `shift_hours` a day less any custody processing carried over
from yesterday's arrests, so a wave of arrests takes officers off the street
(enforcement swamping, Kleiman 1993). Tactics ask for time with `request()`;
`deploy()` shares the units out and returns today's officer-hours per cell.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from mesa.discrete_space import CellAgent

from marketsim.tactics.base import Order

if TYPE_CHECKING:
    from marketsim.model import MarketModel


class PoliceUnit(CellAgent):
    """A unit (one officer-day a day). Its cell is the first cell of today's beat."""

    def __init__(self, model: MarketModel, idx: int):
        super().__init__(model)
        self.idx = idx

    @property
    def tactic(self) -> str:
        return self.model.police.assigned[self.idx]

    @property
    def hours_on_street(self) -> float:
        return float(self.model.police.hours_today[self.idx])


class PoliceForce:
    def __init__(self, model: MarketModel, rng: np.random.Generator):
        cfg = model.config.police
        self.cfg = cfg
        self.n_units = cfg.n_units
        self.carry = np.zeros(self.n_units)  # processing hours owed from earlier arrests
        self.hours_today = np.zeros(self.n_units)
        self.arrests_today = np.zeros(self.n_units, dtype=np.int64)
        self.assigned: list[str] = [""] * self.n_units
        self.unit_order: list[Order | None] = [None] * self.n_units
        self.orders: list[Order] = []
        self.today_orders: list[Order] = []
        self.cell_unit = np.full(model.town.n_cells, -1, dtype=np.int64)
        self.cell_order: list[Order | None] = []
        self.raid_cells = np.empty(0, dtype=np.int64)
        start = rng.integers(0, model.town.n_cells, self.n_units)
        self.agents = []
        for i in range(self.n_units):
            unit = PoliceUnit(model, i)
            unit.cell = model.town.cell(int(start[i]))
            self.agents.append(unit)

    def request(self, order: Order) -> None:
        """A tactic asks for police time today."""
        self.orders.append(order)

    def deploy(
        self, model: MarketModel, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Share units between today's orders.

        Returns per cell: officer-hours (all), officer-hours in visible uniform
        (what dealers and buyers can see), and officer-days.
        """
        town = model.town
        hours = np.zeros(town.n_cells)
        visible = np.zeros(town.n_cells)
        officer_days = np.zeros(town.n_cells)
        self.cell_unit.fill(-1)
        self.arrests_today.fill(0)
        self.hours_today = np.maximum(0.0, self.cfg.shift_hours - self.carry)
        self.carry = np.maximum(0.0, self.carry - self.cfg.shift_hours)
        self.assigned = [""] * self.n_units
        self.unit_order = [None] * self.n_units
        raid_cells = []
        # Orders with a fixed unit count first, in request order; the rest share what is left.
        fixed = [o for o in self.orders if o.units is not None]
        flexible = [o for o in self.orders if o.units is None]
        free = list(range(self.n_units))
        plan: list[tuple[Order, list[int]]] = []
        for order in fixed:
            take, free = free[: order.units], free[order.units :]
            plan.append((order, take))
        if flexible:
            shares = np.array_split(np.array(free, dtype=np.int64), len(flexible))
            plan.extend((o, list(s)) for o, s in zip(flexible, shares, strict=True))
        for order, units in plan:
            for u in units:
                self.assigned[u] = order.tactic
                self.unit_order[u] = order
            if not units or order.cells.size == 0:
                continue
            per_unit = min(order.cells_per_unit or self.cfg.beat_cells, order.cells.size)
            # Each unit visits `per_unit` cells drawn by the order's weights
            # (inverse-CDF draws for all units at once; a repeat visit is allowed).
            if order.weights is None:
                picks = rng.integers(0, order.cells.size, (len(units), per_unit))
            else:
                cdf = np.cumsum(order.weights)
                draws = rng.random((len(units), per_unit)) * cdf[-1]
                picks = np.minimum(np.searchsorted(cdf, draws, side="right"), order.cells.size - 1)
            beats = order.cells[picks]
            unit_ids = np.asarray(units)
            h = (self.hours_today[unit_ids] / per_unit)[:, None]
            np.add.at(hours, beats, h)  # h broadcasts over each unit's beat
            if order.visible:
                np.add.at(visible, beats, h)
            np.add.at(officer_days, beats, 1.0 / per_unit)
            model.accounts.add(order.tactic, "officer_days", float(len(units)))
            self.cell_unit[beats] = unit_ids[:, None]
            for u, first in zip(unit_ids, beats[:, 0], strict=True):
                self.agents[u].cell = town.cell(int(first))
            if order.raid:
                raid_cells.append(beats.ravel())
        self.raid_cells = np.concatenate(raid_cells) if raid_cells else np.empty(0, dtype=np.int64)
        self.today_orders = self.orders
        self.orders = []
        return hours, visible, officer_days

    def can_arrest(self, unit: int) -> bool:
        max_per_day = max(
            1, int(np.ceil(self.cfg.shift_hours / max(self.cfg.processing_hours, 0.5)))
        )
        return self.arrests_today[unit] < max_per_day

    def book_arrest(self, unit: int) -> None:
        """Processing an arrest takes the unit off the street (charged to tomorrow)."""
        self.arrests_today[unit] += 1
        self.carry[unit] += self.cfg.processing_hours
