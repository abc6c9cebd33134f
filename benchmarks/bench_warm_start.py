"""What a new process pays around its first simulated day, with a warm kernel cache.

The numba kernels (src/marketsim/kernels.py) are compiled once into their disk
cache (`python -m marketsim.kernels`, which this script runs first); every later
process only loads them. This starts fresh Python processes, each of which
imports marketsim, builds the default scenario (baseline.yaml, no burn-in) and
runs one day, and reports the median over runs of:

- total: the process's wall time, from launch to exit, as the parent sees it;
- start-up: launching the interpreter, up to the first line of the script;
- libraries: importing numpy, pandas, scipy, Mesa, pydantic and PyYAML;
- numba: `import numba`;
- kernels: loading every kernel from the disk cache (`kernels.warm()`);
- marketsim: importing marketsim's own modules and building the model;
- one day: `model.step()`;
- exit: from the end of the day to the process's end (interpreter shutdown).

The one-off costs are paid in that order, so each is attributed once; the
kernel-load part, what the compiled kernels cost a new process, is numba plus
kernels.

Usage: python benchmarks/bench_warm_start.py [--runs 7] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Timed inside the child, in this order.
PARTS = ("libraries", "numba", "kernels", "marketsim", "one day")

# Run in each fresh process; prints its start time (epoch seconds), the seconds each
# of PARTS took, and its end time, as a JSON list.
CHILD = """
import time
start = time.time()
t0 = time.perf_counter()
import json, sys
import mesa, numpy, pandas, pydantic, scipy, yaml
t1 = time.perf_counter()
import numba
t2 = time.perf_counter()
from marketsim import kernels
kernels.warm()
t3 = time.perf_counter()
from marketsim.model import MarketModel
from marketsim.scenario import load_scenario
model = MarketModel(load_scenario(sys.argv[1], ["burn_in=0"]), seed=1)
t4 = time.perf_counter()
model.step()
t5 = time.perf_counter()
print(json.dumps([start, t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4, time.time()]))
"""


def child_env() -> dict[str, str]:
    """The environment for children: this checkout's src first on the path."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), env.get("PYTHONPATH")]))
    return env


def fresh_process(args: list[str], env: dict[str, str]) -> dict[str, float]:
    """Seconds of each part of one fresh process's life (`CHILD` prints its own parts)."""
    launch = time.time()
    done = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    end = time.time()
    if done.returncode != 0:
        sys.exit(f"child process failed:\n{done.stderr.strip()}")
    if not done.stdout.strip():
        return {"total": end - launch}
    start, *spent, last = json.loads(done.stdout)
    return {
        "total": end - launch,
        "start-up": start - launch,
        **dict(zip(PARTS, spent, strict=True)),
        "exit": end - last,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7, help="fresh processes to time (median)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    env = child_env()
    scenario = str(ROOT / "scenarios" / "baseline.yaml")
    print("warming the kernel cache (compiles only if the cache is cold) ...", flush=True)
    fresh_process([sys.executable, "-m", "marketsim.kernels"], env)
    runs: list[dict[str, float]] = []
    bare: list[float] = []
    for run in range(args.runs):
        bare.append(fresh_process([sys.executable, "-c", "pass"], env)["total"])
        runs.append(fresh_process([sys.executable, "-c", CHILD, scenario], env))
        runs[-1]["kernel load"] = runs[-1]["numba"] + runs[-1]["kernels"]
        print(f"  run {run + 1}/{args.runs}: {runs[-1]['total']:.2f} s", flush=True)
    median = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    median["bare interpreter"] = statistics.median(bare)
    print(f"\nmedians over {args.runs} fresh processes (warm kernel cache), seconds:")
    print(f"  {'total, launch to exit':<30}{median['total']:6.3f}")
    for part in ("start-up", *PARTS, "exit"):
        print(f"    {part:<28}{median[part]:6.3f}")
    print(f"  {'kernel load (numba + kernels)':<30}{median['kernel load']:6.3f}")
    print(f"  {'bare interpreter (-c pass)':<30}{median['bare interpreter']:6.3f}")
    if args.json:
        record = {"runs": args.runs, "python": sys.version.split()[0], "median_s": median}
        args.json.write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()
