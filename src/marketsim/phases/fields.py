"""Phase 11, fields (ODD §7): reputation, violence, litter, fear, void and unmet-demand layers.

Reputation has two memories: what buyers heard lately, and a place's standing,
which outlasts a crackdown (UKDPC 2009, Table 4.3: "does the area have a
reputation?"). Residents' fear rises with visible dealing and violence (market)
and with visible raids (enforcement).
"""

from __future__ import annotations

import numpy as np

from marketsim import kernels
from marketsim.fields import box_sum
from marketsim.harms import ledger_rows
from marketsim.metrics import TALLY_INDEX as TI
from marketsim.state import World

# Today's counts the layers take in, as kernels.decay_layers reads them (FIELD_* order).
_FIELD_ROWS = np.array(
    [TI["open_sales"], TI["litter"], TI["unmet_demand"], TI["violent_incidents"]]
)


def run(world: World) -> None:
    town = world.town
    shape = (town.width, town.height)
    t = world.tally.values
    world.open_sales_yesterday = t[TI["open_sales"]].copy()  # for tactics that watch an area
    m = world.config.market
    # Reputation (two memories), litter, unmet demand, violence and void fade and take in
    # today's counts (the arithmetic compiled: kernels.decay_layers).
    keep = np.empty(4)
    keep[kernels.KEEP_RECENT] = m.reputation_memory
    keep[kernels.KEEP_STANDING] = m.reputation_standing_memory
    keep[kernels.KEEP_VIOLENCE], keep[kernels.KEEP_VOID] = m.violence_memory, m.void_memory
    known_violence = town.layer("violence")
    kernels.decay_layers(
        t[_FIELD_ROWS],
        world.turf_opened,
        world.rep_recent,
        world.rep_standing,
        town.layer("reputation"),
        town.layer("litter"),
        town.guardianship,
        town.layer("unmet_demand"),
        known_violence,
        town.layer("void"),
        keep,
    )
    # A place known for violence (buyers avoid it, dealers weigh it, patrols follow it).
    world.violence_near = box_sum(known_violence, 1).ravel()
    # Fear: visible dealing and violence nearby (market); visible raids (enforcement).
    d = world.dealers
    act = d.active()
    open_here = np.bincount(d.cell[act[d.open[act]]], minlength=town.n_cells)
    violence = t[TI["violent_incidents"]].reshape(shape)
    raids = world.police.raid_cells
    relief = 1.0 - world.levers.fear_relief
    people = kernels.fear_day(
        world.fear_market,
        world.fear_enforcement,
        town.layer("fear").reshape(-1),
        box_sum(open_here.reshape(shape), 1).ravel(),
        box_sum(violence, 1).ravel() if violence.any() else _NONE,
        box_sum(np.bincount(raids, minlength=town.n_cells).reshape(shape), 1).ravel()
        if raids.size
        else _NONE,
        town.residents.ravel(),
        0.97 * relief,
        0.9 * relief,
    )
    exposure = people[kernels.EXPOSED]
    world.tally.set_field("visible_dealing", exposure)
    world.tally.set_field("fear", people[kernels.FEAR])
    world.ledger.add_rows(_LEDGER_ROWS, people, _PEOPLE_ROWS)


_NONE = np.empty(0)  # no violence, or no raids, today (kernels.fear_day)
# Harms booked from kernels.fear_day's rows: exposure, and fear by its cause.
_LEDGER_ROWS, _PEOPLE_ROWS = ledger_rows(
    (
        ("visible_dealing_exposure", None, kernels.EXPOSED),
        ("fear", "market", kernels.FEAR_MARKET),
        ("fear", "enforcement", kernels.FEAR_ENFORCEMENT),
    )
)
