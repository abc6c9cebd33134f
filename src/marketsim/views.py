"""Mesa agent views onto the populations' rows, kept in step by the model.

The world's state lives in struct-of-arrays populations (agents/); the day's
phases never touch these views. Each day Mesa's agent sets follow the rows
(`follow_rows`: new rows get views, in the order the rows were added, and users
who die leave the model), so an AgentSet is always current. Where the views stand
on the grid is brought up to date when the model's `agents`, `agents_by_type`,
`grid` or `views` are read (`place`): moving the police units and dealers every
day cost a twentieth of the day's work, and sweeps never look. Then Mesa's
AgentSet, the grid and the visualisation see ordinary agents: dealers on their
pitch (off the grid while in custody, diverted or desisted), users at home,
police units on the first cell of today's beat, and the treatment sites. (A
reference to the grid or a cell kept across steps shows where the views stood
when last placed: read `model.grid` again after stepping.)
"""

from __future__ import annotations

import mesa
import numpy as np
from mesa.discrete_space import CellAgent, FixedAgent

from marketsim import kernels
from marketsim.agents import dealer as D
from marketsim.agents import user as U
from marketsim.state import World


class _RowView:
    """A Mesa agent that reads row `idx` of the world's state."""

    def __init__(self, model: mesa.Model, world: World, idx: int):
        super().__init__(model)
        self.world = world
        self.idx = idx


class Dealer(_RowView, CellAgent):
    """A dealer: reads `world.dealers` row `idx`."""

    @property
    def state(self) -> str:
        return D.STATE_NAMES[self.world.dealers.state[self.idx]]

    @property
    def tier(self) -> str:
        return D.TIER_NAMES[self.world.dealers.tier[self.idx]]

    @property
    def crew(self) -> int:
        return int(self.world.dealers.crew[self.idx])

    @property
    def violence(self) -> float:
        return float(self.world.dealers.violence[self.idx])

    @property
    def is_open(self) -> bool:
        return bool(self.world.dealers.open[self.idx])

    @property
    def perceived_risk(self) -> float:
        return float(self.world.dealers.risk[self.idx])

    @property
    def price(self) -> float:
        return float(self.world.dealers.price[self.idx])

    @property
    def exploits_runners(self) -> bool:
        return bool(self.world.dealers.exploits[self.idx])


class User(_RowView, CellAgent):
    """A user: reads `world.users` row `idx`; the cell is their home."""

    @property
    def state(self) -> str:
        return U.STATE_NAMES[self.world.users.state[self.idx]]

    @property
    def treatment(self) -> str:
        return U.TREATMENT_NAMES[self.world.users.treatment[self.idx]]

    @property
    def dependent(self) -> bool:
        return bool(self.world.users.dependent[self.idx])

    @property
    def is_user_dealer(self) -> bool:
        return bool(self.world.users.dealer[self.idx] >= 0)

    @property
    def contacts(self) -> list[int]:
        return [int(c) for c in self.world.users.contacts[self.idx] if c >= 0]


class PoliceUnit(_RowView, CellAgent):
    """A unit (one officer-day a day). Its cell is the first cell of today's beat."""

    @property
    def tactic(self) -> str:
        return self.world.police.assigned[self.idx]

    @property
    def hours_on_street(self) -> float:
        return float(self.world.police.hours_today[self.idx])


class TreatmentSite(_RowView, FixedAgent):
    """A treatment site: reads `world.services[idx]`."""

    @property
    def places(self) -> int:
        return self.world.services[self.idx].places

    @property
    def clients(self) -> int:
        return len(self.world.services[self.idx].clients)

    @property
    def waiting(self) -> int:
        return len(self.world.services[self.idx].waiting)


class AgentViews:
    """The Mesa agents of one model: its agent sets follow the rows each day, and the
    views are placed on the grid when looked at (`MarketModel.views`)."""

    def __init__(self, model: mesa.Model, world: World):
        self.model = model
        self.world = world
        self.dealers: list[Dealer] = []
        self.users: list[User] = []
        self._dealer_cell = np.empty(0, dtype=np.int64)  # where each dealer view stands (-1 off)
        self._user_gone = np.empty(0, dtype=bool)
        self._users_placed = 0  # user views [0, this) are at home (or have left the model)
        town = world.town
        self.police = [PoliceUnit(model, world, i) for i in range(world.police.n_units)]
        self.sites = []
        for i, service in enumerate(world.services):
            site = TreatmentSite(model, world, i)
            site.cell = town.cell(service.cell_index)
            self.sites.append(site)
        self.sync()

    def follow_rows(self) -> None:
        """Mesa's agent sets follow the rows (each day): new rows get views, placed on the
        grid at the next `place`, and users who died leave the model."""
        world = self.world
        u = world.users
        for r in range(len(self.dealers), world.dealers.n):
            self.dealers.append(Dealer(self.model, world, r))
        for r in range(len(self.users), u.n):
            self.users.append(User(self.model, world, r))
        if self._user_gone.size < u.n:  # room for the new rows, grown by doubling
            gone = np.zeros(max(u.n, 2 * self._user_gone.size), dtype=bool)
            gone[: self._user_gone.size] = self._user_gone
            self._user_gone = gone
        for r in kernels.newly_gone(u.view("state"), self._user_gone, U.DEAD):
            self.users[r].remove()

    def place(self) -> None:
        """Put the views where their rows are on the grid: users at home, dealers on their
        pitch while active (off the grid otherwise), police units on the first cell of
        today's beat."""
        world, town = self.world, self.world.town
        d, u = world.dealers, world.users
        for r in range(self._users_placed, len(self.users)):
            if not self._user_gone[r]:
                self.users[r].cell = town.cell(int(u.home[r]))
        self._users_placed = len(self.users)
        want = np.where(d.view("state") == D.ACTIVE, d.view("cell"), -1)
        have = np.full(d.n, -1, dtype=np.int64)
        have[: self._dealer_cell.size] = self._dealer_cell
        for r in np.flatnonzero(want != have):
            self.dealers[r].cell = town.cell(int(want[r])) if want[r] >= 0 else None
        self._dealer_cell = want
        for unit, cell in zip(self.police, world.police.unit_cell, strict=True):
            unit.cell = town.cell(int(cell))

    def sync(self) -> None:
        """Bring every view in line with its row."""
        self.follow_rows()
        self.place()
