"""The three experiment commands as functions: compare, sweep and sensitivity.

The CLI (`marketsim compare|sweep|sensitivity`) is a thin layer over these.
Each one builds its jobs, runs them through a runner into a resumable store,
and, once every run is on disk, writes its tables, plots and markdown.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from marketsim.experiments.compare import comparison_jobs, comparison_table, t_interval
from marketsim.experiments.design import make_plan
from marketsim.experiments.execute import Progress, execute
from marketsim.experiments.jobs import Job, SeriesSpec, job_scenario
from marketsim.experiments.plotting import subplots
from marketsim.experiments.report import write_comparison_report
from marketsim.experiments.runners import make_runner
from marketsim.experiments.sensitivity import write_sensitivity_report
from marketsim.experiments.spec import load_experiment
from marketsim.experiments.store import ResultStore


@dataclass
class Outcome:
    """What a command did: where its results are and how the runs went."""

    out: Path
    progress: Progress
    failures: dict[int, dict[str, Any]]
    report: Path | None = None
    detail: Any = None  # the analysis behind the report, for callers that want figures

    @property
    def complete(self) -> bool:
        return (
            not self.failures and self.progress.ran + self.progress.skipped == self.progress.total
        )


@dataclass
class Backend:
    name: str = "local"
    workers: int | None = None
    scheduler: str | None = None
    progress: bool | None = None


def _run(
    jobs: list[Job], store: ResultStore, manifest: dict, backend: Backend, overwrite: bool
) -> tuple[Progress, dict[int, dict[str, Any]]]:
    store.open(manifest, overwrite=overwrite)
    runner = make_runner(backend.name, backend.workers, backend.scheduler)
    try:
        progress = execute(jobs, store, runner, progress=backend.progress)
    finally:
        runner.close()
    failures = store.failed()
    if not failures:
        store.consolidate()
    return progress, failures


def command_line(*args: object) -> str:
    """The command that reproduces a result, for the report's last section."""
    return "marketsim " + " ".join(shlex.quote(str(a)) for a in args)


def run_compare(
    files: list[Path],
    out: Path,
    replicates: int = 10,
    seed: int = 1,
    overrides: list[str] | None = None,
    backend: Backend | None = None,
    overwrite: bool = False,
) -> Outcome:
    backend = backend or Backend()
    overrides = list(overrides or [])
    labels, jobs, digest = comparison_jobs(files, replicates, seed, overrides)
    store = ResultStore(out)
    manifest = {
        "kind": "compare",
        "name": "compare",
        "digest": digest,
        "labels": labels,
        "seeds": [seed + r for r in range(replicates)],
        "n_jobs": len(jobs),
        "files": [str(f) for f in files],
        "overrides": overrides,
    }
    progress, failures = _run(jobs, store, manifest, backend, overwrite)
    result = Outcome(out, progress, failures)
    if failures:
        return result
    runs = store.load()
    table = comparison_table(runs, labels)
    table.to_csv(out / "comparison.csv", index=False, float_format="%.6g")
    first = job_scenario(jobs[0])
    meta = {
        "replicates": replicates,
        "seed": seed,
        "days": first.steps,
        "burn_in": first.burn_in,
        "command": command_line(
            "compare",
            *files,
            "--replicates",
            replicates,
            "--seed",
            seed,
            *[x for o in overrides for x in ("--set", o)],
            "--out",
            out,
        ),
    }
    result.report = write_comparison_report(out, runs, store.load_series(), labels, meta)
    return result


def run_sweep(
    path: Path,
    out: Path | None = None,
    backend: Backend | None = None,
    overwrite: bool = False,
    samples: int | None = None,
) -> Outcome:
    exp = load_experiment(path, samples)
    plan = make_plan(exp)
    out = out or exp.default_out
    store = ResultStore(out)
    manifest = _manifest(exp, plan, "sweep")
    progress, failures = _run(plan.jobs, store, manifest, backend or Backend(), overwrite)
    result = Outcome(out, progress, failures)
    if failures:
        return result
    runs = store.load()
    result.report = _sweep_report(out, exp, plan, runs, command_line("sweep", path, "--out", out))
    return result


