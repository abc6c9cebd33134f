"""Phase 12, record (ODD §7): daily states, runner exploitation and prison days; close the day."""

from __future__ import annotations

import numpy as np

from marketsim.agents import dealer as D
from marketsim.agents import user as U
from marketsim.metrics import TALLY_INDEX
from marketsim.state import World

_DEALER_ARRESTS = TALLY_INDEX["seizures"]  # one seizure per dealer arrest


def run(world: World) -> None:
    d, u, tally, ledger = world.dealers, world.users, world.tally, world.ledger
    act = d.active()
    cells = d.cell[act]
    tally.add("active_dealers", cells)
    is_open = d.open[act]
    tally.add("open_dealers", cells[is_open])
    tally.add("closed_dealers", cells[~is_open])
    tally.add("user_dealers", cells[d.tier[act] == D.USER_DEALER])
    ledger.add("runner_exploitation", cells[d.exploits[act]])
    ustate = u.view("state")
    active_users = ustate == U.ACTIVE
    homes = u.view("home")
    tally.add("users", homes[active_users])
    tally.add("dependent_users", homes[active_users & u.view("dependent")])
    treat = u.view("treatment")
    tally.add("users_in_treatment", homes[treat == U.IN_TREATMENT])
    tally.add("treatment_waiting", homes[treat == U.WAITING])
    # Prison days: dealers in custody, and users in prison who are not user-dealers
    # (a user-dealer's custody is counted once, on the dealer row).
    dstate = d.view("state")
    custody = (dstate == D.REMANDED) | (dstate == D.PRISON)
    held_users = (ustate == U.PRISON) & (u.view("dealer") < 0)
    prison_cells = np.concatenate([d.view("cell")[custody], homes[held_users]])
    tally.add("prison_days", prison_cells)
    ledger.add("prison_day", prison_cells)
    world.accounts.add_by_index(
        "prison_days",
        np.concatenate([d.view("arrested_by")[custody], u.view("arrested_by")[held_users]]),
    )
    harm_by_type = ledger.close_day(world.day, record=world.recording)
    harm_per_cell = (world.recorder.cell_weights * harm_by_type).sum(axis=0)
    # Recent weighted harm per cell: what a harm-focused analyst would map.
    world.harm_heat *= 0.97
    world.harm_heat += 0.03 * harm_per_cell
    if world.recording:
        world.recorder.record(tally, harm_per_cell)
        d.sales_total[: d.n] += d.sales[: d.n]
        d.days_active[act] += 1
    world.arrests_cell = tally.values[_DEALER_ARRESTS].copy()
    tally.reset()
