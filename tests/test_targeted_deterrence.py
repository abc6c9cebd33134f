"""targeted_deterrence: call-ins of the most violent crews, deterrent, follow-through, credibility."""

from __future__ import annotations

import numpy as np
import pytest

from marketsim.agents import dealer as D
from marketsim.model import MarketModel
from marketsim.phases import custody
from marketsim.phases import tactics as tactics_phase
from marketsim.scenario import ScenarioError
from marketsim.tactics import targeting
from marketsim.tactics.configs.targeted_deterrence import TargetedDeterrenceConfig
from marketsim.tactics.registry import TACTICS
from marketsim.tactics.schema import TacticConfig
from tests.conftest import small

PATROL = {"type": "standard_patrol"}
# A more violent small market, so a few dozen days hold enough incidents to compare
# (the violence parameters at their values before the joint calibration calmed the market).
VIOLENT = {
    "dealers__turf_rate": 0.003,
    "dealers__debt_rate": 0.05,
    "dealers__void_boost": 3.0,
    "dealers__violence_cost": 20.0,
    "users__violence_avoidance": 0.3,
}


def td(**kw):
    return {"type": "targeted_deterrence", "start": 5, **kw}


def model_at(day: int, seed: int = 1, tactic: dict | None = None, **overrides) -> MarketModel:
    """A small model stepped to the start of recorded `day` (before that day's tactics)."""
    sc = small(seed=seed, steps=200, tactics=[PATROL, tactic or td()], **overrides)
    model = MarketModel(sc)
    while model.day < day:
        model.step()
    return model


# schema ---------------------------------------------------------------------
def test_registered_with_declared_defaults_and_bounds():
    assert TACTICS["targeted_deterrence"].Config is TargetedDeterrenceConfig
    cfg = TargetedDeterrenceConfig()
    assert cfg.crews_notified == 5 and cfg.message_reach == 0.8
    assert cfg.credibility_start == 0.5 and cfg.credibility_half_life == 90
    assert cfg.response_capacity == 2 and cfg.response_delay == 7 and cfg.call_in_every == 180
    own = set(TargetedDeterrenceConfig.model_fields) - set(TacticConfig.model_fields)
    for name in own:
        extra = TargetedDeterrenceConfig.model_fields[name].json_schema_extra or {}
        assert extra.get("unit") and extra.get("source"), name


@pytest.mark.parametrize(
    "bad",
    [
        {"message_reach": 1.5},
        {"crews_notified": 0},
        {"credibility_start": -0.1},
        {"credibility_half_life": 0},
        {"response_capacity": 0},
        {"lever_severity": 25},
        {"no_such_field": 1},
    ],
)
def test_out_of_bounds_values_are_rejected(bad):
    with pytest.raises(ScenarioError):
        small(tactics=[PATROL, td(**bad)])


# targeting ------------------------------------------------------------------------
def test_call_in_tells_the_top_crews_by_recent_violence():
    model = model_at(5, **VIOLENT)
    tactic = model.tactics[1]
    tactic.config.crews_notified = 2
    tactic.config.message_reach = 1.0
    expected = targeting.ranked_crews(model.world, "violence", 2)
    assert expected, "the violent small market has crews with known incidents"
    tactic._call_in(model.world)
    assert sorted(tactic.notified) == sorted(expected)
    members = targeting.crew_members(model.world, expected)
    assert np.array_equal(np.sort(tactic.heard), members)  # reach 1: every member hears


def test_message_reach_is_the_share_who_hear():
    told, total = 0, 0
    for seed in range(1, 5):
        model = model_at(5, seed=seed, tactic=td(crews_notified=50, message_reach=0.5), **VIOLENT)
        tactic = model.tactics[1]
        tactic._call_in(model.world)
        told += tactic.heard.size
        total += targeting.crew_members(model.world, list(tactic.notified)).size
    # binomial(total ~ 40-60, 0.5): 0.25-0.75 is more than 3 sd either side
    assert total > 20 and 0.25 < told / total < 0.75


# effect: the deterrent ------------------------------------------------------------
def test_told_members_carry_credibility_times_severity():
    model = model_at(5, tactic=td(lever_severity=3.0, message_reach=1.0), **VIOLENT)
    model.step()  # day 5: the call-in
    tactic = model.tactics[1]
    d = model.dealers
    assert tactic.heard.size > 0
    expected = tactic.credibility * 3.0
    assert np.allclose(d.deterrent[tactic.heard], expected)
    others = np.setdiff1d(np.arange(d.n), tactic.heard)
    assert np.all(d.deterrent[others] == 0)


# delivery: call-ins, follow-through, credibility ---------------------------------
def test_call_ins_repeat_and_stop_with_the_campaign():
    sc = small(steps=60, tactics=[PATROL, td(start=10, duration=40, call_in_every=15)], **VIOLENT)
    model = MarketModel(sc)
    model.run()
    days = [c["day"] for c in model.tactics[1].call_ins]
    assert days == [10, 25, 40]  # day 55 is after the campaign


def test_credibility_halves_in_a_half_life_without_follow_through():
    calm = {"dealers__turf_rate": 0.0, "dealers__debt_rate": 0.0}
    tactic = td(credibility_start=0.8, credibility_half_life=20)
    sc = small(steps=46, tactics=[PATROL, tactic], **calm)
    model = MarketModel(sc)
    model.run()
    t = model.tactics[1]
    assert not t.follow_throughs
    path = dict(t.credibility_path)
    assert path[24] == pytest.approx(0.8 * 0.5 ** (20 / 20))  # 20 daily decays by day 24
    assert path[44] == pytest.approx(0.8 * 0.25)


