"""Measure the design §9 facts over many seeds and print the figures for docs/validation.md.

Each scenario is paired with the baseline on the same seeds (common random numbers); the
figures are the ones tests/validation/ asserts (both come from marketsim.validation).
Every figure is a mean, or a pooled change, with its 95% interval over seeds.

Usage: python scripts/validate_patterns.py [--seeds 40] [--first-seed 101] [--workers 2]
       [--set PATH=VALUE ...]

`--set` (repeatable) applies an override to every run, baseline included: a candidate
parameter set (say, a calibration's best.yaml) is read on the facts' own seeds and windows.
`--first-seed` moves the seeds off the tests' own (101 on): a candidate chosen on seeds
1001-1020, say, is not graded on the seeds it was chosen on. The longer diversion and
targeting reads (120 and 200 seeds) are taken only on the tests' seeds.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from marketsim import validation as V
from marketsim.scenario import ScenarioError


def line(label: str, value, fmt: str = "pct") -> None:
    """One figure: an Interval as a percentage change (pct, pct1 with one decimal) or a
    number (a format spec)."""
    if isinstance(value, V.Interval):
        text = value.pct(int(fmt[3:] or 0)) if fmt.startswith("pct") else value.num(fmt)
    elif isinstance(value, float):
        text = f"{value:.2f}"
    else:
        text = str(value)
    print(f"- {label}: {text}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seeds", type=int, default=V.FULL_SEEDS)
    ap.add_argument(
        "--first-seed", type=int, default=V.FIRST_SEED, help="the first seed (default: the tests')"
    )
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="PATH=VALUE",
        help="an override for every run (repeatable), as `marketsim run --set` takes it",
    )
    a = ap.parse_args()
    if a.seeds < 2 or a.first_seed < 0:
        raise SystemExit(
            f"error: --seeds {a.seeds} --first-seed {a.first_seed}: need at least 2 seeds "
            "and a first seed of 0 or more"
        )
    seeds = list(range(a.first_seed, a.first_seed + a.seeds))
    own_seeds = a.first_seed == V.FIRST_SEED  # the longer reads extend the tests' own set
    if a.overrides:
        try:
            V.override_runs(a.overrides)
        except ScenarioError as exc:
            raise SystemExit(f"error: {exc}") from None
        print(f"# Overrides on every run: {' '.join(a.overrides)}")
    started = time.perf_counter()
    runs = V.run_many(V.RUNS, seeds, a.workers)
    elapsed = time.perf_counter() - started
    print(
        f"# Figures: {a.seeds} seeds ({seeds[0]}-{seeds[-1]}), {len(V.RUNS)} runs a seed, "
        f"{elapsed:.0f} s with {a.workers} workers\n"
    )
    print("Pooled change against baseline on the same seeds, [95% interval over seeds].\n")

    print("## Fact 1: crackdowns decay (crackdown.yaml; target open sales)")
    for name, ci in V.crackdown_phases(runs).items():
        line(name, ci)
    line(
        "late crackdown minus peak, per seed (> 0: decay while it continues)",
        V.crackdown_decay_during(runs),
        "+.3f",
    )
    line(
        "1-30 days after minus late crackdown, per seed (> 0: decay after the end)",
        V.crackdown_decay_after(runs),
        "+.3f",
    )
    line(
        "60-120 days after minus late crackdown, per seed (the test: above +0.2)",
        V.crackdown_decay_later(runs),
        "+.3f",
    )

    print("\n## Fact 2: raids fade fast (raid.yaml; target open sales)")
    for name, ci in V.raid_phases(runs).items():
        line(name, ci)
    line("days 31-60 minus days 0-6, per seed (> 0: fades)", V.raid_fade(runs), "+.3f")

    print("\n## Fact 3: displacement is partial (crackdown.yaml, days 120-179)")
    line(
        "buffer open sales gained per target open sale lost",
        V.displacement_share(runs),
        ".2f",
    )
    for metric in ("open_sales", "visible_dealing"):
        w = np.array([x for x in V.crackdown_wdq(runs, metric) if x is not None])
        inside = np.mean((w >= -1) & (w <= 1))
        print(
            f"- WDQ on {metric}: median {np.median(w):+.2f}, mean {V.mean_interval(w).num()}, "
            f"{inside:.0%} of {w.size} seeds within [-1, +1]"
        )
    line("town-wide sales", V.town_sales_change(runs, "crackdown", 120, 180), "pct1")

    print("\n## Fact 4: targeted deterrence (ceasefire.yaml, days 90-399, town-wide)")
    line("violent incidents", V.violence_change(runs, "ceasefire", "all", 90, 400))
    line(
        "expected violent incidents",
        V.violence_change(runs, "ceasefire", "all", 90, 400, expected=True),
    )
    line("homicides", V.paired_change(runs, "ceasefire", "all", "homicides", 90, 400))
    line("sales", V.town_sales_change(runs, "ceasefire", 90, 400), "pct1")

    print("\n## Fact 5: disruption raises violence (grasslands.yaml, 90 days after removal)")
    lo = V.GRASSLANDS_REMOVAL
    for region in ("target", "all"):
        for expected in (True, False):
            line(
                f"{'expected' if expected else 'realised'} violent incidents, {region}",
                V.violence_change(
                    runs, "grasslands", region, lo, lo + V.VOID_DAYS, expected=expected
                ),
            )
    for region in ("all", "target", "buffer"):
        line(
            f"crackdown.yaml violent incidents, {region}, days 120-299",
            V.violence_change(runs, "crackdown", region, 120, 300),
        )

    print("\n## Fact 6: crackdowns move public use (crackdown.yaml, days 120-179)")
    for name, ci in V.public_use_moved(runs).items():
        line(f"public use, {name}", ci)

    print("\n## Fact 7: diversion (operation_reduction.yaml; diverted vs arrested)")
    for name, value in V.diversion_outcomes(runs).items():
        line(name, value, ".2f")
    # The rate ratios on their own seeds, as their tests (V.DIVERSION_SEEDS), when the full
    # set is asked for.
    if own_seeds and V.FULL_SEEDS <= len(seeds) < V.DIVERSION_SEEDS:
        pooled = V.extend_runs(runs, ["operation_reduction"], V.DIVERSION_SEEDS, a.workers)
        last = V.FIRST_SEED + V.DIVERSION_SEEDS - 1
        print(f"  on {V.DIVERSION_SEEDS} seeds ({V.FIRST_SEED}-{last}), as the tests:")
        for name, value in V.diversion_outcomes(pooled).items():
            line(name, value, ".2f")
    line(
        "town-wide acquisitive crime vs baseline, days 90-399",
        V.paired_change(runs, "operation_reduction", "all", "acquisitive_crimes", 90, 400),
    )

    print("\n## Fact 8: treatment capacity (treatment_expansion.yaml, days 90-399)")
    for metric in ("acquisitive_crimes", "users_in_treatment", "sales"):
        line(metric, V.paired_change(runs, "treatment_expansion", "all", metric, 90, 400), "pct1")
    line(
        "iceberg.yaml acquisitive_crimes",
        V.paired_change(runs, "iceberg", "all", "acquisitive_crimes", 90, 400),
    )

    print("\n## Fact 9: open to closed (iceberg.yaml, days 150-399)")
    line(
        "town-wide open share of sales, scenario minus baseline",
        V.open_share_change(runs, "iceberg", 150, 400),
        "+.3f",
    )
    for region, metric in (
        ("target", "open_sales"),
        ("buffer", "open_sales"),
        ("all", "sales"),
        ("all", "visible_dealing"),
        ("all", "closed_dealers"),
    ):
        line(
            f"{metric}, {region}",
            V.paired_change(runs, "iceberg", region, metric, 150, 400),
            "pct1" if region == "all" else "pct",
        )

    print(
        "\n## Fact 10: concentration (baseline) and targeting by harm (removals by harm or volume)"
    )
    for name, ci in V.violence_concentration(runs).items():
        line(f"share of incidents by the {name} of dealers", ci, ".2f")
    # The targeting comparison on its own seeds, as its test (V.TARGETING_SEEDS), when the
    # full set is asked for.
    if own_seeds and V.FULL_SEEDS <= len(seeds) < V.TARGETING_SEEDS:
        runs.update(V.extend_runs(runs, V.TARGETING_KEYS, V.TARGETING_SEEDS, a.workers))
    for metric in ("net_harm", "violent_incidents"):
        line(
            f"{metric}, removals by harm score vs by volume, days 120-299",
            V.harm_ranking_vs_volume(runs, metric),
            "pct1",
        )


if __name__ == "__main__":
    main()
