"""Phase 4, dealers (ODD §7): perceived risk, relocation, open/closed mode, price.

Each decision is a vectorised function over all active dealers; read one row to
follow one dealer.
"""

from __future__ import annotations

import numpy as np

from marketsim import kernels
from marketsim.agents import dealer as D
from marketsim.agents import user as U
from marketsim.rng import stream_state
from marketsim.state import World


def run(world: World) -> None:
    """Perceived risk (`update_risk`), the numbers users hold (`contacts_held`),
    relocation (`relocate`), open/closed mode (`choose_mode`) and prices (`set_prices`),
    in that order, in three compiled calls with the exponentials in numpy between them
    (kernels.risk_signal, kernels.dealer_reviews, kernels.settle_dealers: the same
    kernels, draws and order as the functions named, which describe each step)."""
    cfg, m = world.config.dealers, world.config.market
    town, d, u = world.town, world.dealers, world.users
    rng = world.streams["dealers"]
    deterrence = town.layer("deterrence").ravel()
    pr = _risk_params(world)
    # 1. what the market learns of each place's enforcement (yesterday's dealer arrests
    # within two cells), and each active dealer's risk signal (`update_risk`)
    act, world.credibility, exponent = kernels.risk_signal(
        world.hours_seen,
        world.arrests_seen,
        world.police_near,
        world.arrests_cell,
        town.width,
        town.height,
        deterrence,
        d.view("state"),
        D.ACTIVE,
        d.cell,
        pr,
    )
    # 2. perceived risk takes the signal in; the numbers users hold; who reviews its
    # pitch and its candidates (`relocate`), and the town's pitch terms if anyone does
    with stream_state(rng) as (state, spare):
        held, movers, cand, is_open, calls, own, demand, rivals, exposure = kernels.dealer_reviews(
            state,
            spare,
            act,
            d.risk,
            np.exp(exponent),
            cfg.risk_learning_rate,
            u.contacts,
            u.view("state"),
            U.ACTIVE,
            cfg.relocation_prob,
            cfg.relocation_candidates,
            cfg.relocation_radius,
            d.view("state"),
            D.ACTIVE,
            d.cell,
            d.left_cell,
            d.open,
            town.cell_x,
            town.cell_y,
            town.width,
            town.height,
            _calls_per_holder(world),
            world.buyer_density,
            town.layer("reputation").ravel(),
            town.layer("unmet_demand"),
            town.is_centre,
            world.credibility,
            world.police_near,
            deterrence,
            pr,
        )
        # 3. the reviewers stay, move or switch mode (`relocate`, with `place_risk` at the
        # cells appraised, 0 elsewhere); open/closed switching (`choose_mode`); prices
        # (`set_prices`)
        place = risk_at(exposure, cand.ravel()) if movers.size else np.zeros(exposure.size)
        kernels.settle_dealers(
            state,
            act,
            movers,
            cand,
            is_open,
            calls,
            own,
            demand,
            rivals,
            place,
            place_watch(world),
            world.violence_near,
            town.cell_x,
            town.cell_y,
            _pitch_params(world),
            held,
            cfg.min_contacts_to_close,
            cfg.relocation_gain,
            cfg.reopen_threshold,
            d.view("state"),
            D.ACTIVE,
            d.open,
            d.cell,
            d.left_cell,
            d.risk,
            d.close_threshold,
            d.price,
            m.base_price,
            m.risk_markup,
        )


