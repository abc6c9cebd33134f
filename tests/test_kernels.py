"""The compiled kernels give exactly what the numpy code they replaced gives.

Each reference below is the numpy version of the same rule as it stood before
the kernel (vectorised), so a kernel that changes any float, or the choice a
buyer makes, fails here before it shifts a regression fingerprint.
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from marketsim import kernels
from marketsim.burnin import dump_state
from marketsim.fields import box_sum
from marketsim.model import MarketModel
from marketsim.rng import integers, raw_state, set_raw_state
from marketsim.scenario import load_scenario
from tests.conftest import ROOT, small


def _box_sum_reference(a: np.ndarray, r: int) -> np.ndarray:
    """Summed-area table on a zero-padded copy (the numpy code before the kernel)."""
    w, h = a.shape
    n = 2 * r + 1
    c = np.zeros((w + n, h + n))
    c[r + 1 : r + 1 + w, r + 1 : r + 1 + h] = a
    c.cumsum(axis=0, out=c)
    c.cumsum(axis=1, out=c)
    return c[n:, n:] - c[:-n, n:] - c[n:, :-n] + c[:-n, :-n]


@pytest.mark.parametrize("r", [1, 2, 4, 7])
def test_box_sum_matches_the_numpy_summed_area_table_exactly(r):
    rng = np.random.default_rng(r)
    for shape in ((13, 9), (50, 50), (1, 5)):
        floats = rng.random(shape) * rng.integers(1, 1000)
        assert np.array_equal(box_sum(floats, r), _box_sum_reference(floats, r))
        counts = rng.integers(0, 5, shape)
        assert np.array_equal(box_sum(counts, r), _box_sum_reference(counts.astype(float), r))
        assert np.array_equal(box_sum(counts > 2, r), _box_sum_reference(counts > 2, r))


def _choice_reference(hx, hy, ox, oy, pull, kernel, draw, near):
    """The open-market draw as whole-matrix numpy (the code before the kernel)."""
    offset = np.abs(hx[:, None] - ox[None, near]) * kernel.shape[1] + np.abs(
        hy[:, None] - oy[None, near]
    )
    w = kernel.take(offset)
    w *= pull[None, near]
    cum = np.cumsum(w, axis=1)
    total = cum[:, -1]
    idx = (cum < (draw * total)[:, None]).sum(axis=1)
    return np.where(total > 0, near[np.minimum(idx, near.size - 1)], -1)


def test_open_market_choice_matches_the_numpy_draw_exactly():
    rng = np.random.default_rng(7)
    side = 30
    dx, dy = np.meshgrid(np.arange(side), np.arange(side), indexing="ij")
    dist = np.hypot(dx, dy)
    for kernel, reach in (
        (np.where(dist <= 6, np.exp(-dist / 3), 0.0), 6),  # zero beyond the search radius
        (np.exp(-dist / 3), side),  # every pitch in reach
    ):
        _check_open_market_choice(rng, kernel, reach, side)


def _check_open_market_choice(rng, kernel, reach, side):
    for _ in range(20):
        nb, m = rng.integers(1, 200), rng.integers(1, 80)
        hx, hy = rng.integers(0, side, nb), rng.integers(0, side, nb)
        ox, oy = rng.integers(0, side, m), rng.integers(0, side, m)
        pull = rng.random(m) * 3
        pull[rng.random(m) < 0.2] = 0.0  # pitches that weigh nothing
        draw = rng.random(nb)
        draw[0] = 0.0  # the first pitch, even one that weighs nothing
        near = np.flatnonzero(rng.random(m) < 0.8)
        if near.size == 0:
            continue
        fast = kernels.open_market_choice(hx, hy, ox, oy, pull, kernel, draw, near, side, reach)
        ref = _choice_reference(hx, hy, ox, oy, pull, kernel, draw, near)
        assert np.array_equal(fast, ref)
        assert (fast == -1).any() or (fast >= 0).all()


def _over_capacity_reference(rng, seller, capacity):
    """Sellers' capacity in numpy (the code before the kernel): shuffle the served
    buyers, stable-sort them by seller, and turn away each seller's buyers past
    `capacity`."""
    served = np.flatnonzero(seller >= 0)
    served = served[rng.permutation(served.size)]
    order = served[np.argsort(seller[served], kind="mergesort")]
    s = seller[order]
    first = np.r_[True, s[1:] != s[:-1]]
    start = np.maximum.accumulate(np.where(first, np.arange(s.size), 0))
    rank = np.arange(s.size) - start
    return order[rank >= capacity]


def test_over_capacity_matches_the_numpy_shuffle_and_sort_exactly():
    for seed in range(30):
        data = np.random.default_rng(seed)
        n, n_sellers = data.integers(0, 400), data.integers(1, 60)
        seller = data.integers(-1, n_sellers, n)
        capacity = int(data.integers(0, 12))
        ref_rng, rng = np.random.default_rng(seed), np.random.default_rng(seed)
        expected = _over_capacity_reference(ref_rng, seller, capacity)
        served = np.flatnonzero(seller >= 0)
        fast = kernels.over_capacity(seller, served[rng.permutation(served.size)], capacity)
        assert np.array_equal(fast, expected)
        # both consumed the same draws, so the stream continues identically
        assert ref_rng.random() == rng.random()


def test_numpy_sum_matches_numpy_bit_for_bit():
    """Kernels that replace a numpy sum use numpy's own summation order."""
    rng = np.random.default_rng(5)
    for n in [*range(0, 300), 1000, 2500, 2501, 4099]:
        a = rng.random(n) * 10.0 ** rng.uniform(-3, 6, n)
        assert kernels.numpy_sum(a, 0, n) == a.sum()
        if n > 3:
            assert kernels.numpy_sum(a, 3, n - 3) == a[3:].sum()


def _close_day_reference(today, touched, by_cause, by_cell, record):
    """The ledger's close of day as numpy (the code before close_harm_day)."""
    hs, cs = np.nonzero(touched)
    if record and hs.size:
        by_cause[hs, cs] += today[hs, cs].sum(axis=1)
    out = np.zeros((today.shape[0], today.shape[2]))
    for h, c in zip(hs, cs, strict=True):
        out[h] += today[h, c]
        today[h, c] = 0.0
    touched[:] = False
    if record:
        by_cell += out
    return out


@pytest.mark.parametrize("record", [True, False])
def test_close_harm_day_and_weighted_harm_match_numpy_exactly(record):
    """The ledger's close of day and the record phase's weighted harm, against the numpy
    code before the kernels: booked (type, cause) rows summed town-wide into the totals by
    cause and added in order by type, then weights x counts summed over types, and the
    recent-harm map. The counts buffer is reused from day to day, as the ledger does."""
    rng = np.random.default_rng(3)
    for _ in range(10):
        n_types, n_causes, n_cells = rng.integers(1, 20), rng.integers(1, 5), rng.integers(1, 3000)
        out = np.zeros((n_types, n_cells))
        booked_types = np.zeros(n_types, dtype=bool)
        by_cause, by_cell = rng.random((n_types, n_causes)), rng.random((n_types, n_cells))
        heat = rng.random(n_cells)
        for _day in range(3):
            booked = rng.random((n_types, n_causes)) < 0.4
            today = np.where(booked[:, :, None], rng.random((n_types, n_causes, n_cells)) * 7, 0.0)
            ref = [x.copy() for x in (today, booked, by_cause, by_cell)]
            types_today = booked.any(axis=1)
            expected = _close_day_reference(*ref, record)
            kernels.close_harm_day(today, booked, by_cause, by_cell, record, out, booked_types)
            assert np.array_equal(out, expected)
            assert np.array_equal(booked_types, types_today)
            for fast, slow in zip((today, booked, by_cause, by_cell), ref, strict=True):
                assert np.array_equal(fast, slow)
            assert not today.any() and not booked.any()  # cleared for the next day
            weights = rng.random((n_types, n_cells)) * 100
            weights[rng.random(n_types) < 0.2] = 0.0  # profiles give some types no weight
            expected_heat = heat * 0.97
            per_cell = (weights * expected).sum(axis=0)
            expected_heat += 0.03 * per_cell
            got = kernels.weighted_harm(weights, out, booked_types, heat, 0.97, 0.03)
            assert np.array_equal(got, per_cell)
            assert np.array_equal(heat, expected_heat)


def test_remember_search_matches_numpy_exactly():
    """Buyers' search memory against the trade phase's numpy code before the kernel."""
    rng = np.random.default_rng(5)
    side, radius = 20, 7
    cell_x, cell_y = np.divmod(np.arange(side * side), side)
    for _ in range(10):
        n_users, n_dealers = rng.integers(1, 300), rng.integers(1, 50)
        search, home = rng.random(n_users), rng.integers(0, side * side, n_users)
        pitch = rng.integers(0, side * side, n_dealers)
        buyers = rng.permutation(n_users)[: rng.integers(0, n_users + 1)]
        seller = rng.integers(-1, n_dealers, buyers.size)
        via_open = rng.random(buyers.size) < 0.6
        expected = search.copy()
        cost = np.zeros(buyers.size)
        street = via_open & (seller >= 0)
        h, p = home[buyers[street]], pitch[seller[street]]
        trip = np.hypot(cell_x[h] - cell_x[p], cell_y[h] - cell_y[p])
        cost[street] = np.minimum(1.0, trip / radius)
        cost[seller < 0] = 1.0
        expected[buyers] = 0.9 * expected[buyers] + 0.1 * cost
        distance = np.hypot(*np.meshgrid(np.arange(side), np.arange(side), indexing="ij"))
        kernels.remember_search(
            search, buyers, seller, via_open, home, pitch, cell_x, cell_y, distance, float(radius)
        )
        assert np.array_equal(search, expected)


def test_contacts_held_matches_numpy_exactly():
    """Numbers held by active users, against the dealers phase's numpy code before the kernel."""
    rng = np.random.default_rng(11)
    for _ in range(10):
        n_users, k, n_dealers = rng.integers(0, 300), rng.integers(1, 5), rng.integers(1, 60)
        capacity = n_users + rng.integers(0, 20)  # the contact table has spare rows
        contacts = rng.integers(-1, n_dealers, (capacity, k))
        state = rng.integers(0, 4, n_users).astype(np.int8)
        held = contacts[:n_users][state == 1].ravel()
        expected = np.bincount(held[held >= 0], minlength=n_dealers)
        assert np.array_equal(kernels.contacts_held(contacts, state, 1, n_dealers), expected)


def test_stock_counts_custody_by_account_matches_numpy_exactly():
    """People in custody per cell and per account charged, against the record phase's
    numpy code before the kernel; the stocks booked into the tally in one call; and
    kernels.book_stocks against the calls it replaced (stock_counts, its rows into the
    tally and ledger, dealers' sales and active days on recorded days)."""
    rng = np.random.default_rng(13)
    codes = np.array([1, 2, 3, 1, 1, 2, 1, 2])  # dealer active, remanded, prison, tier; users
    for trial in range(10):
        nd, nu, n_cells, n_accounts = (int(x) for x in rng.integers(1, 200, 4))
        d_state, u_state = rng.integers(0, 5, nd).astype(np.int8), rng.integers(0, 4, nu)
        d_cell, u_home = rng.integers(0, n_cells, nd), rng.integers(0, n_cells, nu)
        u_dealer = rng.integers(-1, 3, nu)
        d_by, u_by = rng.integers(-1, n_accounts, nd), rng.integers(-1, n_accounts, nu)
        flags = rng.random(nd) < 0.5
        dependent, u_codes = rng.random(nu) < 0.5, u_state.astype(np.int8)
        args = (d_state, d_cell, flags, d_state, flags, u_codes, u_home, dependent, u_codes)
        args += (u_dealer, d_by, u_by)
        stocks, custody_by = kernels.stock_counts(*args, n_cells, n_accounts, codes)
        custody = (d_state == 2) | (d_state == 3)
        held = (u_state == 2) & (u_dealer < 0)
        in_custody = np.bincount(d_cell[custody], minlength=n_cells) + np.bincount(
            u_home[held], minlength=n_cells
        )
        assert np.array_equal(stocks[kernels.IN_CUSTODY], in_custody)
        by = np.concatenate([d_by[custody], u_by[held]])
        assert np.array_equal(custody_by, np.bincount(by[by >= 0], minlength=n_accounts))
        values = rng.integers(0, 9, (12, n_cells)).astype(float)
        rows, from_rows = rng.permutation(12)[:5], rng.permutation(10)[:5]
        expected = values.copy()
        for row, k in zip(rows, from_rows, strict=True):
            expected[row] += stocks[k]
        kernels.add_rows(values, rows, stocks, from_rows)
        assert np.array_equal(values, expected)
        # book_stocks: the same stocks into a tally and a ledger, with sales and active days
        tally, ledger = rng.integers(0, 9, (12, n_cells)) * 1.0, rng.random((6, n_cells))
        touched = rng.random(6) < 0.3
        l_rows, h_rows = rng.permutation(6)[:2], rng.permutation(10)[:2]
        sales, total = rng.integers(0, 5, nd + 3), rng.integers(0, 50, nd + 3)
        days, recording = rng.integers(0, 50, nd + 3), bool(trial % 2)
        ref = [a.copy() for a in (tally, ledger, touched, total, days)]
        r_tally, r_ledger, r_touched, r_total, r_days = ref
        kernels.add_rows(r_tally, rows, stocks, from_rows)
        r_touched[l_rows] = True
        kernels.add_rows(r_ledger, l_rows, stocks, h_rows)
        if recording:
            r_total[:nd] += sales[:nd]
            r_days[np.flatnonzero(d_state == 1)] += 1
        got = kernels.book_stocks(
            *args, n_accounts, codes, tally, rows, from_rows, ledger, touched, l_rows, h_rows,
            recording, sales, total, days,
        )  # fmt: skip
        assert np.array_equal(got, custody_by)
        for fast, slow in zip((tally, ledger, touched, total, days), ref, strict=True):
            assert np.array_equal(fast, slow)


def test_walk_beats_matches_numpy_exactly():
    """Units' beats booked as the police deployment's numpy code did before the kernel."""
    rng = np.random.default_rng(17)
    for visible in (True, False):
        for _ in range(10):
            n_cells, n_units = int(rng.integers(1, 60)), int(rng.integers(1, 30))
            units = rng.permutation(n_units)[: rng.integers(1, n_units + 1)]
            per_unit = int(rng.integers(1, 9))
            beats = rng.integers(0, n_cells, (units.size, per_unit))  # repeats allowed
            unit_hours = rng.random(n_units) * 8
            start = [rng.random(n_cells), rng.random(n_cells), rng.random(n_cells)]
            cell_unit, unit_cell = rng.integers(-1, 5, n_cells), rng.integers(0, 9, n_units)
            ref = [a.copy() for a in (*start, cell_unit, unit_cell)]
            attention = float(rng.choice([1.0, rng.random()]))
            h = (unit_hours[units] / per_unit)[:, None]
            np.add.at(ref[0], beats, h * attention)
            if visible:
                np.add.at(ref[1], beats, h)
            np.add.at(ref[2], beats, 1.0 / per_unit)
            ref[3][beats] = units[:, None]
            ref[4][units] = beats[:, 0]
            kernels.walk_beats(
                beats, units, unit_hours, visible, attention, *start, cell_unit, unit_cell
            )
            for fast, slow in zip((*start, cell_unit, unit_cell), ref, strict=True):
                assert np.array_equal(fast, slow)


