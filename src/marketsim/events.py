"""Every change of an agent's state, booked in one place.

An event writes all its books together: the day's tally (timeseries), the harm
ledger (net harm) and the tactic accounts (who caused the cost). Phases and
tactics call these; nothing else changes a dealer's or user's state, custody or
treatment place. Draws come from the caller's stream, so a tactic's arrests
draw on the tactic's own stream (common random numbers).
"""

from __future__ import annotations

import numpy as np

from marketsim import kernels
from marketsim.accounts import REACTIVE, SELF_REFERRAL
from marketsim.agents import dealer as D
from marketsim.agents import user as U
from marketsim.agents.population import NEVER
from marketsim.harms import ledger_rows
from marketsim.metrics import TALLY_INDEX
from marketsim.rng import integers, stream_state, weighted_choice
from marketsim.state import World

# ------------------------------------------------------------------ arrests


# The books an arrest writes, by kernels.book_arrest_at and book_prosecution_at: tally
# rows (TA_*), ledger rows (LA_*, each harm's own cause), and the state codes (AC_*).
_ARREST_TALLY = np.array([TALLY_INDEX[m] for m in ("arrests", "seizures", "prosecutions")])
_ARREST_LEDGER = ledger_rows(
    (("arrest", None, 0), ("children_affected", None, 0), ("prosecution", None, 0))
)[0]
_ARREST_CODES = np.array([D.ACTIVE, D.REMANDED, D.USER_DEALER, U.ACTIVE, U.PRISON])


def _arrest_books(world: World) -> tuple:
    """The books the arrest kernels write, in their order: the tally's counts and rows, the
    ledger's (type x cause) rows, what is booked today, its rows, and the state codes."""
    ledger, touched = world.ledger.flat_rows()
    return world.tally.counts, _ARREST_TALLY, ledger, touched, _ARREST_LEDGER, _ARREST_CODES


def _account_arrests(
    world: World, by: str, arrests: float, prosecutions: float, children: float
) -> None:
    """Arrests, prosecutions and children affected charged to account `by`."""
    acc = world.accounts
    acc.add(by, "arrests", arrests)
    if children:
        acc.add(by, "children_affected", children)
    if prosecutions:
        acc.add(by, "prosecutions", prosecutions)


def arrest_dealer(
    world: World,
    r: int,
    rng: np.random.Generator,
    cell: int | None = None,
    by: str = "standard_patrol",
) -> None:
    """Arrest dealer row r for tactic `by`: charge, remand or bail, seizure (crew debt), void.

    The arrest is booked at the pitch (tally, ledger, account), with the children
    affected; every dealer arrest seizes stock, which becomes a debt on the crew's
    other active members, else on the dealer (N8 PRP 2024: drug debts after seizures as
    a cause of violence); removing a seller opens turf for rivals (a user-dealer selling
    to friends holds little: `void_user_dealer`); a user-dealer's user is adversely
    affected. Charged with `charge_prob` (else wary, risk at least 0.5): prosecuted,
    convicted with `convict_prob`, sentenced `days_to_sentence` later, and remanded with
    `remand_prob` (into custody: `take_into_custody`) or bailed (risk at least 0.6).
    One compiled call (kernels.dealer_arrest) drawing from `rng`'s state.
    """
    pc = world.config.police
    d, u = world.dealers, world.users
    cell = int(d.cell[r]) if cell is None else cell
    with stream_state(rng) as (pcg, _spare):
        children, charged, jailed = kernels.dealer_arrest(
            pcg,
            r,
            cell,
            world.accounts.index(by),
            world.day,
            d.n,
            d.state,
            d.tier,
            d.crew,
            d.user,
            d.arrests,
            d.arrested_by,
            d.children,
            d.convicted,
            d.event_day,
            d.risk,
            d.debt,
            u.state,
            u.adverse_until,
            world.turf_opened,
            *_arrest_books(world),
            pc.charge_prob,
            pc.convict_prob,
            pc.remand_prob,
            pc.days_to_sentence,
            float(pc.seizure_value),
            world.config.dealers.void_user_dealer,
        )
    _account_arrests(world, by, 1.0, float(charged), float(children))
    if jailed >= 0:  # remanded with the user-dealer's user (take_into_custody)
        leave_treatment(world, jailed)


