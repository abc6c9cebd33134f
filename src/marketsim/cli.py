"""The `marketsim` command line."""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from typer.core import TyperGroup

from marketsim import interrupts
from marketsim.interrupts import Interrupted
from marketsim.scenario import ScenarioError, load_scenario, read_yaml, refuse_set_by_runs
from marketsim.scenario import file_kind as scenario_file_kind

# click's exceptions, or typer's own copy of them (typer 0.2x vendors click).
_click_errors = sys.modules[typer.BadParameter.__module__]


class OneLineErrors(TyperGroup):
    """A bad option or argument (`--replicates 0`, `--steps abc`, a missing file name) as
    one `error:` line like every other error, not a usage block and a boxed message."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        argv = list(sys.argv[1:] if args is None else args)
        try:
            code = super().main(argv, prog_name, complete_var, False, **extra)
        except getattr(_click_errors, "NoArgsIsHelpError", ()):  # the help, as before
            return super().main(argv, prog_name, complete_var, True, **extra)
        except _click_errors.ClickException as exc:
            typer.secho(f"error: {_usage_line(exc, argv)}", fg=typer.colors.RED, err=True)
            sys.exit(exc.exit_code)
        except typer.Abort:
            typer.secho("error: aborted", fg=typer.colors.RED, err=True)
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)


def _usage_line(exc: Exception, argv: list[str]) -> str:
    """`--replicates: bad value '0': Input should be ... (see `marketsim compare --help`)`."""
    ctx = getattr(exc, "ctx", None)
    see = f" (see `{ctx.command_path} --help`)" if ctx is not None else ""
    param = getattr(exc, "param", None)
    if isinstance(exc, typer.BadParameter) and param is not None and param.opts:
        given = [
            token.split("=", 1)[1] if "=" in token else nxt
            for token, nxt in zip(argv, [*argv[1:], None], strict=True)
            if token.split("=", 1)[0] in param.opts
        ]
        if given and given[-1] is not None:
            text = " ".join(exc.message.split())
            return f"{param.opts[-1]}: bad value {given[-1]!r}: {text}{see}"
    return " ".join(exc.format_message().split()) + see


app = typer.Typer(
    cls=OneLineErrors,
    help="marketsim: test how enforcement tactics reshape a local drug market, and the net harm that follows.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def scenarios_dir() -> Path:
    """The shipped scenarios: ./scenarios if present, else the repository's."""
    here = Path.cwd() / "scenarios"
    if here.is_dir():
        return here
    return Path(__file__).resolve().parents[2] / "scenarios"


MAX_SEED = 2**63 - 1  # a scenario's seed (scenario.Scenario.seed)


def _fail(message: str) -> None:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code=2)


def _on_stop_signal(signum: int, _frame) -> None:
    interrupts.request(signum)  # for the loops' checks, if this raise is lost (interrupts)
    signal.signal(signum, signal.SIG_DFL)  # a second signal ends the process at once
    raise Interrupted(signum)


def _exit_code(exc: KeyboardInterrupt) -> int:
    """128 + the signal, as a shell reports a process the signal ended (130 for Ctrl-C)."""
    return 128 + (exc.signum if isinstance(exc, Interrupted) else signal.SIGINT)


def _check_out(out: Path) -> None:
    """Make the output folder now, so a bad --out fails before the run, not after it."""
    if out.exists() and not out.is_dir():
        _fail(f"--out: bad value {str(out)!r}: is a file (allowed: a folder)")
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".marketsim-write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        _fail(f"--out: bad value {str(out)!r}: cannot write there ({exc.strerror or exc})")


def _check_scenario(path: Path, overrides: list[str]) -> tuple[str, list[str]]:
    """Every check `run` makes before its first day: the schema, then building the town
    and its agents (raster problems, a buffer that leaves no control area)."""
    from marketsim.experiments.spec import check_builds

    sc = load_scenario(path, overrides)
    check_builds(sc, path, overrides)
    return f"scenario {sc.name}: {len(sc.tactics)} tactic(s), {sc.steps} days", sc.warnings()


def _check_experiment(path: Path, overrides: list[str]) -> tuple[str, list[str]]:
    from marketsim.experiments.spec import load_experiment

    exp = load_experiment(path)
    method = exp.spec.design.method
    kind = "sensitivity" if method in ("sobol", "morris") else "sweep"
    summary = (
        f"{kind} {exp.name}: {method} design, {len(exp.spec.parameters)} parameter(s), "
        f"{exp.spec.replicates} replicate(s); `marketsim {kind}` runs it"
    )
    return summary, exp.scenario({}, exp.spec.seed).warnings()


