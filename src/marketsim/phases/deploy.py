"""Phase 3, deploy (ODD §7): police units go out; presence and deterrence layers.

Residual deterrence rises with visible presence and decays slowly (Sherman 1990;
Koper 1995).
"""

from __future__ import annotations

from marketsim import kernels
from marketsim.harms import ledger_rows
from marketsim.metrics import TALLY_INDEX
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
    # and the hours seen within one cell; officer-days into the tally (its one writer,
    # so setting the row books the same as adding to its zeros) and the harm ledger
    # (kernels.deploy_day: presence_day, then the books).
    rows, touched = world.ledger.flat_rows()
    world.police_near = kernels.deploy_day(
        visible,
        town.layer("police_presence"),
        town.layer("deterrence"),
        1.0 - cfg.deterrence_decay,
        cfg.deterrence_gain,
        cfg.deterrence_saturation,
        officer_days,
        world.tally.counts,
        _OFFICER_DAYS,
        rows,
        touched,
        _OFFICER_DAY_ROW,
    )


_OFFICER_DAYS = TALLY_INDEX["police_officer_days"]  # the tally's row of officer-days
_OFFICER_DAY_ROW = int(ledger_rows((("officer_day", None, 0),))[0][0])  # and the ledger's
