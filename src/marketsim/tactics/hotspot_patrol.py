"""`hotspot_patrol`: high-visibility patrol of the top-k hot cells, with a dwell time.

Effect: uniformed presence with arrest on sight (or presence only, `effect:
deter`). Delivery: every day from `start` for `duration` days; each unit-day is
cut into short visits of `dwell_minutes` (Koper 1995: residual deterrence grows
with the length of a stop up to about 10-15 minutes and gains nothing after),
so a unit makes shift_hours x 60 / dwell_minutes visits a day, spread at random
over the hot cells, which are re-ranked every `rerank_days`. Targeting: the k
cells that score highest on market reputation, recent weighted harm or open
dealing now (`targeting.top_cells`), optionally only within an area or on some
land uses.

The deterrence layer itself saturates per cell-day at
`police.deterrence_saturation` officer-hours (odd.md §7.2): hours a cell gets
beyond that in a day add detection and put buyers off, but no lasting
deterrence. `report()` says whether the plan exceeds that.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import numpy as np

from marketsim.areas import AreaSpec
from marketsim.params import param
from marketsim.tactics.base import Order, Tactic, TacticConfig
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

KOPER = "Koper 1995 (Justice Quarterly 12(4)): 10-15 minute stops maximise residual deterrence"
SHERMAN_WEISBURD = "Sherman & Weisburd 1995 (Justice Quarterly 12(4)), Minneapolis hot spots"


class HotspotPatrolConfig(TacticConfig):
    type: Literal["hotspot_patrol"] = "hotspot_patrol"
    k: int = param(
        10,
        ge=1,
        le=10000,
        unit="cells",
        doc="hot cells patrolled (each ~100 m, about one hot-spot address cluster)",
        source=f"{SHERMAN_WEISBURD}: 55 of 110 hot spots treated; 10 for a 50x50 town is judgement",
    )
    rank_by: CellRanking = param(
        "reputation",
        unit="-",
        doc="how cells are ranked: market reputation, recent weighted harm, or open dealers now",
        source="Braga et al. 2019: hot spots are mapped from calls and incidents; judgement",
    )
    within: AreaSpec | None = param(
        None, unit="-", doc="rank only cells in this area (none: the whole town)"
    )
    land_uses: list[LandUse] | None = param(
        None, unit="-", doc="rank only cells of these land uses (none: any land use)"
    )
    dwell_minutes: float = param(
        15.0,
        ge=1,
        le=1440,
        unit="minutes per visit",
        doc="length of each visit; a unit makes shift_hours x 60 / dwell_minutes visits a day",
        source=KOPER,
    )
    units: int = param(
        4,
        ge=1,
        le=2000,
        unit="units",
        doc="units on hot-spot patrol each active day (taken from the force)",
        source=f"calibration judgement (20% of the default force); {SHERMAN_WEISBURD}: "
        "treated hot spots had about twice the patrol presence of controls",
    )
    rerank_days: int = param(
        14,
        ge=1,
        le=3650,
        unit="days",
        doc="days between re-rankings of the hot cells",
        source="calibration judgement: a fortnightly tasking and co-ordinating group",
    )
    effect: Literal["arrest", "deter"] = param(
        "arrest", unit="-", doc="arrest dealing seen on the hot cells, or presence only"
    )
    arrest_priority: Literal["any", "open_first", "harm"] = param(
        "open_first", unit="-", doc="who is arrested first when several are seen"
    )


class HotspotPatrol(Tactic):
    Config = HotspotPatrolConfig

    def init(self, model: MarketModel) -> None:
        cfg = self.config
        area = (
            area_cells(model, cfg.within, f"tactics.{self.name}.within")
            if cfg.within is not None
            else None
        )
        self.candidates = candidate_cells(model, area, cfg.land_uses)
        self.cells: np.ndarray | None = None  # today's hot cells
        self.initial_cells: np.ndarray | None = None  # the first ranking, for displacement
        self.rankings: list[tuple[int, np.ndarray]] = []  # (day, cells) at each ranking
        self.cell_days = np.zeros(model.town.n_cells)  # days each cell was on the list
        self.fallbacks = 0
        self.visits_per_unit = visits_per_unit_day(
            model.config.police.shift_hours, cfg.dwell_minutes
        )
        self.watch = OpenMarketWatch(model, cfg.start, model.config.evaluation.before_days)

    # delivery ---------------------------------------------------------------
    @classmethod
    def first_day(cls, config: HotspotPatrolConfig, scenario: Scenario) -> int:
        return OpenMarketWatch.first_watched(config.start, scenario.evaluation.before_days)

    def is_active(self, day: int) -> bool:
        # Watches the open market from a window before the start to the end of
        # the run (for report()); patrols only in its own window.
        return day >= self.watch.first_day()

    def patrolling(self, day: int) -> bool:
        return super().is_active(day)

    def step(self, model: MarketModel) -> None:
        self.watch.observe(model)
        day = model.day
        if not self.patrolling(day):
            return
        if self.cells is None or (day - self.config.start) % self.config.rerank_days == 0:
            self._rank(model)
        self.cell_days[self.cells] += 1
        model.police.request(self._order(self.cells))

    def finalize(self, model: MarketModel) -> None:
        self.watch.observe(model)

    # targeting --------------------------------------------------------------
    def _rank(self, model: MarketModel) -> None:
        cfg = self.config
        cells = top_cells(model, cfg.k, cfg.rank_by, within=self.candidates)
        if cells.size == 0:
            # Nothing scores above zero: keep the last list, or start on the target region.
            self.fallbacks += 1
            cells = (
                self.cells
                if self.cells is not None
                else np.flatnonzero(model.town.region_masks["target"])
            )
        self.cells = np.asarray(cells, dtype=np.int64)
        if self.initial_cells is None:
            self.initial_cells = self.cells
        self.rankings.append((model.day, self.cells))

    # effect -----------------------------------------------------------------
    def _order(self, cells: np.ndarray) -> Order:
        # The police deploy caps a unit's visits at the number of distinct cells
        # in the order; listing the cells several times lifts that cap without
        # changing the (uniform) chance of each cell, so every unit makes its
        # full `visits_per_unit` short stops (repeat visits allowed).
        reps = int(np.ceil(self.visits_per_unit / max(1, cells.size)))
        return Order(
            tactic=self.name,
            units=self.config.units,
            cells=np.tile(cells, reps),
            visible=True,
            effect=self.config.effect,
            arrest_priority=self.config.arrest_priority,
            cells_per_unit=self.visits_per_unit,
        )

    # report -----------------------------------------------------------------
    def report(self, model: MarketModel) -> dict:
        cfg = self.config
        pc = model.config.police
        k_used = int(self.cells.size) if self.cells is not None else 0
        hours_per_cell = cfg.units * pc.shift_hours / max(1, k_used) if k_used else 0.0
        land_use = model.town.land_use.ravel()
        by_use = np.bincount(land_use, weights=self.cell_days, minlength=len(LAND_USES))
        turnover = [
            1.0 - np.intersect1d(a, b).size / max(1, a.size)
            for (_, a), (_, b) in zip(self.rankings, self.rankings[1:], strict=False)
        ]
        out = {
            "hot_cells": k_used,
            "visits_per_unit_day": self.visits_per_unit,
            "visits_per_cell_day": cfg.units * self.visits_per_unit / max(1, k_used),
            "officer_hours_per_cell_day": hours_per_cell,
            "deterrence_saturation_hours": pc.deterrence_saturation,
            "presence_above_saturation": hours_per_cell > pc.deterrence_saturation,
            "rankings": len(self.rankings),
            "ranking_fallbacks": self.fallbacks,
            "distinct_cells_patrolled": int((self.cell_days > 0).sum()),
            "mean_turnover_per_rerank": float(np.mean(turnover)) if turnover else None,
            "patrol_cell_days_by_land_use": {
                name: float(by_use[i]) for i, name in enumerate(LAND_USES) if by_use[i] > 0
            },
            "open_market_by_land_use": self.watch.by_land_use(),
        }
        if self.initial_cells is not None:
            out["initial_hot_cells"] = [
                [int(model.town.cell_x[c]), int(model.town.cell_y[c])] for c in self.initial_cells
            ]
            out["initial_hot_cells_open_sales"] = self.watch.displacement(
                model, self.initial_cells, model.config.regions.buffer_width
            )
        return out


def visits_per_unit_day(shift_hours: float, dwell_minutes: float) -> int:
    """Stops a unit makes in a shift at one stop per `dwell_minutes` (at least one)."""
    return max(1, int(round(shift_hours * 60.0 / dwell_minutes)))
