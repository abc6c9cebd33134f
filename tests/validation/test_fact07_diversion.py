"""Fact 7: diverting user-dealers into treatment cuts their re-arrest and acquisitive
crime (LEAD, Collins et al. 2017: 58% lower odds of arrest; DIP: offending -26%).

`operation_reduction.yaml` (test purchases from day 90, arrest days every 8 weeks, 75% of
user-dealers accept fast-track treatment). The comparison is within the scenario: the
diverted against those arrested after refusing. Refusal is drawn at random, so the groups
are comparable, as LEAD's control group was. Rates are per person-year of follow-up,
pooled over seeds, with a seed-level interval (`marketsim.validation.rate_ratio_interval`).
"""

from __future__ import annotations

import pytest

from marketsim import validation as V
from tests.validation.helpers import VALIDATION, describe, needs_full_set

pytestmark = [*VALIDATION, pytest.mark.uses_runs("operation_reduction")]


@pytest.fixture(scope="module")
def outcomes(paired_runs):
    return V.diversion_outcomes(paired_runs.get("operation_reduction"))


@pytest.fixture(scope="module")
def pooled(paired_runs):
    """The comparison on V.DIVERSION_SEEDS seeds: the validation seeds' runs and more."""
    runs = paired_runs.get("operation_reduction")
    key = ["operation_reduction"]
    return V.diversion_outcomes(V.extend_runs(runs, key, V.DIVERSION_SEEDS, V.workers_from_env()))


def test_user_dealers_are_diverted_and_arrested(outcomes):
    """Both groups exist in numbers: about 19 diverted and 6 arrested a run."""
    n = outcomes["re_arrests rate ratio"].n
    assert outcomes["people diverted"] >= 10 * n and outcomes["people arrested"] >= 3 * n


@needs_full_set(
    "about 6 arrested user-dealers a run, whose rates vary widely; the test pools "
    "V.DIVERSION_SEEDS seeds"
)
def test_the_diverted_offend_less_than_the_arrested(pooled):
    """Tolerance: the 95% interval of the acquisitive-crime rate ratio (diverted over
    arrested) is below 1, pooled over 120 seeds (101-220). Measured (2026-12-07): 0.82
    [0.71, 0.95]. On 40 seeds it swings with the seed set: 1.00 [0.77, 1.29] on 101-140,
    0.81 [0.66, 1.00] on 141-180, 0.69 [0.52, 0.92] on 181-220."""
    crime = pooled["acquisitive_crimes rate ratio"]
    assert crime.n == V.DIVERSION_SEEDS
    assert crime.high < 1, describe("acquisitive crime rate ratio", crime)


@needs_full_set(
    "about 6 arrested user-dealers a run, whose rates vary widely; the test pools "
    "V.DIVERSION_SEEDS seeds"
)
def test_the_diverted_are_re_arrested_less(pooled):
    """Tolerance: the 95% interval of the re-arrest rate ratio (diverted over arrested) is
    below 1, pooled over 120 seeds (101-220). Measured: 0.47 [0.42, 0.54]; 0.42 [0.34,
    0.53] on the 40 of the full set."""
    arrests = pooled["re_arrests rate ratio"]
    assert arrests.high < 1, describe("re-arrest rate ratio", arrests)
