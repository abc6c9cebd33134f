"""Phase 5, trade (ODD §7): matching buyers to sellers, paying for drugs, and using them.

One pass over today's buyers (design §4):
1. who buys today (dependence, treatment, and the full price: money plus search
   time, Moore 1973);
2. contacts first: a buyer holding a working number calls it, the more surely
   the more its recent searches failed and the more the street it would use is policed
   (closed dealers are reachable only this way); a buyer who went without may be
   given a number by a phone buyer (referral);
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
from scipy.fft import next_fast_len

from marketsim import events, kernels
from marketsim.agents import dealer as D
from marketsim.agents import user as U
from marketsim.harms import ledger_rows
from marketsim.metrics import TALLY_INDEX, count_rows
from marketsim.phases.dealers import place_risk
from marketsim.rng import stream_state
from marketsim.state import World


def run(world: World) -> None:
    rng = world.streams["market"]
    sc = world.config
    cu, cm = sc.users, sc.market
    u, d, town = world.users, world.dealers, world.town
    tally, ledger = world.tally, world.ledger

    # 1. today's sales start at zero; income into cash; the chance to buy, times the demand response; what draws
    # buyers to each open pitch, and the chance police there do not put them off
    # (kernels.trade_terms: buy_terms, pitch_attraction; the powers and exponentials
    # in numpy: demand_response, _attraction_params).
    police = world.visible_hours
    active, p_buy, full, elasticity, open_rows, base, exponent, put_off = kernels.trade_terms(
        u.view("state"),
        U.ACTIVE,
        u.cash,
        u.income,
        u.treatment,
        U.IN_TREATMENT,
        u.dependent,
        u.search,
        d.view("state"),
        D.ACTIVE,
        d.view("open"),
        d.cell,
        d.price,
        d.sales,
        _buy_params(world),
        town.is_centre,
        town.layer("reputation").ravel(),
        town.layer("deterrence").ravel(),
        world.violence_near,
        _attraction_params(world),
        world.credibility,
        police,
        cu.police_deterrence,
    )  # the price level: active dealers' mean price relative to the base price
    pull, stay = base * np.exp(exponent), np.exp(put_off)
    update_street_alarm(world)  # wary buyers read the street's risk (`contact_use`)

    # 2-6 in one call (kernels.trade_day), drawing from the market stream's state:
    # 2. who buys (the chance times the demand response), and contacts first: a buyer
    #    holding a working number calls it with its probability (`contact_use`), a
    #    random working contact;
    # 3. the open market for the rest: a pitch drawn by attraction (`_attraction_params`),
    #    where police on arrival put the buyer off (the chance to stay weighed, like
    #    dealers' risk, by what the market has learned police presence is worth,
    #    dealers.arrest_credibility); a buyer the street failed falls back on a contact,
    #    and one still without a seller counts as unmet demand at home;
    # 4. capacity: shuffle, then each seller serves its first `capacity` buyers; those
    #    turned away count as unmet demand at the pitch. Buyers remember how long their
    #    searches take (Moore 1973): a call costs no search, a street purchase its trip
    #    as a share of the furthest a buyer goes, a failure the lot; then word of mouth
    #    (`refer`);
    # 5-6. paying (acquisitive crime when short), contacts gained, use and its risks, and
    #    the books: crimes, sales and takings, public use, litter and overdoses (the rest
    #    cannot pay and go without today), and the dealers' profit.
    rows, touched = ledger.flat_rows()
    with stream_state(rng) as (state, spare):
        caught_users, caught_cells, victims, died = kernels.trade_day(
            state,
            spare,
            active,
            p_buy,
            demand_response(full, elasticity),
            u.home,
            u.search,
            u.contacts,
            u.dependent,
            u.cash,
            u.n,
            u.treatment,
            U.IN_TREATMENT,
            u.tolerance_until,
            world.day,
            u.crimes,
            d.view("state"),
            D.ACTIVE,
            d.view("open"),
            d.cell,
            d.price,
            d.product_risk,
            d.sales,
            d.debt,
            d.profit,
            town.cell_x,
            town.cell_y,
            town.width,
            town.height,
            cu.contact_use_prob,
            _street_keep(world),
            open_rows,
            pull,
            stay,
            _travel_kernel(town.width, town.height, cu.distance_decay, cu.search_radius),
            int(np.ceil(cu.search_radius)),
            TILE,
            cm.capacity,
            _distances(town.width, town.height),
            float(cu.search_radius),
            cu.referral_prob,
            police,
            _trade_params(world),
            cm.base_price * cm.wholesale_share,
            sc.dealers.debt_repay_share,
            world.recording,
            tally.counts,
            _UNMET_ROW,
            _TALLY_ROWS,
            _COUNT_ROWS,
            _UNITS_ROW,
            _REVENUE_ROW,
            rows,
            touched,
            _LEDGER_ROWS,
            _HARM_ROWS,
        )
    world.crime_arrests = (caught_users, caught_cells)
    if victims.size:
        u.adverse_until[victims[~died]] = world.day + 30
        events.user_dies(world, victims[died])


def _buy_params(world: World) -> np.ndarray:
    """kernels.buy_terms' parameters: the chance to buy, search cost and elasticities."""
    sc = world.config
    cu = sc.users
    pb = np.empty(kernels.N_BUY_PARAMS)
    pb[kernels.BUY_DEP], pb[kernels.BUY_REC] = cu.buy_prob_dependent, cu.buy_prob_recreational
    pb[kernels.BUY_TREATED] = 1.0 - sc.treatment.use_reduction
    pb[kernels.BUY_SEARCH_COST] = cu.search_cost
    pb[kernels.BUY_E_DEP] = cu.price_elasticity_dependent
    pb[kernels.BUY_E_REC] = cu.price_elasticity_recreational
    pb[kernels.BUY_BASE_PRICE] = sc.market.base_price
    return pb


