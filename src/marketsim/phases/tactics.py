"""Phase 2, tactics (ODD §7): yesterday's violence is logged; active tactics issue orders."""

from __future__ import annotations

from marketsim.phases.dealers import buyer_density
from marketsim.state import Levers, World


def run(world: World) -> None:
    world.accounts.recording = world.recording
    world.levers = Levers()
    log_violence(world)
    # Where buyers live this morning, for pitch values (dealers phase, place guardianship).
    world.buyer_density = buyer_density(world)
    for tactic in world.tactics:
        if tactic.is_active(world.day):
            tactic.step(world)


def log_violence(world: World) -> None:
    """Add yesterday's violent incidents to the log, before any tactic acts today.

    Tactics that judge crews by their recent violence (targeted deterrence, harm
    targeting) read this log, so they need not watch the market before they start.
    """
    if world.day < 0:
        return
    who = world.violent_today
    d = world.dealers
    world.violence_log.append((world.day - 1, who, d.cell[who], d.crew[who]))
