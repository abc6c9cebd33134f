"""A/B: the time per simulated day of this checkout against an older revision, in one job.

Checks the older revision out into a temporary git worktree and times the same
scenario with each code base in turn, alternating A and B so that a machine
that speeds up or slows down during the job affects both alike. Each timing is
a fresh process (imports and kernel loading excluded: only the stepped days are
timed, after the same burn-in). Reports ms a day for each and the speed-up.
`--clock cpu` times the process's CPU time instead of the wall clock: on a machine
others share, waiting for a core then counts for neither side.

Usage: python benchmarks/bench_ab.py --base REV [--rounds 3] [--scenario FILE] [--days 365]
       [--clock wall|cpu]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Runs inside each code base: burn in, then time `days` recorded days of model.step().
TIMER = """
import json, sys, time
from marketsim.model import MarketModel
from marketsim.scenario import load_scenario
sc = load_scenario(sys.argv[1], [f"steps={sys.argv[2]}", "burn_in=100"])
clock = time.process_time if sys.argv[3] == "cpu" else time.perf_counter
model = MarketModel(sc)
while model.day < 0:
    model.step()
t0 = clock()
while model.day < sc.steps:
    model.step()
print(json.dumps((clock() - t0) / sc.steps * 1e3))
"""


def time_once(src: Path, scenario: Path, days: int, clock: str) -> float:
    env = {**os.environ, "PYTHONPATH": str(src)}
    out = subprocess.run(
        [sys.executable, "-c", TIMER, str(scenario), str(days), clock],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return float(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--base", required=True, help="the older revision (a git commit or branch)")
    ap.add_argument("--rounds", type=int, default=3, help="A/B pairs to time (medians reported)")
    ap.add_argument("--scenario", type=Path, default=ROOT / "scenarios" / "baseline.yaml")
    ap.add_argument("--days", type=int, default=365, help="recorded days timed per run")
    ap.add_argument(
        "--clock", choices=("wall", "cpu"), default="wall", help="what to time (default: wall)"
    )
    ap.add_argument("--json", type=Path, help="also write the figures here")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "base"
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(base), a.base],
            check=True,
        )
        try:
            times: dict[str, list[float]] = {"base": [], "head": []}
            for i in range(a.rounds):
                for name, src in (("base", base / "src"), ("head", ROOT / "src")):
                    times[name].append(time_once(src, a.scenario.resolve(), a.days, a.clock))
                print(
                    f"round {i + 1}: base {times['base'][-1]:.2f} ms/day, "
                    f"head {times['head'][-1]:.2f} ms/day",
                    flush=True,
                )
        finally:
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(base)], check=False
            )
    b, h = statistics.median(times["base"]), statistics.median(times["head"])
    print(
        f"median ({a.clock} clock): base ({a.base}) {b:.2f} ms/day, head {h:.2f} ms/day: "
        f"{b / h:.2f}x faster"
    )
    if a.json:
        a.json.write_text(
            json.dumps(
                {"base": a.base, "clock": a.clock, "times": times, "speedup": b / h}, indent=2
            )
        )


if __name__ == "__main__":
    main()
