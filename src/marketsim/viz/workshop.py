"""The workshop model: a scenario, its no-tactic baseline and an optional rival, in step.

`Workshop` is the Mesa model the app drives. It holds up to three `MarketModel`s
built on the same seed (common random numbers: same town, same luck):

- `main`: the chosen scenario, with the sliders' values applied;
- `baseline`: the same scenario with its tactics taken away (standard patrol
  only), so every chart can show what the tactic changed;
- `rival`: another scenario for side-by-side mode ("this tactic versus that one").

Each is burnt in when built, so the app opens on day 0, the first recorded day.
Per-day series are read from each model's recorder; harm by type is added here.
No solara import: the tests drive this class directly.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mesa
import numpy as np
import pandas as pd

from marketsim.columns import COLUMNS
from marketsim.harms import HARM_TYPES, load_profile
from marketsim.model import MarketModel
from marketsim.params import describe
from marketsim.scenario import Scenario, ScenarioError, load_scenario, scenario_from_dict
from marketsim.town import REGIONS

NO_RIVAL = "none"
COL = {name: i for i, name in enumerate(COLUMNS)}
REGION = {name: i for i, name in enumerate(REGIONS)}

# Environment set by `marketsim viz` (the app runs in a solara server process).
ENV_SCENARIO = "MARKETSIM_VIZ_SCENARIO"  # the scenario to open with
ENV_OVERRIDES = "MARKETSIM_VIZ_SET"  # --set overrides for every scenario, one per line

# The harm types grouped as a room reads them; every type is in exactly one group.
HARM_GROUPS: dict[str, tuple[str, ...]] = {
    "Violence": ("homicide", "serious_violence", "other_violence"),
    "Acquisitive crime": ("acquisitive_crime",),
    "Overdose & initiation": ("overdose_nonfatal", "overdose_death", "initiation"),
    "Neighbourhood": (  # what residents live with
        "visible_dealing_exposure",
        "public_use",
        "litter",
        "fear",
        "runner_exploitation",
    ),
    "Enforcement": (  # harm the response itself causes
        "arrest",
        "prosecution",
        "prison_day",
        "children_affected",
        "missed_treatment",
        "officer_day",
    ),
    "Treatment cost": ("treatment_place_day",),
}

SLIDER_SPAN = 4  # a slider reaches at most this many times the scenario's value (within bounds)


def repo_root() -> Path:
    return Path(__file__).resolve().parents[3]


def scenario_files() -> dict[str, Path]:
    """Every shipped scenario by name, plus the one `marketsim viz` was given."""
    from marketsim.cli import scenarios_dir

    files = {p.stem: p for p in sorted(scenarios_dir().glob("*.yaml"))}
    extra = os.environ.get(ENV_SCENARIO)
    if extra:
        path = Path(extra)
        files.setdefault(path.stem, path)
    return files


def start_scenario() -> str:
    """The scenario the app opens with: the one given on the command line, else crackdown."""
    extra = os.environ.get(ENV_SCENARIO)
    if extra:
        return Path(extra).stem
    files = scenario_files()
    return "crackdown" if "crackdown" in files else next(iter(files))


def global_overrides() -> list[str]:
    return [line for line in os.environ.get(ENV_OVERRIDES, "").splitlines() if line.strip()]


# ------------------------------------------------------------------ sliders
@dataclass(frozen=True)
class SliderSpec:
    """One slider: a dotted scenario path and what the schema says about it."""

    path: str  # e.g. "tactics.1.intensity"
    label: str
    value: float
    lo: float
    hi: float
    step: float
    is_int: bool
    unit: str
    doc: str
    source: str


def _walk_tactics(entries: list, prefix: str):
    """(dotted path, tactic config) for each tactic, partnership parts included."""
    for i, cfg in enumerate(entries):
        yield f"{prefix}{i}", cfg
        if cfg.type == "partnership":
            yield from _walk_tactics(cfg.parts, f"{prefix}{i}.parts.")


def slider_specs(scenario: Scenario) -> list[SliderSpec]:
    """Sliders for the main parameters of the scenario's tactics, from the tactic schemas.

    A slider runs from the schema's lower bound to its upper bound, capped at
    SLIDER_SPAN times the scenario's value so a room can use it (the full range
    stays available in YAML). Parameters left unset (None) get no slider.
    """
    specs = []
    for path, cfg in _walk_tactics(scenario.tactics, "tactics."):
        if cfg.type == "standard_patrol" and has_tactic(scenario):
            continue  # routine patrol's knob only when it is the whole story (baseline)
        rows = {r["name"]: r for r in describe(type(cfg))}
        for name in type(cfg).sliders:
            value = getattr(cfg, name)
            row = rows[name]
            if value is None or isinstance(value, bool):
                continue
            is_int = isinstance(value, int)
            lo = row["min"] if row["min"] is not None else 0
            cap = max(SLIDER_SPAN * value, value + (10 if is_int else 1))
            hi = min(row["max"], cap) if row["max"] is not None else cap
            if is_int:
                lo, hi, step = int(lo), int(hi), 1
            else:
                step = _nice_step((hi - lo) / 100)
            specs.append(
                SliderSpec(
                    path=f"{path}.{name}",
                    label=_slider_label(cfg.label, name, row["unit"]),
                    value=value,
                    lo=lo,
                    hi=hi,
                    step=step,
                    is_int=is_int,
                    unit=row["unit"],
                    doc=row["doc"],
                    source=row["source"],
                )
            )
    return specs


def _slider_label(tactic: str, name: str, unit: str) -> str:
    """'crackdown: intensity (units)'; the unit alone where it already says the name
    ('cells per unit-day', not 'cells per unit (cells per unit-day)')."""
    words = name.replace("_", " ")
    return f"{tactic}: {unit}" if unit.startswith(words) else f"{tactic}: {words} ({unit})"


def slider_key(scenario_name: str, path: str) -> str:
    """The app's name for a slider: values set for one scenario never leak into another."""
    return f"{scenario_name}:{path}"


