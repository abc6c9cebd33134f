"""Phase 10, initiation (ODD §7): new users, progression, natural recovery and relapse.

New users start where visible open markets normalise use and ease access
(UKDPC 2009, Table 4.2).
"""

from __future__ import annotations

import numpy as np

from marketsim import events, kernels
from marketsim.agents import user as U
from marketsim.metrics import TALLY_INDEX
from marketsim.rng import stream_state, weighted_choice
from marketsim.state import World


def run(world: World) -> None:
    """Initiation driven by local open-market access, progression, recovery and relapse."""
    rng = world.streams["initiation"]
    sc = world.config
    cu = sc.users
    u, town, day = world.users, world.town, world.day
    shape = (town.width, town.height)
    # Initiation: visible open markets normalise use and ease access (seed 001 Table 4.2).
    # Per cell: rate x residents x access, access the open sales within two cells / 10 +
    # the baseline (kernels.initiation_rate), and the town's total.
    open_sales = world.tally.values[TALLY_INDEX["open_sales"]].reshape(shape)
    rate, total = kernels.initiation_rate(
        open_sales, town.residents.ravel(), cu.initiation_rate, cu.initiation_baseline
    )
    n_new = int(rng.poisson(total)) if total > 0 else 0
    if n_new:
        homes = weighted_choice(rng, rate / total, n_new)
        events.add_users(world, homes, np.zeros(n_new, dtype=bool), rng)
        world.tally.add("new_users", homes)  # their rows' homes
        world.ledger.add("initiation", homes)

    # Progression, then natural recovery, of active users: one draw each, the
    # progression draws first (kernels.career_day, drawing from the stream's state).
    with stream_state(rng) as (state, _spare):
        stop = kernels.career_day(
            state,
            u.view("state"),
            u.dependent,
            u.treatment,
            U.ACTIVE,
            U.IN_TREATMENT,
            cu.progression_prob,
            cu.desist_prob_dependent,
            cu.desist_prob_recreational,
        )
    for ur in stop:
        events.leave_treatment(world, int(ur))
    events.recover(world, stop)

    # Relapse: only formerly dependent users, and only within the relapse window;
    # recreational users who stop, and long-term recovered users, stay stopped. Who
    # relapses is active again, out of treatment, with tolerance lost
    # (kernels.relapse_day).
    with stream_state(rng) as (state, _spare):
        kernels.relapse_day(
            state,
            u.view("state"),
            u.dependent,
            u.recovered_day,
            u.treatment,
            u.tolerance_until,
            U.RECOVERED,
            U.ACTIVE,
            U.NO_TREATMENT,
            day,
            sc.treatment.relapse_window_days,
            sc.treatment.relapse_prob,
            cu.tolerance_loss_days,
        )
