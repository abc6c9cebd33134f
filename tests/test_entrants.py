"""Entrants and void fillers (ODD 7.1, 7.14): who takes `market.entrants`' traits, when, where.

An entrant placed where arrests lately removed sellers fills a void and takes the
scenario's void-filler traits inside their window and area; every other entrant
draws its traits as the founding market does (UKDPC 2009 App. B, Operation
Reduction: a void filled by a group supplying high-purity heroin).
"""

from __future__ import annotations

import numpy as np
import pytest

from marketsim import events
from marketsim.agents import dealer as D
from marketsim.burnin import BurnInCache, burn_in_key, shared_until
from marketsim.fields import box_sum
from marketsim.io import simulate
from marketsim.model import MarketModel
from marketsim.phases.entry_exit import void_filler_cells
from marketsim.scenario import ScenarioError, load_scenario
from tests.conftest import ROOT, small

# Void fillers' traits, each far from the founders' so that a dealer shows which it took.
MARKED = {
    "violence_multiplier": 0.0,
    "product_risk_multiplier": 0.0,
    "share_open": 0.0,
    "share_exploit": 1.0,
    "share_user_dealer": 0.0,
    "share_crew": 1.0,
    "close_threshold": 0.9,
}


# The closed-market mechanisms (fact 9: buyers' wariness of a policed street, word of mouth,
# risk that follows a known dealer) keep more buyers supplied, so fewer go without and
# fewer entrants come into the small town: the end-to-end tests below turn them off to have
# entrants to look at (the rule they test does not depend on them).
NO_REFERRAL = {
    "users__referral_prob": 0.0,
    "users__street_wariness": 0.0,
    "dealers__known_risk_share": 0.0,
}


def entrants_config(**entrants) -> dict:
    return {f"market__entrants__{key}": value for key, value in entrants.items()}


def new_dealers(model: MarketModel, n: int, void_cells: np.ndarray | None) -> np.ndarray:
    world = model.world
    weights = np.full(world.town.n_cells, 1.0 / world.town.n_cells)
    rng = np.random.default_rng(5)
    return events.add_dealers(world, n, weights, rng, entrant=True, void_cells=void_cells)


# ------------------------------------------------------------------ who takes the traits
def test_void_fillers_take_every_trait_and_ordinary_entrants_the_founders():
    model = MarketModel(small(**entrants_config(**MARKED)))
    d, n_cells = model.dealers, model.world.town.n_cells
    fillers = new_dealers(model, 300, np.ones(n_cells, dtype=bool))
    assert (d.violence[fillers] == 0).all()
    assert (d.product_risk[fillers] == 0).all()
    assert not d.open[fillers].any()
    assert (d.tier[fillers] == D.CREW).all()
    assert d.exploits[fillers].all()
    # Close thresholds ~ N(0.9, 0.08) clipped at 0.95, against N(0.35, 0.08) for founders.
    assert d.close_threshold[fillers].mean() == pytest.approx(0.88, abs=0.02)

    for void_cells in (np.zeros(n_cells, dtype=bool), None):
        ordinary = new_dealers(model, 300, void_cells)
        assert (d.product_risk[ordinary] > 0).all()  # Beta(2, 5) is never 0
        assert (d.violence[ordinary] > 0).all()
        # Founders' shares (0.6 open, 0.3 user-dealers, 0.45 crew): 300 draws put each
        # share within 0.1 of its value with probability > 0.999.
        assert d.open[ordinary].mean() == pytest.approx(0.6, abs=0.1)
        assert (d.tier[ordinary] == D.CREW).mean() == pytest.approx(0.45, abs=0.1)
        assert d.close_threshold[ordinary].mean() == pytest.approx(0.35, abs=0.02)


def test_each_entrant_is_a_void_filler_only_on_a_void_cell():
    model = MarketModel(small(**entrants_config(product_risk_multiplier=0.0)))
    town = model.world.town
    void_cells = town.cell_x < 10  # the west half of the town
    rows = new_dealers(model, 400, void_cells)
    d = model.dealers
    placed = d.cell[rows]
    placed_in_void = void_cells[placed] & (d.tier[rows] != D.USER_DEALER)
    placed_outside = ~void_cells[placed] & (d.tier[rows] != D.USER_DEALER)
    # User-dealers move to a user's home after their traits are drawn (ODD 7.14), so
    # only the others still stand where they entered.
    assert placed_in_void.sum() > 100 and placed_outside.sum() > 100
    assert (d.product_risk[rows[placed_in_void]] == 0).all()
    assert (d.product_risk[rows[placed_outside]] > 0).all()


