"""`treatment_expansion`: extra treatment places, outreach, and optional arrest referral.

NTORS (Gossop et al. 2003) followed 1,075 people entering treatment in England:
the share convicted in a year fell from 34% to 18%. Operation Nemesis funded
extra treatment to cut waiting lists, and Operation Iceberg raised arrest
referrals by 76% in its first year (seed 001 App. B). This tactic stands for
the treatment side of a partnership operation.

Targeting: dependent users in the whole town (outreach), and users arrested by
anyone (arrest referral). Delivery: from `start` for `duration` days; the extra
places are withdrawn when the tactic ends, but clients keep their place until
they leave. Effect: more places at the sites (where the waiting lists are), a
higher daily chance of asking for treatment, and referral after arrest.

Costs: outreach is charged as money per day (accounts.spend); place-days of the
people arrest referral sends are charged to this tactic automatically. Place-days
of people who refer themselves are charged to "self_referral", whichever place
they take, so the report gives the place-days the extra places supplied.
"""

from __future__ import annotations

import numpy as np

from marketsim import events
from marketsim.agents import user as U
from marketsim.harms import HARM_TYPES, load_profile
from marketsim.state import World
from marketsim.tactics.base import Tactic
from marketsim.tactics.configs.treatment_expansion import TreatmentExpansionConfig

S001 = "seed 001_85a9966099c1cff4.txt"