def _check_pilot(path: Path, overrides: list[str]) -> tuple[str, list[str]]:
    from marketsim.pilot.spec import load_pilot

    pilot = load_pilot(path)
    summary = (
        f"pilot {pilot.name}: {len(pilot.spec.pilot_areas)} area(s), "
        f"{pilot.spec.replicates} replicates; `marketsim pilot` runs it"
    )
    return summary, pilot.scenario("on", pilot.spec.seed).warnings()


def _check_calibration(path: Path, overrides: list[str]) -> tuple[str, list[str]]:
    from marketsim.experiments.calibrate import load_calibration

    cal = load_calibration(path)
    spec = cal.spec
    summary = (
        f"calibration {spec.name}: {len(spec.parameters)} free parameter(s), "
        f"{len(spec.patterns)} pattern(s), {len(cal.runs)} scenario(s); "
        "`marketsim calibrate` runs it"
    )
    return summary, []


# The checks of each kind of input file (scenario.FILE_KINDS tells the kinds apart). A
# check returns a one-line summary and the file's warnings, or raises ScenarioError.
CHECKS: dict[str, Callable[[Path, list[str]], tuple[str, list[str]]]] = {
    "scenario": _check_scenario,
    "experiment": _check_experiment,
    "pilot": _check_pilot,
    "calibration": _check_calibration,
}


def file_kind(data: dict) -> tuple[str, Callable[[Path, list[str]], tuple[str, list[str]]]]:
    """The kind of an input file, from its top-level keys, and its check."""
    kind = scenario_file_kind(data)
    return kind, CHECKS[kind]


def _warn(lines: list[str], path: Path) -> None:
    for line in lines:
        typer.secho(f"warning: {path}: {line}", fg=typer.colors.YELLOW, err=True)


@app.command()
def validate(
    files: Annotated[
        list[Path],
        typer.Argument(help="input files: scenario, sweep, sensitivity, pilot or calibration"),
    ],
    set_: Annotated[
        list[str], typer.Option("--set", help="override a field: dotted.path=value")
    ] = [],  # noqa: B006
) -> None:
    """Check input files of any kind, as the command that reads each would before its
    first run; one line per file (warnings on their own lines)."""
    bad = 0
    for path in files:
        try:
            kind, check = file_kind(read_yaml(path))
            if set_ and kind != "scenario":
                raise ScenarioError(
                    f"{path}: --set: applies to scenario files only (this is a {kind} file)"
                )
            summary, warnings = check(path, list(set_))
        except ScenarioError as exc:
            typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
            bad += 1
            continue
        _warn(warnings, path)
        typer.echo(f"ok: {path} ({summary})")
    if bad:
        raise typer.Exit(code=2)


@app.command()
def run(
    scenario: Annotated[Path, typer.Argument(help="scenario YAML file")],
    seed: Annotated[
        int | None,
        typer.Option(help="root seed (default: the scenario's)", min=0, max=MAX_SEED),
    ] = None,
    steps: Annotated[
        int | None,
        typer.Option(
            help="days to record after burn-in (default: the scenario's)", min=1, max=36500
        ),
    ] = None,
    set_: Annotated[
        list[str], typer.Option("--set", help="override a field: dotted.path=value")
    ] = [],  # noqa: B006
    out: Annotated[Path, typer.Option(help="output directory")] = Path("out"),
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="no progress bar or summary")
    ] = False,
    keep_events: Annotated[
        bool,
        typer.Option(
            "--keep-events",
            help="also write the harm ledger: harm_events.parquet (day, cell, harm, cause) "
            "and harm_by_cell.csv (totals per cell)",
        ),
    ] = False,
) -> None:
    """Run one scenario and write timeseries.csv, summary.json and scenario.yaml."""
    options = {}  # a conflict they make (a window past --steps) is blamed on the option
    if seed is not None:
        options[f"seed={seed}"] = f"--seed {seed}"
    if steps is not None:
        options[f"steps={steps}"] = f"--steps {steps}"
    sc = None
    try:
        sc = load_scenario(scenario, list(set_), options)
        from marketsim.io import simulate, write_outputs

        _warn(sc.warnings(), scenario)
        _check_out(out)
        t0 = time.perf_counter()
        model, ts, summary = simulate(
            sc, progress=not quiet and sys.stderr.isatty(), keep_events=keep_events
        )
        wall = time.perf_counter() - t0
    except ScenarioError as exc:
        if str(exc).startswith(str(scenario)):
            _fail(str(exc))
        else:  # found building the town, which does not know the file
            from marketsim.experiments.spec import built_label

            _fail(built_label(exc, scenario, list(set_), sc))
        return
    except KeyboardInterrupt as exc:
        typer.secho("\ninterrupted: the run was not finished; nothing written", err=True)
        raise typer.Exit(code=_exit_code(exc)) from None
    try:
        write_outputs(out, sc, ts, summary)
        if keep_events:
            from marketsim.exports import write_harm_exports

            written = write_harm_exports(out, model)
            if not quiet:
                typer.echo(f"harm ledger: {', '.join(str(p) for p in written)}")
    except OSError as exc:
        _fail(f"{out}: cannot write the results: {exc.strerror or exc}")
    if not quiet:
        typer.echo(_human_summary(sc, summary, wall, out))