def test_void_cells_follow_the_void_layer_the_window_and_the_area():
    sc = small(
        **entrants_config(
            product_risk_multiplier=2.0,
            void_threshold=0.5,
            void_radius=1,
            start=10,
            duration=5,
            area={"centre": [5, 5], "radius": 4},
        )
    )
    world = MarketModel(sc).world
    town = world.town
    void = town.layer("void")
    void[:] = 0.0
    void[5, 5] = 0.6  # an arrest some 7 days ago, inside the area
    void[6, 6] = 0.3  # half of it, next door
    void[15, 15] = 5.0  # a large void outside the area
    expected = np.zeros((town.width, town.height), dtype=bool)
    expected[4:7, 4:7] = True  # within 1 cell of (5, 5): 0.6 (or 0.9) >= 0.5
    expected[7, 7] = False  # only (6, 6)'s 0.3 is within 1 cell of it
    for day, in_window in ((9, False), (10, True), (14, True), (15, False), (-5, False)):
        world.day = day
        cells = void_filler_cells(world)
        if not in_window:
            assert cells is None, day
        else:
            assert np.array_equal(cells, expected.ravel()), day
    world.day = 12
    world.config = small(**entrants_config(start=10, duration=5, void_threshold=0.0))
    assert void_filler_cells(world) is None, "traits as the founders': the rule is moot"
    world.config = small(**entrants_config(share_open=0.1, start=10, void_threshold=0.0))
    assert void_filler_cells(world).all(), "threshold 0: every entrant in the window"


def test_in_a_run_void_fillers_are_the_entrants_on_void_cells_in_the_window_and_area():
    """End to end: each day's entrants take the traits iff they enter on a cell the void
    rule marks (from the layer as it stood that morning), on a day of the window."""
    sc = small(
        steps=110,
        burn_in=20,
        market__share_user_dealers=0.0,  # no entrant moves to a user's home
        police__n_units=16,
        **NO_REFERRAL,
        **entrants_config(
            product_risk_multiplier=0.0,
            start=20,
            duration=50,
            void_threshold=0.5,
            void_radius=2,
            area={"centre": [10, 10], "radius": 6},
        ),
    )
    model = MarketModel(sc)
    world, d = model.world, model.dealers
    in_area = world.town.area_mask(sc.market.entrants.area, "area").ravel()
    seen = {"filler": 0, "void outside window": 0, "ordinary": 0}
    while model.day < sc.steps:
        day, n0 = model.day, d.n
        void = box_sum(world.town.layer("void"), 2).ravel() >= 0.5
        model.step()
        rows = np.arange(n0, d.n)
        in_window = 20 <= day < 70
        filler = void[d.cell[rows]] & in_area[d.cell[rows]] & in_window
        assert np.array_equal(d.product_risk[rows] == 0, filler), day
        seen["filler"] += int(filler.sum())
        seen["void outside window"] += 0 if in_window else int(void[d.cell[rows]].sum())
        seen["ordinary"] += int((~filler).sum())
    assert min(seen.values()) >= 3, seen


# ------------------------------------------------------------------ defaults unchanged
def test_traits_set_to_the_founders_values_change_nothing():
    """Void fillers given the founders' own values run bit for bit as the defaults: the
    void rule draws no random number, and ordinary entrants use the founders' traits."""
    base = small(steps=60, seed=3, police__n_units=8, **NO_REFERRAL)
    same = small(
        steps=60,
        seed=3,
        police__n_units=8,
        **NO_REFERRAL,
        **entrants_config(
            share_open=0.6,
            share_exploit=0.2,
            share_user_dealer=0.3,
            share_crew=0.45,
            close_threshold=0.35,
            void_threshold=0.0,
        ),
    )
    model, ts_base, _ = simulate(base)
    assert model.dealers.n > base.market.n_dealers + 5, "no entrants: the test would be empty"
    _, ts_same, _ = simulate(same)
    assert ts_same.equals(ts_base)


# ------------------------------------------------------------------ effect on overdoses
def test_high_purity_void_fillers_raise_overdoses_on_paired_seeds():
    """Every entrant from day 0 fills a void (threshold 0) and sells product 10 times as
    risky: mean product risk 2.9 against 0.29, so a use of it is 4.3 times as likely to
    overdose (ODD 7.9). Seen over 6 paired seeds of the small town: 82 overdoses against
    45. The test asks for more than 10% more; with Poisson counts of that size it would
    fail by chance about 3 times in 1,000 (z = 2.7)."""
    totals = {1.0: 0.0, 10.0: 0.0}
    for seed in range(1, 7):
        for multiplier in totals:
            sc = small(
                steps=120,
                seed=seed,
                police__n_units=8,
                **entrants_config(product_risk_multiplier=multiplier, void_threshold=0.0),
            )
            _, ts, _ = simulate(sc)
            totals[multiplier] += ts.loc[ts.region == "all", "overdoses"].sum()
    assert totals[10.0] > 1.1 * totals[1.0], totals


