"""The evaluation a pilot will face: observation, the test, and power.

Counts (recorded crime, incidents, calls, call-outs, treatment entries) are
tested with the relative effect size of crime-prevention evaluations
(Farrington et al. 2007; Welsh & Farrington 2009): for pilot areas P and
comparison areas C, before (b) and after (a) the start,

    log RES = log(Pa / Pb) - log(Ca / Cb)          (difference-in-differences)
    log RES = log(Pa / Pb)                         (before/after, no comparison)

with variance D * (1/Pa + 1/Pb + 1/Ca + 1/Cb), where D >= 1 is the
overdispersion of weekly counts (Poisson counts have D = 1). A negative log RES
is a fall in the pilot areas relative to the comparison areas.

Survey fear is a share of respondents: the difference-in-differences of
proportions, with the binomial variance of each wave.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats


@dataclass(frozen=True)
class TestResult:
    estimate: float  # log RES (counts) or difference in proportions (surveys)
    se: float
    z: float
    p: float

    def significant(self, alpha: float) -> bool:
        return bool(np.isfinite(self.p) and self.p < alpha)


def observe_counts(true: np.ndarray, reporting: float, rng: np.random.Generator) -> np.ndarray:
    """Recorded counts: each true event is recorded with probability `reporting`."""
    counts = np.rint(np.asarray(true, dtype=float)).astype(np.int64)
    if reporting >= 1.0:
        return counts
    return rng.binomial(np.maximum(counts, 0), reporting)


def dispersion(*weekly: np.ndarray) -> float:
    """Pooled variance-to-mean ratio of weekly counts around each series' own mean (>= 1)."""
    num = den = 0.0
    for w in weekly:
        w = np.asarray(w, dtype=float)
        if w.size < 2 or w.mean() <= 0:
            continue
        num += w.var(ddof=1) * (w.size - 1)
        den += w.mean() * (w.size - 1)
    return max(1.0, num / den) if den > 0 else 1.0


def res_test(
    pilot_before: np.ndarray,
    pilot_after: np.ndarray,
    comp_before: np.ndarray | None = None,
    comp_after: np.ndarray | None = None,
) -> TestResult:
    """Relative effect size test on weekly recorded counts (comparison optional)."""
    series = [pilot_before, pilot_after]
    if comp_before is not None:
        series += [comp_before, comp_after]
    totals = [float(np.sum(s)) + 0.5 for s in series]  # +0.5: defined when a total is zero
    d = dispersion(*series)
    if comp_before is None:
        est = np.log(totals[1] / totals[0])
    else:
        est = np.log(totals[1] / totals[0]) - np.log(totals[3] / totals[2])
    se = float(np.sqrt(d * sum(1.0 / t for t in totals)))
    z = float(est / se)
    return TestResult(float(est), se, z, float(2 * stats.norm.sf(abs(z))))


def survey_test(
    p_true: tuple[float, float, float, float] | tuple[float, float],
    respondents: int,
    rng: np.random.Generator,
) -> TestResult:
    """Survey waves of `respondents` each; p_true = (pilot before, pilot after[, comparison
    before, comparison after]). Tests the (difference-in-)difference of observed shares."""
    p = np.clip(np.asarray(p_true, dtype=float), 0.0, 1.0)
    hat = rng.binomial(respondents, p) / respondents
    est = hat[1] - hat[0]
    if hat.size == 4:
        est -= hat[3] - hat[2]  # less the comparison areas' change
    # Binomial variance at the observed shares, floored so an all-or-nothing wave has some.
    q = np.clip(hat, 0.5 / respondents, 1 - 0.5 / respondents)
    se = float(np.sqrt(np.sum(q * (1 - q) / respondents)))
    z = float(est / se)
    return TestResult(float(est), se, z, float(2 * stats.norm.sf(abs(z))))


def analytic_power(effect: float, se: float, alpha: float = 0.05) -> float:
    """Power of a two-sided z-test to find an effect of the given sign (normal approximation)."""
    if not np.isfinite(effect) or not np.isfinite(se) or se <= 0:
        return float("nan")
    z = stats.norm.isf(alpha / 2)
    return float(stats.norm.cdf(abs(effect) / se - z))


def minimum_detectable(
    se: float, alpha: float = 0.05, power: float = 0.8, critical: float | None = None
) -> float:
    """The smallest true effect (in the estimate's units) found with the given power.

    `critical` replaces the nominal |z| of a two-sided test at alpha (a calibrated test).
    """
    z = stats.norm.isf(alpha / 2) if critical is None else critical
    return float((z + stats.norm.ppf(power)) * se)


@dataclass(frozen=True)
class Calibration:
    """A test calibrated on placebo evaluations (the same evaluation where nothing was done)."""

    critical: float  # |z| that placebo evaluations exceed with probability alpha
    power: float  # share of real evaluations beyond it, in the improving direction
    nominal: float  # the uncalibrated test's critical |z| at the same alpha

    @property
    def inflation(self) -> float:
        """critical / nominal (1: the nominal test is right)."""
        return self.critical / self.nominal


def placebo_calibration(
    z: np.ndarray, placebo_z: np.ndarray, sign: float, alpha: float = 0.05
) -> Calibration | None:
    """Critical value from placebo z-statistics, and the power of the test that uses it.

    When areas drift apart on their own, the nominal test (|z| > 1.96) raises more false
    alarms than alpha. Evaluators can calibrate it with placebo evaluations: the same
    comparison on past periods, or on areas without the pilot. Here the placebos are the
    simulated evaluations of the town without the pilot. None with fewer than 20 placebos.
    """
    placebo = np.abs(np.asarray(placebo_z, dtype=float))
    placebo = placebo[np.isfinite(placebo)]
    if placebo.size < 20:
        return None
    critical = float(np.quantile(placebo, 1.0 - alpha))
    z = np.asarray(z, dtype=float)
    found = np.isfinite(z) & (np.abs(z) > critical) & (z * sign > 0)
    return Calibration(critical, float(found.mean()), float(stats.norm.isf(alpha / 2)))
