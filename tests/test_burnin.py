"""Shared burn-in (burnin.py): starting from a cached day-0 state changes nothing."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from marketsim.burnin import BurnInCache, burn_in_key, dump_state, shared_until
from marketsim.experiments.spec import load_experiment
from marketsim.io import simulate
from marketsim.model import MarketModel
from marketsim.scenario import load_scenario, read_yaml, scenario_from_dict
from marketsim.tactics.registry import TACTICS
from tests.conftest import ROOT

SCENARIOS = sorted(p.stem for p in (ROOT / "scenarios").glob("*.yaml"))
SHORT = ["seed=7", "burn_in=30", "steps=150"]  # every shipped tactic has started by day 120


@pytest.fixture(scope="module")
def cache():
    """A cache primed by the baseline: every other scenario starts from its day-0 state."""
    c = BurnInCache()
    simulate(load_scenario(ROOT / "scenarios" / "baseline.yaml", SHORT), cache=c)
    return c


@pytest.mark.parametrize("name", SCENARIOS)
def test_a_run_from_the_shared_burn_in_equals_a_fresh_run(cache, name):
    sc = load_scenario(ROOT / "scenarios" / f"{name}.yaml", SHORT)
    _, ts_fresh, summary_fresh = simulate(sc)
    hits = cache.hits
    _, ts_cached, summary_cached = simulate(sc, cache=cache)
    assert cache.hits == hits + 1, "the shipped scenarios should share the baseline's burn-in"
    assert ts_cached.equals(ts_fresh)
    assert summary_cached == summary_fresh


def test_the_key_ignores_tactics_that_wait_for_day_0_but_not_the_rest():
    base = load_scenario(ROOT / "scenarios" / "crackdown.yaml", SHORT)
    key = burn_in_key(base)
    same = ["tactics.crackdown.intensity=3", "steps=40", "name=other", "tactics.crackdown.start=0"]
    for override in same:
        assert (
            burn_in_key(load_scenario(ROOT / "scenarios" / "crackdown.yaml", [*SHORT, override]))
            == key
        )
    differs = [
        "seed=8",
        "burn_in=31",
        "police.n_units=12",
        "tactics.standard_patrol.demand_weight=0.5",
    ]
    for override in differs:
        other = load_scenario(ROOT / "scenarios" / "crackdown.yaml", [*SHORT, override])
        assert burn_in_key(other) != key, override


def test_sweep_points_share_the_days_before_the_crackdown_and_keep_their_own_parameters():
    """Two crackdown intensities share the state at day 120, the crackdown's first day, and
    each run equals its fresh run."""
    c = BurnInCache()
    runs = {}
    for intensity in (2, 12):
        sc = load_scenario(
            ROOT / "scenarios" / "crackdown.yaml",
            [*SHORT, f"tactics.crackdown.intensity={intensity}"],
        )
        assert shared_until(sc) == 120
        _, ts, _ = simulate(sc, cache=c)
        _, fresh, _ = simulate(sc)
        assert ts.equals(fresh)
        runs[intensity] = ts
    assert c.misses == 1 and c.hits == 1
    assert c.last_shared_day == 120
    assert not runs[2].equals(runs[12])


def test_a_later_tactic_starts_from_an_earlier_shared_day_and_books_patrol_time_as_fresh(cache):
    """The hot-spot watch begins on day 30, after the baseline's day-0 state: the run goes
    on from day 0, and the patrol's bookings from days 0-29 stay in its accounts."""
    sc = load_scenario(ROOT / "scenarios" / "hotspot_patrol.yaml", SHORT)
    assert shared_until(sc) == 30
    fresh_model, _, fresh = simulate(sc)
    model, _, cached = simulate(sc, cache=cache)
    assert cache.last_shared_day in (0, 30)
    assert cached["costs"]["by_tactic"] == fresh["costs"]["by_tactic"]
    patrol = model.accounts.accounts["standard_patrol"].counts["officer_days"]
    assert patrol == fresh_model.accounts.accounts["standard_patrol"].counts["officer_days"] > 0


def test_a_watch_that_begins_in_burn_in_does_not_take_the_shared_day_0_state(cache):
    """Hot-spot patrol from day 70 watches the market from day -20 (its 90-day before
    window), so it cannot start from the baseline's day-0 state (it once did, and lost
    the window's first 20 days from its report)."""
    sc = load_scenario(
        ROOT / "scenarios" / "hotspot_patrol.yaml", [*SHORT, "tactics.hotspot_patrol.start=70"]
    )
    assert shared_until(sc) == -20
    _, ts_fresh, fresh = simulate(sc)
    _, ts_cached, cached = simulate(sc, cache=cache)
    assert ts_cached.equals(ts_fresh)
    assert cached == fresh


STARTS = ["start=0", "start=45", "start=200"]


@pytest.fixture(scope="module")
def town_model():
    return MarketModel(load_scenario(ROOT / "scenarios" / "baseline.yaml", SHORT))


