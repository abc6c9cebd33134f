"""Hot-spot patrol's catchment (issue 15; not one of design §9's ten facts).

Braga et al. (2019, Campbell review): hot-spot policing cuts crime in the treated places,
and where displacement was measured, a diffusion of benefits to the surrounding area was
more likely than displacement. `hotspot_patrol.yaml` against baseline, the open dealers'
sales in days 310-399 (the patrol from day 120) on the first ten hot cells and within 3
cells of them (`validation.hotspot_catchment`; docs/validation.md, "Hot-spot patrol: where
the sales go").
"""

from __future__ import annotations

import pytest

from marketsim import validation as V
from tests.validation.helpers import VALIDATION, describe

pytestmark = VALIDATION


@pytest.fixture(scope="module")
def areas():
    return V.hotspot_catchment(V.seeds_from_env(), V.workers_from_env())


def test_the_patrol_cuts_open_sales_on_its_hot_cells(areas):
    """Tolerance: the 95% interval of the hot cells' change is below 0."""
    change, _ = areas["hot cells"]
    assert change.high < 0, describe("hot cells", change)


@pytest.mark.xfail(
    strict=True,
    reason="displacement, not diffusion: within 3 cells +22% [+12%, +31%] on 40 seeds "
    "(2026-12-07); each police channel alone shuts a pitch and demand holds",
)
def test_the_catchment_does_not_gain_open_sales(areas):
    """Braga et al. 2019: diffusion more likely than displacement. Tolerance: the mean
    change within 3 cells of the hot cells is at most 0."""
    change, _ = areas["within 3 cells"]
    assert change.mean <= 0, describe("within 3 cells", change)