def run_sensitivity(
    path: Path,
    out: Path | None = None,
    backend: Backend | None = None,
    overwrite: bool = False,
    samples: int | None = None,
) -> Outcome:
    exp = load_experiment(path, samples)
    method = exp.spec.design.method
    if method not in ("sobol", "morris"):
        from marketsim.scenario import ScenarioError

        raise ScenarioError(
            f"{path}: design.method: bad value {method!r}: sensitivity needs sobol or morris "
            "(use `marketsim sweep` for other designs)"
        )
    plan = make_plan(exp)
    out = out or exp.default_out
    store = ResultStore(out)
    progress, failures = _run(
        plan.jobs, store, _manifest(exp, plan, "sensitivity"), backend or Backend(), overwrite
    )
    result = Outcome(out, progress, failures)
    if failures:
        return result
    runs = store.load()
    meta = {
        "name": exp.name,
        "description": exp.spec.description,
        "replicates": exp.spec.replicates,
        "seed": exp.spec.seed,
        "second_order": exp.spec.design.second_order,
        "levels": exp.spec.design.levels,
        "command": command_line("sensitivity", path, "--out", out),
        "ranges": [p.range for p in exp.spec.parameters],
    }
    result.report = write_sensitivity_report(
        out, method, plan.problem, plan.sample, runs, exp.spec.outcomes.analyse, meta
    )
    return result


def _manifest(exp, plan, kind: str) -> dict[str, Any]:
    return {
        "kind": kind,
        "name": exp.name,
        "digest": exp.digest(),
        "source": str(exp.source),
        "seeds": [exp.spec.seed + r for r in range(exp.spec.replicates)],
        "n_points": len(plan.points),
        "n_jobs": len(plan.jobs),
    }


KEY_OUTCOMES = (
    "all.net_harm_gbp",
    "all.violent_incidents",
    "all.acquisitive_crimes",
    "all.visible_dealing",
    "all.arrests",
)


def _sweep_report(out: Path, exp, plan, runs: pd.DataFrame, command: str) -> Path:
    """sweep.csv (per point: parameters, then mean and 95% CI of key outcomes) and sweep.md."""
    params = [p.path for p in exp.spec.parameters]
    keys = [k for k in KEY_OUTCOMES if k in runs.columns] or [
        c for c in runs.columns if "." in c and not c.startswith("param:")
    ][:5]
    rows = []
    for point, sub in runs.groupby("point", sort=True):
        row = {"point": point, **plan.points[point]}
        for k in keys:
            mean, lo, hi = t_interval(sub[k].to_numpy(float))
            row.update({k: mean, f"{k}_ci_low": lo, f"{k}_ci_high": hi})
        rows.append(row)
    table = pd.DataFrame(rows)
    table.to_csv(out / "sweep.csv", index=False, float_format="%.6g")
    (out / "plots").mkdir(exist_ok=True)
    headline = keys[0]
    md = [
        f"# Sweep: {exp.name}",
        "",
        exp.spec.description,
        "",
        f"{len(plan.points)} points x {exp.spec.replicates} replicate seed(s); design "
        f"{exp.spec.design.method}. Means and 95% intervals per point are in `sweep.csv`; "
        "every run is in `results.parquet`.",
        "",
    ]
    numeric = [p for p in params if pd.api.types.is_numeric_dtype(table[p])]
    if len(numeric) == 2 and exp.spec.design.method == "factorial":
        a, b = numeric
        grid = table.pivot_table(index=a, columns=b, values=headline)
        fig, ax = subplots(figsize=(7, 5))
        im = ax.imshow(
            grid.to_numpy(float) / (1e6 if "gbp" in headline else 1),
            origin="lower",
            aspect="auto",
            cmap="viridis_r",
        )
        ax.set_xticks(range(grid.shape[1]), [f"{v:g}" for v in grid.columns])
        ax.set_yticks(range(grid.shape[0]), [f"{v:g}" for v in grid.index])
        ax.set_xlabel(b)
        ax.set_ylabel(a)
        for (i, j), v in np.ndenumerate(grid.to_numpy(float)):
            ax.text(
                j,
                i,
                f"{v / (1e6 if 'gbp' in headline else 1):,.1f}",
                ha="center",
                va="center",
                fontsize=8,
                color="white",
            )
        fig.colorbar(im, ax=ax, label=headline + (" (GBP m)" if "gbp" in headline else ""))
        ax.set_title(f"{headline}: mean over seeds at each combination")
        fig.tight_layout()
        fig.savefig(out / "plots" / "sweep_grid.png", dpi=110)
        md += [
            "![grid](plots/sweep_grid.png)",
            "",
            f"*What this shows:* mean {headline} at each combination of `{a}` and `{b}`; "
            "lower (lighter) is less harm.",
            "",
        ]
    elif numeric:
        fig, axes = subplots(1, len(numeric), figsize=(4 * len(numeric), 3.6), squeeze=False)
        scale = 1e6 if "gbp" in headline else 1.0
        for ax, p in zip(axes[0], numeric, strict=True):
            ax.errorbar(
                table[p],
                table[headline] / scale,
                yerr=np.nan_to_num(
                    ((table[headline] - table[f"{headline}_ci_low"]) / scale).to_numpy()
                ),
                fmt="o",
                ms=3,
                alpha=0.7,
                capsize=1,
            )
            ax.set_xlabel(p)
            ax.grid(alpha=0.3)
        axes[0][0].set_ylabel(headline + (" (GBP m)" if scale > 1 else ""))
        fig.suptitle(f"{headline} against each parameter")
        fig.tight_layout()
        fig.savefig(out / "plots" / "sweep_params.png", dpi=110)
        md += [
            "![by parameter](plots/sweep_params.png)",
            "",
            f"*What this shows:* mean {headline} at each design point against each varied "
            "parameter (bars: 95% intervals over seeds).",
            "",
        ]
    best = table.nsmallest(min(5, len(table)), headline)
    md += [
        f"Lowest {headline}:",
        "",
        "| " + " | ".join([*params, headline]) + " |",
        "|---" * (len(params) + 1) + "|",
    ]
    for _, r in best.iterrows():
        md.append(
            "| "
            + " | ".join(
                [
                    *(f"{r[p]}" for p in params),
                    f"{r[headline]:,.4g} [{r[f'{headline}_ci_low']:,.4g}, "
                    f"{r[f'{headline}_ci_high']:,.4g}]",
                ]
            )
            + " |"
        )
    md += ["", "## How to reproduce", "", "```", command, "```", ""]
    path = out / "sweep.md"
    path.write_text("\n".join(md))
    return path