def _nice_step(raw: float) -> float:
    """1, 2 or 5 times a power of ten, at least `raw`."""
    if raw <= 0:
        return 0.01
    power = 10 ** np.floor(np.log10(raw))
    for m in (1, 2, 5, 10):
        if m * power >= raw:
            return float(m * power)
    return float(10 * power)


# ------------------------------------------------------------------- model
def no_tactic_version(scenario: Scenario) -> Scenario:
    """The same scenario without its tactics: standard patrol only, as configured there."""
    data = scenario.resolved()
    patrols = [t for t in data["tactics"] if t["type"] == "standard_patrol"]
    data["tactics"] = patrols or [{"type": "standard_patrol"}]
    data["name"] = f"{scenario.name} without its tactics"
    return scenario_from_dict(data, source=f"{scenario.name} (baseline)")


def has_tactic(scenario: Scenario) -> bool:
    return any(t.type != "standard_patrol" for t in scenario.tactics)


class Side:
    """One running market and what the charts need from it."""

    def __init__(self, scenario: Scenario, seed: int):
        self.scenario = scenario
        self.model = MarketModel(scenario, seed=seed)
        self.harm_weights = self.model.recorder.cell_weights  # (harm types, cells)
        self.group_index = _group_matrix()
        self.harm_groups: list[np.ndarray] = []  # per recorded day: weighted harm by group
        self.places_history: list[int] = []  # treatment places each recorded day
        while self.model.day < 0:  # burn-in: the app opens on day 0
            self.model.step()
        dealers = self.model.dealers
        v = dealers.violence[dealers.active()]
        # Violence bands fixed at the start of the run, so colours mean the same all run.
        self.violence_cuts = np.quantile(v, [0.5, 0.9]) if v.size else np.array([1.0, 2.0])

    @property
    def done(self) -> bool:
        return self.model.day >= self.scenario.steps

    def step(self) -> None:
        if self.done:
            return
        self.model.step()
        by_type = self.model.ledger.recorded_day()
        weighted = (self.harm_weights * by_type).sum(axis=1)
        self.harm_groups.append(self.group_index @ weighted)
        self.places_history.append(self.treatment_places())

    def series(self, column: str, region: str = "all") -> np.ndarray:
        rows = self.model.recorder.rows
        if not rows:
            return np.zeros(0)
        return np.array([r[REGION[region], COL[column]] for r in rows])

    def cumulative_net_harm(self) -> np.ndarray:
        return np.cumsum(self.series("net_harm"))

    def harm_by_group(self) -> np.ndarray:
        """(days, groups) weighted harm."""
        if not self.harm_groups:
            return np.zeros((0, len(HARM_GROUPS)))
        return np.stack(self.harm_groups)

    def treatment_places(self) -> int:
        return int(sum(s.places for s in self.model.services))


