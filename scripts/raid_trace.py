"""What carries a raid's cut: fact 2's windows for the target's trade, dealers and buffer.

Runs `raid.yaml` and the baseline on the same seeds (marketsim.validation.RUNS, common
random numbers), with `--set` overrides on both arms, and prints, for days 0-6, 7-12, 13-30
and 31-60 after the raid, the pooled change against baseline [95% interval] of the
target's open sales (what fact 2's tests read), open and closed dealers, all sales, and
the buffer's open sales; then the target's open sales week by week. docs/validation.md
(fact 2, "What carries the tail") quotes it.

Usage: python scripts/raid_trace.py [--seeds 40] [--first-seed 101] [--workers 2]
       [--set PATH=VALUE ...]
"""

from __future__ import annotations

import argparse

from marketsim import validation as V
from marketsim.scenario import ScenarioError

MEASURES = (
    ("target", "open_sales"),
    ("target", "open_dealers"),
    ("target", "closed_dealers"),
    ("target", "sales"),
    ("buffer", "open_sales"),
    ("all", "sales"),
)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=V.FULL_SEEDS)
    ap.add_argument("--first-seed", type=int, default=V.FIRST_SEED)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--set", dest="overrides", action="append", default=[], metavar="PATH=VALUE")
    a = ap.parse_args()
    if a.seeds < 2 or a.first_seed < 0 or a.workers < 1:
        raise SystemExit(
            f"error: --seeds {a.seeds} --first-seed {a.first_seed} --workers {a.workers}: need "
            "at least 2 seeds, a first seed of 0 or more and 1 worker or more"
        )
    try:
        V.override_runs(a.overrides, ["raid", "baseline"])
    except ScenarioError as exc:
        raise SystemExit(f"error: {exc}") from None
    seeds = list(range(a.first_seed, a.first_seed + a.seeds))
    runs = V.run_many(["raid", "baseline"], seeds, a.workers)
    day = V.RAID_DAY
    print(
        f"# raid against baseline, seeds {seeds[0]}-{seeds[-1]}; "
        f"overrides: {' '.join(a.overrides) or '-'}"
    )
    print("| measure | " + " | ".join(V.RAID_WINDOWS) + " |")
    print("| --- |" + " --- |" * len(V.RAID_WINDOWS))
    for region, metric in MEASURES:
        cells = [c.pct() for c in V.raid_phases(runs, region, metric).values()]
        print(f"| {region} {metric} | " + " | ".join(cells) + " |")
    weeks = [
        f"{lo}: {V.paired_change(runs, 'raid', 'target', 'open_sales', day + lo, day + lo + 7).mean:+.0%}"
        for lo in range(0, 57, 7)
    ]
    print(
        "\nTarget open sales by week after the raid (first day of the week: change): "
        + ", ".join(weeks)
    )


if __name__ == "__main__":
    main()