def _human_summary(sc, summary: dict, wall: float, out: Path) -> str:
    allr = summary["totals_by_region"]["all"]
    nh = summary["net_harm"]
    days = sc.steps
    w = summary["wdq"]
    conc = summary["violence_concentration"]
    from marketsim.measures import MEASURES  # reporting rates: offences -> recorded crimes

    recorded = MEASURES["recorded_acquisitive_crime"].reporting
    lines = [
        f"{sc.name}: {days} days after {sc.burn_in} days burn-in, seed {sc.seed} ({wall:.1f} s)",
        f"  town       {summary['town']['residents']:,} residents on "
        f"{summary['town']['width_cells']}x{summary['town']['height_cells']} cells of about 100 m",
        f"  market     {allr['sales'] / days:,.0f} sales/day ({allr['open_sales'] / max(allr['sales'], 1):.0%} open), "
        f"{allr['active_dealers'] / days:,.0f} dealers/day, price GBP {allr['price']:.2f}",
        f"  harms      {allr['violent_incidents']:,.0f} violent incidents ({allr['homicides']:.0f} homicide{'' if allr['homicides'] == 1 else 's'}), "
        f"{allr['overdose_deaths']:.0f} overdose deaths",
        f"             {allr['acquisitive_crimes']:,.0f} acquisitive offences committed "
        f"(about {allr['acquisitive_crimes'] * recorded:,.0f} recorded at the {recorded:.0%} reporting rate)",
        f"  policing   {allr['arrests']:,.0f} arrests, {allr['prison_days']:,.0f} prison days, "
        f"{allr['police_officer_days']:,.0f} officer-days",
        f"  net harm   GBP {nh['cost_of_crime_gbp']['total'] / 1e6:,.2f}m (Home Office cost of crime); "
        f"{nh['crime_harm_index']['total']:,.0f} CHI days",
    ]
    if conc.get("top_10pct_share") is not None:
        lines.append(
            f"  violence   top 10% of dealers caused {conc['top_10pct_share']:.0%} of incidents"
        )
    if w["value"] is not None:
        lines.append(f"  WDQ        {w['value']:+.2f} on {w['metric']} ({w['reading']})")
    else:
        lines.append(f"  WDQ        {w['reading']}")
    lines.append(f"  wrote      {out}/timeseries.csv, summary.json, scenario.yaml, harm_matrix.md")
    return "\n".join(lines)


BackendOpt = Annotated[
    str, typer.Option(help="where runs execute: local (worker processes), dask, or serial")
]
WorkersOpt = Annotated[
    int | None, typer.Option(help="worker processes (default: all cores)", min=1)
]
SchedulerOpt = Annotated[
    str | None,
    typer.Option(help="Dask scheduler address, e.g. tcp://10.0.0.5:8786 (dask backend)"),
]
ExperimentOutOpt = Annotated[
    Path | None, typer.Option(help="output directory (default: out/<experiment name>)")
]
OverwriteOpt = Annotated[
    bool, typer.Option(help="discard results already in --out instead of resuming")
]
SamplesOpt = Annotated[
    int | None,
    typer.Option(
        help="replace the file's design.samples (lhs or emulator points, Sobol N, Morris "
        "trajectories) for a quicker pass; results go to out/<name>-n<samples>",
        min=1,
        max=100_000,
    ),
]