def _trade_params(world: World) -> np.ndarray:
    """kernels.purchases' parameters: units bought, acquisitive crime and its arrests,
    contacts gained, public use, litter and overdoses."""
    sc = world.config
    cu = sc.users
    p_arrest = min(1.0, cu.crime_arrest_prob * world.levers.crime_reporting)
    pr = np.empty(kernels.N_TRADE_PARAMS)
    pr[kernels.UNITS_DEP], pr[kernels.UNITS_REC] = cu.units_dependent, cu.units_recreational
    pr[kernels.CRIME], pr[kernels.CRIME_KEPT] = cu.crime_prob, 1.0 - sc.treatment.crime_reduction
    pr[kernels.PROCEEDS], pr[kernels.GAIN] = cu.crime_proceeds, cu.contact_gain_prob
    pr[kernels.PUBLIC_BASE] = cu.public_use_base
    pr[kernels.PUBLIC_PER_HOUR] = cu.public_use_per_police_hour
    pr[kernels.LITTER], pr[kernels.OD_BASE] = cu.litter_prob, cu.overdose_base
    pr[kernels.OD_PRODUCT], pr[kernels.OD_RUSHED] = cu.overdose_product_risk, cu.overdose_rushed
    pr[kernels.OD_TOLERANCE] = cu.overdose_tolerance_loss
    pr[kernels.OD_FATAL] = cu.overdose_fatality
    pr[kernels.CAUGHT :] = _caught_chances(p_arrest)  # by number of offences
    return pr


# Tally columns and harm types booked from kernels.book_purchases' counts (in
# kernels.purchases), and the tally rows of units sold and takings.
_COUNTED = (
    ("acquisitive_crimes", kernels.CRIMES),
    ("sales", kernels.SALES),
    ("open_sales", kernels.OPEN_SALES),
    ("closed_sales", kernels.CLOSED_SALES),
    ("public_use", kernels.PUBLIC_USE),
    ("litter", kernels.LITTERED),
    ("overdoses", kernels.OVERDOSES),
    ("overdose_deaths", kernels.OVERDOSE_DEATHS),
)
_TALLY_ROWS, _COUNT_ROWS = count_rows(_COUNTED)
_LEDGER_ROWS, _HARM_ROWS = ledger_rows(
    (
        ("acquisitive_crime", None, kernels.CRIMES),
        ("public_use", None, kernels.PUBLIC_USE),
        ("litter", None, kernels.LITTERED),
        # The harm account books the overdoses each use risked, not the few that happened:
        # the same expected harm, without the luck of a dozen deaths a run at £1.35m each
        # (docs/validation.md, "the overdose-death excess is the baseline's luck"). The
        # timeseries counts the overdoses that happened.
        ("overdose_nonfatal", None, kernels.OVERDOSES_RISKED_SURVIVED),
        ("overdose_death", None, kernels.OVERDOSES_RISKED_FATAL),
    )
)

