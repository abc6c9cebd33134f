#!/usr/bin/env python
"""Write docs/parameters.md from the scenario schema (marketsim.scenario).

Every scenario parameter is declared once in the schema with its default,
bounds, unit, source and meaning (`marketsim.params.param`); this script reads
them back with `marketsim.params.describe()` and lays them out as one table per
scenario section. The output is deterministic: the same schema always gives
the same bytes.

    python scripts/gen_params_doc.py            # (re)write docs/parameters.md
    python scripts/gen_params_doc.py --check    # exit 1 if docs/parameters.md is stale
    python scripts/gen_params_doc.py --out F    # write (or check) another file
"""

from __future__ import annotations

import argparse
import sys
import typing
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "docs" / "parameters.md"

try:
    import marketsim  # noqa: F401
except ImportError:  # run from a checkout without `pip install -e .`
    sys.path.insert(0, str(ROOT / "src"))

from pydantic import BaseModel  # noqa: E402
from pydantic_core import PydanticUndefined  # noqa: E402

from marketsim import scenario as S  # noqa: E402
from marketsim.citations import readable, references  # noqa: E402
from marketsim.params import Section, describe  # noqa: E402
from marketsim.tactics.schema import CONFIGS  # noqa: E402

# (path prefix, schema class, heading, note). The order is the order of the page.
SECTIONS: list[tuple[str, type[BaseModel], str, str]] = [
    (
        "",
        S.Scenario,
        "Scenario (top level)",
        "Run length, seed and naming. `burn_in` days run first and are not scored; "
        "`steps` days are recorded (day 0 is the first recorded day).",
    ),
    ("town", S.TownConfig, "town", "The grid, its land use, residents and guardianship."),
    ("market", S.MarketConfig, "market", "Initial market size and composition, prices."),
    (
        "market.entrants",
        S.EntrantConfig,
        "market.entrants",
        "Entry where demand goes unmet, and the traits of void fillers: entrants placed "
        "where arrests lately removed sellers, within a window and an area. Other entrants "
        "draw the founders' traits; an unset trait, or a multiplier of 1, is the founders' "
        "(odd.md §7.14).",
    ),
    ("dealers", S.DealerConfig, "dealers", "Dealers' risk learning, moves, mode, exit, violence."),
    (
        "users",
        S.UserConfig,
        "users",
        "Buying, funding, using, overdose, initiation, treatment seeking.",
    ),
    (
        "police",
        S.PoliceConfig,
        "police",
        "Officer time, detection, deterrence memory, custody flow.",
    ),
    ("treatment", S.TreatmentConfig, "treatment", "Treatment places, retention and its effects."),
    ("regions", S.RegionConfig, "regions", "Target, buffer and control regions for displacement."),
    (
        "regions.<area>",
        S.AreaSpec,
        "area specification (regions.target, regions.control)",
        "An area is either a disc (`centre` and `radius`) or a list of `cells`, not both. "
        "Here `<area>` is `target` or `control`; `control` may also be the string `rest`.",
    ),
    ("evaluation", S.EvaluationConfig, "evaluation", "The weighted displacement quotient (WDQ)."),
    ("harms", S.HarmConfig, "harms", "Which weight profile the `net_harm` column uses."),
]


def tactic_sections() -> list[tuple[str, type[BaseModel], str, str]]:
    out = []
    for kind in sorted(CONFIGS):
        note = (
            f"Fields of a `type: {kind}` entry in the `tactics` list. `<i>` is the entry's "
            f"index in the list, as in `--set tactics.0.start=90`."
        )
        if kind == "standard_patrol":
            note += " See [tactics/standard_patrol.md](tactics/standard_patrol.md)."
        out.append(("tactics.<i>", CONFIGS[kind], f"tactic: {kind}", note))
    return out


# ------------------------------------------------------------------ formatting
def fmt_scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        return f'"{value}"'
    return str(value)


