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


@needs_full_set(
    "whether a cut of a few per cent is within 5% is for many seeds to say: days 13-30 are "
    "-3% [-9%, +3%] on 40 seeds (2026-12-07, the closed-market mechanisms on)"
)
def test_the_raid_effect_is_gone_within_12_days(runs):
    """Kansas City: gone within 7-12 days. Tolerance: the mean change over days 13-30 is
    within 5% of baseline. Measured (40 seeds, 2026-12-07): -3% [-9%, +3%] with the
    closed-market mechanisms on (buyers' wariness, word of mouth at 0.6; -7% [-13%, -0%]
    with word of mouth at 0.45); -1% [-5%, +3%] with them off, since displaced dealers
    appraise the pitch they were pushed from (ODD 7.4); -5% [-11%, +1%] without that, and
    -13% with residual deterrence's half-life of 8 days as well. Weak in part: the
    deterrence's decay and word of mouth were read from this fact. On its bound: on the
    seeds extended to 120 (101-220) -4.7% [-7.7%, -1.8%], and on 40 fresh seeds (1001-1040)
    -8% [-16%, -1%] (2026-12-07, late; docs/validation.md)."""
    fade = V.raid_phases(runs)["days 13-30"]
    assert abs(fade.mean) < 0.05, describe("days 13-30", fade)
