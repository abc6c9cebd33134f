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

It uses no police units. It counts its money with `model.accounts.spend`:
set-up per cell, running cost per cell-day, and a cost per closure order.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import numpy as np

from marketsim.agents import dealer as D
from marketsim.areas import AreaSpec
from marketsim.params import Section, param
from marketsim.tactics.base import Tactic, TacticConfig
from marketsim.tactics.open_market_watch import (
    LAND_USES,
    LandUse,
    OpenMarketWatch,
    candidate_cells,
)
from marketsim.tactics.targeting import CellRanking, area_cells, top_cells

if TYPE_CHECKING:
    from marketsim.model import MarketModel
    from marketsim.scenario import Scenario

S001 = "seed 001_85a9966099c1cff4.txt"
BBW = (
    "Big Brother Watch 2012, The Price of Privacy: GBP 515m on ~51,600 council CCTV cameras "
    "in 2007-11, ~GBP 2,500 per camera-year installed and run"
)


class CivilOrders(Section):
    """Premises closure: closed dealers operating from the treated cells are moved away."""

    daily_prob: float = param(
        0.03,
        ge=0,
        le=1,
        unit="per dealer per day",
        doc="chance a closed dealer on a treated cell is served a closure order that day",
        source="calibration judgement: about a month from identifying premises to an order; "
        f"{S001} ch. 3 (civil powers, Knowsley eviction) and Sampson 2001",
    )
    cost_gbp_per_order: float = param(
        3000.0,
        ge=0,
        le=1_000_000,
        unit="GBP per order",
        doc="legal, council and police time to obtain one closure order",
        source="calibration judgement",
    )
    relocation_radius: int = param(
        6,
        ge=1,
        le=50,
        unit="cells",
        doc="how far a displaced dealer looks for a new pitch outside the treated cells",
        source="as dealers.relocation_radius (odd.md §7.4)",
    )
    relocation_candidates: int = param(
        8, ge=1, le=64, unit="cells", doc="pitches a displaced dealer compares"
    )


class PlaceGuardianshipConfig(TacticConfig):
    type: Literal["place_guardianship"] = "place_guardianship"
    area: AreaSpec | None = param(
        None, unit="-", doc="where (none: the scenario's target region, or the whole town with k)"
    )
    k: int | None = param(
        None,
        ge=1,
        le=10000,
        unit="cells",
        doc="treat only the k cells of the area ranking highest on the start day (none: all)",
    )
    rank_by: CellRanking = param("reputation", unit="-", doc="how cells are ranked when k is set")
    land_uses: list[LandUse] | None = param(
        None, unit="-", doc="treat only cells of these land uses (none: any land use)"
    )
    guardianship_gain: float = param(
        0.3,
        ge=0,
        le=1,
        unit="guardianship (0-1)",
        doc="durable rise in each treated cell's guardianship (capped at 1)",
        source="calibration judgement: takes a residential cell (0.3) to a school's level (0.6); "
        f"{S001} ch. 3 (Welsh 2007: nuisance abatement, CCTV, street lighting work)",
    )
    setup_cost_gbp_per_cell: float = param(
        10000.0,
        ge=0,
        le=10_000_000,
        unit="GBP per cell",
        doc="one-off cost of CCTV, lighting and place-management work on a ~100 m cell",
        source=f"calibration judgement; order of magnitude from {BBW}",
    )
    running_cost_gbp_per_cell_day: float = param(
        5.0,
        ge=0,
        le=100_000,
        unit="GBP per cell-day",
        doc="monitoring, maintenance and place-manager time while the tactic runs",
        source=f"calibration judgement; {BBW}",
    )
    civil_orders: CivilOrders | None = param(
        None, unit="-", doc="closure orders on premises used for dealing in the treated cells"
    )


