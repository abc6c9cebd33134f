"""Phase 5, trade (ODD §7): matching buyers to sellers, paying for drugs, and using them.

One pass over today's buyers (design §4):
1. who buys today (dependence, treatment);
2. contacts first: a buyer holding a working number calls it (closed dealers
   are reachable only this way);
3. otherwise the open market: a pitch within travel range, chosen by distance,
   reputation, price and the police attention it is known for; police seen on
   arrival turn the buyer away (a lengthened search);
4. dealer capacity: sellers serve at most `capacity` buyers a day;
5. paying: income first, then acquisitive crime when short (NTORS);
6. using: in public or rushed under police presence (Kerr 2005), with overdose
   risk from purity variance, rushing and lost tolerance.
"""

from __future__ import annotations

from functools import cache

import numpy as np

from marketsim import events, kernels
from marketsim.agents import dealer as D
from marketsim.agents import user as U
from marketsim.state import World


def run(world: World) -> None:
    rng = world.streams["market"]
    sc = world.config
    cu, cm = sc.users, sc.market
    u, d = world.users, world.dealers
    tally, ledger, day = world.tally, world.ledger, world.day
    d.sales[: d.n] = 0

    active = u.in_state(U.ACTIVE)
    u.cash[active] += u.income[active]
    treated = u.treatment[active] == U.IN_TREATMENT
    dep = u.dependent[active]
    p_buy = np.where(dep, cu.buy_prob_dependent, cu.buy_prob_recreational)
    p_buy = p_buy * np.where(treated, 1.0 - sc.treatment.use_reduction, 1.0)
    buyers = active[rng.random(active.size) < p_buy]
    nb = buyers.size
    if nb == 0:
        _dealer_profit(world, np.zeros(d.n))
        return
    seller = np.full(nb, -1, dtype=np.int64)
    via_open = np.zeros(nb, dtype=bool)

    # 2. contacts first
    dealer_ok = np.zeros(d.n + 1, dtype=bool)
    dealer_ok[: d.n] = d.view("state") == D.ACTIVE
    contacts = u.contacts[buyers]  # -1 indexes the padding slot, which is False
    valid = dealer_ok[contacts]
    has_contact = valid.any(axis=1)
    call = has_contact & (rng.random(nb) < cu.contact_use_prob)
    scores = np.where(valid, rng.random(contacts.shape), -1.0)
    pick = contacts[np.arange(nb), scores.argmax(axis=1)]
    seller[call] = pick[call]

    # 3. open market for the rest
    search = np.flatnonzero(~call)
    open_rows = np.flatnonzero(dealer_ok[: d.n] & d.view("open"))
    police = world.visible_hours
    if search.size and open_rows.size:
        chosen = _open_market_choice(world, buyers[search], open_rows, rng)
        found = chosen >= 0
        # Police on the pitch on arrival: the buyer is put off for today.
        arrive = search[found]
        sold_by = open_rows[chosen[found]]
        put_off = rng.random(arrive.size) >= np.exp(-cu.police_deterrence * police[d.cell[sold_by]])
        seller[arrive[~put_off]] = sold_by[~put_off]
        via_open[arrive[~put_off]] = True
    # Fall back to a contact when the street failed.
    fallback = (seller < 0) & has_contact & ~call
    seller[fallback] = pick[fallback]

    unmet = seller < 0
    tally.add("unmet_demand", u.home[buyers[unmet]])

    # 4. capacity: shuffle, then each seller serves its first `capacity` buyers
    served = np.flatnonzero(~unmet)
    served = served[rng.permutation(served.size)]
    order = served[np.argsort(seller[served], kind="stable")]
    s_sorted = seller[order]
    starts = np.ones(order.size, dtype=bool)  # where each seller's run of buyers starts
    starts[1:] = s_sorted[1:] != s_sorted[:-1]
    pos = np.arange(order.size)
    rank = pos - np.maximum.accumulate(np.where(starts, pos, 0))
    over = order[rank >= cm.capacity]
    if over.size:
        tally.add("unmet_demand", d.cell[seller[over]])
        seller[over] = -1
    ok = np.flatnonzero(seller >= 0)
    b, s = buyers[ok], seller[ok]
    is_open_buy = via_open[ok]

    # 5. paying: income, then acquisitive crime when short
    units = np.where(u.dependent[b], cu.units_dependent, cu.units_recreational)
    cost = units * d.price[s]
    short = u.cash[b] < cost
    in_tx = u.treatment[b] == U.IN_TREATMENT
    p_crime = cu.crime_prob * np.where(in_tx, 1.0 - sc.treatment.crime_reduction, 1.0)
    offend = short & u.dependent[b] & (rng.random(b.size) < p_crime)
    offences = np.where(offend, np.minimum(3, np.ceil((cost - u.cash[b]) / cu.crime_proceeds)), 0)
    u.cash[b] += offences * cu.crime_proceeds
    where_crime = np.where(is_open_buy, d.cell[s], u.home[b])
    if offend.any():
        n_off = offences[offend]
        tally.add("acquisitive_crimes", where_crime[offend], n_off)
        ledger.add("acquisitive_crime", where_crime[offend], n_off)
        if world.recording:
            u.crimes[b[offend]] += n_off.astype(np.int64)
        p_arrest = min(1.0, cu.crime_arrest_prob * world.levers.crime_reporting)
        caught = offend & (rng.random(b.size) < 1.0 - (1.0 - p_arrest) ** offences)
        world.crime_arrests = (b[caught], where_crime[caught])
    else:
        world.crime_arrests = (np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64))
    buys = u.cash[b] >= cost  # the rest cannot pay and go without today
    b, s, units, cost, is_open_buy = b[buys], s[buys], units[buys], cost[buys], is_open_buy[buys]
    u.cash[b] -= cost
    np.minimum(u.cash[: u.n], 200.0, out=u.cash[: u.n])  # users do not hoard

    # record the sales at the seller's pitch
    pitch = d.cell[s]
    np.add.at(d.sales, s, 1)
    tally.add("sales", pitch)
    tally.add("open_sales", pitch[is_open_buy])
    tally.add("closed_sales", pitch[~is_open_buy])
    tally.add("units_sold", pitch, units)
    tally.add("revenue", pitch, cost)
    profit = np.bincount(
        s, weights=units * (d.price[s] - cm.base_price * cm.wholesale_share), minlength=d.n
    )
    _dealer_profit(world, profit)
    # an open purchase may give the buyer the dealer's number
    gain = is_open_buy & (rng.random(b.size) < cu.contact_gain_prob)
    u.add_contact(b[gain], s[gain], rng)

    # 6. using
    police_here = police[pitch]
    rushed = is_open_buy & (police_here > 0)
    p_public = np.where(
        is_open_buy, cu.public_use_base + cu.public_use_per_police_hour * police_here, 0.0
    )
    public = rng.random(b.size) < np.minimum(1.0, p_public)
    tally.add("public_use", pitch[public])
    ledger.add("public_use", pitch[public])
    litter = public & (rng.random(b.size) < cu.litter_prob)
    tally.add("litter", pitch[litter])
    ledger.add("litter", pitch[litter])
    p_od = cu.overdose_base * np.where(u.dependent[b], 1.0, 0.3)
    p_od = p_od * (1.0 + cu.overdose_product_risk * d.product_risk[s])
    p_od = p_od * np.where(rushed | public, cu.overdose_rushed, 1.0)
    p_od = p_od * np.where(u.tolerance_until[b] > day, cu.overdose_tolerance_loss, 1.0)
    od = rng.random(b.size) < p_od
    if od.any():
        where_od = np.where(public, pitch, u.home[b])[od]
        fatal = rng.random(od.sum()) < cu.overdose_fatality
        tally.add("overdoses", where_od)
        tally.add("overdose_deaths", where_od[fatal])
        ledger.add("overdose_nonfatal", where_od[~fatal])
        ledger.add("overdose_death", where_od[fatal])
        victims = b[od]
        u.adverse_until[victims[~fatal]] = day + 30
        events.user_dies(world, victims[fatal])


