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


def test_officers_attention_flags_on_a_long_campaign_and_a_break_restores_it():
    """Attention above the floor halves every half-life of unbroken days at one site; a
    rotation to the next site and a back-off break start it afresh (Sherman 1990)."""
    halflife, floor = {"attention_halflife": 10, "attention_floor": 0.2}, 0.2
    one_site = MarketModel(small(steps=5, tactics=[PATROL, crackdown(duration=60, **halflife)]))
    cd = one_site.tactics[1]
    assert cd.attention(10) == 1.0
    assert cd.attention(20) == pytest.approx(floor + (1 - floor) / 2)
    assert cd.attention(40) == pytest.approx(floor + (1 - floor) / 8)
    assert cd.attention(200) == pytest.approx(floor, abs=1e-4)
    sites = [{"centre": [4, 4], "radius": 1}, {"centre": [15, 15], "radius": 1}]
    rotating = crackdown(duration=60, sites=sites, rotate_every=15, **halflife)
    cd = MarketModel(small(steps=5, tactics=[PATROL, rotating])).tactics[1]
    assert cd.attention(24) < cd.attention(25) == 1.0  # the second site is fresh
    backing_off = crackdown(duration=60, back_off={"on_days": 7, "off_days": 7}, **halflife)
    cd = MarketModel(small(steps=5, tactics=[PATROL, backing_off])).tactics[1]
    assert cd.attention(16) < cd.attention(24) == 1.0  # the first day after a break
    never = crackdown(duration=60, attention_halflife=None)
    assert MarketModel(small(steps=5, tactics=[PATROL, never])).tactics[1].attention(60) == 1.0


def test_flagging_attention_cuts_the_hours_spent_looking_not_the_presence_seen():
    """The campaign's officers stay on site and in view, but the hours they spend looking
    for dealers (detection) fall with their attention; routine patrol's do not."""
    tactic = crackdown(start=5, duration=60, intensity=6, attention_halflife=4.0)
    model = MarketModel(small(steps=40, police__n_units=8, tactics=[PATROL, tactic]), seed=1)
    cells = model.tactics[1].all_cells
    ratio = {}
    while model.world.day < 36:  # from the burn-in's first day (negative)
        model.step()
        day = model.world.day - 1
        if day in (5, 35):
            w = model.world
            ratio[day] = w.police_hours[cells].sum() / w.visible_hours[cells].sum()
    assert ratio[5] > 0.95, ratio  # a fresh campaign: every hour on site is spent looking
    assert ratio[35] < 0.5, ratio  # 30 days on at a 4-day half-life: near the floor, 0.25


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
