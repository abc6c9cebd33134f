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

from typing import TYPE_CHECKING

import numpy as np

from marketsim.state import World
from marketsim.tactics.base import Order, Tactic
from marketsim.tactics.configs.hotspot_patrol import HotspotPatrolConfig
from marketsim.tactics.open_market_watch import (
    LAND_USES,
    OpenMarketWatch,
    candidate_cells,
)
from marketsim.tactics.targeting import area_cells, top_cells

if TYPE_CHECKING:
    from marketsim.scenario import Scenario

KOPER = "Koper 1995 (Justice Quarterly 12(4)): 10-15 minute stops maximise residual deterrence"
SHERMAN_WEISBURD = "Sherman & Weisburd 1995 (Justice Quarterly 12(4)), Minneapolis hot spots"


class HotspotPatrol(Tactic):
    Config = HotspotPatrolConfig

    def init(self, world: World) -> None:
        cfg = self.config
        area = (
            area_cells(world, cfg.within, f"{self.where}.within")
            if cfg.within is not None
            else None
        )
        self.candidates = candidate_cells(world, area, cfg.land_uses)
        self.cells: np.ndarray | None = None  # today's hot cells
        self.initial_cells: np.ndarray | None = None  # the first ranking, for displacement
        self.rankings: list[tuple[int, np.ndarray]] = []  # (day, cells) at each ranking
        self.cell_days = np.zeros(world.town.n_cells)  # days each cell was on the list
        self.fallbacks = 0
        self.visits_per_unit = visits_per_unit_day(
            world.config.police.shift_hours, cfg.dwell_minutes
        )
        self.watch = OpenMarketWatch(world, cfg.start, world.config.evaluation.before_days)

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

    def step(self, world: World) -> None:
        self.watch.observe(world)
        day = world.day
        if not self.patrolling(day):
            return
        if self.cells is None or (day - self.config.start) % self.config.rerank_days == 0:
            self._rank(world)
        self.cell_days[self.cells] += 1
        world.police.request(self._order(self.cells))

    def finalize(self, world: World) -> None:
        self.watch.observe(world)

    # targeting --------------------------------------------------------------
    def _rank(self, world: World) -> None:
        cfg = self.config
        cells = top_cells(world, cfg.k, cfg.rank_by, within=self.candidates)
        if cells.size == 0:
            # Nothing scores above zero: keep the last list, or start on the target region.
            self.fallbacks += 1
            cells = self.cells if self.cells is not None else self._first_fallback(world)
        self.cells = np.asarray(cells, dtype=np.int64)
        if self.initial_cells is None:
            self.initial_cells = self.cells
        self.rankings.append((world.day, self.cells))

    def _first_fallback(self, world: World) -> np.ndarray:
        """The target region's cells among the candidates; all the candidates where none of
        them is in the target (a patrol limited to an area never leaves it)."""
        target = np.flatnonzero(world.town.region_masks["target"])
        if self.candidates is None:
            return target
        inside = np.intersect1d(target, self.candidates)
        return inside if inside.size else self.candidates

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
    def report(self, world: World) -> dict:
        cfg = self.config
        pc = world.config.police
        k_used = int(self.cells.size) if self.cells is not None else 0
        hours_per_cell = cfg.units * pc.shift_hours / max(1, k_used) if k_used else 0.0
        land_use = world.town.land_use.ravel()
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
                [int(world.town.cell_x[c]), int(world.town.cell_y[c])] for c in self.initial_cells
            ]
            out["initial_hot_cells_open_sales"] = self.watch.displacement(
                world, self.initial_cells, world.config.regions.buffer_width
            )
        return out


def visits_per_unit_day(shift_hours: float, dwell_minutes: float) -> int:
    """Stops a unit makes in a shift at one stop per `dwell_minutes` (at least one)."""
    return max(1, int(round(shift_hours * 60.0 / dwell_minutes)))
