"""Police units: limited officer-days, deployed each day by the active tactics.

Each unit works `shift_hours` a day less any custody processing carried over
from yesterday's arrests, so a wave of arrests takes officers off the street
(enforcement swamping, Kleiman 1993). Tactics ask for time with `request()`;
`deploy()` shares the units out and returns today's officer-hours per cell.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from marketsim import kernels
from marketsim.accounts import Accounts
from marketsim.rng import integers
from marketsim.scenario import PoliceConfig


@dataclass
class Order:
    """A day's request for police time from one tactic.

    `cells` are flat cell indices to cover (area targeting); `weights` how to
    share visits between them. `targets` are dealer rows for individual or crew
    targeting. `effect` says what officers do on detection.
    """

    tactic: str
    units: int | None  # None: all units not claimed by other orders
    cells: np.ndarray
    weights: np.ndarray | None = None
    visible: bool = True
    effect: str = "arrest"
    arrest_priority: str = "any"
    cells_per_unit: int | None = None  # None: the police beat length
    targets: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    target_prob: float = 0.0  # daily arrest chance of each target (covert investigation)
    raid: bool = False  # visible raid: raises residents' fear (enforcement harm)
    # The share of the units' hours spent looking for dealers (detection); the rest of a
    # uniformed unit's time is still seen. Below 1 when a long campaign flags (7.11).
    attention: float = 1.0
    # on_detect(world, rows) lets a tactic handle detected dealers itself (e.g. divert
    # user-dealers); it returns the rows still to be arrested.
    on_detect: Callable[..., np.ndarray] | None = None


class PoliceForce:
    def __init__(self, cfg: PoliceConfig, n_cells: int, rng: np.random.Generator):
        self.cfg = cfg
        self.n_units = cfg.n_units
        self.carry = np.zeros(self.n_units)  # processing hours owed from earlier arrests
        self.hours_today = np.zeros(self.n_units)
        self.arrests_today = np.zeros(self.n_units, dtype=np.int64)
        self.assigned: list[str] = [""] * self.n_units
        self.unit_order: list[Order | None] = [None] * self.n_units
        self.orders: list[Order] = []
        self.today_orders: list[Order] = []
        self.cell_unit = np.full(n_cells, -1, dtype=np.int64)
        self.cell_order: list[Order | None] = []
        self.raid_cells = np.empty(0, dtype=np.int64)
        # The first cell of each unit's beat today (where the Mesa view stands).
        self.unit_cell = rng.integers(0, n_cells, self.n_units)

    def request(self, order: Order) -> None:
        """A tactic asks for police time today."""
        self.orders.append(order)

    def deploy(
        self, n_cells: int, accounts: Accounts, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Share units between today's orders.

        Returns per cell: officer-hours (all), officer-hours in visible uniform
        (what dealers and buyers can see), and officer-days.
        """
        # Zeroed per-cell books, no unit anywhere and no arrest yet; each unit's hours today
        # (its shift less the processing hours it carries) and the carry left after it
        # (kernels.start_shift).
        hours, visible, officer_days, self.hours_today, self.carry = kernels.start_shift(
            n_cells, self.cell_unit, self.arrests_today, self.carry, float(self.cfg.shift_hours)
        )
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
        # Split evenly, the first shares one unit larger when they do not divide.
        share, larger = divmod(len(free), max(len(flexible), 1))
        for i, order in enumerate(flexible):
            take = share + (i < larger)
            plan.append((order, free[:take]))
            free = free[take:]
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
                picks = integers(rng, order.cells.size, (len(units), per_unit))
                beats = order.cells[picks].astype(np.int64, copy=False)
            else:  # each draw x the total weight, found in the cumulative weights
                draws = rng.random((len(units), per_unit))
                beats = kernels.beat_cells(order.weights, order.cells, draws)
            kernels.walk_beats(
                beats,
                np.asarray(units, dtype=np.int64),
                self.hours_today,
                order.visible,
                order.attention,
                hours,
                visible,
                officer_days,
                self.cell_unit,
                self.unit_cell,
            )
            accounts.add(order.tactic, "officer_days", float(len(units)))
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
