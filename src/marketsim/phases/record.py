"""Phase 12, record (ODD §7): daily states, runner exploitation and prison days; close the day."""

from __future__ import annotations

import numpy as np

from marketsim import kernels
from marketsim.agents import dealer as D
from marketsim.agents import user as U
from marketsim.harms import ledger_rows
from marketsim.metrics import TALLY_INDEX, count_rows
from marketsim.state import World

_DEALER_ARRESTS = TALLY_INDEX["seizures"]  # one seizure per dealer arrest
# State codes for kernels.stock_counts, and which of its rows go to which tally column.
_CODES = np.array(
    [D.ACTIVE, D.REMANDED, D.PRISON, D.USER_DEALER, U.ACTIVE, U.PRISON, U.IN_TREATMENT, U.WAITING]
)
_STOCKS = (
    ("active_dealers", kernels.ACTIVE_DEALERS),
    ("open_dealers", kernels.OPEN_DEALERS),
    ("closed_dealers", kernels.CLOSED_DEALERS),
    ("user_dealers", kernels.USER_DEALERS),
    ("users", kernels.USERS),
    ("dependent_users", kernels.DEPENDENT_USERS),
    ("users_in_treatment", kernels.IN_TREATMENT),
    ("treatment_waiting", kernels.WAITING),
    ("prison_days", kernels.IN_CUSTODY),
)
_TALLY_ROWS, _STOCK_ROWS = count_rows(_STOCKS)
_LEDGER_ROWS, _HARM_ROWS = ledger_rows(
    (("runner_exploitation", None, kernels.EXPLOITING), ("prison_day", None, kernels.IN_CUSTODY))
)


def run(world: World) -> None:
    d, u, tally, ledger = world.dealers, world.users, world.tally, world.ledger
    # Prison days (IN_CUSTODY): dealers in custody, and users in prison who are not
    # user-dealers (a user-dealer's custody is counted once, on the dealer row).
    # The stocks go into the tally and the ledger as they are counted; on a recorded
    # day dealers' sales and active days join their totals (kernels.book_stocks).
    rows, touched = ledger.flat_rows()
    custody_by = kernels.book_stocks(
        d.view("state"),
        d.view("cell"),
        d.view("open"),
        d.view("tier"),
        d.view("exploits"),
        u.view("state"),
        u.view("home"),
        u.view("dependent"),
        u.view("treatment"),
        u.view("dealer"),
        d.view("arrested_by"),
        u.view("arrested_by"),
        len(world.accounts.names),
        _CODES,
        tally.counts,
        _TALLY_ROWS,
        _STOCK_ROWS,
        rows,
        touched,
        _LEDGER_ROWS,
        _HARM_ROWS,
        world.recording,
        d.sales,
        d.sales_total,
        d.days_active,
    )
    world.accounts.add_counts("prison_days", custody_by)
    # Close the ledger's day, with the weighted harm per cell and the recent weighted harm
    # per cell (x 0.97, + 0.03 x today's): what a harm-focused analyst would map.
    harm_per_cell = ledger.close_day_weighted(
        world.day, world.recording, world.recorder.cell_weights, world.harm_heat
    )
    world.arrests_cell = tally.values[_DEALER_ARRESTS].copy()
    if world.recording:
        world.recorder.record(tally, harm_per_cell)  # resets the tally too
    else:
        tally.reset()
