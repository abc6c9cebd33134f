"""`marketsim calibrate`: pattern-oriented calibration (Grimm et al. 2005, Science 310: 987).

A calibration file names the free parameters (dotted paths, as `--set` takes them, with
a uniform or log-uniform prior over a range), the scenarios the patterns are read from,
the patterns (a scenario, or a pair against a baseline; a region, a metric, a window, a
statistic; a target with a tolerance, or an interval) and the seeds per evaluation.

The search is ABC-SMC in waves (`abc.py`). Each wave is a set of jobs, one per particle,
scenario and seed, run through the usual runners (local, Dask) into a result store of its
own (`<out>/wave-<k>/`), so an interrupted calibration resumes where it stopped. Every
particle is run on the same seeds (common random numbers), so two sets are compared on
the same luck. Patterns are computed with the measures of `marketsim.validation`, the
same code the validation tests use; a scenario the file does not define is looked up in
`validation.RUNS` (the facts' runs: `baseline`, `crackdown`, `raid`, ...).
"""

from __future__ import annotations

import copy
import difflib
import hashlib
import json
import math
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field, ValidationError, model_validator

from marketsim import validation as V
from marketsim.columns import COLUMNS, REGIONS
from marketsim.experiments import abc
from marketsim.experiments.jobs import Job, SeriesSpec
from marketsim.experiments.spec import (
    MAX_RUNS,
    Parameter,
    _kind,
    _lookup,
    blame_given,
    check_builds,
    outcome_names,
    scenario_mapping,
)
from marketsim.params import Name, Section, param
from marketsim.scenario import (
    Scenario,
    ScenarioError,
    apply_override,
    format_validation_error,
    parse_override,
    read_yaml,
    refuse_set_by_runs,
    scenario_from_dict,
    strip_source,
)


# --------------------------------------------------------------------------- the file
class Prior(Parameter):
    """A free parameter: uniform over `range`, or uniform in its logarithm (`scale: log`)."""

    scale: Literal["linear", "log"] = param("linear", unit="-", doc="prior: uniform or log-uniform")

    @model_validator(mode="after")
    def _range_prior(self) -> Prior:
        if self.range is None:
            raise ValueError(
                f"parameters.{self.path}.range: bad value None: a prior needs a 'range' "
                "(allowed: [low, high]; 'values' are for sweeps)"
            )
        if self.path.strip() == "steps":  # each scenario's own steps would replace it in silence
            raise ValueError(
                "parameters.steps: bad value 'steps': each scenario runs its own steps "
                "(scenarios.<key>.steps) (allowed: another parameter)"
            )
        if self.scale == "log" and self.range[0] <= 0:
            raise ValueError(
                f"parameters.{self.path}.range: bad value {list(self.range)}: "
                "a log prior needs a positive low end"
            )
        return self


class RunDef(Section):
    """A scenario the patterns are read from."""

    file: str = param("", unit="path", doc="scenario file, relative to the calibration file")
    steps: int = param(400, ge=1, le=36500, unit="days", doc="recorded days to run")
    set: list[str] = param([], unit="-", doc="overrides for this scenario only (--set form)")


