"""Agents are real Mesa agents: AgentSet, DataCollector and cells see them."""

from __future__ import annotations

import numpy as np
from mesa import DataCollector

from marketsim.agents.user import DEAD
from marketsim.model import MarketModel
from marketsim.views import Dealer, PoliceUnit, TreatmentSite, User
from tests.conftest import small


def test_agentsets_mirror_the_arrays():
    model = MarketModel(small())
    for _ in range(20):
        model.step()
    dealers = model.agents_by_type[Dealer]
    users = model.agents_by_type[User]
    assert len(model.agents_by_type[PoliceUnit]) == model.config.police.n_units
    assert len(model.agents_by_type[TreatmentSite]) == len(model.town.treatment_cells)
    active = dealers.select(lambda a: a.state == "active")
    assert len(active) == len(model.dealers.active())
    # a dealer's Mesa cell is the cell in its array row; off-street dealers have no cell
    for agent in dealers:
        if agent.state == "active":
            x, y = agent.cell.coordinate
            assert model.town.flat(x, y) == model.dealers.cell[agent.idx]
        elif agent.state in ("prison", "remanded", "desisted", "diverted"):
            assert agent.cell is None
    alive = int((model.users.view("state") != DEAD).sum())
    assert len(users) == alive


def test_datacollector_reads_agent_properties():
    model = MarketModel(small())
    dc = DataCollector(
        model_reporters={"active_dealers": lambda m: len(m.dealers.active())},
        agenttype_reporters={Dealer: {"violence": "violence", "open": "is_open"}},
    )
    for _ in range(5):
        model.step()
        dc.collect(model)
    frame = dc.get_agenttype_vars_dataframe(Dealer)
    assert len(frame) > 0
    assert (frame["violence"] >= 0).all()
    series = dc.get_model_vars_dataframe()["active_dealers"]
    assert len(series) == 5 and (series > 0).all()


def test_cell_property_layers_are_live():
    model = MarketModel(small())
    model.step()
    grid = model.grid
    hours = model.town.layer("police_presence")
    x, y = np.unravel_index(hours.argmax(), hours.shape)
    assert grid[(int(x), int(y))].police_presence == hours[x, y] > 0


def test_views_placed_when_looked_at_match_views_placed_daily():
    """The grid placement is brought up to date when read (model.views, agents, grid):
    reading it after 40 days gives what reading it every day gives, agent ids included."""

    def placed(model):
        return [
            (type(a).__name__, a.unique_id, a.idx, None if a.cell is None else a.cell.coordinate)
            for a in sorted(model.agents, key=lambda a: a.unique_id)
        ]

    daily, lazy = MarketModel(small()), MarketModel(small())
    for _ in range(40):
        daily.step()
        lazy.step()
        assert len(daily.grid.all_cells) > 0  # reading the grid places the views
    assert placed(lazy) == placed(daily)
    dealers = lazy.views.dealers
    moved = [a for a in dealers if a.state == "active"]
    assert moved and all(
        lazy.town.flat(*a.cell.coordinate) == lazy.dealers.cell[a.idx] for a in moved
    )
    dead = lazy.users.view("state") == DEAD
    assert all((lazy.views.users[r] in lazy.agents) != dead[r] for r in range(dead.size))