# ------------------------------------------------------------------ shared burn-in
def test_runs_share_the_days_before_the_window_and_equal_fresh_runs():
    c = BurnInCache()
    runs, violence = [], []
    for multiplier in (1.0, 5.0):
        traits = {
            "violence_multiplier": multiplier,
            "product_risk_multiplier": multiplier,
            "void_threshold": 0.0,
            "start": 20,
        }
        sc = small(steps=80, **NO_REFERRAL, **entrants_config(rate=1.0, **traits))
        assert shared_until(sc) == (20 if multiplier != 1.0 else sc.steps)
        plain = small(steps=80, market__entrants__rate=1.0, **NO_REFERRAL)
        assert burn_in_key(sc) == burn_in_key(plain)
        model, ts, _ = simulate(sc, cache=c)
        _, fresh, _ = simulate(sc)
        assert ts.equals(fresh)
        runs.append(ts)
        d = model.world.dealers
        violence.append((d.entered_day[: d.n].copy(), d.violence[: d.n].copy()))
    assert c.hits == 1
    first = runs[0].step < 20
    assert runs[0][first].equals(runs[1][first])  # the shared days
    # Entrants from day 20 on (the window) are void fillers, five times as violent in the
    # second run; rows from before are the same dealers with the same traits. The runs part
    # once the fillers act, so rows are compared only for the first day of window entrants.
    (entered, v1), (entered5, v5) = violence
    n = min(v1.size, v5.size)
    late = entered[:n] >= 20
    np.testing.assert_array_equal(v1[:n][~late], v5[:n][~late])
    assert np.isclose(v5[:n][late] / v1[:n][late], 5.0).any()
    first = late & (entered[:n] == entered[:n][late].min()) & (entered5[:n] == entered[:n])
    ratio = v5[:n][first] / v1[:n][first]
    assert (np.isclose(ratio, 5.0) | np.isclose(ratio, 1.0)).all(), ratio


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize(
    ("entrants", "field", "value", "allowed"),
    [
        ("product_risk_multiplier: 11", "market.entrants.product_risk_multiplier", "11", "<= 10"),
        ("share_open: 1.5", "market.entrants.share_open", "1.5", "<= 1"),
        ("start: -1", "market.entrants.start", "-1", ">= 0"),
        ("duration: 0", "market.entrants.duration", "0", ">= 1"),
        ("void_radius: -2", "market.entrants.void_radius", "-2", ">= 0"),
        ("share_crew: 0.8", "market.entrants.share_crew", "0.8", "at most 1"),
        ("close_threshold: 0.05", "market.entrants.close_threshold", "0.05", "reopen_threshold"),
        ("area: {centre: [60, 5], radius: 3}", "market.entrants.area.centre", "[60, 5]", "x 0..49"),
        ("area: {centre: [5, 5]}", "market.entrants.area", "", "centre and radius"),
        ("purity: 2", "market.entrants.purity", "", "product_risk_multiplier"),
    ],
)
def test_bad_entrant_settings_give_one_line_naming_field_value_and_what_is_allowed(
    tmp_path, entrants, field, value, allowed
):
    path = tmp_path / "entrants.yaml"
    path.write_text(f"market:\n  entrants:\n    {entrants}\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    msg = str(info.value)
    assert len(msg.splitlines()) == 1
    assert str(path) in msg and field in msg and allowed in msg, msg
    if value:
        assert f"bad value {value}" in msg, msg


def test_a_window_after_the_run_is_warned_about():
    sc = small(steps=40, **entrants_config(product_risk_multiplier=2.0, start=40))
    assert any("market.entrants.start" in w for w in sc.warnings())
    assert not small(steps=40, **entrants_config(start=40)).warnings()


def test_the_shipped_purity_scenario_is_operation_reduction_with_high_purity_void_fillers():
    base = load_scenario(ROOT / "scenarios" / "operation_reduction.yaml")
    purity = load_scenario(ROOT / "scenarios" / "operation_reduction_purity.yaml")
    assert purity.tactics == base.tactics
    e = purity.market.entrants
    assert e.product_risk_multiplier > 1 and e.void_fillers_differ
    assert e.start == base.tactics[1].start and e.duration is not None
    assert burn_in_key(purity) == burn_in_key(base)
