"""The tactic interface: pluggable interventions with init/step/finalize.

A tactic keeps three things apart (design §5):
- *targeting*: which cells, people or behaviours it acts on (area, ranked
  dealers or crews, a behaviour such as open dealing or violence);
- *delivery*: when and how it is delivered (start, duration, rotation);
- *effect*: what happens to those targeted (presence and arrest, warning,
  diversion, guardianship).

Tactics act on the world only through `world.police.request(Order(...))` and the
public methods of the world's populations and town, so that one tactic's logic
never reaches into another's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import numpy as np

from marketsim.agents.police import Order
from marketsim.state import World
from marketsim.tactics.configs.base import TacticConfig

if TYPE_CHECKING:
    from marketsim.scenario import Scenario


class Tactic:
    """Base class. Subclasses set `Config` and override the three hooks."""

    Config: ClassVar[type[TacticConfig]] = TacticConfig

    def __init__(self, config: TacticConfig, rng: np.random.Generator, where: str = ""):
        self.config = config
        self.name = config.label
        self.rng = rng
        # The tactic as the scenario file has it (tactics[1], tactics[1].parts[0]): what
        # only building the town finds (an area outside a raster town) names it so.
        self.where = where or f"tactics.{self.name}"

    # delivery
    @classmethod
    def first_day(cls, config: TacticConfig, scenario: Scenario) -> int:
        """The first day `is_active` can be true (negative days are burn-in).

        Before it the tactic has drawn no random number, booked nothing and changed
        nothing, so runs that differ only in tactics not yet begun share their state
        up to the earliest such day (burnin.py). A subclass that overrides
        `is_active` overrides this with it (tests/test_burnin.py checks they agree).
        """
        return -scenario.burn_in if config.acts_in_burn_in else config.start

    def is_active(self, day: int) -> bool:
        """Whether the tactic acts on this recorded day (negative days are burn-in)."""
        cfg = self.config
        if day < cfg.start:
            return False
        return cfg.duration is None or day < cfg.start + cfg.duration

    # hooks
    def init(self, world: World) -> None:
        """Called once after the town and agents exist, before burn-in."""

    def step(self, world: World) -> None:
        """Called each day the tactic is active, before police deploy."""

    def finalize(self, world: World) -> None:
        """Called once after the last day."""

    def report(self, world: World) -> dict:
        """Tactic-specific results for summary.json (e.g. re-offending of the diverted)."""
        return {}


__all__ = ["Order", "Tactic", "TacticConfig"]
