"""Phase 1, custody (ODD §7): sentences and releases due today."""

from __future__ import annotations

from marketsim import events, kernels
from marketsim.agents import dealer as D
from marketsim.agents import user as U
from marketsim.agents.population import NEVER
from marketsim.state import World


def run(world: World) -> None:
    d, u, day = world.dealers, world.users, world.day
    rng = world.streams["custody"]
    # Dealers whose sentence or release falls today, and users released today
    # (kernels.custody_due: the users as they stand before the dealers' events).
    due, back = kernels.custody_due(
        d.view("event_day"), u.view("state"), u.view("release_day"), u.view("dealer"), U.PRISON, day
    )
    for r in due:
        state = d.state[r]
        if state in (D.REMANDED, D.ACTIVE) and d.convicted[r]:
            events.imprison(world, r, rng)
        elif state == D.REMANDED:
            events.release_dealer(world, r, rng, resume=True)
        elif state == D.PRISON:
            resume = rng.random() < world.config.dealers.p_return_after_prison
            events.release_dealer(world, r, rng, resume=resume)
        else:
            d.event_day[r] = NEVER
    if due.size:  # the dealers' events may have changed who is in prison
        back = kernels.released_users(
            u.view("state"), u.view("release_day"), u.view("dealer"), U.PRISON, day
        )
    if back.size:
        events.release_user(world, back)
