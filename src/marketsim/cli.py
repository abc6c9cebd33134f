"""The `marketsim` command line."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from marketsim.scenario import ScenarioError, load_scenario, read_yaml

app = typer.Typer(
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


def _fail(message: str) -> None:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code=2)


@app.command()
def validate(
    files: Annotated[list[Path], typer.Argument(help="scenario YAML files to check")],
    set_: Annotated[
        list[str], typer.Option("--set", help="override a field: dotted.path=value")
    ] = [],  # noqa: B006
) -> None:
    """Check scenario files against the schema; one line per file."""
    bad = 0
    for path in files:
        try:
            sc = load_scenario(path, set_)
        except ScenarioError as exc:
            typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
            bad += 1
            continue
        typer.echo(f"ok: {path} ({sc.name}: {len(sc.tactics)} tactic(s), {sc.steps} days)")
    if bad:
        raise typer.Exit(code=2)


@app.command()
def run(
    scenario: Annotated[Path, typer.Argument(help="scenario YAML file")],
    seed: Annotated[int | None, typer.Option(help="root seed (default: the scenario's)")] = None,
    steps: Annotated[int | None, typer.Option(help="days to record after burn-in")] = None,
    set_: Annotated[
        list[str], typer.Option("--set", help="override a field: dotted.path=value")
    ] = [],  # noqa: B006
    out: Annotated[Path, typer.Option(help="output directory")] = Path("out"),
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="no progress bar or summary")
    ] = False,
) -> None:
    """Run one scenario and write timeseries.csv, summary.json and scenario.yaml."""
    overrides = list(set_)
    if seed is not None:
        overrides.append(f"seed={seed}")
    if steps is not None:
        overrides.append(f"steps={steps}")
    try:
        sc = load_scenario(scenario, overrides)
        from marketsim.io import simulate, write_outputs

        t0 = time.perf_counter()
        _model, ts, summary = simulate(sc, progress=not quiet and sys.stderr.isatty())
        wall = time.perf_counter() - t0
    except ScenarioError as exc:
        message = str(exc)
        # Problems found while building the model (a tactic area outside a raster town) lack the file.
        _fail(message if message.startswith(str(scenario)) else f"{scenario}: {message}")
        return
    write_outputs(out, sc, ts, summary)
    if not quiet:
        typer.echo(_human_summary(sc, summary, wall, out))


def _human_summary(sc, summary: dict, wall: float, out: Path) -> str:
    allr = summary["totals_by_region"]["all"]
    nh = summary["net_harm"]
    days = sc.steps
    w = summary["wdq"]
    conc = summary["violence_concentration"]
    lines = [
        f"{sc.name}: {days} days after {sc.burn_in} days burn-in, seed {sc.seed} ({wall:.1f} s)",
        f"  market     {allr['sales'] / days:,.0f} sales/day ({allr['open_sales'] / max(allr['sales'], 1):.0%} open), "
        f"{allr['active_dealers'] / days:,.0f} dealers/day, price GBP {allr['price']:.2f}",
        f"  harms      {allr['violent_incidents']:,.0f} violent incidents ({allr['homicides']:.0f} homicide{'' if allr['homicides'] == 1 else 's'}), "
        f"{allr['acquisitive_crimes']:,.0f} acquisitive crimes, {allr['overdose_deaths']:.0f} overdose deaths",
        f"  policing   {allr['arrests']:,.0f} arrests, {allr['prison_days']:,.0f} prison days, "
        f"{allr['police_officer_days']:,.0f} officer-days",
        f"  net harm   GBP {nh['cost_of_crime_gbp']['total'] / 1e6:,.2f}m (cost of crime); "
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
    import os

    if scenario is not None:
        try:
            load_scenario(scenario, list(set_))
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
    os.execvpe(argv[0], argv, env)  # the server replaces this process: one pid to stop


def main() -> None:
    app()


if __name__ == "__main__":
    main()