def _experiment(action, out_hint: str):
    """Run an experiment command with clean errors; interrupted runs say how to resume."""
    from marketsim.experiments.runners import RunnerError
    from marketsim.experiments.store import StoreError

    t0 = time.perf_counter()
    try:
        result = action()
    except (ScenarioError, StoreError, RunnerError) as exc:
        _fail(str(exc))
        return None
    except OSError as exc:  # a full disk mid-sweep: every finished run is already on disk
        _fail(
            f"cannot write results in {out_hint}: {exc.strerror or exc}; finished runs are kept "
            "there: free some space and run the same command again to resume"
        )
        return None
    except KeyboardInterrupt as exc:
        typer.secho(
            f"\ninterrupted: finished runs are saved in {getattr(exc, 'results', out_hint)}; "
            "run the same command again to resume",
            fg=typer.colors.YELLOW,
            err=True,
        )
        raise typer.Exit(code=_exit_code(exc)) from None
    p = result.progress
    # The time in all includes gathering results and the report, not only runs.
    typer.echo(
        (f"{p.ran} run(s) at {p.runs_per_minute:.1f}/min" if p.ran else "no runs left to do")
        + (f", {p.skipped} already done" if p.skipped else "")
        + f"; {time.perf_counter() - t0:.0f} s in all; results in {result.out}"
    )
    if result.failures:
        typer.secho(f"{len(result.failures)} run(s) failed:", fg=typer.colors.RED, err=True)
        for job, info in sorted(result.failures.items())[:5]:
            first = info["error"].splitlines()[0]
            typer.secho(f"  job {job} ({info['label']}, seed {info['seed']}): {first}", err=True)
        typer.secho(
            f"  details in {result.out}/failures/; re-run the command to retry them",
            err=True,
        )
        raise typer.Exit(code=1)
    if result.report is not None:
        typer.echo(f"report: {result.report}")
    return result


@app.command()
def compare(
    scenarios: Annotated[
        list[Path],
        typer.Argument(help="scenario files; the first is the one others are compared with"),
    ],
    replicates: Annotated[
        int, typer.Option(help="paired seeds per scenario", min=1, max=10_000)
    ] = 10,
    seed: Annotated[int, typer.Option(help="first seed; replicate r uses seed + r", min=0)] = 1,
    set_: Annotated[
        list[str],
        typer.Option("--set", help="override a field in every scenario: dotted.path=value"),
    ] = [],  # noqa: B006
    out: Annotated[Path, typer.Option(help="output directory")] = Path("out/compare"),
    backend: BackendOpt = "local",
    workers: WorkersOpt = None,
    scheduler: SchedulerOpt = None,
    overwrite: OverwriteOpt = False,
) -> None:
    """Paired comparison of scenarios: comparison.csv and report.md with plots.

    Every scenario runs on the same seeds, so differences are paired (common
    random numbers). An interrupted comparison resumes when run again.
    """
    from marketsim.experiments.commands import Backend, run_compare

    if len(scenarios) < 2:
        _fail("compare needs at least two scenario files (the first is the reference)")
    try:
        rule = "replicate r runs on seed --seed + r (allowed: the --seed option)"
        refuse_set_by_runs(list(set_), "--set", {"seed": rule})
    except ScenarioError as exc:
        _fail(str(exc))
    if seed + replicates - 1 > MAX_SEED:  # the last replicate's seed must be a seed too
        _fail(
            f"--seed: bad value {seed}: with --replicates {replicates} the last seed would be "
            f"{seed + replicates - 1} (allowed: seed + replicates - 1 <= {MAX_SEED})"
        )
    _experiment(
        lambda: run_compare(
            scenarios,
            out,
            replicates,
            seed,
            list(set_),
            Backend(backend, workers, scheduler),
            overwrite,
        ),
        str(out),
    )


@app.command()
def sweep(
    experiment: Annotated[Path, typer.Argument(help="experiment YAML file (see experiments/)")],
    out: ExperimentOutOpt = None,
    backend: BackendOpt = "local",
    workers: WorkersOpt = None,
    scheduler: SchedulerOpt = None,
    overwrite: OverwriteOpt = False,
    samples: SamplesOpt = None,
) -> None:
    """Run a parameter sweep (factorial, Latin hypercube or list) into a resumable store."""
    from marketsim.experiments.commands import Backend, run_sweep

    _experiment(
        lambda: run_sweep(
            experiment, out, Backend(backend, workers, scheduler), overwrite, samples
        ),
        str(out or "out/<name>"),
    )


