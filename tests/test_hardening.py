"""Hardening (issue 17): hostile or careless input gets one clean line, never a hang,
a traceback, an orphan process or a file written outside its folder."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from marketsim.scenario import ScenarioError, load_scenario, parse_override
from tests.conftest import ROOT


def marketsim(*args: str, cwd=ROOT, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "marketsim.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=timeout,
    )


def one_clean_line(res: subprocess.CompletedProcess, *needles: str) -> str:
    """The command failed with exactly one error line, no traceback, naming each needle."""
    assert res.returncode != 0, res.stdout
    assert "Traceback" not in res.stderr, res.stderr
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, res.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


# ------------------------------------------------------------------ 1. bounded parsing
def alias_bomb(levels: int) -> str:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, levels):
        refs = ",".join([f"*a{i - 1}"] * 9)
        lines.append(f"a{i}: &a{i} [{refs}]")
    return "\n".join(lines) + "\n"


def test_alias_bomb_is_refused_quickly(tmp_path):
    path = tmp_path / "bomb.yaml"
    path.write_text(alias_bomb(9))  # 9**9 = 387 million strings once expanded
    assert len(path.read_bytes()) < 500
    t0 = time.perf_counter()
    with pytest.raises(ScenarioError, match="aliases expand to over") as info:
        load_scenario(path)
    assert time.perf_counter() - t0 < 2.0
    assert str(path) in str(info.value)


def test_alias_bomb_in_set_is_refused():
    bomb = alias_bomb(9).replace("\n", ", ").replace("a0: ", "{a0: ", 1)
    with pytest.raises(ScenarioError, match="aliases expand"):
        parse_override(f"description={bomb.rstrip(', ')}}}")


def test_recursive_alias_is_refused(tmp_path):
    path = tmp_path / "rec.yaml"
    path.write_text("market: &m\n  n_users: 100\n  extra: *m\n")
    with pytest.raises(ScenarioError, match="alias refers to itself"):
        load_scenario(path)


def test_huge_file_is_refused_before_parsing(tmp_path):
    path = tmp_path / "huge.yaml"
    path.write_text("description: " + "x" * 2_100_000 + "\n")
    with pytest.raises(ScenarioError, match="at most 2,000,000"):
        load_scenario(path)


def test_cli_validate_alias_bomb_one_line(tmp_path):
    path = tmp_path / "bomb.yaml"
    path.write_text(alias_bomb(9))
    one_clean_line(marketsim("validate", str(path), timeout=60), str(path), "aliases")


def test_yaml_merge_keys_work_and_own_keys_win(tmp_path):
    path = tmp_path / "merge.yaml"
    path.write_text(
        "market:\n  <<: {n_users: 120, n_dealers: 20}\n  n_dealers: 30\n"
        "police: &p\n  n_units: 3\n"
        "tactics:\n  - <<: {type: standard_patrol, name: a}\n  - <<: {type: standard_patrol}\n"
        "    name: b\n"
    )
    sc = load_scenario(path)
    assert (sc.market.n_users, sc.market.n_dealers) == (120, 30)
    assert [t.label for t in sc.tactics] == ["a", "b"]


def test_duplicate_key_still_refused_beside_a_merge(tmp_path):
    path = tmp_path / "dup.yaml"
    path.write_text("market:\n  <<: {n_users: 120}\n  n_dealers: 30\n  n_dealers: 40\n")
    with pytest.raises(ScenarioError, match="appears twice"):
        load_scenario(path)
