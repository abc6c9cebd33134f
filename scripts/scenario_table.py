"""Every shipped scenario against baseline on paired seeds, with 95% intervals.

Prints a markdown table of the paired difference (scenario minus baseline, same seed) in
net harm (cost of crime), violent incidents, visible dealing, acquisitive crime and arrests,
summed over the recorded days, as a mean and a 95% t-interval over seeds.

Usage: python scripts/scenario_table.py [--seeds 5] [--workers 2]
"""

from __future__ import annotations

import argparse
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from scipy import stats

ROOT = Path(__file__).resolve().parents[1]
METRICS = ("violent_incidents", "visible_dealing", "acquisitive_crimes", "arrests")


def run(args: tuple[str, int]) -> tuple[str, int, dict[str, float]]:
    from marketsim.io import simulate
    from marketsim.scenario import load_scenario

    name, seed = args
    sc = load_scenario(ROOT / "scenarios" / f"{name}.yaml", [f"seed={seed}"])
    _model, ts, summary = simulate(sc)
    allr = ts[ts.region == "all"]
    out = {m: float(allr[m].sum()) for m in METRICS}
    out["net_harm_gbp_m"] = summary["net_harm"]["cost_of_crime_gbp"]["total"] / 1e6
    return name, seed, out


def interval(diffs: np.ndarray) -> str:
    mean = diffs.mean()
    if diffs.size < 2:
        return f"{mean:+,.1f}"
    half = stats.t.ppf(0.975, diffs.size - 1) * diffs.std(ddof=1) / np.sqrt(diffs.size)
    return f"{mean:+,.1f} [{mean - half:+,.1f}, {mean + half:+,.1f}]"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--workers", type=int, default=2)
    a = ap.parse_args()
    names = sorted(p.stem for p in (ROOT / "scenarios").glob("*.yaml"))
    seeds = range(1, a.seeds + 1)
    jobs = [(n, s) for n in names for s in seeds]
    res: dict[str, dict[int, dict[str, float]]] = {n: {} for n in names}
    with ProcessPoolExecutor(a.workers) as pool:
        for name, seed, out in pool.map(run, jobs):
            res[name][seed] = out
    cols = ("net_harm_gbp_m", *METRICS)
    base = {c: np.mean([res["baseline"][s][c] for s in seeds]) for c in cols}
    print(
        f"Baseline means over {a.seeds} seeds (730 days): "
        + ", ".join(f"{c} {base[c]:,.1f}" for c in cols)
        + "\n"
    )
    print("| scenario | " + " | ".join(cols) + " |")
    print("|---" * (len(cols) + 1) + "|")
    for name in names:
        if name == "baseline":
            continue
        cells = [
            interval(np.array([res[name][s][c] - res["baseline"][s][c] for s in seeds]))
            for c in cols
        ]
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
