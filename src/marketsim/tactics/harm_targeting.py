"""`harm_targeting`: investigate, then remove the most harmful crew or dealers.

Targeting: the crews (summed harm score, `targeting.crew_scores(world, "harm")`)
or the individual dealers (`world.dealer_harm_score`) that score highest on
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

Effect: removal. Arrests go through `world.arrest_dealer` (charge, remand,
conviction, seizure and crew debt, void), charged to this tactic. With
`asset_recovery` the targeted crew is broken up (`world.retired_crews`: no
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

import numpy as np

from marketsim.agents import dealer as D
from marketsim.fields import box_sum
from marketsim.state import World
from marketsim.tactics import targeting
from marketsim.tactics.base import Tactic
from marketsim.tactics.configs.harm_targeting import HarmTargetingConfig
from marketsim.tactics.covert import CovertTime

S000 = "seed 000_ecf4d41f2042e744.txt Box B"
S001 = "seed 001_85a9966099c1cff4.txt App. B"
S003 = "seed 003_f1d980d3e2135e00.txt"
S004 = "seed 004_4568d074a54f904a.txt"

VOID_DAYS = 90  # days after a removal over which the void is followed
WATCH_DAYS = 90  # days before the start whose violence the report looks back on


class HarmTargeting(Tactic):
    Config = HarmTargetingConfig

    def init(self, world: World) -> None:
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

    def step(self, world: World) -> None:
        day = world.day
        self.covert.settle(world)
        for op in self.operations:
            op.observe(world)
        op = self.operations[-1] if self.operations else None
        if op is None or op.done:
            if not (self.in_campaign(day) and day >= self.next_start):
                return
            op = self._open(world)
            if op is None:
                return  # nothing to target today: look again tomorrow
        op.advance(world, self)

    def _open(self, world: World) -> Operation | None:
        cfg = self.config
        crews, rows = self._choose_targets(world)
        if rows.size == 0:
            return None
        op = Operation(self, world, crews, rows)
        self.operations.append(op)
        if cfg.repeat_every is not None:
            self.next_start = world.day + cfg.repeat_every
        else:
            self.next_start = 1 << 62
        return op

    # targeting ----------------------------------------------------------------
    def _choose_targets(self, world: World) -> tuple[list[int], np.ndarray]:
        """Crews and dealer rows to investigate, ranked by harm (or violence, or volume)."""
        cfg = self.config
        d = world.dealers
        act = d.active()
        if cfg.where == "target":
            mask = world.town.region_masks["target"].ravel()
            act = act[mask[d.cell[act]]]
        if cfg.target == "crew":
            scores = targeting.crew_scores(world, cfg.rank_by)
            local = set(int(c) for c in d.crew[act] if c >= 0)
            retired = world.retired_crews
            ranked = sorted(
                (c for c in scores if c in local and c not in retired and scores[c] > 0),
                key=lambda c: (-scores[c], c),
            )
            crews = ranked[: cfg.n_targets]
            return crews, targeting.crew_members(world, crews)
        score = targeting.dealer_scores(world, act, cfg.rank_by)
        order = np.lexsort((act, -score))
        return [], act[order[: cfg.n_targets]]

    def finalize(self, world: World) -> None:
        self.covert.settle(world)

    # report -------------------------------------------------------------------
    def report(self, world: World) -> dict:
        ops = [op.report(world, self) for op in self.operations]
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
        world: World,
        a: int,
        b: int,
        cells: np.ndarray | None = None,
        rows: np.ndarray | None = None,
    ) -> int:
        """Violent incidents on days [a, b), in the given cells and/or by the given dealers."""
        a = max(a, self.watch_from() - 1)  # the first day the tactic looks back to
        n = 0
        for day, who, where, _ in world.violence_log:
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

    def __init__(self, tactic: HarmTargeting, world: World, crews: list[int], rows: np.ndarray):
        self.crews = crews
        self.rows = np.asarray(rows, dtype=np.int64)  # targets known at the start
        self.begun = world.day
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
        self.account = world.accounts.index(tactic.name)
        self._tactic = tactic

    # targets ------------------------------------------------------------------
    def current_targets(self, world: World) -> np.ndarray:
        """Active targets not yet arrested by this operation (crews: their members now)."""
        if self.crews:
            rows = np.union1d(self.rows, targeting.crew_members(world, self.crews))
        else:
            rows = self.rows
        d = world.dealers
        rows = rows[d.state[rows] == D.ACTIVE]
        return rows[~np.isin(rows, np.fromiter(self.arrested, dtype=np.int64))]

    # daily -------------------------------------------------------------------
    def advance(self, world: World, tactic: HarmTargeting) -> None:
        cfg = tactic.config
        day = world.day
        if self.done:
            return
        targets = self.current_targets(world)
        if day < self.begun + cfg.investigation_days:
            tactic.covert.request(world, cfg.officers, world.dealers.cell[targets])
            return
        if self.removal_day is None:
            self._begin_removal(world, tactic, targets)
        if targets.size == 0 or day >= self.removal_day + cfg.arrest_days:
            self.done = True
            self.end_day = day
            return
        self.targeted = np.union1d(self.targeted, targets)
        for r in targets:
            self.baseline.setdefault(int(r), int(world.dealers.arrests[r]))
        tactic.covert.request(
            world,
            cfg.officers,
            world.dealers.cell[targets],
            targets=targets,
            target_prob=cfg.arrest_prob_per_day,
        )

    def _begin_removal(self, world: World, tactic: HarmTargeting, targets: np.ndarray) -> None:

        cfg = tactic.config
        d, town = world.dealers, world.town
        self.removal_day = world.day
        self.removed_violence = float(d.violence[targets].mean()) if targets.size else None
        self.removed_rows = targets.copy()
        if cfg.asset_recovery and self.crews:
            for c in self.crews:
                world.retired_crews.add(int(c))
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

    def observe(self, world: World) -> None:
        """Yesterday's arrests (and convictions) of targets; who came into the void."""
        d = world.dealers
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
                    self._convict(world, r)
        if self.area_mask is not None and world.day < self.removal_day + VOID_DAYS:
            act = d.active()
            here = act[self.area_mask[d.cell[act]]]
            here = here[~np.isin(here, self.removed_rows) & ~np.isin(here, self.stayers)]
            for r in here:
                r = int(r)
                if r not in self.fillers:
                    self.fillers[r] = bool(d.entered_day[r] >= self.removal_day)

    def _convict(self, world: World, r: int) -> None:
        if r in self.convicted:
            return
        self.convicted.add(r)
        cfg = self._tactic.config
        if cfg.asset_recovery:
            profit = max(0.0, float(world.dealers.profit[r]))
            self.gbp_recovered += cfg.recovery_per_conviction + cfg.recovery_profit_days * profit

    # report -------------------------------------------------------------------
    def report(self, world: World, tactic: HarmTargeting) -> dict:
        d = world.dealers
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
        after_days = min(VOID_DAYS, world.day - r0)
        first = tactic.watch_from() - 1
        before_days = min(VOID_DAYS, r0 - first)

        def group(sel: np.ndarray, a: int, b: int) -> dict:
            return {
                "dealers": int(sel.size),
                "mean_violence_trait": float(d.violence[sel].mean()) if sel.size else None,
                "incidents": tactic.incidents(world, a, b, rows=sel),
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
            "area_incidents_before": tactic.incidents(world, r0 - before_days, r0, cells=self.area),
            "area_incidents_after": tactic.incidents(world, *after, cells=self.area),
        }
        return out