def arrest_users(
    world: World, rows: np.ndarray, cells: np.ndarray, rng: np.random.Generator
) -> None:
    """Users caught for acquisitive crime (user rows at `cells`), each still active arrested:
    booked at the cell (tally, ledger, the reactive account) with the children affected,
    adversely affected for 30 days, and charged with `charge_prob`; a charged user who is
    not a user-dealer is jailed with `custody_prob_user` for `sentence_user` days times a
    lognormal factor (user-dealers are jailed only for dealing, on their dealer row, so
    that a person is never in custody twice). In one compiled call (kernels.user_arrests,
    drawing from `rng`'s state) but for each user jailed.
    """
    pc = world.config.police
    u = world.users
    booked = np.zeros(3)  # arrests, prosecutions, children affected
    i, n = 0, rows.size
    while i < n:
        with stream_state(rng) as (pcg, _spare):
            i = kernels.user_arrests(
                pcg,
                rows,
                cells,
                i,
                world.day,
                world.recording,
                u.state,
                u.dealer,
                u.children,
                u.adverse_until,
                u.arrests,
                *_arrest_books(world),
                pc.charge_prob,
                pc.custody_prob_user,
                booked,
            )
        if i < n:  # jailed
            ur = int(rows[i])
            leave_treatment(world, ur)
            u.state[ur] = U.PRISON
            u.arrested_by[ur] = world.accounts.index(REACTIVE)
            factor = rng.lognormal(0, 0.5)
            u.release_day[ur] = world.day + max(1, int(round(pc.sentence_user * factor)))
            i += 1
    arrests, prosecutions, children = booked.tolist()
    if arrests:
        _account_arrests(world, REACTIVE, arrests, prosecutions, children)


# ------------------------------------------------------------------ custody


def take_into_custody(world: World, r: int, state: int) -> None:
    d, u = world.dealers, world.users
    d.state[r] = state
    if d.user[r] >= 0:
        ur = d.user[r]
        if u.state[ur] == U.ACTIVE:
            leave_treatment(world, ur)
            u.state[ur] = U.PRISON


def imprison(world: World, r: int, rng: np.random.Generator) -> None:
    pc = world.config.police
    d = world.dealers
    median = pc.sentence_user_dealer if d.tier[r] == D.USER_DEALER else pc.sentence_dealer
    days = max(1, int(round(median * rng.lognormal(0.0, 0.5))))
    take_into_custody(world, r, D.PRISON)
    d.event_day[r] = world.day + days


def release_dealer(world: World, r: int, rng: np.random.Generator, resume: bool) -> None:
    """Out of custody: back to a pitch near the old one, or desist."""
    d, u = world.dealers, world.users
    d.event_day[r] = NEVER
    d.convicted[r] = False
    if d.user[r] >= 0:
        ur = d.user[r]
        if u.state[ur] == U.PRISON:
            u.state[ur] = U.ACTIVE
            u.tolerance_until[ur] = world.day + world.config.users.tolerance_loss_days
    if not resume:
        desist(world, r)
        return
    t = world.town
    # rng.integers(-3, 4) is -3 + a draw of integers(0, 7): the same draws (rng.integers);
    # clipped to the town as np.clip would, in Python ints (np.clip costs 25 us a scalar).
    x = min(max(int(t.cell_x[d.cell[r]]) + int(integers(rng, 7)) - 3, 0), t.width - 1)
    y = min(max(int(t.cell_y[d.cell[r]]) + int(integers(rng, 7)) - 3, 0), t.height - 1)
    resume_dealing(world, r, x * t.height + y)


