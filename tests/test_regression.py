"""Regression baseline: one fixed-seed run against a committed summary.

A failure means model behaviour changed. If that was intended, bump
`marketsim.MODEL_REVISION`, refresh with `python scripts/refresh_regression.py` and say
why in the commit. The baseline records the revision it was made by, so a refresh
without a bump is refused, and result stores made before the change are not resumed.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from marketsim import MODEL_REVISION
from marketsim.io import simulate
from marketsim.scenario import load_scenario
from tests.conftest import ROOT

TARGET = Path(__file__).parent / "data" / "regression_summary.json"
OVERRIDES = ["seed=7", "steps=120", "burn_in=60"]


def regression_snapshot() -> dict:
    """The fixed-seed run's figures, as the committed JSON holds them."""
    sc = load_scenario(ROOT / "scenarios" / "baseline.yaml", OVERRIDES)
    _model, _ts, summary = simulate(sc)
    snapshot = {
        "model_revision": MODEL_REVISION,
        "overrides": OVERRIDES,
        "totals_all": summary["totals_by_region"]["all"],
        "totals_target": summary["totals_by_region"]["target"],
        "harm_counts": {k: v["count"] for k, v in summary["harm_by_type"].items()},
        "net_harm": {k: v["total"] for k, v in summary["net_harm"].items()},
        "final_state": summary["final_state"],
        "wdq": summary["wdq"]["value"],
    }
    return json.loads(json.dumps(snapshot))


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


def behaviour_changes(expected: dict, actual: dict) -> list[str]:
    """Where two snapshots' model outputs differ (the revision stamp aside)."""
    expected, actual = dict(expected), dict(actual)
    expected.pop("model_revision", None)
    actual.pop("model_revision", None)
    return _compare(expected, actual)


def test_fixed_seed_run_matches_committed_summary():
    expected = json.loads(TARGET.read_text())
    actual = regression_snapshot()
    problems = behaviour_changes(expected, actual)
    assert not problems, "model output changed:\n" + "\n".join(problems[:20])


def test_the_baseline_was_made_by_this_model_revision():
    """A bumped revision needs the baseline refreshed, so that the baseline always names
    the revision whose behaviour it holds."""
    made_by = json.loads(TARGET.read_text()).get("model_revision")
    assert made_by == MODEL_REVISION, (
        f"the regression baseline was made by model revision {made_by}, this is "
        f"{MODEL_REVISION}: run scripts/refresh_regression.py"
    )


def test_a_refresh_without_a_new_revision_is_refused(tmp_path, monkeypatch):
    """scripts/refresh_regression.py will not record changed behaviour under the old
    revision (stores would then resume another model's results)."""
    import runpy

    import tests.test_regression as regression

    stale = json.loads(TARGET.read_text())
    stale["totals_all"]["sales"] += 1.0
    target = tmp_path / "regression_summary.json"
    target.write_text(json.dumps(stale))
    monkeypatch.setattr(regression, "TARGET", target)
    script = str(ROOT / "scripts" / "refresh_regression.py")
    with pytest.raises(SystemExit, match="MODEL_REVISION is still"):
        runpy.run_path(script, run_name="__main__")
    assert json.loads(target.read_text()) == stale
    stale["model_revision"] = "an older model"
    target.write_text(json.dumps(stale))
    runpy.run_path(script, run_name="__main__")
    assert json.loads(target.read_text())["model_revision"] == MODEL_REVISION
