"""Shared burn-in (burnin.py): starting from a cached day-0 state changes nothing."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from marketsim.burnin import BurnInCache, burn_in_key, dump_state
from marketsim.io import simulate
from marketsim.scenario import load_scenario
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


def test_sweep_points_share_a_burn_in_and_keep_their_own_parameters():
    """Two crackdown intensities from one cached day-0 state differ as fresh runs do."""
    c = BurnInCache()
    runs = {}
    for intensity in (2, 12):
        sc = load_scenario(
            ROOT / "scenarios" / "crackdown.yaml",
            [*SHORT, f"tactics.crackdown.intensity={intensity}"],
        )
        _, ts, _ = simulate(sc, cache=c)
        _, fresh, _ = simulate(sc)
        assert ts.equals(fresh)
        runs[intensity] = ts
    assert c.misses == 1 and c.hits == 1
    assert not runs[2].equals(runs[12])


def test_a_cached_state_comes_back_with_numpys_own_dtypes(cache):
    """A plainly unpickled array has a copy of its dtype, on which `np.add.at` is ~30x slower."""
    sc = load_scenario(ROOT / "scenarios" / "baseline.yaml", SHORT)
    model = cache.model_at_day_0(sc)
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
