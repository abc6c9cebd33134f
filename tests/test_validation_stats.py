"""The statistics behind docs/validation.md (marketsim.validation): intervals and windows."""

from __future__ import annotations

import json
import math
import threading
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from marketsim import validation as V


def test_mean_interval_is_the_student_t_interval():
    x = [1.0, 2.0, 4.0, 7.0]
    ci = V.mean_interval(x)
    low, high = stats.t.interval(0.95, len(x) - 1, loc=np.mean(x), scale=stats.sem(x))
    assert (ci.mean, ci.n) == (3.5, 4)
    assert ci.low == pytest.approx(low) and ci.high == pytest.approx(high)


def test_change_is_pooled_not_the_mean_of_per_seed_ratios():
    # A near-zero baseline seed would make per-seed ratios explode; pooling does not.
    tactic, base = [2.0, 50.0, 30.0], [0.1, 100.0, 60.0]
    ci = V.change_interval(tactic, base)
    assert ci.mean == pytest.approx(82.0 / 160.1 - 1)
    assert ci.low < ci.mean < ci.high


def test_exact_proportional_pairs_have_no_spread():
    ci = V.change_interval([5.0, 10.0, 20.0], [10.0, 20.0, 40.0])
    assert ci.mean == pytest.approx(-0.5)
    assert ci.low == pytest.approx(-0.5) and ci.high == pytest.approx(-0.5)


def test_ratio_interval_narrows_with_more_seeds():
    base = np.linspace(50, 150, 40)
    tactic = base * 0.8 + 10 * np.sin(np.arange(40))  # a true ratio of 0.8 plus scatter
    few, many = V.ratio_interval(tactic[:5], base[:5]), V.ratio_interval(tactic, base)
    assert many.high - many.low < few.high - few.low
    assert many.low < 0.8 < many.high


def test_rate_ratio_is_the_ratio_of_pooled_rates():
    ci = V.rate_ratio_interval([3, 5, 4], [2.0, 3.0, 2.5], [6, 9, 8], [2.0, 3.0, 2.0])
    expected = (12 / 7.5) / (23 / 7.0)
    assert ci.mean == pytest.approx(expected)
    assert ci.low < expected < ci.high
    # on the log scale, so the interval is symmetric in log terms
    assert math.log(ci.high / expected) == pytest.approx(math.log(expected / ci.low))


def test_inside():
    ci = V.Interval(0.0, -0.02, 0.01, 5)
    assert ci.inside(-0.03, 0.03) and not ci.inside(-0.01, 0.03)


def test_window_must_lie_inside_the_run():
    ts = pd.DataFrame({"step": range(10), "region": "all", "sales": np.arange(10.0)})
    assert V.window(ts, "all", "sales", 2, 5) == pytest.approx(3.0)
    with pytest.raises(ValueError, match="not inside the run"):
        V.window(ts, "all", "sales", 5, 12)


def test_seed_count_comes_from_the_environment(monkeypatch):
    monkeypatch.delenv(V.SEEDS_ENV, raising=False)
    assert V.seeds_from_env() == list(range(V.FIRST_SEED, V.FIRST_SEED + V.CI_SEEDS))
    monkeypatch.setenv(V.SEEDS_ENV, "3")
    assert V.seeds_from_env() == [V.FIRST_SEED, V.FIRST_SEED + 1, V.FIRST_SEED + 2]
    for bad in ("1", "forty", "2.5"):
        monkeypatch.setenv(V.SEEDS_ENV, bad)
        with pytest.raises(ValueError, match=rf"{V.SEEDS_ENV}: bad value '{bad}'.*>= 2"):
            V.seeds_from_env()


def test_worker_count_comes_from_the_environment(monkeypatch):
    monkeypatch.delenv(V.WORKERS_ENV, raising=False)
    assert V.workers_from_env() == 2
    monkeypatch.setenv(V.WORKERS_ENV, "1")
    assert V.workers_from_env() == 1
    for bad in ("0", "two"):  # 0 was quietly taken as 1, "two" was a bare int() error
        monkeypatch.setenv(V.WORKERS_ENV, bad)
        with pytest.raises(ValueError, match=rf"{V.WORKERS_ENV}: bad value '{bad}'.*>= 1"):
            V.workers_from_env()


