"""timeseries.csv's columns: the core ones, and those each tactic declares on its config class."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest

from marketsim.columns import COLUMNS, TACTIC_COLUMNS, tactic_columns
from marketsim.metrics import TALLIED, DayTally
from marketsim.model import MarketModel
from marketsim.tactics.schema import CONFIGS, TacticConfig
from tests.conftest import ROOT, small

SRC = ROOT / "src" / "marketsim"
TALLY_WRITES = ("add", "add_counts", "set_field")
DIVERSION = {
    "type": "diversion",
    "start": 5,
    "area": {"centre": [10, 10], "radius": 15},  # the whole small town
    "cycle_days": 10,
    "test_purchases_per_day": 3,
}


def test_declared_columns_are_in_every_run_and_written_only_with_their_tactic():
    assert TACTIC_COLUMNS == {"test_purchases": "diversion", "diversions": "diversion"}
    assert {c for config in CONFIGS.values() for c in config.columns} == set(TACTIC_COLUMNS)
    frames = {}
    for label, tactics in (("plain", []), ("diversion", [DIVERSION])):
        model = MarketModel(small(steps=40, tactics=[{"type": "standard_patrol"}, *tactics]))
        model.run()
        frames[label] = model.recorder.frame()
        assert list(frames[label].columns) == ["step", "region", *COLUMNS]
    for column in TACTIC_COLUMNS:
        assert frames["plain"][column].sum() == 0
        assert frames["diversion"][column].sum() > 0, column


def test_a_column_nobody_declared_cannot_be_written():
    tally = DayTally(4)
    writes = (
        lambda: tally.add("no_such_column", np.array([0, 1])),
        lambda: tally.add_counts("no_such_column", np.ones(4)),
        lambda: tally.set_field("no_such_column", np.ones(4)),
        lambda: tally.total("no_such_column"),
    )
    for write in writes:
        with pytest.raises(KeyError, match=r"'no_such_column'.*TacticConfig\.columns"):
            write()
    tally.add("test_purchases", np.array([0, 1, 1]))  # declared by diversion
    assert tally.total("test_purchases") == 3


class Newcomer(TacticConfig):
    columns: ClassVar[tuple[str, ...]] = ("leaflets",)


class Thief(TacticConfig):
    columns: ClassVar[tuple[str, ...]] = ("arrests",)


class Twin(TacticConfig):
    columns: ClassVar[tuple[str, ...]] = ("test_purchases",)


def test_a_new_tactics_columns_follow_the_others_and_each_column_has_one_owner():
    grown = tactic_columns({**CONFIGS, "newcomer": Newcomer})
    assert list(grown.items()) == [*TACTIC_COLUMNS.items(), ("leaflets", "newcomer")]
    with pytest.raises(ValueError, match="'thief' declares column 'arrests', a core column"):
        tactic_columns({**CONFIGS, "thief": Thief})
    with pytest.raises(ValueError, match=r"'twin' .* 'test_purchases', declared by 'diversion'"):
        tactic_columns({**CONFIGS, "twin": Twin})


def _called(node: ast.AST) -> str:
    func = node.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def tally_writes() -> Iterator[tuple[str, Path, str]]:
    """(column, file, enclosing function) of each write of a literal column to a day tally."""
    for path in SRC.rglob("*.py"):
        for func in ast.walk(ast.parse(path.read_text())):
            if not isinstance(func, ast.FunctionDef):
                continue
            for node in ast.walk(func):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute)
                    and node.func.attr in TALLY_WRITES
                    and ast.unparse(node.func.value).endswith("tally")
                    and node.args
                    and isinstance(node.args[0], ast.Constant)
                ):
                    yield node.args[0].value, path, func.name


def callers(function: str) -> set[Path]:
    """The source files that call a function of this name."""
    return {
        path
        for path in SRC.rglob("*.py")
        if any(
            isinstance(n, ast.Call) and _called(n) == function
            for n in ast.walk(ast.parse(path.read_text()))
        )
    }


def test_only_the_declaring_tactic_writes_its_columns():
    """Directly, or through an event (events.py) that only that tactic calls."""
    writes = list(tally_writes())
    assert {c for c, _, _ in writes} >= set(TACTIC_COLUMNS)
    assert {c for c, _, _ in writes} <= set(TALLIED), "a write to an undeclared column"
    for column, path, function in writes:
        if column not in TACTIC_COLUMNS:
            continue
        owner = SRC / "tactics" / f"{TACTIC_COLUMNS[column]}.py"
        if path == SRC / "events.py":
            assert callers(function) == {owner}, (column, function)
        else:
            assert path == owner, (column, path)


def test_the_documented_column_order_is_the_recorded_one():
    odd = (ROOT / "docs" / "odd.md").read_text()
    listed = re.search(r"Columns, in order: (.*?)\. ", odd).group(1)
    assert re.findall(r"`(\w+)`", listed) == ["step", "region", *COLUMNS]