def resume_dealing(world: World, r: int | np.ndarray, cell: int | np.ndarray) -> None:
    """Back to dealing at `cell`, wary at first (after custody, or a diverted dealer's relapse)."""
    d = world.dealers
    d.state[r] = D.ACTIVE
    d.risk[r] = 0.3
    d.entered_day[r] = world.day
    d.cell[r] = cell


def release_user(world: World, rows: np.ndarray) -> None:
    """Users (not user-dealers) back from prison: tolerance is lost for a while."""
    u = world.users
    u.state[rows] = U.ACTIVE
    u.tolerance_until[rows] = world.day + world.config.users.tolerance_loss_days


def desist(world: World, r: int) -> None:
    d, u = world.dealers, world.users
    d.state[r] = D.DESISTED
    if d.user[r] >= 0:
        u.dealer[d.user[r]] = -1
        d.user[r] = -1


def divert_dealer(world: World, r: int) -> None:
    """Take a user-dealer out of dealing into treatment (fast track)."""
    d = world.dealers
    d.state[r] = D.DIVERTED
    world.tally.add("diversions", int(d.cell[r]))


# ---------------------------------------------------------------- treatment


def refer_to_treatment(world: World, ur: int, by: str, fast_track: bool = False) -> str:
    """Refer user row `ur` to treatment on behalf of tactic `by`.

    Admits at once if a place is free at the nearest site with one, else
    joins a waiting list (at its head when fast-tracked). Returns "admitted",
    "waiting" or "refused" (not an active user).
    """
    u = world.users
    if u.state[ur] != U.ACTIVE or u.treatment[ur] == U.IN_TREATMENT:
        return "refused"
    leave_treatment(world, ur)
    u.referred_by[ur] = world.accounts.index(by)
    hx, hy = world.town.cell_x[u.home[ur]], world.town.cell_y[u.home[ur]]
    order = np.argsort([abs(s.x - hx) + abs(s.y - hy) for s in world.services])
    for s in order:
        if world.services[s].free_places > 0:
            admit(world, np.array([ur]), int(s))
            return "admitted"
    site = int(order[0])
    join_waiting_list(world, ur, site)
    if fast_track:
        world.services[site].waiting.remove(ur)
        world.services[site].waiting.appendleft(ur)
    return "waiting"


_ENTRIES_ROW = TALLY_INDEX["treatment_entries"]  # the tally's row of treatment entries


def join_waiting_list(world: World, ur: int, site: int) -> None:
    u = world.users
    u.treatment[ur] = U.WAITING
    u.treatment_day[ur] = world.day
    u.site[ur] = site
    world.services[site].join(ur)


def admit(world: World, rows: np.ndarray, site: int) -> None:
    """Admit rows straight into free places at `site` (a referral that skips the list)."""
    for ur in rows:
        world.services[site].clients.add(int(ur))
    start_treatment(world, rows, site)


def start_treatment(world: World, rows: np.ndarray, site: int) -> None:
    """Rows have just taken a place at `site`: in treatment from today, no appointment missed,
    the place charged to self-referral where no tactic referred them, and a treatment entry
    each at home (kernels.start_treatment_rows)."""
    u = world.users
    kernels.start_treatment_rows(
        rows,
        site,
        world.day,
        world.accounts.index(SELF_REFERRAL),
        U.IN_TREATMENT,
        u.treatment,
        u.treatment_day,
        u.missed,
        u.site,
        u.referred_by,
        u.home,
        world.tally.counts,
        _ENTRIES_ROW,
    )


def leave_treatment(world: World, ur: int) -> None:
    u = world.users
    if u.treatment[ur] in (U.WAITING, U.IN_TREATMENT):
        for s in world.services:
            s.leave(ur)
            s.drop_from_list(ur)
        u.treatment[ur] = U.NO_TREATMENT
    u.referred_by[ur] = -1


