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

from typing import TYPE_CHECKING, Literal

import numpy as np

from marketsim.agents import user as U
from marketsim.harms import HARM_TYPES, load_profile
from marketsim.params import Section, param
from marketsim.tactics.base import Tactic, TacticConfig

if TYPE_CHECKING:
    from marketsim.model import MarketModel

S001 = "seed 001_85a9966099c1cff4.txt"


class ArrestReferral(Section):
    share: float = param(
        0.4,
        ge=0,
        le=1,
        unit="probability",
        doc="arrested dependent users (not in custody, not already on a list) who are referred",
        source=f"{S001} App. B, Iceberg: every person in custody reviewed; judgement",
    )
    fast_track: bool = param(
        False, unit="-", doc="referrals go to the head of the waiting list instead of the tail"
    )


class TreatmentExpansionConfig(TacticConfig):
    type: Literal["treatment_expansion"] = "treatment_expansion"
    extra_places: int = param(
        30,
        ge=0,
        le=100000,
        unit="places",
        doc="places added across the treatment sites (see split) while the tactic runs",
        source=f"{S001} App. B, Nemesis: treatment expanded to cut waiting lists; judgement",
    )
    outreach_multiplier: float = param(
        1.5,
        ge=1,
        le=20,
        unit="x daily seeking",
        doc="multiplier on dependent users' daily chance of asking for treatment",
        source=f"{S001} App. B, Iceberg: arrest referrals +76% in year one; judgement",
    )
    outreach_cost_gbp_per_day: float = param(
        300.0,
        ge=0,
        le=1e7,
        unit="GBP per day",
        doc="outreach workers' cost each day outreach runs (multiplier above 1)",
        source="judgement: two outreach workers at about GBP 150 a day",
    )
    split: Literal["waiting", "even"] = param(
        "waiting",
        unit="-",
        doc="how extra places are shared between sites: in proportion to each site's waiting "
        "list on the first day (evenly if nobody waits), or evenly",
        source=f"{S001} App. B, Nemesis: places added to cut waiting lists",
    )
    arrest_referral: ArrestReferral | None = param(
        None, unit="-", doc="refer users arrested by any tactic (arrest referral, DIP)"
    )


class TreatmentExpansion(Tactic):
    Config = TreatmentExpansionConfig

    def init(self, model: MarketModel) -> None:
        self.extra = np.zeros(len(model.services), dtype=np.int64)  # set on the first day
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

    def step(self, model: MarketModel) -> None:
        day = model.day
        if not self.running(day):
            if self.added and not self.removed:
                self._remove_places(model)
            return
        if not self.added:
            self._add_places(model)
        self._outreach(model)
        if self.config.arrest_referral is not None:
            self._arrest_referral(model)
        self._record(model)

    # effect: capacity -----------------------------------------------------------
    def _add_places(self, model: MarketModel) -> None:
        waiting = np.array([len(s.waiting) for s in model.services], dtype=float)
        if self.config.split == "even" or waiting.sum() == 0:
            waiting = np.ones(len(model.services))
        self.extra = share_out(self.config.extra_places, waiting)
        for service, k in zip(model.services, self.extra, strict=True):
            service.places += int(k)
        self.added = True

    def _remove_places(self, model: MarketModel) -> None:
        # Clients over the new capacity keep their place until they leave
        # (free_places counts no free place while a site is over capacity).
        for service, k in zip(model.services, self.extra, strict=True):
            service.places = max(0, service.places - int(k))
        self.removed = True

    # effect: outreach -------------------------------------------------------------
    def _outreach(self, model: MarketModel) -> None:
        cfg = self.config
        if cfg.outreach_multiplier == 1.0:
            return
        model.levers.treatment_seeking *= cfg.outreach_multiplier
        self.figures["outreach_days"] += 1
        if cfg.outreach_cost_gbp_per_day > 0:
            _spend(model, self.name, "outreach", cfg.outreach_cost_gbp_per_day)
            if model.recording:
                self.figures["outreach_spend_gbp"] += cfg.outreach_cost_gbp_per_day

    # targeting + effect: arrest referral ------------------------------------------
    def _arrest_referral(self, model: MarketModel) -> None:
        """Refer users arrested yesterday (for acquisitive crime, or user-dealers for dealing)."""
        u, d = model.users, model.dealers
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
            outcome = model.refer_to_treatment(
                int(ur), by=self.name, fast_track=self.config.arrest_referral.fast_track
            )
            if outcome == "refused":
                continue
            self.figures["arrest_referrals"] += 1
            self.figures[f"arrest_referrals_{outcome}"] += 1

    # report -----------------------------------------------------------------
    def _record(self, model: MarketModel) -> None:
        f = self.figures
        f["days"] += 1
        for service, k in zip(model.services, self.extra, strict=True):
            base = service.places - int(k)
            f["extra_place_days_supplied"] += int(k)
            f["extra_place_days_used"] += float(np.clip(len(service.clients) - base, 0, k))
            f["clients_sum"] += len(service.clients)
            f["waiting_sum"] += len(service.waiting)

    def report(self, model: MarketModel) -> dict:
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


def _spend(model: MarketModel, name: str, what: str, gbp: float) -> None:
    """accounts.spend, working around its lookup of the account by index (a KeyError)."""
    accounts = model.accounts
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
