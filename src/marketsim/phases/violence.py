"""Phase 6, violence (ODD §7): turf and debt disputes between dealers.

Turf disputes rise where rivals crowd a pitch or a void opened after arrests
(UKDPC 2009 Box A; Werb et al. 2011); debt disputes follow seizures (N8 PRP
2024), weighed against working capital (Moeller & Sandberg 2015). Credible targeted deterrence raises the expected cost (the `deterrent`).
"""

from __future__ import annotations

import numpy as np

from marketsim import kernels
from marketsim.agents import dealer as D
from marketsim.rng import stream_state
from marketsim.state import World


def run(world: World) -> None:
    cfg = world.config.dealers
    d = world.dealers
    rng = world.streams["violence"]
    world.violent_today = np.empty(0, dtype=np.int64)
    # Turf: rivals within one cell (not crewmates), more where a void opened and in the
    # open. A debt weighs by its size against the dealer's working capital: a street
    # seller's day of stock is a small loss, a wholesale seizure a threat to life
    # (Moeller & Sandberg 2015; N8 PRP 2024). Debt collection is one of several kinds
    # of systemic violence, not most of it (Goldstein et al. 1989). The arithmetic:
    # kernels.dispute_pressure, over the active dealers (kernels.violence_pressure);
    # credible deterrence lowers the hazard.
    town = world.town
    pr = np.empty(kernels.N_DISPUTE_PARAMS)
    pr[kernels.DP_TURF_RATE], pr[kernels.DP_CLOSED_TURF] = cfg.turf_rate, cfg.closed_turf_factor
    pr[kernels.DP_VOID_BOOST] = cfg.void_boost
    pr[kernels.DP_DEBT_RATE], pr[kernels.DP_DEBT_CAPITAL] = cfg.debt_rate, cfg.debt_capital
    act, cells, pressure, neg_deterrent = kernels.violence_pressure(
        d.view("state"),
        D.ACTIVE,
        d.cell,
        d.open,
        d.crew,
        d.violence,
        d.debt,
        d.deterrent,
        town.layer("void").ravel(),
        town.cell_x,
        town.cell_y,
        town.height,
        pr,
    )
    if act.size == 0:
        return
    hazard = pressure * np.exp(neg_deterrent)
    chance = 1.0 - np.exp(-hazard)
    # The chances summed are the incidents to expect: the same mean as the count, without
    # the luck of which few dealers' draws fell (a region sees a handful a quarter).
    world.tally.add("expected_violent_incidents", cells, chance)
    # Who starts an incident (one draw each), recent incidents decayed and the day's
    # added, and each incident's expected severity: more violent actors do more serious
    # harm, their shares scaled by the trait over the median (capped); one draw each
    # for whether it was a homicide (kernels.violent_incidents, drawing from the
    # violence stream's state).
    with stream_state(rng) as (state, _spare):
        who, where, p_homicide, p_serious, p_other, homicides = kernels.violent_incidents(
            state,
            act,
            chance,
            d.cell,
            d.violence,
            d.incidents_recent,
            d.n,
            cfg.homicide_share,
            cfg.serious_share,
        )
    world.violent_today = who
    if who.size == 0:
        return
    # The harm account books each incident's expected severity; the timeseries counts
    # the homicides that happened. A homicide costs £3.2m, and a few a run would
    # otherwise decide a tactic's net harm by luck (docs/validation.md).
    world.ledger.add("homicide", where, p_homicide)
    world.ledger.add("serious_violence", where, p_serious)
    world.ledger.add("other_violence", where, p_other)
    world.tally.add("violent_incidents", where)
    world.tally.add("homicides", homicides)
    if world.recording:
        d.violence_total[who] += 1
