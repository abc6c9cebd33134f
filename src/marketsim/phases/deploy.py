"""Phase 3, deploy (ODD §7): police units go out; presence and deterrence layers.

Residual deterrence rises with visible presence and decays slowly (Sherman 1990;
Koper 1995).
"""

from __future__ import annotations

from marketsim import kernels
from marketsim.state import World


def run(world: World) -> None:
    cfg = world.config.police
    town = world.town
    hours, visible, officer_days = world.police.deploy(
        town.n_cells, world.accounts, world.streams["police"]
    )
    world.police_hours = hours  # all officer-hours: detection
    world.visible_hours = visible  # uniformed hours: what buyers, dealers and residents see
    # The presence layer; deterrence fades, rises with presence (saturating), at most 1;
    # and the hours seen within one cell (kernels.presence_day).
    world.police_near = kernels.presence_day(
        visible,
        town.layer("police_presence"),
        town.layer("deterrence"),
        1.0 - cfg.deterrence_decay,
        cfg.deterrence_gain,
        cfg.deterrence_saturation,
    )
    # The one writer of this row, so setting it books the same as adding to its zeros,
    # without queueing an add for every cell.
    world.tally.set_field("police_officer_days", officer_days)
    world.ledger.add_field("officer_day", officer_days)
