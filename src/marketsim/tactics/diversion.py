"""`diversion`: test purchases find user-dealers, who are offered fast-track treatment.

Operation Reduction (Brighton; seed 001 ch. 3 and Table 3.2) ran continuous
cycles of covert test purchasing with an arrest phase every eight weeks; the
user-dealers identified ("essentially users funding their drug habit through
drug sales") were offered a fast-track route into treatment instead of arrest,
and the other sellers were arrested. LEAD in Seattle (Collins et al. 2017)
diverted people at the point of arrest and found 58% lower odds of re-arrest;
seed 003 finds police open to diverting user-dealers.

Targeting: the sellers covert officers buy from in an area (open dealers
readily, closed dealers only through introductions). Delivery: test purchases
every day; an arrest day every `cycle_days` acts on everyone identified in the
cycle. Effect: each identified user-dealer is offered fast-track treatment;
acceptance diverts them (off the street, into treatment or to the head of the
waiting list), refusal leads to arrest; everyone else identified is arrested.

The report compares the diverted with the arrested user-dealers (whether a
user-dealer accepts is a random draw, so the two groups are comparable):
re-arrests and acquisitive crimes per person-year after the arrest day, and
the diverted's treatment retention.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from marketsim import events
from marketsim.agents import dealer as D
from marketsim.agents import user as U
from marketsim.rng import weighted_choice
from marketsim.state import World
from marketsim.tactics.base import Order, Tactic
from marketsim.tactics.configs.diversion import DiversionConfig
from marketsim.tactics.targeting import area_cells

S001 = "seed 001_85a9966099c1cff4.txt"
S003 = "seed 003_f1d980d3e2135e00.txt"
RETAINED_DAYS = 84  # 12 weeks: the usual UK threshold for "retained in treatment" (NTORS)


@dataclass
class Person:
    """A user-dealer diverted or arrested on an arrest day, followed to the end of the run."""

    user: int
    dealer: int
    group: Literal["diverted", "arrested"]
    reason: str  # admitted | waiting | already_in_treatment | refused | no_place | not_referable
    day: int
    arrests0: int  # user's recorded arrests (acquisitive crime) after the event
    dealer_arrests0: int  # dealer row's arrests after the event (the arrest itself included)
    crimes0: int
    alive_days: int = 0
    liberty_days: int = 0  # alive and not in custody
    tx_days: int = 0
    waited_from: int | None = None  # day joined the waiting list (diverted, no place free)
    admitted_day: int | None = None
    in_tx_yesterday: bool = False
    completed: bool = False
    dropped_out: bool = False
    returned_to_dealing: bool = False


class Diversion(Tactic):
    Config = DiversionConfig

    def init(self, world: World) -> None:
        self.cells = area_cells(world, self.config.area, f"{self.where}.area")
        self.in_area = np.zeros(world.town.n_cells, dtype=bool)
        self.in_area[self.cells] = True
        self.identified: dict[int, int] = {}  # dealer row -> day first bought from this cycle
        self.offered_users: set[int] = set()  # one offer per person
        self.people: list[Person] = []
        self.counts = {
            "test_purchases": 0,
            "sellers_identified": 0,
            "user_dealers_identified": 0,
            "arrest_days": 0,
            "gone_before_arrest_day": 0,
            "offers": 0,
            "accepted": 0,
            "refused": 0,
            "diverted": 0,
            "arrested_other_dealers": 0,
            "arrested_after_earlier_offer": 0,
            "offers_while_no_place": 0,
            "held_on_waiting_list": 0,
            "fell_back_to_arrest": 0,
            "returned_to_dealing": 0,
        }

    # delivery ---------------------------------------------------------------
    def is_active(self, day: int) -> bool:
        # Follow-up of the diverted and arrested continues after the operation ends.
        return day >= self.config.start

    def in_operation(self, day: int) -> bool:
        return super().is_active(day)

    def is_arrest_day(self, day: int) -> bool:
        """Every `cycle_days` from the start, and the last day of a time-limited operation."""
        cfg = self.config
        if not self.in_operation(day):
            return False
        elapsed = day - cfg.start + 1
        last = cfg.duration is not None and day == cfg.start + cfg.duration - 1
        return elapsed % cfg.cycle_days == 0 or last

    # step -------------------------------------------------------------------
    def step(self, world: World) -> None:
        self._follow(world)
        day = world.day
        if not self.in_operation(day):
            return
        self._test_purchases(world)
        if self.is_arrest_day(day):
            self._arrest_day(world)

    # targeting: who the covert officers buy from -------------------------------
    def _test_purchases(self, world: World) -> None:
        cfg = self.config
        world.police.request(
            Order(
                tactic=self.name,
                units=cfg.officers,
                cells=self.cells,
                visible=False,
                effect="deter",
            )
        )
        n = int(self.rng.poisson(cfg.test_purchases_per_day)) if cfg.test_purchases_per_day else 0
        if n == 0:
            return
        d = world.dealers
        act = d.active()
        sellers = act[self.in_area[d.cell[act]]]
        if sellers.size == 0:
            return
        w = np.where(d.open[sellers], 1.0, cfg.closed_reach)
        if w.sum() <= 0:
            return
        bought = sellers[weighted_choice(self.rng, w / w.sum(), n)]
        world.tally.add("test_purchases", d.cell[bought])
        self.counts["test_purchases"] += n
        for r in bought:
            self.identified.setdefault(int(r), world.day)

    # effect: arrest day -------------------------------------------------------
    def _arrest_day(self, world: World) -> None:
        d = world.dealers
        self.counts["arrest_days"] += 1
        rows = sorted(self.identified, key=lambda r: (self.identified[r], r))
        self.identified = {}
        self.counts["sellers_identified"] += len(rows)
        live = [r for r in rows if d.state[r] == D.ACTIVE]
        self.counts["gone_before_arrest_day"] += len(rows) - len(live)
        if self.config.arrest_team and live:
            world.police.request(
                Order(
                    tactic=self.name,
                    units=self.config.arrest_team,
                    cells=np.unique(d.cell[np.array(live)]),
                    visible=True,
                    effect="deter",
                )
            )
        for r in live:
            ur = int(d.user[r])
            if d.tier[r] == D.USER_DEALER and ur >= 0 and ur not in self.offered_users:
                self.counts["user_dealers_identified"] += 1
                self._offer(world, r, ur)
            elif d.tier[r] == D.USER_DEALER and ur >= 0:  # one offer per person
                self._arrest(world, r)
                self.counts["arrested_after_earlier_offer"] += 1
            else:
                self._arrest(world, r)
                self.counts["arrested_other_dealers"] += 1

    def _offer(self, world: World, r: int, ur: int) -> None:
        u, c = world.users, self.counts
        self.offered_users.add(ur)
        c["offers"] += 1
        if self.rng.random() >= self.config.acceptance:
            c["refused"] += 1
            self._arrest(world, r)
            self._track(world, r, ur, "arrested", "refused")
            return
        c["accepted"] += 1
        if u.treatment[ur] == U.IN_TREATMENT:
            self._divert(world, r, ur, "already_in_treatment")
            return
        if u.state[ur] != U.ACTIVE:  # cannot be referred: the offer lapses
            self._arrest(world, r)
            self._track(world, r, ur, "arrested", "not_referable")
            return
        if any(s.free_places > 0 for s in world.services):
            events.refer_to_treatment(world, ur, by=self.name, fast_track=True)
            self._divert(world, r, ur, "admitted")
            return
        # No free place anywhere: the waiting list decides.
        c["offers_while_no_place"] += 1
        if self.config.hold_if_no_place:
            events.refer_to_treatment(world, ur, by=self.name, fast_track=True)
            c["held_on_waiting_list"] += 1
            person = self._divert(world, r, ur, "waiting")
            person.waited_from = world.day
        else:
            c["fell_back_to_arrest"] += 1
            self._arrest(world, r)
            self._track(world, r, ur, "arrested", "no_place")

    def _divert(self, world: World, r: int, ur: int, reason: str) -> Person:
        events.divert_dealer(world, r)
        self.counts["diverted"] += 1
        return self._track(world, r, ur, "diverted", reason)

    def _arrest(self, world: World, r: int) -> None:
        events.arrest_dealer(world, r, self.rng, by=self.name)

    def _track(self, world: World, r: int, ur: int, group, reason: str) -> Person:
        u, d = world.users, world.dealers
        person = Person(
            user=ur,
            dealer=r,
            group=group,
            reason=reason,
            day=world.day,
            arrests0=int(u.arrests[ur]),
            dealer_arrests0=int(d.arrests[r]),
            crimes0=int(u.crimes[ur]),
        )
        self.people.append(person)
        return person

    # follow-up: liberty, treatment retention, return to dealing ------------------
    def _follow(self, world: World) -> None:
        u, d = world.users, world.dealers
        # Everyone's state and treatment read at once (nothing below changes them).
        rows = np.array([p.user for p in self.people], dtype=np.int64)
        states, treatments = u.state[rows].tolist(), u.treatment[rows].tolist()
        for p, state, treatment in zip(self.people, states, treatments, strict=True):
            if state == U.DEAD:
                continue
            p.alive_days += 1
            if state != U.PRISON:
                p.liberty_days += 1
            if p.group != "diverted":
                continue
            in_tx = treatment == U.IN_TREATMENT
            if treatment == U.COMPLETED:
                p.completed = True
            if in_tx:
                p.tx_days += 1
                if p.admitted_day is None:
                    p.admitted_day = int(u.treatment_day[p.user])
            elif p.in_tx_yesterday and state == U.ACTIVE and treatment == U.NO_TREATMENT:
                p.dropped_out = True
                if (
                    not p.returned_to_dealing
                    and d.state[p.dealer] == D.DIVERTED
                    and d.user[p.dealer] == p.user
                    and self.rng.random() < self.config.return_to_dealing
                ):
                    self._back_to_dealing(world, p)
            p.in_tx_yesterday = in_tx

    def _back_to_dealing(self, world: World, p: Person) -> None:
        """A diverted user-dealer who dropped out resumes dealing from the old pitch."""
        events.resume_dealing(world, p.dealer, world.dealers.cell[p.dealer])
        p.returned_to_dealing = True
        self.counts["returned_to_dealing"] += 1

    # report -----------------------------------------------------------------
    def report(self, world: World) -> dict:
        u, d = world.users, world.dealers
        groups = {}
        for name in ("diverted", "arrested"):
            people = [p for p in self.people if p.group == name]
            groups[name] = _group_figures(people, u, d)
        div = [p for p in self.people if p.group == "diverted"]
        groups["diverted"]["treatment"] = _retention(div, u, world.day)
        ratio = {}
        for key in ("re_arrests_per_person_year", "acquisitive_crimes_per_person_year"):
            a, b = groups["diverted"][key], groups["arrested"][key]
            ratio[key] = (a / b) if (a is not None and b) else None
        groups["diverted_vs_arrested"] = ratio
        waited = [p for p in div if p.waited_from is not None]
        waits = [p.admitted_day - p.waited_from for p in waited if p.admitted_day is not None]
        no_place = {
            "offers_while_no_place": self.counts["offers_while_no_place"],
            "held_on_waiting_list": self.counts["held_on_waiting_list"],
            "fell_back_to_arrest": self.counts["fell_back_to_arrest"],
            "admitted_after_waiting": len(waits),
            "still_waiting_at_end": sum(
                1 for p in waited if p.admitted_day is None and u.treatment[p.user] == U.WAITING
            ),
            "wait_days_mean": float(np.mean(waits)) if waits else None,
            "wait_days_median": float(np.median(waits)) if waits else None,
            "wait_days_max": int(max(waits)) if waits else None,
        }
        arrested = groups["arrested"]["people"] + self.counts["arrested_after_earlier_offer"]
        return {
            **{k: v for k, v in self.counts.items() if k not in no_place},
            "arrested_user_dealers": arrested,
            "when_no_place_was_free": no_place,
            "reoffending": groups,
            "pending_identified": len(self.identified),
        }


def _group_figures(people: list[Person], u, d) -> dict:
    """Re-arrests (acquisitive crime and dealing) and acquisitive crimes after the event."""
    n = len(people)
    if n == 0:
        return {
            "people": 0,
            "person_years": 0.0,
            "person_years_at_liberty": 0.0,
            "re_arrests": 0,
            "acquisitive_crimes": 0,
            "re_arrests_per_person_year": None,
            "acquisitive_crimes_per_person_year": None,
            "re_arrests_per_person_year_at_liberty": None,
            "acquisitive_crimes_per_person_year_at_liberty": None,
            "share_re_arrested": None,
            "by_reason": {},
        }
    re_arrests = np.array(
        [
            (int(u.arrests[p.user]) - p.arrests0) + (int(d.arrests[p.dealer]) - p.dealer_arrests0)
            for p in people
        ]
    )
    crimes = np.array([int(u.crimes[p.user]) - p.crimes0 for p in people])
    years = sum(p.alive_days for p in people) / 365.0
    free_years = sum(p.liberty_days for p in people) / 365.0

    def rate(x: np.ndarray, y: float) -> float | None:
        return float(x.sum() / y) if y > 0 else None

    return {
        "people": n,
        "person_years": years,
        "person_years_at_liberty": free_years,
        "re_arrests": int(re_arrests.sum()),
        "acquisitive_crimes": int(crimes.sum()),
        "re_arrests_per_person_year": rate(re_arrests, years),
        "acquisitive_crimes_per_person_year": rate(crimes, years),
        "re_arrests_per_person_year_at_liberty": rate(re_arrests, free_years),
        "acquisitive_crimes_per_person_year_at_liberty": rate(crimes, free_years),
        "share_re_arrested": float((re_arrests > 0).mean()),
        "by_reason": {
            r: sum(1 for p in people if p.reason == r) for r in sorted({p.reason for p in people})
        },
    }


def _retention(people: list[Person], u, today: int) -> dict:
    """Treatment of the diverted: admission, completion, drop-out, 12-week retention."""
    admitted = [p for p in people if p.admitted_day is not None]
    n = len(admitted)
    # 12-week retention among those admitted at least 12 weeks before the end.
    eligible = [p for p in admitted if today - p.admitted_day >= RETAINED_DAYS]
    retained = sum(1 for p in eligible if p.tx_days >= RETAINED_DAYS or p.completed)
    return {
        "admitted": n,
        "never_admitted": len(people) - n,
        "completed": sum(1 for p in admitted if p.completed),
        "in_treatment_at_end": sum(1 for p in admitted if u.treatment[p.user] == U.IN_TREATMENT),
        "dropped_out": sum(1 for p in admitted if p.dropped_out),
        "returned_to_dealing": sum(1 for p in people if p.returned_to_dealing),
        "retained_12_weeks_share": (retained / len(eligible)) if eligible else None,
        "mean_days_in_treatment": float(np.mean([p.tx_days for p in admitted])) if n else None,
    }
