"""The vectorised fast paths agree with plain brute-force versions of the same rule."""

from __future__ import annotations

import numpy as np
import pytest

from marketsim import kernels
from marketsim.harms import HarmLedger, ledger_rows
from marketsim.metrics import TALLY_INDEX, DayTally
from marketsim.model import MarketModel
from marketsim.phases.enforcement import _covering_unit
from marketsim.rng import weighted_choice
from tests.conftest import small


def test_crewmates_near_matches_pairwise_count():
    for seed in range(1, 6):
        model = MarketModel(small(seed=seed, market__share_crew=0.6, market__mean_crew_size=4))
        for _ in range(10):
            model.step()
        d, town = model.dealers, model.town
        act = d.active()
        x, y, crew = town.cell_x[d.cell[act]], town.cell_y[d.cell[act]], d.crew[act]
        # kernels.crewmates_near as kernels.dispute_pressure calls it: on crew members only
        fast = np.zeros(act.size)
        members = np.flatnonzero(crew >= 0)
        if members.size >= 2:
            fast[members] = kernels.crewmates_near(x[members], y[members], crew[members])
        for i in range(act.size):
            if crew[i] < 0:
                assert fast[i] == 0
                continue
            close = (np.abs(x - x[i]) <= 1) & (np.abs(y - y[i]) <= 1) & (crew == crew[i])
            assert fast[i] == close.sum() - 1


def test_covering_unit_prefers_own_cell_then_a_neighbour():
    model = MarketModel(small(seed=3))
    model.step()
    town, cell_unit = model.town, model.police.cell_unit
    cells = np.arange(town.n_cells)
    fast = _covering_unit(model.world, cells)
    for c in cells:
        if cell_unit[c] >= 0:
            assert fast[c] == cell_unit[c]
            continue
        x, y = town.cell_x[c], town.cell_y[c]
        neighbours = [
            cell_unit[(x + dx) * town.height + y + dy]
            for dx in (-1, 0, 1)
            for dy in (-1, 0, 1)
            if 0 <= x + dx < town.width and 0 <= y + dy < town.height and (dx, dy) != (0, 0)
        ]
        covered = [u for u in neighbours if u >= 0]
        assert (fast[c] in covered) if covered else fast[c] == -1


def test_day_tally_total_and_values_agree():
    rng = np.random.default_rng(0)
    tally = DayTally(30)
    expected = np.zeros((len(TALLY_INDEX), 30))
    for metric in ("sales", "unmet_demand", "sales", "arrests"):
        cells = rng.integers(0, 30, 50)
        weights = rng.random(50)
        tally.add(metric, cells, weights)
        np.add.at(expected[TALLY_INDEX[metric]], cells, weights)
        tally.add(metric, 7)  # scalar cell, unit count
        expected[TALLY_INDEX[metric], 7] += 1
        tally.add(metric, cells)  # more unit counts than cells: the shared ones buffer grows
        np.add.at(expected[TALLY_INDEX[metric]], cells, 1.0)
        tally.add(metric, cells[:5], 2.5)  # one count for every cell
        np.add.at(expected[TALLY_INDEX[metric]], cells[:5], 2.5)
        tally.add(metric, np.empty(0, dtype=np.int64))
    assert np.isclose(tally.total("sales"), expected[TALLY_INDEX["sales"]].sum())
    assert np.allclose(tally.values, expected)
    assert np.isclose(tally.total("unmet_demand"), expected[TALLY_INDEX["unmet_demand"]].sum())
    tally.reset()
    assert tally.total("sales") == 0 and not tally.values.any()