def test_people_near_matches_numpy_exactly():
    """Buyers near each cell, against the dealers phase's numpy code before the kernel."""
    rng = np.random.default_rng(23)
    for _ in range(10):
        width, height, n = (
            int(rng.integers(1, 40)),
            int(rng.integers(1, 40)),
            int(rng.integers(0, 500)),
        )
        state, home = rng.integers(0, 4, n).astype(np.int8), rng.integers(0, width * height, n)
        homes = np.bincount(home[state == 1], minlength=width * height)
        expected = box_sum(homes.reshape(width, height), 4)
        assert np.array_equal(kernels.people_near(state, home, 1, width, height, 4), expected)


def test_decay_layers_and_fear_day_match_numpy_exactly():
    """The fields phase's layers and fear, against its numpy code before the kernels."""
    rng = np.random.default_rng(29)
    for trial in range(10):
        w, h = int(rng.integers(1, 30)), int(rng.integers(1, 30))
        n, shape = w * h, (w, h)
        today = rng.integers(0, 4, (4, n)) * (rng.random((4, n)) < 0.3).astype(float)
        turf = rng.random(n) * (rng.random(n) < 0.1)
        layers = [rng.random(shape) for _ in range(7)]  # recent, standing, rep, litter, ...
        guard, keep = rng.random(shape), rng.random(4)
        ref = [a.copy() for a in (turf, *layers)]
        r_turf, recent, standing, rep, litter, unmet, violence, void = ref
        for layer, k in ((recent, keep[0]), (standing, keep[1])):
            layer *= k
            layer += (1.0 - k) * today[0].reshape(shape)
        rep[:] = 0.5 * (recent + standing)
        litter *= 1.0 - 0.1 * (0.5 + guard)
        litter += today[1].reshape(shape)
        unmet *= 0.9
        unmet += today[2].reshape(shape)
        violence *= keep[2]
        violence += today[3].reshape(shape)
        void *= keep[3]
        void += r_turf.reshape(shape)
        r_turf[:] = 0.0
        a = layers
        kernels.decay_layers(today, turf, a[0], a[1], a[2], a[3], guard, a[4], a[5], a[6], keep)
        for fast, slow in zip((turf, *layers), ref, strict=True):
            assert np.array_equal(fast, slow)

        fm, fe, fear = rng.random(n) * 0.7, rng.random(n) * 0.7, rng.random(n)
        open_near = rng.integers(0, 3, n).astype(float)
        violence_near = rng.random(n) * 2 if trial % 2 else np.empty(0)
        raids_near = rng.random(n) * 3 if trial % 3 else np.empty(0)
        residents, km, ke = rng.integers(0, 40, n).astype(float), rng.random(), rng.random()
        r_fm, r_fe, r_fear = fm.copy(), fe.copy(), fear.copy()
        exposed = open_near > 0
        r_fm *= km
        r_fm += 0.01 * exposed
        if violence_near.size:
            r_fm += 0.15 * violence_near
        np.minimum(r_fm, 0.6, out=r_fm)
        r_fe *= ke
        if raids_near.size:
            r_fe += 0.2 * raids_near
        np.minimum(r_fe, 0.6, out=r_fe)
        r_fear[:] = np.minimum(1.0, r_fm + r_fe)
        people = kernels.fear_day(
            fm, fe, fear, open_near, violence_near, raids_near, residents, km, ke
        )
        expected = [exposed * residents, r_fear * residents, r_fm * residents, r_fe * residents]
        assert np.array_equal(people, np.array(expected))
        for fast, slow in ((fm, r_fm), (fe, r_fe), (fear, r_fear)):
            assert np.array_equal(fast, slow)


def test_book_purchases_matches_numpy_exactly():
    """The trade phase's booking of purchases, against its numpy code before the kernel."""
    rng = np.random.default_rng(31)
    for trial in range(20):
        n_users, n_dealers, n_cells = 300, int(rng.integers(1, 40)), int(rng.integers(1, 100))
        buyers = rng.permutation(n_users)[: rng.integers(0, 200)]
        seller = np.where(
            rng.random(buyers.size) < 0.8, rng.integers(0, n_dealers, buyers.size), -1
        )
        via_open = rng.random(buyers.size) < 0.5
        n = int((seller >= 0).sum())
        offend = rng.random(n) < 0.3
        offences = np.where(offend, rng.integers(1, 4, n), 0).astype(float)
        caught, pays = offend & (rng.random(n) < 0.5), rng.random(n) < 0.8
        public, litter = pays & (rng.random(n) < 0.4), pays & (rng.random(n) < 0.2)
        od = pays & (rng.random(n) < 0.1)
        fatal = od & (rng.random(n) < 0.3)
        od_risk = np.where(pays, rng.random(n) * 0.2, 0.0)
        units = rng.choice([1.0, 0.5, 1.7], n)
        home, cell = rng.integers(0, n_cells, n_users), rng.integers(0, n_cells, n_dealers)
        price, crimes = rng.random(n_dealers) * 20, rng.integers(0, 5, n_users)
        sales = rng.integers(0, 3, n_dealers)
        recording = bool(trial % 2)
        # the numpy code before the kernel
        r_crimes, r_sales = crimes.copy(), sales.copy()
        ok = np.flatnonzero(seller >= 0)
        b, s, is_open = buyers[ok], seller[ok], via_open[ok]
        where_crime = np.where(is_open, cell[s], home[b])
        if recording:
            r_crimes[b[offend]] += offences[offend].astype(np.int64)
        expected = np.zeros((11, n_cells))
        np.add.at(expected[kernels.CRIMES], where_crime[offend], offences[offend])
        bp, sp, op, pitch = b[pays], s[pays], is_open[pays], cell[s[pays]]
        np.add.at(r_sales, sp, 1)
        for row, cells in (
            (kernels.SALES, pitch),
            (kernels.OPEN_SALES, pitch[op]),
            (kernels.CLOSED_SALES, pitch[~op]),
            (kernels.PUBLIC_USE, pitch[public[pays]]),
            (kernels.LITTERED, pitch[litter[pays]]),
        ):
            np.add.at(expected[row], cells, 1.0)
        odp, fp = od[pays], fatal[pays][od[pays]]
        where_od = np.where(public[pays], pitch, home[bp])[odp]
        np.add.at(expected[kernels.OVERDOSES], where_od, 1.0)
        np.add.at(expected[kernels.OVERDOSE_DEATHS], where_od[fp], 1.0)
        np.add.at(expected[kernels.OVERDOSES_SURVIVED], where_od[~fp], 1.0)
        # the overdoses each paid use risked, in purchase order (new with the kernel)
        where_use, risk = np.where(public[pays], pitch, home[bp]), od_risk[pays]
        np.add.at(expected[kernels.OVERDOSES_RISKED_FATAL], where_use, risk * 0.3)
        np.add.at(expected[kernels.OVERDOSES_RISKED_SURVIVED], where_use, risk * (1.0 - 0.3))
        profit = np.bincount(sp, weights=units[pays] * (price[sp] - 3.5), minlength=n_dealers)
        got = kernels.book_purchases(
            buyers, seller, via_open, offend, offences, caught, pays, public, litter, od, fatal,
            od_risk, 0.3, units, home, crimes, cell, price, sales, 3.5, recording, n_cells,
        )  # fmt: skip
        assert np.array_equal(got[0], expected) and np.array_equal(got[1], profit)
        assert np.array_equal(got[2], b[caught]) and np.array_equal(got[3], where_crime[caught])
        assert np.array_equal(got[4], bp[odp]) and np.array_equal(got[5], fp)
        assert np.array_equal(crimes, r_crimes) and np.array_equal(sales, r_sales)


def _pitch_value_reference(cand, is_open, calls, own_risk, terms, town, violence_near, pr):
    """The pitch appraisal as numpy (dealers.pitch_value before the kernel); `town` holds
    the watch each cell is under (dealers.place_watch) and the cells' x and y."""
    demand, rivals, place = terms
    watched, cell_x, cell_y = town
    risk = place[cand]
    if own_risk is not None:
        risk[:, 0] = np.maximum(risk[:, 0], own_risk)
        known = pr[kernels.PV_KNOWN_SHARE] * own_risk[:, None] * is_open[:, None]
        risk = np.maximum(risk, known)
    risk = risk + watched[0][cand]
    passing = np.where(is_open[:, None], 1.0, 0.3)
    here_x, here_y = cell_x[cand[:, :1]], cell_y[cand[:, :1]]
    beside = (np.abs(cell_x[cand] - here_x) <= 1) & (np.abs(cell_y[cand] - here_y) <= 1)
    rivals_there = rivals[cand] - beside
    own = 0.0 if calls is None else calls[:, None]
    trade = pr[kernels.PV_MARGIN] * (demand[cand] * passing / (1.0 + 0.5 * rivals_there) + own)
    exposure = np.where(is_open[:, None], 1.0, pr[kernels.PV_CLOSED_RISK])
    cost = pr[kernels.PV_RISK_COST] * risk * exposure + pr[kernels.PV_RISK_COST] * watched[1][cand]
    return trade - cost - pr[kernels.PV_VIOLENCE_COST] * violence_near[cand]


def test_pitch_value_matches_numpy_exactly():
    """Dealers' pitch appraisal, with and without their own risk and customers' calls."""
    rng = np.random.default_rng(19)
    for trial in range(20):
        side = int(rng.integers(3, 30))
        n_cells, n, k = side * side, int(rng.integers(0, 40)), int(rng.integers(1, 8))
        cell_x, cell_y = np.divmod(np.arange(n_cells), side)
        cand = rng.integers(0, n_cells, (n, k))
        is_open = rng.random(n) < 0.6
        calls = rng.random(n) * 3 if trial % 2 else None
        own_risk = rng.random(n) if trial % 3 else None
        terms = (
            rng.random(n_cells) * 9,
            rng.integers(0, 6, n_cells).astype(float),
            rng.random(n_cells),
        )
        town = (rng.random((2, n_cells)), cell_x, cell_y)
        violence_near = rng.random(n_cells) * (rng.random(n_cells) < 0.3)
        pr = np.array([rng.random() * 20, rng.random(), rng.random() * 50, 0.4, rng.random() * 9])
        expected = _pitch_value_reference(
            cand, is_open, calls, own_risk, terms, town, violence_near, pr
        )
        value = kernels.pitch_value(
            cand, is_open, np.zeros(n) if calls is None else calls,
            np.empty(0) if own_risk is None else own_risk, *terms, *town[:1], violence_near,
            *town[1:], pr,
        )  # fmt: skip
        assert np.array_equal(value, expected)


@pytest.mark.parametrize(
    "overrides",
    [
        ["users.buy_prob_dependent=0", "users.buy_prob_recreational=0"],
        ["market.n_users=1"],
    ],
)
def test_a_market_with_no_buyers_runs(overrides):
    """Once crashed on day 1: a phase read an attribute only another phase created."""
    sc = load_scenario(ROOT / "scenarios" / "baseline.yaml", ["steps=20", "burn_in=5", *overrides])
    model = MarketModel(sc)
    model.run()
    ts = model.recorder.frame()
    if "users.buy_prob_dependent=0" in overrides:
        assert ts["sales"].sum() == 0
    assert model.day == 20


def test_warm_compiles_every_kernel_with_the_types_a_run_uses():
    """`python -m marketsim.kernels` (run by make) leaves no kernel to compile in a run,
    a fresh one or one restored from a shared state (a new type would compile there)."""
    kernels.warm()
    dispatchers = {n: k for n, k in vars(kernels).items() if hasattr(k, "signatures")}
    assert len(dispatchers) >= 8
    assert all(k.signatures for k in dispatchers.values())
    warmed = {n: set(k.signatures) for n, k in dispatchers.items()}
    tactics = [{"type": "standard_patrol"}, {"type": "crackdown", "start": 5, "duration": 10}]
    model = MarketModel(small(steps=20, tactics=tactics))
    while model.day < 10:
        model.step()
    restored = pickle.loads(dump_state(model))
    restored.run()
    assert restored.day == 20
    assert {n: set(k.signatures) for n, k in dispatchers.items()} == warmed


def test_buy_terms_match_numpy_exactly():
    """Who may buy and the terms of their chance, against the numpy code before the
    kernel (income paid in, base chance by dependence and treatment, full price, elasticity)."""
    rng = np.random.default_rng(11)
    n = 700
    state = rng.integers(0, 4, n).astype(np.int8)
    treatment = rng.integers(0, 4, n).astype(np.int8)
    dependent = rng.random(n) < 0.4
    income, search = rng.random(n) * 30, rng.random(n)
    cash = rng.random(n) * 50
    pr = np.empty(kernels.N_BUY_PARAMS)
    pr[kernels.BUY_DEP], pr[kernels.BUY_REC], pr[kernels.BUY_TREATED] = 0.9, 0.13, 1 - 0.37
    pr[kernels.BUY_SEARCH_COST], pr[kernels.BUY_E_DEP], pr[kernels.BUY_E_REC] = 0.7, -0.25, -0.7
    pr[kernels.BUY_BASE_PRICE] = 10.0
    d_state = rng.integers(0, 3, 300).astype(np.int8)
    d_price = 10.0 * (1.0 + rng.random(300))
    level = d_price[d_state == 1].mean() / 10.0  # trade.price_level before the kernel
    expected_cash = cash.copy()
    active = np.flatnonzero(state == 0)
    expected_cash[active] += income[active]
    dep = dependent[active]
    p_buy = np.where(dep, 0.9, 0.13) * np.where(treatment[active] == 2, 1 - 0.37, 1.0)
    full = level * (1.0 + 0.7 * search[active])
    got = kernels.buy_terms(
        state, 0, cash, income, treatment, 2, dependent, search, d_state, 1, d_price, pr
    )
    assert np.array_equal(got[0], active)
    assert np.array_equal(got[1], p_buy)
    assert np.array_equal(got[2], full)
    assert np.array_equal(got[3], np.where(dep, -0.25, -0.7))
    assert np.array_equal(cash, expected_cash)
    # No active dealer: the base price.
    _, _, full, _ = kernels.buy_terms(
        state, 0, cash, income, treatment, 2, dependent, search, d_state, 7, d_price, pr
    )
    assert np.array_equal(full, 1.0 * (1.0 + 0.7 * search[active]))


def test_dealer_profit_matches_numpy_exactly():
    """Dealers' smoothed profit and debt repayment against the trade phase's numpy code
    before the kernel."""
    rng = np.random.default_rng(17)
    n = 400
    state = rng.integers(0, 3, n).astype(np.int8)
    today = rng.normal(20, 40, n)
    debt = np.where(rng.random(n) < 0.4, rng.random(n) * 100, 0.0)
    profit = rng.normal(30, 10, n)
    act = np.flatnonzero(state == 0)
    ref_debt, ref_profit = debt.copy(), profit.copy()
    repay = np.minimum(ref_debt[act], 0.3 * np.maximum(today[act], 0))
    ref_debt[act] -= repay
    ref_profit[act] = 0.95 * ref_profit[act] + 0.05 * (today[act] - repay)
    kernels.dealer_profit(state, 0, today, debt, profit, 0.3)
    assert np.array_equal(debt, ref_debt) and np.array_equal(profit, ref_profit)