TILE = 64  # cells; the default 50x50 town is one tile


def _open_market_choice(
    world: World, buyers: np.ndarray, open_rows: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """For each buyer, an index into open_rows (or -1 when nothing is in range).

    Attraction = exp(-distance / decay) x (1 + pull x reputation) x (base price / price)^2
    x exp(-2 x residual deterrence); pitches beyond the search radius are out of reach.
    """
    cu = world.config.users
    u, d, town = world.users, world.dealers, world.town
    hx, hy = town.cell_x[u.home[buyers]], town.cell_y[u.home[buyers]]
    dc = d.cell[open_rows]
    ox, oy = town.cell_x[dc], town.cell_y[dc]
    rep = town.layer("reputation").ravel()[dc]
    centre = 1.0 + world.config.market.centre_draw * town.is_centre[dc]
    deter = town.layer("deterrence").ravel()[dc]
    pull = (
        centre
        * (1.0 + world.config.market.reputation_pull * rep)
        * (world.config.market.base_price / d.price[open_rows]) ** 2
        * np.exp(-2.0 * deter)
    )
    # Travel kernel by (|dx|, |dy|) offset, zero beyond the search radius: a lookup, not a transcendental.
    kernel = _travel_kernel(town.width, town.height, cu.distance_decay, cu.search_radius)
    draw = rng.random(buyers.size)
    choice = np.full(buyers.size, -1, dtype=np.int64)
    # Large towns are cut into tiles so each buyer weighs only the pitches within reach.
    reach = int(np.ceil(cu.search_radius))
    if town.width <= TILE and town.height <= TILE:
        groups = [np.arange(buyers.size)]  # one tile: every buyer
    else:
        tile_of = (hx // TILE) * (town.height // TILE + 1) + hy // TILE
        groups = [np.flatnonzero(tile_of == tile) for tile in np.unique(tile_of)]
    for who in groups:
        x0, x1 = hx[who].min() - reach, hx[who].max() + reach
        y0, y1 = hy[who].min() - reach, hy[who].max() + reach
        near = np.flatnonzero((ox >= x0) & (ox <= x1) & (oy >= y0) & (oy <= y1))
        if near.size == 0:
            continue
        choice[who] = kernels.open_market_choice(
            hx[who], hy[who], ox, oy, pull, kernel, draw[who], near, town.height
        )
    return choice


@cache
def _travel_kernel(width: int, height: int, decay: float, radius: float) -> np.ndarray:
    dx, dy = np.meshgrid(np.arange(width), np.arange(height), indexing="ij")
    dist = np.hypot(dx, dy)
    return np.where(dist <= radius, np.exp(-dist / decay), 0.0)


def _dealer_profit(world: World, profit_today: np.ndarray) -> None:
    """Smoothed daily profit; part of it repays debt from seizures."""
    d = world.dealers
    act = d.active()
    repay = np.minimum(
        d.debt[act], world.config.dealers.debt_repay_share * np.maximum(profit_today[act], 0)
    )
    d.debt[act] -= repay
    d.profit[act] = 0.95 * d.profit[act] + 0.05 * (profit_today[act] - repay)
