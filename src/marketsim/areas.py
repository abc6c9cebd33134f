"""Areas: a centre plus radius, or a list of cells (regions and tactic sites)."""

from __future__ import annotations

from pydantic import model_validator

from marketsim.params import Section, param


class AreaSpec(Section):
    """An area as a centre plus radius, or a list of cells."""

    centre: tuple[int, int] | None = param(None, unit="cell (x, y)", doc="area centre")
    radius: float | None = param(None, ge=0, le=400, unit="cells", doc="area radius")
    cells: list[tuple[int, int]] | None = param(None, unit="cells (x, y)", doc="explicit cells")

    @model_validator(mode="after")
    def _one_form(self) -> AreaSpec:
        # Each message starts with "." and the field within the area: the error names the
        # area in front of it (scenario.format_validation_error).
        has_disc = self.centre is not None and self.radius is not None
        if has_disc == (self.cells is not None):
            if self.cells is not None:
                field, what = "cells", "cells given with a centre and radius"
            elif self.centre is not None:
                field, what = "radius", "a centre without a radius"
            else:
                field = "centre"
                what = "a radius without a centre" if self.radius is not None else "no area"
            value = getattr(self, field)
            shown = f"{len(value)} cell(s)" if field == "cells" else value
            raise ValueError(
                f".{field}: bad value {shown}: {what} (allowed: centre and radius, or cells, "
                "not both)"
            )
        if self.cells is not None and not self.cells:
            raise ValueError(".cells: bad value []: an area needs a cell (allowed: one or more)")
        return self


class WatchArea(AreaSpec):
    """An area recorded as its own region in the timeseries (e.g. a pilot area or its buffer)."""

    ring: int | None = param(
        None,
        ge=1,
        le=50,
        unit="cells",
        doc="record the ring of this width around the area instead of the area (its buffer)",
    )
