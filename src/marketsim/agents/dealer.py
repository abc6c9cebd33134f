"""Dealers: traits, perceived risk, and the daily decisions to move, go closed and price.

Traits (design §4): tier (user-dealer, street seller, crew member), crew, a
heavy-tailed violence trait (Braga 2001: a few actors do most violence), open
or closed mode, runner exploitation and product risk. Each decision below is a
vectorised function over all active dealers; read one row to follow one dealer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from mesa.discrete_space import CellAgent

from marketsim.agents.population import NEVER, Population

if TYPE_CHECKING:
    from marketsim.model import MarketModel

# states
ACTIVE, REMANDED, PRISON, DIVERTED, DESISTED = range(5)
STATE_NAMES = ("active", "remanded", "prison", "diverted", "desisted")
# tiers
USER_DEALER, STREET, CREW = range(3)
TIER_NAMES = ("user_dealer", "street", "crew")


class Dealer(CellAgent):
    """A dealer. State lives in `model.dealers` row `idx`."""

    def __init__(self, model: MarketModel, idx: int):
        super().__init__(model)
        self.idx = idx

    @property
    def _pop(self) -> DealerPopulation:
        return self.model.dealers

    @property
    def state(self) -> str:
        return STATE_NAMES[self._pop.state[self.idx]]

    @property
    def tier(self) -> str:
        return TIER_NAMES[self._pop.tier[self.idx]]

    @property
    def crew(self) -> int:
        return int(self._pop.crew[self.idx])

    @property
    def violence(self) -> float:
        return float(self._pop.violence[self.idx])

    @property
    def is_open(self) -> bool:
        return bool(self._pop.open[self.idx])

    @property
    def perceived_risk(self) -> float:
        return float(self._pop.risk[self.idx])

    @property
    def price(self) -> float:
        return float(self._pop.price[self.idx])

    @property
    def exploits_runners(self) -> bool:
        return bool(self._pop.exploits[self.idx])


class DealerPopulation(Population):
    FIELDS = {
        "cell": (np.int64, 0),
        "state": (np.int8, ACTIVE),
        "tier": (np.int8, STREET),
        "crew": (np.int64, -1),
        "violence": (float, 0.0),
        "open": (bool, True),
        "exploits": (bool, False),
        "product_risk": (float, 0.0),
        "risk": (float, 0.0),  # perceived risk, 0-1
        "close_threshold": (float, 0.35),
        "price": (float, 0.0),
        "profit": (float, 0.0),  # smoothed daily profit, GBP
        "debt": (float, 0.0),  # owed after seizures, GBP
        "sales": (np.int64, 0),  # today's sales
        "sales_total": (np.int64, 0),
        "violence_total": (np.int64, 0),  # incidents caused (recorded period)
        "days_active": (np.int64, 0),  # days active in the recorded period
        "arrests": (np.int64, 0),
        "user": (np.int64, -1),  # the user row of a user-dealer
        "children": (np.int64, 0),
        "event_day": (np.int64, NEVER),  # next custody event (sentence or release)
        "convicted": (bool, False),
        "entered_day": (np.int64, 0),
        "deterrent": (float, 0.0),  # expected cost of violence set by tactics
        "arrested_by": (np.int64, -1),  # account index of the tactic behind the last arrest
        # violent incidents known to police, fading (half-life ~70 days)
        "incidents_recent": (float, 0.0),
    }

    def active(self) -> np.ndarray:
        return (self.state[: self.n] == ACTIVE).nonzero()[0]

    def create(
        self,
        model: MarketModel,
        cells: np.ndarray,
        rng: np.random.Generator,
        *,
        share_user_dealer: float,
        share_crew: float,
        mean_crew_size: float,
        share_open: float,
        share_exploit: float,
        violence_sigma: float,
        violence_multiplier: float = 1.0,
        crews: np.ndarray | None = None,
    ) -> np.ndarray:
        """Add dealers at `cells`; returns their rows."""
        n = len(cells)
        rows = self._grow(n)
        u = rng.random(n)
        tier = np.where(
            u < share_user_dealer,
            USER_DEALER,
            np.where(u < share_user_dealer + share_crew, CREW, STREET),
        )
        self.tier[rows] = tier
        self.cell[rows] = cells
        # Crews: members share a crew violence factor, so some crews are far worse than others.
        is_crew = tier == CREW
        crew_ids = np.full(n, -1)
        if crews is None:
            n_crews = max(1, round(is_crew.sum() / mean_crew_size)) if is_crew.any() else 0
            base = model.next_crew_id
            crew_ids[is_crew] = base + rng.integers(0, max(n_crews, 1), is_crew.sum())
            model.next_crew_id = base + n_crews
        else:
            crew_ids[is_crew] = (
                crews[is_crew] if len(crews) == n else rng.choice(crews, is_crew.sum())
            )
        self.crew[rows] = crew_ids
        # Heavy tail: lognormal individual trait times a lognormal crew factor.
        indiv = rng.lognormal(0.0, violence_sigma, n)
        crew_factor = np.ones(n)
        if is_crew.any():
            uniq = np.unique(crew_ids[is_crew])
            factors = np.exp(model.crew_z(uniq, rng) * violence_sigma * 0.8)
            crew_factor[is_crew] = factors[np.searchsorted(uniq, crew_ids[is_crew])]
        user_calm = np.where(tier == USER_DEALER, 0.4, 1.0)  # user-dealers are rarely violent
        self.violence[rows] = indiv * crew_factor * user_calm * violence_multiplier
        self.open[rows] = rng.random(n) < share_open
        self.exploits[rows] = (tier != USER_DEALER) & (
            rng.random(n) < share_exploit / max(1e-9, 1 - share_user_dealer)
        )
        self.product_risk[rows] = rng.beta(2.0, 5.0, n)
        self.close_threshold[rows] = np.clip(
            rng.normal(model.config.dealers.close_threshold, 0.08, n), 0.05, 0.95
        )
        self.children[rows] = rng.poisson(model.config.users.children_mean, n)
        self.entered_day[rows] = model.day
        self.price[rows] = model.config.market.base_price
        self.profit[rows] = model.config.dealers.exit_profit * 2
        for r in rows:
            agent = Dealer(model, int(r))
            agent.cell = model.town.cell(int(self.cell[r]))
            self.agents.append(agent)
        return rows

    def place(self, model: MarketModel, rows: np.ndarray, cells: np.ndarray) -> None:
        """Move dealers (and their Mesa agents) to new cells."""
        self.cell[rows] = cells
        for r, c in zip(rows, cells, strict=True):
            self.agents[r].cell = model.town.cell(int(c))

    def take_off_street(self, rows: np.ndarray) -> None:
        for r in rows:
            self.agents[r].cell = None

    # ----------------------------------------------------------- decisions
    def update_risk(self, model: MarketModel, arrests_near: np.ndarray) -> None:
        """Perceived risk: a moving average of police seen nearby and arrests nearby."""
        cfg = model.config.dealers
        act = self.active()
        town = model.town
        presence = model.police_near
        deter = town.layer("deterrence").ravel()
        cells = self.cell[act]
        signal = 1.0 - np.exp(
            -(
                cfg.risk_per_police_hour * presence[cells]
                + cfg.risk_per_arrest_nearby * arrests_near[cells]
                + deter[cells]
            )
        )
        a = cfg.risk_learning_rate
        self.risk[act] = (1 - a) * self.risk[act] + a * signal

    def choose_mode(
        self, model: MarketModel, contacts_held: np.ndarray, rng: np.random.Generator
    ) -> None:
        """Open<->closed switching (tactical displacement).

        Open dealers facing risk above their threshold go closed if enough buyers
        hold their number; closed dealers return to open trade when risk is low.
        """
        cfg = model.config.dealers
        act = self.active()
        risk = self.risk[act]
        is_open = self.open[act]
        go_closed = (
            is_open
            & (risk > self.close_threshold[act])
            & (contacts_held[act] >= cfg.min_contacts_to_close)
        )
        reopen = ~is_open & (risk < cfg.reopen_threshold) & (rng.random(act.size) < 0.05)
        self.open[act[go_closed]] = False
        self.open[act[reopen]] = True

    def set_prices(self, model: MarketModel) -> None:
        """Risk compensation (Reuter & Kleiman): price = base x (1 + markup x risk)."""
        m = model.config.market
        act = self.active()
        self.price[act] = m.base_price * (1.0 + m.risk_markup * self.risk[act])

    def relocate(self, model: MarketModel, rng: np.random.Generator) -> np.ndarray:
        """Compare the current pitch with a few nearby ones by expected profit net of risk.

        Geographic displacement emerges here: dealers leave pitches where police
        presence and deterrence make the expected cost of risk exceed the trade.
        Returns the rows that moved.
        """
        cfg = model.config.dealers
        town = model.town
        act = self.active()
        if act.size == 0:
            return act
        p_review = np.clip(cfg.relocation_prob + self.risk[act], 0, 1)
        movers = act[rng.random(act.size) < p_review]
        if movers.size == 0:
            return movers
        k = cfg.relocation_candidates
        r = cfg.relocation_radius
        cx = town.cell_x[self.cell[movers]]
        cy = town.cell_y[self.cell[movers]]
        nx = np.clip(cx[:, None] + rng.integers(-r, r + 1, (movers.size, k)), 0, town.width - 1)
        ny = np.clip(cy[:, None] + rng.integers(-r, r + 1, (movers.size, k)), 0, town.height - 1)
        cand = np.concatenate([self.cell[movers][:, None], nx * town.height + ny], axis=1)
        value = model.pitch_value(cand, self.open[movers])
        best = value.argmax(axis=1)
        gain = value[np.arange(movers.size), best] - value[:, 0]
        move = (best > 0) & (gain > cfg.relocation_gain * np.maximum(np.abs(value[:, 0]), 1.0))
        rows = movers[move]
        self.place(model, rows, cand[move, best[move]])
        return rows
