"""Fact 1: crackdowns decay (Sherman 1990).

`crackdown.yaml` (60 days from day 120, 8 units, open dealers first) against baseline on
the same seeds; figures are pooled changes of open sales in the target with 95% intervals
over seeds (see `marketsim.validation`).
"""

from __future__ import annotations

import pytest

from marketsim import validation as V
from tests.validation.helpers import VALIDATION, describe, needs_full_set

pytestmark = [*VALIDATION, pytest.mark.uses_runs("crackdown")]


@pytest.fixture(scope="module")
def runs(paired_runs):
    return paired_runs.get("crackdown")


def test_visible_dealing_falls_sharply_during_the_crackdown(runs):
    """Tolerance: from the second week to the end, the whole 95% interval of the change
    in target open sales is below -50% (measured about -95%)."""
    phases = V.crackdown_phases(runs)
    for name in ("peak (days 7-20)", "late (days 40-59)"):
        assert phases[name].high < -0.5, describe(name, phases[name])


def test_the_effect_decays_after_the_end(runs):
    """After the end the effect shrinks: 60-120 days after, the cut is at least 20 points
    smaller than in the last 20 crackdown days (per-seed difference, 95% interval above
    +0.2)."""
    decay = V.crackdown_decay_later(runs)
    assert decay.low > 0.2, describe("decay after the end", decay)


def test_residual_deterrence_remains_months_after(runs):
    """Sherman's residual deterrence: 60-120 days after the end the target's open sales are
    still cut (95% interval of the pooled change below 0)."""
    residual = V.crackdown_phases(runs)["60-120 days after the end"]
    assert residual.high < 0, describe("residual", residual)


@needs_full_set(
    "a decay of about 7 points against a seed-to-seed spread of about 15: late minus peak "
    "+0.05 [-0.07, +0.18] on the quick set's 8 seeds, +0.073 [+0.025, +0.120] on 40 "
    "(2026-12-07, the closed-market mechanisms on)"
)
def test_the_effect_decays_while_the_crackdown_continues(runs):
    """Sherman's 'initial deterrence decay': the cut in the last 20 days of the crackdown
    is smaller than at its peak (days 7-20); 95% interval of the per-seed difference
    above 0. Measured (2026-12-07, with the closed-market mechanisms on): late minus peak
    +0.073 [+0.025, +0.120] on 40 seeds, +0.05 [-0.07, +0.18] on the quick set's 8, where
    it is skipped again; with them off +0.073 [+0.033, +0.113] on 40 and +0.089 [+0.020,
    +0.159] on 8; +0.037 [+0.011, +0.064] on 40 with the defaults of 2026-12-06. A weak
    pass: the crackdown's flagging attention (`attention_halflife`) was set on this fact."""
    during = V.crackdown_decay_during(runs)
    assert during.low > 0, describe("late minus peak", during)
