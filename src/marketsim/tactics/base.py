"""The tactic interface: pluggable interventions with init/step/finalize.

A tactic keeps three things apart (design §5):
- *targeting*: which cells, people or behaviours it acts on (area, ranked
  dealers or crews, a behaviour such as open dealing or violence);
- *delivery*: when and how it is delivered (start, duration, rotation);
- *effect*: what happens to those targeted (presence and arrest, warning,
  diversion, guardianship).

Tactics act on the model only through `model.police.request(Order(...))` and the
public methods of the model's populations and town, so that one tactic's logic
never reaches into another's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from marketsim.params import Section, param

if TYPE_CHECKING:
    from marketsim.model import MarketModel
    from marketsim.scenario import Scenario


ARREST_PRIORITIES = ("any", "open_first", "harm")
EFFECTS = ("arrest", "divert", "deter")


class TacticConfig(Section):
    """Fields every tactic has: its type, an optional name, and its delivery window."""

    type: str = param("", unit="-", doc="tactic type (the registry key)")
    name: str | None = param(None, unit="-", doc="unique label; defaults to the type")
    start: int = param(
        0, ge=0, le=36500, unit="day", doc="first day, counted from the end of burn-in"
    )
    duration: int | None = param(
        None, ge=1, le=36500, unit="days", doc="days it runs (none: to the end)"
    )

    @property
    def label(self) -> str:
        return self.name or self.type


@dataclass
class Order:
    """A day's request for police time from one tactic.

    `cells` are flat cell indices to cover (area targeting); `weights` how to
    share visits between them. `targets` are dealer rows for individual or crew
    targeting. `effect` says what officers do on detection.
    """

    tactic: str
    units: int | None  # None: all units not claimed by other orders
    cells: np.ndarray
    weights: np.ndarray | None = None
    visible: bool = True
    effect: str = "arrest"
    arrest_priority: str = "any"
    cells_per_unit: int | None = None  # None: the police beat length
    targets: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    target_prob: float = 0.0  # daily arrest chance of each target (covert investigation)
    raid: bool = False  # visible raid: raises residents' fear (enforcement harm)
    on_detect: Callable[[MarketModel, np.ndarray], np.ndarray] | None = None
    # on_detect lets a tactic handle detected dealers itself (e.g. divert
    # user-dealers); it returns the rows still to be arrested.


class Tactic:
    """Base class. Subclasses set `Config` and override the three hooks."""

    Config: ClassVar[type[TacticConfig]] = TacticConfig
    # Whether the tactic acts during burn-in. Only those that do shape the
    # state at day 0; experiments share that state between runs (burnin.py).
    acts_in_burn_in: ClassVar[bool] = False

    def __init__(self, config: TacticConfig, rng: np.random.Generator):
        self.config = config
        self.name = config.label
        self.rng = rng

    # delivery
    @classmethod
    def first_day(cls, config: TacticConfig, scenario: Scenario) -> int:
        """The first day `is_active` can be true (negative days are burn-in).

        Before it the tactic has drawn no random number, booked nothing and changed
        nothing, so runs that differ only in tactics not yet begun share their state
        up to the earliest such day (burnin.py). A subclass that overrides
        `is_active` overrides this with it (tests/test_burnin.py checks they agree).
        """
        return -scenario.burn_in if cls.acts_in_burn_in else config.start

    def is_active(self, day: int) -> bool:
        """Whether the tactic acts on this recorded day (negative days are burn-in)."""
        cfg = self.config
        if day < cfg.start:
            return False
        return cfg.duration is None or day < cfg.start + cfg.duration

    # hooks
    def init(self, model: MarketModel) -> None:
        """Called once after the town and agents exist, before burn-in."""

    def step(self, model: MarketModel) -> None:
        """Called each day the tactic is active, before police deploy."""

    def finalize(self, model: MarketModel) -> None:
        """Called once after the last day."""

    def report(self, model: MarketModel) -> dict:
        """Tactic-specific results for summary.json (e.g. re-offending of the diverted)."""
        return {}