def _group_matrix() -> np.ndarray:
    index = {h.name: i for i, h in enumerate(HARM_TYPES)}
    m = np.zeros((len(HARM_GROUPS), len(HARM_TYPES)))
    for g, names in enumerate(HARM_GROUPS.values()):
        for name in names:
            m[g, index[name]] = 1.0
    return m


class Workshop(mesa.Model):
    """A scenario, its baseline and an optional rival, stepped together on one seed.

    Keyword arguments are what the app's controls set: `scenario_name` (a name
    from `scenario_files()`), `seed`, `rival` (a scenario name or "none"), and
    any number of slider values keyed by `slider_key(scenario_name, dotted path)`,
    e.g. ``crackdown:tactics.1.intensity``; values for another scenario's sliders,
    or for paths that are not sliders, are ignored.
    `scenario` is Mesa's experiment object, which SolaraViz passes back on reset;
    marketsim's own scenario is `config`.
    """

    def __init__(
        self,
        scenario_name: str = "crackdown",
        seed: int | str | None = None,
        rival: str = NO_RIVAL,
        scenario: Any = None,
        **params: Any,
    ):
        files = scenario_files()
        if scenario_name not in files:
            raise ScenarioError(f"unknown scenario {scenario_name!r} (known: {', '.join(files)})")
        base = global_overrides()
        loaded = load_scenario(files[scenario_name], base)
        seed = loaded.seed if seed in (None, "") else int(seed)
        super().__init__(rng=seed)
        self.seed_value = seed
        # Slider values count only for this scenario's sliders: after a switch of scenario,
        # the app still holds the previous scenario's values, which mean nothing here.
        sliders = {slider_key(scenario_name, spec.path): spec.path for spec in slider_specs(loaded)}
        chosen = [f"{sliders[k]}={v}" for k, v in params.items() if k in sliders]
        overrides = [*base, f"seed={seed}", *chosen]
        self.config = load_scenario(files[scenario_name], overrides)
        self.name = scenario_name
        self.main = Side(self.config, seed)
        self.baseline = (
            Side(no_tactic_version(self.config), seed) if has_tactic(self.config) else None
        )
        self.rival: Side | None = None
        if rival not in (None, "", NO_RIVAL):
            rival_sc = load_scenario(files[rival], [*base, f"seed={seed}"])
            self.rival = Side(rival_sc, seed)
        self.profile = load_profile(self.config.harms.timeseries_profile)
        self.running = True

    @property
    def sides(self) -> list[Side]:
        return [s for s in (self.main, self.baseline, self.rival) if s is not None]

    @property
    def day(self) -> int:
        return self.main.model.day

    def step(self) -> None:
        for side in self.sides:
            side.step()
        self.running = not self.main.done

    def tactic_start(self) -> int | None:
        starts = [t.start for t in self.config.tactics if t.type != "standard_patrol"]
        return min(starts) if starts else None

    def tactic_end(self) -> int | None:
        """The day the last tactic stops; None if one runs to the end of the run."""
        tactics = [t for t in self.config.tactics if t.type != "standard_patrol"]
        if not tactics or any(t.duration is None for t in tactics):
            return None
        return max(t.start + t.duration for t in tactics)

    def run_to(self, day: int) -> None:
        """Step until `day` (or the end of the run): the facilitator's 'stop at a day'."""
        while self.day < min(day, self.config.steps):
            self.step()

    def timeseries(self) -> pd.DataFrame:
        """The days run so far, every run on screen: the app's CSV download."""
        frames = []
        for side, role in (
            (self.main, "scenario"),
            (self.baseline, "no tactic"),
            (self.rival, "rival"),
        ):
            if side is not None and side.model.recorder.rows:
                frame = side.model.recorder.frame()
                frame.insert(0, "run", role)
                frame.insert(1, "scenario", side.scenario.name)
                frames.append(frame)
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
