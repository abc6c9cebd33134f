"""`marketsim compare`: paired replicates of several scenarios, and their comparison.

Replicate r of every scenario runs on seed `seed + r`, so scenario differences
are paired (common random numbers): the same town, people and luck, except
where a tactic changes what happens. Jobs are numbered replicate by replicate, and
the number of replicates is not part of the experiment's digest, so asking a
finished comparison for more seeds runs only the new ones, and asking it for fewer
reads the first ones.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from marketsim.columns import REGIONS
from marketsim.experiments.jobs import Job, SeriesSpec
from marketsim.experiments.outcomes import direction, split
from marketsim.experiments.spec import scenario_mapping
from marketsim.scenario import ScenarioError, scenario_from_dict


def comparison_jobs(
    files: list[Path], replicates: int, seed: int, overrides: list[str]
) -> tuple[list[str], list[Job], str]:
    """Jobs for every (scenario, replicate), the scenario labels, and a digest of what the
    runs depend on (not the number of replicates: job r x scenarios + i is the same run
    whatever that number)."""
    labels, bases = [], []
    for path in files:
        base = scenario_mapping(path)
        sc = scenario_from_dict(base, source=str(path), overrides=overrides)  # fail early
        label = sc.name if sc.name not in labels else f"{sc.name} ({printable(path.stem)})"
        if label in labels:
            raise ScenarioError(f"{path}: the same scenario is listed twice")
        labels.append(label)
        bases.append((path, base))
    jobs = []
    for r in range(replicates):
        for i, (path, base) in enumerate(bases):
            jobs.append(
                Job(
                    id=r * len(bases) + i,
                    label=labels[i],
                    point=i,
                    replicate=r,
                    seed=seed + r,
                    base=base,
                    overrides=(*overrides, f"seed={seed + r}"),
                    source=str(path),
                    series=SeriesSpec(regions=REGIONS),
                )
            )
    blob = json.dumps(
        {
            "scenarios": [b for _, b in bases],
            "labels": labels,
            "seed": seed,
            "overrides": overrides,
        },
        sort_keys=True,
    )
    return labels, jobs, hashlib.sha256(blob.encode()).hexdigest()[:16]


def printable(text: str) -> str:
    """A file name as UTF-8 text (results and reports are): a byte that is not UTF-8,
    which Python keeps as a lone surrogate, is shown as an escape, `\\xff`."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def t_interval(x: np.ndarray) -> tuple[float, float, float]:
    """Mean and 95% t-interval (the interval is NaN with fewer than 2 values)."""
    x = x[np.isfinite(x)]
    if x.size == 0:
        return np.nan, np.nan, np.nan
    mean = float(x.mean())
    if x.size < 2:
        return mean, np.nan, np.nan
    half = float(stats.t.ppf(0.975, x.size - 1) * x.std(ddof=1) / np.sqrt(x.size))
    return mean, mean - half, mean + half


def comparison_table(runs: pd.DataFrame, labels: list[str]) -> pd.DataFrame:
    """One row per (scenario, region, metric): mean and 95% CI, and the paired
    difference from the first scenario with its CI and the share of seeds in
    which the scenario did better (by the metric's reading; blank if neutral)."""
    outcome_cols = [
        c for c in runs.columns if c not in ("job", "label", "point", "replicate", "seed")
    ]
    first = runs[runs.label == labels[0]].set_index("replicate")
    rows = []
    for label in labels:
        sub = runs[runs.label == label].set_index("replicate")
        common = sub.index.intersection(first.index)
        for col in outcome_cols:
            region, metric = split(col)
            values = sub[col].to_numpy(dtype=float)
            mean, lo, hi = t_interval(values)
            diff = sub.loc[common, col].to_numpy(float) - first.loc[common, col].to_numpy(float)
            dmean, dlo, dhi = t_interval(diff)
            good = direction(metric)
            ok = np.isfinite(diff)
            if label == labels[0] or not good or not ok.any():
                beat = np.nan
            else:
                beat = float(np.mean(diff[ok] < 0 if good == "lower" else diff[ok] > 0))
            rows.append(
                {
                    "scenario": label,
                    "region": region,
                    "metric": metric,
                    "n": int(np.isfinite(values).sum()),
                    "mean": mean,
                    "ci_low": lo,
                    "ci_high": hi,
                    "diff_vs_first": dmean,
                    "diff_ci_low": dlo,
                    "diff_ci_high": dhi,
                    "better_when": good,
                    "share_seeds_better": beat,
                }
            )
    return pd.DataFrame(rows)
