"""Sweep throughput: runs per minute serially, with local workers and on a Dask LocalCluster.

The workload is the first `--runs` jobs of a shipped experiment (default: the Sobol
analysis, experiments/sobol_tactics.yaml, on the default 2-year scenario), run through
the same runners and result store as `marketsim sensitivity`. Each backend writes to a
fresh temporary store. One run per worker goes first, as a warm-up that pays the one-off
costs (starting workers, burn-in, the days all points share); the rate is timed after it.
Parallel efficiency = (rate with W workers / serial rate) / W.

The full Sobol analysis is estimated from the local runner:
    wall time = start-up and warm-up + (number of runs in the design) / (runs per minute).

Usage: python benchmarks/bench_sweep.py [--runs 12] [--workers 2] [--experiment FILE]
                                        [--skip-dask] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

from marketsim.experiments.design import make_plan
from marketsim.experiments.execute import execute
from marketsim.experiments.runners import make_runner
from marketsim.experiments.spec import load_experiment
from marketsim.experiments.store import ResultStore

ROOT = Path(__file__).resolve().parents[1]


def rate(warmup, jobs, backend: str, workers: int, digest: str) -> dict[str, float]:
    """Runs per minute of `jobs`, after `warmup` jobs on the same workers, and with start-up.

    The warm-up pays each worker's one-off costs (starting the process or cluster, the
    burn-in and the days every point shares): a long sweep pays them once.
    """
    with tempfile.TemporaryDirectory() as tmp:
        store = ResultStore(Path(tmp))
        store.open({"digest": digest, "name": "bench"})
        t0 = time.perf_counter()
        runner = make_runner(backend, workers)
        try:
            first = execute(warmup, store, runner, progress=False)
            t1 = time.perf_counter()
            then = execute(jobs, store, runner, progress=False)
        finally:
            runner.close()
        t2 = time.perf_counter()
    if first.failed or then.failed:
        raise SystemExit(f"{first.failed + then.failed} run(s) failed on {backend}")
    return {
        "runs_per_min": 60.0 * len(jobs) / (t2 - t1),
        "runs_per_min_with_start": 60.0 * (len(warmup) + len(jobs)) / (t2 - t0),
        "start_s": t1 - t0,
        "wall_s": t2 - t0,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--experiment", type=Path, default=ROOT / "experiments" / "sobol_tactics.yaml")
    ap.add_argument("--runs", type=int, default=12, help="runs timed after the warm-up")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--skip-dask", action="store_true")
    ap.add_argument("--json", type=Path)
    a = ap.parse_args()
    exp = load_experiment(a.experiment)
    plan = make_plan(exp)
    warmup, jobs = plan.jobs[: a.workers], plan.jobs[a.workers : a.workers + a.runs]
    print(
        f"{a.runs} runs of {exp.name} ({len(plan.jobs)} in the full design) after a warm-up "
        f"of one run per worker, {platform.processor() or platform.machine()}"
    )
    results = {}
    backends = [("serial", 1), ("local", a.workers)] + (
        [] if a.skip_dask else [("dask", a.workers)]
    )
    for backend, workers in backends:
        r = rate(warmup[:workers], jobs, backend, workers, exp.digest())
        results[f"{backend}-{workers}"] = r
        print(
            f"  {backend:<6} {workers} worker(s): {r['runs_per_min']:6.2f} runs/min "
            f"(start-up and warm-up {r['start_s']:.0f} s; {r['runs_per_min_with_start']:.2f} "
            "runs/min with them)"
        )
    serial = results["serial-1"]["runs_per_min"]
    for key, r in results.items():
        workers = int(key.rsplit("-", 1)[1])
        r["efficiency"] = r["runs_per_min"] / serial / workers
        print(f"  parallel efficiency {key}: {r['efficiency']:.0%}")
    local = results[f"local-{a.workers}"]
    hours = (local["start_s"] + 60 * len(plan.jobs) / local["runs_per_min"]) / 3600
    print(
        f"  estimated wall time of the full {exp.name} design ({len(plan.jobs)} runs) with "
        f"{a.workers} local workers: {hours:.1f} h"
    )
    if a.json:
        a.json.write_text(
            json.dumps(
                {
                    "experiment": exp.name,
                    "runs": a.runs,
                    "results": results,
                    "full_design_runs": len(plan.jobs),
                    "estimated_full_hours": hours,
                },
                indent=2,
            )
        )


if __name__ == "__main__":
    main()