class Pattern(Section):
    """One observed pattern and how the model's figure for it is computed."""

    name: Name = param("", unit="-", doc="short name, used in tables and plots")
    scenario: str = param("baseline", unit="-", doc="a scenario of the file or of validation.RUNS")
    against: str | None = param(None, unit="-", doc="change/difference: the paired baseline")
    region: str = param("all", unit="-", doc="all, target, buffer, control or a watched area")
    metric: str = param("", unit="-", doc="timeseries column (or summary outcome for 'outcome')")
    denominator: str | None = param(None, unit="-", doc="share: the column divided by")
    window: tuple[int, int] | None = param(
        None, unit="recorded days", doc="[first, end) days the statistic covers"
    )
    statistic: Literal[
        "mean", "per_year", "share", "change", "difference", "outcome", "measure"
    ] = param("mean", unit="-", doc="how the window becomes one figure (docs/calibration.md)")
    measure: str | None = param(None, unit="-", doc="measure: a named figure of validation.py")
    target: float | None = param(None, unit="metric's unit", doc="observed value")
    tolerance: float | None = param(
        None, gt=0, unit="metric's unit", doc="a miss this large has distance 1"
    )
    interval: tuple[float | None, float | None] | None = param(
        None, unit="metric's unit", doc="[low, high]: any figure inside meets it (null: open)"
    )
    source: str = param("", unit="-", doc="where the observed value comes from")

    def where(self, index: int) -> str:
        """The pattern as the file has it: its place in the list, and its name to search for
        ("patterns[3] ('1 residual deterrence')")."""
        return pattern_where(index, self.name)

    def check(self, where: str) -> None:
        """The checks across a pattern's fields; `where` names it as the file has it."""
        if not self.name:
            raise ValueError(f"{where}.name: bad value '': every pattern needs a name")
        # nan or inf would make every distance nan, 0 or inf: the search would run on noise
        for field, value in (
            ("target", self.target),
            ("tolerance", self.tolerance),
            ("interval", list(self.interval or ())),
        ):
            bounds = value if isinstance(value, list) else [value]
            if any(b is not None and not math.isfinite(b) for b in bounds):
                raise ValueError(
                    f"{where}.{field}: bad value {value}: allowed: finite numbers"
                    + (" (null for an open end)" if field == "interval" else "")
                )
        if (self.target is None) == (self.interval is None):
            field, value = (
                ("target", None) if self.target is None else ("interval", list(self.interval))
            )
            raise ValueError(
                f"{where}.{field}: bad value {value}: "
                "give exactly one of 'target' (with tolerance) or 'interval'"
            )
        if self.target is not None and self.tolerance is None:
            raise ValueError(f"{where}.tolerance: bad value None: a target needs a tolerance")
        if self.interval is not None:
            lo, hi = self.interval
            if lo is None and hi is None:
                raise ValueError(f"{where}.interval: bad value [null, null]: give a bound")
            if lo is not None and hi is not None and not lo < hi:
                raise ValueError(f"{where}.interval: bad value {[lo, hi]}: low must be below high")
        stat = self.statistic
        if stat == "measure":
            if self.measure not in MEASURES:
                raise ValueError(
                    f"{where}.measure: bad value {self.measure!r} (allowed: {', '.join(MEASURES)})"
                )
            return
        if not self.metric:
            raise ValueError(f"{where}.metric: bad value '': name a column")
        if stat in ("change", "difference") and not self.against:
            raise ValueError(f"{where}.against: bad value None: {stat} pairs against a scenario")
        if stat == "share" and not self.denominator:
            raise ValueError(f"{where}.denominator: bad value None: a share needs a denominator")
        if stat != "outcome" and self.window is None:
            raise ValueError(f"{where}.window: bad value None: {stat} needs [first, end) days")
        if self.window is not None and not 0 <= self.window[0] < self.window[1]:
            raise ValueError(
                f"{where}.window: bad value {list(self.window)}: need 0 <= first < end"
            )

    def distance(self, figure: float) -> float:
        """0 inside an interval, |miss| / tolerance otherwise; at most 1 means met.

        Outside an interval the distance is 1 + miss / scale (scale: the tolerance, else
        the interval's width, else the bound's size or 1), so an interval is met only inside.
        """
        if not math.isfinite(figure):
            return math.inf
        if self.target is not None:
            return abs(figure - self.target) / self.tolerance
        lo, hi = self.interval
        miss = max(0.0, (lo - figure) if lo is not None else 0.0)
        miss = max(miss, (figure - hi) if hi is not None else 0.0)
        if miss == 0.0:
            return 0.0
        return 1.0 + miss / self.scale()

    def scale(self) -> float:
        """The size of a miss that counts as one: the tolerance, else the interval's width,
        else the bound's size (or 1)."""
        if self.tolerance is not None:
            return self.tolerance
        lo, hi = self.interval
        if lo is not None and hi is not None:
            return hi - lo
        return max(abs(lo if lo is not None else hi), 1e-9) or 1.0

    def margin(self, figure: float) -> float:
        """How far inside its target a figure is, in `scale()`s: for an interval the room to
        the nearer bound (negative outside), for a target 1 - |miss| / tolerance (negative
        beyond the tolerance). The larger, the safer a pass."""
        if self.target is not None:
            return 1.0 - abs(figure - self.target) / self.tolerance
        lo, hi = self.interval
        room = min(
            (figure - lo) if lo is not None else math.inf,
            (hi - figure) if hi is not None else math.inf,
        )
        return room / self.scale()

    def wanted(self) -> str:
        if self.target is not None:
            return f"{self.target:g} ± {self.tolerance:g}"
        lo, hi = self.interval
        return f"[{'-inf' if lo is None else f'{lo:g}'}, {'inf' if hi is None else f'{hi:g}'}]"


def pattern_where(index: int, name: Any) -> str:
    """patterns[3] ('1 residual deterrence'): the index to count to, the name to search for."""
    if not isinstance(name, str) or not name:
        return f"patterns[{index}]"
    shown = repr(name if len(name) <= 40 else name[:37] + "...")
    return f"patterns[{index}] ({shown})"


class Search(Section):
    population: int = param(40, ge=1, le=100_000, unit="parameter sets", doc="particles a wave")
    waves: int = param(4, ge=1, le=100, unit="waves", doc="waves of ABC-SMC")
    quantile: float = param(
        0.5, gt=0, le=1, unit="fraction", doc="a wave keeps this share of its closest sets"
    )
    pinned: float = param(
        0.5,
        gt=0,
        le=1,
        unit="fraction of prior range",
        doc="a parameter is 'pinned down' when its 90% posterior interval is narrower than this",
    )


