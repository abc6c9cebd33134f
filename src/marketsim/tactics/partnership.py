"""`partnership`: a multi-agency package of tactics plus community engagement.

Operation Nemesis (seed 000 Box C; seed 001 App. B) combined enforcement with
treatment, housing and community work. Here the package's parts are any other
tactics, configured in the same YAML under `parts:`, each with its own start and
duration; the partnership adds community engagement, which lowers residents'
fear and raises their reporting (more detection of dealing, more acquisitive
offences solved). Each part keeps its own account, named `<partnership>/<part>`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from marketsim.state import World
from marketsim.tactics.base import Tactic
from marketsim.tactics.configs.partnership import PartnershipConfig
from marketsim.tactics.parts import PARTS

if TYPE_CHECKING:
    from marketsim.scenario import Scenario

S000 = "seed 000_ecf4d41f2042e744.txt"


class Partnership(Tactic):
    """Runs its parts as tactics in their own right, and adds engagement while it is active."""

    Config = PartnershipConfig

    def init(self, world: World) -> None:
        self.parts: list[Tactic] = []
        for j, cfg in enumerate(self.config.parts):
            label = f"{self.name}/{cfg.label}"
            part = PARTS[cfg.type](
                cfg.model_copy(update={"name": label}),
                world.streams[f"tactic:{label}"],
                f"{self.where}.parts[{j}]",
            )
            world.accounts.index(label)
            part.init(world)
            self.parts.append(part)

    @classmethod
    def first_day(cls, config: PartnershipConfig, scenario: Scenario) -> int:
        parts = [PARTS[p.type].first_day(p, scenario) for p in config.parts]
        return min([config.start, *parts])

    def is_active(self, day: int) -> bool:
        # Parts keep their own calendars; the partnership is stepped whenever any may act.
        return super().is_active(day) or any(p.is_active(day) for p in self.parts)

    def step(self, world: World) -> None:
        engagement = self.config.engagement
        if engagement is not None and super().is_active(world.day):
            world.levers.fear_relief = 1.0 - (1.0 - world.levers.fear_relief) * (
                1.0 - engagement.fear_relief
            )
            world.levers.detection *= engagement.reporting
            world.levers.crime_reporting *= engagement.reporting
            world.accounts.spend(self.name, "community engagement", engagement.cost_gbp_per_day)
        for part in self.parts:
            if part.is_active(world.day):
                part.step(world)

    def finalize(self, world: World) -> None:
        for part in self.parts:
            part.finalize(world)

    def report(self, world: World) -> dict:
        return {"parts": {p.name: {"type": p.config.type, **p.report(world)} for p in self.parts}}
