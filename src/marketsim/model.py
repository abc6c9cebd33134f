"""MarketModel: the town, its agents, and the daily step as named phases.

State lives in struct-of-arrays populations (`agents/`), so each phase is a
few numpy operations over all dealers or users; the Mesa agents are views onto
those rows for AgentSet, DataCollector and the visualisation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import mesa
import numpy as np

from marketsim.accounts import Accounts
from marketsim.agents import dealer as D
from marketsim.agents import user as U
from marketsim.agents.dealer import DealerPopulation
from marketsim.agents.police import PoliceForce
from marketsim.agents.population import NEVER
from marketsim.agents.treatment import TreatmentService
from marketsim.agents.user import UserPopulation
from marketsim.datacollection import headline_collector
from marketsim.enforcement import enforce
from marketsim.fields import box_sum
from marketsim.harms import HarmLedger
from marketsim.market import trade
from marketsim.metrics import TALLY_INDEX as TI
from marketsim.metrics import DayTally, Recorder
from marketsim.rng import Streams
from marketsim.scenario import Scenario
from marketsim.services import admit, join_waiting_list, run_population_flows, run_treatment
from marketsim.tactics import TACTICS, Tactic
from marketsim.town import Town, generate_land_use, load_raster

_DEALER_ARRESTS = TI["seizures"]
_DX, _DY = (
    a.ravel() for a in np.meshgrid([-1, 0, 1], [-1, 0, 1], indexing="ij")
)  # one seizure per dealer arrest


@dataclass
class Levers:
    """Day-long adjustments tactics make to model behaviour; reset to neutral each day.

    Each active tactic multiplies in its effect during its `step`, so several
    tactics combine and nothing lingers after a tactic stops (durable effects,
    such as guardianship, change the town itself instead).
    """

    detection: float = 1.0  # x detection hazard (community reporting, intelligence)
    treatment_seeking: float = 1.0  # x daily chance of asking for treatment (outreach)
    fear_relief: float = 0.0  # extra share of residents' fear that fades each day (engagement)
    crime_reporting: float = 1.0  # x chance an acquisitive offence leads to arrest


class MarketModel(mesa.Model):
    """A local drug market under a set of enforcement tactics.

    Day 0 is the first recorded day; burn-in days are negative. Tactics other
    than standard patrol act only on recorded days, from their start day.
    """

    def __init__(self, scenario: Scenario, seed: int | None = None):
        seed = scenario.seed if seed is None else seed
        super().__init__(rng=seed)
        self.config = scenario
        self.root_seed = seed
        self.streams = Streams(seed)
        self.day = -scenario.burn_in
        self.next_crew_id = 0
        self._crew_z: dict[int, float] = {}

        town_rng = self.streams["town"]
        if scenario.town.generator == "raster":
            land_use = load_raster(scenario.town.raster)
        else:
            land_use = generate_land_use(scenario.town, town_rng)
        self.town = Town(land_use, scenario.town, town_rng, self)
        self.town.set_regions(scenario.regions)
        self.grid = self.town.grid
        n = self.town.n_cells

        self.ledger = HarmLedger(n)
        self.accounts = Accounts([cfg.label for cfg in scenario.tactics])
        self.tally = DayTally(n)
        self.recorder = Recorder(self)
        self.datacollector = headline_collector()  # for Mesa's tools (datacollection.py)
        self._arrests_cell = np.zeros(n)  # yesterday's dealer arrests: risk and void
        self._fear_market = np.zeros(n)
        self._fear_enforcement = np.zeros(n)
        self._police_hours = np.zeros(n)
        self._visible_hours = np.zeros(n)
        self.police_near = np.zeros(n)

        self.users = UserPopulation(int(scenario.market.n_users * 1.5), scenario.users.max_contacts)
        self.dealers = DealerPopulation(int(scenario.market.n_dealers * 2))
        self._populate()
        self.police = PoliceForce(self, self.streams["police"])
        places = scenario.treatment.places_per_site
        self.services = [TreatmentService(self, int(c), places) for c in self.town.treatment_cells]
        self.tactics: list[Tactic] = [
            TACTICS[cfg.type](cfg, self.streams[f"tactic:{cfg.label}"]) for cfg in scenario.tactics
        ]
        for tactic in self.tactics:
            tactic.init(self)
        self._finalized = False
        self.levers = Levers()
        self.violent_today = np.empty(0, dtype=np.int64)  # dealer rows who used violence today
        self.harm_heat = np.zeros(self.town.n_cells)  # smoothed daily weighted harm per cell
        self.open_sales_yesterday = np.zeros(self.town.n_cells)
        self.retired_crews: set[int] = set()  # crews broken up by asset recovery
        # (day, dealer rows, cells, crews) of each recorded day's violent incidents, as the
        # police know them the next morning; from day -1, the last day of burn-in.
        self.violence_log: list[tuple[int, np.ndarray, np.ndarray, np.ndarray]] = []

    # ------------------------------------------------------------------ set-up
    def crew_z(self, crew_ids: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """A standard-normal violence factor per crew, drawn once when the crew forms."""
        out = np.empty(len(crew_ids))
        for i, c in enumerate(crew_ids):
            c = int(c)
            if c not in self._crew_z:
                self._crew_z[c] = float(rng.normal())
            out[i] = self._crew_z[c]
        return out

    def _populate(self) -> None:
        sc = self.config
        town = self.town
        urng = self.streams["users"]
        drng = self.streams["dealers"]
        res = town.residents.ravel()
        homes = urng.choice(town.n_cells, size=sc.market.n_users, p=res / res.sum())
        dependent = urng.random(sc.market.n_users) < sc.users.share_dependent
        self.users.create(self, homes, dependent, urng)
        # An established open market at the centre: its reputation draws buyers from the start.
        town = self.town
        # Reputation has two memories: what buyers heard lately, and a place's standing,
        # which outlasts a crackdown (seed 001 Table 4.3: "does the area have a reputation?").
        self._rep_recent = np.zeros((town.width, town.height))
        self._rep_standing = np.zeros((town.width, town.height))
        centre = town.land_use == Town.CENTRE
        if centre.any():
            cx, cy = (np.argwhere(centre).mean(axis=0)).round().astype(int)
            near = (np.abs(town.cell_x - cx) <= 2) & (np.abs(town.cell_y - cy) <= 2)
            self._rep_recent.ravel()[near] = sc.market.hotspot_reputation
            self._rep_standing.ravel()[near] = sc.market.hotspot_reputation
            town.layer("reputation").ravel()[near] = sc.market.hotspot_reputation
        # Dealers start where buyers live and trade: near homes, more in the centre.
        self._add_dealers(sc.market.n_dealers, self._pitch_weights(), drng, entrant=False)

    def _pitch_weights(self) -> np.ndarray:
        town = self.town
        home_density = np.bincount(self.users.view("home"), minlength=town.n_cells).astype(float)
        demand = box_sum(home_density.reshape(town.width, town.height), 3).ravel()
        centre = town.land_use.ravel() == Town.CENTRE
        w = demand * (1 + 3 * centre) + 1e-9
        return w / w.sum()

    def _add_dealers(
        self, n: int, weights: np.ndarray, rng: np.random.Generator, entrant: bool
    ) -> np.ndarray:
        sc = self.config
        m = sc.market
        e = m.entrants
        cells = rng.choice(self.town.n_cells, size=n, p=weights)
        crews = None
        if entrant:
            existing = np.unique(self.dealers.view("crew")[self.dealers.view("crew") >= 0])
            existing = np.setdiff1d(existing, np.fromiter(self.retired_crews, dtype=np.int64))
            # Crew-tier entrants mostly join existing crews (recruitment), else form a new one.
            if existing.size:
                crews = rng.choice(existing, n)
                new = rng.random(n) < 0.3
                crews[new] = self.next_crew_id
                if new.any():
                    self.next_crew_id += 1
        rows = self.dealers.create(
            self,
            cells,
            rng,
            share_user_dealer=e.share_user_dealer if entrant else m.share_user_dealers,
            share_crew=m.share_crew,
            mean_crew_size=m.mean_crew_size,
            share_open=e.share_open if entrant else m.share_open,
            share_exploit=e.share_exploit if entrant else m.share_exploit,
            violence_sigma=m.violence_sigma,
            violence_multiplier=e.violence_multiplier if entrant else 1.0,
            crews=crews,
        )
        self._link_user_dealers(rows, rng)
        return rows

    def _link_user_dealers(self, rows: np.ndarray, rng: np.random.Generator) -> None:
        """A user-dealer is also a dependent user: link each to a user living nearby."""
        ud = rows[self.dealers.tier[rows] == D.USER_DEALER]
        if ud.size == 0:
            return
        users = self.users
        pool = np.flatnonzero(
            (users.view("state") == U.ACTIVE) & users.view("dependent") & (users.view("dealer") < 0)
        )
        if pool.size < ud.size:
            self.dealers.tier[ud[pool.size :]] = D.STREET
            ud = ud[: pool.size]
        chosen = rng.choice(pool, size=ud.size, replace=False)
        users.dealer[chosen] = ud
        self.dealers.user[ud] = chosen
        self.dealers.place(self, ud, users.home[chosen])

    # -------------------------------------------------------------------- step
    def step(self) -> None:
        """One day, in this order:

        1. custody      sentences and releases due today
        2. tactics      yesterday's violence logged; active tactics issue police orders
        3. deploy       police units go out; presence and deterrence layers
        4. dealers      perceived risk, relocation, open/closed mode, price
        5. trade        users buy (contacts, then open market), fund use, use, overdose
        6. violence     turf and debt disputes
        7. enforcement  detection and arrests; seizures; arrests for acquisitive crime
        8. treatment    seeking, admission, appointments, drop-out, completion
        9. entry_exit   entrants fill unmet demand; unprofitable or scared dealers exit
        10. initiation  new users, progression, natural recovery and relapse
        11. fields      reputation, litter, fear, void and unmet-demand layers
        12. record      harms and region metrics for the day
        """
        self._phase_custody()
        self._phase_tactics()
        self._phase_deploy()
        self._phase_dealers()
        self._phase_trade()
        self._phase_violence()
        self._phase_enforcement()
        self._phase_treatment()
        self._phase_entry_exit()
        self._phase_initiation()
        self._phase_fields()
        self._phase_record()
        self.day += 1
        if self.day > 0:  # the day just run was recorded: Mesa's tools see it too
            self.datacollector.collect(self)
        self.running = self.day < self.config.steps

    @property
    def recording(self) -> bool:
        return self.day >= 0

    def run(self, progress=None) -> None:
        """Burn in, then run the recorded days; `progress(n)` is called per day."""
        while self.day < self.config.steps:
            self.step()
            if progress is not None:
                progress(1)
        self.finalize()

    def finalize(self) -> None:
        if not self._finalized:
            for tactic in self.tactics:
                tactic.finalize(self)
            self._finalized = True

    # ------------------------------------------------------------------ phases
    def _phase_custody(self) -> None:
        """Sentences and releases due today."""
        d, u, day = self.dealers, self.users, self.day
        rng = self.streams["custody"]
        due = np.flatnonzero(self.dealers.view("event_day") == day)
        for r in due:
            state = d.state[r]
            if state in (D.REMANDED, D.ACTIVE) and d.convicted[r]:
                self._imprison(r, rng)
            elif state == D.REMANDED:
                self._release_dealer(r, rng, resume=True)
            elif state == D.PRISON:
                self._release_dealer(
                    r, rng, resume=rng.random() < self.config.dealers.p_return_after_prison
                )
            else:
                d.event_day[r] = NEVER
        back = np.flatnonzero(
            (u.view("state") == U.PRISON) & (u.view("release_day") == day) & (u.view("dealer") < 0)
        )
        if back.size:
            u.state[back] = U.ACTIVE
            u.tolerance_until[back] = day + self.config.users.tolerance_loss_days

    def _phase_tactics(self) -> None:
        self.accounts.recording = self.recording
        self.levers = Levers()
        self._log_violence()
        for tactic in self.tactics:
            if tactic.is_active(self.day):
                tactic.step(self)

    def _log_violence(self) -> None:
        """Add yesterday's violent incidents to the log, before any tactic acts today.

        Tactics that judge crews by their recent violence (targeted deterrence, harm
        targeting) read this log, so they need not watch the market before they start.
        """
        if self.day < 0:
            return
        who = self.violent_today
        d = self.dealers
        self.violence_log.append((self.day - 1, who, d.cell[who], d.crew[who]))

    def _phase_deploy(self) -> None:
        cfg = self.config.police
        hours, visible, officer_days = self.police.deploy(self, self.streams["police"])
        shape = (self.town.width, self.town.height)
        self._police_hours = hours  # all officer-hours: detection
        self._visible_hours = visible  # uniformed hours: what buyers, dealers and residents see
        self.police_near = box_sum(visible.reshape(shape), 1).ravel()
        self.town.layer("police_presence")[:] = visible.reshape(shape)
        det = self.town.layer("deterrence")
        det *= 1.0 - cfg.deterrence_decay
        det += cfg.deterrence_gain * np.minimum(visible, cfg.deterrence_saturation).reshape(
            det.shape
        )
        np.minimum(det, 1.0, out=det)
        self.tally.add("police_officer_days", np.arange(self.town.n_cells), officer_days)
        self.ledger.add_field("officer_day", officer_days)

    def _phase_dealers(self) -> None:
        d = self.dealers
        rng = self.streams["dealers"]
        arrests_near = (
            box_sum(self._arrests_cell.reshape(self.town.width, self.town.height), 2).ravel()
            if self._arrests_cell.any()
            else self._arrests_cell
        )
        d.update_risk(self, arrests_near)
        d.relocate(self, rng)
        d.choose_mode(self, self._contacts_held(), rng)
        d.set_prices(self)

    def _contacts_held(self) -> np.ndarray:
        """How many active users hold each dealer's number."""
        u = self.users
        held = u.contacts[: u.n][u.view("state") == U.ACTIVE].ravel()
        held = held[held >= 0]
        return np.bincount(held, minlength=self.dealers.n)

    def pitch_value(self, cand: np.ndarray, is_open: np.ndarray) -> np.ndarray:
        """Expected daily profit net of risk at candidate pitches (dealers x candidates).

        Demand: nearby buyers, market reputation and unmet demand. Cost: rivals
        sharing the pitch and the expected cost of police presence, residual
        deterrence and guardianship. Closed dealers care little about passing trade.
        """
        town = self.town
        cfg = self.config.dealers
        m = self.config.market
        shape = (town.width, town.height)
        buyers = self._buyer_density
        rep = town.layer("reputation").ravel()
        unmet = box_sum(town.layer("unmet_demand"), 2).ravel()
        dealers_here = np.bincount(self.dealers.cell[self.dealers.active()], minlength=town.n_cells)
        rivals = box_sum(dealers_here.reshape(shape), 1).ravel()
        police = self.police_near
        risk = 1 - np.exp(-(cfg.risk_per_police_hour * police + town.layer("deterrence").ravel()))
        risk = risk + 0.3 * town.guardianship.ravel()
        margin = m.base_price * (1 - m.wholesale_share)
        centre = 1.0 + m.centre_draw * town.is_centre
        demand = (0.02 * buyers[cand] + 0.3 * rep[cand]) * centre[cand] + 0.5 * unmet[cand]
        passing = np.where(is_open[:, None], 1.0, 0.3)
        # The dealer itself sits in the rival count of its own pitch and of the
        # cells next to it (column 0 is its own pitch): it is not its own rival.
        here_x, here_y = town.cell_x[cand[:, :1]], town.cell_y[cand[:, :1]]
        beside = (np.abs(town.cell_x[cand] - here_x) <= 1) & (
            np.abs(town.cell_y[cand] - here_y) <= 1
        )
        rivals_there = rivals[cand] - beside
        trade = margin * demand * passing / (1.0 + 0.5 * rivals_there)
        return trade - cfg.risk_cost * risk[cand] * np.where(is_open[:, None], 1.0, 0.4)

    @property
    def _buyer_density(self) -> np.ndarray:
        """Active users' homes within 4 cells of each cell (cached per day)."""
        if getattr(self, "_buyer_density_day", None) != self.day:
            u = self.users
            act = u.view("state") == U.ACTIVE
            homes = np.bincount(u.view("home")[act], minlength=self.town.n_cells)
            self._buyer_density_cache = box_sum(
                homes.reshape(self.town.width, self.town.height), 4
            ).ravel()
            self._buyer_density_day = self.day
        return self._buyer_density_cache

    def _phase_trade(self) -> None:
        """Users buy, fund use, use and risk overdose."""
        trade(self, self.streams["market"])

    def _phase_violence(self) -> None:
        """Turf disputes where rivals crowd a pitch or a void opened; debt disputes after seizures."""
        cfg = self.config.dealers
        d = self.dealers
        rng = self.streams["violence"]
        act = d.active()
        self.violent_today = np.empty(0, dtype=np.int64)
        if act.size == 0:
            return
        town = self.town
        cells = d.cell[act]
        counts = np.bincount(cells, minlength=town.n_cells)
        near = box_sum(counts.reshape(town.width, town.height), 1).ravel()[cells]
        rivals = np.maximum(0.0, near - 1.0 - self._crewmates_near(act))
        void = town.layer("void").ravel()[cells]
        mode = np.where(d.open[act], 1.0, cfg.closed_turf_factor)
        turf = cfg.turf_rate * d.violence[act] * rivals * (1.0 + cfg.void_boost * void) * mode
        debt = (
            cfg.debt_rate
            * d.violence[act]
            * np.minimum(1.0, d.debt[act] / max(self.config.police.seizure_value, 1.0))
        )
        hazard = (turf + debt) * np.exp(-d.deterrent[act])
        hit = rng.random(act.size) < 1.0 - np.exp(-hazard)
        who = act[hit]
        self.violent_today = who
        d.incidents_recent[: d.n] *= 0.99
        d.incidents_recent[who] += 1.0
        if who.size == 0:
            return
        severity = rng.random(who.size)
        # More violent actors do more serious harm: shares scale with the trait (capped).
        scale = np.minimum(2.0, d.violence[who] / np.median(d.violence[act]))
        homicide = severity < cfg.homicide_share * scale
        serious = ~homicide & (severity < (cfg.homicide_share + cfg.serious_share) * scale)
        other = ~homicide & ~serious
        where = d.cell[who]
        self.ledger.add("homicide", where[homicide])
        self.ledger.add("serious_violence", where[serious])
        self.ledger.add("other_violence", where[other])
        self.tally.add("violent_incidents", where)
        self.tally.add("homicides", where[homicide])
        self._violence_cells = where
        if self.recording:
            d.violence_total[who] += 1

    def _crewmates_near(self, act: np.ndarray) -> np.ndarray:
        """Same-crew dealers within one cell of each active dealer (crews do not fight themselves)."""
        d, town = self.dealers, self.town
        crew = d.crew[act]
        out = np.zeros(act.size)
        members = np.flatnonzero(crew >= 0)
        if members.size < 2:
            return out
        x, y = town.cell_x[d.cell[act[members]]], town.cell_y[d.cell[act[members]]]
        n = town.n_cells
        keys = crew[members] * n + d.cell[act[members]]
        uniq, counts = np.unique(keys, return_counts=True)
        # Probe the 9 cells around each member for same-crew keys, all at once.
        nx = x[None, :] + _DX[:, None]
        ny = y[None, :] + _DY[:, None]
        inside = (nx >= 0) & (nx < town.width) & (ny >= 0) & (ny < town.height)
        probe = crew[members][None, :] * n + nx * town.height + ny
        pos = np.minimum(np.searchsorted(uniq, probe), uniq.size - 1)
        hit = inside & (uniq[pos] == probe)
        out[members] = np.where(hit, counts[pos], 0).sum(axis=0)
        out[members] -= 1  # not oneself
        return out

    def _phase_enforcement(self) -> None:
        """Detection by deployed units, arrests, and arrests of targeted dealers."""
        enforce(self, self.streams["enforcement"])

    def _phase_treatment(self) -> None:
        run_treatment(self, self.streams["treatment"])

    def _phase_entry_exit(self) -> None:
        """Void filling and exit (seed 000: new sellers fill the gaps arrests leave)."""
        cfg = self.config.dealers
        m = self.config.market
        d = self.dealers
        rng = self.streams["entry"]
        act = d.active()
        old_enough = self.day - d.entered_day[act] > 30
        poor = (d.profit[act] < cfg.exit_profit) & old_enough
        scared = d.risk[act] > cfg.exit_risk
        leave = act[(poor | scared) & (rng.random(act.size) < cfg.exit_prob)]
        for r in leave:
            self._desist(r)
        unmet = self.town.layer("unmet_demand").ravel()
        expected = m.entrants.rate * self.tally.total("unmet_demand")
        n_new = int(rng.poisson(expected)) if expected > 0 else 0
        if n_new:
            w = unmet + 1e-9
            self._add_dealers(n_new, w / w.sum(), rng, entrant=True)

    def _phase_initiation(self) -> None:
        """New users where open markets give access (Table 4.2); progression; recovery; relapse."""
        run_population_flows(self, self.streams["initiation"])

    def _phase_fields(self) -> None:
        """Decay and refresh the cell layers: reputation, litter, fear, void, unmet demand."""
        town = self.town
        shape = (town.width, town.height)
        t = self.tally.values
        open_sales = t[TI["open_sales"]].reshape(shape)
        self.open_sales_yesterday = open_sales.ravel().copy()  # for tactics that watch an area
        m = self.config.market
        for layer, keep in (
            (self._rep_recent, m.reputation_memory),
            (self._rep_standing, m.reputation_standing_memory),
        ):
            layer *= keep
            layer += (1.0 - keep) * open_sales
        town.layer("reputation")[:] = 0.5 * (self._rep_recent + self._rep_standing)
        litter = town.layer("litter")
        litter *= 1.0 - 0.1 * (0.5 + town.guardianship)
        litter += t[TI["litter"]].reshape(shape)
        unmet = town.layer("unmet_demand")
        unmet *= 0.9
        unmet += t[TI["unmet_demand"]].reshape(shape)
        void = town.layer("void")
        void *= 0.93
        void += self._arrests_cell.reshape(shape)
        # Fear: visible dealing and violence nearby (market); visible raids (enforcement).
        act = self.dealers.active()
        open_here = np.bincount(
            self.dealers.cell[act[self.dealers.open[act]]], minlength=town.n_cells
        )
        exposed = box_sum(open_here.reshape(shape), 1) > 0
        violence = self.tally.values[TI["violent_incidents"]].reshape(shape)
        fm = self._fear_market.reshape(shape)
        fm *= 0.97 * (1.0 - self.levers.fear_relief)
        fm += 0.01 * exposed
        if violence.any():
            fm += 0.15 * box_sum(violence, 1)
        np.minimum(fm, 0.6, out=fm)
        fe = self._fear_enforcement.reshape(shape)
        fe *= 0.9 * (1.0 - self.levers.fear_relief)
        if self.police.raid_cells.size:
            raids = np.bincount(self.police.raid_cells, minlength=town.n_cells).reshape(shape)
            fe += 0.2 * box_sum(raids, 1)
        np.minimum(fe, 0.6, out=fe)
        fear = town.layer("fear")
        fear[:] = np.minimum(1.0, fm + fe)
        residents = town.residents
        exposure = (exposed * residents).ravel()
        self.tally.set_field("visible_dealing", exposure)
        self.tally.set_field("fear", (fear * residents).ravel())
        self.ledger.add_field("visible_dealing_exposure", exposure)
        self.ledger.add_field("fear", (fm * residents).ravel(), cause="market")
        self.ledger.add_field("fear", (fe * residents).ravel(), cause="enforcement")

    def _phase_record(self) -> None:
        """Daily states, runner exploitation and prison days; close the day's ledger."""
        d, u = self.dealers, self.users
        act = d.active()
        cells = d.cell[act]
        self.tally.add("active_dealers", cells)
        is_open = d.open[act]
        self.tally.add("open_dealers", cells[is_open])
        self.tally.add("closed_dealers", cells[~is_open])
        self.tally.add("user_dealers", cells[d.tier[act] == D.USER_DEALER])
        self.ledger.add("runner_exploitation", cells[d.exploits[act]])
        ustate = u.view("state")
        active_users = ustate == U.ACTIVE
        homes = u.view("home")
        self.tally.add("users", homes[active_users])
        self.tally.add("dependent_users", homes[active_users & u.view("dependent")])
        treat = u.view("treatment")
        self.tally.add("users_in_treatment", homes[treat == U.IN_TREATMENT])
        self.tally.add("treatment_waiting", homes[treat == U.WAITING])
        # Prison days: dealers in custody, and users in prison who are not user-dealers
        # (a user-dealer's custody is counted once, on the dealer row).
        dstate = d.view("state")
        custody = (dstate == D.REMANDED) | (dstate == D.PRISON)
        held_users = (ustate == U.PRISON) & (u.view("dealer") < 0)
        prison_cells = np.concatenate([d.view("cell")[custody], homes[held_users]])
        self.tally.add("prison_days", prison_cells)
        self.ledger.add("prison_day", prison_cells)
        self.accounts.add_by_index(
            "prison_days",
            np.concatenate([d.view("arrested_by")[custody], u.view("arrested_by")[held_users]]),
        )
        harm_by_type = self.ledger.close_day(self.day, record=self.recording)
        harm_per_cell = (self.recorder.cell_weights * harm_by_type).sum(axis=0)
        # Recent weighted harm per cell: what a harm-focused analyst would map.
        self.harm_heat *= 0.97
        self.harm_heat += 0.03 * harm_per_cell
        if self.recording:
            self.recorder.record(self.tally, harm_per_cell)
            self.dealers.sales_total[: d.n] += self.dealers.sales[: d.n]
            self.dealers.days_active[act] += 1
        self._arrests_cell = self.tally.values[_DEALER_ARRESTS].copy()
        self.tally.reset()

    # ------------------------------------------------------------ transitions
    def arrest_dealer(
        self, r: int, rng: np.random.Generator, cell: int | None = None, by: str = "standard_patrol"
    ) -> None:
        """Arrest dealer row r for tactic `by`: charge, remand or bail, seizure (crew debt), void."""
        pc = self.config.police
        d, u = self.dealers, self.users
        cell = int(d.cell[r]) if cell is None else cell
        d.arrests[r] += 1
        d.arrested_by[r] = self.accounts.index(by)
        self.tally.add("arrests", cell)
        self.ledger.add("arrest", cell)
        self.accounts.add(by, "arrests")
        if d.children[r]:
            self.ledger.add("children_affected", cell, float(d.children[r]))
            self.accounts.add(by, "children_affected", float(d.children[r]))
        self.tally.add("seizures", cell)
        self._add_debt(r, pc.seizure_value)
        if d.user[r] >= 0:
            u.adverse_until[d.user[r]] = self.day + 30
        charged = rng.random() < pc.charge_prob
        if not charged:
            d.risk[r] = max(d.risk[r], 0.5)
            return
        self.tally.add("prosecutions", cell)
        self.ledger.add("prosecution", cell)
        self.accounts.add(by, "prosecutions")
        d.convicted[r] = rng.random() < pc.convict_prob
        d.event_day[r] = self.day + max(1, pc.days_to_sentence)
        if rng.random() < pc.remand_prob:
            self._take_into_custody(r, D.REMANDED)
        else:
            d.risk[r] = max(d.risk[r], 0.6)

    def _add_debt(self, r: int, value: float) -> None:
        """A seizure leaves a debt: on the crew's active members, or the dealer alone."""
        d = self.dealers
        crew = d.crew[r]
        if crew >= 0:
            mates = np.flatnonzero((d.view("crew") == crew) & (d.view("state") == D.ACTIVE))
            mates = mates[mates != r]
            if mates.size:
                d.debt[mates] += value / mates.size
                return
        d.debt[r] += value

    def _take_into_custody(self, r: int, state: int) -> None:
        d, u = self.dealers, self.users
        d.state[r] = state
        d.take_off_street(np.array([r]))
        if d.user[r] >= 0:
            ur = d.user[r]
            if u.state[ur] == U.ACTIVE:
                self._leave_treatment(ur)
                u.state[ur] = U.PRISON

    def _imprison(self, r: int, rng: np.random.Generator) -> None:
        pc = self.config.police
        d = self.dealers
        median = pc.sentence_user_dealer if d.tier[r] == D.USER_DEALER else pc.sentence_dealer
        days = max(1, int(round(median * rng.lognormal(0.0, 0.5))))
        self._take_into_custody(r, D.PRISON)
        d.event_day[r] = self.day + days

    def _release_dealer(self, r: int, rng: np.random.Generator, resume: bool) -> None:
        d, u = self.dealers, self.users
        d.event_day[r] = NEVER
        d.convicted[r] = False
        if d.user[r] >= 0:
            ur = d.user[r]
            if u.state[ur] == U.PRISON:
                u.state[ur] = U.ACTIVE
                u.tolerance_until[ur] = self.day + self.config.users.tolerance_loss_days
        if not resume:
            self._desist(r)
            return
        d.state[r] = D.ACTIVE
        d.risk[r] = 0.3
        d.entered_day[r] = self.day
        t = self.town
        x = np.clip(t.cell_x[d.cell[r]] + rng.integers(-3, 4), 0, t.width - 1)
        y = np.clip(t.cell_y[d.cell[r]] + rng.integers(-3, 4), 0, t.height - 1)
        d.place(self, np.array([r]), np.array([x * t.height + y]))

    def _desist(self, r: int) -> None:
        d, u = self.dealers, self.users
        d.state[r] = D.DESISTED
        d.take_off_street(np.array([r]))
        if d.user[r] >= 0:
            u.dealer[d.user[r]] = -1
            d.user[r] = -1

    def divert_dealer(self, r: int) -> None:
        """Take a user-dealer out of dealing into treatment (fast track)."""
        d = self.dealers
        d.state[r] = D.DIVERTED
        d.take_off_street(np.array([r]))
        self.tally.add("diversions", int(d.cell[r]))

    def refer_to_treatment(self, ur: int, by: str, fast_track: bool = False) -> str:
        """Refer user row `ur` to treatment on behalf of tactic `by`.

        Admits at once if a place is free at the nearest site with one, else
        joins a waiting list (at its head when fast-tracked). Returns "admitted",
        "waiting" or "refused" (not an active user).
        """
        u = self.users
        if u.state[ur] != U.ACTIVE or u.treatment[ur] == U.IN_TREATMENT:
            return "refused"
        self._leave_treatment(ur)
        u.referred_by[ur] = self.accounts.index(by)
        order = np.argsort(
            [
                abs(s.cell.coordinate[0] - self.town.cell_x[u.home[ur]])
                + abs(s.cell.coordinate[1] - self.town.cell_y[u.home[ur]])
                for s in self.services
            ]
        )
        for s in order:
            if self.services[s].free_places > 0:
                admit(self, np.array([ur]), int(s))
                return "admitted"
        site = int(order[0])
        join_waiting_list(self, ur, site)
        if fast_track:
            self.services[site].waiting.remove(ur)
            self.services[site].waiting.appendleft(ur)
        return "waiting"

    def _leave_treatment(self, ur: int) -> None:
        u = self.users
        if u.treatment[ur] in (U.WAITING, U.IN_TREATMENT):
            for s in self.services:
                s.leave(ur)
                s.drop_from_list(ur)
            u.treatment[ur] = U.NO_TREATMENT
        u.referred_by[ur] = -1

    def user_dies(self, rows: np.ndarray) -> None:
        u = self.users
        for ur in rows:
            self._leave_treatment(int(ur))
            u.state[ur] = U.DEAD
            if u.dealer[ur] >= 0:
                self._desist(int(u.dealer[ur]))
            agent = u.agents[ur]
            agent.remove()

    # -------------------------------------------------------------- reporting
    def dealer_harm_score(self, rows: np.ndarray) -> np.ndarray:
        """Harm score for targeting (seed 001 ch. 4; MoRiLE in seed 003):
        violence, visibility, runner exploitation and conspicuous wealth."""
        d = self.dealers
        wealth = d.profit[rows] / max(self.config.market.base_price, 1.0)
        return d.violence[rows] + 0.5 * d.open[rows] + 1.0 * d.exploits[rows] + 0.05 * wealth

    def violence_concentration(self) -> dict[str, Any]:
        """Share of recorded violent incidents caused by the most violent 10% and 20% of dealers."""
        # Dealers who were active in the market at some time during the recorded period.
        d = self.dealers
        counts = np.sort(d.view("violence_total")[d.view("days_active") > 0])[::-1]
        total = counts.sum()
        n = max(1, counts.size)
        out: dict[str, Any] = {"incidents": int(total), "dealers": int(n)}
        for q in (0.1, 0.2):
            k = max(1, int(round(q * n)))
            out[f"top_{int(q * 100)}pct_share"] = float(counts[:k].sum() / total) if total else None
        return out

    def census(self) -> dict[str, Any]:
        """Every agent accounted for in exactly one state."""
        d, u = self.dealers, self.users
        return {
            "dealers": {
                name: int((d.view("state") == i).sum()) for i, name in enumerate(D.STATE_NAMES)
            },
            "users": {
                name: int((u.view("state") == i).sum()) for i, name in enumerate(U.STATE_NAMES)
            },
            "treatment": {
                name: int((u.view("treatment") == i).sum())
                for i, name in enumerate(U.TREATMENT_NAMES)
            },
            "police_units": self.police.n_units,
        }