class Calibration(Section):
    name: str = param("calibration", unit="-", doc="short name, used in reports")
    description: str = param("", unit="-", doc="what is being fitted, to what")
    scenario: str = param(
        "../scenarios/baseline.yaml", unit="path", doc="the scenario the best set is written into"
    )
    set: list[str] = param([], unit="-", doc="overrides applied to every run (--set form)")
    seed: int = param(2026, ge=0, le=2**32 - 1, unit="-", doc="root seed; replicate r: seed + r")
    replicates: int = param(2, ge=1, le=1000, unit="runs", doc="seeds per parameter set")
    parameters: list[Prior] = Field(default_factory=list)
    scenarios: dict[str, RunDef] = Field(default_factory=dict)
    patterns: list[Pattern] = Field(default_factory=list)
    search: Search = Field(default_factory=Search)

    @model_validator(mode="after")
    def _names(self) -> Calibration:
        if not self.parameters:
            raise ValueError("parameters: bad value []: name at least one free parameter")
        if not self.patterns:
            raise ValueError("patterns: bad value []: name at least one pattern")
        for field, items in (
            ("parameters", [p.path for p in self.parameters]),
            ("patterns", [p.name for p in self.patterns]),
        ):
            dup = sorted({x for x in items if items.count(x) > 1})
            if dup:
                raise ValueError(f"{field}: bad value {dup}: each may appear once")
        for i, p in enumerate(self.patterns):
            p.check(p.where(i))
        return self


# ------------------------------------------------------------------ the facts' measures
def _iceberg_open_share(runs) -> V.Interval:
    return V.open_share_change(runs, "iceberg", 150, 400)


def _harm_vs_volume(runs) -> V.Interval:
    return V.harm_ranking_vs_volume(runs, "net_harm")


# Named figures of marketsim.validation (name -> function, the runs it needs besides baseline).
MEASURES: dict[str, tuple[Callable[[Any], V.Interval], tuple[str, ...]]] = {
    "crackdown_decay_during": (V.crackdown_decay_during, ("crackdown",)),
    "crackdown_decay_after": (V.crackdown_decay_after, ("crackdown",)),
    "raid_fade": (V.raid_fade, ("raid",)),
    "displacement_share": (V.displacement_share, ("crackdown",)),
    "iceberg_open_share_change": (_iceberg_open_share, ("iceberg",)),
    "harm_vs_volume_net_harm": (_harm_vs_volume, ("removal_by_harm", "removal_by_volume")),
}
MEASURE_COLUMNS = ("open_sales", "sales", "net_harm")


# -------------------------------------------------------------------- loading the file
@dataclass
class RunPlan:
    """One scenario of a calibration: its mapping (fixed overrides applied), steps, overrides."""

    base: dict[str, Any]
    steps: int
    overrides: tuple[str, ...]
    # For errors only: the scenario file, and each fixed override with where it was given.
    file: Path | None = None
    fixed: tuple[tuple[str, str], ...] = ()
    where: str = ""  # scenarios.<key>, or the built-in run's name

    def scenario(self, source: str) -> Scenario:
        """The scenario with its own set: applied (it may mend a value of the file), before
        any parameter set, steps or seed."""
        return scenario_from_dict(self.base, source=source, overrides=list(self.overrides))


