"""The world: every piece of state the day's phases share, declared in one place.

Layers (imports point one way): this module and the populations, town, ledger,
tally and accounts it holds are the *state*; `events.py` books each change of
state; `phases/` and `tactics/` act on a `World`; `model.py` builds the world,
steps the phases and keeps the Mesa agent views. Nothing here imports from
above it, not even for type hints.

A field that one phase writes and a later phase (or tomorrow) reads is
declared on `World` with its default, and its comment says who writes it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from marketsim.accounts import Accounts
from marketsim.agents.dealer import DealerPopulation
from marketsim.agents.police import PoliceForce
from marketsim.agents.treatment import TreatmentService
from marketsim.agents.user import UserPopulation
from marketsim.harms import HarmLedger
from marketsim.metrics import DayTally, Recorder
from marketsim.rng import Streams
from marketsim.scenario import Scenario
from marketsim.town import Town


def _no_rows() -> np.ndarray:
    return np.empty(0, dtype=np.int64)


@dataclass
class Levers:
    """Day-long adjustments tactics make to behaviour; reset to neutral each day.

    Each active tactic multiplies in its effect during its `step`, so several
    tactics combine and nothing lingers after a tactic stops (durable effects,
    such as guardianship, change the town itself instead).
    """

    detection: float = 1.0  # x detection hazard (community reporting, intelligence)
    treatment_seeking: float = 1.0  # x daily chance of asking for treatment (outreach)
    fear_relief: float = 0.0  # extra share of residents' fear that fades each day (engagement)
    crime_reporting: float = 1.0  # x chance an acquisitive offence leads to arrest


class TacticHooks(Protocol):
    """What the tactics phase needs of a tactic (tactics/base.py implements it)."""

    name: str

    def is_active(self, day: int) -> bool: ...

    def step(self, world: World) -> None: ...

    def finalize(self, world: World) -> None: ...


@dataclass
class World:
    """The town, its populations, the books, and the state phases pass to each other.

    Day 0 is the first recorded day; burn-in days are negative.
    """

    config: Scenario
    streams: Streams
    day: int
    town: Town
    users: UserPopulation
    dealers: DealerPopulation
    police: PoliceForce
    services: list[TreatmentService]
    ledger: HarmLedger
    tally: DayTally
    accounts: Accounts
    recorder: Recorder
    tactics: list[TacticHooks] = field(default_factory=list)
    levers: Levers = field(default_factory=Levers)  # reset by the tactics phase each day

    # Crews: the next free id, each crew's violence factor, crews broken up for good.
    next_crew_id: int = 0
    crew_z: dict[int, float] = field(default_factory=dict)
    retired_crews: set[int] = field(default_factory=set)  # written by harm targeting

    # Reputation's two memories (fields phase): what buyers heard lately, a place's standing.
    rep_recent: np.ndarray = field(default_factory=lambda: np.zeros(0))
    rep_standing: np.ndarray = field(default_factory=lambda: np.zeros(0))

    # Per-cell arrays, all of length town.n_cells (set in __post_init__).
    police_hours: np.ndarray = field(default_factory=lambda: np.zeros(0))  # deploy: all hours
    visible_hours: np.ndarray = field(default_factory=lambda: np.zeros(0))  # deploy: uniformed
    police_near: np.ndarray = field(default_factory=lambda: np.zeros(0))  # deploy: within 1 cell
    arrests_cell: np.ndarray = field(default_factory=lambda: np.zeros(0))  # record: yesterday's
    fear_market: np.ndarray = field(default_factory=lambda: np.zeros(0))  # fields
    fear_enforcement: np.ndarray = field(default_factory=lambda: np.zeros(0))  # fields
    harm_heat: np.ndarray = field(default_factory=lambda: np.zeros(0))  # record: smoothed harm
    open_sales_yesterday: np.ndarray = field(default_factory=lambda: np.zeros(0))  # fields
    buyer_density: np.ndarray = field(default_factory=lambda: np.zeros(0))  # dealers phase
    # What the market has seen of each place's enforcement (dealers phase), decayed sums:
    # officer-hours within one cell and arrests within two (Sherman 1990 learning).
    hours_seen: np.ndarray = field(default_factory=lambda: np.zeros(0))
    arrests_seen: np.ndarray = field(default_factory=lambda: np.zeros(0))
    # Their credibility: learned over prior arrests per officer-hour, 1 where nothing is seen
    # (dealers phase; read by pitch appraisals and buyers until the next update).
    credibility: np.ndarray = field(default_factory=lambda: np.zeros(0))
    # Recent violence known within one cell of each cell (fields; read the next day by
    # buyers, dealers and exit).
    violence_near: np.ndarray = field(default_factory=lambda: np.zeros(0))
    # Buyers' alarm at the street market within their reach, per home cell (trade phase,
    # users.street_wariness > 0): today's street risk, remembered with users.wariness_memory.
    street_alarm: np.ndarray = field(default_factory=lambda: np.zeros(0))
    # Turf opened today by dealer arrests, by the removed dealer's hold on it (events ->
    # fields, which adds it to the void layer and clears it).
    turf_opened: np.ndarray = field(default_factory=lambda: np.zeros(0))

    # Hand-offs within a day.
    crime_arrests: tuple[np.ndarray, np.ndarray] = field(
        default_factory=lambda: (_no_rows(), _no_rows())
    )  # trade -> enforcement: (user rows, cells) caught for acquisitive crime
    violent_today: np.ndarray = field(default_factory=_no_rows)  # violence: dealer rows
    # (day, dealer rows, cells, crews) of each recorded day's violent incidents, as the
    # police know them the next morning (tactics phase); from day -1, burn-in's last day.
    violence_log: list[tuple[int, np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=list)

    def __post_init__(self) -> None:
        n = self.town.n_cells
        shape = (self.town.width, self.town.height)
        for name in (
            "police_hours",
            "visible_hours",
            "police_near",
            "arrests_cell",
            "fear_market",
            "fear_enforcement",
            "harm_heat",
            "open_sales_yesterday",
            "buyer_density",
            "hours_seen",
            "arrests_seen",
            "turf_opened",
            "violence_near",
            "street_alarm",
        ):
            if getattr(self, name).size != n:
                setattr(self, name, np.zeros(n))
        if self.credibility.size != n:
            self.credibility = np.ones(n)
        if self.rep_recent.shape != shape:
            self.rep_recent = np.zeros(shape)
            self.rep_standing = np.zeros(shape)

    @property
    def recording(self) -> bool:
        return self.day >= 0

    def harm_score(self, rows: np.ndarray) -> np.ndarray:
        """Harm score for targeting (UKDPC 2009 ch. 4; MoRiLE in N8 PRP 2024):
        violence, visibility, runner exploitation, conspicuous wealth, and the product.

        The product term is the rise in a customer's overdose hazard the dealer's supply
        carries (`users.overdose_product_risk` x product risk, ODD 7.9), as forensic tests
        of purchases and seizures would show it. Police rank by it: overdose and unknown
        purity are among the harms they prioritise (N8 PRP 2024, Figure 2), and
        Operation Reduction broke up a high-purity heroin group after drug deaths rose
        (UKDPC 2009, Table 3.2 and App. B).
        """
        d = self.dealers
        wealth = d.profit[rows] / max(self.config.market.base_price, 1.0)
        product = self.config.users.overdose_product_risk * d.product_risk[rows]
        return (
            d.violence[rows] + 0.5 * d.open[rows] + 1.0 * d.exploits[rows] + 0.05 * wealth + product
        )
