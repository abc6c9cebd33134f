"""Throughput and scaling of marketsim against the shared Mesa reference market.

Runs, in one process:
1. the reference markets in ../shared/bench (idiomatic Mesa, and numpy);
2. the default scenario (baseline.yaml), reporting agent-steps per second as a
   ratio to the Mesa reference measured in the same job;
3. the default scenario at 1x, 4x and 16x the population, on a town scaled to
   keep the density (50x50, 100x100, 200x200 cells).

Agent-steps count every agent the day's phases process: users who are alive,
dealers not desisted, and police units.

Usage: python benchmarks/bench_throughput.py [--steps 365] [--reps 3] [--quick] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def shared_bench_dir() -> Path:
    for cand in (os.environ.get("MARKETSIM_SHARED"), ROOT.parent / "shared", ROOT / "shared"):
        if cand and (Path(cand) / "bench" / "run_reference.py").exists():
            return Path(cand) / "bench"
    sys.exit("cannot find shared/bench/run_reference.py; set MARKETSIM_SHARED to the shared folder")


def reference_rates(steps: int, reps: int) -> dict[str, float]:
    sys.path.insert(0, str(shared_bench_dir()))
    from reference_mesa_market import Market
    from reference_numpy_market import MarketNP
    from run_reference import STEPPING_AGENTS, best_time

    rates = {}
    for name, factory in (("mesa", lambda s: Market(rng=s)), ("numpy", lambda s: MarketNP(rng=s))):
        t = best_time(factory, steps, reps)
        rates[name] = STEPPING_AGENTS * steps / t
    return rates


def scaled_scenario(scale: int, steps: int):
    from marketsim.scenario import load_scenario

    side = int(round(np.sqrt(scale)))
    overrides = [
        f"steps={steps}",
        "burn_in=0",
        f"town.width={50 * side}",
        f"town.height={50 * side}",
        f"market.n_users={2000 * scale}",
        f"market.n_dealers={200 * scale}",
        f"police.n_units={20 * scale}",
        f"treatment.places_per_site={60 * scale}",
        f"regions.target.centre=[{25 * side}, {25 * side}]",
        f"regions.target.radius={4 * side}",
    ]
    return load_scenario(ROOT / "scenarios" / "baseline.yaml", overrides)


def time_marketsim(scale: int, steps: int, reps: int) -> dict[str, float]:
    from marketsim.agents import dealer as D
    from marketsim.agents import user as U
    from marketsim.model import MarketModel

    best = None
    for rep in range(reps):
        sc = scaled_scenario(scale, steps)
        model = MarketModel(sc, seed=rep + 1)
        agent_steps = 0
        t_total = 0.0
        for _ in range(steps):
            n = (
                int((model.users.view("state") != U.DEAD).sum())
                + int((model.dealers.view("state") != D.DESISTED).sum())
                + model.police.n_units
            )
            t0 = time.perf_counter()
            model.step()
            t_total += time.perf_counter() - t0
            agent_steps += n
        row = {
            "scale": scale,
            "seconds": t_total,
            "ms_per_step": 1000 * t_total / steps,
            "agents_mean": agent_steps / steps,
            "agent_steps_per_s": agent_steps / t_total,
        }
        if best is None or row["seconds"] < best["seconds"]:
            best = row
    return best


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--steps", type=int, default=365, help="days per timed run")
    ap.add_argument("--reps", type=int, default=3, help="repetitions (best is kept)")
    ap.add_argument("--quick", action="store_true", help="1x only, fewer steps")
    ap.add_argument("--json", type=Path, help="also write the results here")
    a = ap.parse_args()
    steps = 100 if a.quick else a.steps
    ref = reference_rates(steps=200, reps=a.reps)
    print(
        f"reference  mesa {ref['mesa']:,.0f} agent-steps/s   numpy {ref['numpy']:,.0f} agent-steps/s"
    )
    rows = []
    for scale in (1,) if a.quick else (1, 4, 16):
        reps = a.reps if scale == 1 else 1
        row = time_marketsim(scale, steps if scale < 16 else max(30, steps // 4), reps)
        row["ratio_to_mesa_reference"] = row["agent_steps_per_s"] / ref["mesa"]
        rows.append(row)
        print(
            f"marketsim  {scale:>2}x  {row['agents_mean']:>8,.0f} agents  {row['ms_per_step']:8.2f} ms/step  "
            f"{row['agent_steps_per_s']:>10,.0f} agent-steps/s  = {row['ratio_to_mesa_reference']:.2f}x Mesa reference"
        )
    base = rows[0]
    for row in rows[1:]:
        growth = row["ms_per_step"] / base["ms_per_step"]
        agents = row["agents_mean"] / base["agents_mean"]
        print(
            f"scaling    {row['scale']:>2}x agents -> {growth:.1f}x time per step ({agents:.1f}x agents)"
        )
    if a.json:
        a.json.parent.mkdir(parents=True, exist_ok=True)
        a.json.write_text(
            json.dumps(
                {"python": platform.python_version(), "reference": ref, "marketsim": rows}, indent=2
            )
        )


if __name__ == "__main__":
    main()
