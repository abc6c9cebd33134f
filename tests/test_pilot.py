"""The pilot planner end to end (marketsim pilot), its file checks, and value for money."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml

from marketsim.experiments.commands import Backend, run_pilot
from marketsim.experiments.value import SPEND_HARMS, value_for_money
from marketsim.pilot.report import shown_range
from marketsim.pilot.spec import load_pilot
from marketsim.scenario import ScenarioError
from tests.conftest import ROOT, small

AREAS = {
    "pilot_areas": [{"centre": [5, 5], "radius": 3}, {"centre": [14, 14], "radius": 3}],
    "comparison_areas": [{"centre": [5, 14], "radius": 3}, {"centre": [14, 5], "radius": 3}],
}


def _pilot(tmp_path, replicates: int, tactic: dict, burn_in: int = 30, **fields):
    town = small(
        steps=10, burn_in=burn_in, tactics=[{"type": "standard_patrol"}, tactic]
    ).resolved()
    (tmp_path / "town.yaml").write_text(yaml.safe_dump(town))
    data = {
        "name": "t",
        "scenario": "town.yaml",
        **AREAS,
        "start": 56,
        "before_days": 56,
        "duration": 56,
        "follow_up_days": 0,
        "replicates": replicates,
        **fields,
    }
    path = tmp_path / "pilot.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.slow
def test_an_evaluation_of_no_pilot_raises_about_five_percent_false_alarms(tmp_path):
    """The planner's false-alarm rate (a significant change either way in the town without
    the pilot) over 120 simulated evaluations of a settled small town. Tolerance for
    recorded acquisitive crime: 1% to 12% (the binomial standard error at n = 120 is 2%,
    plus an allowance for areas drifting apart on their own, which the relative-effect-size
    test does not model; measured 5.0%). Nuisance calls are sparse, where the test is
    conservative (measured 0.8-1.7%), so only the upper bound applies. In the default town
    over six months drift is larger: see docs/pilot.md."""
    path = _pilot(
        tmp_path,
        120,
        {"type": "diversion", "start": 0, "area": {"centre": [10, 10], "radius": 3}},
        burn_in=365,  # a settled market, as in the shipped scenarios
        measures=[
            {"name": "recorded_acquisitive_crime", "reporting": 1.0},
            {"name": "drug_nuisance_calls", "reporting": 0.2},
        ],
        primary="recorded_acquisitive_crime",
    )
    result = run_pilot(path, tmp_path / "out", Backend("local", workers=2, progress=False))
    assert result.complete
    crime = result.detail.measures["recorded_acquisitive_crime"].false_positive
    assert 0.01 <= crime <= 0.12, crime
    # Sparse counts (a few calls a week) make the test conservative, never liberal.
    calls = result.detail.measures["drug_nuisance_calls"].false_positive
    assert calls <= 0.12, calls


def test_pilot_writes_its_report_plots_and_tables(tmp_path):
    path = _pilot(
        tmp_path, 4, {"type": "diversion", "start": 0, "area": {"centre": [10, 10], "radius": 3}}
    )
    out = tmp_path / "out"
    result = run_pilot(path, out, Backend("serial", progress=False))
    assert result.complete and result.report == out / "pilot.md"
    text = result.report.read_text()
    for section in (
        "Will the evaluation be able to tell",
        "Could the evaluation mislead",
        "Unintended consequences",
        "Problem | Leads to | Resultant harm | Who",
        "Value for money",
        "GBP 3 saved on crime costs",
        "the pilot changed net harm by GBP ",  # money says its currency
        "A pilot and the main comparison answer different questions",
        "Laid out as UKDPC 2009, Table 4.2",
    ):
        assert section in text, section
    assert "seed 00" not in text  # sources by publication, not by internal file label
    for plot in ("power_curve", "effect_distribution", "cost_effectiveness"):
        assert (out / "plots" / f"{plot}.png").stat().st_size > 5_000
    table = pd.read_csv(out / "measures.csv")
    assert set(table.measure) == {
        "recorded_acquisitive_crime",
        "violence_incidents",
        "drug_nuisance_calls",
        "overdose_callouts",
        "treatment_entries",
        "survey_fear",
        "arrests",
    }
    assert table.power.between(0, 1).all() and table.false_positive_rate.between(0, 1).all()
    # Four replicates are too few placebos to calibrate on: the columns are there, empty.
    for col in ("calibrated_critical_z", "calibrated_power", "calibrated_mde"):
        assert col in table and table[col].isna().all(), col
    # both arms ran on the same seeds, and the pilot's tactics only in the 'on' arm
    runs = pd.read_parquet(out / "results.parquet")
    assert sorted(runs[runs.label == "on"].seed) == sorted(runs[runs.label == "off"].seed)
    assert (runs[runs.label == "on"]["all.diversions"] > 0).any()
    assert (runs[runs.label == "off"]["all.diversions"] == 0).all()


def test_the_pilot_tactic_runs_once_per_pilot_area(tmp_path):
    pilot = load_pilot(_pilot(tmp_path, 2, {"type": "crackdown", "start": 0, "intensity": 2}))
    on = pilot.scenario("on", 1)
    crackdowns = [t for t in on.tactics if t.type == "crackdown"]
    assert [t.area.centre for t in crackdowns] == [(5, 5), (14, 14)]
    assert all(t.start == 56 and t.duration == 56 for t in crackdowns)
    assert [t.type for t in pilot.scenario("off", 1).tactics] == ["standard_patrol"]
    assert set(on.evaluation.watch) == {
        "pilot1",
        "pilot2",
        "comparison1",
        "comparison2",
        "pilot1_buffer",
        "pilot2_buffer",
    }


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"comparison_areas": []}, "comparison_areas: bad value []: design 'did' needs"),
        ({"measures": [{"name": "arrest_rate"}]}, "measures[0].name: bad value 'arrest_rate'"),
        ({"before_days": 400}, "before_days: bad value 400"),
        ({"pilot_areas": [{"centre": [50, 5], "radius": 2}]}, "outside the 20x20 town"),
        ({"primary": "survey_fear", "measures": [{"name": "arrests"}]}, "primary: bad value"),
        ({"colour": "red"}, "unknown key 'colour'"),
    ],
)
def test_bad_pilot_files_name_the_field(tmp_path, fields, message):
    path = _pilot(tmp_path, 2, {"type": "diversion", "start": 0}, **fields)
    with pytest.raises(ScenarioError) as err:
        load_pilot(path)
    assert str(err.value).startswith(str(path)) and message in str(err.value), str(err.value)


def test_a_tactic_without_an_area_cannot_be_piloted(tmp_path):
    path = _pilot(tmp_path, 2, {"type": "targeted_deterrence", "start": 0})
    with pytest.raises(ScenarioError, match="has no area"):
        load_pilot(path)


def test_value_for_money_known_answer():
    """Spend rises by 1m on every seed and community harm falls by 3m: a ratio of exactly 3,
    with the public-cost harm entries moved from harm to spend, not counted twice."""
    n = 8
    rng = np.random.default_rng(0)
    base = pd.DataFrame(
        {
            "all.net_harm_gbp": 100e6 + rng.normal(0, 5e6, n),
            "all.cost.total_gbp": 20e6 + rng.normal(0, 1e6, n),
        }
    )
    for h in SPEND_HARMS:
        base[f"all.harm_gbp.{h}"] = 1e6
    pilot = base.copy()
    pilot["all.cost.total_gbp"] += 1e6
    pilot["all.harm_gbp.officer_day"] += 1e6  # the extra officer time, also in the ledger
    pilot["all.net_harm_gbp"] += 1e6 - 3e6
    v = value_for_money(pilot, base, seed=1)
    assert v["extra_spend_gbp"][0] == pytest.approx(1e6)
    assert v["harm_averted_gbp"][0] == pytest.approx(3e6)
    assert v["ratio"] == pytest.approx(3.0)
    assert v["ratio_ci"] == pytest.approx((3.0, 3.0))
    assert v["reading"].startswith("costs more; averts harm; GBP 3.00")


def test_shipped_pilot_example_loads():
    pilot = load_pilot(ROOT / "experiments" / "pilot_diversion.yaml")
    assert pilot.spec.duration == 182 and len(pilot.spec.pilot_areas) == 2
    assert [t["type"] for t in pilot.pilot_tactics] == ["diversion"]


def test_quick_pass_replaces_the_replicates(tmp_path):
    path = _pilot(tmp_path, 100, {"type": "diversion", "start": 0})
    assert load_pilot(path).spec.replicates == 100
    assert load_pilot(path, replicates=3).spec.replicates == 3
    with pytest.raises(ScenarioError, match=r"--replicates: bad value 1: a pilot needs at least 2"):
        load_pilot(path, replicates=1)


def test_a_copied_pilot_file_names_its_scenario_field(tmp_path):
    """A pilot file copied away from its scenario: the error names the field and the rule."""
    path = _pilot(tmp_path, 2, {"type": "diversion", "start": 0})
    copy = tmp_path / "elsewhere"
    copy.mkdir()
    (copy / "pilot.yaml").write_text(path.read_text())
    with pytest.raises(ScenarioError) as err:
        load_pilot(copy / "pilot.yaml")
    message = str(err.value)
    assert message.startswith(f"{copy / 'pilot.yaml'}: scenario: bad value 'town.yaml': no file")
    assert "relative to the folder of pilot.yaml" in message


def test_effect_histograms_clip_rare_outliers_and_count_them():
    rng = np.random.default_rng(0)
    est = np.concatenate([rng.normal(-10, 5, 96), [600.0, 900.0, 2000.0, np.nan]])
    lo, hi, outside = shown_range(est, (-12.0, 0.0))
    assert lo <= -12 and 0 <= hi < 50  # the bulk, the true effect and zero are in range
    assert outside == 3  # the +600% to +2000% replicates are counted, not drawn
    assert shown_range(np.array([5.0, 5.0]), (5.0,))[:2] == (4.0, 6.0)
