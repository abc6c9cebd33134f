"""The `harm_targeting` tactic's parameters: what its YAML entry may say (behaviour: tactics/harm_targeting.py)."""

from __future__ import annotations

from typing import ClassVar, Literal

from marketsim.params import param
from marketsim.tactics.configs.base import DealerRanking, TacticConfig

S000 = "seed 000_ecf4d41f2042e744.txt Box B"
S001 = "seed 001_85a9966099c1cff4.txt App. B"
S003 = "seed 003_f1d980d3e2135e00.txt"
S004 = "seed 004_4568d074a54f904a.txt"


class HarmTargetingConfig(TacticConfig):
    type: Literal["harm_targeting"] = "harm_targeting"
    sliders: ClassVar[tuple[str, ...]] = ("n_targets", "officers", "arrest_prob_per_day")
    # targeting
    target: Literal["crew", "individuals"] = param(
        "crew",
        unit="-",
        doc="remove whole crews (ranked by summed harm) or individual dealers",
        source=f"{S001}: Grasslands and Macarise targeted families/networks; {S003}: MoRiLE ranks OCGs",
    )
    n_targets: int = param(
        1,
        ge=1,
        le=500,
        unit="crews or dealers",
        doc="how many crews (or dealers) each operation targets",
        source=f"{S000}: one conspicuous family",
    )
    rank_by: DealerRanking = param(
        "harm",
        unit="-",
        doc="harm score (violence, visibility, exploitation, wealth), recent known violence, "
        "or volume (sales a day)",
        source=f"{S004}: rank by harm, not by ease of arrest",
    )
    where: Literal["town", "target"] = param(
        "town",
        unit="-",
        doc="rank everyone, or only crews/dealers with someone working in the target region",
    )
    # delivery
    investigation_days: int = param(
        90,
        ge=0,
        le=1095,
        unit="days",
        doc="covert investigation before the arrest phase",
        source=f"{S001}, Grasslands: a 'substantial (three month) period of intelligence gathering'",
    )
    officers: int = param(
        4,
        ge=0,
        le=2000,
        unit="officer-days per day",
        doc="units committed to the operation each day (covert: no street presence)",
        source="calibration judgement: a small dedicated team",
    )
    arrest_prob_per_day: float = param(
        0.1,
        ge=0,
        le=1,
        unit="per target per day",
        doc="daily chance each remaining target is arrested once the investigation is done",
        source="calibration judgement: most targets arrested within a month",
    )
    arrest_days: int = param(
        60,
        ge=1,
        le=3650,
        unit="days",
        doc="longest arrest phase (it ends earlier when no target is left)",
    )
    repeat_every: int | None = param(
        None,
        ge=1,
        le=3650,
        unit="days",
        doc="days between operation starts (none: a single operation)",
    )
    # effect
    asset_recovery: bool = param(
        True,
        unit="-",
        doc="financial investigation: the crew is broken up (no one may join it) and proceeds recovered",
        source=f"{S001}, Macarise: financial investigator, assets seized",
    )
    recovery_per_conviction: float = param(
        1500.0,
        ge=0,
        le=1e7,
        unit="GBP per convicted target",
        doc="cash and goods (cars) recovered per convicted target",
        source=f"{S001}, Grasslands: GBP 75,000 and 16 vehicles from 105 arrests",
    )
    recovery_profit_days: float = param(
        90.0,
        ge=0,
        le=3650,
        unit="days of profit",
        doc="proceeds recovered per convicted target, in days of its recent daily profit",
        source="calibration judgement (Proceeds of Crime Act confiscation)",
    )
    void_radius: int = param(
        2,
        ge=0,
        le=50,
        unit="cells",
        doc="the removed dealers' area: their pitches and this many cells around",
        source="calibration judgement: a local market's reach",
    )
