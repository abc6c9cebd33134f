"""The `place_guardianship` tactic's parameters: what its YAML entry may say (behaviour: tactics/place_guardianship.py)."""

from __future__ import annotations

from typing import ClassVar, Literal

from marketsim.areas import AreaSpec
from marketsim.params import Section, param
from marketsim.tactics.configs.base import CellRanking, LandUse, TacticConfig

S001 = "seed 001_85a9966099c1cff4.txt"
BBW = (
    "Big Brother Watch 2012, The Price of Privacy: GBP 515m on ~51,600 council CCTV cameras "
    "in 2007-11, ~GBP 2,500 per camera-year installed and run"
)


class CivilOrders(Section):
    """Premises closure: closed dealers operating from the treated cells are moved away."""

    daily_prob: float = param(
        0.03,
        ge=0,
        le=1,
        unit="per dealer per day",
        doc="chance a closed dealer on a treated cell is served a closure order that day",
        source="calibration judgement: about a month from identifying premises to an order; "
        f"{S001} ch. 3 (civil powers, Knowsley eviction) and Sampson 2001",
    )
    cost_gbp_per_order: float = param(
        3000.0,
        ge=0,
        le=1_000_000,
        unit="GBP per order",
        doc="legal, council and police time to obtain one closure order",
        source="calibration judgement",
    )
    relocation_radius: int = param(
        6,
        ge=1,
        le=50,
        unit="cells",
        doc="how far a displaced dealer looks for a new pitch outside the treated cells",
        source="as dealers.relocation_radius (odd.md §7.4)",
    )
    relocation_candidates: int = param(
        8, ge=1, le=64, unit="cells", doc="pitches a displaced dealer compares"
    )


class PlaceGuardianshipConfig(TacticConfig):
    type: Literal["place_guardianship"] = "place_guardianship"
    sliders: ClassVar[tuple[str, ...]] = ("k", "guardianship_gain")
    area: AreaSpec | None = param(
        None, unit="-", doc="where (none: the scenario's target region, or the whole town with k)"
    )
    k: int | None = param(
        None,
        ge=1,
        le=10000,
        unit="cells",
        doc="treat only the k cells of the area ranking highest on the start day (none: all)",
    )
    rank_by: CellRanking = param("reputation", unit="-", doc="how cells are ranked when k is set")
    land_uses: list[LandUse] | None = param(
        None, unit="-", doc="treat only cells of these land uses (none: any land use)"
    )
    guardianship_gain: float = param(
        0.3,
        ge=0,
        le=1,
        unit="guardianship (0-1)",
        doc="durable rise in each treated cell's guardianship (capped at 1)",
        source="calibration judgement: takes a residential cell (0.3) to a school's level (0.6); "
        f"{S001} ch. 3 (Welsh 2007: nuisance abatement, CCTV, street lighting work)",
    )
    setup_cost_gbp_per_cell: float = param(
        10000.0,
        ge=0,
        le=10_000_000,
        unit="GBP per cell",
        doc="one-off cost of CCTV, lighting and place-management work on a ~100 m cell",
        source=f"calibration judgement; order of magnitude from {BBW}",
    )
    running_cost_gbp_per_cell_day: float = param(
        5.0,
        ge=0,
        le=100_000,
        unit="GBP per cell-day",
        doc="monitoring, maintenance and place-manager time while the tactic runs",
        source=f"calibration judgement; {BBW}",
    )
    civil_orders: CivilOrders | None = param(
        None, unit="-", doc="closure orders on premises used for dealing in the treated cells"
    )
