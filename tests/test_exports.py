"""`marketsim run --keep-events`: the harm ledger and per-cell harm, exported."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest
import yaml

from marketsim.exports import harm_by_cell, harm_events
from marketsim.io import simulate
from tests.conftest import small


def test_exports_add_up_to_the_run_totals() -> None:
    model, ts, summary = simulate(small(steps=15, burn_in=10), keep_events=True)
    events = harm_events(model)
    assert set(events.columns) >= {"day", "cell", "x", "y", "land_use", "harm", "cause", "count"}
    assert events.day.between(0, 14).all()  # recorded days only, not burn-in
    # Every harm type's events sum to its count in summary.json.
    by_type = events.groupby("harm")["count"].sum()
    for name, entry in summary["harm_by_type"].items():
        assert by_type.get(name, 0.0) == pytest.approx(entry["count"], rel=1e-9, abs=1e-9), name
    cells = harm_by_cell(model)
    # The weighted per-cell harm sums to the run's net harm (the timeseries profile).
    all_rows = ts[ts.region == "all"]
    assert cells.weighted.sum() == pytest.approx(all_rows.net_harm.sum(), rel=1e-9)
    # Coordinates match the cell index: cell = x * height + y.
    assert (cells.cell == cells.x * model.town.height + cells.y).all()


def test_run_keep_events_writes_both_files(tmp_path) -> None:
    scenario = tmp_path / "s.yaml"
    scenario.write_text(yaml.safe_dump(small(steps=5, burn_in=5).resolved()))
    out = tmp_path / "out"
    command = [sys.executable, "-m", "marketsim.cli", "run", str(scenario), "--keep-events"]
    shown = subprocess.run(
        [*command, "--out", str(out)], capture_output=True, text=True, check=True
    ).stdout
    assert "harm ledger:" in shown
    assert len(pd.read_parquet(out / "harm_events.parquet")) > 0
    assert set(pd.read_csv(out / "harm_by_cell.csv").columns) == {
        "cell",
        "x",
        "y",
        "land_use",
        "harm",
        "count",
        "weighted",
    }
