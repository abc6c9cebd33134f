"""The command line: run writes the contracted files; bad input gets one clean line."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest
import yaml

from marketsim.metrics import COLUMNS
from tests.conftest import ROOT

DESIGN_COLUMNS = [
    "step",
    "region",
    "sales",
    "open_sales",
    "closed_sales",
    "price",
    "active_dealers",
    "open_dealers",
    "closed_dealers",
    "user_dealers",
    "users",
    "dependent_users",
    "new_users",
    "violent_incidents",
    "expected_violent_incidents",
    "homicides",
    "acquisitive_crimes",
    "overdoses",
    "overdose_deaths",
    "public_use",
    "litter",
    "visible_dealing",
    "fear",
    "arrests",
    "prosecutions",
    "prison_days",
    "seizures",
    "test_purchases",
    "diversions",
    "users_in_treatment",
    "treatment_waiting",
    "treatment_entries",
    "treatment_dropouts",
    "missed_appointments",
    "police_officer_days",
    "net_harm",
]


def marketsim(*args: str, cwd=ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "marketsim.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=600,
    )


def test_run_writes_three_files_with_contracted_columns(tmp_path):
    out = tmp_path / "out"
    res = marketsim(
        "run",
        "scenarios/baseline.yaml",
        "--seed",
        "3",
        "--steps",
        "40",
        "--set",
        "burn_in=20",
        "--set",
        "market.n_users=400",
        "--set",
        "market.n_dealers=40",
        "--out",
        str(out),
    )
    assert res.returncode == 0, res.stderr
    ts = pd.read_csv(out / "timeseries.csv")
    assert list(ts.columns[:2]) == ["step", "region"]
    assert set(DESIGN_COLUMNS) <= set(ts.columns)
    assert set(ts.region) == {"all", "target", "buffer", "control"}
    assert len(ts) == 40 * 4
    summary = json.loads((out / "summary.json").read_text())
    for key in (
        "totals_by_region",
        "harm_by_type",
        "harm_matrix",
        "net_harm",
        "wdq",
        "traditional_metrics",
        "costs",
    ):
        assert key in summary
    resolved = yaml.safe_load((out / "scenario.yaml").read_text())
    assert (
        resolved["seed"] == 3 and resolved["steps"] == 40 and resolved["market"]["n_users"] == 400
    )
    assert "marketsim_version" in resolved and "model_revision" in resolved
    assert "net harm" in res.stdout
    # The resolved file runs again as it is, and gives the same run.
    again = marketsim("run", str(out / "scenario.yaml"), "--out", str(tmp_path / "again"))
    assert again.returncode == 0, again.stderr
    assert (tmp_path / "again" / "timeseries.csv").read_text() == (
        out / "timeseries.csv"
    ).read_text()


def test_every_design_column_is_in_the_schema_of_outputs():
    assert set(DESIGN_COLUMNS) - {"step", "region"} <= set(COLUMNS)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("market:\n  n_users: -5\n", "market.n_users"),
        ("market:\n  n_users: lots\n", "market.n_users"),
        ("markt:\n  n_users: 5\n", "unknown key 'markt'"),
        ("market: [1, 2\n", "malformed YAML"),
        ("tactics:\n  - type: carpet_bombing\n", "unknown tactic type"),
    ],
)
def test_bad_scenarios_get_one_line_error(tmp_path, text, expected):
    bad = tmp_path / "bad.yaml"
    bad.write_text(text)
    res = marketsim("validate", str(bad))
    assert res.returncode != 0
    assert "Traceback" not in res.stderr
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, res.stderr
    assert str(bad) in lines[0] and expected in lines[0]


def test_missing_file_is_a_clean_error(tmp_path):
    res = marketsim("run", str(tmp_path / "nope.yaml"))
    assert res.returncode != 0 and "Traceback" not in res.stderr
    assert "file not found" in res.stderr


def test_scenarios_lists_baseline():
    res = marketsim("scenarios")
    assert res.returncode == 0
    assert any(line.startswith("baseline") for line in res.stdout.splitlines())
