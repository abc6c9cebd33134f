"""`marketsim calibrate`: the search finds known values, patterns are read right, bad files fail
cleanly, and both shipped calibration files run end to end in the quick mode."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml

from marketsim.experiments import abc
from marketsim.experiments.calibrate import (
    Calibration,
    Pattern,
    figure,
    load_calibration,
    posterior,
    search,
)
from marketsim.experiments.calibrate_report import posterior_table
from marketsim.scenario import ScenarioError
from marketsim.validation import RunResult

# ------------------------------------------------------------------ known answer (toy model)
# A cheap stochastic model with the shape of a marketsim run: daily Poisson counts per
# region. `violence` sets the baseline rate of violent incidents, `open_share` the share of
# sales made in the open, `effect` how much a tactic from day 50 raises violence; `unused`
# does nothing, so the patterns must leave it free.
TRUE = {"violence": 2.0, "open_share": 0.4, "effect": 0.5, "unused": 0.3}
DAYS = 100


def toy_run(point: dict, seed: int, tactic: bool) -> RunResult:
    rng = np.random.default_rng([seed, int(tactic)])
    rate = np.full(DAYS, point["violence"])
    if tactic:
        rate[50:] *= 1 + point["effect"]
    sales = rng.poisson(40, DAYS)
    frame = pd.DataFrame(
        {
            "step": np.arange(DAYS),
            "region": "all",
            "violent_incidents": rng.poisson(rate),
            "sales": sales,
            "open_sales": rng.binomial(sales, point["open_share"]),
        }
    )
    return RunResult(frame, {})


TOY_PATTERNS = [
    {"name": "violence a year", "statistic": "per_year", "metric": "violent_incidents",
     "window": [0, DAYS]},
    {"name": "open share", "statistic": "share", "metric": "open_sales",
     "denominator": "sales", "window": [0, DAYS]},
    {"name": "tactic raises violence", "statistic": "change", "scenario": "tactic",
     "against": "baseline", "metric": "violent_incidents", "window": [50, DAYS]},
]  # fmt: skip


def toy_figures(patterns, point: dict, seeds) -> dict[str, float]:
    runs = {
        "baseline": {s: toy_run(point, s, False) for s in seeds},
        "tactic": {s: toy_run(point, s, True) for s in seeds},
    }
    return {p.name: figure(p, runs, {}) for p in patterns}


def test_known_values_are_calibrated_back_inside_their_interval():
    """Patterns made by the toy model at known values (on seeds the search never uses) are
    fitted by ABC-SMC: each known value lies in its 90% posterior interval, the three
    parameters the patterns inform are pinned down, and the one they do not is left free."""
    observed = toy_figures([Pattern(**p, target=0, tolerance=1) for p in TOY_PATTERNS], TRUE,
                           range(1000, 1010))  # fmt: skip
    # Tolerances: two to three times the seed-to-seed spread of each figure over 2 seeds.
    tol = {"violence a year": 100.0, "open share": 0.03, "tactic raises violence": 0.3}
    spec = Calibration.model_validate(
        {
            "seed": 8,
            "replicates": 2,
            "parameters": [
                {"path": "violence", "range": [0.5, 5.0], "scale": "log"},
                {"path": "open_share", "range": [0.05, 0.95]},
                {"path": "effect", "range": [0.0, 2.0]},
                {"path": "unused", "range": [0.0, 1.0]},
            ],
            "patterns": [
                {**p, "target": observed[p["name"]], "tolerance": tol[p["name"]]}
                for p in TOY_PATTERNS
            ],
            "search": {"population": 40, "waves": 6, "quantile": 0.25},
        }
    )
    seeds = [spec.seed + r for r in range(spec.replicates)]
    kinds = dict.fromkeys(TRUE, "float")

    def run_wave(_k, values):
        return [toy_figures(spec.patterns, v, seeds) for v in values]

    result = search(spec, kinds, run_wave, log=None)
    assert result.finished and len(result.waves) == 6
    assert posterior(result).met and len(posterior(result).sets) >= 20
    post = posterior_table(spec, result).set_index("parameter")
    for name, value in TRUE.items():
        assert post.loc[name, "q05"] <= value <= post.loc[name, "q95"], (name, post.loc[name])
    assert list(post.verdict) == ["pinned down", "pinned down", "pinned down", "left free"]
    # The waves narrow in: the tolerance falls from the first wave to the last.
    assert result.waves[0].tolerance > 3 * result.waves[-1].tolerance == 3 * abc.MET


def test_effective_sample_size_counts_equal_weights_and_sees_collapse():
    from marketsim.experiments.abc import effective_sample_size

    assert effective_sample_size(np.full(20, 0.05)) == pytest.approx(20)
    assert effective_sample_size(np.array([0.0, 3.0, 0.0])) == pytest.approx(1)  # zeros: not kept
    assert effective_sample_size(np.array([0.93, 0.07])) == pytest.approx(1 / (0.93**2 + 0.07**2))
    assert effective_sample_size(np.zeros(4)) == 0.0


def test_search_is_reproducible_from_its_seed():
    spec = Calibration.model_validate(
        {
            "parameters": [{"path": "violence", "range": [0.5, 5.0]}],
            "patterns": [{**TOY_PATTERNS[0], "target": 700, "tolerance": 50}],
            "search": {"population": 8, "waves": 2},
        }
    )
    point = {"open_share": 0.4, "effect": 0.0}

    def run_wave(_k, values):
        return [toy_figures(spec.patterns, {**point, **v}, [1]) for v in values]

    a = search(spec, {"violence": "float"}, run_wave)
    b = search(spec, {"violence": "float"}, run_wave)
    assert a.values == b.values
    assert a.values[0] != a.values[1]


# ------------------------------------------------------------------------------- patterns
def test_interval_pattern_is_met_only_inside_and_grows_outside():
    p = Pattern(name="x", metric="sales", window=[0, 1], interval=[None, 0.0], tolerance=0.1)
    assert p.distance(-0.5) == 0.0
    assert p.distance(0.05) == pytest.approx(1.5)
    assert p.distance(0.2) > p.distance(0.05) > 1.0
    q = Pattern(name="y", metric="sales", window=[0, 1], target=10, tolerance=2)
    assert q.distance(11) == pytest.approx(0.5)
    assert q.distance(float("nan")) == float("inf")


@pytest.mark.parametrize(
    "pattern, message",
    [
        ({"name": "a", "metric": "sales", "window": [0, 10]}, "give exactly one of 'target'"),
        ({"name": "a", "metric": "sales", "target": 1}, "tolerance"),
        ({"name": "a", "metric": "sales", "target": 1, "tolerance": 1}, "window"),
        ({"name": "a", "statistic": "change", "metric": "sales", "window": [0, 9], "target": 1,
          "tolerance": 1}, "against"),
        ({"name": "a", "statistic": "measure", "measure": "nope", "target": 1, "tolerance": 1},
         "allowed: crackdown_decay_during"),
    ],
)  # fmt: skip
def test_bad_pattern_is_one_line_naming_file_and_field(tmp_path, pattern, message):
    path = tmp_path / "cal.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "scenario": str(tmp_path / "none.yaml"),
                "parameters": [{"path": "dealers.debt_rate", "range": [0, 0.05]}],
                "patterns": [pattern],
            }
        )
    )
    with pytest.raises(ScenarioError) as err:
        load_calibration(path)
    text = str(err.value)
    assert str(path) in text and message in text and "\n" not in text


def test_changing_a_target_or_tolerance_keeps_the_runs_but_a_new_metric_does_not(tmp_path):
    """The digest a wave's store is checked against covers what the runs compute and keep,
    not how their figures are judged: a new target or tolerance re-scores finished runs."""
    from tests.conftest import ROOT

    spec = yaml.safe_load((ROOT / "experiments" / "calibrate_town.yaml").read_text())
    baseline = str(ROOT / "scenarios" / "baseline.yaml")
    spec["scenario"] = baseline
    for run in spec["scenarios"].values():
        run["file"] = baseline

    def digest_with(change) -> str:
        edited = yaml.safe_load(yaml.safe_dump(spec))
        change(edited["patterns"][0])
        path = tmp_path / "cal.yaml"
        path.write_text(yaml.safe_dump(edited))
        return load_calibration(path).digest()

    before = digest_with(lambda p: None)

    first = spec["patterns"][0]
    assert "tolerance" in first or "interval" in first, first
    if "tolerance" in first:
        assert digest_with(lambda p: p.update(tolerance=p["tolerance"] * 2)) == before
        assert digest_with(lambda p: p.update(target=p["target"] * 1.5)) == before
    assert digest_with(lambda p: p.update(source="another source")) == before
    # a metric no other pattern reads must be stored too, so the runs are not reusable
    assert digest_with(lambda p: p.update(metric="litter")) != before


def test_window_beyond_the_run_and_unknown_scenario_fail_before_any_run(tmp_path):
    base = {
        "parameters": [{"path": "dealers.debt_rate", "range": [0, 0.05]}],
        "scenarios": {"town": {"file": "../scenarios/baseline.yaml", "steps": 100}},
    }
    path = tmp_path / "cal.yaml"
    path.write_text(
        yaml.safe_dump(
            {**base, "patterns": [{"name": "v", "scenario": "town", "metric": "sales",
                                   "window": [0, 365], "target": 1, "tolerance": 1}]}
        )
    )  # fmt: skip
    (tmp_path.parent / "scenarios").mkdir(exist_ok=True)
    from marketsim.validation import SCENARIOS

    (tmp_path.parent / "scenarios" / "baseline.yaml").write_text(
        (SCENARIOS / "baseline.yaml").read_text()
    )
    with pytest.raises(
        ScenarioError, match=r"patterns\[0\] \('v'\)\.window: bad value \[0, 365\].*100 days"
    ):
        load_calibration(path)
    path.write_text(
        yaml.safe_dump(
            {**base, "patterns": [{"name": "v", "scenario": "nowhere", "metric": "sales",
                                   "window": [0, 10], "target": 1, "tolerance": 1}]}
        )
    )  # fmt: skip
    with pytest.raises(
        ScenarioError,
        match=r"patterns\[0\] \('v'\)\.scenario: bad value 'nowhere': no such scenario",
    ):
        load_calibration(path)
    for field, value, message in (
        (
            "metric",
            "sails",
            "patterns\\[0\\] \\('v'\\).metric: bad value 'sails': not a timeseries column",
        ),
        (
            "region",
            "north",
            "patterns\\[0\\] \\('v'\\).region: bad value 'north' \\(allowed in 'town': all",
        ),
    ):
        pattern = {"name": "v", "scenario": "town", "metric": "sales", "window": [0, 10],
                   "target": 1, "tolerance": 1, field: value}  # fmt: skip
        path.write_text(yaml.safe_dump({**base, "patterns": [pattern]}))
        with pytest.raises(ScenarioError, match=message):
            load_calibration(path)


# ------------------------------------------------------------------- shipped files, end to end
QUICK = ("--waves", "1", "--replicates", "1", "--workers", "2",
         "--set", "burn_in=30", "--set", "market.n_users=300", "--set", "market.n_dealers=30")  # fmt: skip


@pytest.mark.parametrize("name, samples", [("calibrate_town", 2), ("calibrate_facts", 1)])
def test_shipped_calibration_runs_end_to_end_in_quick_mode(tmp_path, name, samples):
    """Each shipped file, a small town, one wave: every output is written, every pattern
    gets a figure, best.yaml is a valid scenario, and a rerun resumes with nothing to do."""
    from marketsim.scenario import load_scenario
    from tests.conftest import ROOT
    from tests.test_cli import marketsim

    out = tmp_path / "cal"
    args = ("calibrate", f"experiments/{name}.yaml", "--samples", str(samples), *QUICK)
    res = marketsim(*args, "--out", str(out))
    assert res.returncode == 0, res.stderr
    assert "wave 1 of 1" in res.stderr and "report:" in res.stdout
    for f in ("calibration.md", "particles.csv", "accepted.csv", "posterior.csv", "best.yaml",
              "plots/posterior.png", "plots/patterns.png"):  # fmt: skip
        assert (out / f).is_file(), f
    # One wave of `samples` sets drawn from the prior: equal weights on the kept ones.
    kept = int(pd.read_csv(out / "particles.csv")["kept"].sum())
    assert (
        f"weights (Kish's 1/sum(w^2), of the sets kept): {kept:.1f} of {kept}."
        in (out / "calibration.md").read_text()
    )
    spec = yaml.safe_load((ROOT / "experiments" / f"{name}.yaml").read_text())
    particles = pd.read_csv(out / "particles.csv")
    assert len(particles) == samples
    figures = particles[[f"figure:{p['name']}" for p in spec["patterns"]]]
    # Counts in a whole town are always defined; a change in a small town's target may not be.
    assert figures.notna().to_numpy().mean() >= (1.0 if name == "calibrate_town" else 0.5)
    best = load_scenario(out / "best.yaml")
    assert best.market.n_users == 300
    if name == "calibrate_town":
        again = marketsim(*args, "--out", str(out))
        assert again.returncode == 0, again.stderr
        assert "no runs left to do" in again.stdout
        pd.testing.assert_frame_equal(pd.read_csv(out / "particles.csv"), particles)


# ------------------------------------------------------- which patterns tell the sets apart
def test_explained_share_reads_signal_and_luck():
    """Q2 of a smooth figure plus noise recovers the signal's share of its variance: over
    10 designs of 200 sets, a half-signal figure's mean Q2 is 0.5 +- 0.1 (each within 0.2),
    pure noise's stays below 0.05 on average (each below 0.15), and a noiseless quadratic's
    is above 0.95."""
    from marketsim.experiments.signal import explained_share

    half, noise, clean = [], [], []
    for seed in range(10):
        rng = np.random.default_rng([seed, 15])
        unit = rng.random((200, 4))
        f = (unit[:, 0] - 0.5) ** 2 * 4 + unit[:, 1]  # quadratic in two of the four
        f = (f - f.mean()) / f.std()
        half.append(explained_share(unit, f + rng.standard_normal(200), seed))
        noise.append(explained_share(unit, rng.standard_normal(200), seed))
        clean.append(explained_share(unit, f + 0.01 * rng.standard_normal(200), seed))
    assert abs(np.mean(half) - 0.5) < 0.1 and max(abs(np.subtract(half, 0.5))) < 0.2, half
    assert np.mean(noise) < 0.05 and max(noise) < 0.15, noise
    assert min(clean) > 0.95, clean
    assert np.isnan(explained_share(unit[:10], f[:10]))  # too few sets for 5 folds
    assert np.isnan(explained_share(unit, np.ones(200)))  # nothing varies


def test_governing_names_each_sets_worst_miss():
    from marketsim.experiments.signal import governing

    dist = np.array([[0.5, 3.0, 2.0], [0.9, 1.0, 0.2], [np.inf, 1.5, 0.0], [np.nan, 0.5, 1.2]])
    assert governing(dist).tolist() == [1, -1, 0, 2]
    # The report's warning: only from patterns whose Q2 could be read and is low.
    from marketsim.experiments.calibrate_report import luck_warning

    ruling = np.array([1, 1, 0, -1])
    assert luck_warning([0.9, 0.05], ruling).startswith("2 of the 3 sets")
    assert luck_warning([0.9, float("nan")], ruling) is None  # too few sets to read Q2
    assert luck_warning([0.05, 0.9], ruling) is None  # the luck-only one rules 1 of 3


def test_report_says_when_luck_ranks_the_sets():
    """A pattern no parameter moves and no set meets rules every set's distance: the report
    reads it as luck and warns; the pattern the free parameter drives reads as driven."""
    from marketsim.experiments.calibrate_report import _signal_section

    patterns = [
        {**TOY_PATTERNS[1], "target": 0.4, "tolerance": 0.05},  # open share: driven by a value
        {**TOY_PATTERNS[0], "target": 5000, "tolerance": 50},  # violence: fixed, never met
    ]
    spec = Calibration.model_validate(
        {
            "parameters": [
                {"path": "open_share", "range": [0.05, 0.95]},
                {"path": "unused", "range": [0.0, 1.0]},
            ],
            "patterns": patterns,
            "search": {"population": 40, "waves": 1},
        }
    )
    fixed = {"violence": 2.0, "effect": 0.0}

    def run_wave(_k, values):  # each set its own seeds: the luck a real model's chaos gives
        return [toy_figures(spec.patterns, {**fixed, **v}, [2 * i, 2 * i + 1])
                for i, v in enumerate(values)]  # fmt: skip

    result = search(spec, {"open_share": "float", "unused": "float"}, run_wave)
    lines, warning = _signal_section(spec, result)
    text = "\n".join(lines)
    assert warning == "40 of the 40 sets that miss a pattern are ruled by patterns that are " \
        "mostly luck"  # fmt: skip
    rows = {line.split(" | ")[0][2:]: line for line in text.splitlines() if line.startswith("| ")}
    assert "the parameters drive it" in rows["open share"], rows["open share"]
    assert "mostly luck" in rows["violence a year"] and rows["violence a year"].endswith(
        "| 0% | 40 |"
    ), rows["violence a year"]
    assert "**40 of the 40 sets that miss a pattern are ruled by patterns" in text


def test_pattern_margin_is_room_inside_in_tolerances():
    above = Pattern(name="a", interval=(0.0, None), tolerance=0.05, statistic="measure",
                    measure="displacement_share")  # fmt: skip
    assert above.margin(0.1) == pytest.approx(2.0) and above.margin(-0.05) == pytest.approx(-1.0)
    band = Pattern(name="b", interval=(0.0, 1.0), statistic="measure", measure="displacement_share")
    assert band.margin(0.25) == pytest.approx(0.25) and band.margin(0.9) == pytest.approx(0.1)
    aim = Pattern(name="c", target=-0.08, tolerance=0.08, statistic="measure",
                  measure="displacement_share")  # fmt: skip
    assert aim.margin(-0.08) == 1.0 and aim.margin(-0.2) == pytest.approx(-0.5)
    # Met (distance <= 1) exactly where the margin is not negative.
    for p in (above, band, aim):
        for x in np.linspace(-0.5, 1.5, 41):
            assert (p.distance(x) <= 1) == (p.margin(x) >= -1e-12), (p.name, x)


def test_refine_moves_the_free_parameters_to_where_the_driven_patterns_are_safest():
    """Known answer: one pattern wants x0 above 0.6, one wants x1 below 0.3 (tolerance 0.1),
    a third is luck with an unmeetable target. The best smallest margin is 3 (x1 = 0, any
    x0 >= 0.9); the refined set's true margin is within 0.3 of it, x2 stays at its start,
    and the luck-only pattern has no say."""
    from marketsim.experiments.refine import refine

    rng = np.random.default_rng(21)
    unit = rng.random((120, 3))
    noise = 0.05 * rng.standard_normal((3, 120))
    patterns = [
        Pattern(name="high x0", statistic="measure", measure="displacement_share",
                interval=(0.6, None), tolerance=0.1),
        Pattern(name="low x1", statistic="measure", measure="displacement_share",
                interval=(None, 0.3), tolerance=0.1),
        Pattern(name="luck", statistic="measure", measure="displacement_share",
                target=5.0, tolerance=0.1),
    ]  # fmt: skip
    figures = {"high x0": unit[:, 0] + noise[0], "low x1": unit[:, 1] + noise[1],
               "luck": rng.standard_normal(120)}  # fmt: skip
    start = np.array([0.5, 0.5, 0.42])
    r = refine(patterns, unit, figures, start, free=[0, 1], seed=3, candidates=4000)
    assert r.driven == ["high x0", "low x1"]
    true_margin = min((r.unit[0] - 0.6) / 0.1, (0.3 - r.unit[1]) / 0.1)
    assert true_margin > 2.7 and r.unit[2] == 0.42, r.unit
    assert min(r.margin.values()) > min(r.start_margin.values()) + 1.0
    with pytest.raises(ValueError, match="nothing to refine on"):
        refine(patterns[2:], unit, figures, start, free=[0, 1], candidates=100)
    # to_unit inverts to_values on a log and a linear prior.
    from marketsim.experiments.calibrate import Prior, to_unit, to_values

    priors = [Prior(path="a.b", range=[5, 100], scale="log"), Prior(path="c.d", range=[0, 2])]
    u = to_unit(priors, to_values(priors, {}, np.array([0.3, 0.8])))
    assert u == pytest.approx([0.3, 0.8])
