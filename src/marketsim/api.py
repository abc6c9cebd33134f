"""marketsim from Python: one call per command, the same code paths as the CLI.

    import marketsim
    result = marketsim.run("crackdown", seed=1, set=["steps=120"])
    result.timeseries        # the DataFrame of timeseries.csv: one row per (step, region)
    result.summary["net_harm"]["cost_of_crime_gbp"]["total"]
    result.model             # the MarketModel at the end of the run

    table = marketsim.compare(["baseline", "crackdown"], replicates=5, out="out/cmp").table

A scenario is a shipped scenario's name ("crackdown"), a YAML path, a `Scenario`
or a mapping. `compare`, `sweep`, `sensitivity` and `pilot` call the experiment
layer (marketsim.experiments.commands) exactly as the CLI does, so results are
stored, resumable and bit-identical to the command line's, and they write the
same reports. A run that fails raises `ExperimentFailed`; bad input raises
`ScenarioError` with the one-line message the CLI prints.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from marketsim.experiments.commands import (
    Backend,
    Outcome,
    run_compare,
    run_pilot,
    run_sensitivity,
    run_sweep,
)
from marketsim.experiments.store import ResultStore
from marketsim.io import simulate, write_outputs
from marketsim.model import MarketModel
from marketsim.scenario import Scenario, ScenarioError, load_scenario, scenario_from_dict

ScenarioLike = str | Path | Scenario | Mapping[str, Any]


class ExperimentFailed(RuntimeError):
    """Some runs of an experiment failed; finished runs stay in its store."""


@dataclass
class RunResult:
    """One run: what `marketsim run` writes, as Python objects."""

    scenario: Scenario
    timeseries: pd.DataFrame
    summary: dict[str, Any]
    model: MarketModel

    def save(self, out: str | Path) -> Path:
        """Write timeseries.csv, summary.json, scenario.yaml and harm_matrix.md to `out`."""
        out = Path(out)
        write_outputs(out, self.scenario, self.timeseries, self.summary)
        return out


@dataclass
class ExperimentResult:
    """An experiment's store and report: `runs` holds one row per run (its outcomes)."""

    out: Path
    report: Path | None
    runs: pd.DataFrame
    detail: Any = None  # the pilot's analysis, for `pilot`

    @property
    def table(self) -> pd.DataFrame:
        """compare's comparison.csv: mean, 95% CI and paired difference by metric."""
        return pd.read_csv(self.out / "comparison.csv")


def shipped_scenarios() -> dict[str, Path]:
    """The shipped scenarios by name (as `marketsim scenarios` lists them)."""
    from marketsim.cli import scenarios_dir

    return {p.stem: p for p in sorted(scenarios_dir().glob("*.yaml"))}


def scenario_path(scenario: str | Path) -> Path:
    """A YAML path as given, or a shipped scenario's name ("crackdown")."""
    path = Path(scenario)
    if path.suffix in (".yaml", ".yml") or path.exists():
        return path
    shipped = shipped_scenarios()
    if str(scenario) in shipped:
        return shipped[str(scenario)]
    raise ScenarioError(
        f"scenario: bad value {str(scenario)!r}: neither a file nor a shipped scenario "
        f"(shipped: {', '.join(shipped)})"
    )


def load(scenario: ScenarioLike, set: Sequence[str] = ()) -> Scenario:
    """Validate a scenario (name, path, Scenario or mapping) with `--set`-style overrides."""
    overrides = list(set)
    if isinstance(scenario, Scenario):
        return scenario_from_dict(scenario.resolved(), scenario.name, overrides)
    if isinstance(scenario, Mapping):
        return scenario_from_dict(dict(scenario), "<scenario>", overrides)
    return load_scenario(scenario_path(scenario), overrides)


def run(
    scenario: ScenarioLike,
    seed: int | None = None,
    steps: int | None = None,
    set: Sequence[str] = (),
    out: str | Path | None = None,
    progress: bool = False,
    keep_events: bool = False,
) -> RunResult:
    """Run one scenario, as `marketsim run` does; with `out`, write its files there too.

    `keep_events` keeps the harm ledger's event table: `result.model.ledger.events()`,
    and marketsim.exports for the per-cell files of `marketsim run --keep-events`.
    """
    overrides = list(set)
    if seed is not None:
        overrides.append(f"seed={seed}")
    if steps is not None:
        overrides.append(f"steps={steps}")
    sc = load(scenario, overrides)
    model, ts, summary = simulate(sc, progress=progress, keep_events=keep_events)
    result = RunResult(sc, ts, summary, model)
    if out is not None:
        result.save(out)
    return result


def _finish(outcome: Outcome) -> ExperimentResult:
    if outcome.failures:
        first = next(iter(outcome.failures.values()))["error"].splitlines()[0]
        raise ExperimentFailed(
            f"{len(outcome.failures)} run(s) failed (first: {first}); details in "
            f"{outcome.out}/failures/, finished runs kept: call again to retry"
        )
    runs = ResultStore(outcome.out).load()
    return ExperimentResult(outcome.out, outcome.report, runs, outcome.detail)


def _backend(backend: str, workers: int | None, progress: bool) -> Backend:
    return Backend(backend, workers, progress=progress)


def compare(
    scenarios: Sequence[str | Path],
    replicates: int = 10,
    seed: int = 1,
    set: Sequence[str] = (),
    out: str | Path = "out/compare",
    backend: str = "local",
    workers: int | None = None,
    overwrite: bool = False,
    progress: bool = False,
) -> ExperimentResult:
    """Paired comparison on common seeds; the first scenario is the reference."""
    files = [scenario_path(s) for s in scenarios]
    outcome = run_compare(
        files,
        Path(out),
        replicates,
        seed,
        list(set),
        _backend(backend, workers, progress),
        overwrite,
    )
    return _finish(outcome)


def _experiment_file(
    command, experiment, out, samples, backend, workers, overwrite, progress
) -> ExperimentResult:
    outcome = command(
        Path(experiment),
        Path(out) if out else None,
        _backend(backend, workers, progress),
        overwrite,
        samples,
    )
    return _finish(outcome)


def sweep(
    experiment: str | Path,
    out: str | Path | None = None,
    samples: int | None = None,
    backend: str = "local",
    workers: int | None = None,
    overwrite: bool = False,
    progress: bool = False,
) -> ExperimentResult:
    """A parameter sweep from an experiment file (see experiments/)."""
    return _experiment_file(
        run_sweep, experiment, out, samples, backend, workers, overwrite, progress
    )


def sensitivity(
    experiment: str | Path,
    out: str | Path | None = None,
    samples: int | None = None,
    backend: str = "local",
    workers: int | None = None,
    overwrite: bool = False,
    progress: bool = False,
) -> ExperimentResult:
    """Sobol or Morris sensitivity analysis from an experiment file."""
    return _experiment_file(
        run_sensitivity, experiment, out, samples, backend, workers, overwrite, progress
    )


def pilot(
    pilot_file: str | Path,
    out: str | Path | None = None,
    replicates: int | None = None,
    backend: str = "local",
    workers: int | None = None,
    overwrite: bool = False,
    progress: bool = False,
) -> ExperimentResult:
    """Plan a pilot (power, detectable effect, misleading results); `detail` holds the figures."""
    outcome = run_pilot(
        Path(pilot_file),
        Path(out) if out else None,
        _backend(backend, workers, progress),
        overwrite,
        replicates,
    )
    return _finish(outcome)