_UNITS_ROW, _REVENUE_ROW = TALLY_INDEX["units_sold"], TALLY_INDEX["revenue"]
_UNMET_ROW = TALLY_INDEX["unmet_demand"]

TILE = 64  # cells; the default 50x50 town is one tile
_NOT_WARY = np.empty(0)  # kernels.trade_day: buyers not wary of the street


def contact_use(world: World, buyers: np.ndarray, street: np.ndarray | None = None) -> np.ndarray:
    """The chance each buyer holding a working number calls it rather than walk the street.

    Buyers whose searches fail rely on the sellers they know (Moore 1973), and so do
    buyers who know the street market they would use is policed: closed markets give
    buyers the security open ones lack (May & Hough 2004). That street risk is the risk
    in the places known for open dealing within a buyer's reach (`street_risk`).
    `street`, the chance without that risk, may be given (kernels.buyers_today gives it;
    kernels.buyers_and_calls applies this rule in the trade phase, in kernels.trade_day).
    """
    cu = world.config.users
    if street is None:
        street = cu.contact_use_prob + (1.0 - cu.contact_use_prob) * world.users.search[buyers]
    if cu.street_wariness == 0:
        return street
    return 1.0 - (1.0 - street) * _street_keep(world)[world.users.home[buyers]]


def _street_keep(world: World) -> np.ndarray:
    """Per home cell, the share of a buyer's chance to walk the street that the street's
    risk leaves it (`contact_use`): exp(-wariness x alarm ^ exponent), the buyers' alarm
    of `update_street_alarm`; empty when buyers are not wary (users.street_wariness 0)."""
    cu = world.config.users
    if cu.street_wariness == 0:
        return _NOT_WARY
    return np.exp(-cu.street_wariness * world.street_alarm**cu.wariness_exponent)


def update_street_alarm(world: World) -> None:
    """Buyers' alarm at the street market within their reach, once a day: today's
    `street_risk`, remembered with users.wariness_memory (alarm = m x yesterday's +
    (1 - m) x today's). Buyers come to rely on the sellers they know over months, not
    overnight (May & Hough 2004), so a few weeks' crackdown moves few of them onto the
    phone and sustained pressure moves many. Nothing to do when buyers are not wary."""
    cu = world.config.users
    if cu.street_wariness == 0:
        return
    m = cu.wariness_memory
    world.street_alarm = m * world.street_alarm + (1.0 - m) * street_risk(world)


def street_risk(world: World) -> np.ndarray:
    """Per home cell: the risk in the places known for open dealing (the reputation layer),
    weighted by how far buyers travel (the travel kernel of `_attraction_params`). The risk is
    the one dealers read (police presence and residual deterrence, weighed by
    `dealers.arrest_credibility`). Reputation remembers where the market was, so a
    crackdown that empties a known market still tells its buyers the street is watched.
    """
    cu, town = world.config.users, world.town
    width, height = town.width, town.height
    shape, window = _travel_window_fft(width, height, cu.distance_decay, cu.search_radius)
    known = town.layer("reputation")
    both = np.stack((known, known * place_risk(world).reshape(width, height)))
    # Convolved with the travel kernel (its transform cached), cut to the town.
    r = int(np.ceil(cu.search_radius))
    near, risk_near = np.fft.irfft2(np.fft.rfft2(both, shape) * window, shape)[
        :, r : r + width, r : r + height
    ]
    return np.clip(risk_near / np.maximum(near, 1e-9), 0.0, 1.0).ravel()


