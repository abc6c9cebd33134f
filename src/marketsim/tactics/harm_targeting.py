"""`harm_targeting`: investigate, then remove the most harmful crew or dealers.

Targeting: the crews (summed harm score, `targeting.crew_scores(model, "harm")`)
or the individual dealers (`model.dealer_harm_score`) that score highest on
violence, visibility, runner exploitation and conspicuous wealth (seed
001_85a9966099c1cff4.txt ch. 4; MoRiLE in seed 003_f1d980d3e2135e00.txt), in the
whole town or only among those working in the target region.

Delivery: an operation. First `investigation_days` of covert work: `officers`
units are committed each day with no street presence (no deterrence, no
arrests on sight); the officer-days are charged to the tactic. Then the arrest
phase: each day every remaining target is arrested with chance
`arrest_prob_per_day`, for at most `arrest_days` days or until none is left.
With `repeat_every`, a new operation starts that many days after the previous
one began (or as soon as it ends, if later).

Effect: removal. Arrests go through `model.arrest_dealer` (charge, remand,
conviction, seizure and crew debt, void), charged to this tactic. With
`asset_recovery` the targeted crew is broken up (`model.retired_crews`: no
entrant can join it) and the proceeds of convicted members are recovered.

What follows, the void, is measured: which dealers fill the area the removed
dealers worked (entrants and incumbents moving in, their violence against the
removed), and the violence there in the `VOID_DAYS` days after the removal
against the same span before (design §9 fact 5; seed 001 App. B, Macarise:
"the potential for other groups to move in to take over the market").

Sources: Operations Grasslands and Macarise (seed 001 App. B and Table 3.2;
seed 000_ecf4d41f2042e744.txt Box B); MoRiLE (seed 003); seed
004_4568d074a54f904a.txt (concentrate enforcement by harm, not on the easiest
to catch).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import numpy as np

from marketsim.agents import dealer as D
from marketsim.fields import box_sum
from marketsim.params import param
from marketsim.tactics import targeting
from marketsim.tactics.base import Tactic, TacticConfig
from marketsim.tactics.covert import CovertTime

if TYPE_CHECKING:
    from marketsim.model import MarketModel

S000 = "seed 000_ecf4d41f2042e744.txt Box B"
S001 = "seed 001_85a9966099c1cff4.txt App. B"
S003 = "seed 003_f1d980d3e2135e00.txt"
S004 = "seed 004_4568d074a54f904a.txt"

VOID_DAYS = 90  # days after a removal over which the void is followed
WATCH_DAYS = 90  # days before the start whose violence the report looks back on


class HarmTargetingConfig(TacticConfig):
    type: Literal["harm_targeting"] = "harm_targeting"
    # targeting
    target: Literal["crew", "individuals"] = param(
        "crew",
        unit="-",
        doc="remove whole crews (ranked by summed harm) or individual dealers",
        source=f"{S001}: Grasslands and Macarise targeted families/networks; {S003}: MoRiLE ranks OCGs",
    )
    n_targets: int = param(
        1,
        ge=1,
        le=500,
        unit="crews or dealers",
        doc="how many crews (or dealers) each operation targets",
        source=f"{S000}: one conspicuous family",
    )
    rank_by: Literal["harm", "violence"] = param(
        "harm",
        unit="-",
        doc="harm score (violence, visibility, exploitation, wealth) or recent known violence",
        source=f"{S004}: rank by harm, not by ease of arrest",
    )
    where: Literal["town", "target"] = param(
        "town",
        unit="-",
        doc="rank everyone, or only crews/dealers with someone working in the target region",
    )
    # delivery
    investigation_days: int = param(
        90,
        ge=0,
        le=1095,
        unit="days",
        doc="covert investigation before the arrest phase",
        source=f"{S001}, Grasslands: a 'substantial (three month) period of intelligence gathering'",
    )
    officers: int = param(
        4,
        ge=0,
        le=2000,
        unit="officer-days per day",
        doc="units committed to the operation each day (covert: no street presence)",
        source="calibration judgement: a small dedicated team",
    )
    arrest_prob_per_day: float = param(
        0.1,
        ge=0,
        le=1,
        unit="per target per day",
        doc="daily chance each remaining target is arrested once the investigation is done",
        source="calibration judgement: most targets arrested within a month",
    )
    arrest_days: int = param(
        60,
        ge=1,
        le=3650,
        unit="days",
        doc="longest arrest phase (it ends earlier when no target is left)",
    )
    repeat_every: int | None = param(
        None,
        ge=1,
        le=3650,
        unit="days",
        doc="days between operation starts (none: a single operation)",
    )
    # effect
    asset_recovery: bool = param(
        True,
        unit="-",
        doc="financial investigation: the crew is broken up (no one may join it) and proceeds recovered",
        source=f"{S001}, Macarise: financial investigator, assets seized",
    )
    recovery_per_conviction: float = param(
        1500.0,
        ge=0,
        le=1e7,
        unit="GBP per convicted target",
        doc="cash and goods (cars) recovered per convicted target",
        source=f"{S001}, Grasslands: GBP 75,000 and 16 vehicles from 105 arrests",
    )
    recovery_profit_days: float = param(
        90.0,
        ge=0,
        le=3650,
        unit="days of profit",
        doc="proceeds recovered per convicted target, in days of its recent daily profit",
        source="calibration judgement (Proceeds of Crime Act confiscation)",
    )
    void_radius: int = param(
        2,
        ge=0,
        le=50,
        unit="cells",
        doc="the removed dealers' area: their pitches and this many cells around",
        source="calibration judgement: a local market's reach",
    )


class HarmTargeting(Tactic):
    Config = HarmTargetingConfig

    def init(self, model: MarketModel) -> None:
        self.covert = CovertTime(self.name)
        self.operations: list[Operation] = []
        self.next_start = self.config.start

    # delivery ---------------------------------------------------------------
    def is_active(self, day: int) -> bool:
        # Follows the void after the campaign; operations start only during it.
        return day >= self.config.start

    def in_campaign(self, day: int) -> bool:
        return super().is_active(day)

    def watch_from(self) -> int:
        """The first day whose violence counts in the report's before window."""
        return max(0, self.config.start - WATCH_DAYS)

    def step(self, model: MarketModel) -> None:
        day = model.day
        self.covert.settle(model)
        for op in self.operations:
            op.observe(model)
        op = self.operations[-1] if self.operations else None
        if op is None or op.done:
            if not (self.in_campaign(day) and day >= self.next_start):
                return
            op = self._open(model)
            if op is None:
                return  # nothing to target today: look again tomorrow
        op.advance(model, self)

    def _open(self, model: MarketModel) -> Operation | None:
        cfg = self.config
        crews, rows = self._choose_targets(model)
        if rows.size == 0:
            return None
        op = Operation(self, model, crews, rows)
        self.operations.append(op)
        if cfg.repeat_every is not None:
            self.next_start = model.day + cfg.repeat_every
        else:
            self.next_start = 1 << 62
        return op

    # targeting ----------------------------------------------------------------
    def _choose_targets(self, model: MarketModel) -> tuple[list[int], np.ndarray]:
        """Crews and dealer rows to investigate, ranked by harm (or violence)."""
        cfg = self.config
        d = model.dealers
        act = d.active()
        if cfg.where == "target":
            mask = model.town.region_masks["target"].ravel()
            act = act[mask[d.cell[act]]]
        if cfg.target == "crew":
            scores = targeting.crew_scores(model, cfg.rank_by)
            local = set(int(c) for c in d.crew[act] if c >= 0)
            retired = model.retired_crews
            ranked = sorted(
                (c for c in scores if c in local and c not in retired and scores[c] > 0),
                key=lambda c: (-scores[c], c),
            )
            crews = ranked[: cfg.n_targets]
            return crews, targeting.crew_members(model, crews)
        score = (
            d.incidents_recent[act] if cfg.rank_by == "violence" else model.dealer_harm_score(act)
        )
        order = np.lexsort((act, -score))
        return [], act[order[: cfg.n_targets]]

    def finalize(self, model: MarketModel) -> None:
        self.covert.settle(model)

    # report -------------------------------------------------------------------
    def report(self, model: MarketModel) -> dict:
        ops = [op.report(model, self) for op in self.operations]
        return {
            "operations": len(ops),
            "targets": int(sum(o["targets"] for o in ops)),
            "arrested": int(sum(o["arrested"] for o in ops)),
            "convicted": int(sum(o["convicted"] for o in ops)),
            "gbp_recovered": float(sum(o["gbp_recovered"] for o in ops)),
            "crews_retired": sorted(int(c) for o in self.operations for c in o.retired),
            "covert_officer_days": self.covert.officer_days,
            "operation_log": ops,
        }

    def incidents(
        self,
        model: MarketModel,
        a: int,
        b: int,
        cells: np.ndarray | None = None,
        rows: np.ndarray | None = None,
    ) -> int:
        """Violent incidents on days [a, b), in the given cells and/or by the given dealers."""
        a = max(a, self.watch_from() - 1)  # the first day the tactic looks back to
        n = 0
        for day, who, where, _ in model.violence_log:
            if not (a <= day < b) or who.size == 0:
                continue
            ok = np.ones(who.size, dtype=bool)
            if cells is not None:
                ok &= np.isin(where, cells)
            if rows is not None:
                ok &= np.isin(who, rows)
            n += int(ok.sum())
        return n


