"""The `crackdown` tactic's parameters: what its YAML entry may say (behaviour: tactics/crackdown.py)."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, model_validator

from marketsim.areas import AreaSpec
from marketsim.params import Section, param
from marketsim.tactics.configs.base import TacticConfig

S001 = "seed 001_85a9966099c1cff4.txt"


class BackOff(Section):
    on_days: int = param(
        14,
        ge=1,
        le=3650,
        unit="days",
        doc="days on in each cycle",
        source="Sherman 1990: back off before decay sets in",
    )
    off_days: int = param(14, ge=1, le=3650, unit="days", doc="days off in each cycle")


class FollowUp(Section):
    units: int = param(
        2,
        ge=1,
        le=2000,
        unit="units",
        doc="officer-days a day of basic policing once the market returns",
        source=f"{S001} App. B, Derbyshire",
    )
    trigger: float = param(
        0.5,
        gt=0,
        le=10,
        unit="x pre-crackdown level",
        doc="open sales in the area (7-day mean), relative to before, that trigger follow-up",
    )
    days: int = param(30, ge=1, le=3650, unit="days", doc="how long each follow-up lasts")


class CrackdownConfig(TacticConfig):
    type: Literal["crackdown"] = "crackdown"
    sliders: ClassVar[tuple[str, ...]] = ("intensity", "duration", "cells_per_unit")
    area: AreaSpec | None = param(
        None, unit="-", doc="where (default: the scenario's target region)"
    )
    sites: list[AreaSpec] = Field(
        default_factory=list, description="rotation: several sites taken in turn (overrides area)"
    )
    rotate_every: int = param(
        30,
        ge=1,
        le=3650,
        unit="days",
        doc="days at each site when rotating",
        source="Sherman 1990: rotate to keep offenders guessing",
    )
    intensity: int = param(
        8,
        ge=1,
        le=2000,
        unit="officer-days per day",
        doc="units committed each active day",
        source="calibration judgement: ~40% of the default force",
    )
    cells_per_unit: int = param(
        2, ge=1, le=100, unit="cells per unit-day", doc="how concentrated each unit's presence is"
    )
    attention_halflife: float | None = param(
        20.0,
        gt=0,
        le=3650,
        unit="days",
        doc="days of unbroken campaign at one site after which officers spend half as much of "
        "their time looking for dealers (a rotation or back-off break restores it; none: never)",
        source="Sherman 1990 (crackdowns hard to sustain; rotate, back off); UKDPC 2009 ch. 4; "
        "the half-life is calibration judgement, set on fact 1 (docs/validation.md)",
    )
    attention_floor: float = param(
        0.25,
        ge=0,
        le=1,
        unit="fraction",
        doc="the share of officers' attention a campaign keeps however long it runs",
        source="calibration judgement: a standing operation keeps a core of dedicated work",
    )
    arrest_priority: Literal["any", "open_first", "harm"] = param(
        "open_first", unit="-", doc="who is arrested first when several are seen"
    )
    raid: bool = param(
        False, unit="-", doc="visible raids: residents see them (fear, an enforcement harm)"
    )
    back_off: BackOff | None = param(
        None, unit="-", doc="on/off cycles instead of continuous presence"
    )
    follow_up: FollowUp | None = param(
        None, unit="-", doc="basic policing after the crackdown at the first sign of return"
    )

    @model_validator(mode="after")
    def _one_place(self) -> CrackdownConfig:
        if self.sites and self.area is not None:
            raise ValueError(  # relative to the tactic (scenario.format_validation_error)
                f".sites: bad value {len(self.sites)} site(s) and an area: give either area or "
                "sites (a rotation), not both"
            )
        return self