def test_candidate_pitches_and_best_pitch_match_numpy_exactly():
    """The relocation review's candidates and choice, against the numpy code before the
    kernels: clipped offsets, the switch column barred where closing needs customers,
    argmax's first highest value (NaN highest), and the gain needed to change."""
    rng = np.random.default_rng(5)
    w, h, n, k, r = 30, 20, 60, 8, 3
    cell_x, cell_y = np.repeat(np.arange(w), h), np.tile(np.arange(h), w)
    pitch = rng.integers(0, w * h, n)
    dx, dy = rng.integers(-r, r + 1, (n, k)), rng.integers(-r, r + 1, (n, k))
    nx = np.clip(cell_x[pitch][:, None] + dx, 0, w - 1)
    ny = np.clip(cell_y[pitch][:, None] + dy, 0, h - 1)
    expected = np.concatenate([pitch[:, None], nx * h + ny], axis=1)
    assert np.array_equal(kernels.candidate_pitches(pitch, dx, dy, cell_x, cell_y, w, h), expected)

    value = rng.normal(0, 5, (n, k + 1))
    value[rng.random((n, k + 1)) < 0.1] = 2.0  # ties: the first wins
    value[:5, 3] = np.nan
    value[5, 0] = np.nan
    value[6:9] = 0.4  # flat rows: staying, with |value| below 1
    switched = rng.normal(0, 5, n)
    is_open, can_close = rng.random(n) < 0.5, rng.random(n) < 0.5
    reference = switched.copy()
    reference[is_open & ~can_close] = -np.inf
    full = np.concatenate([value, reference[:, None]], axis=1)
    best = full.argmax(axis=1)
    gain = full[np.arange(n), best] - full[:, 0]
    with np.errstate(invalid="ignore"):
        change = (best > 0) & (gain > 0.1 * np.maximum(np.abs(full[:, 0]), 1.0))
    got_best, got_change = kernels.best_pitch(value, switched, ~is_open | can_close, 0.1)
    assert np.array_equal(got_best, best) and np.array_equal(got_change, change)
    assert change.any() and (best == k + 1).any() and (best == 0).any()


def test_client_day_matches_numpy_exactly():
    """Treatment clients' appointments, misses (counted in place), drop-out and completion,
    against the numpy code before the kernel, from the same three rows of uniforms."""
    rng = np.random.default_rng(13)
    n_users, n = 400, 150
    clients = np.sort(rng.choice(n_users, n, replace=False))
    site = rng.integers(0, 3, n)
    police_near = np.array([0.0, 2.5, 40.0])
    missed_count = rng.integers(0, 4, n_users)
    treatment_day = rng.integers(-200, 0, n_users)
    draws = rng.random((3, n))
    pr = np.empty(kernels.N_CLIENT_PARAMS)
    pr[kernels.CD_APPOINTMENT], pr[kernels.CD_MISSED_PER_HOUR] = 0.3, 0.05
    pr[kernels.CD_DROPOUT], pr[kernels.CD_MISSED_BOOST] = 0.01, 0.03
    expected_count = missed_count.copy()
    missed = (draws[0] < 0.3) & (draws[1] < np.minimum(1.0, 0.05 * police_near[site]))
    expected_count[clients[missed]] += 1
    drop = draws[2] < 0.01 + 0.03 * expected_count[clients]
    done = ~drop & (5 - treatment_day[clients] >= 90)
    got = kernels.client_day(
        clients, site, police_near, missed_count, treatment_day, draws, 5, 90, pr
    )
    assert np.array_equal(got[0], missed) and missed.any()
    assert np.array_equal(got[1], drop) and drop.any()
    assert np.array_equal(got[2], done) and done.any()
    assert np.array_equal(missed_count, expected_count)


def test_treatment_candidates_match_numpy_exactly():
    """Who may seek treatment, their nearest site and the boost after an adverse event,
    against the numpy code before the kernel."""
    rng = np.random.default_rng(17)
    n = 500
    state, treatment = rng.integers(0, 4, n).astype(np.int8), rng.integers(0, 4, n).astype(np.int8)
    dependent = rng.random(n) < 0.5
    home, nearest_site = rng.integers(0, 100, n), rng.integers(0, 3, 100)
    adverse_until = rng.integers(-10, 20, n)
    active = np.flatnonzero(state == 0)
    cand = active[(treatment[active] == 1) & dependent[active]]
    got = kernels.treatment_candidates(
        state, 0, treatment, 1, dependent, home, nearest_site, adverse_until, 5, 2.5
    )
    assert np.array_equal(got[0], cand) and cand.size > 10
    assert np.array_equal(got[1], nearest_site[home[cand]])
    assert np.array_equal(got[2], np.where(adverse_until[cand] > 5, 2.5, 1.0))


def _region_columns_reference(sums, net_harm, rows, columns, plan):
    """The recorder's day in numpy (the code before the kernel)."""
    units, revenue = sums[plan[kernels.PLAN_UNITS]], sums[plan[kernels.PLAN_REVENUE]]
    price = np.full(units.shape, np.nan)  # no sales, no price
    np.divide(revenue, units, out=price, where=units > 0)
    out = np.empty((sums.shape[1], plan[kernels.PLAN_N_COLUMNS]))
    out[:, columns] = sums[rows].T
    out[:, plan[kernels.PLAN_PRICE]] = price
    out[:, plan[kernels.PLAN_NET_HARM]] = net_harm
    return out


def test_region_columns_match_numpy_exactly():
    """Each region's row: tallied sums in their columns, takings over units sold as the
    price (NaN where nothing sold), net harm; the very floats the numpy code gave."""
    rng = np.random.default_rng(11)
    for _ in range(30):
        n_rows, n_regions = rng.integers(3, 40), rng.integers(1, 8)
        sums = rng.random((n_rows, n_regions)) * rng.integers(0, 2, (n_rows, n_regions)) * 900
        n_columns = n_rows  # the columns: the tallied ones but two, then price and net harm
        unit_row, revenue_row = rng.choice(n_rows, 2, replace=False)
        price_col, harm_col = rng.choice(n_columns, 2, replace=False)
        tallied = np.setdiff1d(np.arange(n_rows), [unit_row, revenue_row])
        columns = rng.permutation(np.setdiff1d(np.arange(n_columns), [price_col, harm_col]))
        rows = rng.permutation(tallied)
        plan = np.array([unit_row, revenue_row, price_col, harm_col, n_columns])
        net_harm = rng.random(n_regions) * 1e4
        fast = kernels.region_columns(sums, net_harm, rows, columns, plan)
        slow = _region_columns_reference(sums, net_harm, rows, columns, plan)
        assert np.array_equal(fast, slow, equal_nan=True)
        assert np.isnan(fast[:, price_col]).tolist() == (sums[unit_row] <= 0).tolist()


def _careers_reference(state, dependent, treatment, recovered_day, rng, p, day, window):
    """Progression, natural recovery and who may relapse, in numpy (the initiation
    phase's code before the kernels), drawing progression, then recovery, then relapse."""
    active = np.flatnonzero(state == 1)
    rec = active[~dependent[active]]
    dependent[rec[rng.random(rec.size) < p[0]]] = True
    free = active[treatment[active] != 2]
    p_stop = np.where(dependent[free], p[1], p[2])
    stop = free[rng.random(free.size) < p_stop]
    state[stop] = 3
    recovered_day[stop] = day
    recovered = np.flatnonzero(state == 3)
    at_risk = recovered[dependent[recovered] & (day - recovered_day[recovered] < window)]
    return stop, at_risk, rng.random(4)


def test_progression_recovery_and_relapse_candidates_match_numpy_exactly():
    """Same rows progress, stop and may relapse as in the numpy code, from the same
    stream, which is left where the numpy code left it (one draw of both sizes)."""
    seeds = np.random.default_rng(5)
    for seed in range(40):
        n = int(seeds.integers(0, 400))
        state = seeds.choice(np.array([1, 3, 4], dtype=np.int8), n, p=[0.7, 0.2, 0.1])
        treatment = seeds.integers(0, 3, n).astype(np.int8)
        dependent = seeds.random(n) < 0.5
        recovered_day = seeds.integers(-200, 50, n)
        p = seeds.random(3) * np.array([0.5, 0.3, 0.3])
        day, window = 50, int(seeds.integers(1, 120))
        ref = [x.copy() for x in (state, dependent, treatment, recovered_day)]
        expected = _careers_reference(*ref, np.random.default_rng(seed), p, day, window)
        rng = np.random.default_rng(seed)
        rec, free = kernels.career_candidates(state, dependent, treatment, 1, 2)
        stop = kernels.progress_and_stop(dependent, rec, free, rng.random(rec.size + free.size), *p)
        state[stop] = 3
        recovered_day[stop] = day
        at_risk = kernels.relapse_candidates(state, dependent, recovered_day, 3, day, window)
        assert np.array_equal(stop, expected[0])
        assert np.array_equal(at_risk, expected[1])
        assert np.array_equal(dependent, ref[1])
        assert np.array_equal(rng.random(4), expected[2])  # the stream is where it was


def test_detection_exposure_matches_numpy_exactly():
    """Street detection's hazard from the kernel's terms equals the numpy code's (before
    the kernel), float for float: open dealers seen from the neighbouring cells too."""
    rng = np.random.default_rng(13)
    for _ in range(30):
        n_cells, n = int(rng.integers(1, 900)), int(rng.integers(0, 300))
        cells, is_open = rng.integers(0, n_cells, n), rng.random(n) < 0.6
        hours = rng.random(n_cells) * 8 * (rng.random(n_cells) < 0.3)
        around = hours + rng.random(n_cells) * 20
        guardianship, hours_seen = rng.random(n_cells), rng.random(n_cells) * 500
        rate, lever, closed, bonus, fatigue = rng.random(5) * [0.2, 2.0, 1.0, 0.8, 3.0]
        seen = np.where(is_open, hours[cells] + 0.25 * (around[cells] - hours[cells]), hours[cells])
        vis = np.where(is_open, 1.0, closed)
        guard = 1.0 + bonus * guardianship[cells]
        flagging = np.exp(-fatigue * hours_seen[cells] / 100.0)
        expected = rate * lever * seen * vis * guard * flagging
        pr = np.empty(kernels.N_DETECTION_PARAMS)
        pr[kernels.DE_RATE], pr[kernels.DE_CLOSED_VISIBILITY] = rate * lever, closed
        pr[kernels.DE_GUARD_BONUS], pr[kernels.DE_FATIGUE] = bonus, fatigue
        exposure, exponent = kernels.detection_exposure(
            cells, is_open, hours, around, guardianship, hours_seen, pr
        )
        assert np.array_equal(exposure * np.exp(exponent), expected)


def test_street_exposure_and_detected_dealers_match_numpy_exactly():
    """The street-detection kernels give the numpy code's (before them) active rows,
    terms, detected dealers and covering units, float for float; no dealer when no
    officer-hours are out (the phase's early return)."""
    from marketsim.fields import box_sum

    rng = np.random.default_rng(29)
    for trial in range(30):
        w, h = int(rng.integers(1, 30)), int(rng.integers(1, 30))
        n_cells, n = w * h, int(rng.integers(0, 300))
        state = rng.integers(0, 3, n).astype(np.int8)
        cell, is_open = rng.integers(0, n_cells, n + 5), rng.random(n + 5) < 0.6
        hours = rng.random(n_cells) * 8 * (rng.random(n_cells) < 0.3)
        guardianship, hours_seen = rng.random(n_cells), rng.random(n_cells) * 500
        pr = rng.random(kernels.N_DETECTION_PARAMS)
        act = (state == 1).nonzero()[0]
        if trial % 5 == 0:
            hours[:] = 0.0
        if not hours.any():  # no officer-hours: the phase returned before the terms
            act = act[:0]
        around = box_sum(hours.reshape(w, h), 1).ravel()
        exp_e, exp_f = kernels.detection_exposure(
            cell[act], is_open[act], hours, around, guardianship, hours_seen, pr
        )
        got_act, e, f = kernels.street_exposure(
            state, 1, cell, is_open, hours, w, h, guardianship, hours_seen, pr
        )
        assert np.array_equal(got_act, act)
        assert np.array_equal(e, exp_e) and np.array_equal(f, exp_f)
        unseen = np.exp(-(e * np.exp(f)) * 50)
        draws = rng.random(act.size)
        cell_unit = np.where(rng.random(n_cells) < 0.2, rng.integers(0, 9, n_cells), -1)
        cell_x, cell_y = np.arange(n_cells) // h, np.arange(n_cells) % h
        detected = act[draws < 1.0 - unseen]
        unit = kernels.covering_unit(
            cell_x[cell[detected]], cell_y[cell[detected]], cell_unit, w, h
        )
        got_d, got_u = kernels.detected_dealers(
            act, unseen, draws, cell, cell_x, cell_y, cell_unit, w, h
        )
        assert np.array_equal(got_d, detected[unit >= 0])
        assert np.array_equal(got_u, unit[unit >= 0])


def test_pitch_attraction_matches_numpy_exactly():
    """Open pitches' pull from the kernel's terms equals the numpy code's (before the
    kernel), float for float: centre, reputation, price squared, deterrence, violence."""
    rng = np.random.default_rng(17)
    for _ in range(30):
        n_cells, n = int(rng.integers(1, 900)), int(rng.integers(0, 200))
        cells, price = rng.integers(0, n_cells, n), 60 + rng.random(n) * 80
        is_centre = rng.random(n_cells) < 0.2
        reputation, deterrence = rng.random(n_cells) * 3, rng.random(n_cells) * 2
        violence = rng.random(n_cells) * (rng.random(n_cells) < 0.3)
        draw, pull, base_price, avoidance = rng.random(4) * [2.0, 1.5, 120.0, 3.0]
        expected = (
            (1.0 + draw * is_centre[cells])
            * (1.0 + pull * reputation[cells])
            * (base_price / price) ** 2
            * np.exp(-2.0 * deterrence[cells] - avoidance * violence[cells])
        )
        pr = np.empty(kernels.N_ATTRACTION_PARAMS)
        pr[kernels.PA_CENTRE_DRAW], pr[kernels.PA_REPUTATION_PULL] = draw, pull
        pr[kernels.PA_BASE_PRICE], pr[kernels.PA_VIOLENCE_AVOIDANCE] = base_price, avoidance
        base, exponent = kernels.pitch_attraction(
            cells, price, is_centre, reputation, deterrence, violence, pr
        )
        assert np.array_equal(base * np.exp(exponent), expected)


def test_crew_members_match_numpy_exactly():
    """The rows of named crews in the named states, as the numpy lookup table gave them:
    ids no dealer has, and crew -1 (no crew), name nobody."""
    rng = np.random.default_rng(19)
    for _ in range(40):
        n = int(rng.integers(0, 300))
        crew = np.where(rng.random(n) < 0.4, -1, rng.integers(0, 30, n))
        state = rng.integers(0, 4, n).astype(np.int8)
        crews = rng.integers(-2, 40, rng.integers(0, 8))
        states = rng.choice(np.arange(4, dtype=np.int8), rng.integers(1, 3), replace=False)
        chosen = np.zeros(int(crew.max(initial=-1)) + 2, dtype=bool)
        chosen[crews[(crews >= 0) & (crews < chosen.size - 1)]] = True
        expected = np.flatnonzero(chosen[crew] & np.isin(state, states))
        assert np.array_equal(kernels.crew_members(crew, state, crews, states), expected)


