"""Property tests: invariants that must hold for any seed and any sensible small scenario.

Each example builds the small scenario from conftest with a few knobs drawn by
hypothesis, runs it for 20-40 recorded days and checks an accounting identity:
no negative counts, every agent in exactly one state, regions partition the
town, and net harm is exactly the weighted sum of the harm ledger.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from marketsim.agents import dealer as D
from marketsim.agents import user as U
from marketsim.harms import HARM_INDEX, PROFILE_NAMES, landuse_multipliers, load_profile
from marketsim.metrics import COLUMNS
from marketsim.model import MarketModel
from marketsim.summary import census as summary_census
from marketsim.summary import summarize
from marketsim.town import REGIONS
from tests.conftest import small

SETTINGS = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

# Columns that are sums over cells (so region totals add up); price is a mean.
ADDITIVE = [c for c in COLUMNS if c != "price"]


@st.composite
def runs(draw, harsh: bool = False):
    """A small scenario with a few knobs drawn, and a seed."""
    overrides = {
        "steps": draw(st.integers(20, 40)),
        "burn_in": draw(st.integers(5, 15)),
        "market__n_users": draw(st.integers(40, 400)),
        "market__n_dealers": draw(st.integers(3, 60)),
        "police__n_units": draw(st.integers(0, 12)),
        "treatment__places_per_site": draw(st.integers(0, 20)),
    }
    if harsh:
        # Push rare events (deaths, arrests, treatment churn) so the bookkeeping
        # around them is exercised in a short run.
        overrides["users__overdose_base"] = draw(st.floats(0.002, 0.02))
        overrides["users__overdose_fatality"] = draw(st.floats(0.2, 1.0))
        overrides["users__crime_arrest_prob"] = draw(st.floats(0.05, 0.5))
        overrides["users__treatment_seek_prob"] = draw(st.floats(0.01, 0.1))
        overrides["police__detection_rate"] = draw(st.floats(0.1, 1.0))
    seed = draw(st.integers(0, 2**31 - 1))
    return overrides, seed


def simulate(overrides: dict, seed: int) -> MarketModel:
    model = MarketModel(small(**overrides), seed=seed)
    model.ledger.keep_events = True  # the event table is checked against the summaries
    model.run()
    return model


@SETTINGS
@given(runs())
def test_no_negative_counts_in_the_timeseries(run):
    overrides, seed = run
    model = simulate(overrides, seed)
    ts = model.recorder.frame()
    assert len(ts) == 4 * overrides["steps"]
    values = ts[list(ADDITIVE)]
    assert not values.isna().any().any(), "only price may be NaN"
    assert (values >= 0).all().all(), values.min()[values.min() < 0]
    price = ts["price"].dropna()
    assert (price > 0).all()
    # Price is NaN exactly where nothing was sold.
    assert (ts["price"].isna() == (ts["sales"] == 0)).all()


@SETTINGS
@given(runs(harsh=True))
def test_agents_are_conserved_and_consistent(run):
    overrides, seed = run
    model = simulate(overrides, seed)
    u, d = model.users, model.dealers
    ustate, dstate = u.view("state"), d.view("state")

    # Every row in exactly one state; census totals are the population sizes.
    assert np.isin(ustate, np.arange(len(U.STATE_NAMES))).all()
    assert np.isin(dstate, np.arange(len(D.STATE_NAMES))).all()
    census = summary_census(model.world)
    assert sum(census["users"].values()) == u.n
    assert sum(census["dealers"].values()) == d.n
    assert sum(census["treatment"].values()) == u.n
    assert u.n >= overrides["market__n_users"]
    assert d.n >= overrides["market__n_dealers"]

    # Dead users have left the model's agent set; everyone else is still in it.
    agents = set(model.agents)
    for row in range(u.n):
        assert (model.views.users[row] in agents) == (ustate[row] != U.DEAD), row

    # Only active dealers stand on a cell, and it is the cell in their row.
    for row in range(d.n):
        cell = model.views.dealers[row].cell
        assert (cell is not None) == (dstate[row] == D.ACTIVE), row
        if cell is not None:
            flat = int(d.cell[row])
            assert cell.coordinate == (flat // model.town.height, flat % model.town.height)

    # User-dealer links point both ways, and custody is shared by the pair.
    for row in np.flatnonzero(d.view("user") >= 0):
        ur = d.user[row]
        assert u.dealer[ur] == row
        assert (dstate[row] in (D.REMANDED, D.PRISON)) == (ustate[ur] == U.PRISON)
    for ur in np.flatnonzero(u.view("dealer") >= 0):
        assert d.user[u.dealer[ur]] == ur

    # Treatment: each client and each waiting user is held by exactly one site,
    # sites never exceed their places, and only active users are in the system.
    treat = u.view("treatment")
    clients = [c for s in model.services for c in s.clients]
    waiting = [c for s in model.services for c in s.waiting]
    assert sorted(clients) == sorted(np.flatnonzero(treat == U.IN_TREATMENT).tolist())
    assert sorted(waiting) == sorted(np.flatnonzero(treat == U.WAITING).tolist())
    assert all(len(s.clients) <= s.places for s in model.services)
    in_system = (treat == U.IN_TREATMENT) | (treat == U.WAITING)
    assert (ustate[in_system] == U.ACTIVE).all()

    # Users jailed for crime have a release day still to come.
    jailed = (ustate == U.PRISON) & (u.view("dealer") < 0)
    assert (u.view("release_day")[jailed] >= model.day).all()


@SETTINGS
@given(runs())
def test_regions_partition_the_town(run):
    overrides, seed = run
    model = simulate(overrides, seed)
    masks = model.town.region_masks
    parts = np.stack([masks["target"], masks["buffer"], masks["control"]]).astype(int)
    assert (parts.sum(axis=0) == 1).all(), "with control 'rest' every cell is in one region"

    # Unrounded recorder rows: (days, regions, columns) in REGIONS order.
    raw = np.stack(model.recorder.rows)
    idx = {r: i for i, r in enumerate(REGIONS)}
    cols = [COLUMNS.index(c) for c in ADDITIVE]
    whole = raw[:, idx["all"], cols]
    parts_sum = sum(raw[:, idx[r], cols] for r in ("target", "buffer", "control"))
    np.testing.assert_allclose(whole, parts_sum, rtol=1e-9, atol=1e-9)

    # The written frame rounds counts to 6 decimals, so three regions may differ
    # from 'all' by up to 4 x 0.5e-6 after rounding.
    ts = model.recorder.frame().set_index(["step", "region"])
    total = ts.xs("all", level="region")[ADDITIVE]
    framed = sum(ts.xs(r, level="region")[ADDITIVE] for r in ("target", "buffer", "control"))
    pd.testing.assert_frame_equal(total, framed, rtol=1e-9, atol=2e-6)


@SETTINGS
@given(runs(harsh=True))
def test_net_harm_is_the_weighted_sum_of_the_ledger(run):
    overrides, seed = run
    model = simulate(overrides, seed)
    ts = model.recorder.frame()
    summary = summarize(model.world, ts)
    events = model.ledger.events()

    assert (events["count"] >= 0).all(), "harm counts are never negative"
    assert events["day"].between(0, overrides["steps"] - 1).all(), "burn-in is not recorded"
    for name in PROFILE_NAMES:
        assert summary["net_harm"][name]["total"] >= 0
        assert all(v >= 0 for v in summary["net_harm"][name]["by_type"].values())

    # Recompute net harm event by event from the profile weights and the land-use
    # multiplier of the cell where each event happened.
    land_use = model.town.land_use
    mult = landuse_multipliers(land_use, model.town.LAND_USES)
    types = events["harm"].map(HARM_INDEX).to_numpy()
    cells = events["cell"].to_numpy()
    counts = events["count"].to_numpy()
    for name in PROFILE_NAMES:
        weights = load_profile(name).weights
        expected = float((weights[types] * counts * mult[types, cells]).sum())
        got = summary["net_harm"][name]["total"]
        assert np.isclose(got, expected, rtol=1e-9, atol=1e-9), (name, got, expected)
        by_region = summary["net_harm"][name]["by_region"]
        parts = sum(by_region[r] for r in ("target", "buffer", "control"))
        assert np.isclose(by_region["all"], parts, rtol=1e-9, atol=1e-9)

    # The daily net_harm column (region 'all') adds up to the run's total under
    # the timeseries profile (cost of crime by default).
    assert model.config.harms.timeseries_profile == "cost_of_crime_gbp"
    column = ts.loc[ts.region == "all", "net_harm"].sum()
    total = summary["net_harm"]["cost_of_crime_gbp"]["total"]
    assert np.isclose(column, total, rtol=1e-9, atol=1e-9), (column, total)


@SETTINGS
@given(runs())
def test_ledger_counts_match_the_tallied_columns(run):
    """Harm types that are also timeseries columns are counted the same way in both."""
    overrides, seed = run
    model = simulate(overrides, seed)
    ts = model.recorder.frame()
    allr = ts[ts.region == "all"]
    events = model.ledger.events()
    by_type = events.groupby("harm")["count"].sum()
    pairs = {
        "acquisitive_crime": "acquisitive_crimes",
        "arrest": "arrests",
        "prosecution": "prosecutions",
        "prison_day": "prison_days",
        "public_use": "public_use",
        "litter": "litter",
        "initiation": "new_users",
        "missed_treatment": "missed_appointments",
        "officer_day": "police_officer_days",
    }
    for harm, column in pairs.items():
        assert np.isclose(by_type.get(harm, 0.0), allr[column].sum(), atol=1e-6), harm
    # Violence and overdoses are booked at their expected severity (each incident's
    # chance of being a homicide, each use's chance of an overdose), the timeseries
    # counts what happened: every incident is booked once in all, and harm is booked
    # where and only where something could happen.
    violent = sum(by_type.get(h, 0.0) for h in ("homicide", "serious_violence", "other_violence"))
    assert np.isclose(violent, allr["violent_incidents"].sum(), atol=1e-6)
    assert by_type.get("homicide", 0.0) <= violent + 1e-9
    if allr["homicides"].sum() > 0:
        assert by_type.get("homicide", 0.0) > 0
    if allr["overdoses"].sum() > 0:
        assert by_type.get("overdose_nonfatal", 0.0) + by_type.get("overdose_death", 0.0) > 0


def test_booked_overdoses_and_homicides_match_those_that_happen_on_average():
    """The harm account books each use's overdose chance and each incident's homicide
    chance, and the timeseries the incidents to expect; over many runs the booked totals equal what happened, within four Poisson
    standard deviations (overdoses and homicide shares raised so that each run has dozens)."""
    from marketsim.harms import HARM_INDEX

    booked = {"overdose_death": 0.0, "overdose_nonfatal": 0.0, "homicide": 0.0, "incidents": 0.0}
    happened = {"overdose_death": 0.0, "overdose_nonfatal": 0.0, "homicide": 0.0, "incidents": 0.0}
    for seed in range(8):
        sc = small(users__overdose_base=0.01, dealers__homicide_share=0.2, dealers__turf_rate=0.01)
        model = MarketModel(sc, seed=seed)
        model.run()
        by_type = model.ledger.totals()[0].sum(axis=1)
        ts = model.recorder.frame()
        allr = ts[ts.region == "all"]
        for harm in ("overdose_death", "overdose_nonfatal", "homicide"):
            booked[harm] += by_type[HARM_INDEX[harm]]
        # the timeseries' incidents to expect (each dealer's daily chance summed)
        booked["incidents"] += allr["expected_violent_incidents"].sum()
        happened["incidents"] += allr["violent_incidents"].sum()
        happened["overdose_death"] += allr["overdose_deaths"].sum()
        happened["overdose_nonfatal"] += allr["overdoses"].sum() - allr["overdose_deaths"].sum()
        happened["homicide"] += allr["homicides"].sum()
    for harm, expected in booked.items():
        assert expected > 20, (harm, expected)  # enough events for the check to bite
        assert abs(happened[harm] - expected) < 4 * np.sqrt(expected), (harm, happened, booked)