def run_pilot(
    path: Path, out: Path | None = None, backend: Backend | None = None, overwrite: bool = False
) -> Outcome:
    """Simulate a pilot and its counterfactual many times; write pilot.md with plots."""
    from marketsim.pilot.analysis import analyse_pilot
    from marketsim.pilot.report import write_pilot_report
    from marketsim.pilot.spec import load_pilot

    pilot = load_pilot(path)
    spec = pilot.spec
    out = out or Path("out") / pilot.name
    weeks = spec.before_days // 7
    series = SeriesSpec(
        columns=PILOT_SERIES,
        regions=("all", *pilot.pilot_regions, *pilot.comparison_regions, *pilot.buffer_regions),
        start=spec.start - 7 * weeks,
        bin_days=7,
    )
    jobs = []
    for r in range(spec.replicates):
        for k, arm in enumerate(("on", "off")):
            jobs.append(
                Job(
                    id=2 * r + k,
                    label=arm,
                    point=k,
                    replicate=r,
                    seed=spec.seed + r,
                    base=pilot.on if arm == "on" else pilot.off,
                    overrides=(f"seed={spec.seed + r}",),
                    source=str(path),
                    series=series,
                )
            )
    store = ResultStore(out)
    manifest = {
        "kind": "pilot",
        "name": pilot.name,
        "digest": pilot.digest(),
        "source": str(path),
        "seeds": [spec.seed + r for r in range(spec.replicates)],
        "n_jobs": len(jobs),
    }
    progress, failures = _run(jobs, store, manifest, backend or Backend(), overwrite)
    result = Outcome(out, progress, failures)
    if failures:
        return result
    res = analyse_pilot(pilot, store.load(), store.load_series())
    result.report = write_pilot_report(out, pilot, res, command_line("pilot", path, "--out", out))
    result.detail = res
    return result


PILOT_SERIES = (
    "acquisitive_crimes",
    "violent_incidents",
    "open_sales",
    "public_use",
    "overdoses",
    "treatment_entries",
    "fear",
    "arrests",
    "visible_dealing",
)
