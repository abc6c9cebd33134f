"""`targeted_deterrence`: focused deterrence of violent crews (Boston Ceasefire).

Targeting: on each call-in day the crews with the most recent known violence
(`targeting.ranked_crews(world, "violence", k)`) are told, face to face, that
violence by any member brings every lever down on the whole crew. Each member
present hears the message with chance `message_reach`; once told, a crew stays
under the regime for the rest of the campaign.

Effect: deterrence. A member who has heard the message weighs the expected
cost of violence, credibility x `lever_severity`, against using it: the world's
violence hazard is multiplied by exp(-deterrent) (`dealers.deterrent`). The
message changes nothing about dealing itself, so volume should hold while
violence falls (design §9 fact 4).

Delivery: follow-through. When a member of a told crew commits violence, the
crew is queued for a response `response_delay` days later; up to
`response_capacity` crews are handled at once, each for `response_days` days
of targeted arrests of its active members (covert units, no street presence;
every arrest also seizes stock, which the world turns into crew debt) and, if
costed, civil orders. Each response delivered raises credibility; without
responses it decays with `credibility_half_life`. Call-ins repeat every
`call_in_every` days. After the campaign ends no one answers violence any more
and the deterrent fades as credibility decays.

Sources: Braga et al. 2001 (seed 001_85a9966099c1cff4.txt ch. 3: youth
homicide -63%); Braga & Weisburd 2012, Braga, Weisburd & Turchan 2018
(pulling-levers meta-analyses: a moderate effect); seed
004_4568d074a54f904a.txt (targeted deterrence openly publicised so that
dealers self-regulate).
"""

from __future__ import annotations

import numpy as np

from marketsim.agents import dealer as D
from marketsim.state import World
from marketsim.tactics import targeting
from marketsim.tactics.base import Tactic
from marketsim.tactics.configs.targeted_deterrence import TargetedDeterrenceConfig
from marketsim.tactics.covert import CovertTime

S001 = "seed 001_85a9966099c1cff4.txt ch. 3"
S004 = "seed 004_4568d074a54f904a.txt"
BRAGA = "Braga et al. 2001 (Ceasefire), in " + S001


BEFORE_DAYS = 90  # the report compares violence this long before the first call-in


