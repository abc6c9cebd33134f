"""`standard_patrol`: random patrol with arrest on sight, the baseline.

Mazerolle et al. (2007) call this the "standard world" of policing: officers
spread over the town in proportion to calls for service, arresting dealing they
happen to see. Violence brings calls, so patrols also follow the places known for
recent violence. It runs during burn-in as well, so the market settles under it.
"""

from __future__ import annotations

import numpy as np

from marketsim.state import World
from marketsim.tactics.base import Order, Tactic
from marketsim.tactics.configs.standard_patrol import StandardPatrolConfig


class StandardPatrol(Tactic):
    Config = StandardPatrolConfig

    def init(self, world: World) -> None:
        # Calls for service follow people and trade: residents plus commercial footfall.
        town = world.town
        footfall = town.residents.ravel() + 15.0 * (town.land_use.ravel() == town.CENTRE)
        w = (1.0 + footfall) ** self.config.demand_weight
        self._weights = w / w.sum()
        self._cells = np.arange(town.n_cells)

    def weights(self, world: World) -> np.ndarray:
        """Today's share of visits per cell: calls from people, trade and violence."""
        if self.config.violence_weight == 0:
            return self._weights
        violence = world.town.layer("violence").ravel()
        return self._weights * (1.0 + self.config.violence_weight * violence)

    def is_active(self, day: int) -> bool:
        return day < 0 or super().is_active(day)

    def step(self, world: World) -> None:
        world.police.request(
            Order(
                tactic=self.name,
                units=self.config.units,
                cells=self._cells,
                weights=self.weights(world),
                visible=True,
                effect="arrest",
                arrest_priority=self.config.arrest_priority,
            )
        )
