"""MarketModel: builds the world, steps the day's phases, keeps the Mesa agent views.

State lives in the world (state.py): struct-of-arrays populations, so each
phase (phases/) is a few array operations over all dealers or users. Every
change of an agent's state is booked in events.py. The Mesa agents (views.py)
are views onto the populations' rows for AgentSet, the grid and the app, synced
when looked at.
"""

from __future__ import annotations

import mesa
import numpy as np

from marketsim import events
from marketsim.accounts import Accounts
from marketsim.agents.dealer import DealerPopulation
from marketsim.agents.police import PoliceForce
from marketsim.agents.treatment import TreatmentService
from marketsim.agents.user import UserPopulation
from marketsim.datacollection import headline_collector
from marketsim.fields import box_sum
from marketsim.harms import HarmLedger
from marketsim.metrics import DayTally, Recorder
from marketsim.plan import PHASES
from marketsim.rng import Streams
from marketsim.scenario import Scenario
from marketsim.state import World
from marketsim.tactics.registry import TACTICS
from marketsim.town import Town, generate_land_use, load_raster
from marketsim.views import AgentViews


class MarketModel(mesa.Model):
    """A local drug market under a set of enforcement tactics.

    Day 0 is the first recorded day; burn-in days are negative. Tactics other
    than standard patrol act only on recorded days, from their start day.
    """

    def __init__(self, scenario: Scenario, seed: int | None = None):
        seed = scenario.seed if seed is None else seed
        super().__init__(rng=seed)
        self.root_seed = seed
        self.world = build_world(scenario, seed, self.random)
        self.world.tactics = [
            TACTICS[cfg.type](cfg, self.world.streams[f"tactic:{cfg.label}"], f"tactics[{i}]")
            for i, cfg in enumerate(scenario.tactics)
        ]
        for tactic in self.world.tactics:
            tactic.init(self.world)
        self._finalized = False
        self._views = AgentViews(self, self.world)
        self._views_stale = False  # days have run since the views were last placed
        self.datacollector = headline_collector()  # for Mesa's tools (datacollection.py)

    def step(self) -> None:
        """One day: the phases of `marketsim.plan.PHASES`, in order (ODD §7)."""
        for _, phase in PHASES:
            phase(self.world)
        self.end_day()
        if self.world.day > 0:  # the day just run was recorded: Mesa's tools see it too
            self.datacollector.collect(self)
        self.running = self.world.day < self.world.config.steps

    def end_day(self) -> None:
        """Count the day; Mesa's agent sets follow the rows (the views are placed on the
        grid when next looked at: `views`)."""
        self.world.day += 1
        self._views.follow_rows()
        self._views_stale = True

    def run(self, progress=None) -> None:
        """Burn in, then run the recorded days; `progress(n)` is called per day."""
        while self.world.day < self.world.config.steps:
            self.step()
            if progress is not None:
                progress(1)
        self.finalize()

    def finalize(self) -> None:
        if not self._finalized:
            for tactic in self.world.tactics:
                tactic.finalize(self.world)
            self._finalized = True

    # Mesa's view of the model: the agent views, placed on the grid when looked at.
    def sync_views(self) -> None:
        """Put the Mesa agent views where their rows are, if days have run since."""
        if self._views_stale:
            self._views.place()
            self._views_stale = False

    @property
    def views(self) -> AgentViews:
        self.sync_views()
        return self._views

    @property
    def agents(self) -> mesa.agent.AgentSet:
        self.sync_views()
        return super().agents

    @property
    def agents_by_type(self) -> dict[type, mesa.agent.AgentSet]:
        self.sync_views()
        return super().agents_by_type

    @property
    def agent_types(self) -> list[type]:
        self.sync_views()
        return super().agent_types

    @property
    def grid(self):
        self.sync_views()
        return self.world.town.grid

    # The world's parts, for Mesa users, reports and tests (read-only).
    @property
    def config(self) -> Scenario:
        return self.world.config

    @property
    def day(self) -> int:
        return self.world.day

    @property
    def recording(self) -> bool:
        return self.world.recording

    @property
    def town(self) -> Town:
        return self.world.town

    @property
    def dealers(self) -> DealerPopulation:
        return self.world.dealers

    @property
    def users(self) -> UserPopulation:
        return self.world.users

    @property
    def police(self) -> PoliceForce:
        return self.world.police

    @property
    def services(self) -> list[TreatmentService]:
        return self.world.services

    @property
    def ledger(self) -> HarmLedger:
        return self.world.ledger

    @property
    def tally(self) -> DayTally:
        return self.world.tally

    @property
    def accounts(self) -> Accounts:
        return self.world.accounts

    @property
    def recorder(self) -> Recorder:
        return self.world.recorder

    @property
    def tactics(self) -> list:
        return self.world.tactics

    @property
    def harm_heat(self) -> np.ndarray:
        return self.world.harm_heat


def build_world(scenario: Scenario, seed: int, grid_random) -> World:
    """The town and its founding market, from the scenario and the root seed."""
    streams = Streams(seed)
    town_rng = streams["town"]
    if scenario.town.generator == "raster":
        land_use = load_raster(scenario.town.raster)
    else:
        land_use = generate_land_use(scenario.town, town_rng)
    town = Town(land_use, scenario.town, town_rng, grid_random)
    town.set_regions(scenario.regions)
    n = town.n_cells
    world = World(
        config=scenario,
        streams=streams,
        day=-scenario.burn_in,
        town=town,
        users=UserPopulation(int(scenario.market.n_users * 1.5), scenario.users.max_contacts),
        dealers=DealerPopulation(int(scenario.market.n_dealers * 2)),
        police=PoliceForce(scenario.police, n, streams["police"]),
        services=[],
        ledger=HarmLedger(n),
        tally=DayTally(n),
        accounts=Accounts([cfg.label for cfg in scenario.tactics]),
        recorder=Recorder(town, scenario),
    )
    _found_market(world)
    places = scenario.treatment.places_per_site
    world.services = [
        TreatmentService(int(c), int(town.cell_x[c]), int(town.cell_y[c]), int(places))
        for c in town.treatment_cells
    ]
    return world


def _found_market(world: World) -> None:
    """Users at home, and an established open market at the centre whose reputation
    draws buyers from the start; dealers start where buyers live and trade."""
    sc = world.config
    town = world.town
    urng = world.streams["users"]
    res = town.residents.ravel()
    homes = urng.choice(town.n_cells, size=sc.market.n_users, p=res / res.sum())
    dependent = urng.random(sc.market.n_users) < sc.users.share_dependent
    events.add_users(world, homes, dependent, urng)
    centre = town.land_use == Town.CENTRE
    if centre.any():
        cx, cy = (np.argwhere(centre).mean(axis=0)).round().astype(int)
        near = (np.abs(town.cell_x - cx) <= 2) & (np.abs(town.cell_y - cy) <= 2)
        world.rep_recent.ravel()[near] = sc.market.hotspot_reputation
        world.rep_standing.ravel()[near] = sc.market.hotspot_reputation
        town.layer("reputation").ravel()[near] = sc.market.hotspot_reputation
    home_density = np.bincount(world.users.view("home"), minlength=town.n_cells).astype(float)
    demand = box_sum(home_density.reshape(town.width, town.height), 3).ravel()
    w = demand * (1 + 3 * town.is_centre) + 1e-9
    events.add_dealers(world, sc.market.n_dealers, w / w.sum(), world.streams["dealers"], False)
