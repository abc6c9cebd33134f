"""place_guardianship: schema, durable guardianship on chosen cells, its costs, closure
orders that move closed dealers away without arrest, and its effect on dealing there."""

from __future__ import annotations

import json

import numpy as np
import pytest

from marketsim.model import MarketModel
from marketsim.scenario import ScenarioError
from marketsim.summary import summarize
from marketsim.tactics.configs.place_guardianship import CivilOrders, PlaceGuardianshipConfig
from marketsim.tactics.open_market_watch import open_sales_by_cell
from marketsim.tactics.registry import TACTICS
from marketsim.tactics.targeting import top_cells
from tests.conftest import small

PATROL = {"type": "standard_patrol"}
AREA = {"centre": [10, 10], "radius": 2}


def guardianship(**kw):
    return {"type": "place_guardianship", "start": 10, **kw}


def run_to(model: MarketModel, day: int) -> MarketModel:
    while model.day < day:
        model.step()
    return model


# ------------------------------------------------------------------ schema
def test_registered_with_documented_defaults():
    assert TACTICS["place_guardianship"].Config is PlaceGuardianshipConfig
    cfg = PlaceGuardianshipConfig()
    assert cfg.area is None and cfg.k is None and cfg.rank_by == "reputation"
    assert cfg.guardianship_gain == 0.3 and cfg.civil_orders is None
    assert cfg.setup_cost_gbp_per_cell == 10000 and cfg.running_cost_gbp_per_cell_day == 5
    orders = CivilOrders()
    assert (orders.daily_prob, orders.cost_gbp_per_order, orders.relocation_radius) == (
        0.03,
        3000,
        6,
    )
    for cls in (PlaceGuardianshipConfig, CivilOrders):
        for name, field in cls.model_fields.items():
            if name != "type":
                assert (field.json_schema_extra or {}).get("unit"), f"{name} has no unit"


@pytest.mark.parametrize(
    "bad",
    [
        {"guardianship_gain": 1.5},
        {"guardianship_gain": -0.1},
        {"k": 0},
        {"setup_cost_gbp_per_cell": -1},
        {"running_cost_gbp_per_cell_day": -1},
        {"rank_by": "arrests"},
        {"land_uses": ["harbour"]},
        {"civil_orders": {"daily_prob": 2}},
        {"civil_orders": {"relocation_radius": 0}},
        {"civil_orders": {"colour": "red"}},
    ],
)
def test_bad_values_are_rejected(bad):
    with pytest.raises(ScenarioError):
        small(tactics=[PATROL, guardianship(**bad)])


def test_area_outside_the_town_is_rejected():
    with pytest.raises(ScenarioError, match=r"tactics\[1\]\.area\.centre: bad value \[40, 3\]"):
        small(tactics=[PATROL, guardianship(area={"centre": [40, 3], "radius": 1})])


# ------------------------------------------- delivery, targeting, durable effect
def test_guardianship_rises_once_on_the_area_and_stays():
    model = MarketModel(small(steps=40, tactics=[PATROL, guardianship(area=AREA, duration=10)]))
    g0 = model.town.guardianship.ravel().copy()
    run_to(model, 10)
    assert np.array_equal(model.town.guardianship.ravel(), g0)  # nothing before the start
    model.step()  # day 10
    pg = model.tactics[1]
    x, y = model.town.cell_x, model.town.cell_y
    in_area = (x - 10) ** 2 + (y - 10) ** 2 <= 4
    assert np.array_equal(np.sort(pg.cells), np.flatnonzero(in_area))
    g1 = model.town.guardianship.ravel()
    assert np.allclose(g1[in_area], np.minimum(1.0, g0[in_area] + 0.3))
    assert np.array_equal(g1[~in_area], g0[~in_area])
    run_to(model, 40)  # long after the 10-day duration: the rise is durable, and not repeated
    assert np.allclose(model.town.guardianship.ravel(), g1)
    assert np.allclose(model.town.layer("guardianship").ravel(), g1)


def test_costs_are_counted_on_its_account():
    tactic = guardianship(area=AREA, duration=15, running_cost_gbp_per_cell_day=2.0)
    model = MarketModel(small(steps=40, tactics=[PATROL, tactic]))
    model.run()
    n = model.tactics[1].cells.size
    spend = model.accounts.accounts["place_guardianship"].spend_gbp
    assert spend["setup"] == pytest.approx(n * 10000)
    assert spend["running"] == pytest.approx(n * 2.0 * 15)  # 15 active days
    assert model.accounts.accounts["place_guardianship"].counts["officer_days"] == 0
    summary = summarize(model.world, model.recorder.frame())
    assert summary["costs"]["by_tactic"]["place_guardianship"]["cost_gbp"] == pytest.approx(
        n * 10000 + n * 30
    )
    rep = summary["tactics"]["place_guardianship"]
    json.dumps(rep)
    assert rep["cells_treated"] == n and rep["spend_gbp"]["setup"] == spend["setup"]


