"""Phase 9, entry_exit (ODD §7): entrants fill unmet demand; poor or scared dealers exit.

New sellers fill the gaps arrests leave (UKDPC 2009 briefing, Box A).
"""

from __future__ import annotations

from marketsim import events
from marketsim.state import World


def run(world: World) -> None:
    cfg = world.config.dealers
    m = world.config.market
    d = world.dealers
    rng = world.streams["entry"]
    act = d.active()
    old_enough = world.day - d.entered_day[act] > 30
    poor = (d.profit[act] < cfg.exit_profit) & old_enough
    scared = d.risk[act] > cfg.exit_risk
    leave = act[(poor | scared) & (rng.random(act.size) < cfg.exit_prob)]
    for r in leave:
        events.desist(world, r)
    unmet = world.town.layer("unmet_demand").ravel()
    expected = m.entrants.rate * world.tally.total("unmet_demand")
    n_new = int(rng.poisson(expected)) if expected > 0 else 0
    if n_new:
        w = unmet + 1e-9
        events.add_dealers(world, n_new, w / w.sum(), rng, entrant=True)