class PlaceGuardianship(Tactic):
    Config = PlaceGuardianshipConfig

    def init(self, model: MarketModel) -> None:
        cfg = self.config
        if cfg.area is None and cfg.k is not None:
            area = None  # top-k over the whole town
        else:
            area = area_cells(model, cfg.area, f"tactics.{self.name}.area")
        self.candidates = candidate_cells(model, area, cfg.land_uses)
        self.cells: np.ndarray | None = None
        self.treated = np.zeros(model.town.n_cells, dtype=bool)
        self.guard_before: np.ndarray | None = None
        self.guard_after: np.ndarray | None = None
        self.spent = {"setup": 0.0, "running": 0.0, "closure_orders": 0.0}
        self.orders_served = 0
        self.displaced: list[tuple[int, int, int, int]] = []  # (day, row, from, to)
        self.watch = OpenMarketWatch(model, cfg.start, model.config.evaluation.before_days)

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

    def step(self, model: MarketModel) -> None:
        self.watch.observe(model)
        if not self.acting(model.day):
            return
        if self.cells is None:
            self._set_up(model)
        self._spend(model, "running", self.cells.size * self.config.running_cost_gbp_per_cell_day)
        if self.config.civil_orders is not None:
            self._closure_orders(model)

    def finalize(self, model: MarketModel) -> None:
        self.watch.observe(model)

    # targeting --------------------------------------------------------------
    def _choose_cells(self, model: MarketModel) -> np.ndarray:
        cfg = self.config
        if cfg.k is None:
            cells = self.candidates if self.candidates is not None else np.arange(0)
        else:
            cells = top_cells(model, cfg.k, cfg.rank_by, within=self.candidates)
        return np.unique(np.asarray(cells, dtype=np.int64))

    # effect -----------------------------------------------------------------
    def _set_up(self, model: MarketModel) -> None:
        """Once, on the first active day: raise guardianship for good and pay set-up."""
        self.cells = self._choose_cells(model)
        self.treated[self.cells] = True
        g = model.town.guardianship.reshape(-1)
        self.guard_before = g[self.cells].copy()
        model.town.raise_guardianship(self.cells, self.config.guardianship_gain)
        self.guard_after = g[self.cells].copy()
        self._spend(model, "setup", self.cells.size * self.config.setup_cost_gbp_per_cell)

    def _closure_orders(self, model: MarketModel) -> None:
        """Closed dealers on treated cells may be served an order and move away, unarrested."""
        opts = self.config.civil_orders
        d = model.dealers
        act = d.active()
        on = act[~d.open[act] & self.treated[d.cell[act]]]
        served = on[self.rng.random(on.size) < opts.daily_prob]
        for r in served:
            dest = self._new_pitch(model, int(r))
            self.orders_served += 1
            self._spend(model, "closure_orders", opts.cost_gbp_per_order)
            if dest < 0:
                continue  # nowhere outside the treated cells: the order is served, the dealer stays
            self.displaced.append((model.day, int(r), int(d.cell[r]), dest))
            d.place(model, np.array([r]), np.array([dest]))

    def _new_pitch(self, model: MarketModel, r: int) -> int:
        """The best of a few nearby pitches outside the treated cells, as the dealer sees them."""
        opts = self.config.civil_orders
        town = model.town
        here = int(model.dealers.cell[r])
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
        value = model.pitch_value(cand, np.array([bool(model.dealers.open[r])]))[0, 1:]
        return int(pick[int(np.argmax(value))])

    def _spend(self, model: MarketModel, what: str, gbp: float) -> None:
        accounts = model.accounts
        if gbp <= 0 or not accounts.recording:
            return  # burn-in spending is not counted (as for every account)
        accounts.spend(self.name, what, gbp)
        self.spent[what] += gbp

    # report -----------------------------------------------------------------
    def report(self, model: MarketModel) -> dict:
        town = model.town
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
                model, cells, model.config.regions.buffer_width
            ),
        }
        if cells.size <= 100:
            out["cells"] = [[int(town.cell_x[c]), int(town.cell_y[c])] for c in cells]
        if self.config.civil_orders is not None:
            out["civil_orders"] = self._orders_report(model)
        return out

    def _orders_report(self, model: MarketModel) -> dict:
        d, town = model.dealers, model.town
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
