"""Fact 5: disrupting established markets raises violence (Werb et al. 2011: 14 of 15
studies); removing a dominant crew opens a void that rivals fight over.

`grasslands.yaml` (90 days' covert investigation from day 30, then arrests and asset
recovery against the highest-harm crew in the target) against baseline.
"""

from __future__ import annotations

import pytest

from marketsim import validation as V
from tests.validation.helpers import VALIDATION, describe

pytestmark = [*VALIDATION, pytest.mark.uses_runs("grasslands")]


@pytest.fixture(scope="module")
def runs(paired_runs):
    return paired_runs.get("grasslands")


def test_the_removed_crew_leaves_a_void_that_others_fill(runs):
    """In every seed the operation arrests at least one member of the crew, or the crew left
    the market before the arrests (the operation ends early with no one left to arrest; seed
    105 with the jointly calibrated defaults: a crew of one quit on day 124), and it arrests
    someone in at least three seeds out of four. Within 90 days
    others come into its area (entrants and movers): summed over seeds more than twice as
    many as were removed (measured about ten times), and some come in in at least three
    seeds out of four (a lone dealer on a quiet pitch may leave no void worth filling)."""
    removed = newcomers = filled = arrested = 0
    for seed, result in runs["grasslands"].items():
        report = next(
            t for t in result.summary["tactics"].values() if t["type"] == "harm_targeting"
        )
        log = report["operation_log"][0]
        # ended before its 60 arrest days (grasslands.yaml): no member was left to arrest
        left_first = log["end_day"] is not None and log["end_day"] < log["removal_day"] + 60
        assert log["arrested"] >= 1 or left_first, seed
        arrested += log["arrested"] >= 1
        came = log["void"]["entrants"]["dealers"] + log["void"]["movers_in"]["dealers"]
        removed += log["void"]["removed"]["dealers"]
        newcomers += came
        filled += came > 0
    assert arrested >= 0.75 * len(runs["grasslands"]), arrested
    assert newcomers > 2 * removed, (newcomers, removed)
    assert filled >= 0.75 * len(runs["grasslands"])


@pytest.mark.xfail(
    strict=True,
    reason="not reproduced: violence after the removal is not measurably higher than "
    "baseline; the void fills with ordinary entrants and movers, and removing one crew "
    "changes town violence by less than its seed-to-seed noise",
)
def test_violence_rises_after_the_removal(runs):
    """Tolerance: violent incidents to expect in the target over the 90 days after removal
    (days 120-209) are higher than baseline: 95% interval of the pooled change above 0.
    The target sees about 1.5 incidents a run in those days, so the test reads the
    incidents to expect (each dealer's daily chance summed), which take out the luck of
    the draws (20 seeds, 2026-12-06: +22% [-21%, +66%], counted +43% [-38%, +124%]; 40
    seeds, 2026-12-07: +12% [-19%, +43%], counted -6% [-34%, +22%])."""
    lo = V.GRASSLANDS_REMOVAL
    violence = V.violence_change(runs, "grasslands", "target", lo, lo + V.VOID_DAYS, expected=True)
    assert violence.low > 0, describe("target violence", violence)
