"""What a reader sees: sources by publication, units said, the town's size stated."""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml

from marketsim.citations import SOURCES, readable
from tests.conftest import ROOT, small


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("(seed 001 Table 4.1)", "(UKDPC 2009, Table 4.1)"),
        ("seed 000 Box C", "UKDPC 2009 briefing, Box C"),
        ("seed 001_85a9966099c1cff4.txt ch. 3", "UKDPC 2009, ch. 3"),
        ("as seed 001's Table 4.1", "as UKDPC 2009, Table 4.1"),
        ("Seed 003 finds", "N8 PRP 2024 finds"),
        ("random seed 2, and seed 12", "random seed 2, and seed 12"),  # random seeds stay
    ],
)
def test_internal_labels_become_publications(text, expected) -> None:
    assert readable(text) == expected


def test_every_source_file_has_a_publication() -> None:
    files = sorted(p.name[:3] for p in (ROOT.parent.parent / "shared" / "seeds").glob("0*.txt"))
    assert not files or set(files) <= set(SOURCES)  # the sources folder sits outside the repo


def test_user_facing_text_has_no_internal_labels() -> None:
    """The README, the docs, and the shipped scenario and experiment files cite publications,
    not file names."""
    texts = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    for path in texts:
        assert readable(path.read_text()) == path.read_text(), path
    for path in [*sorted(ROOT.glob("scenarios/*.yaml")), *sorted(ROOT.glob("experiments/*.yaml"))]:
        assert readable(path.read_text()) == path.read_text(), path  # comments too: users copy them


def test_run_outputs_state_units_town_and_what_is_counted(tmp_path) -> None:
    scenario = tmp_path / "s.yaml"
    data = small(steps=10, burn_in=5).resolved()
    scenario.write_text(yaml.safe_dump(data))
    out = tmp_path / "out"
    command = [sys.executable, "-m", "marketsim.cli", "run", str(scenario), "--seed", "3"]
    shown = subprocess.run(
        [*command, "--out", str(out)], capture_output=True, text=True, check=True
    ).stdout
    summary = yaml.safe_load((out / "summary.json").read_text())
    residents = summary["town"]["residents"]
    assert residents > 0 and f"{residents:,} residents on 20x20 cells" in shown
    crimes = summary["totals_by_region"]["all"]["acquisitive_crimes"]
    assert f"{crimes:,.0f} acquisitive offences committed" in shown
    assert f"about {crimes * 0.4:,.0f} recorded at the 40% reporting rate" in shown
    matrix = (out / "harm_matrix.md").read_text()
    assert "random seed 3, 10 days" in matrix
    assert "**harm points**: a relative scale on which one homicide is 100 points" in matrix
    assert "UKDPC 2009, Table 4.1" in matrix and "seed 00" not in matrix
