"""Where hot-spot patrol's open sales go: the hot cells, the rings round them, the rest.

Runs `scenarios/hotspot_patrol.yaml` and the baseline on the same seeds (common random
numbers) and sums, for each arm, the sales of open dealers at their pitch
(`open_sales_by_cell`) over the last `--window` days of the run. The cells are the patrol's
first ten hot cells, those within 1 and within 3 cells of them (`ring_cells`; the 3-cell
ring is the catchment the tactic's own report uses), and the rest of the town. Each is a
pooled change against baseline with its 95% interval over seeds (`change_interval`).
Hot-spot trials read displacement or a diffusion of benefits in a catchment area round the
hot spots (Braga et al. 2019); a fall in the rings would be a diffusion, a rise
displacement. docs/validation.md ("Hot-spot patrol: where the sales go") quotes it.

Usage: python scripts/hotspot_rings.py [--seeds 40] [--first-seed 101] [--steps 400]
       [--window 90] [--workers 2] [--set PATH=VALUE ...] [--tactic-set PATH=VALUE ...]

`--set` applies to both arms (a changed model), `--tactic-set` to the patrol's arm only
(say `tactics.1.units=1`, a smaller dose).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor

import numpy as np

from marketsim.experiments.runners import exit_with_parent
from marketsim.model import MarketModel
from marketsim.scenario import ScenarioError, load_scenario
from marketsim.tactics.hotspot_patrol import HotspotPatrol
from marketsim.tactics.open_market_watch import open_sales_by_cell, ring_cells
from marketsim.validation import FIRST_SEED, SCENARIOS, change_interval

AREAS = ("hot cells", "within 1 cell", "within 3 cells", "rest of town")


def _arm(name: str, overrides: list[str], steps: int, window: int) -> tuple[np.ndarray, object]:
    """Open dealers' sales per cell summed over the run's last `window` days, and its model."""
    model = MarketModel(load_scenario(SCENARIOS / f"{name}.yaml", [f"steps={steps}", *overrides]))
    world = model.world
    total = np.zeros(world.town.n_cells)
    while world.day < steps:
        model.step()
        if world.day > steps - window:  # yesterday's sales, read after the step
            total += open_sales_by_cell(world)
    return total, model


def one_seed(job: tuple[int, list[str], list[str], int, int]) -> dict[str, tuple[float, float]]:
    """Per area, (patrol arm, baseline arm) open sales for one seed."""
    seed, both, tactic_only, steps, window = job
    patrol, model = _arm("hotspot_patrol", [f"seed={seed}", *both, *tactic_only], steps, window)
    base, _ = _arm("baseline", [f"seed={seed}", *both], steps, window)
    world = model.world
    tactic = next(t for t in world.tactics if isinstance(t, HotspotPatrol))
    hot = np.asarray(tactic.initial_cells, dtype=np.int64)
    near1, near3 = ring_cells(world, hot, 1), ring_cells(world, hot, 3)
    rest = np.setdiff1d(np.arange(world.town.n_cells), np.concatenate([hot, near3]))
    cells = dict(zip(AREAS, (hot, near1, near3, rest), strict=True))
    return {area: (float(patrol[c].sum()), float(base[c].sum())) for area, c in cells.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=40)
    ap.add_argument("--first-seed", type=int, default=FIRST_SEED)
    ap.add_argument(
        "--steps", type=int, default=400, help="recorded days a run (patrol: day 120 on)"
    )
    ap.add_argument("--window", type=int, default=90, help="last days of the run read")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--set", dest="both", action="append", default=[], metavar="PATH=VALUE")
    ap.add_argument(
        "--tactic-set", dest="tactic", action="append", default=[], metavar="PATH=VALUE"
    )
    a = ap.parse_args()
    if a.seeds < 2 or a.first_seed < 0 or a.workers < 1 or not 1 <= a.window < a.steps - 120:
        raise SystemExit(
            f"error: --seeds {a.seeds} --first-seed {a.first_seed} --workers {a.workers} "
            f"--steps {a.steps} --window {a.window}: need at least 2 seeds, a first seed of 0 "
            "or more, 1 worker or more, and a window of 1 day or more inside the patrol "
            "(which starts on day 120)"
        )
    try:  # a bad override is one line here, not a traceback from every worker
        load_scenario(SCENARIOS / "hotspot_patrol.yaml", [*a.both, *a.tactic])
        load_scenario(SCENARIOS / "baseline.yaml", a.both)
    except ScenarioError as exc:
        raise SystemExit(f"error: {exc}") from None
    jobs = [
        (s, a.both, a.tactic, a.steps, a.window)
        for s in range(a.first_seed, a.first_seed + a.seeds)
    ]
    if a.workers == 1:
        done = [one_seed(job) for job in jobs]
    else:
        context = multiprocessing.get_context("forkserver")
        with ProcessPoolExecutor(
            a.workers, mp_context=context, initializer=exit_with_parent, initargs=(os.getpid(),)
        ) as pool:
            done = list(pool.map(one_seed, jobs))
    print(
        f"# hot-spot patrol against baseline, seeds {a.first_seed}-{a.first_seed + a.seeds - 1}, "
        f"days {a.steps - a.window}-{a.steps - 1}; both arms: {' '.join(a.both) or '-'}; "
        f"patrol only: {' '.join(a.tactic) or '-'}"
    )
    print("| area | baseline open dealers' sales a day | change against baseline [95%] |")
    print("| --- | --- | --- |")
    for area in AREAS:
        patrol = [d[area][0] for d in done]
        base = [d[area][1] for d in done]
        per_day = float(np.mean(base)) / a.window
        print(f"| {area} | {per_day:.1f} | {change_interval(patrol, base).pct()} |")


if __name__ == "__main__":
    main()
