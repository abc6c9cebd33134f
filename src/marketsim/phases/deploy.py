"""Phase 3, deploy (ODD §7): police units go out; presence and deterrence layers.

Residual deterrence rises with visible presence and decays slowly (Sherman 1990;
Koper 1995).
"""

from __future__ import annotations

import numpy as np

from marketsim.fields import box_sum
from marketsim.state import World


def run(world: World) -> None:
    cfg = world.config.police
    town = world.town
    hours, visible, officer_days = world.police.deploy(
        town.n_cells, world.accounts, world.streams["police"]
    )
    shape = (town.width, town.height)
    world.police_hours = hours  # all officer-hours: detection
    world.visible_hours = visible  # uniformed hours: what buyers, dealers and residents see
    world.police_near = box_sum(visible.reshape(shape), 1).ravel()
    town.layer("police_presence")[:] = visible.reshape(shape)
    det = town.layer("deterrence")
    det *= 1.0 - cfg.deterrence_decay
    det += cfg.deterrence_gain * np.minimum(visible, cfg.deterrence_saturation).reshape(det.shape)
    np.minimum(det, 1.0, out=det)
    # The one writer of this row, so setting it books the same as adding to its zeros,
    # without queueing an add for every cell.
    world.tally.set_field("police_officer_days", officer_days)
    world.ledger.add_field("officer_day", officer_days)
