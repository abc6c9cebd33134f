"""The experiment commands as functions: compare, sweep, sensitivity, pilot and calibrate.

The CLI (`marketsim compare|sweep|sensitivity|pilot|calibrate`) is a thin layer over these.
Each one builds its jobs, runs them through a runner into a resumable store,
and, once every run is on disk, writes its tables, plots and markdown.
"""

from __future__ import annotations

import hashlib
import json
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from marketsim.experiments.calibrate import (
    figures_from_store,
    load_calibration,
    search,
    stderr_log,
    wave_jobs,
)
from marketsim.experiments.calibrate_report import write_calibration_report
from marketsim.experiments.compare import comparison_jobs, comparison_table, printable
from marketsim.experiments.design import make_plan
from marketsim.experiments.execute import Progress, execute
from marketsim.experiments.jobs import Job, SeriesSpec, job_scenario
from marketsim.experiments.report import write_comparison_report, write_sweep_report
from marketsim.experiments.runners import check_backend, make_runner
from marketsim.experiments.sensitivity import write_sensitivity_report
from marketsim.experiments.spec import check_builds, load_experiment
from marketsim.experiments.store import ResultStore, check_folder
from marketsim.scenario import parse_override


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

    def __post_init__(self) -> None:
        check_backend(self.name, self.workers, self.scheduler)  # before any file is read


def _run(
    jobs: list[Job],
    store: ResultStore,
    manifest: dict,
    backend: Backend,
    overwrite: bool,
    results: Path | None = None,
) -> tuple[Progress, dict[int, dict[str, Any]]]:
    """Run the jobs not yet in the store, which is left open (locked) for the caller to
    read and close. An interrupt leaves with `results` (the folder
    to name in its message; default the store's) on the exception, as `.results`."""
    rasters = raster_digests(jobs)
    if rasters:  # (a manifest without them: an experiment of procedural towns)
        manifest = {**manifest, "rasters": rasters}
    store.open(manifest, overwrite=overwrite)  # (the caller's `with store` closes it)
    runner = make_runner(backend.name, backend.workers, backend.scheduler)
    try:
        progress = execute(jobs, store, runner, progress=backend.progress)
    except BaseException as exc:
        runner.close(abort=True)  # an interrupt or a full disk: stop the workers now
        if isinstance(exc, KeyboardInterrupt):
            exc.results = results or store.root
        raise
    runner.close()
    failures = store.failed()
    if not failures:
        store.consolidate()
    return progress, failures


def raster_digests(jobs: list[Job]) -> dict[str, str]:
    """Each raster town file the runs read, with a digest of its content: the experiment's
    digest has only the file's name, and runs made from an earlier version of the file
    are not this experiment's runs."""
    paths = set()
    for base in {id(job.base): job.base for job in jobs}.values():  # shared by most jobs
        town = base.get("town")
        if isinstance(town, dict) and isinstance(town.get("raster"), str):
            paths.add(town["raster"])
    for text in {o for job in jobs for o in job.overrides if o.startswith("town.raster=")}:
        paths.add(str(parse_override(text)[1]))
    digests = {}
    for path in sorted(paths):
        try:
            digests[path] = hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]
        except OSError:  # not there: the run that reads it says so
            continue
    return digests


def command_line(*args: object) -> str:
    """The command that reproduces a result, for the report's last section. A file name
    that is not UTF-8 (a byte Python keeps as a lone surrogate) is shown with the byte as
    an escape, `\\xff`: a report is UTF-8 text."""
    return "marketsim " + " ".join(shlex.quote(printable(str(a))) for a in args)


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
    for job in jobs[: len(labels)]:  # each scenario once, before any run
        check_builds(job_scenario(job), job.source)
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
    with ResultStore(out) as store:  # locked until the report is written
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
    manifest = _manifest(exp, plan, "sweep")
    with ResultStore(out) as store:  # locked until the report is written
        progress, failures = _run(plan.jobs, store, manifest, backend or Backend(), overwrite)
        result = Outcome(out, progress, failures)
        if failures:
            return result
        runs = store.load()
        result.report = write_sweep_report(
            out, exp, plan, runs, command_line("sweep", path, "--out", out)
        )
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
    if method not in ("sobol", "morris", "emulator"):
        from marketsim.scenario import ScenarioError

        raise ScenarioError(
            f"{path}: design.method: bad value {method!r}: sensitivity needs sobol, morris "
            "or emulator (use `marketsim sweep` for other designs)"
        )
    plan = make_plan(exp)
    out = out or exp.default_out
    with ResultStore(out) as store:  # locked until the report is written
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
            "command": command_line(
                "sensitivity",
                path,
                *(("--samples", samples) if samples is not None else ()),
                "--out",
                out,
            ),
            "ranges": [p.range for p in exp.spec.parameters],
        }
        if method == "emulator":
            from marketsim.experiments.emulator_report import write_emulator_report

            result.report = write_emulator_report(
                out, plan.problem, plan.sample, runs, exp.spec.outcomes.analyse, meta
            )
        else:
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