@app.command()
def sensitivity(
    experiment: Annotated[
        Path, typer.Argument(help="experiment YAML file with a sobol, morris or emulator design")
    ],
    out: ExperimentOutOpt = None,
    backend: BackendOpt = "local",
    workers: WorkersOpt = None,
    scheduler: SchedulerOpt = None,
    overwrite: OverwriteOpt = False,
    samples: SamplesOpt = None,
) -> None:
    """Global sensitivity analysis (SALib Sobol or Morris, or a Gaussian-process emulator of
    replicated runs): index tables, plots and summary.md."""
    from marketsim.experiments.commands import Backend, run_sensitivity

    _experiment(
        lambda: run_sensitivity(
            experiment, out, Backend(backend, workers, scheduler), overwrite, samples
        ),
        str(out or "out/<name>"),
    )


@app.command()
def pilot(
    pilot_file: Annotated[
        Path, typer.Argument(help="pilot YAML file (see experiments/pilot_diversion.yaml)")
    ],
    out: ExperimentOutOpt = None,
    backend: BackendOpt = "local",
    workers: WorkersOpt = None,
    scheduler: SchedulerOpt = None,
    overwrite: OverwriteOpt = False,
    replicates: Annotated[
        int | None,
        typer.Option(
            help="replace the file's replicates (simulated pilots per arm) for a quicker "
            "pass; results go to out/<name>-r<replicates>",
            min=2,
            max=100_000,
        ),
    ] = None,
) -> None:
    """Plan a pilot: power, detectable effect, size needed, misleading results, value for money.

    Simulates the pilot and the same town without it on paired seeds, observes the pilot
    as its evaluation would, and writes pilot.md with plots and measures.csv.
    """
    from marketsim.experiments.commands import Backend, run_pilot

    _experiment(
        lambda: run_pilot(
            pilot_file, out, Backend(backend, workers, scheduler), overwrite, replicates
        ),
        str(out or "out/<name>"),
    )


@app.command()
def calibrate(
    calibration: Annotated[
        Path, typer.Argument(help="calibration YAML file (see experiments/calibrate_*.yaml)")
    ],
    out: ExperimentOutOpt = None,
    backend: BackendOpt = "local",
    workers: WorkersOpt = None,
    scheduler: SchedulerOpt = None,
    overwrite: OverwriteOpt = False,
    samples: Annotated[
        int | None,
        typer.Option(
            help="parameter sets per wave instead of the file's search.population (a quick "
            "pass); results go to out/<name>-n<samples>",
            min=1,
            max=100_000,
        ),
    ] = None,
    waves: Annotated[
        int | None, typer.Option(help="waves instead of the file's search.waves", min=1, max=100)
    ] = None,
    replicates: Annotated[
        int | None,
        typer.Option(help="seeds per parameter set instead of the file's", min=1, max=1000),
    ] = None,
    set_: Annotated[
        list[str], typer.Option("--set", help="override a field in every run: dotted.path=value")
    ] = [],  # noqa: B006
) -> None:
    """Fit free parameters to observed patterns (ABC-SMC in waves; docs/calibration.md).

    Writes accepted sets, each pattern's figure per set, posterior plots, which parameters
    the patterns pin down, and best.yaml, a scenario with the closest set. Resumable.
    """
    from marketsim.experiments.commands import Backend, run_calibrate

    _experiment(
        lambda: run_calibrate(
            calibration,
            out,
            Backend(backend, workers, scheduler),
            overwrite,
            samples,
            waves,
            list(set_),
            replicates,
        ),
        str(out or "out/<name>"),
    )


@app.command("scenarios")
def list_scenarios() -> None:
    """List the shipped scenarios with their one-line descriptions."""
    folder = scenarios_dir()
    files = sorted(folder.glob("*.yaml"))
    if not files:
        _fail(f"no scenarios found in {folder}")
    width = max(len(f.stem) for f in files)
    for f in files:
        try:
            desc = str(read_yaml(f).get("description", "")).strip()
        except ScenarioError as exc:
            desc = f"(unreadable: {exc})"
        typer.echo(f"{f.stem:<{width}}  {desc}")