class Operation:
    """One investigation and arrest phase against a fixed set of crews or dealers."""

    def __init__(
        self, tactic: HarmTargeting, model: MarketModel, crews: list[int], rows: np.ndarray
    ):
        self.crews = crews
        self.rows = np.asarray(rows, dtype=np.int64)  # targets known at the start
        self.begun = model.day
        self.removal_day: int | None = None  # first day of the arrest phase
        self.end_day: int | None = None
        self.done = False
        self.retired: list[int] = []
        self.targeted = np.empty(0, dtype=np.int64)  # everyone ever targeted for arrest
        self.baseline: dict[int, int] = {}  # target row -> its arrests before targeting
        self.arrested: set[int] = set()
        self.convicted: set[int] = set()
        self.gbp_recovered = 0.0
        self.removed_violence: float | None = None
        self.area = np.empty(0, dtype=np.int64)
        self.area_mask: np.ndarray | None = None
        self.stayers = np.empty(0, dtype=np.int64)  # others already in the area at removal
        self.fillers: dict[int, bool] = {}  # row -> entrant? (came into the area after removal)
        self.account = model.accounts.index(tactic.name)
        self._tactic = tactic

    # targets ------------------------------------------------------------------
    def current_targets(self, model: MarketModel) -> np.ndarray:
        """Active targets not yet arrested by this operation (crews: their members now)."""
        if self.crews:
            rows = np.union1d(self.rows, targeting.crew_members(model, self.crews))
        else:
            rows = self.rows
        d = model.dealers
        rows = rows[d.state[rows] == D.ACTIVE]
        return rows[~np.isin(rows, np.fromiter(self.arrested, dtype=np.int64))]

    # daily -------------------------------------------------------------------
    def advance(self, model: MarketModel, tactic: HarmTargeting) -> None:
        cfg = tactic.config
        day = model.day
        if self.done:
            return
        targets = self.current_targets(model)
        if day < self.begun + cfg.investigation_days:
            tactic.covert.request(model, cfg.officers, model.dealers.cell[targets])
            return
        if self.removal_day is None:
            self._begin_removal(model, tactic, targets)
        if targets.size == 0 or day >= self.removal_day + cfg.arrest_days:
            self.done = True
            self.end_day = day
            return
        self.targeted = np.union1d(self.targeted, targets)
        for r in targets:
            self.baseline.setdefault(int(r), int(model.dealers.arrests[r]))
        tactic.covert.request(
            model,
            cfg.officers,
            model.dealers.cell[targets],
            targets=targets,
            target_prob=cfg.arrest_prob_per_day,
        )

    def _begin_removal(
        self, model: MarketModel, tactic: HarmTargeting, targets: np.ndarray
    ) -> None:

        cfg = tactic.config
        d, town = model.dealers, model.town
        self.removal_day = model.day
        self.removed_violence = float(d.violence[targets].mean()) if targets.size else None
        self.removed_rows = targets.copy()
        if cfg.asset_recovery and self.crews:
            for c in self.crews:
                model.retired_crews.add(int(c))
            self.retired = list(self.crews)
        # The removed dealers' area: their pitches and void_radius cells around.
        spot = np.zeros(town.n_cells)
        spot[d.cell[targets]] = 1.0
        grown = box_sum(spot.reshape(town.width, town.height), cfg.void_radius).ravel() > 0
        self.area_mask = grown
        self.area = np.flatnonzero(grown)
        act = d.active()
        here = act[grown[d.cell[act]]]
        self.stayers = here[~np.isin(here, targets)]

    def observe(self, model: MarketModel) -> None:
        """Yesterday's arrests (and convictions) of targets; who came into the void."""
        d = model.dealers
        if self.baseline:
            rows = np.fromiter(self.baseline, dtype=np.int64)
            was = np.fromiter(self.baseline.values(), dtype=np.int64)
            hit = rows[(d.arrests[rows] > was) & (d.arrested_by[rows] == self.account)]
            for r in hit:
                # arrest_dealer sets `convicted` at arrest; it holds until release
                r = int(r)
                del self.baseline[r]
                self.arrested.add(r)
                if d.convicted[r]:
                    self._convict(model, r)
        if self.area_mask is not None and model.day < self.removal_day + VOID_DAYS:
            act = d.active()
            here = act[self.area_mask[d.cell[act]]]
            here = here[~np.isin(here, self.removed_rows) & ~np.isin(here, self.stayers)]
            for r in here:
                r = int(r)
                if r not in self.fillers:
                    self.fillers[r] = bool(d.entered_day[r] >= self.removal_day)

    def _convict(self, model: MarketModel, r: int) -> None:
        if r in self.convicted:
            return
        self.convicted.add(r)
        cfg = self._tactic.config
        if cfg.asset_recovery:
            profit = max(0.0, float(model.dealers.profit[r]))
            self.gbp_recovered += cfg.recovery_per_conviction + cfg.recovery_profit_days * profit

    # report -------------------------------------------------------------------
    def report(self, model: MarketModel, tactic: HarmTargeting) -> dict:
        d = model.dealers
        out: dict = {
            "begun": self.begun,
            "removal_day": self.removal_day,
            "end_day": self.end_day,
            "crews": [int(c) for c in self.crews],
            "investigated": int(self.rows.size),  # targets known when it began
            "targets": int(self.targeted.size),  # targeted for arrest (recruits included)
            "arrested": len(self.arrested),
            "convicted": len(self.convicted),
            "gbp_recovered": self.gbp_recovered,
        }
        if self.removal_day is None:
            return out
        rows = np.fromiter(self.fillers, dtype=np.int64)
        entrant = np.fromiter(self.fillers.values(), dtype=bool)
        r0 = self.removal_day
        after_days = min(VOID_DAYS, model.day - r0)
        first = tactic.watch_from() - 1
        before_days = min(VOID_DAYS, r0 - first)

        def group(sel: np.ndarray, a: int, b: int) -> dict:
            return {
                "dealers": int(sel.size),
                "mean_violence_trait": float(d.violence[sel].mean()) if sel.size else None,
                "incidents": tactic.incidents(model, a, b, rows=sel),
            }

        after = (r0, r0 + after_days)
        out["void"] = {
            "area_cells": int(self.area.size),
            "days_before": before_days,
            "days_after": after_days,
            # incidents by the removed dealers in the days before the removal
            "removed": group(self.removed_rows, r0 - before_days, r0),
            # the dealers who came into the area after the removal, and their
            # incidents (anywhere) in the days after it
            "entrants": group(rows[entrant], *after),
            "movers_in": group(rows[~entrant], *after),
            "already_there": group(self.stayers, *after),
            "area_incidents_before": tactic.incidents(model, r0 - before_days, r0, cells=self.area),
            "area_incidents_after": tactic.incidents(model, *after, cells=self.area),
        }
        return out