def recover(world: World, rows: np.ndarray) -> None:
    """Stop using: completed treatment or natural recovery. User-dealers stop dealing too."""
    u = world.users
    u.state[rows] = U.RECOVERED
    u.recovered_day[rows] = world.day
    for ur in rows:
        if u.dealer[ur] >= 0:
            desist(world, int(u.dealer[ur]))


def user_dies(world: World, rows: np.ndarray) -> None:
    u = world.users
    for ur in rows:
        leave_treatment(world, int(ur))
        u.state[ur] = U.DEAD
        if u.dealer[ur] >= 0:
            desist(world, int(u.dealer[ur]))


# -------------------------------------------------------------- newcomers

_NONE = np.empty(0, dtype=np.int64)  # no retired crews


def add_users(
    world: World, homes: np.ndarray, dependent: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """New users at `homes`; returns their rows."""
    cfg = world.config.users
    u = world.users
    n = len(homes)
    rows = u.grow(n)
    new = slice(u.n - n, u.n)  # the same rows: a slice writes them faster than rows
    u.home[new] = homes
    u.dependent[new] = dependent
    median = np.where(dependent, cfg.income_dependent, cfg.income_recreational)
    u.income[new] = median * rng.lognormal(0.0, 0.5, n)
    u.cash[new] = u.income[new] * 2
    u.children[new] = rng.poisson(cfg.children_mean, n)
    u.started_day[new] = world.day
    return rows


def add_dealers(
    world: World,
    n: int,
    weights: np.ndarray,
    rng: np.random.Generator,
    entrant: bool,
    void_cells: np.ndarray | None = None,
) -> np.ndarray:
    """New dealers at cells drawn by `weights`: the founding market, or entrants.

    Traits (design §4): tier, crew, a heavy-tailed violence trait (Braga 2001: a
    few actors do most violence), open or closed mode, runner exploitation, product
    risk and close threshold. Founders and ordinary entrants draw them from `market`
    and `dealers`; an entrant placed on a cell of `void_cells` fills a void and takes
    `market.entrants`' traits (UKDPC 2009 App. B, Operation Reduction: a void may be
    filled by more harmful sellers; phases/entry_exit.void_filler_cells).
    """
    sc = world.config
    m = sc.market
    e = m.entrants
    d = world.dealers
    cells = weighted_choice(rng, weights, n)
    filler = None if void_cells is None else void_cells[cells]
    if filler is not None and not filler.any():
        filler = None  # no void filler today: every trait the founders' value
    crews = None
    if entrant:
        # Crew-tier entrants mostly join existing crews (those with a member, less retired
        # ones, sorted), recruitment, else form a new one (kernels.entrant_crews, drawing
        # as rng.choice(existing, n) and rng.random(n) < 0.3 did).
        retired = np.fromiter(world.retired_crews, np.int64) if world.retired_crews else _NONE
        with stream_state(rng) as (pcg, spare):
            crews, existing, formed = kernels.entrant_crews(
                pcg, spare, d.view("crew"), retired, n, world.next_crew_id
            )
        if not existing:
            crews = None
        if formed:
            world.next_crew_id += 1
    share_user_dealer = _filler_value(filler, e.share_user_dealer, m.share_user_dealers)
    share_crew = _filler_value(filler, e.share_crew, m.share_crew)
    rows = d.grow(n)
    new = slice(d.n - n, d.n)  # the same rows: a slice writes them faster than rows
    u = rng.random(n)
    tier = np.where(
        u < share_user_dealer,
        D.USER_DEALER,
        np.where(u < share_user_dealer + share_crew, D.CREW, D.STREET),
    )
    d.tier[new] = tier
    d.cell[new] = cells
    # Crews: members share a crew violence factor, so some crews are far worse than others.
    is_crew = tier == D.CREW
    crew_ids = np.full(n, -1)
    if crews is None:
        n_crews = max(1, round(is_crew.sum() / m.mean_crew_size)) if is_crew.any() else 0
        base = world.next_crew_id
        crew_ids[is_crew] = base + integers(rng, max(n_crews, 1), int(is_crew.sum()))
        world.next_crew_id = base + n_crews
    else:
        crew_ids[is_crew] = crews[is_crew] if len(crews) == n else rng.choice(crews, is_crew.sum())
    d.crew[new] = crew_ids
    # Heavy tail: lognormal individual trait times a lognormal crew factor.
    indiv = rng.lognormal(0.0, m.violence_sigma, n)
    crew_factor = np.ones(n)
    if is_crew.any():
        uniq = np.unique(crew_ids[is_crew])
        factors = np.exp(_crew_z(world, uniq, rng) * m.violence_sigma * 0.8)
        crew_factor[is_crew] = factors[np.searchsorted(uniq, crew_ids[is_crew])]
    user_calm = np.where(tier == D.USER_DEALER, 0.4, 1.0)  # user-dealers are rarely violent
    multiplier = _filler_value(filler, e.violence_multiplier, 1.0)
    d.violence[new] = indiv * crew_factor * user_calm * multiplier
    d.open[new] = rng.random(n) < _filler_value(filler, e.share_open, m.share_open)
    d.exploits[new] = (tier != D.USER_DEALER) & (
        rng.random(n)
        < _filler_value(filler, e.share_exploit, m.share_exploit)
        / np.maximum(1e-9, 1 - share_user_dealer)
    )
    d.product_risk[new] = rng.beta(2.0, 5.0, n) * _filler_value(
        filler, e.product_risk_multiplier, 1.0
    )
    close = _filler_value(filler, e.close_threshold, sc.dealers.close_threshold)
    # rng.normal(close, 0.08, n) is close + 0.08 x a standard normal, the same floats, but
    # an array `close` sends it down numpy's slow broadcasting path; clipped as np.clip.
    spread = close + 0.08 * rng.standard_normal(n)
    d.close_threshold[new] = np.minimum(np.maximum(spread, 0.05), 0.95)
    d.children[new] = rng.poisson(sc.users.children_mean, n)
    d.entered_day[new] = world.day
    d.price[new] = m.base_price
    d.profit[new] = sc.dealers.exit_profit * 2
    _link_user_dealers(world, rows, rng)
    return rows


def _filler_value(
    filler: np.ndarray | None, own: float | None, founders: float
) -> np.ndarray | float:
    """Per new dealer: `own` for void fillers (unless unset), the founders' value for the rest.
    With no filler (None), the founders' value itself: the same floats as an array of it."""
    if filler is None:
        return founders
    return np.where(filler, founders if own is None else own, founders)


def _crew_z(world: World, crew_ids: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A standard-normal violence factor per crew, drawn once when the crew forms."""
    out = np.empty(len(crew_ids))
    for i, c in enumerate(crew_ids):
        c = int(c)
        if c not in world.crew_z:
            world.crew_z[c] = float(rng.normal())
        out[i] = world.crew_z[c]
    return out


def _link_user_dealers(world: World, rows: np.ndarray, rng: np.random.Generator) -> None:
    """A user-dealer is also a dependent user: link each to a user living nearby."""
    d, users = world.dealers, world.users
    ud = rows[d.tier[rows] == D.USER_DEALER]
    if ud.size == 0:
        return
    pool = np.flatnonzero(
        (users.view("state") == U.ACTIVE) & users.view("dependent") & (users.view("dealer") < 0)
    )
    if pool.size < ud.size:
        d.tier[ud[pool.size :]] = D.STREET
        ud = ud[: pool.size]
    chosen = rng.choice(pool, size=ud.size, replace=False)
    users.dealer[chosen] = ud
    d.user[ud] = chosen
    d.cell[ud] = users.home[chosen]