def update_risk(world: World, arrests_near: np.ndarray) -> None:
    """Perceived risk: a moving average of police seen, arrests seen and residual deterrence.

    What police presence is worth is learned (Sherman 1990: offenders find out by trial
    and error that a crackdown's risk is lower than it looks; Anwar & Loughran 2011, a
    Bayesian model of offenders' arrest beliefs). The market keeps, for each place, the
    officer-hours and the arrests seen there, shared by word of mouth; its expected
    arrests per officer-hour is a prior updated by them (`arrest_credibility`), and
    dealers weigh police presence and residual deterrence by it. Presence that is not
    followed by arrests loses its grip, so a continuing crackdown decays.
    """
    cfg = world.config.dealers
    d = world.dealers
    act = d.active()
    # Officer-hours and arrests seen fade and take in today's; the credibility they give
    # (`arrest_credibility`), and the exponent of each dealer's risk signal (`presence`
    # weighed by it, and arrests nearby): kernels.learn_risk.
    world.credibility, exponent = kernels.learn_risk(
        world.hours_seen,
        world.arrests_seen,
        world.police_near,
        arrests_near,
        world.town.layer("deterrence").ravel(),
        d.cell[act],
        _risk_params(world),
    )
    # A moving average of the signal 1 - exp(exponent) (kernels.blend_risk).
    kernels.blend_risk(act, d.risk, np.exp(exponent), cfg.risk_learning_rate)


def _risk_params(world: World) -> np.ndarray:
    """The parameters of kernels.learn_risk and kernels.town_pitch_terms."""
    cfg = world.config.dealers
    pr = np.empty(kernels.N_RISK_PARAMS)
    pr[kernels.LR_KEEP] = cfg.experience_memory
    pr[kernels.LR_PRIOR_HOURS], pr[kernels.LR_PRIOR_RATE] = (
        cfg.prior_strength,
        cfg.prior_arrests_per_hour,
    )
    pr[kernels.LR_PER_HOUR] = cfg.risk_per_police_hour
    pr[kernels.LR_PER_ARREST] = cfg.risk_per_arrest_nearby
    pr[kernels.LR_CENTRE_DRAW] = world.config.market.centre_draw
    return pr


def arrest_credibility(world: World) -> np.ndarray:
    """Per cell: expected arrests per officer-hour, posterior over prior (1 if unseen)."""
    cfg = world.config.dealers
    h0, r0 = cfg.prior_strength, cfg.prior_arrests_per_hour
    return (h0 * r0 + world.arrests_seen) / (r0 * (h0 + world.hours_seen))


def presence(world: World) -> np.ndarray:
    """Per cell: the police presence dealers read, officer-hours seen plus residual deterrence."""
    cfg = world.config.dealers
    return cfg.risk_per_police_hour * world.police_near + world.town.layer("deterrence").ravel()


def place_risk(world: World) -> np.ndarray:
    """Per cell: the arrest risk police presence there carries, weighed by what the market
    has learned it is worth (`arrest_credibility`); read by dealers and by wary buyers."""
    return 1 - np.exp(-(world.credibility * presence(world)))


_NO_ROWS = np.empty(0)  # pitch_value without a dealer's own risk


def buyer_density(world: World) -> np.ndarray:
    """Active users' homes within 4 cells of each cell."""
    u, town = world.users, world.town
    near = kernels.people_near(
        u.view("state"), u.view("home"), U.ACTIVE, town.width, town.height, 4
    )
    return near.ravel()


def contacts_held(world: World) -> np.ndarray:
    """How many active users hold each dealer's number."""
    u = world.users
    return kernels.contacts_held(u.contacts, u.view("state"), U.ACTIVE, world.dealers.n)


def _calls_per_holder(world: World) -> float:
    """Expected daily calls from one customer holding a dealer's number (a dealer's
    customers' calls: this times the users who hold its number, `contacts_held`)."""
    cu = world.config.users
    return cu.contact_use_prob * (
        cu.share_dependent * cu.buy_prob_dependent
        + (1 - cu.share_dependent) * cu.buy_prob_recreational
    )


