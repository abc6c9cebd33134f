"""Phase 11, fields (ODD §7): reputation, violence, litter, fear, void and unmet-demand layers.

Reputation has two memories: what buyers heard lately, and a place's standing,
which outlasts a crackdown (UKDPC 2009, Table 4.3: "does the area have a
reputation?"). Residents' fear rises with visible dealing and violence (market)
and with visible raids (enforcement).
"""

from __future__ import annotations

import numpy as np

from marketsim.fields import box_sum
from marketsim.metrics import TALLY_INDEX as TI
from marketsim.state import World


def run(world: World) -> None:
    town = world.town
    shape = (town.width, town.height)
    t = world.tally.values
    open_sales = t[TI["open_sales"]].reshape(shape)
    world.open_sales_yesterday = open_sales.ravel().copy()  # for tactics that watch an area
    m = world.config.market
    for layer, keep in (
        (world.rep_recent, m.reputation_memory),
        (world.rep_standing, m.reputation_standing_memory),
    ):
        layer *= keep
        layer += (1.0 - keep) * open_sales
    town.layer("reputation")[:] = 0.5 * (world.rep_recent + world.rep_standing)
    litter = town.layer("litter")
    litter *= 1.0 - 0.1 * (0.5 + town.guardianship)
    litter += t[TI["litter"]].reshape(shape)
    unmet = town.layer("unmet_demand")
    unmet *= 0.9
    unmet += t[TI["unmet_demand"]].reshape(shape)
    # A place known for violence (buyers avoid it, dealers weigh it, patrols follow it).
    known_violence = town.layer("violence")
    known_violence *= m.violence_memory
    known_violence += t[TI["violent_incidents"]].reshape(shape)
    world.violence_near = box_sum(known_violence, 1).ravel()
    void = town.layer("void")
    void *= m.void_memory
    void += world.turf_opened.reshape(shape)
    world.turf_opened[:] = 0.0
    # Fear: visible dealing and violence nearby (market); visible raids (enforcement).
    d = world.dealers
    act = d.active()
    open_here = np.bincount(d.cell[act[d.open[act]]], minlength=town.n_cells)
    exposed = box_sum(open_here.reshape(shape), 1) > 0
    violence = t[TI["violent_incidents"]].reshape(shape)
    fm = world.fear_market.reshape(shape)
    fm *= 0.97 * (1.0 - world.levers.fear_relief)
    fm += 0.01 * exposed
    if violence.any():
        fm += 0.15 * box_sum(violence, 1)
    np.minimum(fm, 0.6, out=fm)
    fe = world.fear_enforcement.reshape(shape)
    fe *= 0.9 * (1.0 - world.levers.fear_relief)
    if world.police.raid_cells.size:
        raids = np.bincount(world.police.raid_cells, minlength=town.n_cells).reshape(shape)
        fe += 0.2 * box_sum(raids, 1)
    np.minimum(fe, 0.6, out=fe)
    fear = town.layer("fear")
    fear[:] = np.minimum(1.0, fm + fe)
    residents = town.residents
    exposure = (exposed * residents).ravel()
    world.tally.set_field("visible_dealing", exposure)
    world.tally.set_field("fear", (fear * residents).ravel())
    world.ledger.add_field("visible_dealing_exposure", exposure)
    world.ledger.add_field("fear", (fm * residents).ravel(), cause="market")
    world.ledger.add_field("fear", (fe * residents).ravel(), cause="enforcement")