def fmt_value(value: Any) -> str:
    """A default as flow-style YAML (what a modeller would write in a scenario)."""
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="python")
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {fmt_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(fmt_value(v) for v in value) + "]"
    return fmt_scalar(value)


def fmt_num(x: float) -> str:
    return repr(x) if isinstance(x, float) else str(x)


def bounds_text(cls: type[BaseModel], row: dict[str, Any]) -> str:
    """Interval from describe()'s min/max, closed or open as the schema says."""
    field = cls.model_fields[row["name"]]
    literal = literal_choices(field.annotation)
    if literal:
        return "one of " + ", ".join(f"`{v}`" for v in literal)
    lo, hi = row["min"], row["max"]
    strict_lo = any(getattr(m, "gt", None) is not None for m in field.metadata)
    strict_hi = any(getattr(m, "lt", None) is not None for m in field.metadata)
    if lo is None and hi is None:
        nested = section_class(field.annotation)
        if nested is not None:
            inner = {bounds_text(nested, r) for r in describe(nested)}
            if len(inner) == 1:
                only = inner.pop()
                return f"each {only}" if only != "—" else "—"
        return "—"
    if lo is not None and hi is not None:
        return f"{'(' if strict_lo else '['}{fmt_num(lo)}, {fmt_num(hi)}{')' if strict_hi else ']'}"
    if lo is not None:
        return f"{'>' if strict_lo else '≥'} {fmt_num(lo)}"
    return f"{'<' if strict_hi else '≤'} {fmt_num(hi)}"


def literal_choices(annotation: Any) -> tuple[Any, ...]:
    if typing.get_origin(annotation) is typing.Literal:
        return typing.get_args(annotation)
    return ()


def section_class(annotation: Any) -> type[Section] | None:
    if isinstance(annotation, type) and issubclass(annotation, Section):
        return annotation
    return None


def is_subsection(annotation: Any) -> bool:
    """A nested Section with a default for every field is a section of its own
    (market.entrants); one without (LandUseNumbers, AreaSpec) is a value."""
    cls = section_class(annotation)
    if cls is None:
        return False
    try:
        cls()
    except Exception:
        return False
    return True


def default_of(cls: type[BaseModel], row: dict[str, Any]) -> Any:
    if row["default"] is not PydanticUndefined:
        return row["default"]
    return cls.model_fields[row["name"]].get_default(call_default_factory=True)


def doc_of(cls: type[BaseModel], name: str, doc: str) -> str:
    """The field's meaning; a subclass that redeclares a field without one inherits it."""
    if doc:
        return doc
    for base in cls.__mro__[1:]:
        fields = getattr(base, "model_fields", {})
        if name in fields and fields[name].description:
            return fields[name].description
    return ""


def cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ").strip() or "—"


def table_rows(prefix: str, cls: type[BaseModel]) -> list[list[str]]:
    rows = []
    for row in describe(cls):
        field = cls.model_fields[row["name"]]
        if is_subsection(field.annotation):
            continue  # documented in its own table
        path = f"{prefix}.{row['name']}" if prefix else row["name"]
        rows.append(
            [
                f"`{path}`",
                f"`{fmt_value(default_of(cls, row))}`",
                bounds_text(cls, row),
                cell(row["unit"]),
                cell(row["source"]),
                cell(doc_of(cls, row["name"], row["doc"])),
            ]
        )
    return rows


def render() -> str:
    header = ["parameter", "default", "bounds", "unit", "source", "meaning"]
    lines = [
        "# Parameters",
        "",
        "<!-- Generated by scripts/gen_params_doc.py from marketsim.scenario. Do not edit by hand:",
        "     change the schema, then run `python scripts/gen_params_doc.py`. -->",
        "",
        "Every scenario parameter, read from the schema in `src/marketsim/scenario.py` "
        "(each declared once with `marketsim.params.param`). A scenario YAML file sets any of "
        "them by its dotted path as nested keys; `marketsim run --set path=value` overrides one "
        "from the command line. Anything not set takes the default below.",
        "",
        "- **bounds**: `[a, b]` closed, `(a, b]` open at `a`; values outside are rejected "
        "with a one-line error naming the field.",
        "- **source**: where the default comes from. `calibration judgement` means no published "
        "figure was used; the number was chosen so that the model reproduces the patterns of "
        "design §9 (see [odd.md](odd.md) §1) and should be covered by sensitivity analysis.",
        "- **defaults** are shown as YAML; `null` means unset.",
        "- How each parameter enters the model is in [odd.md](odd.md) §7; harm weights are "
        "not scenario parameters and are documented in [harms.md](harms.md).",
        "",
    ]
    for prefix, cls, heading, note in SECTIONS + tactic_sections():
        lines += [f"## {heading}", "", note, ""]
        lines.append("| " + " | ".join(header) + " |")
        lines.append("|" + "---|" * len(header))
        for r in table_rows(prefix, cls):
            lines.append("| " + " | ".join(r) + " |")
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="exit 1 if the file is out of date")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output file")
    args = ap.parse_args(argv)
    text = readable(render()) + "\n## Sources\n\n" + references() + "\n"
    if args.check:
        current = args.out.read_text(encoding="utf-8") if args.out.exists() else None
        if current != text:
            why = "is missing" if current is None else "is out of date with the scenario schema"
            print(
                f"{args.out} {why}; regenerate it with: python scripts/gen_params_doc.py",
                file=sys.stderr,
            )
            return 1
        print(f"{args.out} is up to date")
        return 0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8", newline="\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