@app.command()
def viz(
    scenario: Annotated[
        Path | None, typer.Argument(help="scenario to open with (default: crackdown)")
    ] = None,
    port: Annotated[int, typer.Option(help="port to serve on")] = 8765,
    host: Annotated[
        str, typer.Option(help="address to bind; 0.0.0.0 exposes the app to the network")
    ] = "127.0.0.1",
    set_: Annotated[
        list[str],
        typer.Option("--set", help="override a field in every scenario the app loads"),
    ] = [],  # noqa: B006
) -> None:
    """Serve the workshop app (Mesa SolaraViz) in a browser; works offline."""
    if not 1 <= port <= 65535:
        _fail(f"--port: bad value {port}: allowed 1-65535")
    # The --set is checked on the scenario the app opens with (crackdown by default), not
    # left to fail in the browser.
    opened = scenario if scenario is not None else scenarios_dir() / "crackdown.yaml"
    if scenario is not None or (set_ and opened.is_file()):
        try:
            load_scenario(opened, list(set_))
        except ScenarioError as exc:
            _fail(str(exc))
    try:
        import solara  # noqa: F401  (only to check the viz extra is installed)
    except ImportError:
        _fail("the app needs the viz extra: pip install 'marketsim[viz]'")
    if host not in ("127.0.0.1", "localhost", "::1"):
        typer.secho(
            f"warning: binding to {host}: anyone who can reach this machine can open the app",
            fg=typer.colors.YELLOW,
            err=True,
        )
    env = dict(os.environ)
    env.update(
        {
            "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False",  # no usage reports
            "SOLARA_THEME_SHOW_BANNER": "False",
            "MARKETSIM_VIZ_SCENARIO": str(scenario.resolve()) if scenario else "",
            "MARKETSIM_VIZ_SET": "\n".join(set_),
        }
    )
    _check_port_free(host, port)
    typer.echo(f"marketsim viz: http://{host}:{port}  (Ctrl-C to stop)")
    argv = [
        sys.executable,
        "-m",
        "solara",
        "run",
        "marketsim.viz.app",
        "--host",
        host,
        "--port",
        str(port),
        "--no-open",
        "--production",
        "--no-check-version",  # no call to PyPI: the app must work offline
    ]
    sys.stdout.flush()
    raise typer.Exit(code=serve(argv, env))


def _check_port_free(host: str, port: int) -> None:
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        _fail(f"--host: bad value {host!r}: {exc.strerror or exc}")
        return
    family, kind, proto, _name, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            _fail(f"--port: bad value {port}: cannot listen on {host} ({exc.strerror or exc})")


def serve(argv: list[str], env: dict[str, str]) -> int:
    """Run the server in a process group of its own and stop the whole group when this
    command stops (SIGTERM, SIGINT, SIGHUP), so nothing is left listening on the port."""
    import subprocess

    server = subprocess.Popen(argv, env=env, start_new_session=True, preexec_fn=_die_with_parent)

    def stop(signum: int, _frame) -> None:
        _stop_group(server)
        raise typer.Exit(code=128 + signum)

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, stop)
    try:
        return server.wait()
    finally:
        _stop_group(server)


def _die_with_parent() -> None:
    """In the server, before it starts (Linux): get SIGTERM if `marketsim viz` is killed
    outright (`kill -9`), when it has no chance to stop the group itself."""
    if sys.platform.startswith("linux"):
        import ctypes

        PR_SET_PDEATHSIG = 1
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _stop_group(server, grace_s: float = 5.0) -> None:
    import subprocess

    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(server.pid, sig)
        except ProcessLookupError:
            break  # the group is gone: nothing left to stop
        try:
            server.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            continue
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, signal.SIG_IGN)  # the group is stopped; the command exits next


def _unraisable(hook_args) -> None:
    """A stop signal raised inside a callback that cannot raise (a compiled kernel's cache
    loading, a finaliser) is not printed as an error: the loops' checks take it up. Nor,
    after a stop signal, is the failing finaliser of a compiler object (llvmlite's, numba's)
    that the signal left half-built while a kernel loaded from its cache: an AttributeError
    that is the interrupt's echo, not a fault."""
    if interrupts.pending() is not None and (
        isinstance(hook_args.exc_value, KeyboardInterrupt)
        or getattr(hook_args.object, "__module__", "").startswith(("llvmlite.", "numba."))
    ):
        return
    sys.__unraisablehook__(hook_args)


def _install_stop_handlers() -> None:
    """Ctrl-C, SIGTERM and SIGHUP stop a command cleanly (`_on_stop_signal`); a signal
    ignored when the command started (nohup, a background job) stays ignored."""
    sys.unraisablehook = _unraisable
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(signum) is not signal.SIG_IGN:
            signal.signal(signum, _on_stop_signal)


def main() -> None:
    _install_stop_handlers()
    app()


if __name__ == "__main__":
    main()
