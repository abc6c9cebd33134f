"""The `partnership` tactic's parameters: what its YAML entry may say (behaviour: tactics/partnership.py)."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import BeforeValidator, Field, SerializeAsAny, model_validator

from marketsim.params import Section, param
from marketsim.tactics.configs.base import TacticConfig, repeated_name
from marketsim.tactics.configs.crackdown import CrackdownConfig
from marketsim.tactics.configs.diversion import DiversionConfig
from marketsim.tactics.configs.harm_targeting import HarmTargetingConfig
from marketsim.tactics.configs.hotspot_patrol import HotspotPatrolConfig
from marketsim.tactics.configs.place_guardianship import PlaceGuardianshipConfig
from marketsim.tactics.configs.standard_patrol import StandardPatrolConfig
from marketsim.tactics.configs.targeted_deterrence import TargetedDeterrenceConfig
from marketsim.tactics.configs.treatment_expansion import TreatmentExpansionConfig

S000 = "seed 000_ecf4d41f2042e744.txt"


# The tactics a partnership may combine: every tactic but itself.
PARTS: dict[str, type[TacticConfig]] = {
    "standard_patrol": StandardPatrolConfig,
    "crackdown": CrackdownConfig,
    "hotspot_patrol": HotspotPatrolConfig,
    "place_guardianship": PlaceGuardianshipConfig,
    "targeted_deterrence": TargetedDeterrenceConfig,
    "harm_targeting": HarmTargetingConfig,
    "diversion": DiversionConfig,
    "treatment_expansion": TreatmentExpansionConfig,
}


def _part(item: Any) -> TacticConfig:
    """A part's config, validated by its own tactic's schema."""
    if isinstance(item, TacticConfig):
        return item
    if not isinstance(item, dict):
        raise ValueError("each part must be a mapping with a 'type' key")
    kind = item.get("type")
    allowed = sorted(PARTS)
    if not isinstance(kind, str) or kind not in allowed:
        raise ValueError(
            f".type: bad value {kind!r}: unknown part type (allowed: {', '.join(allowed)})"
        )
    return PARTS[kind].model_validate(item)


class Engagement(Section):
    """Community engagement: residents feel safer and report more."""

    fear_relief: float = param(
        0.02,
        ge=0,
        le=1,
        unit="share of fear per day",
        doc="extra share of residents' fear that fades each day",
        source=f"{S000} Box C (Nemesis: residents' confidence rose); calibration judgement",
    )
    reporting: float = param(
        1.3,
        ge=1,
        le=5,
        unit="x",
        doc="detection of dealing and solving of acquisitive crime, from residents' reports",
        source="calibration judgement",
    )
    cost_gbp_per_day: float = param(
        300.0,
        ge=0,
        le=100000,
        unit="GBP per day",
        doc="community workers and meetings",
        source="judgement: about two community workers",
    )


class PartnershipConfig(TacticConfig):
    type: Literal["partnership"] = "partnership"
    sliders: ClassVar[tuple[str, ...]] = ()  # its parts get their own sliders
    parts: list[SerializeAsAny[Annotated[TacticConfig, BeforeValidator(_part)]]] = Field(
        default_factory=list,
        description="the package's tactics, each with its own start and duration",
    )
    engagement: Engagement | None = param(
        None, unit="-", doc="community engagement while the partnership runs"
    )

    @model_validator(mode="after")
    def _unique_parts(self) -> PartnershipConfig:
        # Each message starts with "." and the field within the tactic: the error names
        # the tactic in front of it (scenario.format_validation_error).
        if (repeated := repeated_name(self.parts, "parts")) is not None:
            raise ValueError(f".{repeated[1]}")
        if not self.parts and self.engagement is None:
            raise ValueError(".parts: bad value []: a partnership needs parts, engagement, or both")
        return self
