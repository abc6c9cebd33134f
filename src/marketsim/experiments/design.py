"""Designs: from an experiment's parameters to the list of runs.

Sampled values of integer parameters are drawn over [low - 0.5, high + 0.5] and
rounded, so each integer is equally likely. Sobol and Morris keep the unrounded
sample matrix for the analysis (Morris needs the step sizes it sampled).
Replicate r of every point uses seed `seed + r`: common random numbers across
points, so differences between points are not differences in luck.

The emulator design is a Latin hypercube whose points are spread to cover the
space evenly (scipy's random-cd optimisation); it needs replicates, whose spread
measures the noise, and so gets no noise runs.

Sobol and Morris designs also get `design.noise_runs` runs at the centre of the
ranges, on seeds no design point uses (point -1). The spread of their outcomes is
what a change of luck alone produces: the floor below which a sensitivity index
cannot be told from noise (sensitivity.noise_floor).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np

from marketsim.columns import REGIONS
from marketsim.experiments.jobs import Job, SeriesSpec
from marketsim.experiments.spec import LoadedExperiment, Parameter


@dataclass
class Plan:
    points: list[dict[str, Any]]
    jobs: list[Job]
    problem: dict[str, Any] | None = None  # SALib problem (sobol, morris, emulator)
    sample: np.ndarray | None = None  # SALib sample matrix, rows = points


def salib_problem(exp: LoadedExperiment) -> dict[str, Any]:
    names, bounds = [], []
    for p in exp.spec.parameters:
        lo, hi = p.range
        if exp.kinds[p.path] == "int":
            lo, hi = lo - 0.5, hi + 0.5
        names.append(p.path)
        bounds.append([float(lo), float(hi)])
    return {"num_vars": len(names), "names": names, "bounds": bounds}


def _value(p: Parameter, kind: str, x: float) -> Any:
    if kind == "int":
        lo, hi = p.range
        return int(min(max(round(x), lo), hi))
    return float(x)


def _levels(p: Parameter, kind: str) -> list[Any]:
    if p.values is not None:
        return list(p.values)
    grid = np.linspace(p.range[0], p.range[1], p.steps)
    values = [_value(p, kind, x) for x in grid]
    return list(dict.fromkeys(values))  # integer rounding may repeat a level


def make_plan(exp: LoadedExperiment) -> Plan:
    spec = exp.spec
    method = spec.design.method
    params = spec.parameters
    problem = sample = None
    if method == "factorial":
        grids = [_levels(p, exp.kinds[p.path]) for p in params]
        points = [
            {p.path: v for p, v in zip(params, combo, strict=True)}
            for combo in itertools.product(*grids)
        ]
    elif method == "list":
        points = [dict(pt) for pt in spec.design.points]
    else:
        problem = salib_problem(exp)
        sample = _sample(method, problem, spec)
        points = [
            {p.path: _value(p, exp.kinds[p.path], x) for p, x in zip(params, row, strict=True)}
            for row in sample
        ]
    jobs = _jobs(exp, points)
    if method in ("sobol", "morris"):
        jobs += _noise_jobs(exp, first_id=len(jobs))
    return Plan(points, jobs, problem, sample)


def centre(exp: LoadedExperiment) -> dict[str, Any]:
    """The centre of every parameter's range (integers rounded)."""
    return {
        p.path: _value(p, exp.kinds[p.path], (p.range[0] + p.range[1]) / 2)
        for p in exp.spec.parameters
    }


def _sample(method: str, problem: dict[str, Any], spec) -> np.ndarray:
    d = spec.design
    if method in ("lhs", "emulator"):
        from scipy.stats import qmc

        spread = "random-cd" if method == "emulator" else None  # lhs kept as it was
        unit = qmc.LatinHypercube(
            d=problem["num_vars"], optimization=spread, seed=spec.seed
        ).random(d.samples)
        lo = np.array([b[0] for b in problem["bounds"]])
        hi = np.array([b[1] for b in problem["bounds"]])
        return lo + unit * (hi - lo)
    if method == "sobol":
        from SALib.sample import sobol

        return sobol.sample(
            problem, d.samples, calc_second_order=d.second_order, scramble=True, seed=spec.seed
        )
    from SALib.sample import morris

    return morris.sample(problem, d.samples, num_levels=d.levels, seed=spec.seed)


def _jobs(exp: LoadedExperiment, points: list[dict[str, Any]]) -> list[Job]:
    spec = exp.spec
    jobs = []
    for i, point in enumerate(points):
        for r in range(spec.replicates):
            jobs.append(_job(exp, i * spec.replicates + r, f"point {i}", i, r, point))
    return jobs


def _noise_jobs(exp: LoadedExperiment, first_id: int) -> list[Job]:
    # Seeds after the replicates' (seed + r, r < replicates), so no design point shares one.
    point = centre(exp)
    return [
        _job(exp, first_id + j, f"noise {j}", -1, j, point, seed_offset=exp.spec.replicates)
        for j in range(exp.spec.design.noise_runs)
    ]


def _job(
    exp: LoadedExperiment,
    job_id: int,
    label: str,
    point_index: int,
    replicate: int,
    point: dict[str, Any],
    seed_offset: int = 0,
) -> Job:
    spec = exp.spec
    seed = spec.seed + seed_offset + replicate
    return Job(
        id=job_id,
        label=label,
        point=point_index,
        replicate=replicate,
        seed=seed,
        base=exp.base,
        overrides=(*exp.overrides(point), f"seed={seed}"),
        source=str(exp.source),
        params=point,
        metrics=spec.outcomes.metrics,
        series=SeriesSpec(regions=REGIONS) if spec.outcomes.timeseries else None,
    )
