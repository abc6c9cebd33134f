"""The `standard_patrol` tactic's parameters: what its YAML entry may say (behaviour: tactics/standard_patrol.py)."""

from __future__ import annotations

from typing import ClassVar, Literal

from marketsim.params import param
from marketsim.tactics.configs.base import TacticConfig


class StandardPatrolConfig(TacticConfig):
    type: Literal["standard_patrol"] = "standard_patrol"
    sliders: ClassVar[tuple[str, ...]] = ("demand_weight",)
    acts_in_burn_in: ClassVar[bool] = True  # the market settles under routine patrol
    units: int | None = param(
        None,
        ge=0,
        le=2000,
        unit="units",
        doc="units on patrol (none: all units not used by other tactics)",
    )
    demand_weight: float = param(
        1.0,
        ge=0,
        le=10,
        unit="-",
        doc="how strongly patrols follow residents and commercial activity (0: uniform)",
        source="Mazerolle 2007 standard model: patrol follows calls for service",
    )
    violence_weight: float = param(
        0.5,
        ge=0,
        le=100,
        unit="x per recent incident",
        doc="extra patrol visits to places known for recent violence (calls for service)",
        source="Mazerolle 2007: patrol follows calls for service",
    )
    arrest_priority: Literal["any", "open_first", "harm"] = param(
        "any", unit="-", doc="who is arrested first when several are seen"
    )
