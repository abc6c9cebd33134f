"""A job is one run: a scenario (as plain data), a seed and where it sits in the design.

`run_batch` is what every runner executes, in whatever process: a few jobs on
the same seed, run one after another so that they share their start (burnin.py).
It never raises: a run that fails comes back as a failure record with its error,
so a sweep goes on and reports it at the end.
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass, field
from typing import Any

from marketsim import interrupts
from marketsim.burnin import BurnInCache
from marketsim.experiments.outcomes import SERIES, binned_series, keep, summary_outcomes

# One cache per worker process: runs on the same seed share their start through it.
_CACHE = BurnInCache()


@dataclass(frozen=True)
class Job:
    id: int
    label: str  # the scenario's name in a comparison, or "point <i>" in a sweep
    point: int  # index of the parameter point (or scenario) in the design
    replicate: int
    seed: int
    base: dict[str, Any]  # the scenario mapping, shared by every job of an experiment
    overrides: tuple[str, ...]  # --set style, seed included
    source: str  # the file, for error messages
    params: dict[str, Any] = field(default_factory=dict)  # the varied values at this point
    metrics: list[str] | None = None
    series: SeriesSpec | None = None  # which time series to keep, and how binned


@dataclass(frozen=True)
class SeriesSpec:
    """Time series a job keeps: columns per region, summed over bins of `bin_days` from `start`."""

    columns: tuple[str, ...] = SERIES
    regions: tuple[str, ...] | None = None  # None: every region recorded
    start: int = 0
    bin_days: int = 1


@dataclass
class JobResult:
    job: Job
    outcomes: dict[str, float] | None = None
    series: Any = None  # a DataFrame of daily key metrics, when asked for
    error: str | None = None


def job_scenario(job: Job):
    """The job's validated scenario."""
    from marketsim.scenario import scenario_from_dict

    return scenario_from_dict(job.base, source=job.source, overrides=list(job.overrides))


def run_job(job: Job) -> JobResult:
    """Run one job to completion; failures are returned, not raised."""
    from marketsim.io import simulate

    try:
        scenario = job_scenario(job)
        model, ts, summary = simulate(scenario, cache=_CACHE)
        outcomes = keep(summary_outcomes(summary), job.metrics)
        series = None
        if job.series is not None:
            series = binned_series(ts, job.series)
            # Residents per region: what a survey of each area samples from.
            residents = model.town.residents.ravel() @ model.recorder.region_matrix()
            for region, n in zip(model.recorder.regions, residents, strict=True):
                outcomes[f"{region}.residents"] = float(n)
        return JobResult(job, outcomes=outcomes, series=series)
    except Exception as exc:
        interrupts.check()  # a stop signal is not the run's failure (interrupts)
        detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        return JobResult(job, error=f"{detail}\n{traceback.format_exc(limit=8)}")


def run_batch(jobs: list[Job]) -> list[JobResult]:
    """Run jobs in order in this process (they share their start through the process cache)."""
    return [run_job(job) for job in jobs]


def batches(jobs: list[Job], size: int) -> list[list[Job]]:
    """Consecutive jobs on the same seed, at most `size` to a batch (jobs sorted by seed)."""
    out: list[list[Job]] = []
    for job in jobs:
        if out and len(out[-1]) < size and out[-1][0].seed == job.seed:
            out[-1].append(job)
        else:
            out.append([job])
    return out
