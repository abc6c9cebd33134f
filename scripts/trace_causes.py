"""Paired-seed probes behind docs/validation.md, "Why the model disagrees with the evaluations".

Each probe runs a shipped scenario and the baseline on the same seeds, with the same
`--set` overrides on both (so the pair differs only in the tactic), and prints the
per-seed paired difference or pooled change with its 95% interval (marketsim.validation).

    PYTHONPATH=src nice -n 10 .venv/bin/python scripts/trace_causes.py --seeds 8 --out probes.json

About 100 runs (5-8 s each on a free core). Small by design: a probe, not a validation.
"""

from __future__ import annotations

import argparse
import json
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from marketsim.burnin import BurnInCache
from marketsim.io import simulate
from marketsim.scenario import load_scenario
from marketsim.validation import FIRST_SEED, SCENARIOS, change_interval, mean_interval

TP2 = "tactics.diversion.test_purchases_per_day=2.0"
DEBT0 = ("dealers.debt_rate=0",)
# (label, scenario, steps, overrides of both arms, overrides of the tactic arm only)
PAIRS = [
    ("operation_reduction", "operation_reduction", 400, (), ()),
    ("operation_reduction, 730 days", "operation_reduction", 730, (), ()),
    ("operation_reduction, 730 days, debt_rate=0", "operation_reduction", 730, DEBT0, ()),
    ("operation_reduction, debt_rate=0", "operation_reduction", 400, DEBT0, ()),
    (
        "operation_reduction, seizure_value=0",
        "operation_reduction",
        400,
        ("police.seizure_value=0",),
        (),
    ),
    ("operation_reduction, 2 test purchases/day", "operation_reduction", 400, (), (TP2,)),
    (
        "operation_reduction, 2 test purchases/day, debt_rate=0",
        "operation_reduction",
        400,
        ("dealers.debt_rate=0",),
        (TP2,),
    ),
    ("hotspot_patrol", "hotspot_patrol", 400, (), ()),
    ("raid", "raid", 200, (), ()),
    ("raid, charge_prob=0", "raid", 200, ("police.charge_prob=0",), ()),
    ("baseline, debt_rate=0 against default", "baseline", 400, (), DEBT0),
]
METRICS = (
    "violent_incidents",
    "net_harm",
    "arrests",
    "open_sales",
    "sales",
    "visible_dealing",
    "open_dealers",
    "active_dealers",
    "acquisitive_crimes",
    "test_purchases",
)
# Both arms of a pair are read over the tactic's window: from its start to the run's end.
STARTS = {"operation_reduction": 90, "hotspot_patrol": 120, "raid": 120, "baseline": 90}
_CACHE = BurnInCache()


def _run(job):
    scenario, steps, overrides, seed, lo = job
    sc = load_scenario(
        SCENARIOS / f"{scenario}.yaml", [f"seed={seed}", f"steps={steps}", *overrides]
    )
    _m, ts, _s = simulate(sc, cache=_CACHE)
    w = ts[ts.step >= lo]
    out = {}
    for region in ("all", "target", "buffer", "control"):
        sel = w[w.region == region]
        for m in METRICS:
            out[f"{region}.{m}"] = float(sel[m].sum())
    for m in METRICS:
        out[f"rest.{m}"] = out[f"all.{m}"] - out[f"target.{m}"]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=8)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--out", type=Path, default=Path("probes.json"))
    ap.add_argument(
        "--only", nargs="*", default=None, help="run only the pairs whose label has one of these"
    )
    args = ap.parse_args()
    pairs = [p for p in PAIRS if args.only is None or any(o in p[0] for o in args.only)]
    seeds = list(range(FIRST_SEED, FIRST_SEED + args.seeds))
    jobs = []
    for _label, scen, steps, ov, own in pairs:
        lo = STARTS[scen]
        for s in seeds:
            jobs += [("baseline", steps, ov, s, lo), (scen, steps, ov + own, s, lo)]
    jobs = list(dict.fromkeys(jobs))
    with ProcessPoolExecutor(args.workers) as pool:
        results = dict(zip(jobs, pool.map(_run, jobs), strict=True))
    report = {}
    for label, scen, steps, ov, own in pairs:
        rows = {}
        lo = STARTS[scen]
        for key in results[("baseline", steps, ov, seeds[0], lo)]:
            base = [results[("baseline", steps, ov, s, lo)][key] for s in seeds]
            tac = [results[(scen, steps, ov + own, s, lo)][key] for s in seeds]
            diff = mean_interval(np.subtract(tac, base))
            rel = change_interval(tac, base) if sum(base) else None
            rows[key] = {
                "base": float(np.mean(base)),
                "diff": diff.num("+.1f"),
                "change": rel.pct() if rel else None,
            }
        report[label] = rows
        print(f"\n== {label} (days {lo}-{steps - 1}, {len(seeds)} seeds)")
        for key in (
            "all.violent_incidents",
            "all.net_harm",
            "all.arrests",
            "all.open_sales",
            "rest.visible_dealing",
            "rest.open_sales",
            "rest.open_dealers",
            "target.open_sales",
        ):
            r = rows[key]
            print(f"  {key:24s} base {r['base']:12.1f}  diff {r['diff']:30s} {r['change']}")
    args.out.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