@pytest.mark.parametrize("name", SCENARIOS)
def test_first_day_is_the_first_day_a_tactic_is_active(town_model, name):
    """`Tactic.first_day` (what runs may share) agrees with `is_active` (what runs do), for
    every tactic of every shipped scenario, with starts that put watches in burn-in too."""
    base = load_scenario(ROOT / "scenarios" / f"{name}.yaml", SHORT)
    variants = [[]]
    for cfg in base.tactics:
        if not cfg.acts_in_burn_in:
            variants += [[f"tactics.{cfg.label}.{s}"] for s in STARTS]
    variants.append(["evaluation.before_days=400"])
    for extra in variants:
        sc = load_scenario(ROOT / "scenarios" / f"{name}.yaml", [*SHORT, *extra])
        town_model.world.config = sc
        for cfg in sc.tactics:
            tactic = TACTICS[cfg.type](cfg, np.random.default_rng(0))
            tactic.init(town_model.world)
            days = range(-sc.burn_in, sc.steps + 300)
            first = next((d for d in days if tactic.is_active(d)), None)
            declared = max(-sc.burn_in, TACTICS[cfg.type].first_day(cfg, sc))
            assert first == declared, (name, extra, cfg.label)
            if first is not None:
                assert all(tactic.is_active(d) is False for d in range(-sc.burn_in, first))


def test_the_sobol_design_shares_its_first_90_days():
    """Targeted deterrence reads the model's violence log rather than watching from day 0,
    so every point of the Sobol design shares days 0-89 (tactics start on day 90)."""
    exp = load_experiment(ROOT / "experiments" / "sobol_tactics.yaml")
    assert shared_until(exp.scenario({}, exp.spec.seed)) == 90


def test_a_restored_state_pickles_again_and_its_grid_cells_share_one_class():
    """Mesa unpickles each grid cell into a class of its own (slow), which cannot be pickled
    again; `dump_state` keeps one class per grid, so later shared days can be kept too."""
    model = MarketModel(load_scenario(ROOT / "scenarios" / "baseline.yaml", SHORT))
    for _ in range(35):
        model.step()
    once = pickle.loads(dump_state(model))
    twice = pickle.loads(dump_state(once))
    assert len({type(cell) for cell in twice.grid.all_cells}) == 1
    assert type(next(iter(twice.grid.all_cells))) is not type(next(iter(once.grid.all_cells)))
    for m in (model, twice):
        for _ in range(10):
            m.step()
    assert twice.recorder.frame().equals(model.recorder.frame())
    assert [a.cell.coordinate for a in twice.views.police] == [
        a.cell.coordinate for a in model.views.police
    ]


def test_a_cached_state_comes_back_with_numpys_own_dtypes(cache):
    """A plainly unpickled array has a copy of its dtype, on which `np.add.at` is ~30x slower."""
    sc = load_scenario(ROOT / "scenarios" / "baseline.yaml", SHORT)
    model = cache.model_for(sc)
    for name, array in [
        ("tally", model.tally._values),
        ("user cash", model.users.cash),
        ("user home", model.users.home),
        ("dealer open", model.dealers.open),
        ("ledger today", model.ledger.today),
    ]:
        assert array.dtype is np.dtype(array.dtype.str), name


def test_dump_state_round_trips_arrays_and_scalars_exactly():
    fortran = np.asfortranarray(np.arange(12.0).reshape(3, 4))
    state = {
        "floats": np.array([0.1, -2.5, np.nan, np.inf]),
        "ints": np.arange(-3, 3, dtype=np.int32),
        "bools": np.array([[True, False], [False, True]]),
        "fortran": fortran,
        "view": np.arange(10)[::3],
        "empty": np.empty((0, 4)),
        "objects": np.array([None, "a"], dtype=object),
        "scalar": np.float64(1) / 3,
        "int scalar": np.int64(7),
    }
    back = pickle.loads(dump_state(state))
    for name, value in state.items():
        got = back[name]
        assert type(got) is type(value), name
        assert got.dtype == value.dtype, name
        if not value.dtype.hasobject:
            assert got.dtype is np.dtype(value.dtype.str), name
        np.testing.assert_array_equal(got, value, err_msg=name)
    assert back["fortran"].flags.f_contiguous
    assert back["floats"].flags.writeable
    back["floats"][0] = 1.0  # its own memory, not the pickle's buffer
    assert state["floats"][0] == 0.1


def _tactic_pool() -> dict[str, dict]:
    """Every non-background tactic of the shipped scenarios, by a unique label."""
    pool: dict[str, dict] = {}
    for path in sorted((ROOT / "scenarios").glob("*.yaml")):
        for cfg in read_yaml(path).get("tactics", []):
            if cfg["type"] != "standard_patrol":
                label = cfg.get("name") or cfg["type"]
                label = label if label not in pool else f"{label}_{path.stem}"
                pool[label] = {**cfg, "name": label}
    return pool


POOL = _tactic_pool()


@st.composite
def short_runs(draw, min_tactics: int):
    """A short default-town scenario with shipped tactics at drawn starts."""
    labels = draw(
        st.lists(st.sampled_from(sorted(POOL)), min_size=min_tactics, max_size=2, unique=True)
    )
    data = read_yaml(ROOT / "scenarios" / "baseline.yaml")
    data.update(seed=draw(st.integers(1, 3)), burn_in=30, steps=150)
    data["evaluation"] = {"before_days": draw(st.integers(10, 150))}
    data["tactics"] = [{"type": "standard_patrol"}] + [
        {**POOL[label], "start": draw(st.integers(0, 140))} for label in labels
    ]
    return scenario_from_dict(data, source="<drawn>")


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(first=short_runs(min_tactics=0), then=short_runs(min_tactics=1))
def test_any_run_after_any_other_equals_its_fresh_run(first, then):
    """Whatever an earlier run left in the cache (its day 0 and first tactic day), a later
    run on shipped tactics with drawn starts and before windows equals its fresh run."""
    cache = BurnInCache()
    simulate(first, cache=cache)
    _, ts_cached, cached = simulate(then, cache=cache)
    _, ts_fresh, fresh = simulate(then)
    assert ts_cached.equals(ts_fresh)
    assert cached == fresh
