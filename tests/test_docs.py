"""The generated parameter reference stays in step with the scenario schema."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

from pydantic import BaseModel

from marketsim.params import Section
from marketsim.scenario import Scenario
from marketsim.tactics.registry import TACTICS
from tests.conftest import ROOT

GENERATOR = ROOT / "scripts" / "gen_params_doc.py"
PARAMETERS_MD = ROOT / "docs" / "parameters.md"


def _is_section(annotation: object) -> bool:
    """A nested Section with a default for every field (e.g. market.entrants) is walked
    into; one without (LandUseNumbers, AreaSpec) is a single parameter."""
    if not (isinstance(annotation, type) and issubclass(annotation, Section)):
        return False
    try:
        annotation()
    except Exception:
        return False
    return True


def schema_paths(cls: type[BaseModel], prefix: str = "") -> Iterator[str]:
    for name, field in cls.model_fields.items():
        path = f"{prefix}.{name}" if prefix else name
        if _is_section(field.annotation):
            yield from schema_paths(field.annotation, path)
        else:
            yield path


def all_parameter_paths() -> list[str]:
    paths = list(schema_paths(Scenario))
    for kind in sorted(TACTICS):
        paths += list(schema_paths(TACTICS[kind].Config, "tactics.<i>"))
    return paths


def test_parameters_md_is_current() -> None:
    result = subprocess.run(
        [sys.executable, str(GENERATOR), "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, (
        f"docs/parameters.md is stale: {result.stderr.strip() or result.stdout.strip()}"
    )


def test_every_schema_parameter_is_documented() -> None:
    text = PARAMETERS_MD.read_text(encoding="utf-8")
    paths = all_parameter_paths()
    assert len(paths) > 100  # the walk really reached the sections
    missing = [p for p in paths if f"`{p}`" not in text]
    assert not missing, f"not in docs/parameters.md: {', '.join(missing)}"
