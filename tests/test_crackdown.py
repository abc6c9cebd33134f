"""crackdown: presence in the area, delivery options, and its direct effect."""

from __future__ import annotations

import numpy as np
import pytest

from marketsim.model import MarketModel
from marketsim.scenario import ScenarioError
from tests.conftest import small

PATROL = {"type": "standard_patrol"}


def crackdown(**kw):
    return {"type": "crackdown", "start": 10, "duration": 20, "intensity": 4, **kw}


def officer_days_in_target(model: MarketModel) -> np.ndarray:
    ts = model.recorder.frame()
    return ts[ts.region == "target"].police_officer_days.to_numpy()


def test_presence_only_during_the_campaign():
    model = MarketModel(small(steps=40, police__n_units=6, tactics=[PATROL, crackdown()]))
    model.run()
    od = officer_days_in_target(model)
    assert (od[10:30] >= 4 - 1e-9).all()  # 4 units ordered into the target
    assert od[:10].mean() < 2 and od[30:].mean() < 2


def test_back_off_cycles():
    tactic = crackdown(duration=40, back_off={"on_days": 5, "off_days": 5})
    model = MarketModel(small(steps=50, police__n_units=6, tactics=[PATROL, tactic]))
    model.run()
    cd = model.tactics[1]
    on = [d for d in range(50) if cd.in_campaign(d)]
    assert on == [*range(10, 15), *range(20, 25), *range(30, 35), *range(40, 45)]
    od = officer_days_in_target(model)
    assert od[on].min() >= 4 - 1e-9


def test_rotation_moves_between_sites():
    sites = [{"centre": [4, 4], "radius": 1}, {"centre": [15, 15], "radius": 1}]
    tactic = crackdown(duration=20, sites=sites, rotate_every=5)
    model = MarketModel(small(steps=30, police__n_units=6, tactics=[PATROL, tactic]))
    cd = model.tactics[1]
    first, second = cd.site_today(10), cd.site_today(15)
    assert not np.intersect1d(first, second).size
    assert np.array_equal(cd.site_today(20), first)


def test_area_and_sites_together_is_an_error():
    with pytest.raises(ScenarioError, match="either area or sites"):
        small(
            tactics=[
                PATROL,
                crackdown(area={"centre": [3, 3], "radius": 1}, sites=[{"cells": [[1, 1]]}]),
            ]
        )


def test_sites_outside_the_town_are_rejected():
    with pytest.raises(
        ScenarioError, match=r"tactics\[1\]\.sites\[0\]\.centre: bad value \[40, 3\]"
    ):
        small(tactics=[PATROL, crackdown(sites=[{"centre": [40, 3], "radius": 1}])])


def test_crackdown_cuts_open_dealing_in_the_target():
    """Paired seeds: open sales in the target during the campaign fall well below baseline.

    Tolerance: summed over 8 seeds, crackdown open sales in the target are less
    than half of the baseline's (the calibrated default gives about -85%).
    """
    cut, base = 0.0, 0.0
    for seed in range(1, 9):
        runs = []
        for tactics in ([PATROL], [PATROL, crackdown(intensity=6)]):
            model = MarketModel(small(seed=seed, steps=30, police__n_units=8, tactics=tactics))
            model.run()
            ts = model.recorder.frame()
            runs.append(
                ts[(ts.region == "target") & (ts.step >= 12) & (ts.step < 30)].open_sales.sum()
            )
        base += runs[0]
        cut += runs[1]
    assert base > 0
    assert cut < 0.5 * base


def test_follow_up_starts_when_the_market_returns():
    tactic = crackdown(duration=10, follow_up={"units": 2, "trigger": 0.01, "days": 5})
    model = MarketModel(small(steps=40, police__n_units=6, tactics=[PATROL, tactic]))
    model.run()
    cd = model.tactics[1]
    assert cd.before_level is not None
    # with a trigger of 1% of the old level, any return of open dealing brings follow-up
    assert cd.follow_until > 20
