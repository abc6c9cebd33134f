"""`crackdown`: intense presence and arrests in an area for a set time.

Effect: high-visibility presence with arrest on sight (a raid adds residents'
fear). Delivery: a campaign from `start` for `duration` days, optionally in
on/off cycles (back-off), rotated across several sites (Sherman 1990), and
with follow-up policing at the first sign of the market coming back (the
Derbyshire lesson, seed 001 App. B). Targeting: an area (the target region by
default), arresting open dealers first, anyone, or the most harmful first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from marketsim.state import World
from marketsim.tactics.base import Order, Tactic
from marketsim.tactics.configs.crackdown import CrackdownConfig
from marketsim.tactics.targeting import area_cells

if TYPE_CHECKING:
    from marketsim.scenario import Scenario

S001 = "seed 001_85a9966099c1cff4.txt"


class Crackdown(Tactic):
    Config = CrackdownConfig

    def init(self, world: World) -> None:
        cfg = self.config
        if cfg.sites:
            self.sites = [
                area_cells(world, s, f"{self.where}.sites[{k}]") for k, s in enumerate(cfg.sites)
            ]
        else:
            self.sites = [area_cells(world, cfg.area, f"{self.where}.area")]
        self.all_cells = np.unique(np.concatenate(self.sites))
        self.before_level: float | None = None
        self.follow_until = -1
        self.open_sales_history: list[float] = []

    # delivery ---------------------------------------------------------------
    WATCH_DAYS = 30  # days of open dealing observed before the start, for follow-up

    @classmethod
    def first_day(cls, config: CrackdownConfig, scenario: Scenario) -> int:
        return cls.watch_start(config) if config.follow_up is not None else config.start

    @classmethod
    def watch_start(cls, config: CrackdownConfig) -> int:
        """With follow-up, the first day the area's open dealing is watched."""
        return max(0, config.start - cls.WATCH_DAYS)

    def is_active(self, day: int) -> bool:
        # With follow-up, the tactic watches the area from a month before it starts
        # until the end of the run; otherwise it acts only during the campaign.
        if self.config.follow_up is not None:
            return day >= self.watch_start(self.config)
        return self.in_campaign(day)

    def in_campaign(self, day: int) -> bool:
        cfg = self.config
        if day < cfg.start or (cfg.duration is not None and day >= cfg.start + cfg.duration):
            return False
        if cfg.back_off is None:
            return True
        cycle = cfg.back_off.on_days + cfg.back_off.off_days
        return (day - cfg.start) % cycle < cfg.back_off.on_days

    def site_today(self, day: int) -> np.ndarray:
        k = ((day - self.config.start) // self.config.rotate_every) % len(self.sites)
        return self.sites[k]

    # step -------------------------------------------------------------------
    def step(self, world: World) -> None:
        cfg = self.config
        day = world.day
        if self.config.follow_up is not None:
            self._watch(world)
        if self.in_campaign(day):
            self._deploy(
                world,
                self.site_today(day),
                cfg.intensity,
                raid=cfg.raid,
                attention=self.attention(day),
            )
        elif cfg.follow_up is not None and self._campaign_over(day):
            if day >= self.follow_until and self._market_returning():
                self.follow_until = day + cfg.follow_up.days
            if day < self.follow_until:  # basic policing: fresh officers, no raids
                self._deploy(world, self.all_cells, cfg.follow_up.units)

    def attention(self, day: int) -> float:
        """Share of the officers' time spent looking for dealers, after unbroken days on site.

        A crackdown is hard to sustain at full strength (Sherman 1990; UKDPC 2009 ch. 4):
        officers on the same few streets day after day look less hard, and are pulled to
        other work. The attention above `attention_floor` halves every
        `attention_halflife` days of unbroken campaign at one site; moving to the next
        site of a rotation, or a back-off break, restores it (Sherman's reasons to rotate
        and to back off). ODD 7.11.
        """
        cfg = self.config
        if cfg.attention_halflife is None:
            return 1.0
        days = day - cfg.start
        if len(self.sites) > 1:
            days %= cfg.rotate_every
        if cfg.back_off is not None:
            days = min(days, (day - cfg.start) % (cfg.back_off.on_days + cfg.back_off.off_days))
        floor = cfg.attention_floor
        return floor + (1.0 - floor) * 0.5 ** (days / cfg.attention_halflife)

    def _deploy(
        self,
        world: World,
        cells: np.ndarray,
        units: int,
        raid: bool = False,
        attention: float = 1.0,
    ) -> None:
        world.police.request(
            Order(
                tactic=self.name,
                units=units,
                cells=cells,
                cells_per_unit=self.config.cells_per_unit,
                arrest_priority=self.config.arrest_priority,
                raid=raid,
                attention=attention,
            )
        )

    def _campaign_over(self, day: int) -> bool:
        cfg = self.config
        return cfg.duration is not None and day >= cfg.start + cfg.duration

    def _watch(self, world: World) -> None:
        """Record yesterday's open sales in the area (today's trade comes later)."""
        self.open_sales_history.append(float(world.open_sales_yesterday[self.all_cells].sum()))
        if world.day == self.config.start:
            before = self.open_sales_history[:-1] or self.open_sales_history
            self.before_level = float(np.mean(before))

    def _market_returning(self) -> bool:
        if not self.before_level:
            return False
        recent = float(np.mean(self.open_sales_history[-7:]))
        return recent >= self.config.follow_up.trigger * self.before_level
