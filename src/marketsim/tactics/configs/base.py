"""Fields every tactic's YAML entry has: its type, an optional name, and its delivery window."""

from __future__ import annotations

from typing import ClassVar, Literal

from marketsim.params import Name, Section, param

# The land uses, in code order (town.Town.LAND_USES; repeated here because the
# scenario schema, which town.py imports, imports the tactics' parameters).
LAND_USES = ("residential", "centre", "industrial", "park", "school", "treatment")
CellRanking = Literal["reputation", "harm", "visible_dealing"]
DealerRanking = Literal["violence", "harm", "volume"]
LandUse = Literal["residential", "centre", "industrial", "park", "school", "treatment"]

ARREST_PRIORITIES = ("any", "open_first", "harm")
EFFECTS = ("arrest", "divert", "deter")


class TacticConfig(Section):
    """Fields every tactic has: its type, an optional name, and its delivery window."""

    # The parameters the workshop app offers a slider for; each tactic names its own.
    sliders: ClassVar[tuple[str, ...]] = ()
    # The timeseries.csv columns the tactic adds (per-cell counts a day), which only it
    # writes. Every run records every registered tactic's columns (marketsim.columns).
    columns: ClassVar[tuple[str, ...]] = ()
    # Whether the tactic acts during burn-in. Only those that do shape the state at
    # day 0; experiments share that state between runs (burnin.py).
    acts_in_burn_in: ClassVar[bool] = False

    type: str = param("", unit="-", doc="tactic type (the registry key)")
    name: Name | None = param(None, unit="-", doc="unique label; defaults to the type")
    start: int = param(
        0, ge=0, le=36500, unit="day", doc="first day, counted from the end of burn-in"
    )
    duration: int | None = param(
        None, ge=1, le=36500, unit="days", doc="days it runs (none: to the end)"
    )

    @property
    def label(self) -> str:
        return self.name or self.type


def repeated_name(items: list[TacticConfig], where: str) -> tuple[int, str] | None:
    """The first of `items` (a scenario's tactics, a partnership's parts: `where`) whose
    name an earlier one has: its index, and the error's field, value and rule."""
    labels = [t.label for t in items]
    for i, label in enumerate(labels):
        if label in labels[:i]:
            field = "name" if items[i].name else "type"
            return i, (
                f"{where}[{i}].{field}: bad value {label!r}: {where}[{labels.index(label)}] "
                "has the same name (allowed: a name of its own for each; set 'name:')"
            )
    return None
