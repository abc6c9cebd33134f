"""Refine a calibration's parameter set on emulators of its patterns (history matching).

Reads the `particles.csv` of one or more runs of the same calibration file (a full run and
a local box, say), emulates each pattern the parameters drive, and prints the set, moving
only `--free` parameters from the scenario's values, whose smallest emulated margin is
largest (src/marketsim/experiments/refine.py). Then read that set on fresh seeds:

  python scripts/refine_calibration.py experiments/calibrate_facts.yaml out/facts out/local \\
      --free users.street_wariness,users.wariness_memory
  python scripts/validate_patterns.py --seeds 20 --first-seed 1001 --set ...   # the line printed
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from marketsim.experiments.calibrate import load_calibration, to_unit, to_values
from marketsim.experiments.refine import CANDIDATES, refine
from marketsim.scenario import ScenarioError, load_scenario


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("calibration", type=Path, help="the calibration file the runs were made with")
    ap.add_argument("runs", type=Path, nargs="+", help="calibrate output folders (particles.csv)")
    ap.add_argument("--free", default="", help="comma-separated parameter paths to move (all)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--candidates", type=int, default=CANDIDATES)
    a = ap.parse_args()
    try:
        cal = load_calibration(a.calibration)
        spec = cal.spec
        paths = [p.path for p in spec.parameters]
        free = [s for s in a.free.split(",") if s] or paths
        bad = [s for s in free if s not in paths]
        if bad:
            raise ScenarioError(f"--free: bad value {bad[0]!r} (allowed: {', '.join(paths)})")
        frames = []
        for folder in a.runs:
            f = folder / "particles.csv"
            if not f.is_file():
                raise ScenarioError(f"{folder}: no particles.csv: give a calibrate output folder")
            frames.append(pd.read_csv(f))
        sets = pd.concat(frames, ignore_index=True)
        missing = [c for c in paths + [f"figure:{p.name}" for p in spec.patterns] if c not in sets]
        if missing:
            raise ScenarioError(f"{a.runs[0]}: particles.csv: no column {missing[0]!r}")
        scenario = load_scenario((cal.source.parent / spec.scenario).resolve())
    except ScenarioError as exc:
        raise SystemExit(f"error: {exc}") from None

    resolved = scenario.resolved()
    start_values = {p: resolved[p.split(".")[0]][p.split(".")[1]] for p in paths}
    unit = np.vstack([to_unit(spec.parameters, row) for row in sets.to_dict("records")])
    start = to_unit(spec.parameters, start_values)
    figures = {p.name: sets[f"figure:{p.name}"].to_numpy(float) for p in spec.patterns}
    r = refine(spec.patterns, unit, figures, start, [paths.index(p) for p in free], a.seed,
               a.candidates)  # fmt: skip
    print(f"# {len(sets)} sets from {', '.join(map(str, a.runs))}; moving {len(free)} of "
          f"{len(paths)} parameters\n")  # fmt: skip
    print("| pattern | Q2 | emulated: start -> refined | margin: start -> refined |")
    print("| --- | --- | --- | --- |")
    for p in spec.patterns:
        if p.name in r.driven:
            print(f"| {p.name} | {r.q2[p.name]:.2f} | {r.start_figure[p.name]:+.4g} -> "
                  f"{r.figure[p.name]:+.4g} | {r.start_margin[p.name]:+.2f} -> "
                  f"{r.margin[p.name]:+.2f} |")  # fmt: skip
        else:
            print(f"| {p.name} | {r.q2[p.name]:.2f} | (mostly luck: read on many seeds) | |")
    values = to_values(spec.parameters, cal.kinds, np.clip(r.unit, 0, 1))
    print("\n" + " ".join(f"--set {p}={values[p]:.6g}" for p in free))


if __name__ == "__main__":
    main()
