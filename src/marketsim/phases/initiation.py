"""Phase 10, initiation (ODD §7): new users, progression, natural recovery and relapse.

New users start where visible open markets normalise use and ease access
(UKDPC 2009, Table 4.2).
"""

from __future__ import annotations

import numpy as np

from marketsim import events
from marketsim.agents import user as U
from marketsim.fields import box_sum
from marketsim.metrics import TALLY_INDEX
from marketsim.rng import weighted_choice
from marketsim.state import World


def run(world: World) -> None:
    """Initiation driven by local open-market access, progression, recovery and relapse."""
    rng = world.streams["initiation"]
    sc = world.config
    cu = sc.users
    u, town, day = world.users, world.town, world.day
    shape = (town.width, town.height)
    # Initiation: visible open markets normalise use and ease access (seed 001 Table 4.2).
    open_sales = world.tally.values[TALLY_INDEX["open_sales"]].reshape(shape)
    access = box_sum(open_sales, 2).ravel() / 10.0 + cu.initiation_baseline
    rate = cu.initiation_rate * town.residents.ravel() * access
    total = rate.sum()
    n_new = int(rng.poisson(total)) if total > 0 else 0
    if n_new:
        homes = weighted_choice(rng, rate / total, n_new)
        rows = events.add_users(world, homes, np.zeros(n_new, dtype=bool), rng)
        world.tally.add("new_users", u.home[rows])
        world.ledger.add("initiation", u.home[rows])

    active = u.in_state(U.ACTIVE)
    rec = active[~u.dependent[active]]
    u.dependent[rec[rng.random(rec.size) < cu.progression_prob]] = True
    free = active[u.treatment[active] != U.IN_TREATMENT]
    p_stop = np.where(u.dependent[free], cu.desist_prob_dependent, cu.desist_prob_recreational)
    stop = free[rng.random(free.size) < p_stop]
    for ur in stop:
        events.leave_treatment(world, int(ur))
    events.recover(world, stop)

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
