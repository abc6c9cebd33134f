"""The `hotspot_patrol` tactic's parameters: what its YAML entry may say (behaviour: tactics/hotspot_patrol.py)."""

from __future__ import annotations

from typing import ClassVar, Literal

from marketsim.areas import AreaSpec
from marketsim.params import param
from marketsim.tactics.configs.base import CellRanking, LandUse, TacticConfig

KOPER = "Koper 1995 (Justice Quarterly 12(4)): 10-15 minute stops maximise residual deterrence"
SHERMAN_WEISBURD = "Sherman & Weisburd 1995 (Justice Quarterly 12(4)), Minneapolis hot spots"


class HotspotPatrolConfig(TacticConfig):
    type: Literal["hotspot_patrol"] = "hotspot_patrol"
    sliders: ClassVar[tuple[str, ...]] = ("k", "units", "dwell_minutes")
    k: int = param(
        10,
        ge=1,
        le=10000,
        unit="cells",
        doc="hot cells patrolled (each ~100 m, about one hot-spot address cluster)",
        source=f"{SHERMAN_WEISBURD}: 55 of 110 hot spots treated; 10 for a 50x50 town is judgement",
    )
    rank_by: CellRanking = param(
        "reputation",
        unit="-",
        doc="how cells are ranked: market reputation, recent weighted harm, or open dealers now",
        source="Braga et al. 2019: hot spots are mapped from calls and incidents; judgement",
    )
    within: AreaSpec | None = param(
        None, unit="-", doc="rank only cells in this area (none: the whole town)"
    )
    land_uses: list[LandUse] | None = param(
        None, unit="-", doc="rank only cells of these land uses (none: any land use)"
    )
    dwell_minutes: float = param(
        15.0,
        ge=1,
        le=1440,
        unit="minutes per visit",
        doc="length of each visit; a unit makes shift_hours x 60 / dwell_minutes visits a day",
        source=KOPER,
    )
    units: int = param(
        4,
        ge=1,
        le=2000,
        unit="units",
        doc="units on hot-spot patrol each active day (taken from the force)",
        source=f"calibration judgement (20% of the default force); {SHERMAN_WEISBURD}: "
        "treated hot spots had about twice the patrol presence of controls",
    )
    rerank_days: int = param(
        14,
        ge=1,
        le=3650,
        unit="days",
        doc="days between re-rankings of the hot cells",
        source="calibration judgement: a fortnightly tasking and co-ordinating group",
    )
    effect: Literal["arrest", "deter"] = param(
        "arrest", unit="-", doc="arrest dealing seen on the hot cells, or presence only"
    )
    arrest_priority: Literal["any", "open_first", "harm"] = param(
        "open_first", unit="-", doc="who is arrested first when several are seen"
    )
