"""The baseline under standard patrol settles after burn-in and is a going concern.

Uses the shipped baseline scenario unchanged except for the seed, so these
checks speak for the default calibration. About half a minute on 2 cores.
The design §9 facts themselves are in tests/validation/.
"""

from __future__ import annotations

import numpy as np
import pytest

from marketsim.io import simulate
from marketsim.scenario import load_scenario
from tests.conftest import ROOT

SEEDS = (11, 12, 13, 14, 15, 16)


@pytest.fixture(scope="module")
def baseline_runs():
    runs = []
    for seed in SEEDS:
        sc = load_scenario(ROOT / "scenarios" / "baseline.yaml", [f"seed={seed}"])
        _model, ts, summary = simulate(sc)
        runs.append((ts[ts.region == "all"].reset_index(drop=True), summary))
    return runs


def _year_change(a, column: str) -> float:
    half = len(a) // 2
    first, second = a[column].iloc[:half].mean(), a[column].iloc[half:].mean()
    return second / first - 1.0


@pytest.mark.slow
def test_market_settles_after_burn_in(baseline_runs):
    """After burn-in, year-2 means stay close to year-1 means.

    Bounds: each seed within +/-20% for sales and active dealers and +/-5% for
    price; the mean change over the six seeds within +/-12% (sales, dealers).
    Measured at calibration (seeds 1-3): sales +4..+6%, dealers +4..+15%, price < 1%.
    """
    changes = {c: [] for c in ("sales", "active_dealers", "price")}
    for a, _ in baseline_runs:
        for column in changes:
            changes[column].append(_year_change(a, column))
    for column, bound in (("sales", 0.20), ("active_dealers", 0.20), ("price", 0.05)):
        worst = max(abs(c) for c in changes[column])
        assert worst < bound, f"{column} drifts {worst:+.1%} between years (bound {bound:.0%})"
    for column in ("sales", "active_dealers"):
        assert abs(np.mean(changes[column])) < 0.12, (
            f"{column}: mean drift {np.mean(changes[column]):+.1%}"
        )


@pytest.mark.slow
def test_market_is_a_going_concern(baseline_runs):
    """A working market: most wanted purchases are made, with both open and closed trade."""
    for a, _ in baseline_runs:
        sales, unmet = a.sales.sum(), a.unmet_demand.sum()
        assert sales / (sales + unmet) > 0.8
        open_share = a.open_sales.sum() / sales
        assert 0.15 < open_share < 0.85, f"open share {open_share:.0%}"
        assert a.active_dealers.min() > 50