def test_dispute_pressure_matches_numpy_exactly():
    """The violence phase's turf and debt hazards against its numpy code before the kernel:
    rivals within one cell less crewmates, turf and debt multiplied in the same order."""
    rng = np.random.default_rng(11)
    w, h = 9, 7
    cell_x, cell_y = (a.ravel() for a in np.meshgrid(np.arange(w), np.arange(h), indexing="ij"))
    for _ in range(20):
        n = int(rng.integers(1, 60))
        cell = rng.integers(0, w * h, n)
        is_open = rng.random(n) < 0.6
        crew = np.where(rng.random(n) < 0.5, rng.integers(0, 4, n), -1)
        violence, debt = (
            rng.lognormal(0, 1, n),
            np.where(rng.random(n) < 0.3, rng.random(n) * 500, 0),
        )
        deterrent, void = rng.random(n), rng.random(w * h)
        act = np.flatnonzero(rng.random(n) < 0.8)
        pr = np.array([0.01, 0.3, 2.0, 0.02, 900.0])
        cells = cell[act]
        near = box_sum(np.bincount(cells, minlength=w * h).reshape(w, h), 1).ravel()[cells]
        mates = np.zeros(act.size)
        for i in range(act.size):
            if crew[act[i]] >= 0:
                same = crew[act] == crew[act[i]]
                close = (abs(cell_x[cells] - cell_x[cells[i]]) <= 1) & (
                    abs(cell_y[cells] - cell_y[cells[i]]) <= 1
                )
                mates[i] = (same & close).sum() - 1
        rivals = np.maximum(0.0, near - 1.0 - mates)
        mode = np.where(is_open[act], 1.0, pr[1])
        turf = pr[0] * violence[act] * rivals * (1.0 + pr[2] * void[cells]) * mode
        owed = debt[act]
        expected = turf + pr[3] * violence[act] * owed / (owed + pr[4])
        got_cells, pressure, neg = kernels.dispute_pressure(
            act, cell, is_open, crew, violence, debt, deterrent, void, cell_x, cell_y, h, pr
        )
        assert np.array_equal(got_cells, cells)
        assert np.array_equal(pressure, expected)
        assert np.array_equal(neg, -deterrent[act])


def test_learn_risk_and_town_pitch_terms_match_numpy_exactly():
    """The dealers phase's risk learning and the pitch appraisal's town-wide terms against
    its numpy code before the kernels (dealers.arrest_credibility, presence, place_risk)."""
    rng = np.random.default_rng(13)
    w, h = 8, 6
    n = w * h
    for _ in range(10):
        hours, arrests = rng.random(n) * 40, rng.random(n) * 3
        police_near, arrests_near = rng.random(n) * 20, (rng.random(n) < 0.1) * 1.0
        det, rep, density = rng.random((w, h)), rng.random((w, h)), rng.random(n) * 30
        unmet, is_centre = rng.random((w, h)) * 5, rng.random(n) < 0.2
        state, cell = rng.integers(0, 3, 30).astype(np.int8), rng.integers(0, n, 30)
        pr = np.array([0.9, 20.0, 0.05, 0.2, 0.3, 0.5])
        keep, h0, r0, per_hour, per_arrest, centre_draw = pr
        act = np.flatnonzero(state == 1)
        ref_hours, ref_arrests = hours * keep, arrests * keep
        ref_hours += police_near
        ref_arrests += arrests_near
        cred = (h0 * r0 + ref_arrests) / (r0 * (h0 + ref_hours))
        seen = per_hour * police_near + det.ravel()
        c = cell[act]
        exponent = -(cred[c] * seen[c] + per_arrest * arrests_near[c])
        got_cred, got_exp = kernels.learn_risk(
            hours, arrests, police_near, arrests_near, det.ravel(), c, pr
        )
        assert np.array_equal(hours, ref_hours) and np.array_equal(arrests, ref_arrests)
        assert np.array_equal(got_cred, cred) and np.array_equal(got_exp, exponent)
        centre = 1.0 + centre_draw * is_centre
        demand = (0.02 * density + 0.3 * rep.ravel()) * centre + 0.5 * box_sum(unmet, 2).ravel()
        rivals = box_sum(np.bincount(cell[act], minlength=n).reshape(w, h), 1).ravel()
        terms = kernels.town_pitch_terms(
            density,
            rep.ravel(),
            unmet,
            is_centre,
            state,
            cell,
            1,
            cred,
            police_near,
            det.ravel(),
            pr,
        )
        assert np.array_equal(terms[0], demand) and np.array_equal(terms[1], rivals)
        assert np.array_equal(terms[2], -(cred * seen))


def test_beat_cells_match_numpy_exactly():
    """Police beats against the deploy code before the kernel: cumulative weights, draws
    times the total, searched from the right, the last cell when rounding leaves none."""
    rng = np.random.default_rng(19)
    for n in (1, 2, 7, 2500):
        weights = rng.random(n) ** 3
        cells = rng.permutation(n * 3)[:n]
        draws = rng.random((12, 9))
        draws[0, 0] = 1.0  # beyond every cumulative weight
        cdf = np.cumsum(weights)
        picks = np.minimum(np.searchsorted(cdf, draws * cdf[-1], side="right"), n - 1)
        assert np.array_equal(kernels.beat_cells(weights, cells, draws), cells[picks])


def test_initiation_rate_and_exit_pressure_match_numpy_exactly():
    """Where new users start, and which dealers are minded to leave, against the numpy
    code of the initiation and entry_exit phases before the kernels."""
    rng = np.random.default_rng(23)
    w, h = 12, 9
    for _ in range(10):
        open_sales = (rng.random((w, h)) < 0.2) * rng.integers(1, 5, (w, h)) * 1.0
        residents = np.round(rng.gamma(8.0, 10.0, w * h))
        access = box_sum(open_sales, 2).ravel() / 10.0 + 0.05
        rate = 1e-4 * residents * access
        got, total = kernels.initiation_rate(open_sales, residents, 1e-4, 0.05)
        assert np.array_equal(got, rate) and total == rate.sum()
        n = 200
        state = rng.integers(0, 3, n).astype(np.int8)
        entered, cell = rng.integers(-100, 50, n), rng.integers(0, w * h, n)
        profit, risk = rng.normal(5, 20, n), rng.random(n)
        is_open, violence_near = rng.random(n) < 0.5, rng.random(w * h)
        act = np.flatnonzero(state == 0)
        mode = np.where(is_open[act], 1.0, 0.4)
        net = profit[act] - 60.0 * risk[act] * mode - 15.0 * violence_near[cell[act]]
        minded = ((net < -2.0) & (40 - entered[act] > 30)) | (risk[act] > 0.9)
        pr = np.array([60.0, 0.4, 15.0, -2.0, 0.9])
        got_act, got_minded = kernels.exit_pressure(
            state, 0, entered, 40, cell, profit, risk, is_open, violence_near, pr
        )
        assert np.array_equal(got_act, act) and np.array_equal(got_minded, minded)


@pytest.mark.parametrize("violent", [True, False])
def test_fields_day_is_the_phase_as_it_was(violent):
    """kernels.fields_day against the fields phase before it: decay_layers, the box sums
    of known violence, of active open dealers and of today's incidents, then fear_day,
    and the books (tally rows set, ledger rows added)."""
    rng = np.random.default_rng(29)
    w, h, nd = 10, 8, 60
    n = w * h
    tally = (rng.random((6, n)) < 0.1) * rng.integers(1, 4, (6, n)) * 1.0
    if not violent:
        tally[5] = 0.0
    rows = np.array([0, 2, 3, 5])
    layers = [rng.random((w, h)) for _ in range(8)]
    flat = [rng.random(n) for _ in range(3)]
    keep = np.array([0.9, 0.99, 0.95, 0.93])
    state, cell = rng.integers(0, 3, nd).astype(np.int8), rng.integers(0, n, nd)
    is_open = rng.random(nd) < 0.5
    turf, residents = rng.random(n), np.round(rng.random(n) * 50)
    raids = box_sum(rng.integers(0, 2, (w, h)), 1).ravel()
    ref_layers, ref_flat, ref_turf = (
        [a.copy() for a in layers],
        [a.copy() for a in flat],
        turf.copy(),
    )
    kernels.decay_layers(tally[rows], ref_turf, *ref_layers, keep)
    near_ref = box_sum(ref_layers[6], 1).ravel()
    act = np.flatnonzero(state == 0)
    open_here = np.bincount(cell[act[is_open[act]]], minlength=n).reshape(w, h)
    incidents = tally[5].reshape(w, h)
    people_ref = kernels.fear_day(
        *ref_flat,
        box_sum(open_here, 1).ravel(),
        box_sum(incidents, 1).ravel() if incidents.any() else np.empty(0),
        raids,
        residents,
        0.97,
        0.9,
    )
    # the books: two tally rows set, fear_day's rows added to ledger rows (marked)
    ledger, touched = rng.random((7, n)), rng.random(7) < 0.5
    l_rows, p_rows = np.array([6, 1, 3]), np.array([0, 2, 1])
    ref_books = [tally.copy(), ledger.copy(), touched.copy()]
    ref_books[0][1], ref_books[0][4] = people_ref[kernels.EXPOSED], people_ref[kernels.FEAR]
    ref_books[1][l_rows] += people_ref[p_rows]
    ref_books[2][l_rows] = True
    near, people = kernels.fields_day(
        tally,
        rows,
        turf,
        *layers,
        keep,
        incidents,
        state,
        cell,
        is_open,
        0,
        *flat,
        raids,
        residents,
        0.97,
        0.9,
        1,
        4,
        ledger,
        touched,
        l_rows,
        p_rows,
    )
    assert np.array_equal(near, near_ref) and np.array_equal(people, people_ref)
    for a, b in zip((tally, ledger, touched), ref_books, strict=True):
        assert np.array_equal(a, b)
    for a, b in zip([turf, *layers, *flat], [ref_turf, *ref_layers, *ref_flat], strict=True):
        assert np.array_equal(a, b)


def test_site_hours_match_numpy_exactly():
    """Officer-hours near treatment sites against the slices numpy summed before the
    kernel, at the town's edges and inside it."""
    rng = np.random.default_rng(31)
    for w, h in ((50, 50), (7, 4), (3, 9)):
        hours = rng.random((w, h)) * 8.0 * (rng.random((w, h)) < 0.4)
        xs, ys = rng.integers(0, w, 40), rng.integers(0, h, 40)
        expected = [
            hours[max(0, x - 2) : x + 3, max(0, y - 2) : y + 3].sum()
            for x, y in zip(xs, ys, strict=True)
        ]
        assert np.array_equal(kernels.site_hours(hours, xs, ys), np.array(expected))


def test_reviewers_switch_mode_and_prices_match_numpy_exactly():
    """The dealers phase's review draw, mode switching and risk prices against its numpy
    code before the kernels."""
    rng = np.random.default_rng(37)
    n = 300
    state = rng.integers(0, 3, n).astype(np.int8)
    risk = rng.random(n) * 1.4 - 0.2
    is_open, threshold = rng.random(n) < 0.5, rng.random(n)
    held, draws = rng.integers(0, 6, n), rng.random(n)
    act = np.flatnonzero(state == 0)
    d = draws[: act.size]
    expected = act[d < np.clip(0.1 + risk[act], 0, 1)]
    assert np.array_equal(kernels.reviewers(act, risk, 0.1, d), expected)
    ref = is_open.copy()
    go_closed = ref[act] & (risk[act] > threshold[act]) & (held[act] >= 3)
    reopen = ~ref[act] & (risk[act] < 0.2) & (d < 0.05)
    ref[act[go_closed]] = False
    ref[act[reopen]] = True
    kernels.switch_mode(act, risk, is_open, threshold, held, 3, 0.2, d)
    assert np.array_equal(is_open, ref)
    price, ref_price = np.full(n, 9.0), np.full(n, 9.0)
    ref_price[act] = 10.0 * (1.0 + 0.8 * risk[act])
    kernels.risk_prices(state, 0, risk, price, 10.0, 0.8)
    assert np.array_equal(price, ref_price)


def test_presence_day_matches_numpy_exactly():
    """The deploy phase's presence and deterrence layers against its numpy code before
    the kernel."""
    rng = np.random.default_rng(41)
    w, h = 11, 7
    visible = rng.random(w * h) * 12 * (rng.random(w * h) < 0.3)
    presence, det = rng.random((w, h)), rng.random((w, h)) * 1.2
    ref_det = det.copy()
    ref_det *= 1.0 - 0.02
    ref_det += 0.05 * np.minimum(visible, 8.0).reshape(w, h)
    np.minimum(ref_det, 1.0, out=ref_det)
    near = kernels.presence_day(visible, presence, det, 1.0 - 0.02, 0.05, 8.0)
    assert np.array_equal(near, box_sum(visible.reshape(w, h), 1).ravel())
    assert np.array_equal(presence, visible.reshape(w, h)) and np.array_equal(det, ref_det)


def test_blend_risk_matches_numpy_exactly():
    """Dealers' perceived risk, a moving average of the signal, against the numpy code."""
    rng = np.random.default_rng(43)
    risk, act = rng.random(50), np.flatnonzero(rng.random(50) < 0.7)
    fading = np.exp(-rng.random(act.size) * 3)
    ref = risk.copy()
    ref[act] = (1 - 0.15) * ref[act] + 0.15 * (1.0 - fading)
    kernels.blend_risk(act, risk, fading, 0.15)
    assert np.array_equal(risk, ref)


