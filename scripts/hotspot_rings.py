"""Where hot-spot patrol's open sales go: the hot cells, the rings round them, the rest.

Runs `scenarios/hotspot_patrol.yaml` and the baseline on the same seeds (common random
numbers) and prints `marketsim.validation.hotspot_catchment`: the sales of open dealers at
their pitch over the last `--window` days of the run, on the patrol's first ten hot cells,
within 1 and within 3 cells of them (the 3-cell ring is the catchment the tactic's own
report uses) and in the rest of the town, each a pooled change against baseline with its
95% interval over seeds. tests/validation/test_hotspot_catchment.py reads the same. Hot-spot
trials read displacement or a diffusion of benefits in a catchment area round the
hot spots (Braga et al. 2019); a fall in the rings would be a diffusion, a rise
displacement. docs/validation.md ("Hot-spot patrol: where the sales go") quotes it.

Usage: python scripts/hotspot_rings.py [--seeds 40] [--first-seed 101] [--steps 400]
       [--window 90] [--workers 2] [--set PATH=VALUE ...] [--tactic-set PATH=VALUE ...]

`--set` applies to both arms (a changed model), `--tactic-set` to the patrol's arm only
(say `tactics.1.units=1`, a smaller dose).
"""

from __future__ import annotations

import argparse

from marketsim import validation as V
from marketsim.scenario import ScenarioError, load_scenario


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=40)
    ap.add_argument("--first-seed", type=int, default=V.FIRST_SEED)
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
        load_scenario(V.SCENARIOS / "hotspot_patrol.yaml", [*a.both, *a.tactic])
        load_scenario(V.SCENARIOS / "baseline.yaml", a.both)
    except ScenarioError as exc:
        raise SystemExit(f"error: {exc}") from None
    seeds = range(a.first_seed, a.first_seed + a.seeds)
    areas = V.hotspot_catchment(seeds, a.workers, a.both, a.tactic, a.steps, a.window)
    print(
        f"# hot-spot patrol against baseline, seeds {a.first_seed}-{a.first_seed + a.seeds - 1}, "
        f"days {a.steps - a.window}-{a.steps - 1}; both arms: {' '.join(a.both) or '-'}; "
        f"patrol only: {' '.join(a.tactic) or '-'}"
    )
    print("| area | baseline open dealers' sales a day | change against baseline [95%] |")
    print("| --- | --- | --- |")
    for area, (change, per_day) in areas.items():
        print(f"| {area} | {per_day:.1f} | {change.pct()} |")


if __name__ == "__main__":
    main()
