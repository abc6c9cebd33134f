"""Pilot files: the tactic, where, for how long, and how the evaluation will observe it.

The measures are the observable ones of UKDPC 2009, App. C and Box B. Each is a
count of true events in the model, of which only a reporting fraction is
recorded, or a survey share. Reporting rates are parameters; their defaults
and sources are in `MEASURES`.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from marketsim.areas import AreaSpec
from marketsim.experiments.spec import apply_set, base_blamed, folder_name, read_spec
from marketsim.measures import MEASURES, MeasureInfo
from marketsim.params import Section, param
from marketsim.scenario import (
    Scenario,
    ScenarioError,
    scenario_from_dict,
)
from marketsim.tactics.schema import CONFIGS


class Measure(Section):
    name: Literal[tuple(MEASURES)] = param(  # type: ignore[valid-type]
        "recorded_acquisitive_crime", unit="-", doc="an observable outcome (see MEASURES)"
    )
    reporting: float | None = param(
        None, gt=0, le=1, unit="share", doc="share of true events recorded (default: MEASURES)"
    )
    respondents: int = param(
        300, ge=10, le=100_000, unit="people per wave per group", doc="survey measures only"
    )

    @property
    def info(self) -> MeasureInfo:
        return MEASURES[self.name]

    @property
    def rate(self) -> float:
        return self.reporting if self.reporting is not None else self.info.reporting


class Pilot(Section):
    name: str = param("pilot", unit="-", doc="short name, used in reports")
    description: str = param("", unit="-", doc="the question the pilot answers")
    scenario: str = param("", unit="-", doc="tactic scenario, relative to this file")
    tactics: list[dict[str, Any]] | None = param(
        None, unit="-", doc="replace the scenario's tactics (standard patrol is kept)"
    )
    set: list[str] = param([], unit="-", doc="fixed overrides, --set form")
    pilot_areas: list[AreaSpec] = Field(description="where the pilot runs (one tactic per area)")
    comparison_areas: list[AreaSpec] = Field(
        default_factory=list, description="comparison areas (needed for design 'did')"
    )
    buffer_width: int = param(2, ge=1, le=20, unit="cells", doc="ring watched for displacement")
    start: int = param(182, ge=1, le=3650, unit="day", doc="first pilot day after burn-in")
    before_days: int = param(182, ge=7, le=3650, unit="days", doc="observed before the start")
    duration: int = param(182, ge=7, le=3650, unit="days", doc="planned pilot length")
    follow_up_days: int = param(
        90, ge=0, le=3650, unit="days", doc="run on after the pilot, for lagged harms and costs"
    )
    durations: list[int] | None = param(
        None, unit="days", doc="power curve (default: 1/4 to 2x the planned duration)"
    )
    design: Literal["did", "before_after"] = param(
        "did", unit="-", doc="difference-in-differences, or before/after without comparison"
    )
    alpha: float = param(0.05, gt=0, lt=0.5, unit="-", doc="significance level (two-sided)")
    power_target: float = param(0.8, gt=0, lt=1, unit="-", doc="power to size the pilot for")
    measures: list[Measure] = Field(
        default_factory=lambda: [Measure(name=n) for n in MEASURES],
        description="how the evaluation observes the pilot",
    )
    primary: str = param(
        "recorded_acquisitive_crime", unit="-", doc="the measure the pilot is sized on"
    )
    replicates: int = param(100, ge=2, le=100_000, unit="runs", doc="simulated pilots per arm")
    seed: int = param(1, ge=0, le=2**32 - 1, unit="-", doc="root seed; replicate r uses seed + r")

    _name_is_a_name = field_validator("name")(folder_name)

    @model_validator(mode="after")
    def _consistent(self) -> Pilot:
        if not self.pilot_areas:
            raise ValueError("pilot_areas: bad value []: name at least one pilot area")
        if self.design == "did" and not self.comparison_areas:
            raise ValueError(
                "comparison_areas: bad value []: design 'did' needs comparison areas "
                "(or use design: before_after)"
            )
        if self.before_days > self.start:
            raise ValueError(
                f"before_days: bad value {self.before_days}: the before period cannot start "
                f"before the end of burn-in (allowed: <= start, {self.start})"
            )
        bad = [d for d in self.durations or [] if not 7 <= d <= 3650]
        if bad:
            raise ValueError(
                f"durations: bad value {bad[0]}: a pilot length (allowed: 7 to 3650 days)"
            )
        names = [m.name for m in self.measures]
        for j, name in enumerate(names):
            if name in names[:j]:
                raise ValueError(
                    f"measures[{j}].name: bad value {name!r}: measures[{names.index(name)}] "
                    "is the same measure (allowed: each measure once)"
                )
        if self.primary not in names:
            raise ValueError(f"primary: bad value {self.primary!r} (allowed: one of {names})")
        return self

    def candidate_durations(self) -> list[int]:
        if self.durations:
            return sorted(set(self.durations))
        weeks = max(1, self.duration // 7)
        return sorted({max(7, 7 * round(weeks * f)) for f in (0.25, 0.5, 0.75, 1, 1.5, 2)})


# Fields read only by the analysis and report (the rest reach the runs).
PILOT_REPORT_ONLY = {
    "name",
    "description",
    "scenario",
    "set",
    "tactics",
    "alpha",
    "power_target",
    "measures",
    "primary",
}


class LoadedPilot:
    """A validated pilot with the 'on' and 'off' scenarios it compares."""

    def __init__(self, spec: Pilot, source: Path, base: dict[str, Any]):
        self.spec = spec
        self.source = source
        self.base = base  # scenario mapping with set overrides and watched areas
        self.pilot_tactics = [t for t in base["tactics"] if not CONFIGS[t["type"]].acts_in_burn_in]
        self.off = copy.deepcopy(base)
        self.off["tactics"] = [t for t in base["tactics"] if CONFIGS[t["type"]].acts_in_burn_in]
        self.on = copy.deepcopy(self.off)
        for i, area in enumerate(spec.pilot_areas, start=1):
            for t in self.pilot_tactics:
                part = copy.deepcopy(t)
                part["name"] = f"{t.get('name') or t['type']}_area{i}"
                part["area"] = area.model_dump(mode="json", exclude_none=True)
                part["start"] = spec.start
                part["duration"] = spec.duration
                self.on["tactics"].append(part)
        self.pilot_regions = [f"pilot{i}" for i in range(1, len(spec.pilot_areas) + 1)]
        self.comparison_regions = [
            f"comparison{i}" for i in range(1, len(spec.comparison_areas) + 1)
        ]
        self.buffer_regions = [f"{r}_buffer" for r in self.pilot_regions]

    @property
    def name(self) -> str:
        return self.spec.name

    def scenario(self, arm: str, seed: int) -> Scenario:
        data = self.on if arm == "on" else self.off
        return scenario_from_dict(data, source=str(self.source), overrides=[f"seed={seed}"])

    def digest(self) -> str:
        """A hash of what determines the runs: fixing a report-only field (the name,
        the significance level, the measures' reporting rates) keeps finished runs."""
        runs = self.spec.model_dump(mode="json", exclude=PILOT_REPORT_ONLY)
        text = json.dumps({"spec": runs, "on": self.on, "off": self.off}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def _check_areas_apart(pilot: LoadedPilot) -> None:
    """Build the pilot town (as the first run will) and refuse a comparison area that
    shares cells with a pilot area (it would be compared with itself), or two pilot
    areas that share cells."""
    from marketsim.model import MarketModel

    town = MarketModel(pilot.scenario("on", pilot.spec.seed)).town
    masks = [town.area_mask(a, f"pilot_areas[{i}]") for i, a in enumerate(pilot.spec.pilot_areas)]
    for k, area in enumerate(pilot.spec.pilot_areas):
        for i in range(k):  # two areas' tactics would both act on the shared cells
            shared = int((masks[i] & masks[k]).sum())
            if shared:
                raise ScenarioError(
                    f"{pilot.source}: pilot_areas[{k}]: bad value "
                    f"{area.model_dump(mode='json', exclude_none=True)}: shares {shared} cell(s) "
                    f"with pilot_areas[{i}] (allowed: pilot areas apart from one another)"
                )
    for j, comparison in enumerate(pilot.spec.comparison_areas):
        theirs = town.area_mask(comparison, f"comparison_areas[{j}]")
        for i, mask in enumerate(masks):
            shared = int((theirs & mask).sum())
            if shared:
                raise ScenarioError(
                    f"{pilot.source}: comparison_areas[{j}]: bad value "
                    f"{comparison.model_dump(mode='json', exclude_none=True)}: shares {shared} cell(s) with "
                    f"pilot_areas[{i}] (allowed: areas apart from every pilot area)"
                )


def _check_built_on(base: dict[str, Any], path: Path, scenario: str) -> None:
    """The scenario's tactics (a list of mappings) and evaluation (a mapping), which the
    pilot adds to, have their shapes: else the schema's error, naming the scenario file
    (`tactics: null` there was a traceback, and `tactics: text` read letter by letter)."""
    tactics, evaluation = base.get("tactics", []), base.get("evaluation", {})
    if (
        isinstance(tactics, list)
        and all(isinstance(t, dict) for t in tactics)
        and isinstance(evaluation, dict)
    ):
        return
    target = Path(os.path.normpath(path.parent / scenario))
    scenario_from_dict(base, source=f"{target} (the scenario of {path})")


def load_pilot(path: str | Path, replicates: int | None = None) -> LoadedPilot:
    """Read and check a pilot file; raises ScenarioError naming the file and field.

    `replicates` replaces the file's `replicates` (the --replicates option).
    """
    path = Path(path)
    spec, base = read_spec(path, Pilot)
    _check_built_on(base, path, spec.scenario)
    if replicates is not None:
        if not 2 <= replicates <= 100_000:
            raise ScenarioError(
                f"{path}: --replicates: bad value {replicates}: a pilot needs at least 2 "
                "simulated pilots per arm (allowed: 2 to 100,000)"
            )
        spec = spec.model_copy(update={"replicates": replicates})
    kept: list[Any] = []
    if spec.tactics is not None:
        kept = [t for t in base.get("tactics", []) if t.get("type") == "standard_patrol"]
        base["tactics"] = kept + copy.deepcopy(spec.tactics)
    base.setdefault("tactics", [{"type": "standard_patrol"}])
    apply_set(base, spec.set, path)
    base["steps"] = spec.start + spec.duration + spec.follow_up_days
    watch: dict[str, Any] = {}
    for prefix, areas in (("pilot", spec.pilot_areas), ("comparison", spec.comparison_areas)):
        for i, area in enumerate(areas, start=1):
            watch[f"{prefix}{i}"] = area.model_dump(mode="json", exclude_none=True)
    for i, area in enumerate(spec.pilot_areas, start=1):
        watch[f"pilot{i}_buffer"] = {
            **area.model_dump(mode="json", exclude_none=True),
            "ring": spec.buffer_width,
        }
    base.setdefault("evaluation", {})["watch"] = watch
    try:
        # tactics[i] counts in the pilot scenario's list: the except below names it as
        # the pilot file (after the scenario's standard patrols) or the scenario has it
        for i, t in enumerate(base["tactics"]):
            if not isinstance(t, dict) or t.get("type") not in CONFIGS:
                kind = t.get("type") if isinstance(t, dict) else t
                raise ScenarioError(
                    f"{path}: tactics[{i}].type: bad value {kind!r}: each tactic needs a type "
                    f"(allowed: {', '.join(CONFIGS)})"
                )
        # The tactics as given, before each is copied into every pilot area (an error
        # in a copy would name the pilot scenario's tactics[2], twice).
        scenario_from_dict(base, source=str(path))
        loaded = LoadedPilot(spec, path, base)
        if not loaded.pilot_tactics:
            raise ScenarioError(
                f"{path}: scenario: bad value {spec.scenario!r}: it has no tactic to pilot "
                "besides standard patrol (add one, or give 'tactics')"
            )
        for i, t in enumerate(base["tactics"]):
            if t in loaded.pilot_tactics and "area" not in CONFIGS[t["type"]].model_fields:
                with_area = [k for k, c in CONFIGS.items() if "area" in c.model_fields]
                rule = (
                    "this tactic has no area, so it cannot be piloted in chosen areas "
                    f"(allowed: {', '.join(with_area)})"
                )
                if spec.tactics is None:  # the scenario's own tactic
                    raise ScenarioError(
                        f"{path}: scenario: bad value {spec.scenario!r}: its tactics[{i}] is "
                        f"{t['type']!r}: {rule}; or give 'tactics'"
                    )
                raise ScenarioError(f"{path}: tactics[{i}].type: bad value {t['type']!r}: {rule}")
        loaded.scenario("off", spec.seed)  # fail now, not in a worker
        _check_areas_apart(loaded)
    except ScenarioError as exc:
        blamed = base_blamed(exc, path, spec.scenario, spec.set)
        if blamed is not exc:  # a set: entry's, or the scenario file's own value
            raise ScenarioError(_as_written(str(blamed))) from None
        text = _as_written(str(exc))
        if kept:  # the file's tactics[0] comes after the scenario's standard patrols
            text = re.sub(
                r"\btactics\[(\d+)\]",
                lambda m: f"tactics[{int(m.group(1)) - len(kept)}]",
                text,
            )
        raise ScenarioError(text if text.startswith(str(path)) else f"{path}: {text}") from None
    return loaded


def _as_written(text: str) -> str:
    """Name an area as the pilot file does (pilot_areas[0]), not as the scenario it is
    built into watches it (evaluation.watch.pilot1)."""
    return re.sub(
        r"evaluation\.watch\.(pilot|comparison)(\d+)(?:_buffer)?",
        lambda m: f"{m.group(1)}_areas[{int(m.group(2)) - 1}]",
        text,
    )