def pitch_terms(
    world: World, at: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The town-wide terms of the pitch appraisal, per cell: trade demand (nearby buyers,
    reputation and the centre's draw, unmet demand), rival dealers within one cell, and
    the risk police presence carries there. One appraisal round computes them once.
    `at`: the only cells the round appraises; the risk is then taken there alone (an
    exponential a cell, the costly part) and left 0 elsewhere."""
    town, d = world.town, world.dealers
    demand, rivals, exposure = kernels.town_pitch_terms(
        world.buyer_density,
        town.layer("reputation").ravel(),
        town.layer("unmet_demand"),
        town.is_centre,
        d.view("state"),
        d.view("cell"),
        D.ACTIVE,
        world.credibility,
        world.police_near,
        town.layer("deterrence").ravel(),
        _risk_params(world),
    )
    if at is None:
        return demand, rivals, 1 - np.exp(exposure)  # place_risk
    return demand, rivals, risk_at(exposure, at)


def risk_at(exposure: np.ndarray, at: np.ndarray) -> np.ndarray:
    """`place_risk` at the cells `at` from its exponent (kernels.town_pitch_terms), 0
    elsewhere: an appraisal round reads no other cell, and the exponential is the costly
    part."""
    risk = np.zeros(exposure.size)
    risk[at] = 1 - np.exp(exposure[at])
    return risk


def pitch_value(
    world: World,
    cand: np.ndarray,
    is_open: np.ndarray,
    calls: np.ndarray | None = None,
    own_risk: np.ndarray | None = None,
    terms: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """Expected daily profit net of risk at candidate pitches (dealers x candidates).

    Demand: nearby buyers, market reputation and unmet demand, plus the calls of
    the dealer's own customers (`calls`, which follow it anywhere). Cost: rivals
    sharing the pitch, the expected cost of police presence and residual
    deterrence (weighed by what the market has learned they are worth,
    `arrest_credibility`; at its own pitch, column 0, the dealer's perceived risk
    `own_risk`, and in open mode a share `known_risk_share` of it at every pitch),
    the watch the place is under (`place_watch`: guardianship, and residents who
    see and report), and violence known nearby (robbery and retaliation, Jacobs
    2000). Closed dealers care little about passing trade. `terms`: `pitch_terms`,
    when the caller appraises more than once from the same state. The arithmetic,
    one candidate at a time, is `kernels.pitch_value`.
    """
    return kernels.pitch_value(
        np.ascontiguousarray(cand),  # one compiled layout, whatever slice the caller passes
        is_open,
        np.zeros(cand.shape[0]) if calls is None else calls,
        _NO_ROWS if own_risk is None else own_risk,
        *_appraisal(world, pitch_terms(world) if terms is None else terms),
    )


def _appraisal(world: World, terms: tuple[np.ndarray, np.ndarray, np.ndarray]) -> tuple:
    """What kernels.pitch_value reads besides the candidates and the dealers: the pitch
    terms (`pitch_terms`), the watch each place is under (`place_watch`), violence known
    nearby, the cells' x and y, and the parameters."""
    town = world.town
    return (
        *terms,
        place_watch(world),
        world.violence_near,
        town.cell_x,
        town.cell_y,
        _pitch_params(world),
    )


def place_watch(world: World) -> np.ndarray:
    """Per cell, what a dealer weighs for being watched there (ODD §7.4 pitch appraisal),
    two rows: 0.3 x the place's guardianship (place managers, lighting, CCTV; weighed
    like police risk, less by a closed dealer), and `dealers.resident_watch` per 100
    residents, weighed alike in either mode (natural surveillance: Jacobs 1961's eyes on
    the street; residents who see a street pitch, or a house's callers, can report it,
    Sampson, Raudenbush & Earls 1997). The residents who watch are the ones who bear
    visible dealing (ODD 7.9)."""
    town = world.town
    watch = np.empty((2, town.n_cells))
    watch[0] = 0.3 * town.guardianship.ravel()
    watch[1] = world.config.dealers.resident_watch / 100.0 * town.residents.ravel()
    return watch


def _pitch_params(world: World) -> np.ndarray:
    """The parameters of kernels.pitch_value."""
    cfg, m = world.config.dealers, world.config.market
    pr = np.empty(kernels.N_PITCH_PARAMS)
    pr[kernels.PV_MARGIN] = m.base_price * (1 - m.wholesale_share)
    pr[kernels.PV_KNOWN_SHARE] = cfg.known_risk_share
    pr[kernels.PV_RISK_COST], pr[kernels.PV_CLOSED_RISK] = cfg.risk_cost, cfg.closed_risk
    pr[kernels.PV_VIOLENCE_COST] = cfg.violence_cost
    return pr


def relocate(world: World, rng: np.random.Generator, held: np.ndarray | None = None) -> np.ndarray:
    """Stay, move or switch mode: the best of the current pitch, a few nearby ones, the
    established pitch it was pushed from, and the current pitch in the other mode, by
    expected profit net of risk and violence.

    A dealer that moves remembers the pitch it left until it returns there: offenders
    keep to the places they know, and a market pushed off its place comes back when the
    pressure goes (Eck 1995 on drug-market places; Weisburd et al. 2006, *Criminology*
    44: displacement is limited because offenders are tied to their places; Sherman &
    Rogan 1995: the raided houses' trade was back within days).

    Geographic displacement emerges here (dealers leave pitches where the expected
    cost of risk exceeds the trade), and so does tactical displacement: a dealer
    whose customers hold its number can go closed where it is instead of moving
    (phone contacts and delivery; UKDPC 2009 App. B, Operation Iceberg: the market
    "more underground"; Kleiman 1993). Returns the rows that moved.
    """
    cfg = world.config.dealers
    town = world.town
    d = world.dealers
    act = d.active()
    if act.size == 0:
        return act
    if held is None:
        held = contacts_held(world)
    # Each reviews with the chance relocation_prob + its risk (kernels.reviewers); each
    # reviewer appraises its own pitch, relocation_candidates nearby ones within
    # relocation_radius along x and y and, last, the pitch it was pushed from (its own
    # again if it has not moved), knowing its mode, risk and customers' calls
    # (kernels.review_pitches, drawing from the dealers stream's state).
    with stream_state(rng) as (state, spare):
        movers, cand, is_open, calls, own = kernels.review_pitches(
            state,
            spare,
            act,
            cfg.relocation_prob,
            cfg.relocation_candidates,
            cfg.relocation_radius,
            d.cell,
            d.left_cell,
            town.cell_x,
            town.cell_y,
            town.width,
            town.height,
            d.open,
            d.risk,
            held,
            _calls_per_holder(world),
        )
    if movers.size == 0:
        return movers
    # Each appraises its candidates and the same pitch in the other mode (closed needs
    # customers), and takes the best if it gains enough over staying as it is; a dealer
    # remembers the established pitch on its first move away and forgets it on the way
    # back (kernels.relocate_dealers).
    return kernels.relocate_dealers(
        movers,
        cand,
        is_open,
        calls,
        own,
        *_appraisal(world, pitch_terms(world, at=cand.ravel())),
        held,
        cfg.min_contacts_to_close,
        cfg.relocation_gain,
        d.open,
        d.cell,
        d.left_cell,
    )


def choose_mode(world: World, held: np.ndarray, rng: np.random.Generator) -> None:
    """Open<->closed switching (tactical displacement).

    Open dealers facing risk above their threshold go closed if enough buyers
    hold their number; closed dealers return to open trade when risk is low.
    """
    cfg = world.config.dealers
    d = world.dealers
    act = d.active()
    kernels.switch_mode(
        act,
        d.risk,
        d.open,
        d.close_threshold,
        held,
        cfg.min_contacts_to_close,
        cfg.reopen_threshold,
        rng.random(act.size),  # a chance to reopen for each
    )


def set_prices(world: World) -> None:
    """Risk compensation (Reuter & Kleiman 1986): price = base x (1 + markup x risk)."""
    m = world.config.market
    d = world.dealers
    kernels.risk_prices(d.view("state"), D.ACTIVE, d.risk, d.price, m.base_price, m.risk_markup)