def test_purchases_is_pay_use_and_book_as_the_trade_phase_did():
    """kernels.purchases against the trade phase's calls before it: pay_and_use with the
    same stream, book_purchases, the counts into the tally and ledger (add_rows), units
    and takings queued into the tally (np.add.at in purchase order) and dealer_profit."""
    rng = np.random.default_rng(37)
    for trial in range(20):
        n_users, n_dealers, n_cells, k = 300, int(rng.integers(1, 40)), int(rng.integers(1, 90)), 3
        buyers = rng.permutation(n_users)[: rng.integers(0, 200)]
        seller = np.where(
            rng.random(buyers.size) < 0.8, rng.integers(0, n_dealers, buyers.size), -1
        )
        via_open = rng.random(buyers.size) < 0.5
        dependent = rng.random(n_users) < 0.5
        cash = rng.random(n_users) * 60
        treatment = rng.integers(0, 3, n_users).astype(np.int8)
        tolerance = rng.integers(0, 20, n_users)
        contacts = rng.integers(-1, n_dealers, (n_users, k))
        home, crimes = rng.integers(0, n_cells, n_users), rng.integers(0, 5, n_users)
        d_state = rng.integers(0, 3, n_dealers).astype(np.int8)
        price, product_risk = 5 + rng.random(n_dealers) * 20, rng.random(n_dealers)
        cell, sales = rng.integers(0, n_cells, n_dealers), np.zeros(n_dealers, dtype=np.int64)
        debt, profit = (
            rng.random(n_dealers) * 50 * (rng.random(n_dealers) < 0.3),
            rng.random(n_dealers),
        )
        police = rng.random(n_cells) * (rng.random(n_cells) < 0.3)
        pr = rng.random(kernels.N_TRADE_PARAMS)
        pr[kernels.UNITS_DEP], pr[kernels.UNITS_REC], pr[kernels.PROCEEDS] = 1.0, 0.5, 25.0
        pr[kernels.CRIME], pr[kernels.GAIN] = 0.9, 0.5
        tally, ledger = rng.integers(0, 3, (14, n_cells)) * 1.0, rng.random((12, n_cells))
        touched = rng.random(12) < 0.3
        t_rows, c_rows = rng.permutation(12)[:8], rng.permutation(11)[:8]
        l_rows, h_rows = rng.permutation(12)[:5], rng.permutation(11)[:5]
        recording, seed = bool(trial % 2), int(rng.integers(1 << 30))
        # the trade phase's calls before kernels.purchases (units and takings rows zeroed)
        tally[12:] = 0.0
        ref = [
            a.copy() for a in (cash, contacts, crimes, sales, debt, profit, tally, ledger, touched)
        ]
        r_cash, r_contacts, r_crimes, r_sales, r_debt, r_profit, r_tally, r_ledger, r_touched = ref
        offend, offences, caught, pays, public, litter, od, fatal, od_risk, cost, units = (
            kernels.pay_and_use(
                *raw_state(np.random.default_rng(seed))[:2], buyers, seller, via_open, dependent, r_cash,
                n_users, treatment, 2, tolerance, 10, r_contacts, price, product_risk, cell,
                police, pr,
            )
        )  # fmt: skip
        counts, day_profit, *expected = kernels.book_purchases(
            buyers, seller, via_open, offend, offences, caught, pays, public, litter, od, fatal,
            od_risk, pr[kernels.OD_FATAL], units, home, r_crimes, cell, price, r_sales, 3.5,
            recording, n_cells,
        )  # fmt: skip
        kernels.add_rows(r_tally, t_rows, counts, c_rows)
        r_touched[l_rows] = True
        kernels.add_rows(r_ledger, l_rows, counts, h_rows)
        pitch = cell[seller[seller >= 0][pays]]
        np.add.at(r_tally[12], pitch, units[pays])
        np.add.at(r_tally[13], pitch, cost[pays])
        kernels.dealer_profit(d_state, 1, day_profit, r_debt, r_profit, 0.4)
        got = kernels.purchases(
            *raw_state(np.random.default_rng(seed))[:2], buyers, seller, via_open, dependent, cash, n_users,
            treatment, 2, tolerance, 10, contacts, home, crimes, d_state, 1, price,
            product_risk, cell, sales, debt, profit, police, pr, 3.5, 0.4, recording, tally,
            t_rows, c_rows, 12, 13, ledger, touched, l_rows, h_rows,
        )  # fmt: skip
        for fast, slow in zip(got, expected, strict=True):
            assert np.array_equal(fast, slow)
        for fast, slow in zip(
            (cash, contacts, crimes, sales, debt, profit, tally, ledger, touched), ref, strict=True
        ):
            assert np.array_equal(fast, slow)


def test_close_and_weigh_is_close_harm_day_then_weighted_harm():
    """kernels.close_and_weigh against the two kernels the record phase called in turn,
    day after day on the same buffers, recorded days and not."""
    rng = np.random.default_rng(43)
    for _ in range(4):
        n_types, n_causes, n_cells = 19, 4, int(rng.integers(1, 3000))
        by_cause, by_cell = rng.random((n_types, n_causes)), rng.random((n_types, n_cells))
        out, types = np.zeros((n_types, n_cells)), np.zeros(n_types, dtype=bool)
        weights, heat = rng.random((n_types, n_cells)) * 100, rng.random(n_cells)
        weights[rng.random(n_types) < 0.2] = 0.0
        ref = [a.copy() for a in (by_cause, by_cell, out, types, heat)]
        for day in range(4):
            booked = rng.random((n_types, n_causes)) < 0.4
            today = np.where(booked[:, :, None], rng.random((n_types, n_causes, n_cells)), 0.0)
            r_today, r_booked, record = today.copy(), booked.copy(), bool(day % 3)
            kernels.close_harm_day(r_today, r_booked, ref[0], ref[1], record, ref[2], ref[3])
            expected = kernels.weighted_harm(weights, ref[2], ref[3], ref[4], 0.97, 0.03)
            got = kernels.close_and_weigh(
                today, booked, by_cause, by_cell, record, out, types, weights, heat, 0.97, 0.03
            )
            assert np.array_equal(got, expected)
            assert np.array_equal(today, r_today) and np.array_equal(booked, r_booked)
            for fast, slow in zip((by_cause, by_cell, out, types, heat), ref, strict=True):
                assert np.array_equal(fast, slow)


def test_the_front_of_trade_is_the_phase_as_it_was():
    """buyers_today, contact_calls, served_buyers and serve against the trade phase's
    numpy code and kernel calls before them: who buys, the dealers buyers can call,
    contacts first and who searches, the street's outcome with unmet demand at home, and
    capacity with unmet demand at the pitch and buyers' search memory."""
    rng = np.random.default_rng(47)
    side, radius = 20, 7.0
    cell_x, cell_y = np.divmod(np.arange(side * side), side)
    distance = np.hypot(*np.meshgrid(np.arange(side), np.arange(side), indexing="ij"))
    for _ in range(20):
        n_users, n_dealers, k = 300, int(rng.integers(1, 40)), 3
        active = np.flatnonzero(rng.random(n_users) < 0.7)
        p_buy, response = rng.random(active.size), rng.random(active.size) * 2
        draws = rng.random(active.size)
        d_state, d_open = rng.integers(0, 3, n_dealers).astype(np.int8), rng.random(n_dealers) < 0.6
        home, search = rng.integers(0, side * side, n_users), rng.random(n_users)
        got = kernels.buyers_today(
            active, p_buy, response, draws, d_state, 1, d_open, home, search, 0.3
        )
        buyers = active[draws < p_buy * response]
        dealer_ok = np.zeros(n_dealers + 1, dtype=bool)
        dealer_ok[:n_dealers] = d_state == 1
        expected = (buyers, home[buyers], dealer_ok, np.flatnonzero(dealer_ok[:-1] & d_open))
        expected += (0.3 + (1.0 - 0.3) * search[buyers],)
        for fast, slow in zip(got, expected, strict=True):
            assert np.array_equal(fast, slow) and fast.dtype == slow.dtype
        homes, open_rows = expected[1], expected[3]
        contacts = rng.integers(-1, n_dealers, (n_users, k))
        use, draws = rng.random(buyers.size), rng.random(buyers.size * (k + 1))
        got = kernels.contact_calls(buyers, homes, contacts, dealer_ok, use, draws, cell_x, cell_y)
        picked = kernels.contact_choice(buyers, contacts, dealer_ok, use, draws)
        searching = np.flatnonzero(~picked[1])
        expected = (*picked, np.zeros(buyers.size, dtype=bool), searching)
        expected += (cell_x[homes[searching]], cell_y[homes[searching]])
        for fast, slow in zip(got, expected, strict=True):
            assert np.array_equal(fast, slow)
        seller, call, has_contact, pick, via_open, searching = got[:6]
        chosen = np.where(rng.random(searching.size) < 0.8, -1, 0)
        if open_rows.size:
            chosen = np.where(chosen < 0, rng.integers(0, open_rows.size, chosen.size), -1)
        stay, put_off = rng.random(open_rows.size), rng.random(np.count_nonzero(chosen >= 0))
        tally = rng.integers(0, 3, (3, side * side)) * 1.0
        ref = [a.copy() for a in (seller, via_open, tally)]
        r_seller, r_via_open, r_tally = ref
        kernels.street_outcome(
            r_seller, r_via_open, searching, chosen, open_rows, stay, put_off, call,
            has_contact, pick,
        )  # fmt: skip
        np.add.at(r_tally[1], homes[r_seller < 0], 1.0)
        served = kernels.served_buyers(
            seller, via_open, searching, chosen, open_rows, stay, put_off, call, has_contact,
            pick, homes, tally, 1,
        )  # fmt: skip
        assert np.array_equal(served, np.flatnonzero(r_seller >= 0))
        for fast, slow in zip((seller, via_open, tally), ref, strict=True):
            assert np.array_equal(fast, slow)
        pitch, seed = rng.integers(0, side * side, n_dealers), int(rng.integers(1 << 30))
        ref = [a.copy() for a in (seller, tally, search)]
        r_seller, r_tally, r_search = ref
        stream = np.random.default_rng(seed)
        order = served[stream.permutation(served.size)]
        over = kernels.over_capacity(r_seller, order, 2)
        np.add.at(r_tally[2], pitch[r_seller[over]], 1.0)
        r_seller[over] = -1
        kernels.remember_search(
            r_search, buyers, r_seller, via_open, home, pitch, cell_x, cell_y, distance, radius
        )
        fast = np.random.default_rng(seed)
        phoned, failed = kernels.serve(
            *raw_state(fast)[:2], seller, served, 2, pitch, tally, 2, search, buyers, via_open,
            home, cell_x, cell_y, distance, radius,
        )  # fmt: skip
        assert fast.random() == stream.random()
        assert np.array_equal(phoned, r_seller[(r_seller >= 0) & ~via_open])
        assert np.array_equal(failed, buyers[r_seller < 0])
        for fast, slow in zip((seller, tally, search), ref, strict=True):
            assert np.array_equal(fast, slow)