def run_pilot(
    path: Path,
    out: Path | None = None,
    backend: Backend | None = None,
    overwrite: bool = False,
    replicates: int | None = None,
) -> Outcome:
    """Simulate a pilot and its counterfactual many times; write pilot.md with plots.

    `replicates` replaces the file's (the --replicates option): a quick pass, into
    out/<name>-r<replicates>, before the full number of simulated pilots.
    """
    from marketsim.pilot.analysis import analyse_pilot
    from marketsim.pilot.report import write_pilot_report
    from marketsim.pilot.spec import load_pilot

    pilot = load_pilot(path, replicates)
    spec = pilot.spec
    out = out or Path("out") / (pilot.name + (f"-r{replicates}" if replicates else ""))
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
    manifest = {
        "kind": "pilot",
        "name": pilot.name,
        "digest": pilot.digest(),
        "source": str(path),
        "seeds": [spec.seed + r for r in range(spec.replicates)],
        "n_jobs": len(jobs),
    }
    with ResultStore(out) as store:  # locked until the report is written
        progress, failures = _run(jobs, store, manifest, backend or Backend(), overwrite)
        result = Outcome(out, progress, failures)
        if failures:
            return result
        res = analyse_pilot(pilot, store.load(), store.load_series())
        quick = ("--replicates", replicates) if replicates else ()
        result.report = write_pilot_report(
            out, pilot, res, command_line("pilot", path, *quick, "--out", out)
        )
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


def run_calibrate(
    path: Path,
    out: Path | None = None,
    backend: Backend | None = None,
    overwrite: bool = False,
    samples: int | None = None,
    waves: int | None = None,
    overrides: list[str] | None = None,
    replicates: int | None = None,
    log=None,
) -> Outcome:
    """Pattern-oriented calibration by ABC-SMC; each wave a resumable store in out/wave-<k>."""
    cal = load_calibration(path, samples, overrides, waves, replicates)
    out = out or cal.default_out
    check_folder(out)  # its waves' stores are opened one by one, the first after a log line
    backend = backend or Backend()
    total = Progress(total=0, skipped=0)
    failures: dict[int, dict[str, Any]] = {}
    digest = cal.digest()

    def run_wave(k: int, values: list[dict[str, Any]]):
        jobs = wave_jobs(cal, values)
        points = json.dumps(values, sort_keys=True).encode()
        manifest = {
            "kind": "calibrate",
            "name": f"{cal.spec.name} wave {k}",
            "digest": hashlib.sha256(digest.encode() + points).hexdigest()[:16],
            "source": str(cal.source),
            "seeds": [cal.spec.seed + r for r in range(cal.spec.replicates)],
            "n_points": len(values),
            "n_jobs": len(jobs),
        }
        with ResultStore(out / f"wave-{k}") as store:  # locked until its figures are read
            progress, failed = _run(jobs, store, manifest, backend, overwrite, results=out)
            for field in ("total", "skipped", "ran", "failed", "wall_s"):
                setattr(total, field, getattr(total, field) + getattr(progress, field))
            if failed:
                failures.update(failed)
                return None
            return figures_from_store(cal, store.load(), store.load_series())

    result = search(cal.spec, cal.kinds, run_wave, log=log or stderr_log)
    outcome = Outcome(out, total, failures)
    if not result.finished:
        return outcome
    flags = [*(f"--samples {samples}".split() if samples else [])]
    flags += [*(f"--waves {waves}".split() if waves else [])]
    flags += [*(f"--replicates {replicates}".split() if replicates else [])]
    flags += [x for o in overrides or [] for x in ("--set", o)]
    outcome.report = write_calibration_report(
        out, cal, result, command_line("calibrate", path, *flags, "--out", out), log or stderr_log
    )
    outcome.detail = result
    return outcome
