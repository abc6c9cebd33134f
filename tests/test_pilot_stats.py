"""Known-answer tests of the pilot planner's statistics (pilot/stats.py).

Counts drawn from known Poisson distributions: the share of simulated evaluations
that reject must match the analytic power of the same test within Monte Carlo
error (3 standard errors) plus a stated allowance for the dispersion estimate.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from marketsim.pilot.stats import (
    analytic_power,
    dispersion,
    minimum_detectable,
    observe_counts,
    placebo_calibration,
    res_test,
    survey_test,
)

SIMS = 3000
WEEKS = 52


def _mc_tolerance(p: float, n: int = SIMS) -> float:
    return 3 * np.sqrt(p * (1 - p) / n)


def _simulate_res(rate_p: float, rate_c: float, effect: float, rng, design: str = "did"):
    hits = []
    for _ in range(SIMS):
        pb = rng.poisson(rate_p, WEEKS)
        pa = rng.poisson(rate_p * (1 + effect), WEEKS)
        if design == "did":
            cb, ca = rng.poisson(rate_c, WEEKS), rng.poisson(rate_c, WEEKS)
            t = res_test(pb, pa, cb, ca)
        else:
            t = res_test(pb, pa)
        hits.append(t.significant(0.05) and t.estimate < 0)
    return float(np.mean(hits))


@pytest.mark.parametrize(
    ("effect", "design"), [(-0.15, "did"), (-0.08, "did"), (-0.1, "before_after")]
)
def test_power_of_the_count_test_matches_the_analytic_power(effect, design):
    """Allowance 0.04 beyond Monte Carlo error: the dispersion estimate is floored at 1,
    which inflates the standard error by about 2% with 52 weeks a period."""
    rng = np.random.default_rng(11)
    rate_p, rate_c = 20.0, 30.0
    totals = [rate_p * WEEKS, rate_p * (1 + effect) * WEEKS]
    if design == "did":
        totals += [rate_c * WEEKS, rate_c * WEEKS]
    se = np.sqrt(sum(1 / t for t in totals))
    expected = analytic_power(np.log1p(effect), se)
    # one-sided share: the analytic two-sided power's lower tail is negligible here
    assert stats.norm.cdf(-abs(np.log1p(effect)) / se - 1.96) < 1e-3
    observed = _simulate_res(rate_p, rate_c, effect, rng, design)
    assert abs(observed - expected) < _mc_tolerance(expected) + 0.04, (observed, expected)


def test_false_positive_rate_of_the_count_test_is_alpha():
    """No effect: about 5% of evaluations 'find' one in either direction (2.5% improvement);
    the floored dispersion makes the test slightly conservative, never liberal."""
    rng = np.random.default_rng(12)
    rejections = []
    for _ in range(SIMS):
        pb, pa = rng.poisson(15, WEEKS), rng.poisson(15, WEEKS)
        cb, ca = rng.poisson(25, WEEKS), rng.poisson(25, WEEKS)
        rejections.append(res_test(pb, pa, cb, ca).significant(0.05))
    rate = float(np.mean(rejections))
    assert 0.05 - 0.025 < rate < 0.05 + _mc_tolerance(0.05), rate


def test_overdispersed_counts_widen_the_interval():
    """Negative-binomial weekly counts (variance 3x the mean) give a dispersion near 3,
    which keeps the false positive rate near 5% where a Poisson test would reject ~30%."""
    rng = np.random.default_rng(13)
    mean, var = 20.0, 60.0
    n = mean**2 / (var - mean)
    p = n / (n + mean)
    draws = [rng.negative_binomial(n, p, WEEKS) for _ in range(4)]
    assert dispersion(*draws) == pytest.approx(3.0, rel=0.35)
    rejections = []
    for _ in range(SIMS // 2):
        pb, pa, cb, ca = (rng.negative_binomial(n, p, WEEKS) for _ in range(4))
        rejections.append(res_test(pb, pa, cb, ca).significant(0.05))
    assert np.mean(rejections) < 0.05 + _mc_tolerance(0.05, SIMS // 2) + 0.01


def test_power_of_the_survey_test_matches_the_analytic_power():
    """Difference-in-differences of survey shares: fear falls from 20% to 14% in the pilot
    areas and stays at 20% in the comparison areas; 400 respondents a wave."""
    rng = np.random.default_rng(14)
    n, shares = 400, (0.20, 0.14, 0.20, 0.20)
    se = np.sqrt(sum(q * (1 - q) / n for q in shares))
    expected = analytic_power(-0.06, se)
    hits = [
        (t := survey_test(shares, n, rng)).significant(0.05) and t.estimate < 0 for _ in range(SIMS)
    ]
    assert abs(np.mean(hits) - expected) < _mc_tolerance(expected) + 0.02


def test_minimum_detectable_effect_has_the_target_power():
    for se in (0.05, 0.2, 1.3):
        assert analytic_power(minimum_detectable(se, 0.05, 0.8), se, 0.05) == pytest.approx(0.8)
        assert analytic_power(minimum_detectable(se, 0.01, 0.9), se, 0.01) == pytest.approx(0.9)


def test_reporting_thins_counts_binomially():
    rng = np.random.default_rng(15)
    true = np.full(20_000, 10)
    seen = observe_counts(true, 0.3, rng)
    assert seen.mean() == pytest.approx(3.0, abs=0.05)
    assert seen.var() == pytest.approx(10 * 0.3 * 0.7, rel=0.05)
    assert np.array_equal(observe_counts(true, 1.0, rng), true)


def test_placebo_calibration_restores_the_false_alarm_rate_and_prices_power():
    """Placebo z-statistics from areas that drift (SD 2.5 instead of 1): the calibrated
    critical value is about 2.5 x 1.96, fresh placebos exceed it about 5% of the time
    (tolerance 1.5 points at n = 20,000: binomial SE 0.15 points plus the critical value's
    own error from 2,000 placebos), and power on evaluations centred at z = 6 matches
    P(Z > (2.5 x 1.96 - 6) / 2.5) within 0.03."""
    rng = np.random.default_rng(4)
    drift = 2.5
    cal = placebo_calibration(
        z=-(6.0 + drift * rng.standard_normal(20_000)),  # improvements are falls: sign -1
        placebo_z=drift * rng.standard_normal(2_000),
        sign=-1.0,
        alpha=0.05,
    )
    assert cal.critical == pytest.approx(drift * 1.96, rel=0.06)
    assert cal.inflation == pytest.approx(cal.critical / stats.norm.isf(0.025))
    fresh = drift * rng.standard_normal(20_000)
    assert np.mean(np.abs(fresh) > cal.critical) == pytest.approx(0.05, abs=0.015)
    expected = stats.norm.sf((cal.critical - 6.0) / drift)
    assert cal.power == pytest.approx(expected, abs=0.03)
    # Without drift the calibrated test is the nominal one.
    plain = placebo_calibration(rng.standard_normal(500), rng.standard_normal(5_000), 1.0)
    assert plain.inflation == pytest.approx(1.0, abs=0.06)
    assert placebo_calibration(np.zeros(5), np.zeros(10), 1.0) is None