def test_run_many_workers_run_the_callers_specs_as_this_process_does(monkeypatch):
    """Workers are fresh processes (forkserver), yet a RunSpec the caller changed reaches
    them, and two workers give the very runs one process gives."""
    short = V.RunSpec("baseline", 6, ("burn_in=0", "market.n_users=300", "market.n_dealers=30"))
    monkeypatch.setitem(V.RUNS, "baseline", short)
    # With a thread running, a fork of this process warns (Python 3.12: it may deadlock);
    # fresh workers do not fork it.
    stop = threading.Event()
    busy = threading.Thread(target=stop.wait, daemon=True)
    busy.start()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            pooled = V.run_many(["baseline"], [101, 102], workers=2)["baseline"]
    finally:
        stop.set()
    assert not [w for w in caught if "fork()" in str(w.message)]
    alone = V.run_many(["baseline"], [101, 102], workers=1)["baseline"]
    for seed in (101, 102):
        assert pooled[seed].ts.step.max() == 5
        pd.testing.assert_frame_equal(pooled[seed].ts, alone[seed].ts)
        # json: NaN (a price where nothing sold) equals itself there
        assert json.dumps(pooled[seed].summary, sort_keys=True) == json.dumps(
            alone[seed].summary, sort_keys=True
        )


def test_run_many_shares_each_seeds_start_and_gives_fresh_runs_bits(monkeypatch):
    """A seed's runs share their start (burn-in once, then the latest state an earlier run
    kept), and each is bit-identical to the same run made afresh."""
    small = ("burn_in=20", "market.n_users=300", "market.n_dealers=30")
    specs = {
        "baseline": V.RunSpec("baseline", 14, small),
        "raid": V.RunSpec("raid", 12, (*small, "tactics.1.start=8")),
        "crackdown": V.RunSpec("crackdown", 14, (*small, "tactics.1.start=8")),
        "grasslands": V.RunSpec("grasslands", 12, (*small, "tactics.1.start=3")),
    }
    for key, spec in specs.items():
        monkeypatch.setitem(V.RUNS, key, spec)
    started = []
    real = V.simulate

    def watched(scenario, cache=None, **kw):
        model, ts, summary = real(scenario, cache=cache, **kw)
        started.append((scenario.name, cache.last_shared_day if cache else "fresh"))
        return model, ts, summary

    monkeypatch.setattr(V, "simulate", watched)
    shared = V.run_many(specs, [7], workers=1)
    # Burn-in once (grasslands, first to differ); then each from the latest kept state.
    assert started == [("grasslands", None), ("raid", 3), ("crackdown", 8), ("baseline", 8)]
    for key, spec in specs.items():
        _model, ts, summary = real(V.spec_scenario(spec, 7))
        pd.testing.assert_frame_equal(shared[key][7].ts, ts, check_exact=True)
        assert json.dumps(shared[key][7].summary, sort_keys=True, default=str) == json.dumps(
            summary, sort_keys=True, default=str
        )


def test_extend_runs_makes_only_the_seeds_it_lacks_in_one_pool(monkeypatch):
    """Fact 7's and fact 10's extra seeds: the runs already made are kept, the missing
    seeds of every key are run together, and nothing is run when none is missing."""
    asked = []

    def fake_run_many(keys, seeds, workers=2):
        asked.append((list(keys), list(seeds), workers))
        return {k: {s: f"{k}{s}" for s in seeds} for k in keys}

    monkeypatch.setattr(V, "run_many", fake_run_many)
    first = V.FIRST_SEED
    have = {"a": {first: "old a", first + 1: "old a1"}, "b": {first: "old b", first + 1: "b1"}}
    out = V.extend_runs(have, ["a", "b"], 4, workers=3)
    assert asked == [(["a", "b"], [first + 2, first + 3], 3)]
    new_a = {first + 2: f"a{first + 2}", first + 3: f"a{first + 3}"}
    assert out["a"] == {**have["a"], **new_a}
    assert sorted(out["b"]) == [first, first + 1, first + 2, first + 3]
    asked.clear()
    assert V.extend_runs(out, ["a", "b"], 4) == out and asked == []


def _target_open_sales(values_by_day: list[float]) -> V.RunResult:
    """A run whose target region sold values_by_day[d] openly on recorded day d."""
    days = len(values_by_day)
    ts = pd.DataFrame({"step": range(days), "region": "target", "open_sales": values_by_day})
    return V.RunResult(ts=ts, summary={})


def test_a_seed_whose_baseline_sold_nothing_is_left_out_of_a_shift():
    # Seed 3's baseline sold nothing openly in the earlier window: its change there is
    # undefined (a division by zero gave -inf and a nan interval), so it is left out.
    base = {1: [10.0] * 4, 2: [8.0] * 4, 3: [0.0, 0.0, 5.0, 5.0]}
    tactic = {1: [5.0, 5.0, 8.0, 8.0], 2: [2.0, 2.0, 6.0, 6.0], 3: [0.0, 0.0, 1.0, 1.0]}
    runs = {
        "baseline": {s: _target_open_sales(v) for s, v in base.items()},
        "crackdown": {s: _target_open_sales(v) for s, v in tactic.items()},
    }
    shift = V.target_open_sales_shift(runs, "crackdown", (2, 4), (0, 2))
    assert shift.n == 2
    assert shift.mean == pytest.approx(((0.8 - 0.5) + (0.75 - 0.25)) / 2)
    assert math.isfinite(shift.low) and math.isfinite(shift.high)
