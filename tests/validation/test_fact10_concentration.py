"""Fact 10: most violence and harm comes from a small share of dealers (Braga 2001), so
targeting by harm beats targeting by volume or by ease of arrest.

Concentration is measured in the baseline; targeting compares `crackdown.yaml` arresting
by harm score with the same crackdown arresting open (the easiest) dealers first.
"""

from __future__ import annotations

import pytest

from marketsim import validation as V
from tests.validation.helpers import VALIDATION, describe, needs_full_set

pytestmark = VALIDATION


def test_violence_is_concentrated_in_few_dealers(paired_runs):
    """Tolerance: in every seed the most violent 20% of dealers cause at least 60% of
    incidents and the top 10% at least 45% (measured 100% and 85%); at least 30
    incidents a run so the shares mean something (lowered from 50 when the joint calibration
    brought baseline violence down to about 55 a year: seed 106 has 45 in 400 days)."""
    runs = paired_runs.get()
    for seed, result in runs["baseline"].items():
        conc = result.summary["violence_concentration"]
        assert conc["incidents"] >= 30, seed
        assert conc["top_20pct_share"] >= 0.60, (seed, conc)
        assert conc["top_10pct_share"] >= 0.45, (seed, conc)
    shares = V.violence_concentration(runs)
    assert shares["top 20%"].low > 0.6, describe("top 20% share", shares["top 20%"])


@needs_full_set("the two crackdowns differ by a few per cent in net harm")
@pytest.mark.uses_runs("crackdown", "crackdown_by_harm")
@pytest.mark.xfail(
    strict=True,
    reason="not reproduced for crackdown arrests: arresting by harm score rather than open "
    "dealers first does not cut net harm measurably, because arrests in the crackdown area "
    "reach only the few dealers there and the void refills from the same pool",
)
def test_arresting_by_harm_beats_arresting_the_easiest(paired_runs):
    """Tolerance: net harm (cost of crime) over the crackdown and 120 days after is lower
    with harm-score priority than with open-first priority (95% interval below 0)."""
    runs = paired_runs.get("crackdown", "crackdown_by_harm")
    change = V.harm_priority_vs_open_first(runs, "net_harm")
    assert change.high < 0, describe("net harm, by harm vs open first", change)
