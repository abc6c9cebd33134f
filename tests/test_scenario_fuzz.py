"""Fuzzing scenario files: any file either loads or fails with one clean ScenarioError line.

Hypothesis starts from valid scenarios (the shipped baseline, and a fully
resolved one with every default written out), mutates them (wrong types,
out-of-range numbers, unknown keys at any depth, a list where a mapping belongs,
bad tactic entries) or mangles the YAML text (truncation, non-UTF-8 bytes, empty
file, a scalar at top level), and checks the contract of `load_scenario`.

Inputs that once broke the contract (unhashable tactic types, keys containing
line breaks, NUL bytes in a raster path, very deep nesting, duplicate keys) have
their own regression tests at the bottom.
"""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from marketsim.scenario import Scenario, ScenarioError, load_scenario
from tests.conftest import ROOT, small

BASELINE = yaml.safe_load((ROOT / "scenarios" / "baseline.yaml").read_text())
RESOLVED = small().resolved()  # every section and field written out
SHORT = {"name": "short", "steps": 20, "market": {"n_users": 50}, "tactics": []}
BASES = [BASELINE, RESOLVED, SHORT]

FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Keys and strings free of line breaks and NUL (covered by the regression tests
# below). Values may hold any other text.
SAFE_KEY = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-. éß字",
    min_size=1,
    max_size=12,
)
TEXT = st.text(
    alphabet=st.characters(
        codec="utf-8",
        exclude_categories=("Cs",),
        exclude_characters="\x00",
    ),
    max_size=20,
)
SCALAR = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    TEXT,
)
JUNK = st.one_of(
    SCALAR,
    st.lists(SCALAR, max_size=3),
    st.dictionaries(SAFE_KEY, SCALAR, max_size=3),
    st.lists(st.lists(st.integers(), max_size=2), max_size=2),
)
OUT_OF_RANGE = st.one_of(
    st.sampled_from([-1, -1e9, 1e12, 10**20, -(10**20), -0.5, 1.5, 2**63]),
    st.floats(allow_nan=True, allow_infinity=True),
)


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path into a nested dict/list document, including the containers."""
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out.extend(_paths(v, (*prefix, k)))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out.extend(_paths(v, (*prefix, i)))
    return out


def _get(doc: Any, path: tuple) -> Any:
    for p in path:
        doc = doc[p]
    return doc


def _set(doc: Any, path: tuple, value: Any) -> Any:
    if not path:
        return value
    _get(doc, path[:-1])[path[-1]] = value
    return doc


@st.composite
def mutated_docs(draw, bases: list[Any] = BASES) -> Any:
    """One of `bases` (any kind of input file as data) with one to three mutations."""
    doc = copy.deepcopy(draw(st.sampled_from(bases)))
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(doc)
        path = draw(st.sampled_from(paths))
        kind = draw(
            st.sampled_from(
                ["junk", "range", "unknown_key", "nesting", "delete", "tactics", "swap_types"]
            )
        )
        target = _get(doc, path) if path else doc
        if kind == "junk" and path:
            doc = _set(doc, path, draw(JUNK))
        elif kind == "range" and path:
            doc = _set(doc, path, draw(OUT_OF_RANGE))
        elif kind == "unknown_key" and isinstance(target, dict):
            key = draw(SAFE_KEY)
            target[key] = draw(SCALAR)
        elif kind == "nesting" and path:
            # A list where a mapping (or scalar) belongs, or a mapping for a scalar.
            if isinstance(target, dict):
                doc = _set(doc, path, list(target.values()) or [1])
            elif isinstance(target, list):
                doc = _set(doc, path, {"x": target})
            else:
                doc = _set(doc, path, [target])
        elif kind == "delete" and path and isinstance(_get(doc, path[:-1]), dict | list):
            parent = _get(doc, path[:-1])
            del parent[path[-1]]
        elif kind == "tactics" and isinstance(doc, dict):
            entry = draw(
                st.one_of(
                    SCALAR,
                    st.fixed_dictionaries({}, optional={"name": TEXT, "start": SCALAR}),
                    st.fixed_dictionaries({"type": SCALAR}),
                    st.fixed_dictionaries(
                        {"type": st.just("standard_patrol")},
                        optional={
                            "name": st.one_of(TEXT, st.just("standard_patrol")),
                            "units": JUNK,
                            "start": OUT_OF_RANGE,
                            "duration": JUNK,
                            "arrest_priority": JUNK,
                            "demand_weight": OUT_OF_RANGE,
                            "bogus": SCALAR,
                        },
                    ),
                )
            )
            tactics = doc.get("tactics")
            if isinstance(tactics, list):
                tactics.append(entry)
            else:
                doc["tactics"] = [entry]
        elif kind == "swap_types" and isinstance(target, int | float) and path:
            doc = _set(doc, path, str(target))
    return _avoid_known_bugs(doc)


def _avoid_known_bugs(doc: Any) -> Any:
    """Keep tactic types hashable (the unhashable case has its own test below)."""
    if isinstance(doc, dict) and isinstance(doc.get("tactics"), list):
        for entry in doc["tactics"]:
            if isinstance(entry, dict) and isinstance(entry.get("type"), list | dict):
                entry["type"] = repr(entry["type"])
    return doc


def _mangle(text: str, how: str, pos: float, junk: bytes) -> bytes:
    data = text.encode("utf-8")
    cut = int(pos * len(data))
    if how == "truncate":
        return data[:cut]
    if how == "insert_bytes":
        return data[:cut] + junk + data[cut:]
    if how == "empty":
        return b""
    if how == "scalar":
        return junk[:10].decode("latin-1").replace("\x00", "").encode("utf-8") or b"42"
    if how == "list_top":
        return b"- " + data.replace(b"\n", b"\n  ")
    if how == "tab_indent":
        return data.replace(b"\n  ", b"\n\t", 1)
    return data


def check_contract(path: Path) -> Scenario | None:
    """Either a Scenario, or a ScenarioError: one line naming the file."""
    try:
        sc = load_scenario(path)
    except ScenarioError as exc:
        msg = str(exc)
        assert msg.strip(), "empty error message"
        assert len(msg.splitlines()) == 1, f"multi-line error: {msg!r}"
        assert str(path) in msg, f"error does not name the file: {msg!r}"
        return None
    assert isinstance(sc, Scenario)
    return sc


@FUZZ
@given(doc=mutated_docs())
def test_mutated_scenarios_load_or_fail_cleanly(tmp_path_factory, doc):
    path = tmp_path_factory.mktemp("fuzz") / "scenario.yaml"
    try:
        text = yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)
    except yaml.YAMLError:
        assume(False)
    path.write_text(text, encoding="utf-8")
    sc = check_contract(path)
    if sc is not None:
        # Whatever loads is within the schema and survives a resolve/reload round trip.
        assert 1 <= sc.steps <= 36500 and sc.market.n_users >= 1 and sc.police.n_units >= 0
        assert Scenario.model_validate(sc.resolved()) == sc


@FUZZ
@given(
    doc=st.one_of(mutated_docs(), st.sampled_from(BASES)),
    how=st.sampled_from(
        ["truncate", "insert_bytes", "empty", "scalar", "list_top", "tab_indent", "none"]
    ),
    pos=st.floats(0, 1),
    junk=st.binary(min_size=1, max_size=12),
)
def test_mangled_yaml_text_loads_or_fails_cleanly(tmp_path_factory, doc, how, pos, junk):
    path = tmp_path_factory.mktemp("fuzz") / "scenario.yaml"
    try:
        text = yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)
    except yaml.YAMLError:
        assume(False)
    path.write_bytes(_mangle(text, how, pos, junk))
    check_contract(path)


@settings(max_examples=60, deadline=None)
@given(
    text=st.text(alphabet=st.sampled_from(list("abn_:-[]{},'\" \n#&*!|>%@`0123.?")), max_size=80)
)
def test_random_yaml_like_text_loads_or_fails_cleanly(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("fuzz") / "scenario.yaml"
    path.write_text(text, encoding="utf-8")
    check_contract(path)


# ------------------------------------------------------------- fixed cases
@pytest.mark.parametrize(
    ("text", "field", "value", "bound"),
    [
        ("market:\n  n_users: 0\n", "market.n_users", "0", ">= 1"),
        ("market:\n  n_dealers: 20001\n", "market.n_dealers", "20001", "<= 20000"),
        ("police:\n  charge_prob: 1.5\n", "police.charge_prob", "1.5", "<= 1"),
        ("market:\n  base_price: 0\n", "market.base_price", "0", "> 0"),
        ("market:\n  wholesale_share: 1\n", "market.wholesale_share", "1", "< 1"),
        ("steps: -3\n", "steps", "-3", ">= 1"),
        ("regions:\n  buffer_width: 0\n", "regions.buffer_width", "0", ">= 1"),
        ("market:\n  entrants:\n    rate: 2\n", "market.entrants.rate", "2", "<= 1"),
        (
            "tactics:\n  - type: standard_patrol\n    demand_weight: 11\n",
            "tactics[0].demand_weight",
            "11",
            "<= 10",
        ),
    ],
)
def test_range_errors_name_field_value_and_bound(tmp_path, text, field, value, bound):
    path = tmp_path / "range.yaml"
    path.write_text(text)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    msg = str(info.value)
    assert len(msg.splitlines()) == 1
    assert str(path) in msg
    assert f"{field}:" in msg, msg
    assert f"bad value {value}" in msg, msg
    assert bound in msg, msg


def test_unknown_key_lists_allowed_keys(tmp_path):
    path = tmp_path / "unknown.yaml"
    path.write_text("police:\n  n_unit: 3\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    msg = str(info.value)
    assert "police.n_unit" in msg and "unknown key 'n_unit'" in msg
    assert "n_units" in msg.split("allowed keys:", 1)[1]


def test_valid_edge_files_load(tmp_path):
    """An empty file and a comment-only file are valid: every default applies."""
    for text in ("", "# nothing here\n", "tactics: []\n"):
        path = tmp_path / "edge.yaml"
        path.write_text(text)
        sc = load_scenario(path)
        assert sc.steps == Scenario().steps


def cli_validate(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "marketsim.cli", "validate", str(path)],
        capture_output=True,
        timeout=120,
        cwd=ROOT,
    )


CLI_CASES = {
    "non_utf8": b"name: caf\xe9\nseed: \xff\xfe\n",
    "scalar_top": b"just a string\n",
    "list_top": b"- type: standard_patrol\n",
    "truncated": b"name: t\nmarket:\n  n_users: [1, 2\n  n_dealers: {a:\n",
    "mapping_as_list": b"market:\n  - n_users\n  - 5\n",
    "tactic_no_type": b"tactics:\n  - name: p\n    start: 3\n",
    "tactic_scalar": b"tactics:\n  - standard_patrol\n",
    "tactic_dupe": b"tactics:\n  - type: standard_patrol\n  - type: standard_patrol\n",
    "range_nested": b"users:\n  overdose_fatality: 7\n",
    "nan_count": b"market:\n  n_users: .nan\n",
}


@pytest.mark.parametrize("case", sorted(CLI_CASES))
def test_cli_validate_malformed_file_one_line(tmp_path, case):
    path = tmp_path / f"{case}.yaml"
    path.write_bytes(CLI_CASES[case])
    res = cli_validate(path)
    stderr = res.stderr.decode("utf-8", "replace")
    assert res.returncode != 0
    assert "Traceback" not in stderr
    lines = stderr.splitlines()
    assert len(lines) == 1 and lines[0].strip(), stderr
    assert str(path) in lines[0]


# ------------------------------------------- inputs that once broke the contract
@pytest.mark.parametrize("value", ["[standard_patrol]", "{a: 1}"])
def test_unhashable_tactic_type_is_a_scenario_error(tmp_path, value):
    path = tmp_path / "t.yaml"
    path.write_text(f"tactics:\n  - type: {value}\n")
    check_contract(path)


@pytest.mark.parametrize("text", ['"a\\nb": 1\n', 'market: {"n_\\rusers": 5}\n'])
def test_key_with_line_break_gives_one_line_error(tmp_path, text):
    path = tmp_path / "k.yaml"
    path.write_text(text)
    check_contract(path)


def test_raster_path_with_nul_is_a_scenario_error(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text('town: {generator: raster, raster: "a\\0b.csv"}\n')
    check_contract(path)


def test_deeply_nested_yaml_is_a_scenario_error(tmp_path):
    path = tmp_path / "deep.yaml"
    path.write_text("market: " + "[" * 1000 + "]" * 1000 + "\n")
    check_contract(path)


def test_cli_unhashable_tactic_type_one_line(tmp_path):
    path = tmp_path / "t.yaml"
    path.write_text("tactics:\n  - type: [standard_patrol]\n")
    res = cli_validate(path)
    stderr = res.stderr.decode("utf-8", "replace")
    assert res.returncode != 0
    assert "Traceback" not in stderr and len(stderr.splitlines()) == 1


def test_duplicate_keys_are_an_error_not_last_one_wins(tmp_path):
    path = tmp_path / "dup.yaml"
    path.write_text("market:\n  n_users: 100\n  n_users: 200\n")
    with pytest.raises(ScenarioError, match=r"line 3: key 'n_users' appears twice"):
        load_scenario(path)