def test_ledger_totals_match_the_event_table_and_events_are_opt_in():
    kept = MarketModel(small(seed=4, steps=20, burn_in=5))
    kept.ledger.keep_events = True
    plain = MarketModel(small(seed=4, steps=20, burn_in=5))
    kept.run()
    plain.run()
    by_cell, by_cause = kept.ledger.totals()
    events = kept.ledger.events()
    from marketsim.harms import CAUSES, HARM_INDEX

    expected = np.zeros_like(by_cell)
    np.add.at(expected, (events["harm"].map(HARM_INDEX), events["cell"]), events["count"])
    np.testing.assert_allclose(by_cell, expected, rtol=1e-12, atol=1e-9)
    cause_idx = events["cause"].map({c: i for i, c in enumerate(CAUSES)})
    expected_cause = np.zeros_like(by_cause)
    np.add.at(expected_cause, (events["harm"].map(HARM_INDEX), cause_idx), events["count"])
    np.testing.assert_allclose(by_cause, expected_cause, rtol=1e-12, atol=1e-9)
    # Keeping the table changes nothing else, and the latest day is what the viz maps.
    np.testing.assert_array_equal(plain.ledger.totals()[0], by_cell)
    last = events[events.day == events.day.max()]
    np.testing.assert_allclose(
        kept.ledger.recorded_day().sum(axis=1),
        last.groupby(last["harm"].map(HARM_INDEX))["count"]
        .sum()
        .reindex(range(by_cell.shape[0]), fill_value=0.0),
    )
    with pytest.raises(RuntimeError, match="keep_events"):
        plain.ledger.events()


@pytest.mark.parametrize("seed", [1, 2])
def test_cutting_the_town_into_tiles_does_not_change_where_buyers_go(monkeypatch, seed):
    """Large towns are cut into tiles for the open-market choice (market.TILE); a town of
    one tile takes a shortcut. Tiles of 7 cells on a 20x20 town give the same runs."""
    from marketsim.phases import trade as market

    def run():
        model = MarketModel(small(seed=seed, steps=30))
        model.run()
        return model.recorder.frame()

    whole = run()
    monkeypatch.setattr(market, "TILE", 7)
    tiled = run()
    assert tiled.equals(whole)
    assert whole["open_sales"].sum() > 0


def test_weighted_choice_draws_what_generator_choice_draws():
    """Same indices from the same uniforms as rng.choice(n, size, p=p), and the stream
    left where choice leaves it; zero weights (cells nobody can pick) included."""
    gen = np.random.default_rng(7)
    for seed in range(200):
        n = int(gen.integers(1, 3000))
        w = gen.random(n) * (gen.random(n) < 0.5)
        w[gen.integers(n)] += 1e-9  # at least one cell can be picked
        p = w / w.sum()
        size = int(gen.integers(0, 60))
        a, b = np.random.default_rng(seed), np.random.default_rng(seed)
        expected = a.choice(n, size=size, p=p)
        got = weighted_choice(b, p, size)
        assert got.dtype == expected.dtype and np.array_equal(got, expected), seed
        assert a.random() == b.random()


def test_ledger_add_rows_books_what_add_field_books():
    """Several per-cell rows in one call, a repeated row and explicit causes included, give
    the same day (to the last bit, and the same (type, cause) pairs booked) as add_field."""
    rng = np.random.default_rng(3)
    per_cell = rng.random((4, 50)) * 7
    entries = (
        ("fear", "market", 2),
        ("litter", None, 0),
        ("fear", "enforcement", 1),
        ("fear", "market", 3),
    )
    earlier = rng.random(50)  # booked before, today
    one, many = HarmLedger(50, keep_events=True), HarmLedger(50, keep_events=True)
    for ledger in (one, many):
        ledger.add_field("fear", earlier, cause="market")
    for harm, cause, row in entries:
        one.add_field(harm, per_cell[row], cause=cause)
    rows, from_rows = ledger_rows(entries)
    many.add_rows(rows, per_cell, from_rows)
    assert np.array_equal(one.today, many.today)
    assert np.array_equal(one.close_day(0, True), many.close_day(0, True))
    assert one.events().equals(many.events())
    assert set(one.events().harm) == {"fear", "litter"}


def test_ledger_add_of_one_cell_books_what_add_at_books():
    """An event's single cell (a Python int) takes the direct path; arrays take add.at."""
    one, many = HarmLedger(20), HarmLedger(20)
    for cell, count in ((3, 1.0), (3, 0.1), (19, 2.5), (0, 1.0)):
        one.add("arrest", cell, count)
        many.add("arrest", np.array([cell]), count)
    assert np.array_equal(one.today, many.today) and one.today.sum() > 4.5
    assert np.array_equal(one._touched, many._touched)
