"""`partnership`: a multi-agency package of tactics plus community engagement.

Operation Nemesis (seed 000 Box C; seed 001 App. B) combined enforcement with
treatment, housing and community work. Here the package's parts are any other
tactics, configured in the same YAML under `parts:`, each with its own start and
duration; the partnership adds community engagement, which lowers residents'
fear and raises their reporting (more detection of dealing, more acquisitive
offences solved). Each part keeps its own account, named `<partnership>/<part>`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BeforeValidator, Field, SerializeAsAny, model_validator

from marketsim.params import Section, param
from marketsim.tactics.base import Tactic, TacticConfig

if TYPE_CHECKING:
    from marketsim.model import MarketModel
    from marketsim.scenario import Scenario

S000 = "seed 000_ecf4d41f2042e744.txt"


def _part(item: Any) -> TacticConfig:
    """A part's config, validated by its own tactic's schema (the registry is read at call time)."""
    from marketsim.tactics import TACTICS  # the registry imports this module

    if isinstance(item, TacticConfig):
        return item
    if not isinstance(item, dict):
        raise ValueError("each part must be a mapping with a 'type' key")
    kind = item.get("type")
    allowed = sorted(t for t in TACTICS if t != "partnership")
    if not isinstance(kind, str) or kind not in allowed:
        raise ValueError(f"unknown part type {kind!r}; allowed: {', '.join(allowed)}")
    return TACTICS[kind].Config.model_validate(item)


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
    parts: list[SerializeAsAny[Annotated[TacticConfig, BeforeValidator(_part)]]] = Field(
        default_factory=list,
        description="the package's tactics, each with its own start and duration",
    )
    engagement: Engagement | None = param(
        None, unit="-", doc="community engagement while the partnership runs"
    )

    @model_validator(mode="after")
    def _unique_parts(self) -> PartnershipConfig:
        labels = [p.label for p in self.parts]
        dupes = sorted({x for x in labels if labels.count(x) > 1})
        if dupes:
            raise ValueError(
                f"part names must be unique; repeated: {', '.join(dupes)} (set 'name:')"
            )
        if not self.parts and self.engagement is None:
            raise ValueError("a partnership needs parts, engagement, or both")
        return self


class Partnership(Tactic):
    """Runs its parts as tactics in their own right, and adds engagement while it is active."""

    Config = PartnershipConfig

    def init(self, model: MarketModel) -> None:
        from marketsim.tactics import TACTICS

        self.parts: list[Tactic] = []
        for cfg in self.config.parts:
            label = f"{self.name}/{cfg.label}"
            part = TACTICS[cfg.type](
                cfg.model_copy(update={"name": label}), model.streams[f"tactic:{label}"]
            )
            model.accounts.index(label)
            part.init(model)
            self.parts.append(part)

    @classmethod
    def first_day(cls, config: PartnershipConfig, scenario: Scenario) -> int:
        from marketsim.tactics import TACTICS

        parts = [TACTICS[p.type].first_day(p, scenario) for p in config.parts]
        return min([config.start, *parts])

    def is_active(self, day: int) -> bool:
        # Parts keep their own calendars; the partnership is stepped whenever any may act.
        return super().is_active(day) or any(p.is_active(day) for p in self.parts)

    def step(self, model: MarketModel) -> None:
        engagement = self.config.engagement
        if engagement is not None and super().is_active(model.day):
            model.levers.fear_relief = 1.0 - (1.0 - model.levers.fear_relief) * (
                1.0 - engagement.fear_relief
            )
            model.levers.detection *= engagement.reporting
            model.levers.crime_reporting *= engagement.reporting
            model.accounts.spend(self.name, "community engagement", engagement.cost_gbp_per_day)
        for part in self.parts:
            if part.is_active(model.day):
                part.step(model)

    def finalize(self, model: MarketModel) -> None:
        for part in self.parts:
            part.finalize(model)

    def report(self, model: MarketModel) -> dict:
        return {"parts": {p.name: {"type": p.config.type, **p.report(model)} for p in self.parts}}
