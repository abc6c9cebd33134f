"""The `treatment_expansion` tactic's parameters: what its YAML entry may say (behaviour: tactics/treatment_expansion.py)."""

from __future__ import annotations

from typing import ClassVar, Literal

from marketsim.params import Section, param
from marketsim.tactics.configs.base import TacticConfig

S001 = "seed 001_85a9966099c1cff4.txt"


class ArrestReferral(Section):
    share: float = param(
        0.4,
        ge=0,
        le=1,
        unit="probability",
        doc="arrested dependent users (not in custody, not already on a list) who are referred",
        source=f"{S001} App. B, Iceberg: every person in custody reviewed; judgement",
    )
    fast_track: bool = param(
        False, unit="-", doc="referrals go to the head of the waiting list instead of the tail"
    )


class TreatmentExpansionConfig(TacticConfig):
    type: Literal["treatment_expansion"] = "treatment_expansion"
    sliders: ClassVar[tuple[str, ...]] = ("extra_places", "outreach_multiplier")
    extra_places: int = param(
        30,
        ge=0,
        le=100000,
        unit="places",
        doc="places added across the treatment sites (see split) while the tactic runs",
        source=f"{S001} App. B, Nemesis: treatment expanded to cut waiting lists; judgement",
    )
    outreach_multiplier: float = param(
        1.5,
        ge=1,
        le=20,
        unit="x daily seeking",
        doc="multiplier on dependent users' daily chance of asking for treatment",
        source=f"{S001} App. B, Iceberg: arrest referrals +76% in year one; judgement",
    )
    outreach_cost_gbp_per_day: float = param(
        300.0,
        ge=0,
        le=1e7,
        unit="GBP per day",
        doc="outreach workers' cost each day outreach runs (multiplier above 1)",
        source="judgement: two outreach workers at about GBP 150 a day",
    )
    split: Literal["waiting", "even"] = param(
        "waiting",
        unit="-",
        doc="how extra places are shared between sites: in proportion to each site's waiting "
        "list on the first day (evenly if nobody waits), or evenly",
        source=f"{S001} App. B, Nemesis: places added to cut waiting lists",
    )
    arrest_referral: ArrestReferral | None = param(
        None, unit="-", doc="refer users arrested by any tactic (arrest referral, DIP)"
    )