class TargetedDeterrence(Tactic):
    Config = TargetedDeterrenceConfig

    def init(self, world: World) -> None:
        self.covert = CovertTime(self.name)
        self.credibility = float(self.config.credibility_start)
        self.notified: dict[int, int] = {}  # crew -> day first called in
        self.heard = np.empty(0, dtype=np.int64)  # dealer rows told
        self.missed = np.empty(0, dtype=np.int64)  # rows that did not hear it last time
        self.applied = np.empty(0)  # deterrent this tactic added to each told row
        self.queue: list[tuple[int, int]] = []  # (due day, crew)
        self.responding: dict[int, int] = {}  # crew -> last day of its response
        self.call_ins: list[dict] = []
        self.follow_throughs: list[dict] = []
        self.credibility_path: list[tuple[int, float]] = []

    # delivery ---------------------------------------------------------------
    def is_active(self, day: int) -> bool:
        # Keeps running after the campaign so credibility can fade. Violence before
        # the start (for before/after) comes from the world's violence log.
        return day >= self.config.start

    def in_campaign(self, day: int) -> bool:
        return super().is_active(day)

    def call_in_due(self, day: int) -> bool:
        cfg = self.config
        if not self.in_campaign(day):
            return False
        if day == cfg.start:
            return True
        return cfg.call_in_every is not None and (day - cfg.start) % cfg.call_in_every == 0

    # step -------------------------------------------------------------------
    def step(self, world: World) -> None:
        day = world.day
        self.covert.settle(world)
        crews = world.dealers.crew[world.violent_today]  # yesterday's incidents (phase 6)
        in_campaign = self.in_campaign(day)
        if self.call_in_due(day):
            self._call_in(world)
        if in_campaign:
            if self.notified:
                members = targeting.crew_members(world, list(self.notified))
                self._tell(members, world.dealers.n, redraw=False)
            self._queue_responses(day, crews)
            self._start_responses(world)
        self.responding = {c: end for c, end in self.responding.items() if end >= day}
        if self.responding:
            self._respond(world)
        self.credibility *= 0.5 ** (1.0 / self.config.credibility_half_life)
        self.credibility_path.append((day, self.credibility))
        self._apply_deterrent(world)

    # targeting: who is called in ---------------------------------------------
    def _call_in(self, world: World) -> None:
        cfg = self.config
        day = world.day
        top = targeting.ranked_crews(world, "violence", cfg.crews_notified)
        for c in top:
            self.notified.setdefault(c, day)
        members = targeting.crew_members(world, list(self.notified))
        told = self._tell(members, world.dealers.n, redraw=True)
        # The call-in's police time: booked like any officer-day, where the crews work.
        world.accounts.add(self.name, "officer_days", cfg.call_in_officer_days)
        if members.size and cfg.call_in_officer_days > 0:
            world.ledger.add(
                "officer_day", world.dealers.cell[members], cfg.call_in_officer_days / members.size
            )
        self.call_ins.append({"day": day, "crews_ranked": top, "members_told": int(told.size)})

    def _tell(self, members: np.ndarray, n_rows: int, redraw: bool) -> np.ndarray:
        """Members of told crews who hear the message (once told, a dealer stays told).

        At a call-in every member not yet told gets a chance `message_reach`; between
        call-ins only newcomers to a told crew do (word passed on within the crew).
        `n_rows`: the dealer rows so far (rows are never reused).
        """
        # Set arithmetic on dealer rows with boolean masks over every row (setdiff1d
        # sorts, and this runs every day); the results are sorted and unique, as before.
        skip = np.zeros(n_rows, dtype=bool)
        skip[self.heard] = True
        if not redraw:
            skip[self.missed] = True
        new = members[~skip[members]]  # members are sorted and unique (crew_members)
        if new.size == 0:  # most days: nobody new to tell, and nothing to draw
            return new
        hears = self.rng.random(new.size) < self.config.message_reach
        told = new[hears]
        missed = np.zeros(n_rows, dtype=bool)
        missed[self.missed] = True
        missed[new[~hears]] = True
        self.missed = np.flatnonzero(missed)
        self.heard = np.concatenate([self.heard, told])
        self.applied = np.concatenate([self.applied, np.zeros(told.size)])
        return told

    # delivery: follow-through -------------------------------------------------
    def _queue_responses(self, day: int, crews: np.ndarray) -> None:
        if crews.size == 0:  # most days: no incident yesterday
            return
        waiting = {c for _, c in self.queue}
        for c in np.unique(crews[crews >= 0]):
            c = int(c)
            if c in self.notified and c not in self.responding and c not in waiting:
                # the incident happened yesterday
                self.queue.append((day - 1 + self.config.response_delay, c))
                waiting.add(c)

    def _start_responses(self, world: World) -> None:
        cfg = self.config
        day = world.day
        still: list[tuple[int, int]] = []
        for due, c in sorted(self.queue):
            if due > day or len(self.responding) >= cfg.response_capacity:
                still.append((due, c))
                continue
            if targeting.crew_members(world, [c]).size == 0:
                continue  # nobody left to respond to
            self.responding[c] = day + cfg.response_days - 1
            self.credibility += cfg.credibility_gain * (1.0 - self.credibility)
            world.accounts.spend(self.name, "civil_orders", cfg.civil_order_cost)
            self.follow_throughs.append({"day": day, "crew": c, "waited": day - due})
        self.queue = still

    # effect ---------------------------------------------------------------------
    def _respond(self, world: World) -> None:
        """Every lever on the crews under response: targeted arrests (seizures follow)."""
        cfg = self.config
        members = targeting.crew_members(world, list(self.responding))
        self.covert.request(
            world,
            units=cfg.response_units * len(self.responding),
            where=world.dealers.cell[members],
            targets=members,
            target_prob=cfg.response_arrest_prob,
        )

    def _apply_deterrent(self, world: World) -> None:
        """Told members weigh expected cost (credibility x severity) against violence."""
        if self.heard.size == 0:
            return
        value = self.credibility * self.config.lever_severity
        d = world.dealers
        d.deterrent[self.heard] = np.maximum(0.0, d.deterrent[self.heard] + value - self.applied)
        self.applied[:] = value

    def finalize(self, world: World) -> None:
        self.covert.settle(world)

    # report -----------------------------------------------------------------
    def report(self, world: World) -> dict:
        cfg = self.config
        # (day, crew) of each incident from BEFORE_DAYS before the start
        watch_from = max(0, cfg.start - BEFORE_DAYS)
        first = watch_from if world.day > watch_from else cfg.start
        inc = np.array(
            [(day, c) for day, _, _, crews in world.violence_log if day >= first for c in crews],
            dtype=np.int64,
        ).reshape(-1, 2)
        stop = world.day if cfg.duration is None else min(world.day, cfg.start + cfg.duration)
        cohort = [c for c, d in self.notified.items() if d == cfg.start]
        path = np.array([c for _, c in self.credibility_path])
        out = {
            "call_ins": len(self.call_ins),
            "crews_notified": len(self.notified),
            "members_told": int(self.heard.size),
            "told_still_active": int((world.dealers.state[self.heard] == D.ACTIVE).sum()),
            "follow_throughs": len(self.follow_throughs),
            "follow_through_mean_wait_days": (
                float(np.mean([f["waited"] for f in self.follow_throughs]))
                if self.follow_throughs
                else None
            ),
            "responses_still_queued": len(self.queue),
            "covert_officer_days": self.covert.officer_days,
            "credibility": None
            if path.size == 0
            else {
                "start": cfg.credibility_start,
                "min": float(path.min()),
                "max": float(path.max()),
                "mean": float(path.mean()),
                "final": float(path[-1]),
                "every_30_days": [round(float(c), 3) for c in path[::30]],
            },
            # Incidents a day by the crews told at the first call-in, and by every
            # dealer outside any told crew, before the first call-in and during the
            # campaign. Crews are chosen for recent violence, so part of any fall is
            # regression to the mean: compare with a baseline run on the same seed.
            "violence_per_day": {
                "before_days": cfg.start - first,
                "first_call_in_crews_before": _rate(inc, cohort, first, cfg.start),
                "first_call_in_crews_during": _rate(inc, cohort, cfg.start, stop),
                "never_told_before": _rate(inc, list(self.notified), first, cfg.start, True),
                "never_told_during": _rate(inc, list(self.notified), cfg.start, stop, True),
            },
            "call_in_log": self.call_ins,
        }
        return out


def _rate(inc: np.ndarray, crews: list[int], a: int, b: int, exclude: bool = False) -> float | None:
    """Incidents a day on days [a, b) by members of `crews` (or by everyone else)."""
    if b <= a:
        return None
    in_crews = np.isin(inc[:, 1], np.asarray(crews, dtype=np.int64))
    if exclude:
        in_crews = ~in_crews
    when = (inc[:, 0] >= a) & (inc[:, 0] < b)
    return float((in_crews & when).sum()) / (b - a)