def test_top_k_cells_on_the_start_day_and_land_use_filter():
    tactic = guardianship(k=6, land_uses=["residential"])
    model = run_to(MarketModel(small(steps=12, tactics=[PATROL, tactic])), 10)
    residential = np.flatnonzero(model.town.land_use.ravel() == model.town.RESIDENTIAL)
    expected = np.sort(top_cells(model.world, 6, "reputation", within=residential))
    model.step()
    assert np.array_equal(model.tactics[1].cells, expected)


# ------------------------------------------------------------ civil orders
def test_closure_orders_move_closed_dealers_off_the_cells_without_arrest():
    area = {"centre": [10, 10], "radius": 4}
    tactic = guardianship(area=area, civil_orders={"daily_prob": 1.0, "cost_gbp_per_order": 100})
    model = run_to(MarketModel(small(steps=30, tactics=[PATROL, tactic])), 10)
    d, town = model.dealers, model.town
    in_area = (town.cell_x - 10) ** 2 + (town.cell_y - 10) ** 2 <= 16
    act = d.active()
    expected = set(act[~d.open[act] & in_area[d.cell[act]]].tolist())
    assert expected  # patrol pressure in the centre has sent some dealers closed
    model.step()  # day 10: set-up, and every closed dealer in the area is served
    pg = model.tactics[1]
    assert {row for _, row, _, _ in pg.displaced} == expected
    for day, _row, frm, to in pg.displaced:
        assert day == 10 and pg.treated[frm] and not pg.treated[to]
        # (a moved dealer may reopen later the same day, in phase 4, where risk is low)
    model.run()
    rep = pg.report(model.world)["civil_orders"]
    assert rep["dealers_displaced"] == len({r for _, r, _, _ in pg.displaced})
    assert rep["orders_served"] >= rep["displacements"] >= len(expected)
    assert sum(rep["displaced_by_tier"].values()) == rep["dealers_displaced"]
    spend = model.accounts.accounts["place_guardianship"].spend_gbp["closure_orders"]
    assert spend == pytest.approx(100 * rep["orders_served"])
    assert model.accounts.accounts["place_guardianship"].counts["arrests"] == 0


def test_open_dealers_are_not_served():
    tactic = guardianship(k=8, civil_orders={"daily_prob": 1.0})
    model = run_to(MarketModel(small(steps=12, police__n_units=0, tactics=[tactic])), 10)
    d = model.dealers
    act = d.active()
    open_rows = act[d.open[act]]
    model.step()
    assert not {row for _, row, _, _ in model.tactics[0].displaced} & set(open_rows.tolist())


# ------------------------------------------------------------------- effect
def open_sales(seed: int, tactics: list, days: range) -> tuple[MarketModel, np.ndarray]:
    model = MarketModel(small(seed=seed, steps=days.stop, tactics=tactics))
    total = np.zeros(model.town.n_cells)
    while model.day < days.stop:
        model.step()
        if model.day - 1 in days:  # after day t's step, dealers' sales hold day t's trade
            total += open_sales_by_cell(model.world)
    return model, total


def test_guardianship_cuts_open_dealing_on_the_treated_cells():
    """Paired seeds: open sales on the treated cells fall against baseline.

    The runs are identical until day 10 (the tactic draws only from its own
    stream, and a tactic that does nothing reproduces the baseline exactly), so
    the cells chosen on day 10 are the same cells in both. A gain of 0.5 adds
    0.15 to the risk term of those pitches (GBP 9 a day of expected cost to an
    open dealer at the default risk_cost) and closure orders move closed dealers
    off them. Per seed the ratio treated/baseline on days 20-59 varies from
    about 0.2 to 0.8, so the test sums 8 seeds and asks for below 0.85: the
    calibrations seen so far give 0.54-0.70, and a tactic that does nothing
    gives exactly 1.
    """
    days = range(20, 60)
    tactic = guardianship(k=5, guardianship_gain=0.5, civil_orders={"daily_prob": 0.1})
    treated_sum, base_sum = 0.0, 0.0
    for seed in range(1, 9):
        model, treated = open_sales(seed, [PATROL, tactic], days)
        cells = model.tactics[1].cells
        _, baseline = open_sales(seed, [PATROL], days)
        treated_sum += treated[cells].sum()
        base_sum += baseline[cells].sum()
    assert base_sum > 0
    assert treated_sum < 0.85 * base_sum
