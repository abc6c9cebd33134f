"""Phase 4, dealers (ODD §7): perceived risk, relocation, open/closed mode, price.

Each decision is a vectorised function over all active dealers; read one row to
follow one dealer.
"""

from __future__ import annotations

import numpy as np

from marketsim.agents import user as U
from marketsim.fields import box_sum
from marketsim.state import World


def run(world: World) -> None:
    town = world.town
    rng = world.streams["dealers"]
    arrests = world.arrests_cell
    arrests_near = (
        box_sum(arrests.reshape(town.width, town.height), 2).ravel() if arrests.any() else arrests
    )
    update_risk(world, arrests_near)
    relocate(world, rng)
    choose_mode(world, contacts_held(world), rng)
    set_prices(world)


def update_risk(world: World, arrests_near: np.ndarray) -> None:
    """Perceived risk: a moving average of police seen nearby and arrests nearby."""
    cfg = world.config.dealers
    d = world.dealers
    act = d.active()
    deter = world.town.layer("deterrence").ravel()
    cells = d.cell[act]
    signal = 1.0 - np.exp(
        -(
            cfg.risk_per_police_hour * world.police_near[cells]
            + cfg.risk_per_arrest_nearby * arrests_near[cells]
            + deter[cells]
        )
    )
    a = cfg.risk_learning_rate
    d.risk[act] = (1 - a) * d.risk[act] + a * signal


def buyer_density(world: World) -> np.ndarray:
    """Active users' homes within 4 cells of each cell."""
    u, town = world.users, world.town
    act = u.view("state") == U.ACTIVE
    homes = np.bincount(u.view("home")[act], minlength=town.n_cells)
    return box_sum(homes.reshape(town.width, town.height), 4).ravel()


def contacts_held(world: World) -> np.ndarray:
    """How many active users hold each dealer's number."""
    u = world.users
    held = u.contacts[: u.n][u.view("state") == U.ACTIVE].ravel()
    held = held[held >= 0]
    return np.bincount(held, minlength=world.dealers.n)


def pitch_value(world: World, cand: np.ndarray, is_open: np.ndarray) -> np.ndarray:
    """Expected daily profit net of risk at candidate pitches (dealers x candidates).

    Demand: nearby buyers, market reputation and unmet demand. Cost: rivals
    sharing the pitch and the expected cost of police presence, residual
    deterrence and guardianship. Closed dealers care little about passing trade.
    """
    town = world.town
    cfg = world.config.dealers
    m = world.config.market
    shape = (town.width, town.height)
    rep = town.layer("reputation").ravel()
    unmet = box_sum(town.layer("unmet_demand"), 2).ravel()
    dealers_here = np.bincount(world.dealers.cell[world.dealers.active()], minlength=town.n_cells)
    rivals = box_sum(dealers_here.reshape(shape), 1).ravel()
    risk = 1 - np.exp(
        -(cfg.risk_per_police_hour * world.police_near + town.layer("deterrence").ravel())
    )
    risk = risk + 0.3 * town.guardianship.ravel()
    margin = m.base_price * (1 - m.wholesale_share)
    centre = 1.0 + m.centre_draw * town.is_centre
    demand = (0.02 * world.buyer_density[cand] + 0.3 * rep[cand]) * centre[cand] + 0.5 * unmet[cand]
    passing = np.where(is_open[:, None], 1.0, 0.3)
    # The dealer itself sits in the rival count of its own pitch and of the
    # cells next to it (column 0 is its own pitch): it is not its own rival.
    here_x, here_y = town.cell_x[cand[:, :1]], town.cell_y[cand[:, :1]]
    beside = (np.abs(town.cell_x[cand] - here_x) <= 1) & (np.abs(town.cell_y[cand] - here_y) <= 1)
    rivals_there = rivals[cand] - beside
    trade = margin * demand * passing / (1.0 + 0.5 * rivals_there)
    return trade - cfg.risk_cost * risk[cand] * np.where(is_open[:, None], 1.0, 0.4)


def relocate(world: World, rng: np.random.Generator) -> np.ndarray:
    """Compare the current pitch with a few nearby ones by expected profit net of risk.

    Geographic displacement emerges here: dealers leave pitches where police
    presence and deterrence make the expected cost of risk exceed the trade.
    Returns the rows that moved.
    """
    cfg = world.config.dealers
    town = world.town
    d = world.dealers
    act = d.active()
    if act.size == 0:
        return act
    p_review = np.clip(cfg.relocation_prob + d.risk[act], 0, 1)
    movers = act[rng.random(act.size) < p_review]
    if movers.size == 0:
        return movers
    k = cfg.relocation_candidates
    r = cfg.relocation_radius
    cx = town.cell_x[d.cell[movers]]
    cy = town.cell_y[d.cell[movers]]
    nx = np.clip(cx[:, None] + rng.integers(-r, r + 1, (movers.size, k)), 0, town.width - 1)
    ny = np.clip(cy[:, None] + rng.integers(-r, r + 1, (movers.size, k)), 0, town.height - 1)
    cand = np.concatenate([d.cell[movers][:, None], nx * town.height + ny], axis=1)
    value = pitch_value(world, cand, d.open[movers])
    best = value.argmax(axis=1)
    gain = value[np.arange(movers.size), best] - value[:, 0]
    move = (best > 0) & (gain > cfg.relocation_gain * np.maximum(np.abs(value[:, 0]), 1.0))
    rows = movers[move]
    d.cell[rows] = cand[move, best[move]]
    return rows


def choose_mode(world: World, held: np.ndarray, rng: np.random.Generator) -> None:
    """Open<->closed switching (tactical displacement).

    Open dealers facing risk above their threshold go closed if enough buyers
    hold their number; closed dealers return to open trade when risk is low.
    """
    cfg = world.config.dealers
    d = world.dealers
    act = d.active()
    risk = d.risk[act]
    is_open = d.open[act]
    go_closed = is_open & (risk > d.close_threshold[act]) & (held[act] >= cfg.min_contacts_to_close)
    reopen = ~is_open & (risk < cfg.reopen_threshold) & (rng.random(act.size) < 0.05)
    d.open[act[go_closed]] = False
    d.open[act[reopen]] = True


def set_prices(world: World) -> None:
    """Risk compensation (Reuter & Kleiman 1986): price = base x (1 + markup x risk)."""
    m = world.config.market
    d = world.dealers
    act = d.active()
    d.price[act] = m.base_price * (1.0 + m.risk_markup * d.risk[act])
