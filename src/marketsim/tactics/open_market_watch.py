"""Watching where the open market trades, for tactics that report displacement.

A tactic calls `observe(world)` at the start of each day (phase 2): dealers'
`sales` then still hold yesterday's sales, at the pitch they traded from, and
`open` their mode during yesterday's trade (mode switching comes later, in
phase 4). The watch keeps a rolling window of per-cell open-market sales, so a
tactic can compare the window before it started with the window at the end of
the run: the share of open sales by land use (seed 001 ch. 4: moving a market
"from a residential area to an industrial estate") and the sales in any set of
cells (treated cells, a ring around them).

"Open-market sales" here are all of yesterday's sales by dealers dealing
openly, at their pitch (the per-cell tally of street purchases is reset before
tactics act, so this is its closest observable proxy: it also counts sales an
open dealer makes to buyers who phone).
"""

from __future__ import annotations

from collections import deque

import numpy as np

from marketsim.fields import box_sum
from marketsim.state import World
from marketsim.tactics.configs.base import LAND_USES


def land_use_cells(world: World, names: list[str] | None) -> np.ndarray | None:
    """Flat indices of cells with one of the named land uses (None: no filter)."""
    if names is None:
        return None
    codes = [LAND_USES.index(n) for n in names]
    return np.flatnonzero(np.isin(world.town.land_use.ravel(), codes))


def candidate_cells(
    world: World, area: np.ndarray | None, land_uses: list[str] | None
) -> np.ndarray | None:
    """Cells in an area (None: anywhere) and of the given land uses (None: any)."""
    by_use = land_use_cells(world, land_uses)
    if area is None:
        return by_use
    if by_use is None:
        return area
    return np.intersect1d(area, by_use)


def open_sales_by_cell(world: World) -> np.ndarray:
    """Yesterday's sales by open dealers, summed at their pitch (read in phase 2)."""
    d = world.dealers
    sales = d.view("sales")
    rows = np.flatnonzero((sales > 0) & d.view("open"))
    return np.bincount(
        d.cell[rows], weights=sales[rows].astype(float), minlength=world.town.n_cells
    )


def ring_cells(world: World, cells: np.ndarray, width: int) -> np.ndarray:
    """Cells within `width` (Chebyshev) of `cells`, excluding `cells` themselves."""

    town = world.town
    mask = np.zeros(town.n_cells)
    mask[cells] = 1.0
    grown = box_sum(mask.reshape(town.width, town.height), width).ravel() > 0
    grown[cells] = False
    return np.flatnonzero(grown)


class OpenMarketWatch:
    """Rolling per-cell open-market sales: a `before` window frozen at the tactic's
    start, and the latest `window` days for the end of the run."""

    def __init__(self, world: World, start: int, window: int):
        self.start = start
        self.window = window
        self.n_cells = world.town.n_cells
        self.land_use = world.town.land_use.ravel()
        self.recent: deque[np.ndarray] = deque(maxlen=window)
        self.before: np.ndarray | None = None
        self.before_days = 0
        self.last_day: int | None = None

    def first_day(self) -> int:
        """First day to watch (it may fall in burn-in)."""
        return self.first_watched(self.start, self.window)

    @staticmethod
    def first_watched(start: int, window: int) -> int:
        """First day a watch of `window` days before `start` observes."""
        return start - window

    def observe(self, world: World, day: int | None = None) -> None:
        """Record the open sales of the day before `world.day` (call in phase 2),
        or, with `day` given, of that day (call from finalize for the last day)."""
        traded = world.day - 1 if day is None else day
        if traded < -world.config.burn_in or (
            self.last_day is not None and traded <= self.last_day
        ):
            return  # before the first day, or already seen
        if traded >= self.start and self.before is None:
            self._freeze_before()
        self.recent.append(open_sales_by_cell(world))
        self.last_day = traded

    def _freeze_before(self) -> None:
        self.before_days = len(self.recent)
        self.before = (
            np.sum(self.recent, axis=0) if self.recent else np.zeros(self.n_cells, dtype=float)
        )
        self.recent.clear()

    # --------------------------------------------------------------- figures
    def _windows(self) -> tuple[np.ndarray | None, np.ndarray | None, int]:
        after = np.sum(self.recent, axis=0) if self.recent and self.before is not None else None
        return self.before, after, len(self.recent) if after is not None else 0

    def by_land_use(self) -> dict:
        """Share of open-market sales by land use, before the start and at the end."""
        before, after, after_days = self._windows()
        out: dict = {
            "window_days": self.window,
            "before_days": self.before_days,
            "after_days": after_days,
        }
        for label, sums in (("before", before), ("after", after)):
            if sums is None or sums.sum() <= 0:
                out[label] = None
                continue
            per_lu = np.bincount(self.land_use, weights=sums, minlength=len(LAND_USES))
            out[label] = {name: float(per_lu[i] / per_lu.sum()) for i, name in enumerate(LAND_USES)}
            days = self.before_days if label == "before" else after_days
            out[f"{label}_per_day"] = float(sums.sum() / max(1, days))
        if out.get("before") and out.get("after"):
            out["change_in_share"] = {
                name: out["after"][name] - out["before"][name] for name in LAND_USES
            }
        return out

    def in_cells(self, cells: np.ndarray) -> dict:
        """Mean daily open-market sales in a set of cells, before and at the end."""
        before, after, after_days = self._windows()
        out: dict = {"cells": int(len(cells))}
        out["before_per_day"] = (
            float(before[cells].sum() / self.before_days)
            if before is not None and self.before_days
            else None
        )
        out["after_per_day"] = float(after[cells].sum() / after_days) if after is not None else None
        if out["before_per_day"] and out["after_per_day"] is not None:
            out["change"] = out["after_per_day"] / out["before_per_day"] - 1.0
        return out

    def displacement(self, world: World, cells: np.ndarray, ring_width: int = 3) -> dict:
        """Open sales in `cells`, in a ring around them and in the rest of the town,
        before and at the end, with the weighted displacement quotient
        WDQ = (Db/Cb - Da/Ca) / (Rb/Cb - Ra/Ca) (Bowers & Johnson 2003): above 0
        diffusion of benefits, 0 to -1 partial displacement, below -1 more than erased."""
        cells = np.asarray(cells, dtype=np.int64)
        ring = ring_cells(world, cells, ring_width) if cells.size else cells
        rest = np.setdiff1d(np.arange(self.n_cells), np.concatenate([cells, ring]))
        out = {
            "ring_width": ring_width,
            "treated": self.in_cells(cells),
            "ring": self.in_cells(ring),
            "rest": self.in_cells(rest),
        }
        rb, ra = out["treated"]["before_per_day"], out["treated"]["after_per_day"]
        db, da = out["ring"]["before_per_day"], out["ring"]["after_per_day"]
        cb, ca = out["rest"]["before_per_day"], out["rest"]["after_per_day"]
        value = None
        if None not in (rb, ra, db, da, cb, ca) and cb > 0 and ca > 0:
            denom = rb / cb - ra / ca
            if abs(denom) > 1e-12:
                value = (db / cb - da / ca) / denom
        out["wdq"] = value
        return out
