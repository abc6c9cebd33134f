"""Phase 9, entry_exit (ODD §7): entrants fill unmet demand; poor or scared dealers exit.

New sellers fill the gaps arrests leave (UKDPC 2009 briefing, Box A), where the police
risk they can see leaves the trade worth it. Those who enter where arrests lately
removed sellers are void fillers, and a scenario may give them traits of their own
(UKDPC 2009 App. B, Operation Reduction: a group supplying high-purity heroin filled
the void and drug-related deaths rose). Dealers leave when their takings, net of the
expected cost of arrest and of violence around them, stay too low (Reuter, MacCoun &
Murphy 1990: dealing as a job weighed against its risks), or when their perceived
risk is extreme.
"""

from __future__ import annotations

import numpy as np

from marketsim import events, kernels
from marketsim.agents import dealer as D
from marketsim.fields import box_sum
from marketsim.phases.dealers import presence
from marketsim.rng import stream_state
from marketsim.state import World


def run(world: World) -> None:
    cfg = world.config.dealers
    m = world.config.market
    d = world.dealers
    rng = world.streams["entry"]
    # Poor (takings net of the expected cost of risk, closed dealing less exposed, and of
    # violence around, after a first month) or scared: kernels.exit_pressure.
    pr = np.empty(kernels.N_EXIT_PARAMS)
    pr[kernels.EP_RISK_COST], pr[kernels.EP_CLOSED_RISK] = cfg.risk_cost, cfg.closed_risk
    pr[kernels.EP_VIOLENCE_COST] = cfg.violence_cost
    pr[kernels.EP_EXIT_PROFIT], pr[kernels.EP_EXIT_RISK] = cfg.exit_profit, cfg.exit_risk
    # Each active dealer draws once (row order); those minded to leave go with the
    # chance exit_prob (kernels.exit_day, drawing from the entry stream's state).
    with stream_state(rng) as (pcg, _spare):
        leave = kernels.exit_day(
            pcg,
            d.view("state"),
            D.ACTIVE,
            d.entered_day,
            world.day,
            d.cell,
            d.profit,
            d.risk,
            d.open,
            world.violence_near,
            pr,
            cfg.exit_prob,
        )
    for r in leave:
        events.desist(world, r)
    unmet = world.town.layer("unmet_demand").ravel()
    expected = m.entrants.rate * world.tally.total("unmet_demand")
    n_new = int(rng.poisson(expected)) if expected > 0 else 0
    if n_new:
        # entrants see the police too: unmet demand discounted by the visible risk
        w = (unmet + 1e-9) * np.exp(-presence(world))
        events.add_dealers(
            world, n_new, w / w.sum(), rng, entrant=True, void_cells=void_filler_cells(world)
        )


def void_filler_cells(world: World) -> np.ndarray | None:
    """Flat mask of the cells where an entrant today fills a void (None: nowhere, or moot).

    A void is where arrests lately removed sellers: the `void` layer (dealer arrests,
    fading 7% a day, ODD 7.16) summed over the square of `void_radius` cells around
    the pitch is at least `void_threshold`. Only on days of the scenario's window,
    inside its area, and only if void fillers' traits differ from the founders'.
    """
    e = world.config.market.entrants
    if not (e.void_fillers_differ and e.in_window(world.day)):
        return None
    town = world.town
    # The sum comes from a summed-area table: allow for its rounding (about 1e-16).
    cells = box_sum(town.layer("void"), e.void_radius).ravel() >= e.void_threshold - 1e-9
    if e.area is not None:
        cells &= town.area_mask(e.area, "market.entrants.area").ravel()
    return cells
