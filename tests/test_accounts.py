"""Per-tactic accounts add up to the town-wide totals they are carved from."""

from __future__ import annotations

import pytest

from marketsim.io import simulate
from tests.conftest import small


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_accounts_partition_the_totals(seed):
    _model, ts, summary = simulate(small(seed=seed, steps=80, police__n_units=6))
    allr = ts[ts.region == "all"]
    accounts = summary["costs"]["by_tactic"]

    def total(item):
        return sum(a[item] for a in accounts.values())

    assert total("arrests") == pytest.approx(allr.arrests.sum())
    assert total("prosecutions") == pytest.approx(allr.prosecutions.sum())
    assert total("prison_days") == pytest.approx(allr.prison_days.sum())
    assert total("officer_days") == pytest.approx(allr.police_officer_days.sum())
    place_days = summary["harm_by_type"]["treatment_place_day"]["count"]
    assert total("treatment_place_days") == pytest.approx(place_days)
    children = summary["harm_by_type"]["children_affected"]["count"]
    assert total("children_affected") == pytest.approx(children)
    # routine patrol and reactive arrests are the only enforcers in the baseline
    assert set(accounts) <= {"standard_patrol", "reactive", "self_referral"}