class TreatmentExpansion(Tactic):
    Config = TreatmentExpansionConfig

    def init(self, world: World) -> None:
        self.extra = np.zeros(len(world.services), dtype=np.int64)  # set on the first day
        self.added = False
        self.removed = False
        self._last_arrests: tuple[np.ndarray, np.ndarray] | None = None
        self.figures = {
            "extra_place_days_supplied": 0.0,
            "extra_place_days_used": 0.0,
            "outreach_days": 0,
            "outreach_spend_gbp": 0.0,
            "arrest_referrals": 0,
            "arrest_referrals_admitted": 0,
            "arrest_referrals_waiting": 0,
            "days": 0,
            "clients_sum": 0.0,
            "waiting_sum": 0.0,
        }

    # delivery ---------------------------------------------------------------
    def is_active(self, day: int) -> bool:
        # Watches until the end of the run: the extra places go when the tactic ends.
        return day >= self.config.start

    def running(self, day: int) -> bool:
        return super().is_active(day)

    def step(self, world: World) -> None:
        day = world.day
        if not self.running(day):
            if self.added and not self.removed:
                self._remove_places(world)
            return
        if not self.added:
            self._add_places(world)
        self._outreach(world)
        if self.config.arrest_referral is not None:
            self._arrest_referral(world)
        self._record(world)

    # effect: capacity -----------------------------------------------------------
    def _add_places(self, world: World) -> None:
        waiting = np.array([len(s.waiting) for s in world.services], dtype=float)
        if self.config.split == "even" or waiting.sum() == 0:
            waiting = np.ones(len(world.services))
        self.extra = share_out(self.config.extra_places, waiting)
        for service, k in zip(world.services, self.extra, strict=True):
            service.places += int(k)
        self.added = True

    def _remove_places(self, world: World) -> None:
        # Clients over the new capacity keep their place until they leave
        # (free_places counts no free place while a site is over capacity).
        for service, k in zip(world.services, self.extra, strict=True):
            service.places = max(0, service.places - int(k))
        self.removed = True

    # effect: outreach -------------------------------------------------------------
    def _outreach(self, world: World) -> None:
        cfg = self.config
        if cfg.outreach_multiplier == 1.0:
            return
        world.levers.treatment_seeking *= cfg.outreach_multiplier
        self.figures["outreach_days"] += 1
        if cfg.outreach_cost_gbp_per_day > 0:
            _spend(world, self.name, "outreach", cfg.outreach_cost_gbp_per_day)
            if world.recording:
                self.figures["outreach_spend_gbp"] += cfg.outreach_cost_gbp_per_day

    # targeting + effect: arrest referral ------------------------------------------
    def _arrest_referral(self, world: World) -> None:
        """Refer users arrested yesterday (for acquisitive crime, or user-dealers for dealing)."""
        u, d = world.users, world.dealers
        now = (u.arrests[: u.n].copy(), d.arrests[: d.n].copy())
        last, self._last_arrests = self._last_arrests, now
        if last is None:
            return
        user_new = np.flatnonzero(now[0] > _padded(last[0], u.n))
        dealer_new = np.flatnonzero(now[1] > _padded(last[1], d.n))
        via_dealing = d.user[dealer_new]
        cand = np.unique(np.concatenate([user_new, via_dealing[via_dealing >= 0]]))
        ok = (u.state[cand] == U.ACTIVE) & u.dependent[cand] & (u.treatment[cand] == U.NO_TREATMENT)
        cand = cand[ok]
        chosen = cand[self.rng.random(cand.size) < self.config.arrest_referral.share]
        for ur in chosen:
            outcome = events.refer_to_treatment(
                world, int(ur), by=self.name, fast_track=self.config.arrest_referral.fast_track
            )
            if outcome == "refused":
                continue
            self.figures["arrest_referrals"] += 1
            self.figures[f"arrest_referrals_{outcome}"] += 1

    # report -----------------------------------------------------------------
    def _record(self, world: World) -> None:
        f = self.figures
        f["days"] += 1
        for service, k in zip(world.services, self.extra, strict=True):
            base = service.places - int(k)
            f["extra_place_days_supplied"] += int(k)
            f["extra_place_days_used"] += float(min(max(len(service.clients) - base, 0), k))
            f["clients_sum"] += len(service.clients)
            f["waiting_sum"] += len(service.waiting)

    def report(self, world: World) -> dict:
        f = self.figures
        cost = load_profile("cost_of_crime_gbp")
        place_day = float(cost.weights[[h.name for h in HARM_TYPES].index("treatment_place_day")])
        days = max(f["days"], 1)
        return {
            "extra_places": self.config.extra_places,
            "extra_places_by_site": [int(k) for k in self.extra],
            "days_running": f["days"],
            "extra_place_days_supplied": f["extra_place_days_supplied"],
            "extra_place_days_used": f["extra_place_days_used"],
            "extra_places_cost_gbp": f["extra_place_days_supplied"] * place_day,
            "mean_clients": f["clients_sum"] / days,
            "mean_waiting": f["waiting_sum"] / days,
            "outreach_days": f["outreach_days"],
            "outreach_spend_gbp": f["outreach_spend_gbp"],
            "arrest_referrals": f["arrest_referrals"],
            "arrest_referrals_admitted": f["arrest_referrals_admitted"],
            "arrest_referrals_waiting": f["arrest_referrals_waiting"],
        }


def share_out(total: int, weights: np.ndarray) -> np.ndarray:
    """Split `total` whole places in proportion to `weights` (largest remainders, ties to the first)."""
    if weights.size == 0:
        return np.zeros(0, dtype=np.int64)
    exact = total * weights / weights.sum()
    out = np.floor(exact).astype(np.int64)
    rest = int(total - out.sum())
    order = np.argsort(-(exact - out), kind="stable")
    out[order[:rest]] += 1
    return out


def _spend(world: World, name: str, what: str, gbp: float) -> None:
    """accounts.spend, working around its lookup of the account by index (a KeyError)."""
    accounts = world.accounts
    try:
        accounts.spend(name, what, gbp)
    except KeyError:
        if accounts.recording:
            acct = accounts.accounts[accounts.names[accounts.index(name)]]
            acct.spend_gbp[what] = acct.spend_gbp.get(what, 0.0) + gbp


def _padded(a: np.ndarray, n: int) -> np.ndarray:
    """Yesterday's counts for today's rows (rows created since start at zero)."""
    if a.size >= n:
        return a[:n]
    return np.concatenate([a, np.zeros(n - a.size, dtype=a.dtype)])
