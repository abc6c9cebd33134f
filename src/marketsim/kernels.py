"""Compiled inner loops of the day's phases (numba), each a plain loop.

Each kernel's docstring names the mechanism it serves and its ODD section
(docs/odd.md). The decisions stay in the phase modules; a kernel only does the
arithmetic, in the same order as the numpy code it replaced, so results are
bit-identical: sums as numpy sums (`numpy_sum`), whole-number counts in any order
(exact). Draws come from the phase's named stream in the numpy code's order: most
kernels take uniforms the phase drew in numpy (unboxing a numpy Generator in a
kernel costs about 12 us a call, and each of its draws twice what numpy's takes);
`pay_and_use` (called by `purchases`), whose draws' number is known only as it goes,
draws from the stream's PCG64 state itself (`next_double`, `stream_integers`: numpy's
own arithmetic, on the state `rng.raw_state` gives). A phase's chain of kernels may be one
kernel calling the others (`trade_day`, `dealer_reviews`, `purchases`, `book_stocks`,
`close_and_weigh`): a call from Python costs a few microseconds (5-15 in a run, as does a
small numpy call), one between kernels nothing. `exp` and powers stay in numpy (ODD §3).

Compiled code is cached on disk (`cache=True`, in `__pycache__`): `python -m
marketsim.kernels` compiles every kernel once (`make` and CI do this after
installing, and when this file changes), and later processes load them lazily, at
first call, in about half a second, mostly numba's own set-up
(benchmarks/bench_warm_start.py).
"""

from __future__ import annotations

import numpy as np
from numba import njit

# PCG64, numpy's default bit generator, for kernels that draw from a stream themselves
# (`rng.raw_state` gives its state): the multiplier of its 128-bit LCG, and 2^32 - 1.
_PCG_MULT_HI = np.uint64(2549297995355413924)
_PCG_MULT_LO = np.uint64(4865540595714422341)
_LOW32 = np.uint64(0xFFFFFFFF)


@njit(cache=True)
def _mul_high(a: np.uint64, b: np.uint64) -> np.uint64:
    """The high 64 bits of the 128-bit product a x b, from 32-bit halves."""
    a_lo, a_hi, b_lo, b_hi = a & _LOW32, a >> np.uint64(32), b & _LOW32, b >> np.uint64(32)
    lo_lo, hi_lo, lo_hi = a_lo * b_lo, a_hi * b_lo, a_lo * b_hi
    cross = (lo_lo >> np.uint64(32)) + (hi_lo & _LOW32) + lo_hi
    return (hi_lo >> np.uint64(32)) + (cross >> np.uint64(32)) + a_hi * b_hi


@njit(cache=True)
def next_uint64(state: np.ndarray) -> np.uint64:
    """The stream's next 64-bit output, as numpy's PCG64 makes it (ODD §3, named
    streams): the 128-bit state (state[0] low, state[1] high words) times the multiplier
    plus the increment (state[2], state[3]), then the XSL-RR output of the new state."""
    s_lo, s_hi = state[0], state[1]
    lo = s_lo * _PCG_MULT_LO
    hi = _mul_high(s_lo, _PCG_MULT_LO) + s_lo * _PCG_MULT_HI + s_hi * _PCG_MULT_LO
    new_lo = lo + state[2]
    carry = np.uint64(1) if new_lo < lo else np.uint64(0)
    new_hi = hi + state[3] + carry
    state[0], state[1] = new_lo, new_hi
    rot = new_hi >> np.uint64(58)
    x = new_hi ^ new_lo
    return (x >> rot) | (x << ((np.uint64(64) - rot) & np.uint64(63)))


