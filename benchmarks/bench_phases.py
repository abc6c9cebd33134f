"""Where a run's time goes: milliseconds per day in each phase of `MarketModel.step`.

Profile before optimising: this times the twelve named phases
(marketsim.plan.PHASES, which `MarketModel.step` runs)
over the days of one scenario that a sweep worker runs (from the state it shares
with other runs, at the first day a tactic acts: burnin.py; a scenario with no
tactic after burn-in, such as the baseline, from the end of burn-in), and prints each
phase's time per day and share. The default is the base scenario of the Sobol
analysis (experiments/sobol_tactics.yaml), whose run time sets the wall time of
the sensitivity analyses.

Usage: python benchmarks/bench_phases.py [--scenario FILE] [--reps 3] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from pathlib import Path

from marketsim.burnin import BurnInCache
from marketsim.experiments.spec import load_experiment
from marketsim.model import MarketModel
from marketsim.plan import PHASES
from marketsim.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]


def timed_run(model: MarketModel, spent: Counter) -> float:
    """Run `model` to the end as `MarketModel.step` does, adding each phase's seconds
    (and the end of the day: the day count and the Mesa agent sets, as "views") to
    `spent`; returns the wall time."""
    world = model.world
    t0 = time.perf_counter()
    while world.day < world.config.steps:
        for name, phase in PHASES:
            t = time.perf_counter()
            phase(world)
            spent[name] += time.perf_counter() - t
        t = time.perf_counter()
        model.end_day()
        spent["views"] += time.perf_counter() - t
    model.finalize()
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--scenario", type=Path, help="a scenario file (default: the Sobol base)")
    ap.add_argument("--reps", type=int, default=3, help="runs to time (the best is reported)")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    a = ap.parse_args()
    if a.scenario is None:
        exp = load_experiment(ROOT / "experiments" / "sobol_tactics.yaml")
        scenario, label = exp.scenario({}, exp.spec.seed), "sobol_tactics base scenario"
    else:
        scenario, label = load_scenario(a.scenario), str(a.scenario)
    cache = BurnInCache()
    cache.model_for(scenario)  # burn in once, as a sweep worker does
    best, best_spent = float("inf"), Counter()
    for _ in range(a.reps):
        spent: Counter = Counter()
        model = cache.model_for(scenario)  # at the first day a tactic acts
        if model.day >= scenario.steps:
            # No tactic acts after burn-in (the baseline): the shared state is the whole
            # run, so time its recorded days instead, from the end of burn-in.
            model = MarketModel(scenario)
            while model.world.day < 0:
                model.step()
        days = scenario.steps - model.day
        wall = timed_run(model, spent)
        if wall < best:
            best, best_spent = wall, spent
    total = sum(best_spent.values())
    print(
        f"{label}: {days} days, best of {a.reps} runs {best:.2f} s ({best / days * 1e3:.2f} ms/day)"
    )
    rows = []
    for name, seconds in best_spent.most_common():
        phase = name
        rows.append({"phase": phase, "ms_per_day": seconds / days * 1e3, "share": seconds / total})
        print(f"  {phase:<12} {rows[-1]['ms_per_day']:6.3f} ms/day  {rows[-1]['share']:6.1%}")
    if a.json:
        a.json.write_text(json.dumps({"scenario": label, "run_s": best, "phases": rows}, indent=2))


if __name__ == "__main__":
    main()
