"""Regression baseline: one fixed-seed run against a committed summary.

A failure means model behaviour changed. If that was intended, refresh with
`python scripts/refresh_regression.py` and say why in the commit.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from marketsim.io import simulate
from marketsim.scenario import load_scenario
from tests.conftest import ROOT

TARGET = Path(__file__).parent / "data" / "regression_summary.json"
OVERRIDES = ["seed=7", "steps=120", "burn_in=60"]


def regression_snapshot() -> dict:
    sc = load_scenario(ROOT / "scenarios" / "baseline.yaml", OVERRIDES)
    _model, _ts, summary = simulate(sc)
    return {
        "overrides": OVERRIDES,
        "totals_all": summary["totals_by_region"]["all"],
        "totals_target": summary["totals_by_region"]["target"],
        "harm_counts": {k: v["count"] for k, v in summary["harm_by_type"].items()},
        "net_harm": {k: v["total"] for k, v in summary["net_harm"].items()},
        "final_state": summary["final_state"],
        "wdq": summary["wdq"]["value"],
    }


def _compare(expected, actual, path="") -> list[str]:
    problems = []
    if isinstance(expected, dict):
        if set(expected) != set(actual):
            return [f"{path}: keys differ: {sorted(set(expected) ^ set(actual))}"]
        for key in expected:
            problems += _compare(expected[key], actual[key], f"{path}.{key}")
    elif isinstance(expected, float) or isinstance(actual, float):
        if expected is None or actual is None:
            if expected != actual:
                problems.append(f"{path}: {expected} != {actual}")
        elif not math.isclose(expected, actual, rel_tol=1e-9, abs_tol=1e-9) and not (
            math.isnan(expected) and math.isnan(actual)
        ):
            problems.append(f"{path}: expected {expected}, got {actual}")
    elif expected != actual:
        problems.append(f"{path}: expected {expected!r}, got {actual!r}")
    return problems


def test_fixed_seed_run_matches_committed_summary():
    expected = json.loads(TARGET.read_text())
    actual = json.loads(json.dumps(regression_snapshot()))
    problems = _compare(expected, actual)
    assert not problems, "model output changed:\n" + "\n".join(problems[:20])
