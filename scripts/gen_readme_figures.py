"""Regenerate the figures the README and docs quote, from the model itself.

    python scripts/gen_readme_figures.py          # rewrite the generated blocks in place
    python scripts/gen_readme_figures.py --check  # exit 1 if any block is out of date

Each generated block sits between two markers in its file:

    <!-- BEGIN generated: NAME (scripts/gen_readme_figures.py) -->
    ...
    <!-- END generated: NAME -->

The blocks: the first run's output (README), the session plan's figures for the
crackdown in the workshop app (README), and the run counts of the shipped
experiments (docs/experiments.md). A change to the model changes the first
two: rerun this script after it (tests/test_readme_figures.py says so). It runs
the default town for the baseline (two years after burn-in) and for the
crackdown and its no-tactic run (180 days): about a minute on 2 cores.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / "src") not in sys.path:
    sys.path.insert(0, str(ROOT / "src"))

from marketsim.cli import _human_summary  # noqa: E402
from marketsim.experiments.design import make_plan  # noqa: E402
from marketsim.experiments.spec import load_experiment  # noqa: E402
from marketsim.io import simulate  # noqa: E402
from marketsim.scenario import load_scenario  # noqa: E402
from marketsim.viz.workshop import HARM_GROUPS, Side, no_tactic_version  # noqa: E402

README = ROOT / "README.md"
EXPERIMENTS_MD = ROOT / "docs" / "experiments.md"
BLOCK = re.compile(
    r"(<!-- BEGIN generated: (?P<name>[\w-]+) \(scripts/gen_readme_figures\.py\) -->\n)"
    r"(?P<body>.*?)"
    r"(<!-- END generated: (?P=name) -->)",
    re.S,
)


def first_run() -> str:
    """`marketsim run scenarios/baseline.yaml --seed 1`, as it prints (less the time taken)."""
    sc = load_scenario(ROOT / "scenarios" / "baseline.yaml", ["seed=1"])
    _model, _ts, summary = simulate(sc)
    text = _human_summary(sc, summary, 0.0, Path("out/baseline"))
    text = text.replace(" (0.0 s)", "", 1)
    return f"```\n{text}\n```\n"


def session() -> str:
    """What the crackdown does on screen: the app's default scenario against its no-tactic
    run, same seed, over the crackdown's 60 days."""
    sc = load_scenario(ROOT / "scenarios" / "crackdown.yaml")
    tactic = next(t for t in sc.tactics if t.type == "crackdown")
    start, end = tactic.start, tactic.start + tactic.duration
    main, base = Side(sc, sc.seed), Side(no_tactic_version(sc), sc.seed)
    for side in (main, base):
        while side.model.day < end:
            side.step()
    during = slice(start, end)
    enforcement = list(HARM_GROUPS).index("Enforcement")

    def per_day(side: Side, column: str, region: str = "all") -> float:
        return float(side.series(column, region)[during].mean())

    def change(column: str, region: str = "all") -> float:
        b = per_day(base, column, region)
        return 100 * (per_day(main, column, region) - b) / b

    band = [float(s.harm_by_group()[during, enforcement].mean()) for s in (main, base)]
    harm = [float(np.cumsum(s.series("net_harm"))[-1]) for s in (main, base)]
    lines = [
        f"On the default seed ({sc.seed}), over the crackdown's {tactic.duration} days "
        f"(days {start} to {end - 1}), against the same town and seed with no tactic:",
        "",
        f"- visible dealing in the target: {change('visible_dealing', 'target'):+.0f}%; "
        f"in the buffer around it: {change('visible_dealing', 'buffer'):+.0f}%;",
        f"- open dealers in the target: {change('open_dealers', 'target'):+.0f}%, closed "
        f"(phone) dealers there: {change('closed_dealers', 'target'):+.0f}%;",
        f"- arrests, town-wide: {change('arrests'):+.1f}%, from the same force (officer-days "
        f"{change('police_officer_days'):+.0f}%); violent incidents: "
        f"{change('violent_incidents'):+.0f}%;",
        f"- the enforcement band of *Harm by type*: GBP {band[0] / 1e3:,.1f}k a day against "
        f"GBP {band[1] / 1e3:,.1f}k with no tactic;",
        f"- net harm by day {end}: GBP {harm[0] / 1e6:,.2f}m against GBP {harm[1] / 1e6:,.2f}m "
        f"({100 * (harm[0] - harm[1]) / harm[1]:+.1f}%).",
    ]
    return "\n".join(lines) + "\n"


SHIPPED = {
    "sobol_tactics_emulator": "emulator, the same 6 parameters and outcomes as "
    "`sobol_tactics.yaml`, space-filling points with replicates",
    "sobol_tactics": "Sobol, 6 parameters (crackdown intensity, duration and follow-up; "
    "targeted-deterrence credibility and its half-life; diversion capacity), N = 256 with "
    "second order",
    "morris_screening": "Morris, 22 parameters of all tactics run together, 10 trajectories",
    "treatment_x_diversion": "factorial, treatment places per site x diversion acceptance, 3 seeds",
}


def _runs(name: str, samples: int | None = None) -> tuple[int, int]:
    """(design points x replicates, all runs: those and the noise runs)."""
    experiment = load_experiment(ROOT / "experiments" / f"{name}.yaml", samples)
    plan = make_plan(experiment)
    return len(plan.points) * experiment.spec.replicates, len(plan.jobs)


def shipped_experiments() -> str:
    rows = ["| file | design | runs (of which noise runs) |", "| --- | --- | --- |"]
    for name, design in SHIPPED.items():
        points, jobs = _runs(name)
        noise = f" ({jobs - points:,})" if jobs > points else ""
        rows.append(f"| `experiments/{name}.yaml` | {design} | {jobs:,}{noise} |")
    return "\n".join(rows) + "\n"


def quick_pass() -> str:
    quick, full = _runs("sobol_tactics", 32)[1], _runs("sobol_tactics")[1]
    return (
        "```bash\nmarketsim sensitivity experiments/sobol_tactics.yaml --samples 32"
        f"   # {quick:,} runs instead of {full:,}\n```\n"
    )


GENERATORS: dict[str, Callable[[], str]] = {
    "first-run": first_run,
    "session": session,
    "shipped-experiments": shipped_experiments,
    "quick-pass": quick_pass,
}
FILES = {README: ("first-run", "session"), EXPERIMENTS_MD: ("shipped-experiments", "quick-pass")}


def render(path: Path, bodies: dict[str, str]) -> str:
    """`path`'s text with each generated block's body replaced."""
    text = path.read_text(encoding="utf-8")
    found = {m["name"] for m in BLOCK.finditer(text)}
    missing = set(FILES[path]) - found
    if missing:
        raise SystemExit(f"{path}: no generated block named {', '.join(sorted(missing))}")
    return BLOCK.sub(lambda m: m.group(1) + bodies[m["name"]] + m.group(4), text)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="exit 1 if a block is out of date")
    args = ap.parse_args(argv)
    bodies = {name: make() for name, make in GENERATORS.items()}
    stale = []
    for path in FILES:
        text = render(path, bodies)
        if args.check:
            if text != path.read_text(encoding="utf-8"):
                stale.append(str(path.relative_to(ROOT)))
        else:
            path.write_text(text, encoding="utf-8", newline="\n")
            print(f"wrote {path.relative_to(ROOT)}")
    if stale:
        print(
            f"out of date: {', '.join(stale)}; regenerate with: "
            "python scripts/gen_readme_figures.py",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