class LoadedCalibration:
    """A validated calibration with every scenario resolved and every path checked."""

    def __init__(self, spec: Calibration, source: Path, runs: dict[str, RunPlan], resized: bool):
        self.spec = spec
        self.source = source
        self.runs = runs  # only the scenarios some pattern needs, in a fixed order
        self.resized = resized
        key, first = next(iter(runs.items()))
        try:
            resolved = first.scenario(str(source)).resolved()
        except ScenarioError as exc:
            raise _relabelled(exc, source, key, first) from None
        self.kinds = {p.path: _kind(p, resolved) for p in spec.parameters}

    @property
    def default_out(self) -> Path:
        """out/<name>; out/<name>-n<sets>x<seeds> for a quick pass (it needs runs of its own)."""
        if self.resized:
            s = self.spec
            return Path("out") / f"{s.name}-n{s.search.population}x{s.replicates}"
        return Path("out") / self.spec.name

    def values(self, unit: np.ndarray) -> dict[str, Any]:
        """A point of the unit box as parameter values (log priors, integers rounded)."""
        return to_values(self.spec.parameters, self.kinds, unit)

    def digest(self) -> str:
        """What a wave's runs compute and keep: the runs, seeds, priors and the columns and
        outcomes stored. A wave's own points are hashed with it (run_calibrate), so more
        waves or another population reuse whatever still matches. Targets, tolerances,
        statistics and the search settings are left out: changing them re-scores the
        finished runs instead of repeating them."""
        spec = self.spec
        data = {
            "runs": {k: [r.base, r.steps, r.overrides] for k, r in self.runs.items()},
            "seed": spec.seed,
            "replicates": spec.replicates,
            "parameters": [p.model_dump(mode="json") for p in spec.parameters],
            "columns": columns_needed(spec),
            "outcomes": outcomes_needed(spec),
        }
        text = json.dumps(data, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def to_values(priors: list[Prior], kinds: dict[str, str], unit: np.ndarray) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for p, u in zip(priors, unit, strict=True):
        lo, hi = p.range
        if p.scale == "log":
            x = math.exp(math.log(lo) + float(u) * (math.log(hi) - math.log(lo)))
        else:
            x = lo + float(u) * (hi - lo)
        out[p.path] = int(min(max(round(x), lo), hi)) if kinds.get(p.path) == "int" else x
    return out


def to_unit(priors: list[Prior], values: dict[str, float]) -> np.ndarray:
    """Parameter values on the unit box of their priors (log priors in the logarithm): the
    inverse of to_values. Values outside a prior's range fall outside [0, 1]."""
    out = np.empty(len(priors))
    for j, p in enumerate(priors):
        lo, hi = p.range
        x = float(values[p.path])
        if p.scale == "log":
            out[j] = (np.log(x) - np.log(lo)) / (np.log(hi) - np.log(lo))
        else:
            out[j] = (x - lo) / (hi - lo)
    return out


def needed_runs(spec: Calibration) -> list[str]:
    """The scenarios the patterns read, baseline first when used."""
    keys: list[str] = []
    for p in spec.patterns:
        if p.statistic == "measure":
            keys += ["baseline", *MEASURES[p.measure][1]]
        else:
            keys += [p.scenario, *([p.against] if p.against else [])]
    keys = list(dict.fromkeys(keys))
    return sorted(keys, key=lambda k: k != "baseline")


def load_calibration(
    path: str | Path,
    samples: int | None = None,
    extra: list[str] | None = None,
    waves: int | None = None,
    replicates: int | None = None,
) -> LoadedCalibration:
    """Read and check a calibration file; raises ScenarioError naming the file and field.

    The quick mode: `samples` replaces `search.population`, `waves` `search.waves` and
    `replicates` the seeds per set; `extra` are --set overrides added to the file's `set`.
    """
    path = Path(path)
    data = read_yaml(path, takes="a calibration file, in YAML", kind="calibration")
    try:
        spec = Calibration.model_validate(data)
    except ValidationError as exc:
        text = format_validation_error(exc, str(path), Calibration, data)
        raise ScenarioError(_patterns_named(text, str(path), data)) from None
    # A malformed entry of the file's set, a --set or a scenario's own set names where it
    # was given (a bad --set names itself).
    given = [(f"{path}: set: ", spec.set), (f"{path}: ", extra or [])]
    given += [(f"{path}: scenarios.{key}.set: ", rd.set) for key, rd in spec.scenarios.items()]
    for where, texts in given:
        for text in texts:
            try:
                parse_override(text)
            except ScenarioError as exc:
                raise ScenarioError(f"{where}{exc}") from None
    for where, texts in ((f"{path}: set", spec.set), (f"{path}: --set", extra or [])):
        refuse_set_by_runs(texts, where, _SET_BY_RUNS)
    for key, rd in spec.scenarios.items():
        refuse_set_by_runs(rd.set, f"{path}: scenarios.{key}.set", _SET_BY_RUNS)
    for flag, value, limit in (("samples", samples, 100_000), ("waves", waves, 100),
                               ("replicates", replicates, 1000)):  # fmt: skip
        if value is not None and not 1 <= value <= limit:
            raise ScenarioError(f"{path}: --{flag}: bad value {value}: allowed 1 to {limit}")
    search = spec.search.model_copy(
        update={
            "population": samples or spec.search.population,
            "waves": waves or spec.search.waves,
        }
    )
    spec = spec.model_copy(
        update={
            "search": search,
            "replicates": replicates or spec.replicates,
            "set": [*spec.set, *(extra or [])],
        }
    )
    known = sorted({*spec.scenarios, *V.RUNS})
    for i, p in enumerate(spec.patterns):  # (the file's scenarios, or the built-in runs)
        for field in ("scenario", "against"):
            key = getattr(p, field)
            if p.statistic != "measure" and key and key not in known:
                raise ScenarioError(
                    f"{path}: {p.where(i)}.{field}: bad value {key!r}: no such scenario "
                    f"(allowed: {', '.join(known)})"
                )
    own = len(spec.set) - len(extra or [])
    fixed = [(t, f"set: {t}" if i < own else f"--set {t}") for i, t in enumerate(spec.set)]
    runs = {key: _run_plan(spec, key, path, fixed) for key in needed_runs(spec)}
    per_wave = spec.search.population * spec.replicates * len(runs)
    if per_wave > MAX_RUNS:  # a wave's jobs are made at once: 10^8 filled the memory
        field = "--samples" if samples else "search.population"
        raise ScenarioError(
            f"{path}: {field}: bad value {spec.search.population}: {spec.search.population:,} "
            f"parameter set(s) x {spec.replicates} replicate(s) x {len(runs)} scenario(s) = "
            f"{per_wave:,} runs a wave (allowed: at most {MAX_RUNS:,} runs a wave; use fewer "
            "sets or replicates)"
        )
    loaded = LoadedCalibration(spec, path, runs, resized=bool(samples or replicates or extra))
    _check(loaded)
    return loaded


def _patterns_named(text: str, source: str, data: dict[str, Any]) -> str:
    """A schema error's `patterns[3].tolerance` with the pattern's name, as the checks
    across its fields name it: patterns[3] ('1 residual deterrence').tolerance."""
    patterns = data.get("patterns")
    if not isinstance(patterns, list):
        return text

    def named(m: re.Match) -> str:
        i = int(m.group(1))
        item = patterns[i] if i < len(patterns) else None
        name = item.get("name") if isinstance(item, dict) else None
        return f"{source}: {pattern_where(i, name)}"

    return re.sub(rf"{re.escape(source)}: patterns\[(\d+)\](?=[.:\[])", named, text)


# What each run of a calibration sets itself: an override of it would be replaced in silence.
_SET_BY_RUNS = {
    "seed": "each run's seed is the file's seed plus its replicate number (allowed: seed: "
    "in the file itself)",
    "steps": "each scenario runs its own steps (allowed: scenarios.<key>.steps)",
}


def _run_plan(spec: Calibration, key: str, path: Path, fixed: list[tuple[str, str]]) -> RunPlan:
    if key in spec.scenarios:
        rd = spec.scenarios[key]
        if not rd.file:
            raise ScenarioError(f"{path}: scenarios.{key}.file: bad value '': name the file")
        file, steps, overrides = (path.parent / rd.file).resolve(), rd.steps, tuple(rd.set)
        _scenario_file(path, f"scenarios.{key}.file", rd.file)
    elif key in V.RUNS:
        spec_run = V.RUNS[key]
        file = V.SCENARIOS / f"{spec_run.scenario}.yaml"
        steps, overrides = spec_run.steps, spec_run.overrides
    else:
        allowed = sorted({*spec.scenarios, *V.RUNS})
        raise ScenarioError(
            f"{path}: patterns: bad value {key!r}: no such scenario (allowed: {', '.join(allowed)})"
        )
    base = scenario_mapping(file)
    for text, label in fixed:
        keys, value = parse_override(text)
        label = label if label.isprintable() else repr(label)  # one line
        apply_override(base, keys, value, label=f"{path} ({label})")
    where = f"scenarios.{key}" if key in spec.scenarios else f"built-in run {key!r}"
    return RunPlan(base, steps, overrides, Path(file), tuple(fixed), where)


def _relabelled(
    exc: ScenarioError, src: Path, key: str, plan: RunPlan, point: dict[str, Any] | None = None
) -> ScenarioError:
    """Name where the bad value was given: the file's `set:`, a --set, the scenario's own
    `set:` or `steps`, the prior's corner, or else the scenario file itself (when it fails
    alone) rather than the calibration file."""
    text = strip_source(exc, str(src))
    at = f"scenario {key!r} at {point}"
    options = dict(plan.fixed)
    priors = {}  # each prior's value, labelled as its own: the error names the parameter
    for k, v in (point or {}).items():
        if applies(k, plan.base):
            label = f"parameters.{k}: bad value {json.dumps(v)} in scenario {key!r}"
            options[f"{k}={json.dumps(v)}"] = priors[label] = label
    for t in plan.overrides:
        options[t] = f"{plan.where}.set: {t}"
    if point is not None:
        options[f"steps={plan.steps}"] = f"{plan.where}.steps: {plan.steps}"
    if plan.file is None:
        return exc
    blamed = blame_given(exc, src, plan.file, options, f"scenario {key!r} of {src}")
    for label in priors:
        if blamed is not None and str(blamed).startswith(f"{src} ({label}): "):
            return ScenarioError(f"{src}: {label}: {text}")  # at the prior's low or high end
    if blamed is not None:
        return blamed
    # the prior's corner (or no one in particular): named after the calibration file
    return ScenarioError(f"{src}: {at}: {text}" if point is not None else str(exc))


def _scenario_file(src: Path, field: str, name: str) -> Path:
    """A scenario file the calibration names: it must be a file, and is relative to src."""
    target = (src.parent / name).resolve()
    if not name or not target.is_file():
        raise ScenarioError(
            f"{src}: {field}: bad value {name!r}: no file {str(target)!r} "
            f"(the path is relative to the folder of {src.name})"
        )
    return target


def applies(path: str, base: dict[str, Any]) -> bool:
    """A tactic's parameter applies only to scenarios that have the tactic; others to all."""
    parts = path.split(".")
    return parts[0] != "tactics" or _lookup(base, ".".join(parts[:2])) is not None


def _check(cal: LoadedCalibration) -> None:
    """Build every scenario at every corner of the prior, and check windows fit the runs."""
    spec, src = cal.spec, cal.source
    for key, plan in cal.runs.items():
        for corner in (np.zeros(len(spec.parameters)), np.ones(len(spec.parameters))):
            point = {k: v for k, v in cal.values(corner).items() if applies(k, plan.base)}
            try:
                _scenario(plan, point, spec.seed, str(src))
            except ScenarioError as exc:
                raise _relabelled(exc, src, key, plan, point) from None
    for i, p in enumerate(spec.patterns):
        if p.window is None:
            continue
        for key in (p.scenario, p.against):
            if key and p.window[1] > cal.runs[key].steps:
                raise ScenarioError(
                    f"{src}: {p.where(i)}.window: bad value {list(p.window)}: "
                    f"scenario {key!r} runs {cal.runs[key].steps} days"
                )
    for i, p in enumerate(spec.patterns):
        if p.statistic in ("measure", "outcome"):
            continue
        for field, column in (("metric", p.metric), ("denominator", p.denominator)):
            if column is not None and column not in COLUMNS:
                raise ScenarioError(
                    f"{src}: {p.where(i)}.{field}: bad value {column!r}: "
                    f"not a timeseries column (allowed: {', '.join(COLUMNS)})"
                )
        for key in (p.scenario, p.against):
            if not key:
                continue
            watched = cal.runs[key].scenario(str(src)).evaluation.watch
            if p.region not in (*REGIONS, *watched):
                raise ScenarioError(
                    f"{src}: {p.where(i)}.region: bad value {p.region!r} "
                    f"(allowed in {key!r}: {', '.join([*REGIONS, *watched])})"
                )
    for p in spec.parameters:  # a tactic's parameter applies where the tactic is
        if not any(applies(p.path, plan.base) for plan in cal.runs.values()):
            labels = {
                str(t.get("name") or t.get("type"))
                for plan in cal.runs.values()
                for t in plan.base.get("tactics") or []
                if isinstance(t, dict)
            }
            raise ScenarioError(
                f"{src}: parameters.{p.path}: bad value {p.path.split('.')[1]!r}: no scenario "
                f"of the calibration has this tactic, so the parameter changes no run "
                f"(allowed: {', '.join(sorted(labels)) or 'no tactic'})"
            )
    _check_builds(cal)
    # The scenario best.yaml is written from, with a set: read at the end of the last wave.
    _scenario_file(src, "scenario", spec.scenario)
    try:
        best_scenario(cal, cal.values(np.zeros(len(spec.parameters))))
    except ScenarioError as exc:
        text = str(exc)
        raise ScenarioError(
            text if text.startswith(str(src)) else f"{src}: scenario: {text}"
        ) from None


def _check_builds(cal: LoadedCalibration) -> None:
    """Build each scenario's town and agents (at the prior's low corner) as its first run
    will, so what only the build finds (a raster problem, a buffer that leaves no control
    area) fails now and not as every run failing; and check that each `outcome` pattern
    names an outcome its scenario's runs record. Scenarios that differ only in their
    tactics share a town, so that is built once."""
    spec, src = cal.spec, cal.source
    low = np.zeros(len(spec.parameters))
    read = {p.scenario for p in spec.patterns if p.statistic == "outcome"}
    names: dict[str, list[str]] = {}
    built: set[str] = set()
    for key, plan in cal.runs.items():
        point = {k: v for k, v in cal.values(low).items() if applies(k, plan.base)}
        sc = _scenario(plan, point, spec.seed, str(src))
        town = sc.model_dump(mode="json", exclude={"name", "description", "tactics"})
        town_key = json.dumps(town, sort_keys=True, default=str)
        if key not in read and town_key in built:
            continue
        try:
            if key in read:
                names[key] = outcome_names(sc)  # a one-day run: builds the town too
            else:
                check_builds(sc, src)
        except ScenarioError as exc:
            text = strip_source(exc, str(src))
            raise ScenarioError(f"{src}: scenario {key!r}: {text}") from None
        built.add(town_key)
    for i, p in enumerate(spec.patterns):
        if p.statistic != "outcome":
            continue
        allowed = names[p.scenario]
        regions = list(dict.fromkeys(n.split(".", 1)[0] for n in allowed))
        if p.region not in regions:
            raise ScenarioError(
                f"{src}: {p.where(i)}.region: bad value {p.region!r}: no outcomes "
                f"for it in {p.scenario!r} (allowed: {', '.join(regions)})"
            )
        metrics = [n.split(".", 1)[1] for n in allowed if n.startswith(f"{p.region}.")]
        if p.metric not in metrics:
            close = difflib.get_close_matches(p.metric, metrics, n=3, cutoff=0.6)
            hint = f"did you mean {', '.join(close)}?" if close else f"e.g. {metrics[0]}"
            raise ScenarioError(
                f"{src}: {p.where(i)}.metric: bad value {p.metric!r}: not an outcome "
                f"of a run (allowed: {len(metrics)} outcomes of {p.region!r}; {hint})"
            )


def _scenario(plan: RunPlan, point: dict[str, Any], seed: int, source: str):
    return scenario_from_dict(plan.base, source=source, overrides=_overrides(plan, point, seed))


def _overrides(plan: RunPlan, point: dict[str, Any], seed: int) -> tuple[str, ...]:
    sets = [f"{k}={json.dumps(v)}" for k, v in point.items() if applies(k, plan.base)]
    return (*sets, *plan.overrides, f"steps={plan.steps}", f"seed={seed}")


# --------------------------------------------------------------------------- patterns
def columns_needed(spec: Calibration) -> tuple[str, ...]:
    cols: list[str] = []
    for p in spec.patterns:
        if p.statistic == "measure":
            cols += MEASURE_COLUMNS
        elif p.statistic != "outcome":
            cols += [p.metric, *([p.denominator] if p.denominator else [])]
    return tuple(dict.fromkeys(cols))


def outcomes_needed(spec: Calibration) -> list[str]:
    return [f"{p.region}.{p.metric}" for p in spec.patterns if p.statistic == "outcome"]


def figure(p: Pattern, runs: dict[str, dict[int, V.RunResult]], outcomes) -> float:
    """The model's figure for one pattern over one parameter set's seeds.

    `runs[key][seed]` holds each run's timeseries; `outcomes[key][seed]` its summary
    outcomes. Pooled over seeds as in validation.py.
    """
    if p.statistic == "measure":
        return MEASURES[p.measure][0](runs).mean
    if p.statistic == "outcome":
        return float(np.mean([o[f"{p.region}.{p.metric}"] for o in outcomes[p.scenario].values()]))
    lo, hi = p.window

    def means(key: str, metric: str) -> list[float]:
        return [V.window(r.ts, p.region, metric, lo, hi) for _, r in sorted(runs[key].items())]

    x = means(p.scenario, p.metric)
    if p.statistic == "mean":
        return float(np.mean(x))
    if p.statistic == "per_year":
        return float(np.mean(x) * 365.0)
    if p.statistic == "share":
        return float(np.sum(x) / np.sum(means(p.scenario, p.denominator)))
    base = means(p.against, p.metric)
    if p.statistic == "change":
        return V.change_interval(x, base).mean if np.sum(base) else math.nan
    return float(np.mean(np.subtract(x, base)))  # difference


def distances(patterns: list[Pattern], figures: dict[str, float]) -> tuple[float, list[float]]:
    """Each pattern's distance, and the set's: the largest (at most 1: all met)."""
    each = [p.distance(figures[p.name]) for p in patterns]
    return max(each), each


# -------------------------------------------------------------------------- the search
# A wave runner: (wave index, the wave's parameter sets) -> each set's pattern figures.
WaveRunner = Callable[[int, list[dict[str, Any]]], list[dict[str, float]] | None]


@dataclass
class SearchResult:
    waves: list[abc.Wave]
    values: list[list[dict[str, Any]]]  # parameter values of every particle, per wave
    figures: list[list[dict[str, float]]]  # pattern figures, per wave and particle
    finished: bool  # False: a wave had failed runs, the search stopped there


def search(
    spec: Calibration,
    kinds: dict[str, str],
    run_wave: WaveRunner,
    log: Callable[[str], None] | None = None,
) -> SearchResult:
    """ABC-SMC over the spec's priors, each wave evaluated by `run_wave`."""
    s = spec.search
    dims = len(spec.parameters)
    previous = None
    result = SearchResult([], [], [], finished=True)
    for k in range(s.waves):
        if previous is None:
            unit = abc.first_wave(dims, s.population, spec.seed)
        else:
            unit = abc.next_wave(previous, s.population, spec.seed)
        values = [to_values(spec.parameters, kinds, u) for u in unit]
        if log:
            tol = "from the prior" if previous is None else f"tolerance {previous.tolerance:.3g}"
            log(f"wave {k + 1} of {s.waves}: {len(values)} parameter sets ({tol})")
        figures = run_wave(k, values)
        if figures is None:
            result.finished = False
            return result
        dist = np.array([distances(spec.patterns, f)[0] for f in figures])
        wave = abc.settle(k, unit, dist, s.quantile, previous)
        result.waves.append(wave)
        result.values.append(values)
        result.figures.append(figures)
        if log:
            met = int((dist <= abc.MET).sum())
            log(f"wave {k + 1}: best distance {dist.min():.3g}, {met} set(s) meet every pattern")
        previous = wave
    return result


def wave_jobs(cal: LoadedCalibration, values: list[dict[str, Any]]) -> list[Job]:
    """One job per parameter set, replicate and scenario; a set's runs on one seed adjoin."""
    spec = cal.spec
    series = SeriesSpec(columns=columns_needed(spec), regions=None)
    keep = outcomes_needed(spec)
    keys = list(cal.runs)
    jobs = []
    for i, point in enumerate(values):
        for r in range(spec.replicates):
            seed = spec.seed + r
            for k, key in enumerate(keys):
                plan = cal.runs[key]
                jobs.append(
                    Job(
                        id=(i * spec.replicates + r) * len(keys) + k,
                        label=key,
                        point=i,
                        replicate=r,
                        seed=seed,
                        base=plan.base,
                        overrides=_overrides(plan, point, seed),
                        source=str(cal.source),
                        params=point,
                        metrics=keep,
                        series=series if series.columns else None,
                    )
                )
    return jobs


def figures_from_store(cal: LoadedCalibration, runs: pd.DataFrame, series: pd.DataFrame):
    """Each parameter set's pattern figures, from a finished wave's store."""
    spec = cal.spec
    by_job = dict(tuple(series.groupby("job"))) if len(series) else {}
    out: list[dict[str, float]] = []
    for _point, rows in runs.groupby("point", sort=True):
        ts: dict[str, dict[int, V.RunResult]] = {k: {} for k in cal.runs}
        outcomes: dict[str, dict[int, dict[str, float]]] = {k: {} for k in cal.runs}
        for row in rows.itertuples(index=False):
            frame = by_job.get(row.job)
            ts[row.label][row.seed] = V.RunResult(frame, {})
            outcomes[row.label][row.seed] = {}
        record = rows.set_index(["label", "seed"])
        for col in outcomes_needed(spec):
            for (label, seed), value in record[col].items():
                outcomes[label][seed][col] = float(value)
        out.append({p.name: _safe_figure(p, ts, outcomes) for p in spec.patterns})
    return out


def _safe_figure(p: Pattern, ts, outcomes) -> float:
    """A figure that cannot be computed (no sales in a window, say) is NaN: distance inf."""
    with np.errstate(divide="ignore", invalid="ignore"):
        try:
            value = figure(p, ts, outcomes)
        except (ZeroDivisionError, ValueError, KeyError):
            return math.nan
    return value if math.isfinite(value) else math.nan


def stderr_log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


@dataclass
class Posterior:
    """The accepted sets: (wave, set) pairs with their weights."""

    sets: list[tuple[int, int]]
    weight: np.ndarray
    met: bool  # False: no set met every pattern; these are the last wave's closest

    def values(self, result: SearchResult, path: str) -> np.ndarray:
        return np.array([float(result.values[k][i][path]) for k, i in self.sets])

    def figures(self, result: SearchResult, name: str) -> np.ndarray:
        return np.array([result.figures[k][i][name] for k, i in self.sets])


def posterior(result: SearchResult) -> Posterior:
    """Every set, of any wave, that meets every pattern, weighted.

    With acceptance "every pattern met" the ABC posterior is the prior restricted to
    distance <= 1. Each wave's sets carry importance weights prior / proposal, so each
    wave's met sets are a weighted sample of that one posterior; they are pooled, each
    wave counting by its effective sample size (more sets than the last wave alone, so
    steadier quantiles). If no set meets them all: the last wave's kept sets.
    """
    sets, weights = [], []
    for wave in result.waves:
        met = np.flatnonzero(wave.distance <= abc.MET)
        w = wave.weight[met] if wave.weight[met].sum() > 0 else np.ones(met.size)
        if not met.size:
            continue
        w = w / w.sum()
        ess = 1.0 / np.sum(w**2)
        sets += [(wave.index, int(i)) for i in met]
        weights.append(w * ess)
    if sets:
        weight = np.concatenate(weights)
        return Posterior(sets, weight / weight.sum(), True)
    last = result.waves[-1]
    kept = np.flatnonzero(last.kept)
    return Posterior(
        [(last.index, int(i)) for i in kept], last.weight[kept] / last.weight[kept].sum(), False
    )


def best_set(result: SearchResult) -> tuple[int, int]:
    """(wave, set) of the closest set of any wave (the latest of equals)."""
    best = min((w.distance[i], -w.index, i) for w in result.waves for i in range(len(w.distance)))
    return -best[1], int(best[2])


def best_scenario(cal: LoadedCalibration, point: dict[str, Any]) -> dict[str, Any]:
    """The calibration's scenario file with the fixed overrides and the best set applied."""
    path = (cal.source.parent / cal.spec.scenario).resolve()
    base = scenario_mapping(path)
    for text in cal.spec.set:
        keys, value = parse_override(text)
        apply_override(base, keys, value, label=f"{cal.source}: set {text!r}")
    for key, value in point.items():
        if applies(key, base):
            apply_override(base, key.split("."), value, label=f"{cal.source}: best set")
    base = copy.deepcopy(base)
    base["name"] = f"{cal.spec.name}_best"
    base["description"] = f"best parameter set of calibration {cal.spec.name!r}"
    scenario_from_dict(base, source=str(path))  # must be valid as written
    return base
