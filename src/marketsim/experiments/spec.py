"""Experiment files: what to vary (levers and uncertainties), how, and what to keep.

An experiment names a base scenario, the parameters to vary by dotted path (the
same paths `--set` takes; a tactic may be addressed by its name or type, as in
`tactics.crackdown.intensity`), a design, the replicates and the outcomes.
Like scenarios, a bad file gets one line naming the file, the field, the value
and what is allowed.
"""

from __future__ import annotations

import copy
import difflib
import hashlib
import json
import math
import os
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator

from marketsim.params import Section, param
from marketsim.scenario import (
    Scenario,
    ScenarioError,
    apply_override,
    by_index,
    format_validation_error,
    parse_override,
    read_yaml,
    refuse_set_by_runs,
    scenario_from_dict,
    strip_source,
)

SIZED = ("lhs", "sobol", "morris", "emulator")  # designs whose size is `design.samples`
EMULATOR_MIN_POINTS = 10  # fewer cannot be cross-validated in 5 folds and still fit
METHODS = ("factorial", "lhs", "list", "sobol", "morris", "emulator")


def folder_name(name: str) -> str:
    """An experiment or pilot name, which is also its folder under out/: a name, not a path."""
    if (
        not name.strip()
        or name.startswith(".")
        or any(c in name for c in "/\\:")
        or not name.isprintable()
    ):
        raise ValueError(
            f"name: bad value {name!r}: a name becomes a folder under out/ (allowed: "
            "printable text without / \\ or :, not empty, not starting with '.')"
        )
    return name


class Parameter(Section):
    """One parameter to vary: a range (for sampled designs) or a list of values."""

    path: str = param("", unit="-", doc="dotted path into the scenario, as --set takes it")
    range: tuple[float, float] | None = param(
        None, unit="parameter's unit", doc="[low, high] for lhs, sobol and morris"
    )
    values: list[Any] | None = param(
        None, unit="parameter's unit", doc="explicit values for a factorial design"
    )
    steps: int | None = param(
        None, ge=2, le=1000, unit="levels", doc="factorial: split the range into this many levels"
    )
    kind: Literal["auto", "int", "float"] = param(
        "auto", unit="-", doc="int rounds sampled values; auto follows the scenario's value"
    )

    @model_validator(mode="after")
    def _one_spec(self) -> Parameter:
        if not self.path:  # "." : named after its place in the list (format_validation_error)
            raise ValueError(".path: bad value '': every parameter needs a dotted path")
        if self.path.strip() == "seed":  # each run's own seed would replace it in silence
            raise ValueError(
                "parameters.seed: bad value 'seed': each run's seed is the file's seed plus "
                "its replicate number (allowed: another parameter; replicates give more seeds)"
            )
        if (self.range is None) == (self.values is None):
            field, value = ("range", None) if self.range is None else ("values", self.values)
            raise ValueError(
                f"parameters.{self.path}.{field}: bad value {value}: give exactly one of "
                "'range' or 'values'"
            )
        if self.range is not None and not self.range[0] < self.range[1]:
            raise ValueError(
                f"parameters.{self.path}.range: bad value {list(self.range)}: low must be below high"
            )
        if self.values is not None and not self.values:
            raise ValueError(f"parameters.{self.path}.values: bad value []: list at least one")
        return self


class Design(Section):
    method: Literal["factorial", "lhs", "list", "sobol", "morris", "emulator"] = param(
        "factorial", unit="-", doc="how parameter points are chosen"
    )
    samples: int = param(
        16,
        ge=1,
        le=100_000,
        unit="points",
        doc="lhs, emulator: points; sobol: base sample N (a power of 2); morris: trajectories",
    )
    second_order: bool = param(True, unit="-", doc="sobol: also estimate second-order indices")
    levels: int = param(4, ge=2, le=20, unit="levels", doc="morris: grid levels (even)")
    noise_runs: int = param(
        10,
        ge=0,
        le=1000,
        unit="runs",
        doc="sobol/morris: extra runs at the centre of the ranges, each on a seed of its own, "
        "to measure run-to-run noise (0: none)",
    )
    points: list[dict[str, Any]] = Field(
        default_factory=list, description="list: explicit points, each a mapping path -> value"
    )


