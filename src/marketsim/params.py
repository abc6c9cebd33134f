"""One declaration per parameter: default, bounds, unit and source.

`param()` wraps pydantic's Field so that the schema carries the unit and the
source of every number. The CLI, the docs and the app's sliders read them back
with `describe()` instead of repeating them.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

JUDGEMENT = "calibration judgement"


def param(
    default: Any,
    *,
    unit: str,
    source: str = JUDGEMENT,
    doc: str,
    ge: float | None = None,
    le: float | None = None,
    gt: float | None = None,
    lt: float | None = None,
) -> Any:
    """A scenario parameter with its unit and source recorded in the schema."""
    return Field(
        default,
        ge=ge,
        le=le,
        gt=gt,
        lt=lt,
        description=doc,
        json_schema_extra={"unit": unit, "source": source},
    )


def _one_line(value: str) -> str:
    if not value.isprintable():
        raise ValueError(
            "a name is shown in one line of output, tables and plots (allowed: printable "
            "text, without line breaks or tabs)"
        )
    return value


# A name (of a scenario, a tactic, a pattern): printed in one-line summaries and errors.
Name = Annotated[str, AfterValidator(_one_line)]


class Section(BaseModel):
    """Base for every scenario section: unknown keys are errors, not silence."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


def describe(model_cls: type[BaseModel]) -> list[dict[str, Any]]:
    """Rows of (name, default, bounds, unit, source, doc) for a section class."""
    rows = []
    for name, field in model_cls.model_fields.items():
        extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
        lo = hi = None
        for m in field.metadata:
            lo = getattr(m, "ge", None) if getattr(m, "ge", None) is not None else lo
            lo = getattr(m, "gt", None) if getattr(m, "gt", None) is not None else lo
            hi = getattr(m, "le", None) if getattr(m, "le", None) is not None else hi
            hi = getattr(m, "lt", None) if getattr(m, "lt", None) is not None else hi
        rows.append(
            {
                "name": name,
                "default": field.default,
                "min": lo,
                "max": hi,
                "unit": extra.get("unit", ""),
                "source": extra.get("source", ""),
                "doc": field.description or "",
            }
        )
    return rows
