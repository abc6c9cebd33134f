"""Fact 9: sustained pressure pushes markets from open to closed: visible-market harms
fall while volume holds (Operation Iceberg, seed 001_85a9966099c1cff4.txt App. B).

`iceberg.yaml` (3 units a day in the central market from day 90 to the end, with more
treatment and arrest referral) against baseline, over days 150-399 (after two months of
adjustment).
"""

from __future__ import annotations

import pytest

from marketsim import validation as V
from tests.validation.helpers import VALIDATION, describe, needs_full_set

pytestmark = [*VALIDATION, pytest.mark.uses_runs("iceberg")]

LO, HI = 150, 400
NOT_CLOSED = (
    "not reproduced: under sustained pressure dealers move their pitch out of the "
    "target rather than go closed where they are, so the open market is displaced, "
    "not converted"
)


@pytest.fixture(scope="module")
def runs(paired_runs):
    return paired_runs.get("iceberg")


@needs_full_set(
    "since residual deterrence decays 25% a day and displaced dealers return to their pitch "
    "(2026-12-07) the cut is -63% [-68%, -57%] on 40 seeds, -62% [-77%, -48%] on the quick "
    "set's 8"
)
def test_the_open_market_leaves_the_target(runs):
    """Tolerance: open sales in the target fall (95% interval below -50%; measured -63%
    [-68%, -57%] on 40 seeds, -89% while residual deterrence decayed 8% a day and displaced
    dealers had no memory of their pitch)."""
    target = V.paired_change(runs, "iceberg", "target", "open_sales", LO, HI)
    assert target.high < -0.5, describe("target open sales", target)


def test_volume_holds(runs):
    """Tolerance: town-wide sales stay within 10% of baseline (measured -1.7% [-2.3%,
    -1.0%] on 40 seeds, the treatment part taking some buyers out of the market)."""
    sales = V.town_sales_change(runs, "iceberg", LO, HI)
    assert sales.inside(-0.10, 0.10), describe("town sales", sales)


@pytest.mark.xfail(strict=True, reason=NOT_CLOSED)
def test_the_open_share_of_sales_falls(runs):
    """Tolerance: the town-wide open share of sales falls by more than 5 points (95%
    interval of the per-seed difference below -0.05). Measured: no change."""
    share = V.open_share_change(runs, "iceberg", LO, HI)
    assert share.high < -0.05, describe("open share", share)


@pytest.mark.xfail(strict=True, reason=NOT_CLOSED)
def test_visible_dealing_falls_town_wide(runs):
    """Tolerance: town-wide exposure to visible dealing falls (95% interval below 0).
    Measured: it rises, as the market moves into the more populous buffer."""
    visible = V.paired_change(runs, "iceberg", "all", "visible_dealing", LO, HI)
    assert visible.high < 0, describe("visible dealing", visible)
