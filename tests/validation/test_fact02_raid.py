"""Fact 2: one-off raids fade fast (Kansas City, Sherman & Rogan 1995: about -8%, gone
within 7-12 days).

`raid.yaml` (one day, 12 units, day 120) against baseline; open sales in the target.
"""

from __future__ import annotations

import pytest

from marketsim import validation as V
from tests.validation.helpers import VALIDATION, describe, needs_full_set

pytestmark = [
    *VALIDATION,
    pytest.mark.uses_runs("raid"),
    needs_full_set(
        "the test of a raid's fade by day 13 sits at its bound: days 13-30 are -5% [-11%, +1%] "
        "on the full set, -4% [-15%, +8%] on the quick set's seeds 101-108, so a few seeds "
        "decide it"
    ),
]


@pytest.fixture(scope="module")
def runs(paired_runs):
    return paired_runs.get("raid")


def test_a_raid_cuts_open_dealing_in_its_first_week(runs):
    """Tolerance: the 95% interval of the change in days 0-6 is below 0."""
    first = V.raid_phases(runs)["days 0-6"]
    assert first.high < 0, describe("days 0-6", first)


def test_the_raid_effect_fades(runs):
    """The cut in days 31-60 is smaller than in the first week: 95% interval of the
    per-seed difference (later minus first week) above 0."""
    fade = V.raid_fade(runs)
    assert fade.low > 0, describe("days 31-60 minus days 0-6", fade)


@pytest.mark.xfail(
    strict=True,
    reason="reproduced in shape, nearly in speed, not in size: the model's cut is about "
    "3.6 times Kansas City's, and in days 13-30 it is still about 5% (40 seeds), at the "
    "test's bound: dealers who moved away from the raid settle on pitches that serve the "
    "same buyers and come back slowly",
)
def test_the_raid_effect_is_gone_within_12_days(runs):
    """Kansas City: gone within 7-12 days. Tolerance: the mean change over days 13-30 is
    within 5% of baseline (40 seeds: -5% [-11%, +1%]; -13% with residual deterrence's
    half-life of 8 days until 2026-12-07)."""
    fade = V.raid_phases(runs)["days 13-30"]
    assert abs(fade.mean) < 0.05, describe("days 13-30", fade)