def test_relocation_kernels_are_the_dealers_phase_as_it_was():
    """relocation_options and relocate_dealers against the dealers phase's code before
    them: candidate_pitches with the pitch pushed from as a last column, customers'
    calls, pitch_value of the candidates and of the own pitch in the other mode,
    best_pitch, then the mode switches and moves applied in numpy."""
    rng = np.random.default_rng(53)
    side = 15
    cell_x, cell_y = np.divmod(np.arange(side * side), side)
    for trial in range(20):
        n_dealers, k = int(rng.integers(1, 60)), int(rng.integers(1, 5))
        movers = rng.permutation(n_dealers)[: rng.integers(0, n_dealers + 1)]
        d_cell = rng.integers(0, side * side, n_dealers)
        d_left = np.where(rng.random(n_dealers) < 0.3, rng.integers(0, side * side, n_dealers), -1)
        d_open, d_risk = rng.random(n_dealers) < 0.6, rng.random(n_dealers)
        held = rng.integers(0, 6, n_dealers)
        dx, dy = rng.integers(-3, 4, (2, movers.size, k))
        got = kernels.relocation_options(
            movers, d_cell, d_left, dx, dy, cell_x, cell_y, side, side, d_open, d_risk, held,
            0.35,
        )  # fmt: skip
        cand = kernels.candidate_pitches(d_cell[movers], dx, dy, cell_x, cell_y, side, side)
        left = d_left[movers]
        cand = np.column_stack([cand, np.where(left >= 0, left, cand[:, 0])])
        is_open, calls, own = d_open[movers], 0.35 * held[movers], d_risk[movers]
        for fast, slow in zip(got, (cand, is_open, calls, own), strict=True):
            assert np.array_equal(fast, slow)
        terms = [rng.random(side * side) * 9, rng.integers(0, 6, side * side) * 1.0]
        terms += [rng.random(side * side) * (rng.random(side * side) < 0.5)]
        town = [rng.random((2, side * side)), rng.random(side * side) * (trial % 2)]
        pr = np.array([rng.random() * 20, rng.random(), rng.random() * 50, 0.4, rng.random()])
        args = (*terms, *town, cell_x, cell_y, pr)
        value = kernels.pitch_value(cand, is_open, calls, own, *args)
        switched = kernels.pitch_value(cand[:, :1].copy(), ~is_open, calls, own, *args)[:, 0]
        may_switch = ~is_open | (held[movers] >= 2)
        best, change = kernels.best_pitch(value, switched, may_switch, 0.1)
        ref = [a.copy() for a in (d_open, d_cell, d_left)]
        r_open, r_cell, r_left = ref
        flip = change & (best == cand.shape[1])
        r_open[movers[flip]] = ~is_open[flip]
        move = change & ~flip
        rows = movers[move]
        first = r_left[rows] < 0
        r_left[rows[first]] = r_cell[rows[first]]
        r_cell[rows] = cand[move, best[move]]
        r_left[rows[r_cell[rows] == r_left[rows]]] = -1
        moved = kernels.relocate_dealers(
            movers, cand, is_open, calls, own, *args, held, 2, 0.1, d_open, d_cell, d_left
        )
        assert np.array_equal(moved, rows)
        for fast, slow in zip((d_open, d_cell, d_left), ref, strict=True):
            assert np.array_equal(fast, slow)
        # review_pitches: the reviewers and their offsets drawn from the stream's state
        act, seed = rng.permutation(n_dealers)[: n_dealers // 2], int(rng.integers(1 << 30))
        stream, fast = np.random.default_rng(seed), np.random.default_rng(seed)
        movers = kernels.reviewers(act, d_risk, 0.2, stream.random(act.size))
        got = kernels.review_pitches(
            *raw_state(fast)[:2], act, 0.2, k, 3, d_cell, d_left, cell_x, cell_y, side, side,
            d_open, d_risk, held, 0.35,
        )  # fmt: skip
        assert np.array_equal(got[0], movers)
        if movers.size:
            dx, dy = stream.integers(-3, 4, (2, movers.size, k))
            expected = kernels.relocation_options(
                movers, d_cell, d_left, dx, dy, cell_x, cell_y, side, side, d_open, d_risk,
                held, 0.35,
            )  # fmt: skip
            for a, b in zip(got[1:], expected, strict=True):
                assert np.array_equal(a, b)
        assert fast.random() == stream.random()


def test_treatment_clients_match_the_phase_as_it_was():
    """Today's clients, their place-days in the ledger and by account, against the
    treatment phase's numpy code before the kernel (ledger.add, accounts' bincount)."""
    rng = np.random.default_rng(59)
    for _ in range(10):
        n_users, n_sites, n_cells, n_accounts = 300, int(rng.integers(1, 5)), 50, 4
        treatment = rng.integers(0, 4, n_users).astype(np.int8)
        site = rng.integers(0, n_sites, n_users)
        referred_by = rng.integers(-1, n_accounts, n_users)
        site_cells = rng.integers(0, n_cells, n_sites)
        ledger, touched = rng.integers(0, 3, (6, n_cells)) * 1.0, np.zeros(6, dtype=bool)
        clients = np.flatnonzero(treatment == 2)
        expected_ledger = ledger.copy()
        expected_ledger[4] += np.bincount(site_cells[site[clients]], minlength=n_cells) * 1.0
        by = referred_by[clients]
        got = kernels.treatment_clients(
            treatment, 2, site, referred_by, site_cells, n_accounts, ledger, touched, 4
        )
        assert np.array_equal(got[0], clients) and np.array_equal(got[1], site[clients])
        assert np.array_equal(got[2], np.bincount(by[by >= 0], minlength=n_accounts))
        assert np.array_equal(ledger, expected_ledger)
        assert touched.tolist() == [False] * 4 + [clients.size > 0, False]


def test_kernels_draw_from_a_stream_as_numpy_does():
    """next_double and stream_integers, on the state rng.raw_state gives, draw what the
    numpy Generator draws, in any mix (integers use numpy's spare 32-bit half), and
    leave the stream where numpy leaves it; a copied state put back does the same."""
    for seed in range(60):
        meta = np.random.default_rng(seed + 1000)
        plan = meta.integers(1, 4, 30) * (meta.random(30) < 0.4)  # 0: a double
        highs = meta.choice([1, 2, 3, 5, 7, 1000, 2**31 + 5, 2**32 - 1], 30)
        ref, fast = np.random.default_rng(seed), np.random.default_rng(seed)
        if seed % 3 == 0:  # start with a spare half
            ref.integers(0, 3, 1), fast.integers(0, 3, 1)
        state, spare, write_back = raw_state(fast)  # views onto the stream's own state
        if seed % 2 or write_back:  # the copy route, for a layout the views do not match
            state, spare, write_back = state.copy(), spare.copy(), True
        for n, high in zip(plan.tolist(), highs.tolist(), strict=True):
            if n == 0:
                assert kernels.next_double(state) == ref.random()
            else:
                got = kernels.stream_integers(state, spare, high, n)
                assert np.array_equal(got, ref.integers(0, high, n))
        if write_back:
            set_raw_state(fast, state, spare)
        assert fast.random() == ref.random()
        assert np.array_equal(fast.integers(0, 3, 5), ref.integers(0, 3, 5))


@pytest.mark.parametrize("bit_generator", [np.random.MT19937, np.random.Philox, np.random.SFC64])
def test_raw_state_refuses_other_bit_generators(bit_generator):
    """Kernels reimplement PCG64's arithmetic, so any other stream is refused with a
    TypeError naming it, before its state (laid out otherwise) is read."""
    with pytest.raises(TypeError, match=bit_generator.__name__):
        raw_state(np.random.Generator(bit_generator(1)))


def test_rng_integers_draws_as_generator_integers():
    """rng.integers(gen, high, size) gives what gen.integers(0, high, size) gives, scalar,
    vector, matrix or empty, mixed with numpy's own draws (the spare 32-bit half
    shared); -3 plus a draw below 7 is numpy's integers(-3, 4); ranges the kernel does
    not take go to numpy."""
    for seed in range(30):
        meta = np.random.default_rng(seed + 500)
        ref, fast = np.random.default_rng(seed), np.random.default_rng(seed)
        for k in range(40):
            high = int(meta.choice([1, 2, 7, 300, 2**32 - 1, 2**32, 2**40]))
            size = (None, 3, (2, 4), 0, 1)[k % 5]
            want, got = ref.integers(0, high, size), integers(fast, high, size)
            assert np.array_equal(want, got) and np.shape(want) == np.shape(got)
            assert type(want) is type(got)
            if k % 3 == 0:
                assert ref.integers(-3, 4) == integers(fast, 7) - 3
            assert ref.random() == fast.random()
    with pytest.raises(ValueError):
        integers(np.random.default_rng(0), 0, 3)


def test_street_market_is_street_choice_then_served_buyers():
    """kernels.street_market, drawing from the stream's state, against the trade phase's
    calls before it: the street draws in numpy, street_choice, the put-offs in numpy,
    then served_buyers; the stream is left where numpy leaves it."""
    rng = np.random.default_rng(61)
    side = 20
    cell_x, cell_y = np.divmod(np.arange(side * side), side)
    travel = np.where(np.hypot(*np.mgrid[0:side, 0:side]) <= 6, 0.5, 0.0)
    for trial in range(20):
        n_buyers, n_open = int(rng.integers(0, 150)), int(rng.integers(0, 12)) * (trial % 4 > 0)
        homes = rng.integers(0, side * side, n_buyers)
        searching = np.flatnonzero(rng.random(n_buyers) < 0.6)
        open_rows = rng.permutation(40)[:n_open]
        pitches = rng.integers(0, side * side, n_open)
        pull, stay = rng.random(n_open) + 0.1, rng.random(n_open)
        call = np.ones(n_buyers, dtype=bool)
        call[searching] = False
        has_contact = rng.random(n_buyers) < 0.5
        pick = rng.integers(0, 40, n_buyers)
        seller = np.where(call, pick, -1)
        market = (cell_x[pitches], cell_y[pitches], pull, travel, 6, 64)
        hx, hy = cell_x[homes[searching]], cell_y[homes[searching]]
        tally, seed = np.zeros((2, side * side)), int(rng.integers(1 << 30))
        via_open = np.zeros(n_buyers, dtype=bool)
        ref = [a.copy() for a in (seller, via_open, tally)]
        stream, fast = np.random.default_rng(seed), np.random.default_rng(seed)
        chosen, put_off = searching[:0], np.empty(0)
        if searching.size and n_open:
            draws = stream.random(searching.size)
            chosen = kernels.street_choice(hx, hy, *market, draws, side, side)
            put_off = stream.random(np.count_nonzero(chosen >= 0))
        expected = kernels.served_buyers(
            ref[0], ref[1], searching, chosen, open_rows, stay, put_off, call, has_contact,
            pick, homes, ref[2], 1,
        )  # fmt: skip
        got = kernels.street_market(
            *raw_state(fast)[:2], hx, hy, *market, side, side, seller, via_open,
            searching, open_rows, stay, call, has_contact, pick, homes, tally, 1,
        )  # fmt: skip
        assert np.array_equal(got, expected)
        for a, b in zip((seller, via_open, tally), ref, strict=True):
            assert np.array_equal(a, b)
        assert fast.random() == stream.random()


@pytest.mark.parametrize("wary", [False, True])
def test_buyers_and_calls_is_the_trade_phase_as_it_was(wary):
    """kernels.buyers_and_calls, drawing from the stream's state, against the trade
    phase's code before it: the buying draws in numpy, buyers_today, contact_use (with
    wary buyers, 1 - (1 - chance) x exp(-wariness x the street's risk at home)), the
    contact draws in numpy and contact_calls; the stream is left where numpy leaves it."""
    rng = np.random.default_rng(67)
    side, k = 20, 3
    cell_x, cell_y = np.divmod(np.arange(side * side), side)
    for _ in range(10):
        n_users, n_dealers = 300, int(rng.integers(1, 40))
        active = np.flatnonzero(rng.random(n_users) < 0.7)
        p_buy, response = rng.random(active.size), rng.random(active.size) * 2
        d_state, d_open = rng.integers(0, 3, n_dealers).astype(np.int8), rng.random(n_dealers) < 0.6
        home, search = rng.integers(0, side * side, n_users), rng.random(n_users)
        contacts = rng.integers(-1, n_dealers, (n_users, k))
        risk = rng.random(side * side) * (rng.random(side * side) < 0.5)
        keep = np.exp(-2.5 * risk) if wary else np.empty(0)
        seed = int(rng.integers(1 << 30))
        stream, fast = np.random.default_rng(seed), np.random.default_rng(seed)
        args = (d_state, 1, d_open, home, search, 0.3)
        buyers, homes, dealer_ok, open_rows, street = kernels.buyers_today(
            active, p_buy, response, stream.random(active.size), *args
        )
        use = 1.0 - (1.0 - street) * np.exp(-2.5 * risk[homes]) if wary else street
        calls = kernels.contact_calls(
            buyers, homes, contacts, dealer_ok, use, stream.random(buyers.size * (k + 1)),
            cell_x, cell_y,
        )  # fmt: skip
        expected = (buyers, homes, open_rows, *calls)
        got = kernels.buyers_and_calls(
            raw_state(fast)[0], active, p_buy, response, *args, keep, contacts, cell_x, cell_y
        )
        for a, b in zip(got, expected, strict=True):
            assert np.array_equal(a, b)
        assert fast.random() == stream.random()


def test_career_and_relapse_days_are_the_initiation_phase_as_it_was():
    """kernels.career_day and kernels.relapse_day, drawing from the stream's state,
    against the initiation phase's code before them (career_candidates, the draws in
    numpy, progress_and_stop; relapse_candidates, the draws, the updates in numpy)."""
    rng = np.random.default_rng(71)
    for _ in range(10):
        n = int(rng.integers(0, 400))
        u_state, treatment = rng.integers(0, 5, n).astype(np.int8), rng.integers(0, 4, n)
        treatment = treatment.astype(np.int8)
        dependent, recovered_day = rng.random(n) < 0.4, rng.integers(0, 60, n)
        tolerance, seed = rng.integers(0, 9, n), int(rng.integers(1 << 30))
        stream, fast = np.random.default_rng(seed), np.random.default_rng(seed)
        ref = [a.copy() for a in (u_state, dependent, treatment, tolerance)]
        r_state, r_dependent, r_treatment, r_tolerance = ref
        rec, free = kernels.career_candidates(r_state, r_dependent, r_treatment, 1, 2)
        draws = stream.random(rec.size + free.size)
        expected = kernels.progress_and_stop(r_dependent, rec, free, draws, 0.3, 0.2, 0.4)
        state = raw_state(fast)[0]
        stop = kernels.career_day(state, u_state, dependent, treatment, 1, 2, 0.3, 0.2, 0.4)
        assert np.array_equal(stop, expected) and np.array_equal(dependent, r_dependent)
        at_risk = kernels.relapse_candidates(r_state, r_dependent, recovered_day, 3, 50, 30)
        relapse = at_risk[stream.random(at_risk.size) < 0.25]
        r_state[relapse], r_treatment[relapse], r_tolerance[relapse] = 1, 0, 50 + 7
        kernels.relapse_day(
            state, u_state, dependent, recovered_day, treatment, tolerance, 3, 1, 0, 50, 30,
            0.25, 7,
        )  # fmt: skip
        for a, b in zip((u_state, dependent, treatment, tolerance), ref, strict=True):
            assert np.array_equal(a, b)
        assert fast.random() == stream.random()


def test_streams_drawn_through_copies_give_the_same_run(monkeypatch):
    """Where numpy's state layout is not the one rng.raw_state knows, kernels draw from
    copies written back after each call: the same run, draw for draw."""
    import marketsim.rng as rng_module
    from marketsim.io import simulate
    from marketsim.scenario import load_scenario
    from tests.conftest import ROOT

    def run():
        sc = load_scenario(
            ROOT / "scenarios" / "baseline.yaml", ["seed=5", "steps=20", "burn_in=10"]
        )
        return simulate(sc)[1]

    views = run()
    monkeypatch.setattr(rng_module, "_VIEWS", False)
    monkeypatch.setattr(rng_module, "_RAW", {})
    copies = run()
    assert copies.equals(views)


def test_region_sums_are_the_indicator_product_in_a_fixed_order():
    """kernels.region_sums: the (rows x cells) @ (cells x regions) indicator product the
    recorder used to take through BLAS, to rounding, and exactly the four-running-sums
    order its docstring states (overlapping regions, empty ones, sparse rows, runs of
    consecutive cells, any number of rows)."""
    rng = np.random.default_rng(11)
    for n_rows, n_cells in ((7, 103), (1, 9), (3, 40), (8, 257), (0, 12)):
        values = np.where(
            rng.random((n_rows, n_cells)) < 0.3, rng.normal(size=(n_rows, n_cells)), 0.0
        )
        harm = rng.random(n_cells)
        block = (np.arange(n_cells) // 5) % 3 == 1
        member = np.column_stack(
            [
                np.ones(n_cells, bool),
                rng.random(n_cells) < 0.2,
                rng.random(n_cells) < 0.5,
                np.zeros(n_cells, bool),
                block,
                ~block,
            ]
        )
        _check_region_sums(values, harm, member)


def _check_region_sums(values: np.ndarray, harm: np.ndarray, member: np.ndarray) -> None:
    regions, cells = np.nonzero(member.T)
    start = np.searchsorted(regions, np.arange(member.shape[1] + 1))
    at, first, length = kernels.region_runs(start, cells)
    for r in range(member.shape[1]):
        runs = [
            np.arange(f, f + n)
            for f, n in zip(first[at[r] : at[r + 1]], length[at[r] : at[r + 1]], strict=True)
        ]
        assert np.array_equal(np.concatenate([[], *runs]), cells[start[r] : start[r + 1]])
    cleared = values.copy()
    sums, net = kernels.region_sums(cleared, harm, start, at, first, length, True)
    assert not cleared.any()  # the tally's rows zeroed for the next day
    again, net_again = kernels.region_sums(values, harm, start, at, first, length, False)
    assert np.array_equal(again, sums) and np.array_equal(net_again, net)
    if values.shape[0] >= 2:  # kernels.region_rows: the sums, then region_columns
        rows, columns = np.arange(values.shape[0]), np.arange(values.shape[0]) + 2
        plan = np.array([0, 1, 0, 1, values.shape[0] + 2])
        plan[kernels.PLAN_PRICE], plan[kernels.PLAN_NET_HARM] = 0, 1
        cleared = values.copy()
        got = kernels.region_rows(cleared, harm, start, at, first, length, rows, columns, plan)
        expected = kernels.region_columns(sums, net, rows, columns, plan)
        assert np.array_equal(got, expected, equal_nan=True) and not cleared.any()
    np.testing.assert_allclose(sums, values @ member, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(net, harm @ member, rtol=1e-12)

    def by_fours(row, idx):
        parts = [0.0, 0.0, 0.0, 0.0]
        whole = len(idx) - len(idx) % 4
        for k, c in enumerate(idx[:whole]):
            parts[k % 4] += row[c]
        for c in idx[whole:]:
            parts[0] += row[c]
        return (parts[0] + parts[1]) + (parts[2] + parts[3])

    for r in range(member.shape[1]):
        idx = cells[start[r] : start[r + 1]]
        assert net[r] == by_fours(harm, idx)
        assert all(sums[m, r] == by_fours(values[m], idx) for m in range(values.shape[0]))


def test_violent_incidents_are_the_violence_phase_as_it_was():
    """kernels.violent_incidents, drawing from the stream's state, against the violence
    phase's numpy code before it (the incident draws, the decay of recent incidents, the
    severity draws and shares over the median trait), odd and even numbers of dealers,
    ties with the median's cap and a median of zero (NaN shares)."""
    rng = np.random.default_rng(83)
    for case in range(40):
        n_rows = int(rng.integers(1, 300))
        n = int(rng.integers(1, n_rows + 1))
        act = np.sort(rng.choice(n_rows, n, replace=False))
        chance = rng.random(n) * (0.05 if case % 3 else 0.9)
        cell, violence = rng.integers(0, 2500, n_rows + 5), rng.pareto(2.0, n_rows + 5)
        if case % 7 == 0:
            violence[act[: (n + 1) // 2 + 1]] = 0.0  # a median of zero
        if case % 5 == 0:
            violence[act] = np.round(violence[act], 1)  # ties, scales of exactly 2
        recent = rng.random(n_rows + 5)
        hs, ss, seed = 0.02 * (case % 4), 0.3, int(rng.integers(1 << 30))
        stream, fast = np.random.default_rng(seed), np.random.default_rng(seed)
        ref = recent.copy()
        who = act[stream.random(n) < chance]
        ref[:n_rows] *= 0.99
        ref[who] += 1.0
        expected = [who, cell[who], *[np.empty(0)] * 3, np.empty(0, dtype=np.int64)]
        if who.size:
            severity = stream.random(who.size)
            with np.errstate(divide="ignore", invalid="ignore"):
                scale = np.minimum(2.0, violence[who] / np.median(violence[act]))
            p_h = np.minimum(1.0, hs * scale)
            p_s = np.minimum(1.0, (hs + ss) * scale)
            expected[2:] = p_h, p_s - p_h, 1.0 - p_s, cell[who][severity < p_h]
        got = kernels.violent_incidents(
            raw_state(fast)[0], act, chance, cell, violence, recent, n_rows, hs, ss
        )
        for a, b in zip(got, expected, strict=True):
            assert np.array_equal(a, b, equal_nan=True)
        assert np.array_equal(recent, ref)
        assert fast.random() == stream.random()


def test_treatment_seekers_and_clients_day_are_the_treatment_phase_as_it_was():
    """kernels.treatment_seekers and kernels.clients_day, drawing from the stream's
    state, against the treatment phase's code before them (the seeking chance and draws
    in numpy; treatment_clients, numpy's random((3, n)) and client_day)."""
    rng = np.random.default_rng(97)
    for case in range(12):
        n_users, n_sites, n_cells, n_accounts = 300, int(rng.integers(1, 4)), 50, 3
        cand = np.sort(rng.choice(n_users, int(rng.integers(0, 120)), replace=False))
        site_of = rng.integers(0, n_sites, cand.size)
        boost, police_near = rng.choice([1.0, 2.5], cand.size), rng.random(n_sites) * 30
        treatment = rng.integers(0, 4, n_users).astype(np.int8)
        if case % 4 == 0:
            treatment[treatment == 2] = 1  # no clients
        site, referred_by = rng.integers(0, n_sites, n_users), rng.integers(-1, 3, n_users)
        site_cells, home = rng.integers(0, n_cells, n_sites), rng.integers(0, n_cells, n_users)
        missed, start = rng.integers(0, 4, n_users), rng.integers(-200, 0, n_users)
        ledger, touched = rng.integers(0, 3, (6, n_cells)) * 1.0, np.zeros(6, dtype=bool)
        pr = np.array([0.4, 0.05, 0.02, 0.05])  # CD_APPOINTMENT ... CD_MISSED_BOOST
        seed = int(rng.integers(1 << 30))
        stream, fast = np.random.default_rng(seed), np.random.default_rng(seed)
        deterred = np.exp(-0.1 * police_near[site_of])
        seek = stream.random(cand.size) < 0.3 * 1.2 * boost * deterred
        r_ledger, r_touched, r_missed = ledger.copy(), touched.copy(), missed.copy()
        clients, c_site, by = kernels.treatment_clients(
            treatment, 2, site, referred_by, site_cells, n_accounts, r_ledger, r_touched, 4
        )
        m, drop, done = kernels.client_day(
            clients, c_site, police_near, r_missed, start, stream.random((3, clients.size)),
            5, 90, pr,
        )  # fmt: skip
        state = raw_state(fast)[0]
        got = kernels.treatment_seekers(state, cand, site_of, boost, deterred, 0.3 * 1.2)
        assert np.array_equal(got[0], cand[seek]) and np.array_equal(got[1], site_of[seek])
        got = kernels.clients_day(
            state, treatment, 2, site, referred_by, site_cells, n_accounts, ledger, touched, 4,
            police_near, missed, start, home, 5, 90, pr,
        )  # fmt: skip
        assert got[0] == clients.size and np.array_equal(got[1], by)
        expected = home[clients[m]], clients[drop], clients[done]
        for a, b in zip(got[2:], expected, strict=True):
            assert np.array_equal(a, b)
        for a, b in ((ledger, r_ledger), (touched, r_touched), (missed, r_missed)):
            assert np.array_equal(a, b)
        assert fast.random() == stream.random()


def test_exit_day_and_detect_dealers_draw_as_the_phases_did():
    """kernels.exit_day and kernels.detect_dealers, drawing from the stream's state,
    against the entry-exit and enforcement phases' code before them (exit_pressure or
    detected_dealers fed with numpy's uniforms, one per active dealer)."""
    rng = np.random.default_rng(101)
    width, height = 8, 9
    cell_x, cell_y = np.repeat(np.arange(width), height), np.tile(np.arange(height), width)
    for _ in range(12):
        n = int(rng.integers(0, 200))
        state = rng.integers(0, 3, n).astype(np.int8)
        entered, cell = rng.integers(-100, 0, n), rng.integers(0, width * height, n)
        profit, risk, is_open = rng.random(n) * 50, rng.random(n), rng.random(n) < 0.5
        violence_near = rng.random(width * height)
        pr = rng.random(kernels.N_EXIT_PARAMS) * 40
        cell_unit = np.where(rng.random(width * height) < 0.3, rng.integers(0, 5, 72), -1)
        seed = int(rng.integers(1 << 30))
        stream, fast = np.random.default_rng(seed), np.random.default_rng(seed)
        args = (state, 1, entered, 0, cell, profit, risk, is_open, violence_near, pr)
        act, minded = kernels.exit_pressure(*args)
        leave = act[minded & (stream.random(act.size) < 0.4)]
        unseen = rng.random(act.size)
        where = (cell, cell_x, cell_y, cell_unit, width, height)
        seen = kernels.detected_dealers(act, unseen, stream.random(act.size), *where)
        pcg = raw_state(fast)[0]
        assert np.array_equal(kernels.exit_day(pcg, *args, 0.4), leave)
        for a, b in zip(kernels.detect_dealers(pcg, act, unseen, *where), seen, strict=True):
            assert np.array_equal(a, b)
        assert fast.random() == stream.random()


def test_add_at_adds_as_numpy_add_at():
    """kernels.add_at and kernels.add_count_at, which the tally's flush and the ledger's
    small adds use, against np.add.at: repeated cells, fractional weights, one at a time
    in index order (the last bit of each sum as numpy's)."""
    rng = np.random.default_rng(103)
    for _ in range(20):
        target = rng.random(50) * 1e3
        cells = rng.integers(0, 50, int(rng.integers(0, 200)))
        weights, count = rng.random(cells.size) / 3.0, float(rng.random()) / 7.0
        expected, got = target.copy(), target.copy()
        np.add.at(expected, cells, weights)
        kernels.add_at(got, cells, weights)
        assert np.array_equal(got, expected)
        np.add.at(expected, cells, count)
        kernels.add_count_at(got, cells, count)
        assert np.array_equal(got, expected)


def _refer_reference(contacts, phoned, failed, p, rng):
    """The trade phase's word of mouth before kernels.refer_numbers, in numpy."""
    if p == 0 or phoned.size == 0 or failed.size == 0:
        return
    who = failed[rng.random(failed.size) < p]
    if who.size:
        dealer = phoned[integers(rng, phoned.size, who.size)]
        new = ~(contacts[who] == dealer[:, None]).any(axis=1)
        who, dealer = who[new], dealer[new]
        kernels.learn_numbers(contacts, who, dealer, integers(rng, contacts.shape[1], who.size))


def test_refer_numbers_is_word_of_mouth_as_it_was():
    """kernels.refer_numbers, drawing from the stream's state, against the trade phase's
    numpy before it (the uniforms, then Generator.integers' draws for the sellers and
    the slots); the stream is left where numpy leaves it."""
    rng = np.random.default_rng(73)
    for trial in range(40):
        n_users, k = 60, int(rng.integers(1, 4))
        contacts = rng.integers(-1, 6, (n_users, k))
        phoned = rng.integers(0, 6, int(rng.integers(0, 8)))
        failed = rng.permutation(n_users)[: int(rng.integers(0, 30))]
        p = (0.0, 0.3, 1.0)[trial % 3]
        ref, seed = contacts.copy(), int(rng.integers(1 << 30))
        stream, fast = np.random.default_rng(seed), np.random.default_rng(seed)
        stream.integers(0, 5)  # a spare 32-bit half buffered in both
        fast.integers(0, 5)
        _refer_reference(ref, phoned, failed, p, stream)
        kernels.refer_numbers(*raw_state(fast)[:2], phoned, failed, p, contacts)
        assert np.array_equal(contacts, ref)
        assert fast.integers(0, 7, 3).tolist() == stream.integers(0, 7, 3).tolist()
        assert fast.random() == stream.random()


def _trade_as_it_was(world):
    """The trade phase as it stood before kernels.trade_terms and kernels.trade_day:
    buy_terms, the power in numpy, buyers_and_calls, the open market's terms and the
    exponentials in numpy, street_market, serve, word of mouth in numpy, purchases."""
    from marketsim.agents import dealer as D
    from marketsim.agents import user as U
    from marketsim.phases import trade
    from marketsim.rng import stream_state

    rng = world.streams["market"]
    sc = world.config
    cu, cm = sc.users, sc.market
    u, d, town, tally = world.users, world.dealers, world.town, world.tally
    d.sales[: d.n] = 0
    trade.update_street_alarm(world)  # added with the alarm (2026-12-07), as trade.run does
    active, p_buy, full, elasticity = kernels.buy_terms(
        u.view("state"), U.ACTIVE, u.cash, u.income, u.treatment, U.IN_TREATMENT, u.dependent,
        u.search, d.view("state"), D.ACTIVE, d.price, trade._buy_params(world),
    )  # fmt: skip
    with stream_state(rng) as (state, spare):
        buyers, homes, open_rows, *calls = kernels.buyers_and_calls(
            state, active, p_buy, full**elasticity, d.view("state"), D.ACTIVE, d.view("open"),
            u.home, u.search, cu.contact_use_prob, trade._street_keep(world), u.contacts,
            town.cell_x, town.cell_y,
        )  # fmt: skip
    if buyers.size == 0:
        kernels.dealer_profit(
            d.view("state"), D.ACTIVE, np.zeros(d.n), d.debt, d.profit,
            sc.dealers.debt_repay_share,
        )  # fmt: skip
        return
    seller, call, has_contact, pick, via_open, search, hx, hy = calls
    police = world.visible_hours
    market = (np.empty(0, dtype=np.int64),) * 2 + (np.empty(0), np.zeros((1, 1)), 0, 64)
    stay = np.empty(0)
    if search.size and open_rows.size:
        dc = d.cell[open_rows]
        base, exponent = kernels.pitch_attraction(
            dc, d.price[open_rows], town.is_centre, town.layer("reputation").ravel(),
            town.layer("deterrence").ravel(), world.violence_near, trade._attraction_params(world),
        )  # fmt: skip
        travel = trade._travel_kernel(town.width, town.height, cu.distance_decay, cu.search_radius)
        market = (
            town.cell_x[dc], town.cell_y[dc], base * np.exp(exponent), travel,
            int(np.ceil(cu.search_radius)), 64,
        )  # fmt: skip
        stay = np.exp(-cu.police_deterrence * world.credibility[dc] * police[dc])
    with stream_state(rng) as (state, spare):
        served = kernels.street_market(
            state, spare, hx, hy, *market, town.width, town.height, seller, via_open, search,
            open_rows, stay, call, has_contact, pick, homes, tally.counts, trade._UNMET_ROW,
        )  # fmt: skip
    with stream_state(rng) as (state, spare):
        phoned, failed = kernels.serve(
            state, spare, seller, served, cm.capacity, d.cell, tally.counts, trade._UNMET_ROW,
            u.search, buyers, via_open, u.home, town.cell_x, town.cell_y,
            trade._distances(town.width, town.height), float(cu.search_radius),
        )  # fmt: skip
    _refer_reference(u.contacts, phoned, failed, cu.referral_prob, rng)
    rows, touched = world.ledger.flat_rows()
    with stream_state(rng) as (state, spare):
        caught_users, caught_cells, victims, died = kernels.purchases(
            state, spare, buyers, seller, via_open, u.dependent, u.cash, u.n, u.treatment,
            U.IN_TREATMENT, u.tolerance_until, world.day, u.contacts, u.home, u.crimes,
            d.view("state"), D.ACTIVE, d.price, d.product_risk, d.cell, d.sales, d.debt,
            d.profit, police, trade._trade_params(world), cm.base_price * cm.wholesale_share,
            sc.dealers.debt_repay_share, world.recording, tally.counts, trade._TALLY_ROWS,
            trade._COUNT_ROWS, trade._UNITS_ROW, trade._REVENUE_ROW, rows, touched,
            trade._LEDGER_ROWS, trade._HARM_ROWS,
        )  # fmt: skip
    world.crime_arrests = (caught_users, caught_cells)
    if victims.size:
        from marketsim import events

        u.adverse_until[victims[~died]] = world.day + 30
        events.user_dies(world, victims[died])


def _arrays(world):
    """Every array of the world's users, dealers, tally and ledger, by name."""
    out = {}
    for owner in ("users", "dealers", "tally", "ledger"):
        for name, value in vars(getattr(world, owner)).items():
            if isinstance(value, np.ndarray):
                out[f"{owner}.{name}"] = value
    return out


def _same_days(monkeypatch, overrides, phase, as_it_was, stream, days=45):
    """Two models of one scenario, one running phase `phase` as `as_it_was`: day after
    day, every array of users, dealers, tally and ledger, and the phase's stream, the same."""
    from marketsim import model as model_module
    from marketsim.plan import PHASES

    new = MarketModel(small(**overrides))
    old = MarketModel(small(**overrides))
    plan = tuple((n, as_it_was if n == phase else f) for n, f in PHASES)
    for _ in range(days):
        new.step()
        monkeypatch.setattr(model_module, "PHASES", plan)
        old.step()
        monkeypatch.setattr(model_module, "PHASES", PHASES)
        fast, slow = _arrays(new.world), _arrays(old.world)
        assert fast.keys() == slow.keys()
        for name in fast:
            assert np.array_equal(fast[name], slow[name], equal_nan=True), name
        assert new.world.streams[stream].random() == old.world.streams[stream].random()


@pytest.mark.parametrize(
    "overrides",
    [{}, {"users__referral_prob": 1.0}, {"users__street_wariness": 2.0, "market__n_users": 60}],
)
def test_trade_day_is_the_trade_phase_as_it_was(monkeypatch, overrides):
    """kernels.trade_terms and kernels.trade_day (the trade phase in two calls) against
    the phase's kernels and numpy before them."""
    _same_days(monkeypatch, overrides, "trade", _trade_as_it_was, "market")


def _dealers_as_it_was(world):
    """The dealers phase as it stood before kernels.risk_signal, dealer_reviews and
    settle_dealers: its step functions in turn."""
    from marketsim.fields import box_sum
    from marketsim.phases import dealers

    town, rng = world.town, world.streams["dealers"]
    arrests = world.arrests_cell
    arrests_near = (
        box_sum(arrests.reshape(town.width, town.height), 2).ravel() if arrests.any() else arrests
    )
    dealers.update_risk(world, arrests_near)
    held = dealers.contacts_held(world)
    dealers.relocate(world, rng, held)
    dealers.choose_mode(world, held, rng)
    dealers.set_prices(world)


@pytest.mark.parametrize(
    "overrides",
    [{}, {"dealers__relocation_prob": 0.5, "police__n_units": 12}, {"market__n_dealers": 3}],
)
def test_dealers_in_three_calls_is_the_dealers_phase_as_it_was(monkeypatch, overrides):
    """kernels.risk_signal, dealer_reviews and settle_dealers (the dealers phase in three
    calls) against the phase's step functions in turn."""
    _same_days(monkeypatch, overrides, "dealers", _dealers_as_it_was, "dealers")


def test_custody_due_and_violence_pressure_are_the_phases_numpy_as_it_was():
    """kernels.rows_where, custody_due and violence_pressure against the numpy the
    custody and violence phases called before them (nonzero of a state or day test),
    then released_users and dispute_pressure."""
    rng = np.random.default_rng(79)
    for _ in range(20):
        n_dealers, n_users, side = int(rng.integers(0, 60)), int(rng.integers(0, 200)), 12
        d_state = rng.integers(0, 4, n_dealers).astype(np.int8)
        assert np.array_equal(kernels.rows_where(d_state, 1), np.flatnonzero(d_state == 1))
        event_day = rng.integers(0, 4, n_dealers)
        u_state, release_day = (
            rng.integers(0, 4, n_users).astype(np.int8),
            rng.integers(0, 4, n_users),
        )
        u_dealer = rng.integers(-3, 3, n_users)
        due, back = kernels.custody_due(event_day, u_state, release_day, u_dealer, 2, 1)
        assert np.array_equal(due, np.flatnonzero(event_day == 1))
        assert np.array_equal(back, kernels.released_users(u_state, release_day, u_dealer, 2, 1))
        cell = rng.integers(0, side * side, n_dealers)
        is_open, crew = rng.random(n_dealers) < 0.5, rng.integers(-1, 5, n_dealers)
        trait, debt, deterrent = rng.random(n_dealers), rng.random(n_dealers), rng.random(n_dealers)
        void, (cell_x, cell_y) = rng.random(side * side), np.divmod(np.arange(side * side), side)
        pr = rng.random(kernels.N_DISPUTE_PARAMS)
        args = (cell, is_open, crew, trait, debt, deterrent, void, cell_x, cell_y, side, pr)
        act, *got = kernels.violence_pressure(d_state, 1, *args)
        assert np.array_equal(act, np.flatnonzero(d_state == 1))
        for a, b in zip(got, kernels.dispute_pressure(act, *args), strict=True):
            assert np.array_equal(a, b)


def test_deploy_day_is_presence_day_then_the_books():
    """kernels.deploy_day against the deploy phase's calls before it: presence_day, the
    officer-days set as a tally row and added to a ledger row (marked booked)."""
    rng = np.random.default_rng(83)
    for _ in range(10):
        w, h = int(rng.integers(1, 20)), int(rng.integers(1, 20))
        visible = rng.random(w * h) * 8 * (rng.random(w * h) < 0.4)
        presence, det = rng.random((w, h)), rng.random((w, h))
        days = rng.random(w * h) * (rng.random(w * h) < 0.4)
        tally, ledger = rng.random((4, w * h)), rng.random((6, w * h))
        touched = rng.random(6) < 0.5
        ref = [a.copy() for a in (presence, det, tally, ledger, touched)]
        expected = kernels.presence_day(visible, ref[0], ref[1], 0.98, 0.05, 8.0)
        ref[2][1] = days
        ref[3][4] += days
        ref[4][4] = True
        got = kernels.deploy_day(
            visible, presence, det, 0.98, 0.05, 8.0, days, tally, 1, ledger, touched, 4
        )
        assert np.array_equal(got, expected)
        for a, b in zip((presence, det, tally, ledger, touched), ref, strict=True):
            assert np.array_equal(a, b)


def test_treatment_seeking_is_site_hours_candidates_and_the_deterrence_exponent():
    """kernels.treatment_seeking against the treatment phase's calls before it:
    site_hours, treatment_candidates and -deterrence x the hours at each one's site."""
    rng = np.random.default_rng(89)
    for _ in range(10):
        w, h, n = int(rng.integers(1, 15)), int(rng.integers(1, 15)), int(rng.integers(0, 300))
        hours = rng.random((w, h)) * (rng.random((w, h)) < 0.3)
        xs, ys = rng.integers(0, w, 3), rng.integers(0, h, 3)
        state, treatment = rng.integers(0, 3, n).astype(np.int8), rng.integers(0, 3, n)
        treatment = treatment.astype(np.int8)
        dependent, home = rng.random(n) < 0.5, rng.integers(0, w * h, n)
        nearest, adverse = rng.integers(0, 3, w * h), rng.integers(0, 20, n)
        args = (state, 1, treatment, 0, dependent, home, nearest, adverse, 10, 1.5)
        near = kernels.site_hours(hours, xs, ys)
        cand, site, boost = kernels.treatment_candidates(*args)
        got = kernels.treatment_seeking(hours, xs, ys, *args, 0.3)
        expected = (near, cand, site, boost, -0.3 * near[site])
        for a, b in zip(got, expected, strict=True):
            assert np.array_equal(a, b)


def test_share_debt_is_the_numpy_crew_share_as_it_was():
    """kernels.share_debt against events.add_debt's numpy before it: the crew's other
    active members each take value / their number; none, and the caller keeps it."""
    rng = np.random.default_rng(97)
    for _ in range(40):
        n = int(rng.integers(1, 40))
        crew, state = rng.integers(-1, 4, n), rng.integers(0, 3, n).astype(np.int8)
        r = int(rng.integers(0, n))
        crew[r] = max(crew[r], 0)
        debt, value = rng.random(n) * 100, float(rng.integers(1, 2000))
        ref = debt.copy()
        mates = np.flatnonzero((crew == crew[r]) & (state == 1))
        mates = mates[mates != r]
        if mates.size:
            ref[mates] += value / mates.size
        assert kernels.share_debt(crew, state, 1, r, value, debt) == bool(mates.size)
        assert np.array_equal(debt, ref)


def _book_arrest_as_it_was(world, cell, by, children):
    """events.book_arrest as it stood before kernels.book_arrest_at."""
    world.tally.add("arrests", cell)
    world.ledger.add("arrest", cell)
    world.accounts.add(by, "arrests")
    if children:
        world.ledger.add("children_affected", cell, float(children))
        world.accounts.add(by, "children_affected", float(children))


def _arrest_dealer_as_it_was(world, r, rng, cell=None, by="standard_patrol"):
    """events.arrest_dealer as it stood before kernels.dealer_arrest: Python and numpy."""
    from marketsim import events
    from marketsim.agents import dealer as D
    from marketsim.agents import user as U

    pc = world.config.police
    d, u, acc = world.dealers, world.users, world.accounts
    cell = int(d.cell[r]) if cell is None else cell
    d.arrests[r] += 1
    d.arrested_by[r] = acc.index(by)
    _book_arrest_as_it_was(world, cell, by, int(d.children[r]))
    world.tally.add("seizures", cell)
    # events.add_debt as it was: the crew's other active members share it, else the dealer
    crew = d.crew[r] >= 0 and kernels.share_debt(
        d.view("crew"), d.view("state"), D.ACTIVE, r, float(pc.seizure_value), d.debt
    )
    if not crew:
        d.debt[r] += pc.seizure_value
    hold = world.config.dealers.void_user_dealer if d.tier[r] == D.USER_DEALER else 1.0
    world.turf_opened[cell] += hold
    if d.user[r] >= 0:
        u.adverse_until[d.user[r]] = world.day + 30
    if not rng.random() < pc.charge_prob:
        d.risk[r] = max(d.risk[r], 0.5)
        return
    world.tally.add("prosecutions", cell)
    world.ledger.add("prosecution", cell)
    acc.add(by, "prosecutions")
    d.convicted[r] = rng.random() < pc.convict_prob
    d.event_day[r] = world.day + max(1, pc.days_to_sentence)
    if rng.random() < pc.remand_prob:
        d.state[r] = D.REMANDED
        if d.user[r] >= 0 and u.state[d.user[r]] == U.ACTIVE:
            events.leave_treatment(world, d.user[r])
            u.state[d.user[r]] = U.PRISON
    else:
        d.risk[r] = max(d.risk[r], 0.6)


def _arrest_users_as_it_was(world, rows, cells, rng):
    """events.arrest_user, called for each user still active, as it stood before
    kernels.user_arrests."""
    from marketsim import events
    from marketsim.accounts import REACTIVE
    from marketsim.agents import user as U

    pc = world.config.police
    u, acc = world.users, world.accounts
    for ur, cell in zip(rows.tolist(), cells.tolist(), strict=True):
        if u.state[ur] != U.ACTIVE:
            continue
        _book_arrest_as_it_was(world, cell, REACTIVE, int(u.children[ur]))
        u.adverse_until[ur] = world.day + 30
        if world.recording:
            u.arrests[ur] += 1
        if rng.random() >= pc.charge_prob:
            continue
        world.tally.add("prosecutions", cell)
        world.ledger.add("prosecution", cell)
        acc.add(REACTIVE, "prosecutions")
        if u.dealer[ur] < 0 and rng.random() < pc.custody_prob_user:
            events.leave_treatment(world, ur)
            u.state[ur] = U.PRISON
            u.arrested_by[ur] = acc.index(REACTIVE)
            factor = rng.lognormal(0, 0.5)
            u.release_day[ur] = world.day + max(1, int(round(pc.sentence_user * factor)))


@pytest.mark.parametrize(
    "overrides",
    [
        {"police__n_units": 12, "police__detection_rate": 0.05},
        {
            "police__n_units": 12,
            "police__detection_rate": 0.05,
            "police__remand_prob": 1.0,
            "police__custody_prob_user": 1.0,
            "market__share_user_dealers": 0.5,
            "market__share_crew": 0.3,
        },
        {"police__charge_prob": 0.0, "market__share_crew": 0.7},
    ],
)
def test_arrest_kernels_are_the_arrest_events_as_they_were(monkeypatch, overrides):
    """kernels.dealer_arrest and kernels.user_arrests (events.arrest_dealer and
    arrest_users) against the events' Python before them: two models of one scenario, one
    arresting as it was, day after day the same arrays of users, dealers, tally and
    ledger, turf opened, accounts, waiting lists and enforcement stream."""
    from marketsim import events

    new = MarketModel(small(**overrides))
    old = MarketModel(small(**overrides))
    arrested = 0
    for _ in range(60):
        new.step()
        monkeypatch.setattr(events, "arrest_dealer", _arrest_dealer_as_it_was)
        monkeypatch.setattr(events, "arrest_users", _arrest_users_as_it_was)
        old.step()
        monkeypatch.undo()
        fast, slow = _arrays(new.world), _arrays(old.world)
        for name in fast:
            assert np.array_equal(fast[name], slow[name], equal_nan=True), name
        assert np.array_equal(new.world.turf_opened, old.world.turf_opened)
        assert vars(new.world.accounts).keys() == vars(old.world.accounts).keys()
        for name, account in new.world.accounts.accounts.items():
            assert account == old.world.accounts.accounts[name], name
        for s_new, s_old in zip(new.world.services, old.world.services, strict=True):
            assert s_new.clients == s_old.clients and list(s_new.waiting) == list(s_old.waiting)
        assert (
            new.world.streams["enforcement"].random() == old.world.streams["enforcement"].random()
        )
        arrested += int(new.dealers.view("arrests").sum() + new.users.view("arrests").sum())
    assert arrested > 0


def test_entrant_crews_are_the_numpy_draws_as_they_were():
    """kernels.entrant_crews against events.add_dealers' numpy before it: the crews with a
    member less the retired ones, one drawn each (`integers`, as rng.choice(existing, n)),
    then rng.random(n) < 0.3 forming a new crew; the stream left where numpy leaves it."""
    from marketsim.rng import stream_state

    rng = np.random.default_rng(5)
    for k in range(60):
        crew = rng.integers(-1, int(rng.integers(0, 12)), int(rng.integers(0, 30)))
        retired = rng.integers(0, 15, int(rng.integers(0, 4)))
        n, next_id = int(rng.integers(1, 9)), int(rng.integers(12, 20))
        old, new = np.random.default_rng(k), np.random.default_rng(k)
        old.integers(0, 7)  # a buffered 32-bit half, as a stream may hold
        new.integers(0, 7)
        present = np.zeros(int(crew.max(initial=-1)) + 1, dtype=bool)
        present[crew[crew >= 0]] = True
        present[[c for c in retired if c < present.size]] = False
        existing = np.flatnonzero(present)
        with stream_state(new) as (pcg, spare):
            crews, any_crew, formed = kernels.entrant_crews(pcg, spare, crew, retired, n, next_id)
        assert any_crew == bool(existing.size)
        if existing.size:
            ref = existing[old.integers(0, existing.size, n)]
            joins = old.random(n) < 0.3
            ref[joins] = next_id
            assert np.array_equal(crews, ref) and formed == joins.any()
        assert old.integers(0, 2**20) == new.integers(0, 2**20)
        assert old.random() == new.random()


def test_start_shift_is_the_numpy_start_of_deploy():
    """kernels.start_shift against PoliceForce.deploy's numpy before it: zeroed books, no
    unit on any cell, no arrest yet, np.maximum(0.0, shift - carry) hours today and
    np.maximum(0.0, carry - shift) carried on (NaN kept)."""
    rng = np.random.default_rng(3)
    for shift in (8.0, 0.5, 24.0):
        carry = np.append(rng.random(9) * 20.0, [0.0, shift, np.nan])
        cell_unit, arrests = rng.integers(-1, 5, 30), rng.integers(0, 3, carry.size)
        hours, visible, days, today, left = kernels.start_shift(
            30, cell_unit, arrests, carry, shift
        )
        for zeros in (hours, visible, days):
            assert zeros.shape == (30,) and not zeros.any()
        assert (cell_unit == -1).all() and not arrests.any()
        assert np.array_equal(today, np.maximum(0.0, shift - carry), equal_nan=True)
        assert np.array_equal(left, np.maximum(0.0, carry - shift), equal_nan=True)


def test_start_treatment_rows_is_the_numpy_event_as_it_was():
    """kernels.start_treatment_rows against events.start_treatment's numpy before it
    (fancy assignments, the unreferred charged to self-referral, an entry each at home
    in the tally), repeated rows included."""
    rng = np.random.default_rng(21)
    for _ in range(30):
        n = 40
        cols = {
            "treatment": rng.integers(0, 4, n).astype(np.int8),
            "treatment_day": rng.integers(-5, 5, n),
            "missed": rng.integers(0, 3, n),
            "site": rng.integers(-1, 3, n),
            "referred_by": rng.integers(-1, 3, n),
        }
        home, rows = rng.integers(0, 9, n), rng.integers(0, n, int(rng.integers(1, 6)))
        ref = {k: v.copy() for k, v in cols.items()}
        ref["treatment"][rows], ref["treatment_day"][rows], ref["missed"][rows] = 2, 7, 0
        ref["site"][rows] = 1
        ref["referred_by"][rows[ref["referred_by"][rows] < 0]] = 4
        tally, ref_tally = np.zeros((3, 9)), np.zeros((3, 9))
        np.add.at(ref_tally[1], home[rows], 1.0)
        kernels.start_treatment_rows(rows, 1, 7, 4, 2, *cols.values(), home, tally, 1)
        for name in cols:
            assert np.array_equal(cols[name], ref[name]), name
        assert np.array_equal(tally, ref_tally)
