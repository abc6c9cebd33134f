"""Phase 8, treatment (ODD §7): seeking, admission, appointments, drop-out, completion.

Fixed sites with places and a FIFO waiting list (agents/treatment.py).
"""

from __future__ import annotations

import numpy as np

from marketsim import events, kernels
from marketsim.agents import user as U
from marketsim.harms import ledger_rows
from marketsim.rng import stream_state
from marketsim.state import World

# The harm ledger's row of treatment place-days (type and its own cause), for
# kernels.treatment_clients.
_PLACE_DAY_ROW = int(ledger_rows((("treatment_place_day", None, 0),))[0][0])


def run(world: World) -> None:
    """Seeking, FIFO admission, appointments, drop-out and completion.

    Police presence near a site deters people from seeking help and makes
    clients miss appointments (the Derbyshire case, seed 001 App. B).
    """
    rng = world.streams["treatment"]
    sc = world.config
    cfg, cu = sc.treatment, sc.users
    u, day, tally, ledger = world.users, world.day, world.tally, world.ledger
    town = world.town

    # seeking: active, dependent users not in treatment, their nearest site and the
    # boost to seeking (after an overdose or arrest); each asks with the chance
    # seek_prob x the boost x exp(-deterrence x today's officer-hours within two cells
    # of its site) (kernels.treatment_seeking, then kernels.treatment_seekers, drawing
    # from the treatment stream's state).
    police_near, cand, site, boost, deterred = kernels.treatment_seeking(
        world.visible_hours.reshape(town.width, town.height),
        town.cell_x[town.treatment_cells],  # the sites' x and y, in world.services' order
        town.cell_y[town.treatment_cells],
        u.view("state"),
        U.ACTIVE,
        u.treatment,
        U.NO_TREATMENT,
        u.dependent,
        u.home,
        town.nearest_site,
        u.adverse_until,
        day,
        cu.treatment_seek_after_adverse,
        cu.treatment_police_deterrence,
    )
    with stream_state(rng) as (state, _spare):
        seekers, seek_site = kernels.treatment_seekers(
            state,
            cand,
            site,
            boost,
            np.exp(deterred),
            cu.treatment_seek_prob * world.levers.treatment_seeking,
        )
    for ur, s in zip(seekers.tolist(), seek_site.tolist(), strict=True):
        # Asked at the nearest site (police there deter the asking), a user is booked
        # where a place comes soonest: a free place, else the shortest list per place.
        events.join_waiting_list(world, ur, _soonest_site(world, s))

    # admission, first come first served
    for s, service in enumerate(world.services):
        admitted = service.admit()
        if admitted:
            events.start_treatment(world, np.array(admitted, dtype=np.int64), s)

    # clients: cost, appointments, drop-out, completion
    # Each client books a place-day at its site, charged to the account that referred it;
    # appointments are missed more where police stand near the site, drop-out is more
    # likely after misses, and clients complete after the course (kernels.clients_day:
    # treatment_clients, then client_day from three rows of uniforms drawn from the
    # treatment stream's state).
    pr = np.empty(kernels.N_CLIENT_PARAMS)
    pr[kernels.CD_APPOINTMENT] = cfg.appointment_prob
    pr[kernels.CD_MISSED_PER_HOUR] = cfg.missed_per_police_hour
    pr[kernels.CD_DROPOUT] = cfg.dropout_prob
    pr[kernels.CD_MISSED_BOOST] = cfg.missed_dropout_boost
    rows, touched = ledger.flat_rows()
    with stream_state(rng) as (state, _spare):
        n_clients, by_account, missed_homes, dropped, completed = kernels.clients_day(
            state,
            u.view("treatment"),
            U.IN_TREATMENT,
            u.site,
            u.referred_by,
            world.town.treatment_cells,  # the sites' cells, in world.services' order
            len(world.accounts.names),
            rows,
            touched,
            _PLACE_DAY_ROW,
            police_near,
            u.missed,
            u.treatment_day,
            u.home,
            day,
            cfg.duration_days,
            pr,
        )
    if n_clients == 0:
        return
    world.accounts.add_counts("treatment_place_days", by_account)
    if missed_homes.size:
        tally.add("missed_appointments", missed_homes)
        ledger.add("missed_treatment", missed_homes)
    if dropped.size:
        for ur in dropped.tolist():
            events.leave_treatment(world, ur)
        u.tolerance_until[dropped] = day + cu.tolerance_loss_days
        tally.add("treatment_dropouts", u.home[dropped])
    if completed.size:
        for ur in completed.tolist():
            events.leave_treatment(world, ur)
        u.treatment[completed] = U.COMPLETED
        u.referred_by[completed] = -1
        events.recover(world, completed)


def _soonest_site(world: World, nearest: int) -> int:
    """The site with a free place (nearest first), else the shortest waiting list per place."""
    services = world.services
    if services[nearest].free_places > 0 or len(services) == 1:
        return nearest
    free = [i for i, s in enumerate(services) if s.free_places > 0]
    if free:
        return free[0]
    return min(
        range(len(services)),
        key=lambda i: (len(services[i].waiting) / max(services[i].places, 1), i != nearest),
    )
