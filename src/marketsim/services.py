"""Treatment services and the flows into and out of the user population."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from marketsim.accounts import SELF_REFERRAL
from marketsim.agents import user as U
from marketsim.fields import box_sum
from marketsim.metrics import TALLY_INDEX

if TYPE_CHECKING:
    from marketsim.model import MarketModel


def site_police_hours(model: MarketModel) -> np.ndarray:
    """Officer-hours today within two cells of each treatment site."""
    town = model.town
    hours = model._visible_hours.reshape(town.width, town.height)
    out = np.empty(len(model.services))
    for i, service in enumerate(model.services):
        x, y = service.cell.coordinate
        out[i] = hours[max(0, x - 2) : x + 3, max(0, y - 2) : y + 3].sum()
    return out


def run_treatment(model: MarketModel, rng: np.random.Generator) -> None:
    """Seeking, FIFO admission, appointments, drop-out and completion.

    Police presence near a site deters people from seeking help and makes
    clients miss appointments (the Derbyshire case, seed 001 App. B).
    """
    sc = model.config
    cfg, cu = sc.treatment, sc.users
    u, day, tally, ledger = model.users, model.day, model.tally, model.ledger
    police_near = site_police_hours(model)

    # seeking
    active = u.in_state(U.ACTIVE)
    cand = active[(u.treatment[active] == U.NO_TREATMENT) & u.dependent[active]]
    site = model.town.nearest_site[u.home[cand]]
    boost = np.where(u.adverse_until[cand] > day, cu.treatment_seek_after_adverse, 1.0)
    p = (
        cu.treatment_seek_prob
        * model.levers.treatment_seeking
        * boost
        * np.exp(-cu.treatment_police_deterrence * police_near[site])
    )
    seek = rng.random(cand.size) < p
    for ur, s in zip(cand[seek], site[seek], strict=True):
        # Asked at the nearest site (police there deter the asking), a user is booked
        # where a place comes soonest: a free place, else the shortest list per place.
        join_waiting_list(model, int(ur), _soonest_site(model, int(s)))

    # admission, first come first served
    for s, service in enumerate(model.services):
        admitted = np.array(service.admit(), dtype=np.int64)
        if admitted.size:
            _start(model, admitted, s)

    # clients: cost, appointments, drop-out, completion
    clients = np.flatnonzero(u.view("treatment") == U.IN_TREATMENT)
    if clients.size == 0:
        return
    site = u.site[clients]
    site_cells = np.array([s.cell_index for s in model.services])
    ledger.add("treatment_place_day", site_cells[site])
    model.accounts.add_by_index("treatment_place_days", u.referred_by[clients])
    appointment = rng.random(clients.size) < cfg.appointment_prob
    p_miss = np.minimum(1.0, cfg.missed_per_police_hour * police_near[site])
    missed = appointment & (rng.random(clients.size) < p_miss)
    if missed.any():
        tally.add("missed_appointments", u.home[clients[missed]])
        ledger.add("missed_treatment", u.home[clients[missed]])
        u.missed[clients[missed]] += 1
    p_drop = cfg.dropout_prob + cfg.missed_dropout_boost * u.missed[clients]
    drop = rng.random(clients.size) < p_drop
    done = ~drop & (day - u.treatment_day[clients] >= cfg.duration_days)
    for ur in clients[drop]:
        model._leave_treatment(int(ur))
    u.tolerance_until[clients[drop]] = day + cu.tolerance_loss_days
    tally.add("treatment_dropouts", u.home[clients[drop]])
    for ur in clients[done]:
        model._leave_treatment(int(ur))
    u.treatment[clients[done]] = U.COMPLETED
    u.referred_by[clients[done]] = -1
    _recover(model, clients[done])


def _soonest_site(model: MarketModel, nearest: int) -> int:
    """The site with a free place (nearest first), else the shortest waiting list per place."""
    services = model.services
    if services[nearest].free_places > 0 or len(services) == 1:
        return nearest
    free = [i for i, s in enumerate(services) if s.free_places > 0]
    if free:
        return free[0]
    return min(
        range(len(services)),
        key=lambda i: (len(services[i].waiting) / max(services[i].places, 1), i != nearest),
    )


def _start(model: MarketModel, rows: np.ndarray, site: int) -> None:
    """Rows have just taken a place at `site`."""
    u = model.users
    u.treatment[rows] = U.IN_TREATMENT
    u.treatment_day[rows] = model.day
    u.missed[rows] = 0
    u.site[rows] = site
    unreferred = rows[u.referred_by[rows] < 0]
    u.referred_by[unreferred] = model.accounts.index(SELF_REFERRAL)
    model.tally.add("treatment_entries", u.home[rows])


def admit(model: MarketModel, rows: np.ndarray, site: int) -> None:
    """Admit rows straight into free places at `site` (a referral that skips the list)."""
    for ur in rows:
        model.services[site].clients.add(int(ur))
    _start(model, rows, site)


def join_waiting_list(model: MarketModel, ur: int, site: int) -> None:
    u = model.users
    u.treatment[ur] = U.WAITING
    u.treatment_day[ur] = model.day
    u.site[ur] = site
    model.services[site].join(ur)


def _recover(model: MarketModel, rows: np.ndarray) -> None:
    """Stop using: completed treatment or natural recovery. User-dealers stop dealing too."""
    u = model.users
    u.state[rows] = U.RECOVERED
    u.recovered_day[rows] = model.day
    for ur in rows:
        if u.dealer[ur] >= 0:
            model._desist(int(u.dealer[ur]))


def run_population_flows(model: MarketModel, rng: np.random.Generator) -> None:
    """Initiation driven by local open-market access, progression, recovery and relapse."""
    sc = model.config
    cu = sc.users
    u, town, day = model.users, model.town, model.day
    shape = (town.width, town.height)
    # Initiation: visible open markets normalise use and ease access (seed 001 Table 4.2).
    open_sales = model.tally.values[TALLY_INDEX["open_sales"]].reshape(shape)
    access = box_sum(open_sales, 2).ravel() / 10.0 + cu.initiation_baseline
    rate = cu.initiation_rate * town.residents.ravel() * access
    total = rate.sum()
    n_new = int(rng.poisson(total)) if total > 0 else 0
    if n_new:
        homes = rng.choice(town.n_cells, size=n_new, p=rate / total)
        rows = u.create(model, homes, np.zeros(n_new, dtype=bool), rng)
        model.tally.add("new_users", u.home[rows])
        model.ledger.add("initiation", u.home[rows])

    active = u.in_state(U.ACTIVE)
    rec = active[~u.dependent[active]]
    u.dependent[rec[rng.random(rec.size) < cu.progression_prob]] = True
    free = active[u.treatment[active] != U.IN_TREATMENT]
    p_stop = np.where(u.dependent[free], cu.desist_prob_dependent, cu.desist_prob_recreational)
    stop = free[rng.random(free.size) < p_stop]
    for ur in stop:
        model._leave_treatment(int(ur))
    _recover(model, stop)

    # Relapse: only formerly dependent users, and only within the relapse window;
    # recreational users who stop, and long-term recovered users, stay stopped.
    recovered = u.in_state(U.RECOVERED)
    at_risk = recovered[
        u.dependent[recovered]
        & (day - u.recovered_day[recovered] < sc.treatment.relapse_window_days)
    ]
    relapse = at_risk[rng.random(at_risk.size) < sc.treatment.relapse_prob]
    u.state[relapse] = U.ACTIVE
    u.treatment[relapse] = U.NO_TREATMENT
    u.tolerance_until[relapse] = day + cu.tolerance_loss_days