@njit(cache=True)
def next_double(state: np.ndarray) -> float:
    """`Generator.random()`: the top 53 bits of the next output, over 2^53."""
    return float(next_uint64(state) >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@njit(cache=True)
def next_uint32(state: np.ndarray, spare: np.ndarray) -> np.uint64:
    """numpy's 32-bit draw: the buffered high half of the last 64-bit output if there
    is one (`spare`: a flag, then the half), else the low half of a new one."""
    if spare[0]:
        spare[0] = 0
        return np.uint64(spare[1])
    value = next_uint64(state)
    spare[0], spare[1] = 1, value >> np.uint64(32)
    return value & _LOW32


@njit(cache=True)
def stream_integers(state: np.ndarray, spare: np.ndarray, high: int, size: int) -> np.ndarray:
    """`Generator.integers(0, high, size)` for 1 <= high < 2^32, the same draws: numpy's
    Lemire rejection on 32-bit draws (`next_uint32`), none when high is 1."""
    out = np.zeros(size, dtype=np.int64)
    span = np.uint64(high - 1)
    if span == 0:
        return out
    excl = span + np.uint64(1)
    threshold = (_LOW32 - span) % excl
    for i in range(size):
        m = next_uint32(state, spare) * excl
        if (m & _LOW32) < excl:
            while (m & _LOW32) < threshold:
                m = next_uint32(state, spare) * excl
        out[i] = np.int64(m >> np.uint64(32))
    return out


@njit(cache=True)
def stream_interval(state: np.ndarray, spare: np.ndarray, top: int) -> int:
    """numpy's `random_interval(top)`: a uniform integer in 0..top by rejection on the
    smallest bit mask covering it, from 32-bit draws (`next_uint32`; top < 2^32)."""
    if top == 0:
        return 0
    mask = np.uint64(top)
    for shift in (1, 2, 4, 8, 16, 32):
        mask |= mask >> np.uint64(shift)
    value = next_uint32(state, spare) & mask
    while value > np.uint64(top):
        value = next_uint32(state, spare) & mask
    return np.int64(value)


@njit(cache=True)
def stream_permutation(state: np.ndarray, spare: np.ndarray, n: int) -> np.ndarray:
    """`Generator.permutation(n)`, the same draws: numpy's Fisher-Yates shuffle of
    0..n-1 from the last place down, each swapped with a place drawn by
    `stream_interval`."""
    out = np.arange(n)
    for i in range(n - 1, 0, -1):
        j = stream_interval(state, spare, i)
        out[i], out[j] = out[j], out[i]
    return out


@njit(cache=True)
def box_sum_counts(a: np.ndarray, r: int) -> np.ndarray:
    """Moore-neighbourhood sums of integer counts (ODD §7.16 fields, §7.4 dealers' rivals).

    Separable: sums along x, then along y, over a window of 2r+1 cells clipped at
    the town's edge (no wrap), each a running sum that adds the cell entering the
    window and drops the one leaving it, so the cost does not grow with r. Integer
    sums are exact, so any order gives the same.
    """
    w, h = a.shape
    rows = np.zeros((w, h), dtype=np.int64)
    for y in range(h):
        s = 0
        for k in range(min(r, w - 1) + 1):
            s += a[k, y]
        for x in range(w):
            rows[x, y] = s
            if x + r + 1 < w:
                s += a[x + r + 1, y]
            if x - r >= 0:
                s -= a[x - r, y]
    out = np.empty((w, h))
    for x in range(w):
        s = 0
        for k in range(min(r, h - 1) + 1):
            s += rows[x, k]
        for y in range(h):
            out[x, y] = s
            if y + r + 1 < h:
                s += rows[x, y + r + 1]
            if y - r >= 0:
                s -= rows[x, y - r]
    return out


@njit(cache=True)
def box_sum_floats(a: np.ndarray, r: int) -> np.ndarray:
    """Moore-neighbourhood sums of a float layer by a summed-area table (ODD §7.3, §7.16).

    The same operations, in the same order, as numpy's cumsum over a zero-padded
    copy: cumulative sums down x, then along y, then the four-corner difference
    ((A - B) - C) + D, so the floats are identical to the numpy version.
    """
    w, h = a.shape
    n = 2 * r + 1
    c = np.zeros((w + n, h + n))
    for x in range(w):
        for y in range(h):
            c[r + 1 + x, r + 1 + y] = a[x, y]
    for x in range(1, w + n):
        for y in range(h + n):
            c[x, y] += c[x - 1, y]
    for x in range(w + n):
        for y in range(1, h + n):
            c[x, y] += c[x, y - 1]
    out = np.empty((w, h))
    for x in range(w):
        for y in range(h):
            out[x, y] = c[x + n, y + n] - c[x, y + n] - c[x + n, y] + c[x, y]
    return out


@njit(cache=True)
def people_near(
    state: np.ndarray, home: np.ndarray, in_state: int, width: int, height: int, r: int
) -> np.ndarray:
    """People in one state by home cell, summed over the (2r+1)-cell square around each
    cell (ODD §7.4: the buyers a pitch can draw on); whole counts, exact in any order."""
    counts = np.zeros((width, height), dtype=np.int64)
    by_cell = counts.reshape(width * height)  # cell x * height + y: no division a person
    for i in range(state.size):
        if state[i] == in_state:
            by_cell[home[i]] += 1
    return box_sum_counts(counts, r)


@njit(cache=True)
def open_market_choice(
    hx: np.ndarray,
    hy: np.ndarray,
    ox: np.ndarray,
    oy: np.ndarray,
    pull: np.ndarray,
    kernel: np.ndarray,
    draw: np.ndarray,
    near: np.ndarray,
    height: int,
    reach: int,
) -> np.ndarray:
    """Each buyer's open-market pitch, drawn in proportion to attraction (ODD §7.6 buying).

    For buyer i, pitch j in `near` weighs travel(|dx|, |dy|) x pull[j]; the buyer
    takes the first pitch whose cumulative weight reaches draw[i] x total (an
    inverse-CDF draw), or -1 when nothing in reach weighs anything. Returns indices
    into the open pitches (`near` holds the candidates, in order).

    The travel kernel is zero more than `reach` cells away along x, and adding a
    zero weight changes no sum, so each buyer sums only the pitches within reach
    along x, in the order of `near`: the total is that of the full sum, and the
    first pitch whose cumulative weight reaches the target (where a weight rises)
    is among them.
    """
    nb, m = hx.size, near.size
    out = np.full(nb, -1, dtype=np.int64)
    if nb == 0:
        return out
    flat_kernel = kernel.ravel()
    # For each home column of these buyers, the pitches within reach along x, in the
    # order of `near`: their positions there, y, pull, and the travel kernel's offset
    # for their distance along x (laid out side by side, for the loop over buyers).
    x0 = hx.min()
    columns = hx.max() - x0 + 1
    in_reach = np.empty((columns, m), dtype=np.int64)
    pitch_y = np.empty((columns, m), dtype=np.int64)
    pitch_pull = np.empty((columns, m))
    x_offset = np.empty((columns, m), dtype=np.int64)
    n_in_reach = np.zeros(columns, dtype=np.int64)
    for c in range(columns):
        for k in range(m):
            j = near[k]
            dx = abs(x0 + c - ox[j])
            if dx <= reach:
                a = n_in_reach[c]
                in_reach[c, a], pitch_y[c, a], pitch_pull[c, a] = k, oy[j], pull[j]
                x_offset[c, a] = dx * height
                n_in_reach[c] += 1
    cum = np.empty(m)
    for i in range(nb):
        c, y = hx[i] - x0, hy[i]
        n = n_in_reach[c]
        total = 0.0
        for a in range(n):
            total += flat_kernel[x_offset[c, a] + abs(y - pitch_y[c, a])] * pitch_pull[c, a]
            cum[a] = total
        if total > 0:
            # Weights are never negative, so the cumulative weight never falls: a
            # binary search finds the first pitch that reaches the target (the first
            # of all when the target is zero; the last when rounding leaves it short).
            target = draw[i] * total
            idx = 0
            if target > 0:
                lo, hi = 0, n
                while lo < hi:
                    mid = (lo + hi) // 2
                    if cum[mid] < target:
                        lo = mid + 1
                    else:
                        hi = mid
                idx = in_reach[c, lo] if lo < n else m - 1
            out[i] = near[idx]
    return out


@njit(cache=True)
def contacts_held(
    contacts: np.ndarray, state: np.ndarray, active: int, n_dealers: int
) -> np.ndarray:
    """How many active users hold each dealer's number (ODD §7.4-7.5: a dealer's own
    customers follow it, and let it go closed). Slots hold dealer rows, -1 when empty;
    whole counts, exact in any order.
    """
    out = np.zeros(n_dealers, dtype=np.int64)
    for r in range(state.size):
        if state[r] == active:
            for j in range(contacts.shape[1]):
                dealer = contacts[r, j]
                if 0 <= dealer < n_dealers:
                    out[dealer] += 1
    return out


@njit(cache=True)
def crewmates_near(x: np.ndarray, y: np.ndarray, crew: np.ndarray) -> np.ndarray:
    """For each crew member, same-crew dealers within one cell, oneself excluded (ODD §7.10).

    Crews do not fight themselves, so crewmates nearby are not rivals in turf
    disputes. Members are sorted by crew, so each looks only at its own crew.
    """
    n = crew.size
    out = np.zeros(n)
    order = np.argsort(crew, kind="mergesort")
    start = 0
    while start < n:
        c = crew[order[start]]
        end = start
        while end < n and crew[order[end]] == c:
            end += 1
        for a in range(start, end):
            i = order[a]
            count = 0
            for b in range(start, end):
                j = order[b]
                if abs(x[i] - x[j]) <= 1 and abs(y[i] - y[j]) <= 1:
                    count += 1
            out[i] = count - 1
        start = end
    return out


# Parameters of kernels.dispute_pressure, by index.
DP_TURF_RATE, DP_CLOSED_TURF, DP_VOID_BOOST, DP_DEBT_RATE, DP_DEBT_CAPITAL = range(5)
N_DISPUTE_PARAMS = 5


@njit(cache=True)
def rows_where(values: np.ndarray, value: int) -> np.ndarray:
    """The rows whose value is `value`, in row order: numpy's nonzero of values == value
    (`Dealers.active` for the dealers' states and the active code)."""
    n = 0
    for r in range(values.size):
        if values[r] == value:
            n += 1
    rows = np.empty(n, dtype=np.int64)
    n = 0
    for r in range(values.size):
        if values[r] == value:
            rows[n] = r
            n += 1
    return rows


@njit(cache=True)
def violence_pressure(
    d_state: np.ndarray,
    d_active: int,
    d_cell: np.ndarray,
    d_open: np.ndarray,
    d_crew: np.ndarray,
    d_violence: np.ndarray,
    d_debt: np.ndarray,
    d_deterrent: np.ndarray,
    void: np.ndarray,
    cell_x: np.ndarray,
    cell_y: np.ndarray,
    height: int,
    pr: np.ndarray,
) -> tuple:
    """The active dealers (`rows_where`) and their dispute hazards before deterrence
    (`dispute_pressure`, ODD §7.10 violence). Returns the active rows, then
    `dispute_pressure`'s cells, turf + debt and minus the deterrent."""
    act = rows_where(d_state, d_active)
    cells, pressure, neg_deterrent = dispute_pressure(
        act, d_cell, d_open, d_crew, d_violence, d_debt, d_deterrent, void, cell_x, cell_y,
        height, pr,
    )  # fmt: skip
    return act, cells, pressure, neg_deterrent


@njit(cache=True)
def dispute_pressure(
    act: np.ndarray,
    d_cell: np.ndarray,
    d_open: np.ndarray,
    d_crew: np.ndarray,
    d_violence: np.ndarray,
    d_debt: np.ndarray,
    d_deterrent: np.ndarray,
    void: np.ndarray,
    cell_x: np.ndarray,
    cell_y: np.ndarray,
    height: int,
    pr: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Active dealers' turf and debt dispute hazards before deterrence (ODD §7.10 violence).

    For active dealer `act[i]`: rivals are the active dealers within one cell (oneself
    and same-crew dealers, `crewmates_near`, excluded; none below zero); turf = rate x
    violence trait x rivals x (1 + void boost x void layer) x (1 open, pr[DP_CLOSED_TURF]
    closed); debt = rate x violence trait x debt / (debt + working capital). Returns the
    dealers' cells, turf + debt, and minus their deterrent: the phase takes the
    exponentials (`exp` stays in numpy). Counts are whole numbers, exact in any order,
    and the rest is multiplied in the numpy code's order.
    """
    n = act.size
    width = cell_x.size // height
    counts = np.zeros(cell_x.size, dtype=np.int64)
    cells = np.empty(n, dtype=np.int64)
    n_members = 0
    for i in range(n):
        cells[i] = d_cell[act[i]]
        counts[cells[i]] += 1
        n_members += d_crew[act[i]] >= 0
    crewmates = np.zeros(n)
    if n_members >= 2:
        members = np.empty(n_members, dtype=np.int64)
        m = 0
        for i in range(n):
            if d_crew[act[i]] >= 0:
                members[m] = i
                m += 1
        mc = cells[members]
        crewmates[members] = crewmates_near(cell_x[mc], cell_y[mc], d_crew[act[members]])
    pressure = np.empty(n)
    neg_deterrent = np.empty(n)
    for i in range(n):
        r, c = act[i], cells[i]
        x, y = cell_x[c], cell_y[c]
        near = 0
        for xx in range(max(0, x - 1), min(width, x + 2)):
            for yy in range(max(0, y - 1), min(height, y + 2)):
                near += counts[xx * height + yy]
        rivals = max(0.0, float(near) - 1.0 - crewmates[i])
        mode = 1.0 if d_open[r] else pr[DP_CLOSED_TURF]
        turf = pr[DP_TURF_RATE] * d_violence[r] * rivals * (1.0 + pr[DP_VOID_BOOST] * void[c])
        turf = turf * mode
        owed = d_debt[r]
        debt = pr[DP_DEBT_RATE] * d_violence[r] * owed / (owed + pr[DP_DEBT_CAPITAL])
        pressure[i] = turf + debt
        neg_deterrent[i] = -d_deterrent[r]
    return cells, pressure, neg_deterrent


@njit(cache=True)
def share_debt(
    crew: np.ndarray, state: np.ndarray, active: int, r: int, value: float, debt: np.ndarray
) -> bool:
    """A seizure's debt carried by the crew (ODD §7.10 debt disputes; N8 PRP 2024), in
    place: the active members (state == active) of row r's crew other than r each take
    value / their number; False when there are none (the dealer keeps the debt). `crew`
    and `state` hold the live rows; crew[r] >= 0."""
    c = crew[r]
    n = 0
    for m in range(crew.size):
        if crew[m] == c and state[m] == active and m != r:
            n += 1
    if n == 0:
        return False
    share = value / n
    for m in range(crew.size):
        if crew[m] == c and state[m] == active and m != r:
            debt[m] += share
    return True


@njit(cache=True)
def crew_members(
    crew: np.ndarray, state: np.ndarray, crews: np.ndarray, states: np.ndarray
) -> np.ndarray:
    """Dealer rows belonging to any of `crews` and in any of `states`, in row order
    (ODD §7.18: tactics that name crews, such as targeted deterrence). Crew -1 is no
    crew, and ids no dealer has are ignored."""
    top = -1
    for r in range(crew.size):
        top = max(top, crew[r])
    chosen = np.zeros(top + 1, dtype=np.bool_)  # a lookup table over crew ids
    for c in crews:
        if 0 <= c <= top:
            chosen[c] = True
    out = np.empty(crew.size, dtype=np.int64)
    n = 0
    for r in range(crew.size):
        if crew[r] >= 0 and chosen[crew[r]]:
            for s in states:
                if state[r] == s:
                    out[n] = r
                    n += 1
                    break
    return out[:n]


@njit(cache=True)
def covering_unit(
    x: np.ndarray, y: np.ndarray, cell_unit: np.ndarray, width: int, height: int
) -> np.ndarray:
    """For each cell, a police unit on it, else on a neighbouring cell, else -1 (ODD §7.11).

    The unit that sees dealing makes the arrest; neighbours are tried in a fixed
    order (west column first, then the same column, then east).
    """
    n = x.size
    out = np.empty(n, dtype=np.int64)
    for i in range(n):
        found = cell_unit[x[i] * height + y[i]]
        if found < 0:
            for dx in (-1, 0, 1):
                for dy in (-1, 0, 1):
                    if found >= 0 or (dx == 0 and dy == 0):
                        continue
                    nx, ny = x[i] + dx, y[i] + dy
                    if 0 <= nx < width and 0 <= ny < height:
                        found = cell_unit[nx * height + ny]
        out[i] = found
    return out


# Indices into buy_terms' parameter array (the trade phase fills it).
BUY_DEP, BUY_REC, BUY_TREATED, BUY_SEARCH_COST, BUY_E_DEP, BUY_E_REC, BUY_BASE_PRICE = range(7)
N_BUY_PARAMS = 7


@njit(cache=True)
def buy_terms(
    state: np.ndarray,
    active_code: int,
    cash: np.ndarray,
    income: np.ndarray,
    treatment: np.ndarray,
    in_treatment: int,
    dependent: np.ndarray,
    search: np.ndarray,
    d_state: np.ndarray,
    d_active: int,
    d_price: np.ndarray,
    pr: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Who may buy today, and the terms of their chance to (ODD §7.6, who buys).

    Every active user (state == active_code) receives their income into cash, in
    place. Returns the active rows; each one's base chance to buy (pr[BUY_DEP] or
    pr[BUY_REC] by dependence, times pr[BUY_TREATED] in treatment); its full price
    (the price level x (1 + search cost x search share), Moore 1973); and its price
    elasticity. The price level is today's money price relative to the base price
    (pr[BUY_BASE_PRICE]): active dealers' (d_state == d_active) mean price, as
    numpy's mean takes it, or 1 with no active dealer. The phase raises the full price
    to the elasticity in numpy (powers stay in numpy, module docstring). The same
    operations as the numpy code it replaced.
    """
    prices = np.empty(d_state.size)
    n_sellers = 0
    for r in range(d_state.size):
        if d_state[r] == d_active:
            prices[n_sellers] = d_price[r]
            n_sellers += 1
    price_level = 1.0
    if n_sellers:
        price_level = numpy_sum(prices, 0, n_sellers) / n_sellers / pr[BUY_BASE_PRICE]
    n = 0
    for r in range(state.size):
        if state[r] == active_code:
            n += 1
    active = np.empty(n, dtype=np.int64)
    base = np.empty(n)
    full = np.empty(n)
    elasticity = np.empty(n)
    i = 0
    for r in range(state.size):
        if state[r] != active_code:
            continue
        active[i] = r
        cash[r] += income[r]
        p = pr[BUY_DEP] if dependent[r] else pr[BUY_REC]
        base[i] = p * (pr[BUY_TREATED] if treatment[r] == in_treatment else 1.0)
        full[i] = price_level * (1.0 + pr[BUY_SEARCH_COST] * search[r])
        elasticity[i] = pr[BUY_E_DEP] if dependent[r] else pr[BUY_E_REC]
        i += 1
    return active, base, full, elasticity


# Parameters of kernels.pitch_attraction, by index.
PA_CENTRE_DRAW, PA_REPUTATION_PULL, PA_BASE_PRICE, PA_VIOLENCE_AVOIDANCE = range(4)
N_ATTRACTION_PARAMS = 4


@njit(cache=True)
def pitch_attraction(
    cells: np.ndarray,
    price: np.ndarray,
    is_centre: np.ndarray,
    reputation: np.ndarray,
    deterrence: np.ndarray,
    violence_near: np.ndarray,
    pr: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """What draws buyers to each open pitch (ODD §7.6 buying), bar the exponential.

    For the pitch at `cells[j]` selling at `price[j]`: (1 + centre draw in the centre)
    x (1 + pull x reputation) x (base price / price)^2, and the exponent
    -2 x residual deterrence - avoidance x violence known nearby. The phase takes the
    exponential (`exp` stays in numpy) and multiplies, as the numpy code did.
    """
    n = cells.size
    base = np.empty(n)
    exponent = np.empty(n)
    for j in range(n):
        c = cells[j]
        centre = 1.0 + pr[PA_CENTRE_DRAW] * (1.0 if is_centre[c] else 0.0)
        cheap = pr[PA_BASE_PRICE] / price[j]
        base[j] = centre * (1.0 + pr[PA_REPUTATION_PULL] * reputation[c]) * (cheap * cheap)
        exponent[j] = -2.0 * deterrence[c] - pr[PA_VIOLENCE_AVOIDANCE] * violence_near[c]
    return base, exponent


@njit(cache=True)
def contact_choice(
    buyers: np.ndarray,
    u_contacts: np.ndarray,
    dealer_ok: np.ndarray,
    contact_use: np.ndarray,
    draws: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Contacts first (ODD §7.6): a buyer holding a working number (users' `u_contacts`)
    calls it with its probability `contact_use`, a random working contact (the first
    highest of a uniform score per slot, working ones only). `draws` holds the market
    stream's uniforms in the order the numpy code drew them: one per buyer (the call,
    with a contact or not), then one per buyer and slot, row by row. Returns the seller
    row of each buyer who calls (-1 for the rest), whether it calls, whether it holds a
    working number, and the contact it would call.
    """
    nb, k = buyers.size, u_contacts.shape[1]
    seller = np.full(nb, -1, dtype=np.int64)
    has_contact = np.zeros(nb, dtype=np.bool_)
    call = np.zeros(nb, dtype=np.bool_)
    pick = np.empty(nb, dtype=np.int64)
    for i in range(nb):
        for j in range(k):
            if dealer_ok[u_contacts[buyers[i], j]]:
                has_contact[i] = True
        call[i] = has_contact[i] and draws[i] < contact_use[i]
    for i in range(nb):  # the first highest score among working contacts (argmax)
        best, best_j = -2.0, 0
        for j in range(k):
            score = draws[nb + i * k + j]
            if not dealer_ok[u_contacts[buyers[i], j]]:
                score = -1.0
            if score > best:
                best, best_j = score, j
        pick[i] = u_contacts[buyers[i], best_j]
        if call[i]:
            seller[i] = pick[i]
    return seller, call, has_contact, pick


@njit(cache=True)
def street_choice(
    hx: np.ndarray,
    hy: np.ndarray,
    ox: np.ndarray,
    oy: np.ndarray,
    pull: np.ndarray,
    travel: np.ndarray,
    reach: int,
    tile: int,
    draws: np.ndarray,
    width: int,
    height: int,
) -> np.ndarray:
    """The open market (ODD §7.6): each searching buyer, at home (hx, hy), draws an open
    pitch by attraction (`open_market_choice`, its uniform in `draws`), tile by tile in
    large towns so each buyer weighs only the pitches within reach. Returns indices
    into the open pitches, -1 where nothing in reach weighs anything."""
    n_search = hx.size
    chosen = np.full(n_search, -1, dtype=np.int64)
    if width <= tile and height <= tile:
        tile_of = np.zeros(n_search, dtype=np.int64)
    else:
        tile_of = (hx // tile) * (height // tile + 1) + hy // tile
    for t in np.unique(tile_of):
        who = np.flatnonzero(tile_of == t)
        x0, x1 = hx[who].min() - reach, hx[who].max() + reach
        y0, y1 = hy[who].min() - reach, hy[who].max() + reach
        near = np.flatnonzero((ox >= x0) & (ox <= x1) & (oy >= y0) & (oy <= y1))
        if near.size:
            chosen[who] = open_market_choice(
                hx[who], hy[who], ox, oy, pull, travel, draws[who], near, height, reach
            )
    return chosen


@njit(cache=True)
def street_outcome(
    seller: np.ndarray,
    via_open: np.ndarray,
    search: np.ndarray,
    chosen: np.ndarray,
    open_rows: np.ndarray,
    stay: np.ndarray,
    draws: np.ndarray,
    call: np.ndarray,
    has_contact: np.ndarray,
    pick: np.ndarray,
) -> None:
    """Who buys on the street, in place (ODD §7.6): police on the pitch on arrival put
    a searching buyer off with probability 1 - stay[pitch] (one uniform in `draws` per
    buyer who found a pitch, in order); a buyer the street failed falls back on the
    contact it holds."""
    a = 0
    for i in range(chosen.size):
        if chosen[i] >= 0:
            if not draws[a] >= stay[chosen[i]]:
                seller[search[i]] = open_rows[chosen[i]]
                via_open[search[i]] = True
            a += 1
    for i in range(seller.size):
        if seller[i] < 0 and has_contact[i] and not call[i]:
            seller[i] = pick[i]


@njit(cache=True)
def over_capacity(seller: np.ndarray, served: np.ndarray, capacity: int) -> np.ndarray:
    """Buyers a seller cannot serve today (ODD §7.6): each serves its first `capacity`.

    `served` lists the buyers who found a seller in a random order (one permutation
    from the market stream, drawn by the trade phase); each seller serves them in
    that order. Returns the buyers turned away, by seller, then in that order (a
    stable counting sort: the order the numpy code's stable argsort by seller gave).
    """
    n_sellers = 0
    for p in range(served.size):
        n_sellers = max(n_sellers, seller[served[p]] + 1)
    taken = np.zeros(n_sellers, dtype=np.int64)
    start = np.zeros(n_sellers + 1, dtype=np.int64)  # turned away per seller, then offsets
    turned_away = np.zeros(served.size, dtype=np.bool_)
    for p in range(served.size):
        s = seller[served[p]]
        if taken[s] >= capacity:
            turned_away[p] = True
            start[s + 1] += 1
        taken[s] += 1
    for s in range(n_sellers):
        start[s + 1] += start[s]
    over = np.empty(start[n_sellers], dtype=np.int64)
    for p in range(served.size):
        if turned_away[p]:
            s = seller[served[p]]
            over[start[s]] = served[p]
            start[s] += 1
    return over


@njit(cache=True)
def remember_search(
    search: np.ndarray,
    buyers: np.ndarray,
    seller: np.ndarray,
    via_open: np.ndarray,
    home: np.ndarray,
    pitch: np.ndarray,
    cell_x: np.ndarray,
    cell_y: np.ndarray,
    distance: np.ndarray,
    radius: float,
) -> None:
    """Buyers' memory of how long their searches take (ODD §7.6, Moore 1973), in place.

    Today's cost: nothing for a call, for a street purchase the trip (`distance` by
    |dx|, |dy| offset, computed in numpy) as a share of the search radius (at most 1),
    1 for a failure; `search` keeps 0.9 of its old value and 0.1 of today's, for each
    buyer (row `buyers[i]`, seller row `seller[i]`).
    """
    for i in range(buyers.size):
        b = buyers[i]
        cost = 0.0
        if seller[i] < 0:
            cost = 1.0
        elif via_open[i]:
            h, p = home[b], pitch[seller[i]]
            trip = distance[abs(cell_x[h] - cell_x[p]), abs(cell_y[h] - cell_y[p])]
            cost = min(1.0, trip / radius)
        search[b] = 0.9 * search[b] + 0.1 * cost


@njit(cache=True)
def buyers_today(
    active: np.ndarray,
    p_buy: np.ndarray,
    response: np.ndarray,
    draws: np.ndarray,
    d_state: np.ndarray,
    d_active: int,
    d_open: np.ndarray,
    u_home: np.ndarray,
    u_search: np.ndarray,
    use_prob: float,
) -> tuple:
    """Who buys today, and what the choice of sellers starts from (ODD §7.6).

    Active user `active[i]` buys when its uniform `draws[i]` (the market stream's, drawn
    by the phase) falls below its chance `p_buy[i]` times the demand response
    `response[i]`. Returns the buyers, their homes, which dealer rows can be called
    (active; one more slot, False, pads a contact of -1), the active open dealers' rows,
    and each buyer's chance to call a number held when the street is not a worry:
    `use_prob`, rising to 1 with the share of its recent searches that failed.
    """
    n = 0
    for i in range(active.size):
        if draws[i] < p_buy[i] * response[i]:
            n += 1
    buyers = np.empty(n, dtype=np.int64)
    homes = np.empty(n, dtype=np.int64)
    street = np.empty(n)
    j = 0
    for i in range(active.size):
        if draws[i] < p_buy[i] * response[i]:
            b = active[i]
            buyers[j], homes[j] = b, u_home[b]
            street[j] = use_prob + (1.0 - use_prob) * u_search[b]
            j += 1
    dealer_ok = np.zeros(d_state.size + 1, dtype=np.bool_)
    n_open = 0
    for r in range(d_state.size):
        dealer_ok[r] = d_state[r] == d_active
        if dealer_ok[r] and d_open[r]:
            n_open += 1
    open_rows = np.empty(n_open, dtype=np.int64)
    j = 0
    for r in range(d_state.size):
        if dealer_ok[r] and d_open[r]:
            open_rows[j] = r
            j += 1
    return buyers, homes, dealer_ok, open_rows, street


@njit(cache=True)
def contact_calls(
    buyers: np.ndarray,
    homes: np.ndarray,
    u_contacts: np.ndarray,
    dealer_ok: np.ndarray,
    contact_use: np.ndarray,
    draws: np.ndarray,
    cell_x: np.ndarray,
    cell_y: np.ndarray,
) -> tuple:
    """`contact_choice` (ODD §7.6, contacts first), and who searches the street instead:
    the buyers who do not call, and their homes' x and y. Returns the seller row of each
    buyer who calls (-1 for the rest), whether it calls, holds a working number and the
    contact it would call, whether it bought on the street (none yet), and the searchers
    (indices into `buyers`) with their homes' x and y."""
    seller, call, has_contact, pick = contact_choice(
        buyers, u_contacts, dealer_ok, contact_use, draws
    )
    n = 0
    for i in range(call.size):
        if not call[i]:
            n += 1
    search = np.empty(n, dtype=np.int64)
    hx = np.empty(n, dtype=cell_x.dtype)
    hy = np.empty(n, dtype=cell_y.dtype)
    j = 0
    for i in range(call.size):
        if not call[i]:
            search[j], hx[j], hy[j] = i, cell_x[homes[i]], cell_y[homes[i]]
            j += 1
    via_open = np.zeros(buyers.size, dtype=np.bool_)
    return seller, call, has_contact, pick, via_open, search, hx, hy


@njit(cache=True)
def buyers_and_calls(
    state: np.ndarray,
    active: np.ndarray,
    p_buy: np.ndarray,
    response: np.ndarray,
    d_state: np.ndarray,
    d_active: int,
    d_open: np.ndarray,
    u_home: np.ndarray,
    u_search: np.ndarray,
    use_prob: float,
    keep: np.ndarray,
    u_contacts: np.ndarray,
    cell_x: np.ndarray,
    cell_y: np.ndarray,
) -> tuple:
    """Who buys today and who calls a number (ODD §7.6), drawing from the market
    stream's state: a uniform per active user (`buyers_today`), then, per buyer, one
    for the call and one per contact slot (`contact_calls`). A buyer's chance to call is
    its chance when the street is no worry, or, with wary buyers (`keep` per home cell:
    the share of it the street's risk leaves, empty when buyers are not wary),
    1 - (1 - that chance) x keep. Returns `buyers_today`'s buyers, homes and open
    dealers, then `contact_calls`' results."""
    draws = np.empty(active.size)
    for i in range(active.size):
        draws[i] = next_double(state)
    buyers, homes, dealer_ok, open_rows, use = buyers_today(
        active, p_buy, response, draws, d_state, d_active, d_open, u_home, u_search, use_prob
    )
    if keep.size:
        for i in range(use.size):
            use[i] = 1.0 - (1.0 - use[i]) * keep[homes[i]]
    scores = np.empty(buyers.size * (u_contacts.shape[1] + 1))
    for i in range(scores.size):
        scores[i] = next_double(state)
    calls = contact_calls(buyers, homes, u_contacts, dealer_ok, use, scores, cell_x, cell_y)
    return (buyers, homes, open_rows, *calls)


@njit(cache=True)
def served_buyers(
    seller: np.ndarray,
    via_open: np.ndarray,
    search: np.ndarray,
    chosen: np.ndarray,
    open_rows: np.ndarray,
    stay: np.ndarray,
    draws: np.ndarray,
    call: np.ndarray,
    has_contact: np.ndarray,
    pick: np.ndarray,
    homes: np.ndarray,
    tally: np.ndarray,
    unmet_row: int,
) -> np.ndarray:
    """`street_outcome` (ODD §7.6, who buys on the street), then the buyers left
    without a seller counted as unmet demand at home (tally row `unmet_row`, whole
    numbers: exact in any order). Returns the buyers with a seller (indices, in order)."""
    street_outcome(
        seller, via_open, search, chosen, open_rows, stay, draws, call, has_contact, pick
    )
    n = 0
    for i in range(seller.size):
        if seller[i] < 0:
            tally[unmet_row, homes[i]] += 1.0
        else:
            n += 1
    served = np.empty(n, dtype=np.int64)
    j = 0
    for i in range(seller.size):
        if seller[i] >= 0:
            served[j] = i
            j += 1
    return served


@njit(cache=True)
def street_market(
    state: np.ndarray,
    spare: np.ndarray,
    hx: np.ndarray,
    hy: np.ndarray,
    ox: np.ndarray,
    oy: np.ndarray,
    pull: np.ndarray,
    travel: np.ndarray,
    reach: int,
    tile: int,
    width: int,
    height: int,
    seller: np.ndarray,
    via_open: np.ndarray,
    search: np.ndarray,
    open_rows: np.ndarray,
    stay: np.ndarray,
    call: np.ndarray,
    has_contact: np.ndarray,
    pick: np.ndarray,
    homes: np.ndarray,
    tally: np.ndarray,
    unmet_row: int,
) -> np.ndarray:
    """The open market and its outcome (ODD §7.6), drawing from the market stream's
    state: with searchers and open pitches, a uniform per searcher for its pitch
    (`street_choice`), then one per buyer who found a pitch for police putting it off
    (`stay`); then `served_buyers` (the street's outcome, a contact as fallback, unmet
    demand at home). Returns the buyers with a seller (indices, in order)."""
    chosen = search[:0]
    put_off = np.empty(0)
    if search.size and open_rows.size:
        draws = np.empty(search.size)
        for i in range(search.size):
            draws[i] = next_double(state)
        chosen = street_choice(hx, hy, ox, oy, pull, travel, reach, tile, draws, width, height)
        n = 0
        for i in range(chosen.size):
            if chosen[i] >= 0:
                n += 1
        put_off = np.empty(n)
        for i in range(n):
            put_off[i] = next_double(state)
    return served_buyers(
        seller, via_open, search, chosen, open_rows, stay, put_off, call, has_contact, pick,
        homes, tally, unmet_row,
    )  # fmt: skip


@njit(cache=True)
def serve(
    state: np.ndarray,
    spare: np.ndarray,
    seller: np.ndarray,
    served: np.ndarray,
    capacity: int,
    d_cell: np.ndarray,
    tally: np.ndarray,
    unmet_row: int,
    u_search: np.ndarray,
    buyers: np.ndarray,
    via_open: np.ndarray,
    home: np.ndarray,
    cell_x: np.ndarray,
    cell_y: np.ndarray,
    distance: np.ndarray,
    radius: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Dealer capacity, then buyers' memory of their searches (ODD §7.6), in place: the
    buyers with a seller (`served`) are shuffled (`stream_permutation`, from the market
    stream's state); those a seller cannot serve (`over_capacity`) count as unmet demand
    at the pitch (tally row `unmet_row`, whole numbers) and go without; then
    `remember_search` for every buyer. Returns who
    word of mouth starts from (`trade.refer`): the sellers of today's phone purchases
    and the buyers who went without, in buyer order."""
    over = over_capacity(seller, served[stream_permutation(state, spare, served.size)], capacity)
    for p in range(over.size):
        tally[unmet_row, d_cell[seller[over[p]]]] += 1.0
    for p in range(over.size):
        seller[over[p]] = -1
    remember_search(
        u_search, buyers, seller, via_open, home, d_cell, cell_x, cell_y, distance, radius
    )
    n_phoned = n_failed = 0
    for i in range(seller.size):
        if seller[i] < 0:
            n_failed += 1
        elif not via_open[i]:
            n_phoned += 1
    phoned = np.empty(n_phoned, dtype=np.int64)
    failed = np.empty(n_failed, dtype=np.int64)
    n_phoned = n_failed = 0
    for i in range(seller.size):
        if seller[i] < 0:
            failed[n_failed] = buyers[i]
            n_failed += 1
        elif not via_open[i]:
            phoned[n_phoned] = seller[i]
            n_phoned += 1
    return phoned, failed


@njit(cache=True)
def presence_day(
    visible: np.ndarray,
    presence: np.ndarray,
    deterrence: np.ndarray,
    keep: float,
    gain: float,
    saturation: float,
) -> np.ndarray:
    """Today's police presence and residual deterrence layers, in place (ODD §7.3;
    Sherman 1990, Koper 1995): the presence layer takes today's uniformed officer-hours
    (`visible`, flat); deterrence fades (x keep) and rises by gain x those hours (up to
    `saturation`), at most 1, minimum as numpy takes it. Returns the officer-hours
    within one cell of each cell, the box sum as `fields.box_sum` takes it."""
    width, height = presence.shape
    for x in range(width):
        for y in range(height):
            v = visible[x * height + y]
            presence[x, y] = v
            seen = v if (v <= saturation or v != v) else saturation
            level = deterrence[x, y] * keep + gain * seen
            deterrence[x, y] = level if (level <= 1.0 or level != level) else 1.0
    return box_sum_floats(visible.reshape((width, height)), 1).ravel()


@njit(cache=True)
def deploy_day(
    visible: np.ndarray,
    presence: np.ndarray,
    deterrence: np.ndarray,
    keep: float,
    gain: float,
    saturation: float,
    officer_days: np.ndarray,
    tally: np.ndarray,
    tally_row: int,
    ledger: np.ndarray,
    touched: np.ndarray,
    ledger_row: int,
) -> np.ndarray:
    """The deploy phase after the beats (ODD §7.3): `presence_day`, then today's
    officer-days per cell set as the tally's row `tally_row` (its one writer) and added
    to the harm ledger's row `ledger_row` (a (type x cause) row of `ledger`, marked in
    `touched`). Returns `presence_day`'s officer-hours within one cell of each cell."""
    near = presence_day(visible, presence, deterrence, keep, gain, saturation)
    touched[ledger_row] = True
    for c in range(officer_days.size):
        tally[tally_row, c] = officer_days[c]
        ledger[ledger_row, c] += officer_days[c]
    return near


@njit(cache=True)
def _after(cdf: np.ndarray, value: float) -> int:
    """numpy's `searchsorted(cdf, value, side="right")`: the count of entries <= value."""
    lo, hi = 0, cdf.size
    while lo < hi:
        mid = (lo + hi) // 2
        if not value < cdf[mid]:
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit(cache=True)
def cumulative(weights: np.ndarray) -> np.ndarray:
    """numpy's `cumsum`: running sums in order."""
    out = np.empty(weights.size)
    total = 0.0
    for i in range(weights.size):
        total += weights[i]
        out[i] = total
    return out


@njit(cache=True)
def weighted_indices(p: np.ndarray, draws: np.ndarray) -> np.ndarray:
    """Indices drawn with probabilities `p` from uniform `draws` (rng.weighted_choice:
    where newcomers settle, ODD §7.13-7.14): the inverse-CDF draws of numpy's
    `Generator.choice`, the cumulative sums over their last, searched from the right."""
    cdf = cumulative(p)
    last = cdf[cdf.size - 1]
    for i in range(cdf.size):
        cdf[i] /= last
    out = np.empty(draws.size, dtype=np.int64)
    for i in range(draws.size):
        out[i] = _after(cdf, draws[i])
    return out


@njit(cache=True)
def beat_cells(weights: np.ndarray, cells: np.ndarray, draws: np.ndarray) -> np.ndarray:
    """The cells police units visit, drawn by an order's weights (ODD §7.3 deployment):
    for uniform draws[u, v], the cell whose cumulative weight first exceeds draws[u, v] x
    the total (the last cell when rounding leaves none), as the numpy code drew them."""
    cdf = cumulative(weights)
    total = cdf[cdf.size - 1]
    n_units, per_unit = draws.shape
    out = np.empty((n_units, per_unit), dtype=np.int64)
    for u in range(n_units):
        for v in range(per_unit):
            out[u, v] = cells[min(_after(cdf, draws[u, v] * total), cells.size - 1)]
    return out


@njit(cache=True)
def walk_beats(
    beats: np.ndarray,
    units: np.ndarray,
    unit_hours: np.ndarray,
    visible: bool,
    attention: float,
    hours: np.ndarray,
    visible_hours: np.ndarray,
    officer_days: np.ndarray,
    cell_unit: np.ndarray,
    unit_cell: np.ndarray,
) -> None:
    """One order's units walk their beats (ODD §7.2 beats, §7.11 attention), in place.

    Unit `units[i]` spends unit_hours[units[i]] / k hours (k cells a beat) and 1/k
    officer-day in each cell of `beats[i]` (repeat visits count again), adding
    `attention` times its hours to `hours` (the hours spent looking for dealers:
    detection) and, for a uniformed order, all of them to `visible_hours`;
    `cell_unit[c]` becomes the last unit to visit c, and `unit_cell` holds each unit's
    first cell. Units and cells are visited in row order, as numpy's `add.at` and fancy
    assignment did.
    """
    n, k = beats.shape
    for i in range(n):
        h = unit_hours[units[i]] / k * attention
        for j in range(k):
            hours[beats[i, j]] += h
    if visible:
        for i in range(n):
            h = unit_hours[units[i]] / k
            for j in range(k):
                visible_hours[beats[i, j]] += h
    for i in range(n):
        for j in range(k):
            officer_days[beats[i, j]] += 1.0 / k
            cell_unit[beats[i, j]] = units[i]
        unit_cell[units[i]] = beats[i, 0]


@njit(cache=True)
def start_shift(
    n_cells: int,
    cell_unit: np.ndarray,
    arrests_today: np.ndarray,
    carry: np.ndarray,
    shift_hours: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The start of a day's deployment (ODD §7.2 police units, §7.11 custody processing):
    zeroed officer-hours, uniformed hours and officer-days per cell; no unit on any cell
    (`cell_unit` -1) and no arrest yet (`arrests_today` 0), in place; each unit's hours
    today, its shift less the processing hours carried from earlier arrests, and what is
    still carried after today, both at least 0 (as np.maximum(0.0, x) takes them, NaN
    kept). Returns the three per-cell arrays, the hours today and the carry."""
    hours = np.zeros(n_cells)
    visible = np.zeros(n_cells)
    officer_days = np.zeros(n_cells)
    for c in range(cell_unit.size):
        cell_unit[c] = -1
    n = carry.size
    hours_today = np.empty(n)
    left = np.empty(n)
    for u in range(n):
        arrests_today[u] = 0
        v = shift_hours - carry[u]
        hours_today[u] = 0.0 if v <= 0.0 else v
        w = carry[u] - shift_hours
        left[u] = 0.0 if w <= 0.0 else w
    return hours, visible, officer_days, hours_today, left


# Parameters of kernels.learn_risk and kernels.town_pitch_terms, by index.
LR_KEEP, LR_PRIOR_HOURS, LR_PRIOR_RATE, LR_PER_HOUR, LR_PER_ARREST, LR_CENTRE_DRAW = range(6)
N_RISK_PARAMS = 6


@njit(cache=True)
def learn_risk(
    hours_seen: np.ndarray,
    arrests_seen: np.ndarray,
    police_near: np.ndarray,
    arrests_near: np.ndarray,
    deterrence: np.ndarray,
    cells: np.ndarray,
    pr: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """What the market learns of each place's enforcement today, and the exponent of
    the risk signal dealers read at `cells` (ODD §7.3 perceived risk; Sherman 1990).

    In place: officer-hours and arrests seen fade by pr[LR_KEEP] and take in today's.
    Returns the credibility per cell (prior arrests per officer-hour updated by what
    was seen: (h0 r0 + arrests seen) / (r0 (h0 + hours seen)), `dealers.arrest_credibility`)
    and, per dealer cell, -(credibility x presence + risk per arrest x arrests nearby),
    presence being risk per police hour x officer-hours within one cell + residual
    deterrence (`dealers.presence`). The phase takes the exponential (`exp` stays in
    numpy). The numpy code's operations, in its order.
    """
    keep, h0, r0 = pr[LR_KEEP], pr[LR_PRIOR_HOURS], pr[LR_PRIOR_RATE]
    prior = h0 * r0
    credibility = np.empty(hours_seen.size)
    for x in range(hours_seen.size):
        hours_seen[x] = hours_seen[x] * keep + police_near[x]
        arrests_seen[x] = arrests_seen[x] * keep + arrests_near[x]
        credibility[x] = (prior + arrests_seen[x]) / (r0 * (h0 + hours_seen[x]))
    exponent = np.empty(cells.size)
    for i in range(cells.size):
        c = cells[i]
        seen = pr[LR_PER_HOUR] * police_near[c] + deterrence[c]
        exponent[i] = -(credibility[c] * seen + pr[LR_PER_ARREST] * arrests_near[c])
    return credibility, exponent


@njit(cache=True)
def blend_risk(act: np.ndarray, risk: np.ndarray, fading: np.ndarray, rate: float) -> None:
    """Perceived risk, a moving average, in place (ODD §7.3): active dealer act[i] takes
    in the signal 1 - fading[i] (`fading` the exponential of `learn_risk`'s exponent) at
    the learning rate: risk = (1 - rate) x risk + rate x signal."""
    keep = 1 - rate
    for i in range(act.size):
        r = act[i]
        risk[r] = keep * risk[r] + rate * (1.0 - fading[i])


@njit(cache=True)
def town_pitch_terms(
    buyer_density: np.ndarray,
    reputation: np.ndarray,
    unmet: np.ndarray,
    is_centre: np.ndarray,
    d_state: np.ndarray,
    d_cell: np.ndarray,
    active: int,
    credibility: np.ndarray,
    police_near: np.ndarray,
    deterrence: np.ndarray,
    pr: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The town-wide terms of the pitch appraisal, per cell (ODD §7.4 relocation):
    trade demand, (0.02 x buyers near + 0.3 x reputation) x (1 + centre draw in the
    centre) + 0.5 x unmet demand within two cells; active rivals within one cell; and
    -(credibility x presence), the exponent of the risk police presence carries there
    (`dealers.place_risk`: the phase takes the exponential, which stays in numpy). Box
    sums as `fields.box_sum` takes them (floats by summed-area table, counts exactly);
    the rest in the numpy code's order.
    """
    n = buyer_density.size
    unmet_near = box_sum_floats(unmet, 2).ravel()
    width, height = unmet.shape
    here = np.zeros((width, height), dtype=np.int64)
    flat_here = here.ravel()
    for r in range(d_state.size):
        if d_state[r] == active:
            flat_here[d_cell[r]] += 1
    rivals = box_sum_counts(here, 1).ravel()
    demand = np.empty(n)
    exposure = np.empty(n)
    for x in range(n):
        centre = 1.0 + pr[LR_CENTRE_DRAW] * (1.0 if is_centre[x] else 0.0)
        demand[x] = (0.02 * buyer_density[x] + 0.3 * reputation[x]) * centre + 0.5 * unmet_near[x]
        seen = pr[LR_PER_HOUR] * police_near[x] + deterrence[x]
        exposure[x] = -(credibility[x] * seen)
    return demand, rivals, exposure


@njit(cache=True)
def pitch_value(
    cand: np.ndarray,
    is_open: np.ndarray,
    calls: np.ndarray,
    own_risk: np.ndarray,
    demand: np.ndarray,
    rivals: np.ndarray,
    place_risk: np.ndarray,
    watched: np.ndarray,
    violence_near: np.ndarray,
    cell_x: np.ndarray,
    cell_y: np.ndarray,
    pr: np.ndarray,
) -> np.ndarray:
    """Expected daily profit net of risk at candidate pitches, dealers x candidates
    (ODD §7.4 pitch appraisal; the rule is described in `phases.dealers.pitch_value`).

    Row i is a dealer appraising cells cand[i] (column 0 its own pitch) in mode
    is_open[i]: trade = margin x (demand x passing / (1 + rivals / 2) + own calls);
    cost = risk cost x risk x (1 in open mode, `closed risk` closed), the risk being the
    place's, at least the dealer's own at its pitch and a known share of it anywhere in
    open mode, plus the place's guardianship (`watched[0]`); plus the residents who
    watch the place (`watched[1]`), in either mode; less the cost of violence nearby
    (`watched`: `phases.dealers.place_watch`). `own_risk` empty:
    no dealer's own risk applies. `pr` holds the parameters (PV_* indices). The same
    operations in the same order as the numpy code it replaced, so the floats are equal.
    """
    n, k = cand.shape
    out = np.empty((n, k))
    for i in range(n):
        here = cand[i, 0]
        passing = 1.0 if is_open[i] else 0.3
        exposure = 1.0 if is_open[i] else pr[PV_CLOSED_RISK]
        for j in range(k):
            c = cand[i, j]
            risk = place_risk[c]
            if own_risk.size:
                if j == 0:
                    risk = max(risk, own_risk[i])
                # the open mode's known share of the dealer's own risk (Jacobs 1996, 1999)
                known = pr[PV_KNOWN_SHARE] * own_risk[i] * (1.0 if is_open[i] else 0.0)
                risk = max(risk, known)
            risk = risk + watched[0, c]
            # the dealer is not its own rival: it sits in the count of its pitch's cells
            beside = abs(cell_x[c] - cell_x[here]) <= 1 and abs(cell_y[c] - cell_y[here]) <= 1
            rivals_there = rivals[c] - (1.0 if beside else 0.0)
            trade = pr[PV_MARGIN] * (demand[c] * passing / (1.0 + 0.5 * rivals_there) + calls[i])
            cost = pr[PV_RISK_COST] * risk * exposure + pr[PV_RISK_COST] * watched[1, c]
            out[i, j] = trade - cost - pr[PV_VIOLENCE_COST] * violence_near[c]
    return out


@njit(cache=True)
def reviewers(act: np.ndarray, risk: np.ndarray, base: float, draws: np.ndarray) -> np.ndarray:
    """The active dealers who review their pitch today (ODD §7.4 relocation): act[i]
    when draws[i] is below its chance, the base chance plus its risk, clipped to [0, 1]
    (as numpy's clip takes it)."""
    out = np.empty(act.size, dtype=np.int64)
    n = 0
    for i in range(act.size):
        p = base + risk[act[i]]
        p = 0.0 if p < 0.0 else (1.0 if p > 1.0 else p)
        if draws[i] < p:
            out[n] = act[i]
            n += 1
    return out[:n]


@njit(cache=True)
def switch_mode(
    act: np.ndarray,
    risk: np.ndarray,
    is_open: np.ndarray,
    close_threshold: np.ndarray,
    held: np.ndarray,
    min_contacts: int,
    reopen_threshold: float,
    draws: np.ndarray,
) -> None:
    """Open <-> closed switching, in place (ODD §7.4 tactical displacement): active
    dealer act[i], open, goes closed when its risk is above its threshold and enough
    buyers hold its number; closed, it reopens when its risk is below the reopening
    threshold and draws[i] (one uniform per active dealer) is below 0.05."""
    for i in range(act.size):
        r = act[i]
        if is_open[r]:
            if risk[r] > close_threshold[r] and held[r] >= min_contacts:
                is_open[r] = False
        elif risk[r] < reopen_threshold and draws[i] < 0.05:
            is_open[r] = True


@njit(cache=True)
def risk_prices(
    state: np.ndarray, active: int, risk: np.ndarray, price: np.ndarray, base: float, markup: float
) -> None:
    """Risk compensation, in place (ODD §7.4; Reuter & Kleiman 1986): each active
    dealer's price = base x (1 + markup x risk)."""
    for r in range(state.size):
        if state[r] == active:
            price[r] = base * (1.0 + markup * risk[r])


@njit(cache=True)
def candidate_pitches(
    pitch: np.ndarray,
    dx: np.ndarray,
    dy: np.ndarray,
    cell_x: np.ndarray,
    cell_y: np.ndarray,
    width: int,
    height: int,
) -> np.ndarray:
    """The pitches a reviewing dealer appraises (ODD §7.4): its own (column 0), then its
    pitch moved by each drawn offset (dx, dy), clipped at the town's edge (no wrap)."""
    n, k = dx.shape
    cand = np.empty((n, k + 1), dtype=np.int64)
    for i in range(n):
        x, y = cell_x[pitch[i]], cell_y[pitch[i]]
        cand[i, 0] = pitch[i]
        for j in range(k):
            nx = min(max(x + dx[i, j], 0), width - 1)
            ny = min(max(y + dy[i, j], 0), height - 1)
            cand[i, j + 1] = nx * height + ny
    return cand


@njit(cache=True)
def best_pitch(
    value: np.ndarray,
    switched: np.ndarray,
    may_switch: np.ndarray,
    relocation_gain: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Each reviewing dealer's best option and whether it is worth the change (ODD §7.4).

    Options: the candidate pitches (`value`, column 0 staying put), then the own pitch in
    the other mode (`switched`, open to closed only where `may_switch`). The best is the
    first highest value (numpy's argmax: a NaN counts as highest); a change needs a
    gain over staying above `relocation_gain` x max(|value of staying|, 1).
    Returns the best option's column (value.shape[1]: switch mode) and whether to change.
    """
    n, k = value.shape
    best = np.zeros(n, dtype=np.int64)
    change = np.zeros(n, dtype=np.bool_)
    for i in range(n):
        top = value[i, 0]
        for j in range(k + 1):
            v = value[i, j] if j < k else (switched[i] if may_switch[i] else -np.inf)
            if np.isnan(top):
                break
            if np.isnan(v) or v > top:
                top, best[i] = v, j
        stay = value[i, 0]
        change[i] = best[i] > 0 and top - stay > relocation_gain * max(abs(stay), 1.0)
    return best, change


@njit(cache=True)
def relocation_options(
    movers: np.ndarray,
    d_cell: np.ndarray,
    d_left: np.ndarray,
    dx: np.ndarray,
    dy: np.ndarray,
    cell_x: np.ndarray,
    cell_y: np.ndarray,
    width: int,
    height: int,
    d_open: np.ndarray,
    d_risk: np.ndarray,
    held: np.ndarray,
    per_holder: float,
) -> tuple:
    """What each reviewing dealer weighs (ODD §7.4 relocation): its candidate pitches,
    `candidate_pitches` (its own, then the drawn offsets) and last the established pitch
    it was pushed from (`d_left`; its own again if it has not moved); its mode, its
    perceived risk, and its customers' expected calls (`per_holder` x the users holding
    its number, `held`)."""
    first = candidate_pitches(d_cell[movers], dx, dy, cell_x, cell_y, width, height)
    n, k = first.shape
    cand = np.empty((n, k + 1), dtype=np.int64)
    is_open = np.empty(n, dtype=np.bool_)
    calls = np.empty(n)
    own = np.empty(n)
    for i in range(n):
        r = movers[i]
        for j in range(k):
            cand[i, j] = first[i, j]
        cand[i, k] = d_left[r] if d_left[r] >= 0 else first[i, 0]
        is_open[i], own[i] = d_open[r], d_risk[r]
        calls[i] = per_holder * held[r]
    return cand, is_open, calls, own


@njit(cache=True)
def review_pitches(
    state: np.ndarray,
    spare: np.ndarray,
    act: np.ndarray,
    base: float,
    k: int,
    r: int,
    d_cell: np.ndarray,
    d_left: np.ndarray,
    cell_x: np.ndarray,
    cell_y: np.ndarray,
    width: int,
    height: int,
    d_open: np.ndarray,
    d_risk: np.ndarray,
    held: np.ndarray,
    per_holder: float,
) -> tuple:
    """Who reviews its pitch today and what it weighs (ODD §7.4 relocation), drawing
    from the dealers stream's state: a uniform per active dealer (`reviewers`), then,
    if any reviews, `k` offsets along x for each reviewer, then `k` along y, each in
    -r..r (`stream_integers`, as `Generator.integers(-r, r + 1, (2, n, k))` draws them),
    and `relocation_options`. Returns the reviewers, then the options."""
    draws = np.empty(act.size)
    for i in range(act.size):
        draws[i] = next_double(state)
    movers = reviewers(act, d_risk, base, draws)
    n = movers.size
    if n == 0:
        none = np.empty(0)
        return movers, np.empty((0, k + 2), dtype=np.int64), np.empty(0, np.bool_), none, none
    offsets = stream_integers(state, spare, 2 * r + 1, 2 * n * k) - r
    dx = offsets[: n * k].reshape((n, k))
    dy = offsets[n * k :].reshape((n, k))
    cand, is_open, calls, own = relocation_options(
        movers, d_cell, d_left, dx, dy, cell_x, cell_y, width, height, d_open, d_risk, held,
        per_holder,
    )  # fmt: skip
    return movers, cand, is_open, calls, own


@njit(cache=True)
def relocate_dealers(
    movers: np.ndarray,
    cand: np.ndarray,
    is_open: np.ndarray,
    calls: np.ndarray,
    own: np.ndarray,
    demand: np.ndarray,
    rivals: np.ndarray,
    place: np.ndarray,
    watched: np.ndarray,
    violence_near: np.ndarray,
    cell_x: np.ndarray,
    cell_y: np.ndarray,
    pr: np.ndarray,
    held: np.ndarray,
    min_contacts: int,
    relocation_gain: float,
    d_open: np.ndarray,
    d_cell: np.ndarray,
    d_left: np.ndarray,
) -> np.ndarray:
    """Stay, move or switch mode (ODD §7.4 relocation), in place: each reviewing dealer
    appraises its candidates (`pitch_value`) and its own pitch in the other mode (closed
    only with at least `min_contacts` customers holding its number), takes the best
    (`best_pitch`) if it gains enough, switches mode or moves, remembering the
    established pitch on its first move away and forgetting it on the way back.
    Returns the rows that moved."""
    n = movers.size
    value = pitch_value(
        cand, is_open, calls, own, demand, rivals, place, watched, violence_near,
        cell_x, cell_y, pr,
    )  # fmt: skip
    here = np.empty((n, 1), dtype=np.int64)
    other = np.empty(n, dtype=np.bool_)
    may_switch = np.empty(n, dtype=np.bool_)
    for i in range(n):
        here[i, 0], other[i] = cand[i, 0], not is_open[i]
        may_switch[i] = other[i] or held[movers[i]] >= min_contacts
    switched = pitch_value(
        here, other, calls, own, demand, rivals, place, watched, violence_near,
        cell_x, cell_y, pr,
    )[:, 0]  # fmt: skip
    best, change = best_pitch(value, switched, may_switch, relocation_gain)
    n_moved = 0
    for i in range(n):
        if change[i] and best[i] != cand.shape[1]:
            n_moved += 1
    moved = np.empty(n_moved, dtype=np.int64)
    m = 0
    for i in range(n):
        if not change[i]:
            continue
        r = movers[i]
        if best[i] == cand.shape[1]:  # the same pitch in the other mode
            d_open[r] = other[i]
            continue
        if d_left[r] < 0:
            d_left[r] = d_cell[r]
        d_cell[r] = cand[i, best[i]]
        if d_cell[r] == d_left[r]:
            d_left[r] = -1
        moved[m] = r
        m += 1
    return moved


@njit(cache=True)
def risk_signal(
    hours_seen: np.ndarray,
    arrests_seen: np.ndarray,
    police_near: np.ndarray,
    arrests: np.ndarray,
    width: int,
    height: int,
    deterrence: np.ndarray,
    d_state: np.ndarray,
    d_active: int,
    d_cell: np.ndarray,
    pr: np.ndarray,
) -> tuple:
    """The dealers phase's first call (ODD §7.3 perceived risk): yesterday's dealer
    arrests per cell summed within two cells (`box_sum_floats`, as `fields.box_sum`
    takes it; with no arrest, none near anywhere: the arrests themselves), the active
    dealers (`rows_where`), then `learn_risk` at their cells. Returns the active rows,
    the credibility per cell and the exponent of each active dealer's risk signal (the
    phase takes the exponential)."""
    arrests_near = arrests
    for x in range(arrests.size):
        if arrests[x] != 0.0:  # any, as numpy's any tests
            arrests_near = box_sum_floats(arrests.reshape((width, height)), 2).ravel()
            break
    act = rows_where(d_state, d_active)
    credibility, exponent = learn_risk(
        hours_seen, arrests_seen, police_near, arrests_near, deterrence, d_cell[act], pr
    )
    return act, credibility, exponent


@njit(cache=True)
def dealer_reviews(
    state: np.ndarray,
    spare: np.ndarray,
    act: np.ndarray,
    d_risk: np.ndarray,
    fading: np.ndarray,
    learning_rate: float,
    u_contacts: np.ndarray,
    u_state: np.ndarray,
    u_active: int,
    base: float,
    k: int,
    radius: int,
    d_state: np.ndarray,
    d_active: int,
    d_cell: np.ndarray,
    d_left: np.ndarray,
    d_open: np.ndarray,
    cell_x: np.ndarray,
    cell_y: np.ndarray,
    width: int,
    height: int,
    per_holder: float,
    buyer_density: np.ndarray,
    reputation: np.ndarray,
    unmet: np.ndarray,
    is_centre: np.ndarray,
    credibility: np.ndarray,
    police_near: np.ndarray,
    deterrence: np.ndarray,
    pr: np.ndarray,
) -> tuple:
    """The dealers phase's second call (ODD §7.3-7.4), drawing from the dealers stream's
    state: perceived risk takes in today's signal (`blend_risk`, `fading` the
    exponential of `risk_signal`'s exponent); how many active users hold each dealer's
    number (`contacts_held`, over d_state.size rows); who reviews its pitch and what it
    weighs (`review_pitches`); and, if anyone reviews, the town-wide pitch terms
    (`town_pitch_terms`). Returns the numbers held, `review_pitches`' results, and the
    demand, rivals and risk exponent per cell (empty when nobody reviews)."""
    blend_risk(act, d_risk, fading, learning_rate)
    held = contacts_held(u_contacts, u_state, u_active, d_state.size)
    movers, cand, is_open, calls, own = review_pitches(
        state, spare, act, base, k, radius, d_cell, d_left, cell_x, cell_y, width, height,
        d_open, d_risk, held, per_holder,
    )  # fmt: skip
    none = np.empty(0)
    demand, rivals, exposure = none, none, none
    if movers.size:
        demand, rivals, exposure = town_pitch_terms(
            buyer_density, reputation, unmet, is_centre, d_state, d_cell, d_active, credibility,
            police_near, deterrence, pr,
        )  # fmt: skip
    return held, movers, cand, is_open, calls, own, demand, rivals, exposure


@njit(cache=True)
def settle_dealers(
    state: np.ndarray,
    act: np.ndarray,
    movers: np.ndarray,
    cand: np.ndarray,
    is_open: np.ndarray,
    calls: np.ndarray,
    own: np.ndarray,
    demand: np.ndarray,
    rivals: np.ndarray,
    place: np.ndarray,
    watched: np.ndarray,
    violence_near: np.ndarray,
    cell_x: np.ndarray,
    cell_y: np.ndarray,
    pv: np.ndarray,
    held: np.ndarray,
    min_contacts: int,
    relocation_gain: float,
    reopen_threshold: float,
    d_state: np.ndarray,
    d_active: int,
    d_open: np.ndarray,
    d_cell: np.ndarray,
    d_left: np.ndarray,
    d_risk: np.ndarray,
    d_close_threshold: np.ndarray,
    d_price: np.ndarray,
    base_price: float,
    markup: float,
) -> None:
    """The dealers phase's last call (ODD §7.4), in place, drawing from the dealers
    stream's state: the reviewers stay, move or switch mode (`relocate_dealers`, when
    any reviews); open/closed switching (`switch_mode`, a uniform per active dealer);
    and prices (`risk_prices`)."""
    if movers.size:
        relocate_dealers(
            movers, cand, is_open, calls, own, demand, rivals, place, watched,
            violence_near, cell_x, cell_y, pv, held, min_contacts, relocation_gain, d_open,
            d_cell, d_left,
        )  # fmt: skip
    draws = np.empty(act.size)
    for i in range(act.size):
        draws[i] = next_double(state)
    switch_mode(act, d_risk, d_open, d_close_threshold, held, min_contacts, reopen_threshold, draws)
    risk_prices(d_state, d_active, d_risk, d_price, base_price, markup)


# Indices into pitch_value's parameter array (the dealers phase fills it).
PV_MARGIN, PV_KNOWN_SHARE, PV_RISK_COST, PV_CLOSED_RISK, PV_VIOLENCE_COST = range(5)
N_PITCH_PARAMS = 5


@njit(cache=True)
def decay_layers(
    today: np.ndarray,
    turf_opened: np.ndarray,
    rep_recent: np.ndarray,
    rep_standing: np.ndarray,
    reputation: np.ndarray,
    litter: np.ndarray,
    guardianship: np.ndarray,
    unmet: np.ndarray,
    violence: np.ndarray,
    void: np.ndarray,
    keep: np.ndarray,
) -> None:
    """The day's cell layers, in place (ODD §7.16 cell fields): each fades and takes in
    today's counts. `today` holds today's open sales, litter, unmet demand and violent
    incidents per cell (FIELD_* rows); `keep` the memories (KEEP_*). Reputation: two
    memories of open sales, and their mean; litter: cleared faster where guardianship
    is high; unmet demand: 0.9 kept; violence and void (the turf opened by arrests,
    zeroed for tomorrow). The numpy code's operations, in its order.
    """
    w, h = reputation.shape
    recent, standing = keep[KEEP_RECENT], keep[KEEP_STANDING]
    for x in range(w):
        for y in range(h):
            c = x * h + y
            rep_recent[x, y] = rep_recent[x, y] * recent + (1.0 - recent) * today[FIELD_OPEN, c]
            rep_standing[x, y] = (
                rep_standing[x, y] * standing + (1.0 - standing) * today[FIELD_OPEN, c]
            )
            reputation[x, y] = 0.5 * (rep_recent[x, y] + rep_standing[x, y])
            cleared = 1.0 - 0.1 * (0.5 + guardianship[x, y])
            litter[x, y] = litter[x, y] * cleared + today[FIELD_LITTER, c]
            unmet[x, y] = unmet[x, y] * 0.9 + today[FIELD_UNMET, c]
            violence[x, y] = violence[x, y] * keep[KEEP_VIOLENCE] + today[FIELD_VIOLENT, c]
            void[x, y] = void[x, y] * keep[KEEP_VOID] + turf_opened[c]
            turf_opened[c] = 0.0


FIELD_OPEN, FIELD_LITTER, FIELD_UNMET, FIELD_VIOLENT = range(4)  # decay_layers' `today` rows
KEEP_RECENT, KEEP_STANDING, KEEP_VIOLENCE, KEEP_VOID = range(4)  # and its memories


@njit(cache=True)
def fear_day(
    fear_market: np.ndarray,
    fear_enforcement: np.ndarray,
    fear: np.ndarray,
    open_near: np.ndarray,
    violence_near: np.ndarray,
    raids_near: np.ndarray,
    residents: np.ndarray,
    keep_market: float,
    keep_enforcement: float,
) -> np.ndarray:
    """Residents' fear and exposure, in place (ODD §7.16): fear of the market fades and
    rises where open dealing is visible within one cell (`open_near` > 0) and with
    violence nearby; fear of enforcement fades and rises with visible raids nearby;
    each at most 0.6, together at most 1. `violence_near`, `raids_near` empty: none
    today. Returns per cell (EXPOSED, FEAR, FEAR_MARKET, FEAR_ENFORCEMENT rows) the
    residents exposed to visible dealing, and the residents times each fear. The numpy
    code's operations, in its order. All arrays are flat, one entry per cell.
    """
    n = fear.size
    out = np.empty((4, n))
    for c in range(n):
        exposed = 1.0 if open_near[c] > 0 else 0.0
        fm = fear_market[c] * keep_market + 0.01 * exposed
        if violence_near.size:
            fm = fm + 0.15 * violence_near[c]
        fm = min(fm, 0.6)
        fe = fear_enforcement[c] * keep_enforcement
        if raids_near.size:
            fe = fe + 0.2 * raids_near[c]
        fe = min(fe, 0.6)
        fear_market[c], fear_enforcement[c] = fm, fe
        fear[c] = min(1.0, fm + fe)
        out[EXPOSED, c] = exposed * residents[c]
        out[FEAR, c] = fear[c] * residents[c]
        out[FEAR_MARKET, c] = fm * residents[c]
        out[FEAR_ENFORCEMENT, c] = fe * residents[c]
    return out


EXPOSED, FEAR, FEAR_MARKET, FEAR_ENFORCEMENT = range(4)  # fear_day's rows


# Indices into pay_and_use's parameter array (trade phase fills it from the scenario).
(
    UNITS_DEP,
    UNITS_REC,
    CRIME,
    CRIME_KEPT,
    PROCEEDS,
    GAIN,
    PUBLIC_BASE,
    PUBLIC_PER_HOUR,
    LITTER,
    OD_BASE,
    OD_PRODUCT,
    OD_RUSHED,
    OD_TOLERANCE,
    OD_FATAL,
    CAUGHT,  # CAUGHT + k: chance that k offences lead to an arrest (k = 0..3)
) = range(15)
N_TRADE_PARAMS = CAUGHT + 4


@njit(cache=True)
def fields_day(
    tally: np.ndarray,
    rows: np.ndarray,
    turf_opened: np.ndarray,
    rep_recent: np.ndarray,
    rep_standing: np.ndarray,
    reputation: np.ndarray,
    litter: np.ndarray,
    guardianship: np.ndarray,
    unmet: np.ndarray,
    violence: np.ndarray,
    void: np.ndarray,
    keep: np.ndarray,
    violent_today: np.ndarray,
    d_state: np.ndarray,
    d_cell: np.ndarray,
    d_open: np.ndarray,
    active: int,
    fear_market: np.ndarray,
    fear_enforcement: np.ndarray,
    fear: np.ndarray,
    raids_near: np.ndarray,
    residents: np.ndarray,
    keep_market: float,
    keep_enforcement: float,
    exposed_row: int,
    fear_row: int,
    ledger: np.ndarray,
    touched: np.ndarray,
    ledger_rows: np.ndarray,
    people_rows: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """The fields phase's day (ODD §7.16 cell fields), in place: the layers fade and
    take in today's counts (`decay_layers`, from the tally's `rows`); then residents'
    fear and exposure (`fear_day`), from the active open dealers within one cell, today's
    violent incidents within one cell (`violent_today`, a per-cell layer) and the raids
    nearby; then the books: exposure and fear set as the tally's rows `exposed_row` and
    `fear_row` (their one writer), and `fear_day`'s rows `people_rows[k]` added to the
    harm ledger's rows `ledger_rows[k]` (marked in `touched`, as `HarmLedger.add_rows`).
    Returns the recent violence known within one cell of each cell and `fear_day`'s
    rows. Box sums as `fields.box_sum` takes them.
    """
    decay_layers(
        tally[rows],
        turf_opened,
        rep_recent,
        rep_standing,
        reputation,
        litter,
        guardianship,
        unmet,
        violence,
        void,
        keep,
    )
    violence_near = box_sum_floats(violence, 1).ravel()
    width, height = violence.shape
    open_here = np.zeros((width, height), dtype=np.int64)
    flat = open_here.ravel()
    for r in range(d_state.size):
        if d_state[r] == active and d_open[r]:
            flat[d_cell[r]] += 1
    violent_near = np.empty(0)  # none today
    incidents = violent_today.ravel()
    for x in range(incidents.size):
        if incidents[x] != 0:
            violent_near = box_sum_floats(violent_today, 1).ravel()
            break
    people = fear_day(
        fear_market,
        fear_enforcement,
        fear,
        box_sum_counts(open_here, 1).ravel(),
        violent_near,
        raids_near,
        residents,
        keep_market,
        keep_enforcement,
    )
    for x in range(people.shape[1]):
        tally[exposed_row, x] = people[EXPOSED, x]
        tally[fear_row, x] = people[FEAR, x]
    for k in range(ledger_rows.size):
        touched[ledger_rows[k]] = True
    add_rows(ledger, ledger_rows, people, people_rows)
    return violence_near, people


@njit(cache=True)
def pay_and_use(
    state: np.ndarray,
    spare: np.ndarray,
    buyers: np.ndarray,
    seller: np.ndarray,
    via_open: np.ndarray,
    u_dependent: np.ndarray,
    u_cash: np.ndarray,
    n_users: int,
    u_treatment: np.ndarray,
    in_treatment: int,
    u_tolerance_until: np.ndarray,
    day: int,
    u_contacts: np.ndarray,
    d_price: np.ndarray,
    d_product_risk: np.ndarray,
    d_cell: np.ndarray,
    police: np.ndarray,
    pr: np.ndarray,
) -> tuple:
    """Paying, acquisitive crime, contacts gained, and use with its risks (ODD §7.7-7.9).

    Per purchase (a buyer with a seller, in order): cost = units x price. A
    dependent buyer short of cash offends with probability crime_prob (less in
    treatment), up to 3 offences of `crime_proceeds` each (NTORS), each risking
    arrest (pr[CAUGHT + offences]). Buyers who still cannot pay go without. For
    those who pay: an open purchase may give the buyer the dealer's number; use is
    public with a chance rising with police at the pitch (open purchases only;
    Kerr 2005), public use may leave litter, and overdose risk rises with product
    risk, rushed or public use and lost tolerance. `pr` holds the parameters
    (indices below). Draws from the market stream (its PCG64 `state` and `spare` half,
    `rng.raw_state`: no Generator to unbox) in the order of the numpy code it replaced.
    Returns, per purchase: offend, offences, caught, pays, public, litter,
    overdose, fatal, the chance of the overdose (0 where the buyer did not pay), and
    cost and units.
    """
    ok = np.flatnonzero(seller >= 0)
    n = ok.size
    b, s = buyers[ok], seller[ok]
    units = np.empty(n)
    cost = np.empty(n)
    for i in range(n):
        units[i] = pr[UNITS_DEP] if u_dependent[b[i]] else pr[UNITS_REC]
        cost[i] = units[i] * d_price[s[i]]
    offend = np.zeros(n, dtype=np.bool_)
    offences = np.zeros(n)
    for i in range(n):
        r = next_double(state)
        p = pr[CRIME] * (pr[CRIME_KEPT] if u_treatment[b[i]] == in_treatment else 1.0)
        offend[i] = u_cash[b[i]] < cost[i] and u_dependent[b[i]] and r < p
        if offend[i]:
            offences[i] = min(3.0, np.ceil((cost[i] - u_cash[b[i]]) / pr[PROCEEDS]))
        u_cash[b[i]] += offences[i] * pr[PROCEEDS]
    caught = np.zeros(n, dtype=np.bool_)
    if offend.any():
        for i in range(n):
            r = next_double(state)
            caught[i] = offend[i] and r < pr[CAUGHT + int(offences[i])]
    pays = np.empty(n, dtype=np.bool_)
    for i in range(n):
        pays[i] = u_cash[b[i]] >= cost[i]
        if pays[i]:
            u_cash[b[i]] -= cost[i]
    for r in range(n_users):  # users do not hoard
        u_cash[r] = min(u_cash[r], 200.0)
    paid = np.flatnonzero(pays)
    # An open purchase may give the buyer the dealer's number (a free slot, else a random one).
    gain = np.zeros(paid.size, dtype=np.bool_)
    for a in range(paid.size):
        r = next_double(state)
        gain[a] = via_open[ok[paid[a]]] and r < pr[GAIN]
    if gain.any():
        new = np.zeros(paid.size, dtype=np.bool_)
        for a in range(paid.size):
            i = paid[a]
            new[a] = gain[a] and not holds_number(u_contacts, b[i], s[i])
        learners = paid[new]
        slots = stream_integers(state, spare, u_contacts.shape[1], learners.size)
        learn_numbers(u_contacts, b[learners], s[learners], slots)
    public = np.zeros(n, dtype=np.bool_)
    litter = np.zeros(n, dtype=np.bool_)
    overdose = np.zeros(n, dtype=np.bool_)
    fatal = np.zeros(n, dtype=np.bool_)
    od_risk = np.zeros(n)
    for i in paid:
        r = next_double(state)
        is_open = via_open[ok[i]]
        here = police[d_cell[s[i]]]
        p = pr[PUBLIC_BASE] + pr[PUBLIC_PER_HOUR] * here if is_open else 0.0
        public[i] = r < min(1.0, p)
    for i in paid:
        r = next_double(state)
        litter[i] = public[i] and r < pr[LITTER]
    for i in paid:
        r = next_double(state)
        is_open = via_open[ok[i]]
        p = pr[OD_BASE] * (1.0 if u_dependent[b[i]] else 0.3)
        p = p * (1.0 + pr[OD_PRODUCT] * d_product_risk[s[i]])
        rushed = is_open and police[d_cell[s[i]]] > 0
        p = p * (pr[OD_RUSHED] if rushed or public[i] else 1.0)
        p = p * (pr[OD_TOLERANCE] if u_tolerance_until[b[i]] > day else 1.0)
        od_risk[i] = min(1.0, p)
        overdose[i] = r < p
    if overdose.any():
        for i in paid:
            if overdose[i]:
                fatal[i] = next_double(state) < pr[OD_FATAL]
    return offend, offences, caught, pays, public, litter, overdose, fatal, od_risk, cost, units


@njit(cache=True)
def dealer_profit(
    state: np.ndarray,
    active: int,
    profit_today: np.ndarray,
    debt: np.ndarray,
    profit: np.ndarray,
    repay_share: float,
) -> None:
    """Active dealers' smoothed daily profit, part of it repaying seizure debt (ODD §7.7
    dealer takings; N8 PRP 2024), in place: repay = min(debt, share x max(today's profit,
    0)); profit = 0.95 x profit + 0.05 x (today's profit - repay). Maximum and minimum as
    numpy takes them (the first argument on a tie, NaN kept)."""
    for r in range(state.size):
        if state[r] != active:
            continue
        today = profit_today[r]
        gain = today if (today >= 0.0 or today != today) else 0.0
        gain = repay_share * gain
        owed = debt[r]
        repay = owed if (owed <= gain or owed != owed) else gain
        debt[r] = owed - repay
        profit[r] = 0.95 * profit[r] + 0.05 * (today - repay)


@njit(cache=True)
def site_hours(hours: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Officer-hours today within two cells of each treatment site (ODD §7.12: police
    near a site deter seeking help and make clients miss appointments). Each site's
    square, clipped at the town's edge, summed as numpy sums that slice (its cells in
    row order, copied out and summed pairwise: `numpy_sum`)."""
    width, height = hours.shape
    out = np.empty(xs.size)
    window = np.empty(25)
    for s in range(xs.size):
        n = 0
        for x in range(max(0, xs[s] - 2), min(width, xs[s] + 3)):
            for y in range(max(0, ys[s] - 2), min(height, ys[s] + 3)):
                window[n] = hours[x, y]
                n += 1
        out[s] = numpy_sum(window, 0, n)
    return out


@njit(cache=True)
def treatment_candidates(
    state: np.ndarray,
    active_code: int,
    treatment: np.ndarray,
    no_treatment: int,
    dependent: np.ndarray,
    home: np.ndarray,
    nearest_site: np.ndarray,
    adverse_until: np.ndarray,
    day: int,
    after_adverse: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Who may seek treatment today (ODD §7.13 seeking): active, dependent users with no
    treatment, in row order; each one's nearest site, and the boost to seeking
    (`after_adverse` within 30 days of an overdose or arrest, else 1)."""
    rows = np.empty(state.size, dtype=np.int64)
    n = 0
    for r in range(state.size):  # each row written, kept by counting it (no branch)
        rows[n] = r
        n += (state[r] == active_code) & (treatment[r] == no_treatment) & dependent[r]
    cand = rows[:n]
    site = np.empty(n, dtype=np.int64)
    boost = np.empty(n)
    for i in range(n):
        r = cand[i]
        site[i] = nearest_site[home[r]]
        boost[i] = after_adverse if adverse_until[r] > day else 1.0
    return cand, site, boost


@njit(cache=True)
def treatment_seeking(
    hours: np.ndarray,
    xs: np.ndarray,
    ys: np.ndarray,
    state: np.ndarray,
    active_code: int,
    treatment: np.ndarray,
    no_treatment: int,
    dependent: np.ndarray,
    home: np.ndarray,
    nearest_site: np.ndarray,
    adverse_until: np.ndarray,
    day: int,
    after_adverse: float,
    police_deterrence: float,
) -> tuple:
    """The treatment phase's first call (ODD §7.12-7.13): officer-hours near each site
    (`site_hours`), who may seek treatment (`treatment_candidates`), and the exponent of
    the chance police near its nearest site leave each candidate's asking,
    -police_deterrence x those hours (numpy's order; the phase takes the exponential).
    Returns the hours per site, the candidates, their sites and boosts, and the exponents."""
    police_near = site_hours(hours, xs, ys)
    cand, site, boost = treatment_candidates(
        state, active_code, treatment, no_treatment, dependent, home, nearest_site,
        adverse_until, day, after_adverse,
    )  # fmt: skip
    deterred = np.empty(site.size)
    minus = -police_deterrence
    for i in range(site.size):
        deterred[i] = minus * police_near[site[i]]
    return police_near, cand, site, boost, deterred


# Indices into client_day's parameter array (the treatment phase fills it).
CD_APPOINTMENT, CD_MISSED_PER_HOUR, CD_DROPOUT, CD_MISSED_BOOST = range(4)
N_CLIENT_PARAMS = 4


@njit(cache=True)
def treatment_clients(
    u_treatment: np.ndarray,
    in_treatment: int,
    u_site: np.ndarray,
    u_referred_by: np.ndarray,
    site_cells: np.ndarray,
    n_accounts: int,
    ledger: np.ndarray,
    touched: np.ndarray,
    ledger_row: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Today's treatment clients (ODD §7.13): the users in treatment (u_treatment ==
    in_treatment), in row order, and their sites; each books a treatment place-day at
    its site's cell into the harm ledger's row `ledger_row` (of `ledger`, its (type x
    cause, cell) rows, marked in `touched`: whole numbers, exact in any order). Also
    returns the place-days by the account charged with them (`u_referred_by`, -1:
    nobody's)."""
    n = 0
    for r in range(u_treatment.size):
        if u_treatment[r] == in_treatment:
            n += 1
    clients = np.empty(n, dtype=np.int64)
    site = np.empty(n, dtype=np.int64)
    by_account = np.zeros(n_accounts, dtype=np.int64)
    i = 0
    for r in range(u_treatment.size):
        if u_treatment[r] == in_treatment:
            clients[i], site[i] = r, u_site[r]
            ledger[ledger_row, site_cells[u_site[r]]] += 1.0
            if u_referred_by[r] >= 0:
                by_account[u_referred_by[r]] += 1
            i += 1
    if n:
        touched[ledger_row] = True
    return clients, site, by_account


@njit(cache=True)
def client_day(
    clients: np.ndarray,
    site: np.ndarray,
    police_near: np.ndarray,
    missed_count: np.ndarray,
    treatment_day: np.ndarray,
    draws: np.ndarray,
    day: int,
    duration: int,
    pr: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A treatment client's day (ODD §7.13 clients): appointment, miss, drop-out, completion.

    Client i has an appointment if draws[0, i] < pr[CD_APPOINTMENT], and misses it if
    also draws[1, i] < min(1, pr[CD_MISSED_PER_HOUR] x visible officer-hours near its
    site); a miss is counted on the client's row (`missed_count`, in place). It drops
    out if draws[2, i] < pr[CD_DROPOUT] + pr[CD_MISSED_BOOST] x misses this episode,
    and completes if it stays and has been in treatment `duration` days. The draws are
    the phase's three rows of uniforms, in the numpy code's order. Returns missed,
    drop and done per client.
    """
    n = clients.size
    missed = np.zeros(n, dtype=np.bool_)
    drop = np.zeros(n, dtype=np.bool_)
    done = np.zeros(n, dtype=np.bool_)
    for i in range(n):
        p_miss = min(1.0, pr[CD_MISSED_PER_HOUR] * police_near[site[i]])
        missed[i] = draws[0, i] < pr[CD_APPOINTMENT] and draws[1, i] < p_miss
    for i in range(n):
        c = clients[i]
        if missed[i]:
            missed_count[c] += 1
        drop[i] = draws[2, i] < pr[CD_DROPOUT] + pr[CD_MISSED_BOOST] * missed_count[c]
        done[i] = not drop[i] and day - treatment_day[c] >= duration
    return missed, drop, done


@njit(cache=True)
def treatment_seekers(
    state: np.ndarray,
    cand: np.ndarray,
    site: np.ndarray,
    boost: np.ndarray,
    deterred: np.ndarray,
    seek_prob: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Who of the candidates `cand` (`treatment_candidates`) asks for treatment today
    (ODD §7.13 seeking), drawing from the treatment stream's state: candidate i asks
    when its uniform is below seek_prob x boost[i] x deterred[i] (the police near its
    site, exp(-deterrence x hours), taken in numpy), multiplied in the numpy code's
    order. Returns the seekers and their nearest sites, in candidate order."""
    n = cand.size
    seek = np.empty(n, dtype=np.bool_)
    k = 0
    for i in range(n):
        seek[i] = next_double(state) < seek_prob * boost[i] * deterred[i]
        k += seek[i]
    who = np.empty(k, dtype=np.int64)
    where = np.empty(k, dtype=np.int64)
    k = 0
    for i in range(n):
        if seek[i]:
            who[k], where[k] = cand[i], site[i]
            k += 1
    return who, where


@njit(cache=True)
def clients_day(
    state: np.ndarray,
    u_treatment: np.ndarray,
    in_treatment: int,
    u_site: np.ndarray,
    u_referred_by: np.ndarray,
    site_cells: np.ndarray,
    n_accounts: int,
    ledger: np.ndarray,
    touched: np.ndarray,
    ledger_row: int,
    police_near: np.ndarray,
    missed_count: np.ndarray,
    treatment_day: np.ndarray,
    home: np.ndarray,
    day: int,
    duration: int,
    pr: np.ndarray,
) -> tuple[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Treatment clients' day (ODD §7.13 clients), drawing from the treatment stream's
    state: `treatment_clients` (the place-days booked), three rows of uniforms drawn as
    numpy's `random((3, clients))`, then `client_day`. Returns the number of clients,
    the place-days by account, the homes of those who missed an appointment, and the
    clients who drop out and who complete, in row order."""
    clients, site, by_account = treatment_clients(
        u_treatment, in_treatment, u_site, u_referred_by, site_cells, n_accounts, ledger,
        touched, ledger_row,
    )  # fmt: skip
    n = clients.size
    draws = np.empty((3, n))
    for j in range(3):
        for i in range(n):
            draws[j, i] = next_double(state)
    missed, drop, done = client_day(
        clients, site, police_near, missed_count, treatment_day, draws, day, duration, pr
    )
    return n, by_account, home[clients[missed]], clients[drop], clients[done]


@njit(cache=True)
def start_treatment_rows(
    rows: np.ndarray,
    site: int,
    day: int,
    self_referral: int,
    in_treatment: int,
    treatment: np.ndarray,
    treatment_day: np.ndarray,
    missed: np.ndarray,
    u_site: np.ndarray,
    referred_by: np.ndarray,
    home: np.ndarray,
    tally: np.ndarray,
    entries_row: int,
) -> None:
    """Users `rows` take a place at `site` today (ODD §7.12 treatment admission), in place:
    in treatment since `day` with no appointment missed, the place charged to
    `self_referral` where no account referred them, and one treatment entry each at
    their home in the tally's row `entries_row` (whole-number counts: the same sums
    whatever the order of the day's other adds)."""
    for ur in rows:
        treatment[ur] = in_treatment
        treatment_day[ur] = day
        missed[ur] = 0
        u_site[ur] = site
        if referred_by[ur] < 0:
            referred_by[ur] = self_referral
        tally[entries_row, home[ur]] += 1.0


# Rows of book_purchases' counts per cell, in the order trade books them: whole numbers,
# then the overdoses each use risked (expected counts, for the harm account).
(
    SALES,
    OPEN_SALES,
    CLOSED_SALES,
    CRIMES,
    PUBLIC_USE,
    LITTERED,
    OVERDOSES,
    OVERDOSE_DEATHS,
    OVERDOSES_SURVIVED,
    OVERDOSES_RISKED_FATAL,
    OVERDOSES_RISKED_SURVIVED,
) = range(11)


@njit(cache=True)
def book_purchases(
    buyers: np.ndarray,
    seller: np.ndarray,
    via_open: np.ndarray,
    offend: np.ndarray,
    offences: np.ndarray,
    caught: np.ndarray,
    pays: np.ndarray,
    public: np.ndarray,
    litter: np.ndarray,
    overdose: np.ndarray,
    fatal: np.ndarray,
    od_risk: np.ndarray,
    fatality: float,
    units: np.ndarray,
    u_home: np.ndarray,
    u_crimes: np.ndarray,
    d_cell: np.ndarray,
    d_price: np.ndarray,
    d_sales: np.ndarray,
    unit_cost: float,
    recording: bool,
    n_cells: int,
) -> tuple:
    """What today's purchases did, per cell and per person (ODD §7.7-7.9), from
    `pay_and_use`'s results (one entry per buyer with a seller, in order).

    Acquisitive crimes happen at the pitch for street purchases, at home for calls; sales
    count at the seller's pitch (open or closed); public use and litter at the pitch;
    overdoses in public at the pitch, else at home. Returns the counts per cell: whole
    numbers in rows SALES ... OVERDOSES_SURVIVED (exact in any order), and in the last two
    rows the overdoses each paid use risked, fatal and not (its overdose chance `od_risk`
    times `fatality` and one minus it, where an overdose would happen, summed in purchase
    order: the conditional expectation of the realised rows); each dealer's takings
    net of wholesale cost (`unit_cost` a unit), added up in purchase order as np.bincount
    did; and the users caught offending and where, the users who overdosed and whether
    fatally. In place: dealers' sales today, and users' crimes on recorded days.
    """
    counts = np.zeros((11, n_cells))
    profit = np.zeros(d_sales.size)
    n = offend.size
    caught_users = np.empty(n, dtype=np.int64)
    caught_cells = np.empty(n, dtype=np.int64)
    victims = np.empty(n, dtype=np.int64)
    died = np.empty(n, dtype=np.bool_)
    n_caught = n_victims = 0
    i = 0
    for a in range(buyers.size):
        if seller[a] < 0:
            continue
        b, s = buyers[a], seller[a]
        pitch, home = d_cell[s], u_home[b]
        if offend[i]:
            where = pitch if via_open[a] else home
            counts[CRIMES, where] += offences[i]
            if recording:
                u_crimes[b] += np.int64(offences[i])
            if caught[i]:
                caught_users[n_caught], caught_cells[n_caught] = b, where
                n_caught += 1
        if pays[i]:
            d_sales[s] += 1
            counts[SALES, pitch] += 1
            counts[OPEN_SALES if via_open[a] else CLOSED_SALES, pitch] += 1
            profit[s] += units[i] * (d_price[s] - unit_cost)
            if public[i]:
                counts[PUBLIC_USE, pitch] += 1
            if litter[i]:
                counts[LITTERED, pitch] += 1
            where = pitch if public[i] else home  # where use, and any overdose, happens
            counts[OVERDOSES_RISKED_FATAL, where] += od_risk[i] * fatality
            counts[OVERDOSES_RISKED_SURVIVED, where] += od_risk[i] * (1.0 - fatality)
            if overdose[i]:
                counts[OVERDOSES, where] += 1
                counts[OVERDOSE_DEATHS if fatal[i] else OVERDOSES_SURVIVED, where] += 1
                victims[n_victims], died[n_victims] = b, fatal[i]
                n_victims += 1
        i += 1
    return (
        counts,
        profit,
        caught_users[:n_caught],
        caught_cells[:n_caught],
        victims[:n_victims],
        died[:n_victims],
    )


@njit(cache=True)
def purchases(
    state: np.ndarray,
    spare: np.ndarray,
    buyers: np.ndarray,
    seller: np.ndarray,
    via_open: np.ndarray,
    u_dependent: np.ndarray,
    u_cash: np.ndarray,
    n_users: int,
    u_treatment: np.ndarray,
    in_treatment: int,
    u_tolerance_until: np.ndarray,
    day: int,
    u_contacts: np.ndarray,
    u_home: np.ndarray,
    u_crimes: np.ndarray,
    d_state: np.ndarray,
    d_active: int,
    d_price: np.ndarray,
    d_product_risk: np.ndarray,
    d_cell: np.ndarray,
    d_sales: np.ndarray,
    d_debt: np.ndarray,
    d_profit: np.ndarray,
    police: np.ndarray,
    pr: np.ndarray,
    unit_cost: float,
    repay_share: float,
    recording: bool,
    tally: np.ndarray,
    tally_rows: np.ndarray,
    count_rows: np.ndarray,
    units_row: int,
    revenue_row: int,
    ledger: np.ndarray,
    touched: np.ndarray,
    ledger_rows: np.ndarray,
    harm_rows: np.ndarray,
) -> tuple:
    """Today's purchases from payment to the books (ODD §7.7-7.9, §7.17), in one call:
    `pay_and_use` (paying, acquisitive crime, contacts gained, use and its risks, with
    the market stream's state), `book_purchases` (what they did per cell and person),
    then, in the trade phase's order, the counts into the tally (`tally`, the day's
    (metric, cell) values: count row `count_rows[k]` into `tally_rows[k]`) and the harm
    ledger (`ledger`, its (type x cause, cell) rows, marked in `touched`); each paid
    purchase's units and cost into the tally rows `units_row` and `revenue_row` at its
    pitch, in purchase order (only trade adds to these rows, so the floats are those
    of the tally's queued adds); and the dealers' smoothed profit (`dealer_profit`).
    Returns the users caught offending and where, and the users who overdosed and
    whether fatally.
    """
    offend, offences, caught, pays, public, litter, od, fatal, od_risk, cost, units = pay_and_use(
        state,
        spare,
        buyers,
        seller,
        via_open,
        u_dependent,
        u_cash,
        n_users,
        u_treatment,
        in_treatment,
        u_tolerance_until,
        day,
        u_contacts,
        d_price,
        d_product_risk,
        d_cell,
        police,
        pr,
    )
    counts, profit, caught_users, caught_cells, victims, died = book_purchases(
        buyers,
        seller,
        via_open,
        offend,
        offences,
        caught,
        pays,
        public,
        litter,
        od,
        fatal,
        od_risk,
        pr[OD_FATAL],
        units,
        u_home,
        u_crimes,
        d_cell,
        d_price,
        d_sales,
        unit_cost,
        recording,
        tally.shape[1],
    )
    add_rows(tally, tally_rows, counts, count_rows)
    for k in range(ledger_rows.size):
        touched[ledger_rows[k]] = True
    add_rows(ledger, ledger_rows, counts, harm_rows)
    i = 0
    for a in range(seller.size):
        if seller[a] < 0:
            continue
        if pays[i]:
            pitch = d_cell[seller[a]]
            tally[units_row, pitch] += units[i]
            tally[revenue_row, pitch] += cost[i]
        i += 1
    dealer_profit(d_state, d_active, profit, d_debt, d_profit, repay_share)
    return caught_users, caught_cells, victims, died


@njit(cache=True)
def trade_terms(
    u_state: np.ndarray,
    u_active: int,
    u_cash: np.ndarray,
    u_income: np.ndarray,
    u_treatment: np.ndarray,
    in_treatment: int,
    u_dependent: np.ndarray,
    u_search: np.ndarray,
    d_state: np.ndarray,
    d_active: int,
    d_open: np.ndarray,
    d_cell: np.ndarray,
    d_price: np.ndarray,
    d_sales: np.ndarray,
    pb: np.ndarray,
    is_centre: np.ndarray,
    reputation: np.ndarray,
    deterrence: np.ndarray,
    violence_near: np.ndarray,
    pa: np.ndarray,
    credibility: np.ndarray,
    police: np.ndarray,
    police_deterrence: float,
) -> tuple:
    """The day's terms of trade, bar the powers and exponentials (ODD §7.6), in one call:
    today's sales zeroed for the dealer rows (d_state's); `buy_terms` (income into cash; who may buy, the chance, full price and elasticity),
    then the active open dealers' rows (as `buyers_today` lists them), their pitches'
    attraction terms (`pitch_attraction`) and the exponent of the chance a buyer is not
    put off by police on arrival, -police_deterrence x credibility x visible hours at
    the pitch (numpy's order). The phase takes the powers and exponentials in numpy."""
    for r in range(d_state.size):
        d_sales[r] = 0
    active, base, full, elasticity = buy_terms(
        u_state, u_active, u_cash, u_income, u_treatment, in_treatment, u_dependent, u_search,
        d_state, d_active, d_price, pb,
    )  # fmt: skip
    n_open = 0
    for r in range(d_state.size):
        if d_state[r] == d_active and d_open[r]:
            n_open += 1
    open_rows = np.empty(n_open, dtype=np.int64)
    j = 0
    for r in range(d_state.size):
        if d_state[r] == d_active and d_open[r]:
            open_rows[j] = r
            j += 1
    cells = d_cell[open_rows]
    pull, exponent = pitch_attraction(
        cells, d_price[open_rows], is_centre, reputation, deterrence, violence_near, pa
    )
    put_off = np.empty(n_open)
    minus = -police_deterrence
    for j in range(n_open):
        put_off[j] = minus * credibility[cells[j]] * police[cells[j]]
    return active, base, full, elasticity, open_rows, pull, exponent, put_off


@njit(cache=True)
def refer_numbers(
    state: np.ndarray,
    spare: np.ndarray,
    phoned: np.ndarray,
    failed: np.ndarray,
    p: float,
    contacts: np.ndarray,
) -> None:
    """Word of mouth (ODD §7.6, `trade.refer`), drawing from the market stream's state:
    each buyer who went without (`failed`) is given a number with chance `p` (a uniform
    each), a random one of today's phone purchases' sellers (`phoned`, bounded integers);
    those who do not hold it yet learn it (`learn_numbers`, their slots drawn last)."""
    if p == 0 or phoned.size == 0 or failed.size == 0:
        return
    given = np.zeros(failed.size, dtype=np.bool_)
    n = 0
    for i in range(failed.size):
        if next_double(state) < p:
            given[i] = True
            n += 1
    if n == 0:
        return
    dealer = phoned[stream_integers(state, spare, phoned.size, n)]
    who = np.empty(n, dtype=np.int64)
    new = np.zeros(n, dtype=np.bool_)
    j = m = 0
    for i in range(failed.size):
        if given[i]:
            who[j] = failed[i]
            new[j] = not holds_number(contacts, failed[i], dealer[j])
            if new[j]:
                m += 1
            j += 1
    slots = stream_integers(state, spare, contacts.shape[1], m)
    learn_numbers(contacts, who[new], dealer[new], slots)


@njit(cache=True)
def trade_day(
    state: np.ndarray,
    spare: np.ndarray,
    active: np.ndarray,
    p_buy: np.ndarray,
    response: np.ndarray,
    u_home: np.ndarray,
    u_search: np.ndarray,
    u_contacts: np.ndarray,
    u_dependent: np.ndarray,
    u_cash: np.ndarray,
    n_users: int,
    u_treatment: np.ndarray,
    in_treatment: int,
    u_tolerance_until: np.ndarray,
    day: int,
    u_crimes: np.ndarray,
    d_state: np.ndarray,
    d_active: int,
    d_open: np.ndarray,
    d_cell: np.ndarray,
    d_price: np.ndarray,
    d_product_risk: np.ndarray,
    d_sales: np.ndarray,
    d_debt: np.ndarray,
    d_profit: np.ndarray,
    cell_x: np.ndarray,
    cell_y: np.ndarray,
    width: int,
    height: int,
    use_prob: float,
    keep: np.ndarray,
    open_rows: np.ndarray,
    pull: np.ndarray,
    stay: np.ndarray,
    travel: np.ndarray,
    reach: int,
    tile: int,
    capacity: int,
    distance: np.ndarray,
    radius: float,
    referral_prob: float,
    police: np.ndarray,
    pr: np.ndarray,
    unit_cost: float,
    repay_share: float,
    recording: bool,
    tally: np.ndarray,
    unmet_row: int,
    tally_rows: np.ndarray,
    count_rows: np.ndarray,
    units_row: int,
    revenue_row: int,
    ledger: np.ndarray,
    touched: np.ndarray,
    ledger_rows: np.ndarray,
    harm_rows: np.ndarray,
) -> tuple:
    """A day's trade after its terms (ODD §7.6-7.9), in one call, drawing from the
    market stream's state in the phase's order: who buys and who calls a number
    (`buyers_and_calls`); the open market for the rest, police putting buyers off, and
    unmet demand at home (`street_market`, at the open pitches `open_rows` with their
    attraction `pull` and chance `stay`); dealer capacity and buyers' memory of their
    searches (`serve`); word of mouth (`refer_numbers`); then paying, use and the books
    (`purchases`). With no buyer, only the dealers' smoothed profit (`dealer_profit`, on
    no takings). Returns `purchases`' users caught offending and where, and the users
    who overdosed and whether fatally."""
    buyers, homes, _, seller, call, has_contact, pick, via_open, search, hx, hy = (
        buyers_and_calls(
            state, active, p_buy, response, d_state, d_active, d_open, u_home, u_search,
            use_prob, keep, u_contacts, cell_x, cell_y,
        )
    )  # fmt: skip
    if buyers.size == 0:
        dealer_profit(d_state, d_active, np.zeros(d_state.size), d_debt, d_profit, repay_share)
        none = np.empty(0, dtype=np.int64)
        return none, none, none, np.empty(0, dtype=np.bool_)
    cells = d_cell[open_rows]
    served = street_market(
        state, spare, hx, hy, cell_x[cells], cell_y[cells], pull, travel, reach, tile, width,
        height, seller, via_open, search, open_rows, stay, call, has_contact, pick, homes,
        tally, unmet_row,
    )  # fmt: skip
    phoned, failed = serve(
        state, spare, seller, served, capacity, d_cell, tally, unmet_row, u_search, buyers,
        via_open, u_home, cell_x, cell_y, distance, radius,
    )  # fmt: skip
    refer_numbers(state, spare, phoned, failed, referral_prob, u_contacts)
    return purchases(
        state, spare, buyers, seller, via_open, u_dependent, u_cash, n_users, u_treatment,
        in_treatment, u_tolerance_until, day, u_contacts, u_home, u_crimes, d_state, d_active,
        d_price, d_product_risk, d_cell, d_sales, d_debt, d_profit, police, pr, unit_cost,
        repay_share, recording, tally, tally_rows, count_rows, units_row, revenue_row, ledger,
        touched, ledger_rows, harm_rows,
    )  # fmt: skip


# Rows of stock_counts' result, in the order the record phase books them.
(
    ACTIVE_DEALERS,
    OPEN_DEALERS,
    CLOSED_DEALERS,
    USER_DEALERS,
    EXPLOITING,
    USERS,
    DEPENDENT_USERS,
    IN_TREATMENT,
    WAITING,
    IN_CUSTODY,
) = range(10)


@njit(cache=True)
def stock_counts(
    d_state: np.ndarray,
    d_cell: np.ndarray,
    d_open: np.ndarray,
    d_tier: np.ndarray,
    d_exploits: np.ndarray,
    u_state: np.ndarray,
    u_home: np.ndarray,
    u_dependent: np.ndarray,
    u_treatment: np.ndarray,
    u_dealer: np.ndarray,
    d_arrested_by: np.ndarray,
    u_arrested_by: np.ndarray,
    n_cells: int,
    n_accounts: int,
    codes: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """The day's stocks per cell (ODD §7.17): dealers at their pitch, users at home.

    Active dealers (open, closed, user-dealers, those exploiting runners), users
    (dependent, in treatment, waiting), and people in custody: dealers remanded or in
    prison at their last pitch, and users in prison (not user-dealers, whose custody
    counts once, on the dealer row) at home. `codes` gives the state codes: dealer
    active, remanded, prison, user-dealer tier; user active, prison, in treatment,
    waiting. Counts are whole numbers, exact in any order. Also returns the people in
    custody by the account charged with it (`arrested_by`, -1: nobody's; ODD §7.17).
    """
    out = np.zeros((10, n_cells))
    custody_by = np.zeros(n_accounts, dtype=np.int64)
    for r in range(d_state.size):
        c = d_cell[r]
        if d_state[r] == codes[0]:
            out[ACTIVE_DEALERS, c] += 1
            if d_open[r]:
                out[OPEN_DEALERS, c] += 1
            else:
                out[CLOSED_DEALERS, c] += 1
            if d_tier[r] == codes[3]:
                out[USER_DEALERS, c] += 1
            if d_exploits[r]:
                out[EXPLOITING, c] += 1
        elif d_state[r] == codes[1] or d_state[r] == codes[2]:
            out[IN_CUSTODY, c] += 1
            if d_arrested_by[r] >= 0:
                custody_by[d_arrested_by[r]] += 1
    for r in range(u_state.size):
        h = u_home[r]
        if u_state[r] == codes[4]:
            out[USERS, h] += 1
            if u_dependent[r]:
                out[DEPENDENT_USERS, h] += 1
        elif u_state[r] == codes[5] and u_dealer[r] < 0:
            out[IN_CUSTODY, h] += 1
            if u_arrested_by[r] >= 0:
                custody_by[u_arrested_by[r]] += 1
        if u_treatment[r] == codes[6]:
            out[IN_TREATMENT, h] += 1
        elif u_treatment[r] == codes[7]:
            out[WAITING, h] += 1
    return out, custody_by


@njit(cache=True)
def book_stocks(
    d_state: np.ndarray,
    d_cell: np.ndarray,
    d_open: np.ndarray,
    d_tier: np.ndarray,
    d_exploits: np.ndarray,
    u_state: np.ndarray,
    u_home: np.ndarray,
    u_dependent: np.ndarray,
    u_treatment: np.ndarray,
    u_dealer: np.ndarray,
    d_arrested_by: np.ndarray,
    u_arrested_by: np.ndarray,
    n_accounts: int,
    codes: np.ndarray,
    tally: np.ndarray,
    tally_rows: np.ndarray,
    stock_rows: np.ndarray,
    ledger: np.ndarray,
    touched: np.ndarray,
    ledger_rows: np.ndarray,
    harm_rows: np.ndarray,
    recording: bool,
    d_sales: np.ndarray,
    d_sales_total: np.ndarray,
    d_days_active: np.ndarray,
) -> np.ndarray:
    """The day's stocks into the books (ODD §7.17), in one call: `stock_counts`, then
    its rows into the tally (`tally`, the day's (metric, cell) values: stock row
    `stock_rows[k]` into `tally_rows[k]`) and the harm ledger (`ledger`, its (type x
    cause, cell) rows, marked in `touched`), as `add_rows` adds them; on a recorded day
    each dealer's sales today join its total and active dealers (codes[0]) count one
    more active day. Returns the people in custody by the account charged with it.
    Whole numbers throughout: exact.
    """
    stocks, custody_by = stock_counts(
        d_state,
        d_cell,
        d_open,
        d_tier,
        d_exploits,
        u_state,
        u_home,
        u_dependent,
        u_treatment,
        u_dealer,
        d_arrested_by,
        u_arrested_by,
        tally.shape[1],
        n_accounts,
        codes,
    )
    add_rows(tally, tally_rows, stocks, stock_rows)
    for k in range(ledger_rows.size):
        touched[ledger_rows[k]] = True
    add_rows(ledger, ledger_rows, stocks, harm_rows)
    if recording:
        for r in range(d_state.size):
            d_sales_total[r] += d_sales[r]
            if d_state[r] == codes[0]:
                d_days_active[r] += 1
    return custody_by


@njit(cache=True)
def add_at(target: np.ndarray, cells: np.ndarray, weights: np.ndarray) -> None:
    """`np.add.at(target, cells, weights)` on a 1-d target (ODD §7.17: the day's tally
    and harm ledger): target[cells[i]] += weights[i], one at a time in index order, as
    numpy adds them (repeated cells included)."""
    for i in range(cells.size):
        target[cells[i]] += weights[i]


@njit(cache=True)
def add_count_at(target: np.ndarray, cells: np.ndarray, count: float) -> None:
    """`np.add.at(target, cells, count)` on a 1-d target for one count per event
    (ODD §7.17): target[cells[i]] += count, one at a time in index order."""
    for i in range(cells.size):
        target[cells[i]] += count


@njit(cache=True)
def add_rows(values: np.ndarray, rows: np.ndarray, counts: np.ndarray, from_rows: np.ndarray):
    """values[rows[k]] += counts[from_rows[k]] for each k, in place (ODD §7.17: the day's
    stocks booked into the day's tally, one row per stock)."""
    for k in range(rows.size):
        target, source = values[rows[k]], counts[from_rows[k]]  # rows: loops numba vectorises
        for x in range(target.size):
            target[x] += source[x]


@njit(cache=True)
def _block_sum(a: np.ndarray, start: int, n: int) -> float:
    """numpy's sum of at most 128 floats: eight partial sums, then the rest in order."""
    if n < 8:
        total = 0.0
        for i in range(start, start + n):
            total += a[i]
        return total
    r0, r1, r2, r3 = a[start], a[start + 1], a[start + 2], a[start + 3]
    r4, r5, r6, r7 = a[start + 4], a[start + 5], a[start + 6], a[start + 7]
    i = 8
    while i < n - n % 8:
        k = start + i
        r0, r1, r2, r3 = r0 + a[k], r1 + a[k + 1], r2 + a[k + 2], r3 + a[k + 3]
        r4, r5, r6, r7 = r4 + a[k + 4], r5 + a[k + 5], r6 + a[k + 6], r7 + a[k + 7]
        i += 8
    total = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        total += a[start + i]
        i += 1
    return total


@njit(cache=True)
def numpy_sum(a: np.ndarray, start: int, n: int) -> float:
    """`a[start:start + n].sum()` as numpy computes it, bit for bit (for kernels that
    replace a numpy sum, ODD §7.17): numpy's pairwise summation, which sums blocks of up
    to 128 (`_block_sum`) and splits longer runs in two halves at a multiple of eight.

    The halves are walked with an explicit stack rather than by recursion, which numba's
    disk cache does not hold safely.
    """
    if n <= 128:
        return _block_sum(a, start, n)
    lo = np.empty(64, dtype=np.int64)  # a run's start, length, and its state:
    size = np.empty(64, dtype=np.int64)  # 0 not split yet, 1 summing its first half,
    state = np.empty(64, dtype=np.int64)  # 2 summing its second half (first in `first`)
    first = np.empty(64)
    top, total, done = 0, 0.0, False
    lo[0], size[0], state[0] = start, n, 0
    while top >= 0:
        half = size[top] // 2
        half -= half % 8
        if done:  # `total` is the sum of the half run just finished
            if state[top] == 1:
                first[top], state[top], done = total, 2, False
                top += 1
                lo[top], size[top], state[top] = lo[top - 1] + half, size[top - 1] - half, 0
            else:
                total = first[top] + total
                top -= 1
        elif size[top] <= 128:
            total, done = _block_sum(a, lo[top], size[top]), True
            top -= 1
        else:
            state[top] = 1
            top += 1
            lo[top], size[top], state[top] = lo[top - 1], half, 0
    return total


@njit(cache=True)
def _move_type(
    today: np.ndarray,
    touched: np.ndarray,
    by_cause: np.ndarray,
    record: bool,
    total: np.ndarray,
    was_booked: bool,
    h: int,
) -> bool:
    """One harm type's part of closing the ledger's day (`close_harm_day`): its booked
    (type, cause) rows, in cause order, have their town-wide sums (as numpy sums them)
    added to `by_cause` on a recorded day, are added into the type's counts `total`
    and zeroed, and are unmarked. `total` holds the buffer's last day's counts if
    `was_booked`, else zeros: today's first row is then added to zeros as it is moved
    (0 + count, the adds of zeroing the row first), and a type booked then but not today
    has its row zeroed. Returns whether the type was booked today."""
    n_cells = total.size
    cleared = not was_booked
    booked = False
    for c in range(touched.shape[1]):
        if not touched[h, c]:
            continue
        booked = True
        row = today[h, c]
        if record:
            by_cause[h, c] += numpy_sum(row, 0, n_cells)
        if cleared:
            for x in range(n_cells):  # loops numba vectorises
                total[x] += row[x]
                row[x] = 0.0
        else:
            for x in range(n_cells):
                total[x] = 0.0 + row[x]
                row[x] = 0.0
            cleared = True
        touched[h, c] = False
    if not cleared:
        for x in range(n_cells):
            total[x] = 0.0
    return booked


@njit(cache=True)
def close_harm_day(
    today: np.ndarray,
    touched: np.ndarray,
    by_cause: np.ndarray,
    by_cell: np.ndarray,
    record: bool,
    out: np.ndarray,
    booked: np.ndarray,
) -> None:
    """Close the harm ledger's day (ODD §7.17 recording), in place: the day's (type,
    cell) counts into `out`, a buffer the ledger reuses.

    `today` is the ledger's (type, cause, cell) array and `touched` the (type, cause)
    pairs booked today. For each booked pair, in (type, cause) order: on a recorded
    day its town-wide sum (as numpy sums it) is added to `by_cause`; its cells are added
    into the day's counts by type and zeroed for the next day; the pair is unmarked
    (`_move_type`). On a recorded day the counts by type are then added to the running
    `by_cell`. `booked` marks the types `out` holds counts of: on entry those of the
    buffer's last day (their rows are cleared), on return today's. A type booked on
    neither day keeps its row of zeros, and adding zeros changes no total, so only
    booked rows are walked.
    """
    for h in range(today.shape[0]):
        booked[h] = _move_type(today, touched, by_cause, record, out[h], booked[h], h)
        if record and booked[h]:
            total, running = out[h], by_cell[h]
            for x in range(total.size):
                running[x] += total[x]


@njit(cache=True)
def weighted_harm(
    weights: np.ndarray,
    counts: np.ndarray,
    booked: np.ndarray,
    heat: np.ndarray,
    keep: float,
    fresh: float,
) -> np.ndarray:
    """Weighted harm per cell: weight x count, summed over harm types (ODD §7.17), and the
    recent-harm map `heat` (x keep, plus fresh x today's), in place.

    Types are added in order from the first, as numpy's sum over the first axis does;
    types not `booked` today have no counts, and with weights that are never negative
    their zero terms change no sum, so they are skipped.
    """
    n_types, n_cells = counts.shape
    out = np.zeros(n_cells)
    for h in range(n_types):
        if not booked[h]:
            continue
        weight, count = weights[h], counts[h]  # rows: loops numba vectorises
        for x in range(n_cells):
            out[x] += weight[x] * count[x]
    for x in range(n_cells):
        heat[x] = heat[x] * keep + fresh * out[x]
    return out


@njit(cache=True)
def close_and_weigh(
    today: np.ndarray,
    touched: np.ndarray,
    by_cause: np.ndarray,
    by_cell: np.ndarray,
    record: bool,
    out: np.ndarray,
    booked: np.ndarray,
    weights: np.ndarray,
    heat: np.ndarray,
    keep: float,
    fresh: float,
) -> np.ndarray:
    """Close the harm ledger's day and weigh it (ODD §7.17 recording), in one call:
    `close_harm_day`, then `weighted_harm` of the day's counts by type. Returns the
    weighted harm per cell; `heat` is updated in place.

    The same adds in the same order as those two kernels, in fewer passes over the
    cells: each type is moved (`_move_type`), then, if booked, its counts go into the
    running totals and the weighted harm in one pass, type by type from the first (the
    order of `weighted_harm`'s sum), while they are still in cache."""
    n_types, n_cells = out.shape
    weighed = np.zeros(n_cells)
    for h in range(n_types):
        total = out[h]
        booked[h] = _move_type(today, touched, by_cause, record, total, booked[h], h)
        if not booked[h]:
            continue
        weight = weights[h]
        if record:
            running = by_cell[h]
            for x in range(n_cells):
                running[x] += total[x]
                weighed[x] += weight[x] * total[x]
        else:
            for x in range(n_cells):
                weighed[x] += weight[x] * total[x]
    for x in range(n_cells):
        heat[x] = heat[x] * keep + fresh * weighed[x]
    return weighed


# Parameters of kernels.detection_exposure, by index.
DE_RATE, DE_CLOSED_VISIBILITY, DE_GUARD_BONUS, DE_FATIGUE = range(4)
N_DETECTION_PARAMS = 4


@njit(cache=True)
def detection_exposure(
    cells: np.ndarray,
    is_open: np.ndarray,
    hours: np.ndarray,
    around: np.ndarray,
    guardianship: np.ndarray,
    hours_seen: np.ndarray,
    pr: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Active dealers' exposure to detection, without officers' flagging attention
    (ODD §7.11 detection), and the exponent of that attention.

    For a dealer at `cells[i]`: the officer-hours seen there (an open dealer is also
    seen from the neighbouring cells, `around` holding each cell's Moore sum, at a
    quarter weight), times visibility (1 open, pr[DE_CLOSED_VISIBILITY] closed) and
    the guardianship bonus, times the detection rate; and -fatigue x officer-hours
    already spent there / 100. Multiplied in the numpy code's order: the phase takes
    the exponential (`exp` stays in numpy).
    """
    n = cells.size
    exposure = np.empty(n)
    fatigue = np.empty(n)
    for i in range(n):
        c = cells[i]
        if is_open[i]:
            seen, visibility = hours[c] + 0.25 * (around[c] - hours[c]), 1.0
        else:
            seen, visibility = hours[c], pr[DE_CLOSED_VISIBILITY]
        guard = 1.0 + pr[DE_GUARD_BONUS] * guardianship[c]
        exposure[i] = pr[DE_RATE] * seen * visibility * guard
        fatigue[i] = -pr[DE_FATIGUE] * hours_seen[c] / 100.0
    return exposure, fatigue


@njit(cache=True)
def street_exposure(
    state: np.ndarray,
    active_code: int,
    cell: np.ndarray,
    is_open: np.ndarray,
    hours: np.ndarray,
    width: int,
    height: int,
    guardianship: np.ndarray,
    hours_seen: np.ndarray,
    pr: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Street detection's terms for the whole phase (ODD §7.11 detection): the active
    dealers' rows (ascending, as `Dealers.active`), and `detection_exposure` at their
    pitches, with each cell's Moore sum of officer-hours taken as `fields.box_sum` takes
    it (`box_sum_floats`, radius 1). `state` holds the live rows only. With no
    officer-hours anywhere (none nonzero, as numpy's `any` tests), no dealer: nobody is
    seen."""
    seen_any = False
    for c in range(hours.size):
        if hours[c] != 0.0:
            seen_any = True
            break
    if not seen_any:
        none = np.empty(0)
        return np.empty(0, dtype=np.int64), none, none
    act = rows_where(state, active_code)
    around = box_sum_floats(hours.reshape((width, height)), 1).ravel()
    exposure, fatigue = detection_exposure(
        cell[act], is_open[act], hours, around, guardianship, hours_seen, pr
    )
    return act, exposure, fatigue


@njit(cache=True)
def detected_dealers(
    act: np.ndarray,
    unseen: np.ndarray,
    draws: np.ndarray,
    cell: np.ndarray,
    cell_x: np.ndarray,
    cell_y: np.ndarray,
    cell_unit: np.ndarray,
    width: int,
    height: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Who is seen dealing today, and by which unit (ODD §7.11 detection): active dealer
    `act[i]` is seen when `draws[i] < 1 - unseen[i]` (`unseen`, exp(-hazard), from
    numpy), and kept when a unit stands on the pitch or a neighbouring cell
    (`covering_unit`); in the order of `act`."""
    n = 0
    seen = np.empty(act.size, dtype=np.int64)
    for i in range(act.size):
        if draws[i] < 1.0 - unseen[i]:
            seen[n] = act[i]
            n += 1
    seen = seen[:n]
    cells = cell[seen]
    unit = covering_unit(cell_x[cells], cell_y[cells], cell_unit, width, height)
    keep = 0
    for i in range(n):
        if unit[i] >= 0:
            seen[keep] = seen[i]
            unit[keep] = unit[i]
            keep += 1
    return seen[:keep], unit[:keep]


@njit(cache=True)
def detect_dealers(
    pcg: np.ndarray,
    act: np.ndarray,
    unseen: np.ndarray,
    cell: np.ndarray,
    cell_x: np.ndarray,
    cell_y: np.ndarray,
    cell_unit: np.ndarray,
    width: int,
    height: int,
) -> tuple[np.ndarray, np.ndarray]:
    """`detected_dealers` (ODD §7.11 detection) with its uniforms, one per active
    dealer, drawn from the enforcement stream's state `pcg`."""
    draws = np.empty(act.size)
    for i in range(act.size):
        draws[i] = next_double(pcg)
    return detected_dealers(act, unseen, draws, cell, cell_x, cell_y, cell_unit, width, height)


# Where an arrest books (`book_arrest_at`, `book_prosecution_at`): the tally's rows of
# arrests, seizures and prosecutions, and the ledger's (type x cause) rows of the arrest,
# the children affected and the prosecution (events.py fills both from the books' names);
# and the state codes the arrest kernels read and write (events.py too).
TA_ARRESTS, TA_SEIZURES, TA_PROSECUTIONS = range(3)
LA_ARREST, LA_CHILDREN, LA_PROSECUTION = range(3)
AC_ACTIVE, AC_REMANDED, AC_USER_DEALER, AC_USER_ACTIVE, AC_USER_PRISON = range(5)


@njit(cache=True)
def book_arrest_at(
    tally: np.ndarray,
    tally_rows: np.ndarray,
    ledger: np.ndarray,
    touched: np.ndarray,
    ledger_rows: np.ndarray,
    cell: int,
    children: int,
) -> None:
    """An arrest at `cell` in the day's tally and harm ledger (ODD §7.11 arrests, §7.17
    harm ledger): one arrest, and the children affected when there are any, each ledger
    row marked as booked today. Whole-number counts: the same sums whatever the order
    of the day's other adds (the tally's queue)."""
    tally[tally_rows[TA_ARRESTS], cell] += 1.0
    ledger[ledger_rows[LA_ARREST], cell] += 1.0
    touched[ledger_rows[LA_ARREST]] = True
    if children:
        ledger[ledger_rows[LA_CHILDREN], cell] += float(children)
        touched[ledger_rows[LA_CHILDREN]] = True


@njit(cache=True)
def book_prosecution_at(
    tally: np.ndarray,
    tally_rows: np.ndarray,
    ledger: np.ndarray,
    touched: np.ndarray,
    ledger_rows: np.ndarray,
    cell: int,
) -> None:
    """A prosecution at `cell` in the day's tally and harm ledger (ODD §7.11 arrests), as
    `book_arrest_at` books an arrest."""
    tally[tally_rows[TA_PROSECUTIONS], cell] += 1.0
    ledger[ledger_rows[LA_PROSECUTION], cell] += 1.0
    touched[ledger_rows[LA_PROSECUTION]] = True


@njit(cache=True)
def dealer_arrest(
    pcg: np.ndarray,
    r: int,
    cell: int,
    by: int,
    day: int,
    n: int,
    state: np.ndarray,
    tier: np.ndarray,
    crew: np.ndarray,
    user: np.ndarray,
    arrests: np.ndarray,
    arrested_by: np.ndarray,
    children: np.ndarray,
    convicted: np.ndarray,
    event_day: np.ndarray,
    risk: np.ndarray,
    debt: np.ndarray,
    user_state: np.ndarray,
    adverse_until: np.ndarray,
    turf_opened: np.ndarray,
    tally: np.ndarray,
    tally_rows: np.ndarray,
    ledger: np.ndarray,
    touched: np.ndarray,
    ledger_rows: np.ndarray,
    codes: np.ndarray,
    charge: float,
    convict: float,
    remand: float,
    days_to_sentence: int,
    seizure: float,
    void_user_dealer: float,
) -> tuple[int, bool, int]:
    """A dealer's arrest (ODD §7.11 arrests; N8 PRP 2024 for the seizure's debt) as
    `events.arrest_dealer` describes it, drawing from the arresting stream's state `pcg`:
    dealer row r (of `n` live rows) arrested at `cell` for account `by`; the arrest, the
    children affected (`book_arrest_at`) and the seizure booked; the seizure's value a
    debt on the crew's other active members (`share_debt`), else on the dealer; turf
    opened at the cell (`void_user_dealer` for a user-dealer, else 1); a user-dealer's
    user adversely affected for 30 days. Then the charge (a uniform under `charge`; if
    not, risk at least 0.5) and its prosecution, the conviction (under `convict`), the
    sentencing day, and remand (under `remand`: the dealer remanded and a user-dealer's
    active user in prison) or bail (risk at least 0.6). `codes` holds the state codes
    (`AC_*`). Returns the children affected, whether charged, and the user row jailed
    (-1 if none), whose treatment the caller ends (`events.leave_treatment`)."""
    arrests[r] += 1
    arrested_by[r] = by
    kids = children[r]
    book_arrest_at(tally, tally_rows, ledger, touched, ledger_rows, cell, kids)
    tally[tally_rows[TA_SEIZURES], cell] += 1.0
    if not (crew[r] >= 0 and share_debt(crew[:n], state[:n], codes[AC_ACTIVE], r, seizure, debt)):
        debt[r] += seizure
    turf_opened[cell] += void_user_dealer if tier[r] == codes[AC_USER_DEALER] else 1.0
    if user[r] >= 0:
        adverse_until[user[r]] = day + 30
    if not next_double(pcg) < charge:
        if risk[r] < 0.5:  # max(risk, 0.5), as Python's max takes it
            risk[r] = 0.5
        return kids, False, -1
    book_prosecution_at(tally, tally_rows, ledger, touched, ledger_rows, cell)
    convicted[r] = next_double(pcg) < convict
    event_day[r] = day + max(1, days_to_sentence)
    jailed = -1
    if next_double(pcg) < remand:
        state[r] = codes[AC_REMANDED]
        ur = user[r]
        if ur >= 0 and user_state[ur] == codes[AC_USER_ACTIVE]:
            user_state[ur] = codes[AC_USER_PRISON]
            jailed = ur
    elif risk[r] < 0.6:
        risk[r] = 0.6
    return kids, True, jailed


@njit(cache=True)
def user_arrests(
    pcg: np.ndarray,
    rows: np.ndarray,
    cells: np.ndarray,
    start: int,
    day: int,
    recording: bool,
    state: np.ndarray,
    dealer: np.ndarray,
    children: np.ndarray,
    adverse_until: np.ndarray,
    arrests: np.ndarray,
    tally: np.ndarray,
    tally_rows: np.ndarray,
    ledger: np.ndarray,
    touched: np.ndarray,
    ledger_rows: np.ndarray,
    codes: np.ndarray,
    charge: float,
    custody: float,
    booked: np.ndarray,
) -> int:
    """Users caught for acquisitive crime arrested (ODD §7.11 arrests), as
    `events.arrest_users` describes it, from `rows[start]` on, drawing from the
    arresting stream's state `pcg`: each user still active (codes[AC_USER_ACTIVE]) is
    arrested at `cells[i]` (`book_arrest_at`), adversely affected for 30 days and, on a
    recorded day, counted; charged under `charge` (`book_prosecution_at`) and, if not a
    user-dealer, jailed under `custody`. Stops at the first user jailed and returns its
    position (the caller draws the sentence and ends the user's treatment), else
    `rows.size`. Adds the arrests, prosecutions and children affected to `booked`."""
    for i in range(start, rows.size):
        ur = rows[i]
        if state[ur] != codes[AC_USER_ACTIVE]:
            continue
        cell = cells[i]
        kids = children[ur]
        book_arrest_at(tally, tally_rows, ledger, touched, ledger_rows, cell, kids)
        booked[0] += 1.0
        booked[2] += float(kids)
        adverse_until[ur] = day + 30
        if recording:
            arrests[ur] += 1
        if next_double(pcg) >= charge:
            continue
        book_prosecution_at(tally, tally_rows, ledger, touched, ledger_rows, cell)
        booked[1] += 1.0
        if dealer[ur] < 0 and next_double(pcg) < custody:
            return i
    return rows.size


@njit(cache=True)
def initiation_rate(
    open_sales: np.ndarray, residents: np.ndarray, rate: float, baseline: float
) -> tuple[np.ndarray, float]:
    """Where new users start today (ODD §7.15 initiation): per cell, rate x residents x
    access, access being the open sales within two cells / 10 + the baseline (visible
    open markets normalise use and ease access); and the town-wide total, as numpy sums
    it. The box sum as `fields.box_sum` takes it; the rest in the numpy code's order."""
    near = box_sum_floats(open_sales, 2).ravel()
    out = np.empty(near.size)
    for x in range(near.size):
        out[x] = rate * residents[x] * (near[x] / 10.0 + baseline)
    return out, numpy_sum(out, 0, out.size)


# Parameters of kernels.exit_pressure, by index.
EP_RISK_COST, EP_CLOSED_RISK, EP_VIOLENCE_COST, EP_EXIT_PROFIT, EP_EXIT_RISK = range(5)
N_EXIT_PARAMS = 5


@njit(cache=True)
def exit_pressure(
    state: np.ndarray,
    active: int,
    entered_day: np.ndarray,
    day: int,
    cell: np.ndarray,
    profit: np.ndarray,
    risk: np.ndarray,
    is_open: np.ndarray,
    violence_near: np.ndarray,
    pr: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Active dealers, and whether each is minded to leave the trade (ODD §7.14 exit):
    poor, its profit less the expected cost of risk (risk cost x risk, x the closed
    mode's share of it when closed) and of violence nearby below the exit profit, after
    its first 30 days; or scared, its risk above the exit risk. The numpy code's
    operations, in its order."""
    n = 0
    for r in range(state.size):
        n += state[r] == active
    act = np.empty(n, dtype=np.int64)
    minded = np.empty(n, dtype=np.bool_)
    i = 0
    for r in range(state.size):
        if state[r] != active:
            continue
        mode = 1.0 if is_open[r] else pr[EP_CLOSED_RISK]
        net = profit[r] - pr[EP_RISK_COST] * risk[r] * mode
        net = net - pr[EP_VIOLENCE_COST] * violence_near[cell[r]]
        poor = net < pr[EP_EXIT_PROFIT] and day - entered_day[r] > 30
        act[i], minded[i] = r, poor or risk[r] > pr[EP_EXIT_RISK]
        i += 1
    return act, minded


@njit(cache=True)
def exit_day(
    pcg: np.ndarray,
    state: np.ndarray,
    active: int,
    entered_day: np.ndarray,
    day: int,
    cell: np.ndarray,
    profit: np.ndarray,
    risk: np.ndarray,
    is_open: np.ndarray,
    violence_near: np.ndarray,
    pr: np.ndarray,
    exit_prob: float,
) -> np.ndarray:
    """The dealers who leave the trade today (ODD §7.14 exit), drawing from the entry
    stream's state `pcg`: of the active dealers (`exit_pressure`), one uniform each, in
    row order; those minded to leave go when theirs is below `exit_prob`."""
    act, minded = exit_pressure(
        state, active, entered_day, day, cell, profit, risk, is_open, violence_near, pr
    )
    leave = np.empty(act.size, dtype=np.int64)
    n = 0
    for i in range(act.size):
        go = next_double(pcg) < exit_prob
        if minded[i] and go:
            leave[n] = act[i]
            n += 1
    return leave[:n]


@njit(cache=True)
def entrant_crews(
    pcg: np.ndarray,
    spare: np.ndarray,
    crew: np.ndarray,
    retired: np.ndarray,
    n: int,
    next_id: int,
) -> tuple[np.ndarray, bool, bool]:
    """The crews `n` entrants would join (ODD §7.14 entry: crew-tier entrants mostly join
    existing crews, recruitment, else form a new one), drawing from the entry stream's
    state: the crews with a live member (`crew`, -1 for none) less the `retired` ones, in
    increasing order; one of them each, as `Generator.choice(existing, n)` draws it
    (`stream_integers`); then a uniform each, and those under 0.3 form crew `next_id`
    instead. Returns the crews, whether any crew exists (with none, nothing is drawn),
    and whether crew `next_id` was formed."""
    top = -1
    for r in range(crew.size):
        top = max(top, crew[r])
    present = np.zeros(top + 1, dtype=np.bool_)  # a mask over crew ids, as np.unique sorts
    for r in range(crew.size):
        if crew[r] >= 0:
            present[crew[r]] = True
    for c in retired:
        if c < present.size:
            present[c] = False
    existing = np.flatnonzero(present)
    if existing.size == 0:
        return np.empty(0, dtype=np.int64), False, False
    crews = existing[stream_integers(pcg, spare, existing.size, n)]
    formed = False
    for i in range(n):
        if next_double(pcg) < 0.3:
            crews[i] = next_id
            formed = True
    return crews, True, formed


@njit(cache=True)
def custody_due(
    event_day: np.ndarray,
    u_state: np.ndarray,
    release_day: np.ndarray,
    u_dealer: np.ndarray,
    prison: int,
    day: int,
) -> tuple[np.ndarray, np.ndarray]:
    """What custody has due today (ODD §7.2, §7.12): the dealer rows whose event
    (sentence or release) falls today, in row order (numpy's nonzero of event_day ==
    day), and `released_users`, the users released today as the users' states stand
    before the dealers' events (which may change them: the phase takes them again then)."""
    due = rows_where(event_day, day)
    return due, released_users(u_state, release_day, u_dealer, prison, day)


@njit(cache=True)
def released_users(
    state: np.ndarray, release_day: np.ndarray, dealer: np.ndarray, prison: int, day: int
) -> np.ndarray:
    """Users in prison released today who are not user-dealers (ODD §7.2: a
    user-dealer's custody is its dealer row's), in row order."""
    out = np.empty(state.size, dtype=np.int64)
    n = 0
    for r in range(state.size):
        if state[r] == prison and release_day[r] == day and dealer[r] < 0:
            out[n] = r
            n += 1
    return out[:n]


@njit(cache=True)
def career_candidates(
    state: np.ndarray,
    dependent: np.ndarray,
    treatment: np.ndarray,
    active: int,
    in_treatment: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Who may move on in a drug-using career today (ODD §7.15 progression, recovery):
    active recreational users, who may become dependent, and active users not in
    treatment, who may stop; each in row order."""
    n = state.size
    recreational = np.empty(n, dtype=np.int64)
    free = np.empty(n, dtype=np.int64)
    n_rec = n_free = 0
    for r in range(n):  # each row written, kept by counting it (no branch to mispredict)
        is_active = state[r] == active
        recreational[n_rec] = r
        n_rec += is_active & (not dependent[r])
        free[n_free] = r
        n_free += is_active & (treatment[r] != in_treatment)
    return recreational[:n_rec], free[:n_free]


@njit(cache=True)
def progress_and_stop(
    dependent: np.ndarray,
    recreational: np.ndarray,
    free: np.ndarray,
    draws: np.ndarray,
    p_progress: float,
    p_stop_dependent: float,
    p_stop_recreational: float,
) -> np.ndarray:
    """Progression, then natural recovery (ODD §7.15), `dependent` in place.

    Recreational user `recreational[i]` becomes dependent when `draws[i]` is below
    `p_progress`; then `free[j]` stops when `draws[recreational.size + j]` is below its
    chance to stop, a dependent user's (one who progressed today included) or a
    recreational one's. Returns the rows that stop, in row order.
    """
    for i in range(recreational.size):
        if draws[i] < p_progress:
            dependent[recreational[i]] = True
    stop = np.empty(free.size, dtype=np.int64)
    n = 0
    for j in range(free.size):
        r = free[j]
        p = p_stop_dependent if dependent[r] else p_stop_recreational
        if draws[recreational.size + j] < p:
            stop[n] = r
            n += 1
    return stop[:n]


@njit(cache=True)
def relapse_candidates(
    state: np.ndarray,
    dependent: np.ndarray,
    recovered_day: np.ndarray,
    recovered: int,
    day: int,
    window: int,
) -> np.ndarray:
    """Who may relapse today (ODD §7.15): recovered users who were dependent and
    recovered less than `window` days ago, in row order."""
    out = np.empty(state.size, dtype=np.int64)
    n = 0
    for r in range(state.size):
        if state[r] == recovered and dependent[r] and day - recovered_day[r] < window:
            out[n] = r
            n += 1
    return out[:n]


@njit(cache=True)
def career_day(
    state: np.ndarray,
    u_state: np.ndarray,
    dependent: np.ndarray,
    treatment: np.ndarray,
    active: int,
    in_treatment: int,
    p_progress: float,
    p_stop_dependent: float,
    p_stop_recreational: float,
) -> np.ndarray:
    """Progression, then natural recovery (ODD §7.15), drawing from the initiation
    stream's state: `career_candidates`, one uniform per candidate (the progression
    draws first), then `progress_and_stop`. Returns the rows that stop, in row order."""
    rec, free = career_candidates(u_state, dependent, treatment, active, in_treatment)
    draws = np.empty(rec.size + free.size)
    for i in range(draws.size):
        draws[i] = next_double(state)
    return progress_and_stop(
        dependent, rec, free, draws, p_progress, p_stop_dependent, p_stop_recreational
    )


@njit(cache=True)
def relapse_day(
    state: np.ndarray,
    u_state: np.ndarray,
    dependent: np.ndarray,
    recovered_day: np.ndarray,
    treatment: np.ndarray,
    tolerance_until: np.ndarray,
    recovered: int,
    active: int,
    no_treatment: int,
    day: int,
    window: int,
    p_relapse: float,
    tolerance_loss_days: int,
) -> None:
    """Relapse (ODD §7.15), in place, drawing from the initiation stream's state: each
    of `relapse_candidates` relapses when its uniform is below `p_relapse`, and is
    active again, out of treatment, its tolerance lost for `tolerance_loss_days`."""
    at_risk = relapse_candidates(u_state, dependent, recovered_day, recovered, day, window)
    for i in range(at_risk.size):
        if next_double(state) < p_relapse:
            r = at_risk[i]
            u_state[r] = active
            treatment[r] = no_treatment
            tolerance_until[r] = day + tolerance_loss_days


@njit(cache=True)
def violent_incidents(
    state: np.ndarray,
    act: np.ndarray,
    chance: np.ndarray,
    d_cell: np.ndarray,
    d_violence: np.ndarray,
    incidents_recent: np.ndarray,
    n_rows: int,
    homicide_share: float,
    serious_share: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Who of the active dealers `act` starts a violent incident today, and how serious
    it is (ODD §7.10 violence), drawing from the violence stream's state: one uniform per
    dealer (an incident when below its `chance`), recent incidents decayed (x 0.99 over
    the first `n_rows` rows) and the day's added, then one uniform per incident for its
    severity. A dealer's shares scale with its violence trait over the active dealers'
    median (capped at 2): homicide min(1, share x scale), serious or worse min(1,
    (homicide + serious share) x scale). Returns the dealers, their cells, the homicide,
    serious and other shares (each incident's expected severity) and the cells of the
    homicides, in the numpy code's order of draws and operations (the median as
    numpy's: the middle value, or the mean of the two)."""
    n = act.size
    hit = np.empty(n, dtype=np.bool_)
    k = 0
    for i in range(n):
        hit[i] = next_double(state) < chance[i]
        k += hit[i]
    who = np.empty(k, dtype=np.int64)
    k = 0
    for i in range(n):
        if hit[i]:
            who[k] = act[i]
            k += 1
    for r in range(n_rows):
        incidents_recent[r] *= 0.99
    for j in range(k):
        incidents_recent[who[j]] += 1.0
    where = np.empty(k, dtype=np.int64)
    p_homicide, p_serious, p_other = np.empty(k), np.empty(k), np.empty(k)
    homicides = np.empty(k, dtype=np.int64)
    n_homicides = 0
    if k == 0:
        return who, where, p_homicide, p_serious, p_other, homicides
    severity = np.empty(k)
    for j in range(k):
        severity[j] = next_double(state)
    traits = np.sort(d_violence[act])
    half = n // 2
    median = traits[half] if n % 2 else (traits[half - 1] + traits[half]) / 2.0
    serious_or_worse_share = homicide_share + serious_share
    ratio = d_violence[who] / median  # an array's division: numpy's inf and NaN at 0
    for j in range(k):
        # np.minimum's: the cap unless below it (a NaN stays NaN)
        scale = ratio[j]
        scale = 2.0 if scale >= 2.0 else scale
        ph, ps = homicide_share * scale, serious_or_worse_share * scale
        ph, ps = 1.0 if ph >= 1.0 else ph, 1.0 if ps >= 1.0 else ps
        where[j] = d_cell[who[j]]
        p_homicide[j], p_serious[j], p_other[j] = ph, ps - ph, 1.0 - ps
        if severity[j] < ph:
            homicides[n_homicides] = where[j]
            n_homicides += 1
    return who, where, p_homicide, p_serious, p_other, homicides[:n_homicides]


# Where kernels.region_columns finds what it derives (metrics._COLUMN_PLAN).
PLAN_UNITS, PLAN_REVENUE, PLAN_PRICE, PLAN_NET_HARM, PLAN_N_COLUMNS = range(5)


@njit(cache=True)
def region_runs(start: np.ndarray, cells: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The cells of each region (region r's are `cells[start[r]:start[r + 1]]`, in
    increasing order) as runs of consecutive cells, for `region_sums` (ODD §7.17
    recording): region r's runs are `first[at[r]:at[r + 1]]`, of `length` cells each."""
    at = np.empty(start.size, dtype=np.int64)
    first = np.empty(cells.size, dtype=np.int64)  # at most one run a cell
    length = np.zeros(cells.size, dtype=np.int64)
    q = -1
    for r in range(start.size - 1):
        at[r] = q + 1
        for k in range(start[r], start[r + 1]):
            if k == start[r] or cells[k] != cells[k - 1] + 1:
                q += 1
                first[q] = cells[k]
            length[q] += 1
    at[start.size - 1] = q + 1
    return at, first[: q + 1].copy(), length[: q + 1].copy()


@njit(cache=True)
def _runs_sum4(
    a: np.ndarray,
    b: np.ndarray,
    e: np.ndarray,
    f: np.ndarray,
    first: np.ndarray,
    length: np.ndarray,
    lo: int,
    hi: int,
    n: int,
) -> tuple[float, float, float, float]:
    """The sums of four rows over one region of `n` cells, its runs `lo:hi` (`region_runs`):
    each in four running sums (the region's cells k, k+1, k+2, k+3 of each four, the last
    n % 4 cells into the first), then (first + second) + (third + fourth): a fixed order.
    Four rows at once, so that sixteen independent sums keep the adds busy, over
    consecutive cells, which the compiler loads four at a time."""
    a0 = a1 = a2 = a3 = b0 = b1 = b2 = b3 = 0.0
    e0 = e1 = e2 = e3 = f0 = f1 = f2 = f3 = 0.0
    cut = n - n % 4  # cells from here on go into the first sum
    k = 0  # the position in the region of cell c
    for q in range(lo, hi):
        c, end = first[q], first[q] + length[q]
        while c < end:
            if k % 4 == 0 and k + 4 <= cut and c + 4 <= end:
                while c + 4 <= end and k + 4 <= cut:
                    a0, a1, a2, a3 = a0 + a[c], a1 + a[c + 1], a2 + a[c + 2], a3 + a[c + 3]
                    b0, b1, b2, b3 = b0 + b[c], b1 + b[c + 1], b2 + b[c + 2], b3 + b[c + 3]
                    e0, e1, e2, e3 = e0 + e[c], e1 + e[c + 1], e2 + e[c + 2], e3 + e[c + 3]
                    f0, f1, f2, f3 = f0 + f[c], f1 + f[c + 1], f2 + f[c + 2], f3 + f[c + 3]
                    c += 4
                    k += 4
                continue
            j = k % 4 if k < cut else 0
            if j == 0:
                a0, b0, e0, f0 = a0 + a[c], b0 + b[c], e0 + e[c], f0 + f[c]
            elif j == 1:
                a1, b1, e1, f1 = a1 + a[c], b1 + b[c], e1 + e[c], f1 + f[c]
            elif j == 2:
                a2, b2, e2, f2 = a2 + a[c], b2 + b[c], e2 + e[c], f2 + f[c]
            else:
                a3, b3, e3, f3 = a3 + a[c], b3 + b[c], e3 + e[c], f3 + f[c]
            c += 1
            k += 1
    return (
        (a0 + a1) + (a2 + a3),
        (b0 + b1) + (b2 + b3),
        (e0 + e1) + (e2 + e3),
        (f0 + f1) + (f2 + f3),
    )


@njit(cache=True)
def _tally_row(values: np.ndarray, harm: np.ndarray, m: int) -> np.ndarray:
    """Row m of the tally, or the weighted harm after the last (for `region_sums`)."""
    return values[m] if m < values.shape[0] else harm


@njit(cache=True)
def region_sums(
    values: np.ndarray,
    harm: np.ndarray,
    start: np.ndarray,
    at: np.ndarray,
    first: np.ndarray,
    length: np.ndarray,
    clear: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """A recorded day's sums over regions (ODD §7.17 recording): each tally row of
    `values` (rows x cells), and the weighted harm per cell `harm`, summed over the cells
    of each region; region r has `start[r + 1] - start[r]` cells, in the runs of
    consecutive cells `region_runs` gives. In a fixed order (`_runs_sum4`), not a BLAS
    product, so the sums do not depend on how many threads BLAS takes, and a run starts
    no threads to crowd other runs' workers (at 4x the population, BLAS's threads tripled
    a day's time on a busy machine). Rows go four at a time, the harm after the tally's
    (a last group short of four repeats its last row). With `clear`, the tally's rows are
    zeroed once summed, for the next day (`DayTally.reset`)."""
    n_rows = values.shape[0]
    n_regions = start.size - 1
    sums = np.empty((n_rows, n_regions))
    net = np.empty(n_regions)
    last = n_rows  # the harm's row
    for m in range(0, n_rows + 1, 4):
        ms = (m, min(m + 1, last), min(m + 2, last), min(m + 3, last))
        rows = (
            _tally_row(values, harm, ms[0]),
            _tally_row(values, harm, ms[1]),
            _tally_row(values, harm, ms[2]),
            _tally_row(values, harm, ms[3]),
        )
        for r in range(n_regions):
            got = _runs_sum4(
                rows[0],
                rows[1],
                rows[2],
                rows[3],
                first,
                length,
                at[r],
                at[r + 1],
                start[r + 1] - start[r],
            )
            for i in range(4):
                if ms[i] < n_rows:
                    sums[ms[i], r] = got[i]
                else:
                    net[r] = got[i]
        if clear:  # the tally's rows, summed, are zeroed while in cache
            for i in range(4):
                if ms[i] < n_rows:
                    row = rows[i]
                    for x in range(row.size):
                        row[x] = 0.0
    return sums, net


@njit(cache=True)
def region_rows(
    values: np.ndarray,
    harm: np.ndarray,
    start: np.ndarray,
    at: np.ndarray,
    first: np.ndarray,
    length: np.ndarray,
    rows: np.ndarray,
    columns: np.ndarray,
    plan: np.ndarray,
) -> np.ndarray:
    """A recorded day's timeseries rows in one call (ODD §7.17 recording): the sums over
    regions (`region_sums`, zeroing the tally's rows once summed), laid out region by
    region (`region_columns`)."""
    sums, net_harm = region_sums(values, harm, start, at, first, length, True)
    return region_columns(sums, net_harm, rows, columns, plan)


@njit(cache=True)
def region_columns(
    sums: np.ndarray,
    net_harm: np.ndarray,
    rows: np.ndarray,
    columns: np.ndarray,
    plan: np.ndarray,
) -> np.ndarray:
    """One recorded day's timeseries rows, one per region (ODD §7.17 recording).

    `sums` holds the tally's (row, region) sums: tally row `rows[k]` goes to column
    `columns[k]`. The price column is takings over units sold (NaN where nothing
    sold), and the net-harm column is `net_harm`; `plan` says where these are
    (`PLAN_*`). Copies and one division each: exact.
    """
    n_regions = sums.shape[1]
    out = np.empty((n_regions, plan[PLAN_N_COLUMNS]))
    for g in range(n_regions):
        for k in range(rows.size):
            out[g, columns[k]] = sums[rows[k], g]
        units = sums[plan[PLAN_UNITS], g]
        price = np.nan  # no sales, no price
        if units > 0:
            price = sums[plan[PLAN_REVENUE], g] / units
        out[g, plan[PLAN_PRICE]] = price
        out[g, plan[PLAN_NET_HARM]] = net_harm[g]
    return out


@njit(cache=True)
def newly_gone(state: np.ndarray, gone: np.ndarray, dead: int) -> np.ndarray:
    """Rows whose state is `dead` and not yet marked `gone`, marked now, in row order
    (the Mesa views of users who died leave the model: ODD §7.1 entities)."""
    out = np.empty(state.size, dtype=np.int64)
    n = 0
    for r in range(state.size):
        if state[r] == dead and not gone[r]:
            gone[r] = True
            out[n] = r
            n += 1
    return out[:n]


@njit(cache=True)
def holds_number(contacts: np.ndarray, user: int, dealer: int) -> bool:
    """Whether a user already holds a dealer's number (ODD §7.6)."""
    for j in range(contacts.shape[1]):  # noqa: SIM110 (a plain loop numba compiles)
        if contacts[user, j] == dealer:
            return True
    return False


@njit(cache=True)
def learn_numbers(
    contacts: np.ndarray, users: np.ndarray, dealers: np.ndarray, slots: np.ndarray
) -> None:
    """Users learn dealers' numbers, in place (ODD §7.6: contacts gained by buying, or by
    referral): each goes into the user's first empty slot, else over `slots[i]` (drawn by
    the caller). Users hold none of these numbers yet."""
    for i in range(users.size):
        slot = slots[i]
        for j in range(contacts.shape[1] - 1, -1, -1):  # the first empty slot, if any
            if contacts[users[i], j] < 0:
                slot = j
        contacts[users[i], slot] = dealers[i]


def warm() -> None:
    """Compile (or load from the disk cache) every kernel with the types the model uses."""
    counts = np.zeros((3, 3), dtype=np.int64)
    box_sum_counts(counts, 1)
    box_sum_floats(np.zeros((3, 3)), 1)
    people_near(np.zeros(1, dtype=np.int8), np.zeros(1, dtype=np.int64), 1, 3, 3, 1)
    i = np.zeros(1, dtype=np.int64)
    open_market_choice(i, i, i, i, np.ones(1), np.ones((3, 3)), np.zeros(1), i, 3, 1)
    crewmates_near(i, i, i)
    f1 = np.zeros(1)
    dispute_pressure(i, i, np.zeros(1, dtype=np.bool_), i, f1, f1, f1, f1, i, i, 1, np.ones(5))
    crew_members(i, np.zeros(1, dtype=np.int8), i, np.zeros(1, dtype=np.int8))
    share_debt(i, np.zeros(1, dtype=np.int8), 0, 0, 1.0, np.zeros(1))
    contacts_held(np.full((1, 1), -1), np.zeros(1, dtype=np.int8), 1, 1)
    ok = np.zeros(2, dtype=np.bool_)
    one = np.ones(1)
    picked = contact_choice(i, np.full((1, 1), -1), ok, np.full(1, 0.5), np.zeros(2))
    street_choice(i, i, i, i, one, np.ones((3, 3)), 1, 64, one, 3, 3)
    street_outcome(i.copy(), ok[:1].copy(), i, i, i, one, one, *picked[1:])
    over_capacity(i, i, 1)
    buyers_today(i, one, one, one, np.zeros(1, dtype=np.int8), 0, ok, i, one, 0.5)
    calls = contact_calls(i, i, np.full((1, 1), -1), ok, np.full(1, 0.5), np.zeros(2), i, i)
    t2 = np.zeros((2, 1))
    buyers_and_calls(
        np.ones(4, dtype=np.uint64), i, one, one, np.zeros(1, dtype=np.int8), 0, ok, i, one,
        0.5, one, np.full((1, 1), -1), i, i,
    )  # fmt: skip
    served_buyers(i.copy(), ok[:1].copy(), i, i, i, one, one, *calls[1:4], i, t2, 0)
    pcg0, spare0 = np.ones(4, dtype=np.uint64), np.zeros(2, dtype=np.uint32)
    serve(
        pcg0, spare0, i.copy(), i, 1, i, t2, 0, one.copy(), i, ok[:1], i, i, i,
        np.zeros((3, 3)), 1.0,
    )  # fmt: skip
    street_market(
        pcg0, spare0, i, i, i, i, one, np.ones((3, 3)), 1, 64, 3, 3, i.copy(), ok[:1].copy(),
        i, i, one, *calls[1:4], i, t2, 0,
    )  # fmt: skip
    stream_interval(pcg0, spare0, 5)
    stream_permutation(pcg0, spare0, 3)
    treatment_candidates(
        np.zeros(1, dtype=np.int8), 0, np.zeros(1, dtype=np.int8), 0, ok, i, i, i, 0, 1.0
    )
    client_day(i, i, np.zeros(1), i.copy(), i, np.zeros((3, 1)), 0, 1, np.zeros(N_CLIENT_PARAMS))
    treatment_clients(
        np.zeros(1, dtype=np.int8), 2, i, i, i, 1, np.zeros((2, 1)), np.zeros(2, dtype=np.bool_), 0
    )
    buy_terms(
        np.zeros(1, dtype=np.int8),
        1,
        np.zeros(1),
        np.zeros(1),
        np.zeros(1, dtype=np.int8),
        2,
        ok,
        np.zeros(1),
        np.zeros(1, dtype=np.int8),
        0,
        np.zeros(1),
        np.ones(N_BUY_PARAMS),
    )
    dealer_profit(np.zeros(1, dtype=np.int8), 0, np.zeros(1), np.zeros(1), np.zeros(1), 0.5)
    f = np.zeros(1)
    f2 = np.zeros((2, 3))
    codes = np.zeros(1, dtype=np.int8)
    b = np.zeros(1, dtype=np.bool_)
    stock_counts(
        codes, i, b, codes, b, codes, i, b, codes, i, i, i, 1, 1, np.zeros(8, dtype=np.int64)
    )
    add_rows(f2, i, f2, i)
    i1 = np.zeros(1, dtype=np.int64)
    book_stocks(
        codes,
        i,
        b,
        codes,
        b,
        codes,
        i,
        b,
        codes,
        i,
        i,
        i,
        1,
        np.zeros(8, dtype=np.int64),
        f2,
        i,
        i,
        f2,
        np.zeros(2, dtype=np.bool_),
        i,
        i,
        True,
        i,
        i1,
        i1.copy(),
    )
    pcg, spare = np.ones(4, dtype=np.uint64), np.zeros(2, dtype=np.uint32)
    _mul_high(np.uint64(3), np.uint64(5))
    next_uint64(pcg)
    next_uint32(pcg, spare)
    next_double(pcg)
    stream_integers(pcg, spare, 3, 2)
    pay_and_use(
        pcg,
        spare,
        i,
        i,
        ok,
        ok,
        f,
        1,
        codes,
        2,
        i,
        0,
        np.full((1, 1), -1),
        f,
        f,
        i,
        f,
        np.zeros(N_TRADE_PARAMS),
    )
    covering_unit(i, i, np.full(9, -1, dtype=np.int64), 3, 3)
    purchases(
        pcg,
        spare,
        i,
        i,
        ok,
        ok,
        f,
        1,
        codes,
        2,
        i,
        0,
        np.full((1, 1), -1),
        i,
        i.copy(),
        codes,
        0,
        f,
        f,
        i,
        i.copy(),
        f.copy(),
        f.copy(),
        f,
        np.zeros(N_TRADE_PARAMS),
        1.0,
        0.5,
        True,
        np.zeros((12, 1)),
        i,
        i,
        0,
        1,
        np.zeros((12, 1)),
        np.zeros(12, dtype=np.bool_),
        i,
        i,
    )
    trade_terms(
        codes, 1, f, f, codes, 2, b, f, codes, 1, b, i, f, i.copy(), np.ones(N_BUY_PARAMS), b,
        f, f, f,
        np.zeros(N_ATTRACTION_PARAMS), f, f, 0.5,
    )  # fmt: skip
    trade_day(
        pcg, spare, i[:0], f[:0], f[:0], i, f, np.full((1, 1), -1), b, f.copy(), 1, codes, 2, i,
        0, i.copy(), codes, 0, b, i, f, f, i.copy(), f.copy(), f.copy(), i, i, 3, 3, 0.5, f[:0],
        i[:0], f[:0], f[:0], np.ones((3, 3)), 1, 64, 1, np.zeros((3, 3)), 1.0, 0.5, f,
        np.zeros(N_TRADE_PARAMS), 1.0, 0.5, True, np.zeros((12, 1)), 0, i, i, 0, 1,
        np.zeros((12, 1)), np.zeros(12, dtype=np.bool_), i, i,
    )  # fmt: skip
    refer_numbers(pcg, spare, i[:0], i[:0], 0.0, np.full((1, 1), -1))
    book_purchases(
        i,
        i,
        ok[:1],
        ok[:1],
        f,
        ok[:1],
        ok[:1],
        ok[:1],
        ok[:1],
        ok[:1],
        ok[:1],
        f,
        0.1,
        f,
        i,
        i.copy(),
        i,
        f,
        i.copy(),
        1.0,
        True,
        1,
    )
    g = np.zeros((3, 3))
    decay_layers(np.zeros((4, 9)), np.zeros(9), g, g, g, g, g, g, g, g, np.zeros(4))
    fear_day(f, f, f, f, f, f, f, 0.5, 0.5)
    f9 = np.zeros(9)
    fields_day(
        np.zeros((5, 9)),
        np.zeros(4, dtype=np.int64),
        f9,
        g,
        g,
        g,
        g,
        g,
        g,
        g,
        g,
        np.zeros(4),
        g,
        codes,
        i,
        b,
        0,
        f9,
        f9,
        f9,
        f9[:0],
        f9,
        0.5,
        0.5,
        0,
        1,
        np.zeros((2, 9)),
        np.zeros(2, dtype=np.bool_),
        i,
        i,
    )
    cand = np.zeros((1, 1), dtype=np.int64)
    w2 = np.zeros((2, f.size))  # the watch on each cell (guardianship, residents)
    pitch_value(cand, ok[:1], f, f, f, f, f, w2, f, i, i, np.zeros(N_PITCH_PARAMS))
    learn_risk(f.copy(), f.copy(), f, f, f, i, np.ones(N_RISK_PARAMS))
    blend_risk(i, f.copy(), f, 0.5)
    town_pitch_terms(
        f, f, g, ok[:1], np.zeros(1, dtype=np.int8), i, 1, f, f, f, np.ones(N_RISK_PARAMS)
    )
    candidate_pitches(
        i, np.zeros((1, 2), dtype=np.int64), np.zeros((1, 2), dtype=np.int64), i, i, 3, 3
    )
    best_pitch(np.zeros((1, 2)), f, ok[:1], 1.0)
    opts = relocation_options(i, i, i, cand, cand, i, i, 3, 3, ok[:1], f, i, 0.5)
    review_pitches(
        pcg, spare, i, 0.1, 1, 1, i, i, i, i, 3, 3, ok[:1], f, i, 0.5
    )  # fmt: skip
    relocate_dealers(
        i, *opts, f, i, f, w2, f, i, i, np.zeros(N_PITCH_PARAMS), i, 1, 0.1, ok[:1].copy(),
        i.copy(), i.copy(),
    )  # fmt: skip
    switch_mode(i, f, b.copy(), f, i, 1, 0.5, f)
    risk_signal(f.copy(), f.copy(), f, f, 1, 1, f, codes, 1, i, np.ones(N_RISK_PARAMS))
    dealer_reviews(
        pcg, spare, i[:0], f.copy(), f[:0], 0.5, np.full((1, 1), -1), codes, 1, 0.1, 1, 1,
        codes, 1, i, i.copy(), b.copy(), i, i, 3, 3, 0.5, f, f, g, ok[:1], f, f, f,
        np.ones(N_RISK_PARAMS),
    )  # fmt: skip
    settle_dealers(
        pcg, i[:0], i[:0], np.zeros((0, 3), dtype=np.int64), ok[:0], f[:0], f[:0], f, f, f, w2,
        f, i, i, np.zeros(N_PITCH_PARAMS), i, 1, 0.1, 0.5, codes, 1, b.copy(), i.copy(),
        i.copy(), f.copy(), f, f.copy(), 1.0, 1.0,
    )  # fmt: skip
    reviewers(i, f, 0.1, f)
    risk_prices(codes, 0, f, f.copy(), 1.0, 1.0)
    initiation_rate(np.zeros((3, 3)), np.zeros(9), 1.0, 1.0)
    released_users(codes, i, i, 1, 0)
    custody_due(i, codes, i, i, 1, 0)
    rows_where(codes, 0)
    rows_where(i, 0)
    violence_pressure(
        codes, 0, i, b, i, f, f, f, f, i, i, 1, np.ones(N_DISPUTE_PARAMS)
    )  # fmt: skip
    newly_gone(codes, np.zeros(1, dtype=np.bool_), 2)
    site_hours(np.zeros((3, 3)), i, i)
    treatment_seeking(
        np.zeros((3, 3)), i, i, codes, 1, codes, 0, b, i, i, i, 0, 1.0, 0.5
    )  # fmt: skip
    exit_pressure(codes, 0, i, 0, i, f, f, b, f, np.ones(N_EXIT_PARAMS))
    presence_day(np.zeros(9), np.zeros((3, 3)), np.zeros((3, 3)), 0.9, 0.1, 8.0)
    deploy_day(
        np.zeros(9), np.zeros((3, 3)), np.zeros((3, 3)), 0.9, 0.1, 8.0, np.zeros(9),
        np.zeros((2, 9)), 0, np.zeros((2, 9)), np.zeros(2, dtype=np.bool_), 1,
    )  # fmt: skip
    cumulative(np.ones(2))
    _after(np.ones(2), 0.5)
    weighted_indices(np.ones(2), np.zeros(1))
    beat_cells(np.ones(2), i, np.zeros((1, 1)))
    walk_beats(np.zeros((1, 1), dtype=np.int64), i, f, True, 1.0, f, f, f, i.copy(), i.copy())
    b2 = np.zeros(2, dtype=np.bool_)
    close_harm_day(np.zeros((2, 2, 3)), np.zeros((2, 2), dtype=np.bool_), f2, f2, True, f2, b2)
    _move_type(
        np.zeros((2, 2, 3)), np.zeros((2, 2), dtype=np.bool_), f2, True, np.zeros(3), True, 0
    )
    numpy_sum(f, 0, 1)
    _block_sum(f, 0, 1)
    remember_search(f, i, i, ok[:1], i, i, i, i, np.zeros((3, 3)), 1.0)
    weighted_harm(np.ones((2, 3)), np.zeros((2, 3)), b2, np.zeros(3), 0.97, 0.03)
    close_and_weigh(
        np.zeros((2, 2, 3)),
        np.zeros((2, 2), dtype=np.bool_),
        f2,
        f2,
        True,
        f2,
        b2,
        np.ones((2, 3)),
        np.zeros(3),
        0.97,
        0.03,
    )
    start = np.zeros(2, dtype=np.int64)
    region_sums(f2, f, start, *region_runs(start, i), False)
    _runs_sum4(f, f, f, f, i, i, 0, 0, 0)
    _tally_row(f2, f, 0)
    region_columns(f2, f, i, i, np.zeros(5, dtype=np.int64))
    plan = np.array([0, 1, 0, 1, 2])  # units, takings, price and net harm; two columns
    region_rows(np.zeros((2, 1)), np.zeros(1), start, *region_runs(start, i), i[:0], i[:0], plan)
    pitch_attraction(i, f, b, f, f, f, np.zeros(N_ATTRACTION_PARAMS))
    detection_exposure(i, b, f, f, f, f, np.zeros(N_DETECTION_PARAMS))
    street_exposure(codes, 1, i, b, np.zeros(9), 3, 3, f, f, np.zeros(N_DETECTION_PARAMS))
    detected_dealers(i, f, f, i, i, i, np.full(9, -1, dtype=np.int64), 3, 3)
    career_candidates(codes, b, codes, 1, 2)
    progress_and_stop(b.copy(), i, i, f, 0.1, 0.1, 0.1)
    relapse_candidates(codes, b, i, 1, 0, 1)
    career_day(pcg, codes, b.copy(), codes, 1, 2, 0.1, 0.1, 0.1)
    relapse_day(pcg, codes.copy(), b, i, codes.copy(), i.copy(), 1, 2, 0, 0, 1, 0.1, 1)
    violent_incidents(pcg, i, f, i, f, f.copy(), 1, 0.1, 0.1)
    add_at(f.copy(), i, f)
    add_count_at(f.copy(), i, 1.0)
    treatment_seekers(pcg, i, i, f, f, 0.1)
    exit_day(pcg, codes, 0, i, 0, i, f, f, b, f, np.ones(N_EXIT_PARAMS), 0.1)
    start_shift(1, i.copy(), i.copy(), f, 8.0)
    start_treatment_rows(
        i, 0, 0, 1, 2, codes.copy(), i.copy(), i.copy(), i.copy(), i.copy(), i, f2.copy(), 0
    )
    entrant_crews(pcg, spare, i, i[:0], 1, 0)
    detect_dealers(pcg, i, f, i, i, i, np.full(9, -1, dtype=np.int64), 3, 3)
    books, rows3 = np.zeros((3, 1)), np.arange(3)
    book_arrest_at(books, rows3, books.copy(), np.zeros(3, dtype=np.bool_), rows3, 0, 1)
    book_prosecution_at(books, rows3, books.copy(), np.zeros(3, dtype=np.bool_), rows3, 0)
    dealer_arrest(
        pcg, 0, 0, 0, 0, 1, codes.copy(), codes, i, np.full(1, -1), i.copy(), i.copy(), i,
        b.copy(), i.copy(), f.copy(), f.copy(), codes.copy(), i.copy(), f.copy(), books, rows3,
        books.copy(), np.zeros(3, dtype=np.bool_), rows3, np.arange(5), 0.5, 0.5, 0.5, 1, 1.0, 0.5,
    )  # fmt: skip
    user_arrests(
        pcg, i, i, 0, 0, True, codes.copy(), i, i, i.copy(), i.copy(), books, rows3,
        books.copy(), np.zeros(3, dtype=np.bool_), rows3, np.arange(5), 0.5, 0.5, np.zeros(3),
    )  # fmt: skip
    clients_day(
        pcg, codes, 1, i, i, i, 1, np.zeros((2, 3)), np.zeros(2, dtype=np.bool_), 0, f, i.copy(),
        i, i, 0, 1, np.zeros(N_CLIENT_PARAMS),
    )  # fmt: skip
    learn_numbers(np.full((1, 1), -1), i, i, i)
    holds_number(np.full((1, 1), -1), 0, 0)


if __name__ == "__main__":
    warm()
