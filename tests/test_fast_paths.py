"""The vectorised fast paths agree with plain brute-force versions of the same rule."""

from __future__ import annotations

import numpy as np

from marketsim.enforcement import _covering_unit
from marketsim.metrics import TALLY_INDEX, DayTally
from marketsim.model import MarketModel
from tests.conftest import small


def test_crewmates_near_matches_pairwise_count():
    for seed in range(1, 6):
        model = MarketModel(small(seed=seed, market__share_crew=0.6, market__mean_crew_size=4))
        for _ in range(10):
            model.step()
        d, town = model.dealers, model.town
        act = d.active()
        fast = model._crewmates_near(act)
        x, y, crew = town.cell_x[d.cell[act]], town.cell_y[d.cell[act]], d.crew[act]
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
    fast = _covering_unit(model, cells)
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
    assert np.isclose(tally.total("sales"), expected[TALLY_INDEX["sales"]].sum())
    assert np.allclose(tally.values, expected)
    assert np.isclose(tally.total("unmet_demand"), expected[TALLY_INDEX["unmet_demand"]].sum())
    tally.reset()
    assert tally.total("sales") == 0 and not tally.values.any()
