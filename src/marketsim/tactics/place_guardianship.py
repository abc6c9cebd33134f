"""`place_guardianship`: civil and place-based action on chosen cells.

Effect: a durable rise in the cells' guardianship (CCTV, lighting, place
managers, landlords screening tenants: `town.raise_guardianship`), which
dealers' pitch appraisal counts as risk (odd.md §7.4) and which helps detection
(§7.11); optionally civil orders (premises closure) that move closed dealers
operating from premises on those cells to a nearby pitch outside them, without
arrest. Delivery: set up once on the `start` day and kept for good; running
costs and civil orders continue for `duration` days (to the end by default).
Targeting: an area (the target region by default), or the top-k cells by
reputation or harm on the start day, optionally only on some land uses.

It uses no police units. It counts its money with `world.accounts.spend`:
set-up per cell, running cost per cell-day, and a cost per closure order.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from marketsim.agents import dealer as D
from marketsim.phases.dealers import pitch_value
from marketsim.state import World
from marketsim.tactics.base import Tactic
from marketsim.tactics.configs.place_guardianship import PlaceGuardianshipConfig
from marketsim.tactics.open_market_watch import (
    LAND_USES,
    OpenMarketWatch,
    candidate_cells,
)
from marketsim.tactics.targeting import area_cells, top_cells

if TYPE_CHECKING:
    from marketsim.scenario import Scenario

S001 = "seed 001_85a9966099c1cff4.txt"
BBW = (
    "Big Brother Watch 2012, The Price of Privacy: GBP 515m on ~51,600 council CCTV cameras "
    "in 2007-11, ~GBP 2,500 per camera-year installed and run"
)


class PlaceGuardianship(Tactic):
    Config = PlaceGuardianshipConfig

    def init(self, world: World) -> None:
        cfg = self.config
        if cfg.area is None and cfg.k is not None:
            area = None  # top-k over the whole town
        else:
            area = area_cells(world, cfg.area, f"{self.where}.area")
        self.candidates = candidate_cells(world, area, cfg.land_uses)
        self.cells: np.ndarray | None = None
        self.treated = np.zeros(world.town.n_cells, dtype=bool)
        self.guard_before: np.ndarray | None = None
        self.guard_after: np.ndarray | None = None
        self.spent = {"setup": 0.0, "running": 0.0, "closure_orders": 0.0}
        self.orders_served = 0
        self.displaced: list[tuple[int, int, int, int]] = []  # (day, row, from, to)
        self.watch = OpenMarketWatch(world, cfg.start, world.config.evaluation.before_days)

    # delivery ---------------------------------------------------------------
    @classmethod
    def first_day(cls, config: PlaceGuardianshipConfig, scenario: Scenario) -> int:
        return OpenMarketWatch.first_watched(config.start, scenario.evaluation.before_days)

    def is_active(self, day: int) -> bool:
        # Watches the open market from a window before the start to the end of
        # the run (for report()); acts only in its own window.
        return day >= self.watch.first_day()

    def acting(self, day: int) -> bool:
        return super().is_active(day)

    def step(self, world: World) -> None:
        self.watch.observe(world)
        if not self.acting(world.day):
            return
        if self.cells is None:
            self._set_up(world)
        self._spend(world, "running", self.cells.size * self.config.running_cost_gbp_per_cell_day)
        if self.config.civil_orders is not None:
            self._closure_orders(world)

    def finalize(self, world: World) -> None:
        self.watch.observe(world)

    # targeting --------------------------------------------------------------
    def _choose_cells(self, world: World) -> np.ndarray:
        cfg = self.config
        if cfg.k is None:
            cells = self.candidates if self.candidates is not None else np.arange(0)
        else:
            cells = top_cells(world, cfg.k, cfg.rank_by, within=self.candidates)
        return np.unique(np.asarray(cells, dtype=np.int64))

    # effect -----------------------------------------------------------------
    def _set_up(self, world: World) -> None:
        """Once, on the first active day: raise guardianship for good and pay set-up."""
        self.cells = self._choose_cells(world)
        self.treated[self.cells] = True
        g = world.town.guardianship.reshape(-1)
        self.guard_before = g[self.cells].copy()
        world.town.raise_guardianship(self.cells, self.config.guardianship_gain)
        self.guard_after = g[self.cells].copy()
        self._spend(world, "setup", self.cells.size * self.config.setup_cost_gbp_per_cell)

    def _closure_orders(self, world: World) -> None:
        """Closed dealers on treated cells may be served an order and move away, unarrested."""
        opts = self.config.civil_orders
        d = world.dealers
        act = d.active()
        on = act[~d.open[act] & self.treated[d.cell[act]]]
        served = on[self.rng.random(on.size) < opts.daily_prob]
        for r in served:
            dest = self._new_pitch(world, int(r))
            self.orders_served += 1
            self._spend(world, "closure_orders", opts.cost_gbp_per_order)
            if dest < 0:
                continue  # nowhere outside the treated cells: the order is served, the dealer stays
            self.displaced.append((world.day, int(r), int(d.cell[r]), dest))
            d.cell[r] = dest

    def _new_pitch(self, world: World, r: int) -> int:
        """The best of a few nearby pitches outside the treated cells, as the dealer sees them."""
        opts = self.config.civil_orders
        town = world.town
        here = int(world.dealers.cell[r])
        dx = np.abs(town.cell_x - town.cell_x[here])
        dy = np.abs(town.cell_y - town.cell_y[here])
        dist = np.maximum(dx, dy)
        outside = ~self.treated
        near = np.flatnonzero(outside & (dist <= opts.relocation_radius))
        if near.size == 0:
            pool = np.flatnonzero(outside)
            if pool.size == 0:
                return -1
            near = pool[np.argsort(dist[pool], kind="stable")[: 4 * opts.relocation_candidates]]
        pick = self.rng.choice(near, size=min(near.size, opts.relocation_candidates), replace=False)
        # Column 0 is the dealer's current pitch (pitch_value discounts the dealer
        # itself from rivals around it); the choice is among the others.
        cand = np.concatenate([[here], pick])[None, :]
        value = pitch_value(world, cand, np.array([bool(world.dealers.open[r])]))[0, 1:]
        return int(pick[int(np.argmax(value))])

    def _spend(self, world: World, what: str, gbp: float) -> None:
        accounts = world.accounts
        if gbp <= 0 or not accounts.recording:
            return  # burn-in spending is not counted (as for every account)
        accounts.spend(self.name, what, gbp)
        self.spent[what] += gbp

    # report -----------------------------------------------------------------
    def report(self, world: World) -> dict:
        town = world.town
        cells = self.cells if self.cells is not None else np.empty(0, dtype=np.int64)
        land_use = town.land_use.ravel()
        by_use = np.bincount(land_use[cells], minlength=len(LAND_USES))
        out: dict = {
            "cells_treated": int(cells.size),
            "cells_by_land_use": {
                name: int(by_use[i]) for i, name in enumerate(LAND_USES) if by_use[i]
            },
            "guardianship_before_mean": _mean(self.guard_before),
            "guardianship_after_mean": _mean(self.guard_after),
            "spend_gbp": dict(self.spent),
            "open_market_by_land_use": self.watch.by_land_use(),
            "treated_cells_open_sales": self.watch.displacement(
                world, cells, world.config.regions.buffer_width
            ),
        }
        if cells.size <= 100:
            out["cells"] = [[int(town.cell_x[c]), int(town.cell_y[c])] for c in cells]
        if self.config.civil_orders is not None:
            out["civil_orders"] = self._orders_report(world)
        return out

    def _orders_report(self, world: World) -> dict:
        d, town = world.dealers, world.town
        rows = np.array([r for _, r, _, _ in self.displaced], dtype=np.int64)
        frm = np.array([f for _, _, f, _ in self.displaced], dtype=np.int64)
        to = np.array([t for _, _, _, t in self.displaced], dtype=np.int64)
        uniq = np.unique(rows)
        dest_use = np.bincount(town.land_use.ravel()[to], minlength=len(LAND_USES))
        tiers = np.bincount(d.tier[uniq], minlength=len(D.TIER_NAMES)) if uniq.size else None
        back = (d.view("state")[uniq] == D.ACTIVE) & self.treated[d.cell[uniq]]
        moved = (
            np.maximum(
                np.abs(town.cell_x[to] - town.cell_x[frm]),
                np.abs(town.cell_y[to] - town.cell_y[frm]),
            )
            if to.size
            else np.empty(0)
        )
        return {
            "orders_served": self.orders_served,
            "displacements": int(rows.size),
            "dealers_displaced": int(uniq.size),
            "displaced_by_tier": (
                {name: int(tiers[i]) for i, name in enumerate(D.TIER_NAMES)}
                if tiers is not None
                else {}
            ),
            "destination_land_use": {
                name: int(dest_use[i]) for i, name in enumerate(LAND_USES) if dest_use[i]
            },
            "mean_cells_moved": float(moved.mean()) if moved.size else None,
            "displaced_back_on_treated_cells_at_end": int(back.sum()),
        }


def _mean(a: np.ndarray | None) -> float | None:
    return float(a.mean()) if a is not None and a.size else None