def test_violence_by_a_told_crew_brings_a_response_after_the_delay():
    tactic_cfg = td(response_delay=3, response_days=4, response_units=2, credibility_gain=0.5)
    model = model_at(5, tactic=tactic_cfg, **VIOLENT)
    model.step()  # call-in on day 5
    t = model.tactics[1]
    # The violent market's own incidents of day 4 may have queued a told crew already;
    # follow only the incident set below.
    t.queue.clear()
    crew = next(iter(t.notified))
    member = targeting.crew_members(model.world, [crew])[0]
    before = t.credibility
    # a member of the told crew used violence yesterday (as phase 6 would record it)
    model.world.violent_today = np.array([member])
    model.step()  # day 6: queued for day 5 + 3 = 8
    assert (8, crew) in t.queue
    model.world.violent_today = np.empty(0, dtype=np.int64)
    model.step()  # day 7
    assert crew not in t.responding
    custody.run(model.world)
    tactics_phase.run(model.world)  # day 8: the response starts and asks for covert arrests
    assert t.responding[crew] == 8 + 4 - 1
    assert t.follow_throughs[-1]["crew"] == crew
    assert t.credibility > before * 0.99**3  # +50% of the gap, far above three days' decay
    orders = [o for o in model.police.orders if o.tactic == t.name]
    assert len(orders) == 1 and orders[0].cells.size == 0 and not orders[0].visible
    live = targeting.crew_members(model.world, [crew])
    assert np.array_equal(np.sort(orders[0].targets), live)
    assert orders[0].units == 2


def test_response_capacity_limits_crews_handled_at_once():
    # From day 20 and with small crews, so that several crews have known violence to be
    # ranked (and told) by.
    model = model_at(
        20,
        tactic=td(start=20, crews_notified=50, response_capacity=1, response_delay=0),
        market__mean_crew_size=2,
        **VIOLENT,
    )
    model.step()
    t = model.tactics[1]
    crews = [c for c in t.notified if targeting.crew_members(model.world, [c]).size][:3]
    assert len(crews) >= 2
    model.world.violent_today = np.concatenate(
        [targeting.crew_members(model.world, [c])[:1] for c in crews]
    )
    model.step()
    assert len(t.responding) == 1 and len(t.queue) == len(crews) - 1


def test_officer_days_and_spend_are_charged_to_the_tactic():
    tactic = td(call_in_officer_days=7, response_units=3, civil_order_cost=500, response_capacity=1)
    # A seed on which a told crew is violent again within the run (on seed 3, since
    # residual deterrence fades faster, the one crew told is not; on seed 1, since buyers
    # grew wary of a policed street (2026-12-07), neither is any).
    sc = small(seed=4, steps=60, tactics=[PATROL, tactic], **VIOLENT)
    model = MarketModel(sc)
    model.run()
    t = model.tactics[1]
    acct = model.accounts.accounts[t.name]
    assert t.follow_throughs, "the violent small market brings follow-through"
    response_days = acct.counts["officer_days"] - 7 * len(t.call_ins)
    assert response_days == pytest.approx(t.covert.officer_days) and response_days > 0
    assert response_days % 3 == 0  # 3 units a day for the one crew under response (of 4)
    assert acct.spend_gbp["civil_orders"] == 500 * len(t.follow_throughs)
    report = t.report(model.world)
    assert report["follow_throughs"] == len(t.follow_throughs)
    assert report["crews_notified"] == len(t.notified)


def test_no_deterrent_before_the_start():
    model = model_at(5, tactic=td(start=5))
    assert not model.tactics[1].notified
    assert np.all(model.dealers.deterrent[: model.dealers.n] == 0)


# effect against baseline -----------------------------------------------------------
def test_cuts_violence_while_sales_hold():
    """Paired seeds (design §9 fact 4): violence falls, volume sold barely changes.

    All crews are told (reach 1, severity 3, credibility 0.8: told members' hazard
    x exp(-2.4) = 0.09 at the start). Crew members cause roughly half the incidents,
    so the expected cut is about 30-50%; the test asks for at least 15% over 8
    seeds of 60 days (pooled incidents: 72 in the baseline since 2026-12-07, when buyers'
    wariness of a policed street took the 45 days' count to 60). Sales must stay within 5%
    (the default gives about -1%).
    """
    tactic = td(
        crews_notified=50,
        message_reach=1.0,
        lever_severity=3.0,
        credibility_start=0.8,
        response_arrest_prob=0.02,
    )
    violence = np.zeros(2)
    sales = np.zeros(2)
    for seed in range(1, 9):
        for i, tactics in enumerate(([PATROL], [PATROL, tactic])):
            model = MarketModel(small(seed=seed, steps=60, tactics=tactics, **VIOLENT))
            model.run()
            ts = model.recorder.frame()
            a = ts[(ts.region == "all") & (ts.step >= 5)]
            violence[i] += a.violent_incidents.sum()
            sales[i] += a.sales.sum()
    assert violence[0] > 60
    assert violence[1] < 0.85 * violence[0]
    assert abs(sales[1] / sales[0] - 1) < 0.05


def test_told_dealers_stay_told_after_arrest_and_release():
    model = model_at(5, tactic=td(message_reach=1.0), **VIOLENT)
    model.step()
    t = model.tactics[1]
    row = int(t.heard[0])
    model.dealers.state[row] = D.PRISON
    model.step()
    assert row in t.heard  # the row keeps its deterrent (active or not)
    assert model.dealers.deterrent[row] == pytest.approx(t.credibility * t.config.lever_severity)
