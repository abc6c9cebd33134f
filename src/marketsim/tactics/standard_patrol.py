"""`standard_patrol`: random patrol with arrest on sight, the baseline.

Mazerolle et al. (2007) call this the "standard model" of policing: officers
spread over the town in proportion to calls for service, arresting dealing they
happen to see. It runs during burn-in as well, so the market settles under it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import numpy as np

from marketsim.params import param
from marketsim.tactics.base import Order, Tactic, TacticConfig

if TYPE_CHECKING:
    from marketsim.model import MarketModel


class StandardPatrolConfig(TacticConfig):
    type: Literal["standard_patrol"] = "standard_patrol"
    units: int | None = param(
        None,
        ge=0,
        le=2000,
        unit="units",
        doc="units on patrol (none: all units not used by other tactics)",
    )
    demand_weight: float = param(
        1.0,
        ge=0,
        le=10,
        unit="-",
        doc="how strongly patrols follow residents and commercial activity (0: uniform)",
        source="Mazerolle 2007 standard model: patrol follows calls for service",
    )
    arrest_priority: Literal["any", "open_first", "harm"] = param(
        "any", unit="-", doc="who is arrested first when several are seen"
    )


class StandardPatrol(Tactic):
    Config = StandardPatrolConfig
    acts_in_burn_in = True

    def init(self, model: MarketModel) -> None:
        # Calls for service follow people and trade: residents plus commercial footfall.
        town = model.town
        footfall = town.residents.ravel() + 15.0 * (town.land_use.ravel() == town.CENTRE)
        w = (1.0 + footfall) ** self.config.demand_weight
        self._weights = w / w.sum()
        self._cells = np.arange(town.n_cells)

    def is_active(self, day: int) -> bool:
        return day < 0 or super().is_active(day)

    def step(self, model: MarketModel) -> None:
        model.police.request(
            Order(
                tactic=self.name,
                units=self.config.units,
                cells=self._cells,
                weights=self._weights,
                visible=True,
                effect="arrest",
                arrest_priority=self.config.arrest_priority,
            )
        )
