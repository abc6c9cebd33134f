"""The Python API (marketsim.run, compare, ...) and Mesa's own tools on the model."""

from __future__ import annotations

import json
import subprocess
import sys

import mesa
import pandas as pd
import pytest
import yaml

import marketsim
from marketsim.model import MarketModel
from marketsim.scenario import ScenarioError
from tests.conftest import small


def _yaml(tmp_path, name: str, **overrides) -> str:
    data = small(**overrides).resolved()
    data["name"] = name
    data["steps"] = 20
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data))
    return str(path)


def test_import_marketsim_does_not_load_the_model() -> None:
    code = "import sys, marketsim; print('marketsim.model' in sys.modules, callable(marketsim.run))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True"]


def test_run_returns_what_the_cli_writes(tmp_path) -> None:
    """marketsim.run gives the same timeseries and summary as `marketsim run` on that file."""
    path = _yaml(tmp_path, "tiny")
    result = marketsim.run(path, seed=4, set=["police.n_units=6"])
    assert isinstance(result.model, MarketModel)
    assert result.summary["seed"] == 4 and result.scenario.police.n_units == 6
    assert list(result.timeseries.columns[:2]) == ["step", "region"]
    assert len(result.timeseries) == 20 * 4  # days x regions
    cli = tmp_path / "cli"
    command = [sys.executable, "-m", "marketsim.cli", "run", path, "--seed", "4", "-q"]
    subprocess.run([*command, "--set", "police.n_units=6", "--out", str(cli)], check=True)
    api_out = result.save(tmp_path / "api")
    assert (api_out / "timeseries.csv").read_bytes() == (cli / "timeseries.csv").read_bytes()
    assert json.loads((api_out / "summary.json").read_text()) == json.loads(
        (cli / "summary.json").read_text()
    )


def test_run_takes_a_shipped_name_or_says_what_is_shipped() -> None:
    assert marketsim.load("crackdown").name == "crackdown"
    with pytest.raises(
        ScenarioError, match=r"scenario: bad value 'crackdwn'.*shipped: .*crackdown"
    ):
        marketsim.load("crackdwn")


def test_compare_in_python_matches_its_store(tmp_path) -> None:
    a = _yaml(tmp_path, "a")
    b = _yaml(tmp_path, "b", police__n_units=12)
    result = marketsim.compare([a, b], replicates=2, seed=3, out=tmp_path / "cmp", backend="serial")
    assert result.report is not None and result.report.exists()
    assert sorted(result.runs.label.unique()) == ["a", "b"]
    assert list(result.runs.seed.unique()) == [3, 4]
    table = result.table
    row = table[(table.scenario == "b") & (table.region == "all") & (table.metric == "arrests")]
    assert len(row) == 1
    # The table's paired difference is the mean of the per-seed differences in the store.
    runs = result.runs.set_index(["label", "replicate"])["all.arrests"]
    diff = (runs["b"] - runs["a"]).mean()
    assert row["diff_vs_first"].iloc[0] == pytest.approx(diff, rel=1e-5)
    # Asked again for one seed, it runs nothing and returns the first seed's runs only.
    fewer = marketsim.compare([a, b], replicates=1, seed=3, out=tmp_path / "cmp", backend="serial")
    assert list(fewer.runs.seed.unique()) == [3] and len(fewer.runs) == 2


def test_mesa_batch_run_works_on_the_model() -> None:
    """Mesa's batch_run reads the model's DataCollector: one row a recorded day, same
    figures as the model's own recorder."""
    sc = small(steps=12, burn_in=5)
    rows = mesa.batch_run(
        MarketModel,
        {"scenario": [sc]},
        rng=[7],
        max_steps=1000,
        data_collection_period=1,
        number_processes=1,
        display_progress=False,
    )
    frame = pd.DataFrame(rows)
    assert list(frame.day) == list(range(12))
    own = marketsim.run(sc, seed=7).timeseries.query("region == 'all'")
    assert list(frame.sales) == list(own.sales)
    assert frame.net_harm.to_numpy() == pytest.approx(own.net_harm.to_numpy())


@pytest.mark.parametrize(
    ("overrides", "where"),
    [(["tactics.crackdown.intensty=3"], "tactics[1].intensty")],
)
def test_unknown_tactic_key_lists_that_tactics_keys(overrides, where) -> None:
    """`intensty` in a crackdown: the allowed keys are the crackdown's, not the base class's."""
    with pytest.raises(ScenarioError) as info:
        marketsim.load("crackdown", set=overrides)
    message = str(info.value)
    assert f"{where}: bad value 3: unknown key 'intensty'" in message
    assert "intensity" in message and "cells_per_unit" in message


def test_unknown_key_in_a_partnership_part(tmp_path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(
        "name: p\ntactics:\n  - type: partnership\n    parts:\n"
        "      - type: diversion\n        acceptanc: 0.5\n"
    )
    with pytest.raises(ScenarioError, match=r"parts\[0\]\.acceptanc.*allowed keys: .*acceptance"):
        marketsim.load(path)


def test_sweep_in_python_returns_its_runs_and_report(tmp_path) -> None:
    town = small(steps=10, burn_in=5).resolved()
    (tmp_path / "town.yaml").write_text(yaml.safe_dump(town))
    experiment = {
        "name": "tiny",
        "scenario": "town.yaml",
        "seed": 2,
        "replicates": 1,
        "parameters": [{"path": "police.n_units", "values": [2, 8]}],
        "design": {"method": "factorial"},
    }
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(experiment))
    result = marketsim.sweep(path, out=tmp_path / "out", backend="serial")
    assert result.report is not None and result.report.exists()
    assert sorted(result.runs["param:police.n_units"]) == [2, 8]
    # More units on patrol: more officer-days, run by run, exactly as configured.
    days = result.runs.set_index("param:police.n_units")["all.police_officer_days"]
    assert days[8] == 4 * days[2]
    with pytest.raises(ScenarioError, match="sensitivity needs sobol, morris or emulator"):
        marketsim.sensitivity(path, out=tmp_path / "s", backend="serial")
