"""harm_targeting: covert investigation, removal of the highest-harm crew, asset recovery, the void."""

from __future__ import annotations

import numpy as np
import pytest

from marketsim.agents import dealer as D
from marketsim.model import MarketModel
from marketsim.scenario import ScenarioError
from marketsim.tactics import targeting
from marketsim.tactics.configs.harm_targeting import HarmTargetingConfig
from marketsim.tactics.registry import TACTICS
from marketsim.tactics.schema import TacticConfig
from tests.conftest import small

PATROL = {"type": "standard_patrol"}


def ht(**kw):
    return {
        "type": "harm_targeting",
        "start": 5,
        "investigation_days": 10,
        "arrest_prob_per_day": 0.3,
        "arrest_days": 20,
        **kw,
    }


def run(seed: int = 1, steps: int = 50, tactic: dict | None = None, **overrides) -> MarketModel:
    model = MarketModel(
        small(seed=seed, steps=steps, tactics=[PATROL, tactic or ht()], **overrides)
    )
    model.run()
    return model


def model_at(day: int, seed: int = 1, tactic: dict | None = None) -> MarketModel:
    model = MarketModel(small(seed=seed, steps=200, tactics=[PATROL, tactic or ht()]))
    while model.day < day:
        model.step()
    return model


# schema ---------------------------------------------------------------------------
def test_registered_with_declared_defaults_and_bounds():
    assert TACTICS["harm_targeting"].Config is HarmTargetingConfig
    cfg = HarmTargetingConfig()
    assert cfg.target == "crew" and cfg.n_targets == 1 and cfg.investigation_days == 90
    assert cfg.asset_recovery and cfg.repeat_every is None and cfg.rank_by == "harm"
    own = set(HarmTargetingConfig.model_fields) - set(TacticConfig.model_fields)
    for name in own:
        extra = HarmTargetingConfig.model_fields[name].json_schema_extra or {}
        assert extra.get("unit") and extra.get("source"), name


@pytest.mark.parametrize(
    "bad",
    [
        {"target": "family"},
        {"n_targets": 0},
        {"arrest_prob_per_day": 2},
        {"investigation_days": -1},
        {"where": "buffer"},
        {"officers": -3},
    ],
)
def test_out_of_bounds_values_are_rejected(bad):
    with pytest.raises(ScenarioError):
        small(tactics=[PATROL, ht(**bad)])


# targeting -------------------------------------------------------------------------
def test_targets_the_crew_with_the_highest_summed_harm_score():
    model = model_at(5)
    tactic = model.tactics[1]
    crews, rows = tactic._choose_targets(model.world)
    scores = targeting.crew_scores(model.world, "harm")
    assert crews == [max(scores, key=lambda c: (scores[c], -c))]
    assert np.array_equal(rows, targeting.crew_members(model.world, crews))


def test_where_target_keeps_to_crews_working_in_the_target():
    model = model_at(5, tactic=ht(where="target", n_targets=3))
    crews, _ = model.tactics[1]._choose_targets(model.world)
    d = model.dealers
    mask = model.town.region_masks["target"].ravel()
    for c in crews:
        members = targeting.crew_members(model.world, [c])
        assert mask[d.cell[members]].any()


def test_individual_targets_are_the_highest_harm_dealers():
    model = model_at(5, tactic=ht(target="individuals", n_targets=4))
    _, rows = model.tactics[1]._choose_targets(model.world)
    act = model.dealers.active()
    score = model.world.harm_score(act)
    assert len(rows) == 4
    assert model.world.harm_score(rows).min() >= np.sort(score)[-4] - 1e-12


def test_a_more_dangerous_product_raises_the_harm_score_by_its_overdose_risk():
    """The product term: a dealer's score rises by users.overdose_product_risk per unit of
    product risk (the customer's added overdose hazard), and the ranking follows it."""
    model = model_at(5, tactic=ht(target="individuals", n_targets=1))
    world, d = model.world, model.dealers
    act = d.active()
    before = world.harm_score(act)
    low = act[np.argmin(before)]
    d.product_risk[low] += 10.0
    after = world.harm_score(act)
    slope = world.config.users.overdose_product_risk
    assert slope > 0
    np.testing.assert_allclose(after[act == low], before[act == low] + 10.0 * slope)
    np.testing.assert_array_equal(after[act != low], before[act != low])
    _, rows = model.tactics[1]._choose_targets(world)
    assert list(rows) == [low]


def test_volume_ranking_targets_the_biggest_traders_not_the_most_harmful():
    """rank_by volume: the dealers selling most a day so far (fact 10's comparison)."""
    model = model_at(20, tactic=ht(target="individuals", n_targets=4, rank_by="volume"))
    _, rows = model.tactics[1]._choose_targets(model.world)
    d, act = model.dealers, model.dealers.active()
    volume = d.sales_total[act] / np.maximum(d.days_active[act], 1)
    assert volume.max() > 0
    chosen = d.sales_total[rows] / np.maximum(d.days_active[rows], 1)
    assert len(rows) == 4 and chosen.min() >= np.sort(volume)[-4] - 1e-12
    by_harm = model.world.harm_score(act)
    assert not np.array_equal(np.sort(rows), np.sort(act[np.argsort(-by_harm)[:4]]))