class Outcomes(Section):
    metrics: list[str] | None = param(
        None, unit="-", doc="outcome columns to keep (default: all summary outcomes)"
    )
    timeseries: bool = param(False, unit="-", doc="also keep daily key metrics per region")
    analyse: list[str] = param(
        ["all.net_harm_gbp"],
        unit="-",
        doc="sensitivity: outcomes to analyse (the first is the headline)",
    )


class Experiment(Section):
    name: str = param("experiment", unit="-", doc="short name, used in reports")
    description: str = param("", unit="-", doc="what question this experiment answers")
    scenario: str = param("", unit="-", doc="base scenario file, relative to this file")
    set: list[str] = param([], unit="-", doc="fixed overrides applied to every run (--set form)")
    tactics: list[dict[str, Any]] | None = param(
        None, unit="-", doc="replace the base scenario's tactics with these"
    )
    seed: int = param(
        2026, ge=0, le=2**32 - 1, unit="-", doc="root seed; replicate r uses seed + r"
    )
    replicates: int = param(1, ge=1, le=10_000, unit="runs", doc="seeds per parameter point")
    parameters: list[Parameter] = Field(default_factory=list)
    design: Design = Field(default_factory=Design)
    outcomes: Outcomes = Field(default_factory=Outcomes)

    _name_is_a_name = field_validator("name")(folder_name)

    @model_validator(mode="after")
    def _design_fits(self) -> Experiment:
        m = self.design.method
        paths = [p.path for p in self.parameters]
        dup = {p for p in paths if paths.count(p) > 1}
        if dup:
            raise ValueError(f"parameters: bad value {sorted(dup)}: each path may appear once")
        if m in SIZED:
            if not self.parameters:
                raise ValueError(f"parameters: bad value []: design {m!r} needs parameters")
            for p in self.parameters:
                if p.range is None:
                    raise ValueError(
                        f"parameters.{p.path}: bad value {p.values}: design {m!r} needs a 'range'"
                    )
        if m == "factorial":
            for p in self.parameters:
                if p.values is None and p.steps is None:
                    raise ValueError(
                        f"parameters.{p.path}: bad value {list(p.range or ())}: "
                        "a factorial range needs 'steps' (or give 'values')"
                    )
        if m == "list" and not self.design.points:
            raise ValueError("design.points: bad value []: design 'list' needs points")
        if m == "sobol" and self.design.samples & (self.design.samples - 1):
            raise ValueError(
                f"design.samples: bad value {self.design.samples}: Sobol needs a power of 2"
            )
        if m == "emulator" and self.design.samples < EMULATOR_MIN_POINTS:
            raise ValueError(
                f"design.samples: bad value {self.design.samples}: the emulator needs at least "
                f"{EMULATOR_MIN_POINTS} points (about 10 per parameter to learn much)"
            )
        if m == "emulator" and self.replicates < 2:
            raise ValueError(
                f"replicates: bad value {self.replicates}: design 'emulator' needs at least 2 "
                "(the spread between replicates measures the run-to-run noise)"
            )
        if m == "morris" and self.design.levels % 2:
            raise ValueError(f"design.levels: bad value {self.design.levels}: Morris needs even")
        return self