def refer(
    world: World,
    rng: np.random.Generator,
    buyers: np.ndarray,
    seller: np.ndarray,
    via_open: np.ndarray,
) -> None:
    """Word of mouth: a buyer who went without today may be given a number by one of
    today's phone buyers, who vouches for it (May & Hough 2004; Edmunds, Hough &
    Urquia 1996: closed sellers deal only with buyers someone vouches for). So when
    the street fails, the market can go closed.

    Those who went without (`buyers` with no `seller`) are given a number each with
    the chance users.referral_prob, a random one of today's phone purchases' sellers,
    and learn it unless they hold it (kernels.refer_numbers, drawing from `rng`'s state;
    kernels.trade_day does this in the trade phase).
    """
    phoned, failed = seller[(seller >= 0) & ~via_open], buyers[seller < 0]
    with stream_state(rng) as (state, spare):
        kernels.refer_numbers(
            state, spare, phoned, failed, world.config.users.referral_prob, world.users.contacts
        )


def demand_response(full: np.ndarray, elasticity: np.ndarray) -> np.ndarray:
    """Purchases fall with the full price: the money price plus search time valued in
    money (Moore 1973), at elasticities below one (Gallet 2014); casual users respond
    more than dependent ones (Kleiman 1988). 1 at the base price with no search time.
    Each buyer's full price and elasticity: `kernels.buy_terms`, from the price level
    (active dealers' mean price relative to the base price).
    """
    return full**elasticity


def _attraction_params(world: World) -> np.ndarray:
    """What buyers weigh in the open market (kernels.pitch_attraction, in
    kernels.trade_terms; kernels.open_market_choice, in kernels.trade_day).

    Attraction = exp(-distance / decay) x (1 + pull x reputation) x (base price / price)^2
    x exp(-2 x residual deterrence) x exp(-avoidance x violence known nearby) (people avoid
    the area, UKDPC 2009 Table 4.2); pitches beyond the search radius are out of reach.
    The phase gives each open pitch's pull (the terms bar distance, the exponential taken
    in numpy), the travel kernel by (|dx|, |dy|) offset (zero beyond the search radius),
    the reach in cells and the tile size: large towns are cut into tiles so each buyer
    weighs only the pitches within reach. Returns the parameters of the pull.
    """
    cu, m = world.config.users, world.config.market
    pr = np.empty(kernels.N_ATTRACTION_PARAMS)
    pr[kernels.PA_CENTRE_DRAW], pr[kernels.PA_REPUTATION_PULL] = m.centre_draw, m.reputation_pull
    pr[kernels.PA_BASE_PRICE], pr[kernels.PA_VIOLENCE_AVOIDANCE] = (
        m.base_price,
        cu.violence_avoidance,
    )
    return pr


@cache
def _caught_chances(p_arrest: float) -> np.ndarray:
    """The chance that 0, 1, 2 or 3 offences lead to an arrest, each caught with
    `p_arrest` (the same few values day after day: computed once each)."""
    return 1.0 - (1.0 - p_arrest) ** np.arange(4.0)


@cache
def _distances(width: int, height: int) -> np.ndarray:
    """Distance in cells by (|dx|, |dy|) offset."""
    dx, dy = np.meshgrid(np.arange(width), np.arange(height), indexing="ij")
    return np.hypot(dx, dy)


@cache
def _travel_kernel(width: int, height: int, decay: float, radius: float) -> np.ndarray:
    dist = _distances(width, height)
    return np.where(dist <= radius, np.exp(-dist / decay), 0.0)


@cache
def _travel_window_fft(
    width: int, height: int, decay: float, radius: float
) -> tuple[tuple[int, int], np.ndarray]:
    """The padded shape for convolving the town with the travel window without wrapping
    (sides with no prime factor above 5, which the real FFT takes fastest), and the
    window's transform at that shape (`street_risk`)."""
    r = int(np.ceil(radius))
    shape = (next_fast_len(width + 2 * r, real=True), next_fast_len(height + 2 * r, real=True))
    return shape, np.fft.rfft2(_travel_window(width, height, decay, radius), shape)


@cache
def _travel_window(width: int, height: int, decay: float, radius: float) -> np.ndarray:
    """The travel kernel over every offset within reach, (-r..r) x (-r..r), for convolving."""
    r = int(np.ceil(radius))
    q = _travel_kernel(width, height, decay, radius)[: r + 1, : r + 1]
    return np.block([[q[::-1, ::-1], q[::-1, 1:]], [q[1:, ::-1], q[1:, 1:]]])