# delivery ---------------------------------------------------------------------------
def test_investigation_is_covert_then_arrests_begin():
    """Units are committed with no street presence; no target is arrested before removal."""
    model = run(tactic=ht(officers=2, investigation_days=10))
    t = model.tactics[1]
    op = t.operations[0]
    assert op.begun == 5 and op.removal_day == 15
    arrest_days = op.end_day - op.removal_day if op.end_day is not None else 50 - 15
    assert model.accounts.accounts[t.name].counts["officer_days"] == pytest.approx(
        2 * (10 + arrest_days)
    )
    assert t.covert.officer_days == pytest.approx(2 * (10 + arrest_days))
    assert len(op.arrested) > 0


def test_covert_units_leave_the_street():
    """Officer-days on the street fall by the units the investigation takes (4 units, 2 covert)."""
    model = run(tactic=ht(officers=2, investigation_days=20), steps=25)
    ts = model.recorder.frame()
    street = ts[ts.region == "all"].set_index("step").police_officer_days
    assert street.loc[:4].min() == pytest.approx(4)  # all units on patrol before the start
    assert street.loc[5:24].max() == pytest.approx(2)  # two are covert


def test_repeat_every_opens_new_operations():
    # Without asset recovery the crews are not retired, so the small town always has a
    # crew to target and each operation opens on schedule.
    tactic = ht(repeat_every=20, investigation_days=5, arrest_days=10, asset_recovery=False)
    model = run(steps=60, tactic=tactic)
    begun = [op.begun for op in model.tactics[1].operations]
    assert begun[:3] == [5, 25, 45]


# effect ------------------------------------------------------------------------------
def test_asset_recovery_retires_the_crew_and_records_proceeds():
    model = run(tactic=ht(recovery_per_conviction=1000, recovery_profit_days=0))
    t = model.tactics[1]
    op = t.operations[0]
    assert set(op.crews) <= model.world.retired_crews
    d = model.dealers
    joined = np.flatnonzero(d.view("entered_day") >= op.removal_day)
    assert not np.isin(d.crew[joined], op.crews).any()  # no entrant joins the retired crew
    assert op.gbp_recovered == pytest.approx(1000 * len(op.convicted))
    assert op.convicted <= op.arrested
    report = t.report(model.world)
    assert report["gbp_recovered"] == op.gbp_recovered
    assert report["arrested"] == len(op.arrested)
    assert model.accounts.accounts[t.name].counts["arrests"] >= len(op.arrested)
    assert "void" in report["operation_log"][0]


def test_without_asset_recovery_the_crew_is_not_retired():
    model = run(tactic=ht(asset_recovery=False))
    op = model.tactics[1].operations[0]
    assert not model.world.retired_crews and op.gbp_recovered == 0


def test_removal_takes_the_targets_out_of_the_market():
    """Paired seeds with no covert units (officers: 0), so the two runs are identical
    until the arrest phase: from then on the targeted dealers are active on far
    fewer days than the same dealers in the baseline. With a 0.3 daily arrest
    chance ~95% are arrested within 10 days. Remand is set to 0.9 here so that
    charged targets leave the street at once (with the default 0.35 most stay
    on bail until sentence, 60 days later); 0.8 x 0.9 x 0.95 = ~70% of targets
    gone within 10 days. Summed over 6 seeds their active dealer-days must fall
    by over a third.
    """
    kept, base = 0, 0
    for seed in range(1, 7):
        kw = {"seed": seed, "steps": 40, "police__remand_prob": 0.9}
        with_t = MarketModel(small(tactics=[PATROL, ht(officers=0)], **kw))
        without = MarketModel(small(tactics=[PATROL], **kw))
        rows = None
        while with_t.day < 40:
            with_t.step()
            without.step()
            op = with_t.tactics[1].operations[0] if with_t.tactics[1].operations else None
            if rows is None and op is not None and op.removal_day is not None:
                rows = op.removed_rows
                # identical runs until the removal day's arrests
                assert np.array_equal(with_t.dealers.cell[rows], without.dealers.cell[rows])
                continue
            if rows is not None:
                kept += int((with_t.dealers.state[rows] == D.ACTIVE).sum())
                base += int((without.dealers.state[rows] == D.ACTIVE).sum())
    assert base > 0
    assert kept < (2 / 3) * base


def test_void_report_names_who_fills_the_area():
    model = run(steps=60)
    void = model.tactics[1].report(model.world)["operation_log"][0]["void"]
    assert void["area_cells"] > 0
    assert void["removed"]["dealers"] == model.tactics[1].operations[0].removed_rows.size
    for group in ("entrants", "movers_in", "already_there"):
        assert set(void[group]) == {"dealers", "mean_violence_trait", "incidents"}
    assert void["days_after"] == min(90, 60 - model.tactics[1].operations[0].removal_day)
