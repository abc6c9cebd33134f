"""Phase 11, fields (ODD §7): reputation, violence, litter, fear, void and unmet-demand layers.

Reputation has two memories: what buyers heard lately, and a place's standing,
which outlasts a crackdown (UKDPC 2009, Table 4.3: "does the area have a
reputation?"). Residents' fear rises with visible dealing and violence (market)
and with visible raids (enforcement).
"""

from __future__ import annotations

import numpy as np

from marketsim import kernels
from marketsim.agents import dealer as D
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
    # What reputation's two memories, violence and void keep of yesterday.
    keep = np.empty(4)
    keep[kernels.KEEP_RECENT] = m.reputation_memory
    keep[kernels.KEEP_STANDING] = m.reputation_standing_memory
    keep[kernels.KEEP_VIOLENCE], keep[kernels.KEEP_VOID] = m.violence_memory, m.void_memory
    raids = world.police.raid_cells
    relief = 1.0 - world.levers.fear_relief
    # The layers fade and take in today's counts (kernels.decay_layers); then fear: visible
    # dealing and violence nearby (market), visible raids (enforcement) (kernels.fear_day);
    # both in kernels.fields_day, which books exposure and fear in the tally (their one
    # writer: setting the rows books the same as adding to their zeros) and the harm
    # ledger. It returns the violence known within one cell of each cell (buyers avoid
    # the place, dealers weigh it, patrols follow it).
    rows, touched = world.ledger.flat_rows()
    world.violence_near, _people = kernels.fields_day(
        t,
        _FIELD_ROWS,
        world.turf_opened,
        world.rep_recent,
        world.rep_standing,
        town.layer("reputation"),
        town.layer("litter"),
        town.guardianship,
        town.layer("unmet_demand"),
        town.layer("violence"),
        town.layer("void"),
        keep,
        t[TI["violent_incidents"]].reshape(shape),
        world.dealers.view("state"),
        world.dealers.view("cell"),
        world.dealers.view("open"),
        D.ACTIVE,
        world.fear_market,
        world.fear_enforcement,
        town.layer("fear").reshape(-1),
        box_sum(np.bincount(raids, minlength=town.n_cells).reshape(shape), 1).ravel()
        if raids.size
        else _NONE,
        town.residents.ravel(),
        0.97 * relief,
        0.9 * relief,
        TI["visible_dealing"],
        TI["fear"],
        rows,
        touched,
        _LEDGER_ROWS,
        _PEOPLE_ROWS,
    )


_NONE = np.empty(0)  # no violence, or no raids, today (kernels.fear_day)
# Harms booked from kernels.fear_day's rows: exposure, and fear by its cause.
_LEDGER_ROWS, _PEOPLE_ROWS = ledger_rows(
    (
        ("visible_dealing_exposure", None, kernels.EXPOSED),
        ("fear", "market", kernels.FEAR_MARKET),
        ("fear", "enforcement", kernels.FEAR_ENFORCEMENT),
    )
)