class LoadedExperiment:
    """A validated experiment with its base scenario resolved and every path checked."""

    def __init__(self, spec: Experiment, source: Path, base: dict[str, Any], resized: bool = False):
        self.spec = spec
        self.source = source
        self.base = base  # the scenario mapping with fixed overrides and tactics applied
        self.resized = resized  # design.samples replaced by --samples
        resolved = self.scenario({}, spec.seed).resolved()  # defaults filled in: the real types
        self.kinds = {p.path: _kind(p, resolved) for p in spec.parameters}

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def default_out(self) -> Path:
        """out/<name>; out/<name>-n<samples> when --samples resized the design."""
        if self.resized:
            return Path("out") / f"{self.name}-n{self.spec.design.samples}"
        return Path("out") / self.name

    @staticmethod
    def overrides(point: dict[str, Any]) -> list[str]:
        """A design point as --set overrides (values as JSON, which YAML reads back exactly)."""
        return [f"{path}={json.dumps(value)}" for path, value in point.items()]

    def scenario(self, point: dict[str, Any], seed: int) -> Scenario:
        """The scenario for one point of the design and one seed."""
        return scenario_from_dict(
            self.base, source=str(self.source), overrides=[*self.overrides(point), f"seed={seed}"]
        )

    def digest(self) -> str:
        """A hash of what determines the runs, and only that: fixing a report-only field
        (name, description, outcomes.analyse) keeps the finished runs usable."""
        runs = self.spec.model_dump(mode="json", exclude=REPORT_ONLY)
        text = json.dumps({"spec": runs, "base": self.base}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


# Fields that change the report but not a single run (`set`, `tactics` and `scenario`
# reach the runs through `base`, which the digest covers).
REPORT_ONLY = {
    "name": True,
    "description": True,
    "scenario": True,
    "set": True,
    "tactics": True,
    "outcomes": {"analyse"},
}


def _kind(p: Parameter, resolved: dict[str, Any]) -> str:
    """int or float for sampled ranges (from the scenario's own value); any for value lists."""
    if p.kind != "auto":
        return p.kind
    if p.range is None:
        return "any"
    value = _lookup(resolved, p.path)
    if isinstance(value, int) and not isinstance(value, bool):
        return "int"
    if value is None and all(float(b).is_integer() for b in p.range):
        return "int"  # an optional integer field left unset
    return "float"


def _lookup(data: dict[str, Any], path: str) -> Any:
    node: Any = data
    for part in path.split("."):
        if isinstance(node, list):
            node = _find_in_list(node, part)
        elif isinstance(node, dict):
            node = node.get(part)
        else:
            return None
        if node is None:
            return None
    return node


def _find_in_list(node: list, part: str) -> Any:
    if part.lstrip("-").isdigit():
        i = int(part)
        return node[i] if -len(node) <= i < len(node) else None
    for item in node:
        if isinstance(item, dict) and part in (item.get("name"), item.get("type")):
            return item
    return None


def read_spec(path: Path, cls: type[Section]) -> tuple[Any, dict[str, Any]]:
    """Validate an experiment or pilot file and read the scenario it names (relative to it)."""
    kind = "experiment" if cls is Experiment else "pilot"
    takes = "a sweep or sensitivity file, in YAML" if cls is Experiment else "a pilot file, in YAML"
    data = read_yaml(path, takes=takes, kind=kind)
    try:
        spec = cls.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(format_validation_error(exc, str(path), cls, data)) from None
    if not spec.scenario:
        raise ScenarioError(f"{path}: scenario: bad value '': name the scenario file")
    target = (path.parent / spec.scenario).resolve()
    if not target.is_file():
        raise ScenarioError(
            f"{path}: scenario: bad value {spec.scenario!r}: no file {str(target)!r} "
            f"(the path is relative to the folder of {path.name})"
        )
    return spec, scenario_mapping(target)


def base_blamed(
    exc: ScenarioError, path: Path, scenario: str, sets: list[str] = ()
) -> ScenarioError:
    """Name where a bad value was given: an entry of the experiment's (or pilot's) own
    `set:` list ('exp.yaml (set: town.width=10): regions.target.centre: ...', where the
    field is the one in conflict with it), or else the base scenario file when the value
    is that file's own (not one the experiment's `set:`, `tactics:` or design gives it):
    it is the file to edit, named as the experiment names it."""
    target = Path(os.path.normpath(path.parent / scenario))
    labels = {t: f"set: {t}" for t in sets}
    return blame_given(exc, path, target, labels, f"the scenario of {path}") or exc


def blame_given(
    exc: ScenarioError, source: Path, base: Path, labels: dict[str, str], relation: str
) -> ScenarioError | None:
    """Where a file built on a scenario file (an experiment, pilot or calibration: `source`)
    gave the bad value `exc` reports: the scenario file `base` is validated again with the
    overrides `source` makes, each labelled as the user wrote it (`labels`, as
    scenario_from_dict's options); the same error blamed on one of them is returned as it
    is ('exp.yaml (set: town.width=10): ...'). Else, when `base` alone gives the error, the
    value is that file's own: 'base.yaml (relation): ...'. None when neither."""
    text = strip_source(exc, str(source))
    try:
        scenario_from_dict(scenario_mapping(base), source=str(source), options=labels)
    except ScenarioError as again:
        if str(again).startswith(f"{source} (") and strip_source(again, str(source)) == text:
            return again
    try:
        scenario_from_dict(scenario_mapping(base), source=str(base))
    except ScenarioError as own:
        if strip_source(own, str(base)) == text:
            return ScenarioError(f"{base} ({relation}): {text}")
    return None


def load_experiment(path: str | Path, samples: int | None = None) -> LoadedExperiment:
    """Read, validate and resolve an experiment file; raises ScenarioError on any problem.

    `samples` replaces the file's `design.samples` (the --samples option): a quick,
    smaller pass over the same experiment before committing to the full design.
    """
    path = Path(path)
    spec, base = read_spec(path, Experiment)
    if samples is not None:
        spec = _resized(spec, samples, path)
    _check_size(spec, path, samples)
    if spec.tactics is not None:
        base["tactics"] = copy.deepcopy(spec.tactics)
    apply_set(base, spec.set, path)
    try:
        loaded = LoadedExperiment(spec, path, base, resized=samples is not None)
    except ScenarioError as exc:
        raise base_blamed(exc, path, spec.scenario, spec.set) from None
    _check_points(loaded)
    _check_outcomes(loaded)
    return loaded


def check_builds(scenario: Scenario, source: str | Path, overrides: list[str] = ()) -> None:
    """Build the town and agents as a run's first step does, so what only the build finds
    (raster problems, a buffer that leaves no control area) fails now, naming the file,
    or the last of `overrides` (--set) that changed the town or the regions."""
    from marketsim.model import MarketModel

    try:
        MarketModel(scenario)
    except ScenarioError as exc:
        raise ScenarioError(built_label(exc, source, overrides, scenario)) from None


def built_label(
    exc: ScenarioError,
    source: str | Path,
    overrides: list[str] = (),
    scenario: Scenario | None = None,
) -> str:
    """A problem only building the town finds, labelled with the file, or with the last
    --set that changed the town or the regions (it made the problem, or took part), or
    that gave the field in error (`--set tactics.1.area.centre=[99,5]`, a tactic named or
    numbered: `scenario` tells names from numbers)."""
    text = _strip(exc, Path(source))
    field = [p for p in re.split(r"[.\[\]]", text.split(": ", 1)[0]) if p]
    data = scenario.model_dump(mode="json") if scenario is not None else None
    made = []
    for o in overrides:
        keys = [k.strip() for k in o.split("=", 1)[0].split(".")]
        if keys[0] not in BUILT and data is not None:
            try:
                keys = by_index(data, keys)
            except ScenarioError:  # a tactic named by a name the --set itself changed
                continue
            n = min(len(keys), len(field))
            if keys[:n] != field[:n]:
                continue
        elif keys[0] not in BUILT:
            continue
        made.append(o)
    label = f"{source} (--set {made[-1]})" if made else str(source)
    return f"{label}: {text}"


def outcome_names(scenario: Scenario) -> list[str]:
    """The outcome columns a run of this scenario records, from a one-day run of it
    (they depend on its regions, watched areas and harm profiles, not on its length)."""
    from marketsim.experiments.outcomes import summary_outcomes
    from marketsim.io import simulate

    probe = scenario.model_copy(update={"steps": 1, "burn_in": 0})
    _model, _ts, summary = simulate(probe)
    return list(summary_outcomes(summary))


def _check_outcomes(exp: LoadedExperiment) -> None:
    """Every outcome named in outcomes.metrics and outcomes.analyse exists: a typo
    fails now, not as blank columns or after every run has finished."""
    out = exp.spec.outcomes
    try:
        names = outcome_names(exp.scenario({}, exp.spec.seed))
    except ScenarioError as exc:  # from building the town: a raster, a region
        raise ScenarioError(f"{exp.source}: {_strip(exc, exp.source)}") from None
    analysed = exp.spec.design.method in ("sobol", "morris") or "analyse" in out.model_fields_set
    for field, wanted, allowed in (
        ("metrics", out.metrics or [], names),
        ("analyse", out.analyse if analysed else [], out.metrics or names),
    ):
        for name in wanted:
            if name not in allowed:
                close = difflib.get_close_matches(name, allowed, n=3, cutoff=0.6)
                hint = f"did you mean {', '.join(close)}?" if close else f"e.g. {allowed[0]}"
                kept = "one of outcomes.metrics" if allowed is not names else "a run's outcome"
                raise ScenarioError(
                    f"{exp.source}: outcomes.{field}: bad value {name!r}: not {kept} "
                    f"(allowed: <region>.<metric>, {len(allowed)} in all; {hint})"
                )


def apply_set(base: dict[str, Any], texts: list[str], path: Path) -> None:
    """Apply a file's `set:` overrides (--set form) to its base scenario mapping."""
    rule = "each run's seed is the file's seed plus its replicate number (allowed: seed: "
    refuse_set_by_runs(texts, f"{path}: set", {"seed": rule + "in the file itself)"})
    for text in texts:
        try:
            keys, value = parse_override(text)
        except ScenarioError as exc:
            raise ScenarioError(f"{path}: set: {exc}") from None
        apply_override(base, keys, value, label=f"{path}: set {text!r}")


def _resized(spec: Experiment, samples: int, path: Path) -> Experiment:
    method = spec.design.method
    if method not in SIZED:
        raise ScenarioError(
            f"{path}: --samples: bad value {samples}: design {method!r} has no sample size "
            f"(only {', '.join(SIZED)} designs do)"
        )
    minimum = EMULATOR_MIN_POINTS if method == "emulator" else 1
    if samples > 100_000:
        raise ScenarioError(f"{path}: --samples: bad value {samples}: allowed at most 100,000")
    if samples < minimum or (method == "sobol" and samples & (samples - 1)):
        allowed = "a power of 2" if method == "sobol" else f"at least {minimum}"
        raise ScenarioError(f"{path}: --samples: bad value {samples}: {method} needs {allowed}")
    design = spec.design.model_copy(update={"samples": samples})
    return spec.model_copy(update={"design": design})


# Far beyond any real sweep (days of runs on a cluster); planning this many runs already
# takes about a minute and a gigabyte. A factorial of three 1,000-step ranges (10^9 runs)
# filled the memory before the first run.
MAX_RUNS = 1_000_000


def _n_levels(p: Parameter) -> int:
    """A factorial parameter's levels: its values, or its steps over the range."""
    return len(p.values) if p.values is not None else p.steps or 1


def run_count(spec: Experiment) -> tuple[int, int]:
    """The design's points and its runs (each point's replicates, and the noise runs),
    counted from the file alone, before any point is made."""
    d, n = spec.design, len(spec.parameters)
    if d.method == "factorial":
        points = math.prod(_n_levels(p) for p in spec.parameters)
    elif d.method == "list":
        points = len(d.points)
    elif d.method == "sobol":  # SALib's Saltelli sample
        points = d.samples * (2 * n + 2 if d.second_order else n + 2)
    elif d.method == "morris":
        points = d.samples * (n + 1)
    else:
        points = d.samples
    noise = d.noise_runs if d.method in ("sobol", "morris") else 0
    return points, points * spec.replicates + noise


def _check_size(spec: Experiment, path: Path, samples: int | None) -> None:
    points, runs = run_count(spec)
    if runs <= MAX_RUNS:
        return
    method = spec.design.method
    if samples is not None:
        field, value = "--samples", f"{samples}"
    elif method in SIZED:
        field, value = "design.samples", f"{spec.design.samples}"
    elif method == "factorial":
        levels = [_n_levels(p) for p in spec.parameters]
        field, value = "parameters", " x ".join(map(str, levels)) + " levels"
    else:
        field, value = "design.points", f"{points:,} points"
    fewer = {"factorial": "values or steps", "list": "points"}.get(method, "samples")
    raise ScenarioError(
        f"{path}: {field}: bad value {value}: {method} design of {points:,} point(s) x "
        f"{spec.replicates} replicate(s) = {runs:,} runs (allowed: at most {MAX_RUNS:,} "
        f"runs; use fewer {fewer} or replicates, or split the experiment)"
    )


def scenario_mapping(path: Path) -> dict[str, Any]:
    """A scenario file as plain data, with a raster path made absolute (runs may be elsewhere)."""
    base = read_yaml(path, takes="a scenario file, in YAML", kind="scenario")
    town = base.get("town")
    if isinstance(town, dict) and isinstance(town.get("raster"), str):
        raster = Path(town["raster"])
        if not raster.is_absolute():
            town["raster"] = str((Path(path).parent / raster).resolve())
    return base


def _check_points(exp: LoadedExperiment) -> None:
    """Build the scenario at every corner value so a bad path or bound fails now, not mid-sweep."""
    spec, src = exp.spec, exp.source
    exp.scenario({}, spec.seed)  # the base itself must be valid
    for p in spec.parameters:
        if p.range is not None and exp.kinds[p.path] == "int":
            low, high = (_whole(b, p, src) for b in p.range)
            if low == high:
                raise ScenarioError(
                    f"{src}: parameters.{p.path}.range: bad value {list(p.range)}: the parameter "
                    f"is a whole number and the range rounds to {low} at every point (allowed: "
                    "a range spanning two whole numbers or more)"
                )
        probes = list(p.range) if p.range is not None else list(p.values or [])
        for value in probes:
            if exp.kinds[p.path] == "int":
                value = _whole(value, p, src)
            try:
                sc = exp.scenario({p.path: value}, spec.seed)
                if p.path.split(".")[0] in BUILT:  # what only building the town finds
                    check_builds(sc, src)
            except ScenarioError as exc:
                raise ScenarioError(
                    f"{src}: parameters.{p.path}: bad value {value!r}: {_strip(exc, src)}"
                ) from None
    for i, point in enumerate(spec.design.points):
        try:
            exp.scenario(point, spec.seed)
        except ScenarioError as exc:
            raise ScenarioError(f"{src}: design.points[{i}]: {_strip(exc, src)}") from None


# Sections whose values only building the town fully checks (a target so wide that it
# leaves no control area): a parameter in them is built at each corner value.
BUILT = ("town", "regions")


def _whole(value: Any, p: Parameter, src: Path) -> int:
    """A value of an integer parameter, rounded; anything but a finite number is refused."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ScenarioError(
            f"{src}: parameters.{p.path}: bad value {value!r}: the parameter is a whole "
            "number (allowed: finite numbers)"
        )
    return int(round(value))


def _strip(exc: ScenarioError, src: Path) -> str:
    return strip_source(exc, str(src)).removeprefix(f"{src} ")
