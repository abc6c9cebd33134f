"""Fuzzing every kind of input file, and `--set`, through the checks `marketsim validate` runs.

Structure-aware: hypothesis starts from the shipped files (scenarios/, experiments/, the
pilot file, the calibration files), applies the generic mutations of test_scenario_fuzz
(wrong types, out-of-range numbers, unknown keys, a list for a mapping, deletions, bad tactic
entries) and mutations that know each kind's fields (names that are paths, unknown outcomes,
bad designs, integer ranges, overlapping areas, odd durations; a calibration's priors,
patterns, windows, regions, metrics, statistics, scenario files, seeds and search). The contract, for every example: the check
either passes or raises one ScenarioError line naming the file; never another exception,
and never more than 5 s.

The default run tries `EXAMPLES` examples per kind; `pytest -m fuzz tests/test_fuzz_inputs.py -s`
tries 1,000 per kind and prints the tally (docs/experiments.md records the last one).
"""

from __future__ import annotations

import contextlib
import copy
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from marketsim.cli import file_kind
from marketsim.scenario import ScenarioError, read_yaml
from tests.conftest import ROOT
from tests.test_scenario_fuzz import JUNK, OUT_OF_RANGE, SCALAR, TEXT, mutated_docs

EXAMPLES = 40  # per kind in the default run; the fuzz-marked test tries 1,000
LIMIT_S = 5.0


def _shipped(folder: str, *names: str) -> list[dict[str, Any]]:
    """Shipped files as data, with the scenario they name made absolute (they move to tmp)."""
    docs = []
    for name in names:
        doc = yaml.safe_load((ROOT / folder / name).read_text())
        if isinstance(doc.get("scenario"), str):
            doc["scenario"] = str((ROOT / folder / doc["scenario"]).resolve())
        if isinstance(doc.get("town"), dict) and isinstance(doc["town"].get("raster"), str):
            doc["town"]["raster"] = str((ROOT / folder / doc["town"]["raster"]).resolve())
        for run in (doc.get("scenarios") or {}).values():  # a calibration's own scenarios
            run["file"] = str((ROOT / folder / run["file"]).resolve())
        docs.append(doc)
    return docs


SCENARIOS = _shipped("scenarios", "baseline.yaml", "crackdown.yaml", "grasslands.yaml")
SWEEPS = _shipped("experiments", "treatment_x_diversion.yaml")
SENSITIVITY = _shipped("experiments", "morris_screening.yaml", "sobol_tactics.yaml")
PILOTS = _shipped("experiments", "pilot_diversion.yaml")
CALIBRATIONS = _shipped("experiments", "calibrate_town.yaml", "calibrate_facts.yaml")

NAMES = st.one_of(TEXT, st.sampled_from(["../../x", "/abs", "", ".", "..", "a/b", "a\\b", "ok"]))
OUTCOME = st.sampled_from(
    ["all.net_harm_gbp", "target.violent_incidents", "all.bogus", "net_harm", "", "all."]
)
PATHS = st.sampled_from(
    [
        "police.n_units",
        "market.n_users",
        "treatment.places_per_site",
        "tactics.crackdown.intensity",
        "tactics.nosuch.x",
        "town.guardianship.school",
        "town.guardianship.residental",
        "steps",
        "seed",
        "",
        "a..b",
        "tactics.99.start",
    ]
)
RANGE = st.one_of(
    st.lists(st.one_of(st.floats(-10, 1e6), st.integers(-5, 500)), min_size=0, max_size=3),
    JUNK,
)
RUN_KEYS = st.sampled_from(["town", "baseline", "crackdown", "raid", "nosuch", "", "iceberg"])
WINDOW = st.one_of(
    st.lists(st.integers(-5, 40000), min_size=0, max_size=3),
    st.tuples(st.integers(-2, 400), st.integers(-2, 400)).map(list),
    JUNK,
)
BOUNDS = st.one_of(
    st.lists(st.one_of(st.none(), st.floats(-1e3, 1e3), OUT_OF_RANGE), min_size=0, max_size=3),
    JUNK,
)
AREA = st.one_of(
    st.fixed_dictionaries(
        {
            "centre": st.tuples(st.integers(-5, 60), st.integers(-5, 60)),
            "radius": st.integers(0, 30),
        }
    ),
    JUNK,
)
# Field-aware mutations: a path into the file (an int is a list position) and values for it.
DOMAIN: dict[str, list[tuple[tuple, st.SearchStrategy]]] = {
    "experiment": [
        (("name",), NAMES),
        (
            ("design", "method"),
            st.sampled_from(["factorial", "lhs", "list", "sobol", "morris", "grid"]),
        ),
        (("design", "samples"), st.one_of(st.integers(-2, 70), OUT_OF_RANGE)),
        (("design", "levels"), st.integers(-1, 25)),
        (("design", "points"), st.lists(st.dictionaries(PATHS, SCALAR, max_size=2), max_size=3)),
        (("outcomes", "metrics"), st.one_of(st.none(), st.lists(OUTCOME, max_size=3))),
        (("outcomes", "analyse"), st.lists(OUTCOME, max_size=3)),
        (("parameters", 0, "path"), PATHS),
        (("parameters", 0, "range"), RANGE),
        (("parameters", 0, "values"), st.one_of(st.lists(SCALAR, max_size=3), JUNK)),
        (("parameters", 0, "kind"), st.sampled_from(["int", "float", "auto", "bool"])),
        (("replicates",), st.one_of(st.integers(-1, 3), JUNK)),
        (("set",), st.lists(st.builds(lambda p, v: f"{p}={v}", PATHS, TEXT), max_size=2)),
        (("scenario",), st.one_of(TEXT, st.just(str(ROOT / "scenarios")))),
    ],
    "pilot": [
        (("name",), NAMES),
        (("pilot_areas", 0), AREA),
        (("comparison_areas", 0), AREA),
        (("durations",), st.one_of(st.lists(st.integers(-10, 400), max_size=3), JUNK)),
        (("duration",), st.integers(-5, 400)),
        (("start",), st.integers(-5, 400)),
        (("before_days",), st.integers(-5, 400)),
        (("follow_up_days",), st.integers(-5, 400)),
        (("primary",), st.sampled_from(["arrests", "survey_fear", "bogus"])),
        (("design",), st.sampled_from(["did", "before_after", "rct"])),
        (("replicates",), st.integers(-1, 5)),
    ],
    "calibrate": [
        (("name",), NAMES),
        (("parameters", 0, "path"), PATHS),
        (("parameters", 1, "range"), RANGE),
        (("parameters", 0, "scale"), st.sampled_from(["log", "linear", "logit", ""])),
        (("parameters", 0, "kind"), st.sampled_from(["int", "float", "auto", "bool"])),
        (("parameters", 0, "values"), st.one_of(st.lists(SCALAR, max_size=3), JUNK)),
        (("parameters",), st.one_of(st.just([]), JUNK)),
        (("patterns", 0, "scenario"), RUN_KEYS),
        (("patterns", 0, "against"), st.one_of(st.none(), RUN_KEYS)),
        (("patterns", 1, "region"), st.sampled_from(["all", "target", "buffer", "nosuch", ""])),
        (
            ("patterns", 0, "metric"),
            st.sampled_from(["sales", "open_sales", "bogus", "", "net_harm_gbp"]),
        ),
        (("patterns", 1, "denominator"), st.sampled_from(["sales", "bogus", ""])),
        (("patterns", 0, "window"), WINDOW),
        (("patterns", 1, "window"), WINDOW),
        (
            ("patterns", 0, "statistic"),
            st.sampled_from(
                [
                    "mean",
                    "per_year",
                    "share",
                    "change",
                    "difference",
                    "outcome",
                    "measure",
                    "median",
                ]
            ),
        ),
        (
            ("patterns", 1, "measure"),
            st.sampled_from(["raid_fade", "displacement_share", "bogus", ""]),
        ),
        (("patterns", 0, "target"), st.one_of(st.floats(), JUNK)),
        (("patterns", 0, "tolerance"), st.one_of(st.floats(), JUNK)),
        (("patterns", 1, "interval"), BOUNDS),
        (("patterns", 2, "name"), st.one_of(TEXT, st.just("overdose deaths a year"))),
        (
            ("scenarios", "town", "file"),
            st.one_of(TEXT, st.just(str(ROOT / "scenarios")), st.just("nope.yaml")),
        ),
        (("scenarios", "town", "steps"), st.one_of(st.integers(-1, 40000), JUNK)),
        (
            ("scenarios", "town", "set"),
            st.lists(st.builds(lambda p, v: f"{p}={v}", PATHS, TEXT), max_size=2),
        ),
        (("set",), st.lists(st.builds(lambda p, v: f"{p}={v}", PATHS, TEXT), max_size=2)),
        (("seed",), st.one_of(st.integers(-1, 2**33), JUNK)),
        (("replicates",), st.one_of(st.integers(-1, 2000), JUNK)),
        (("search", "population"), st.one_of(st.integers(-1, 200_000), JUNK)),
        (("search", "waves"), st.one_of(st.integers(-1, 200), JUNK)),
        (("search", "quantile"), st.one_of(st.floats(-1, 2), JUNK)),
        (("search", "pinned"), st.one_of(st.floats(-1, 2), JUNK)),
        (("scenario",), st.one_of(TEXT, st.just(str(ROOT / "scenarios")), st.just("nope.yaml"))),
    ],
    "scenario": [
        (("steps",), st.one_of(st.booleans(), st.integers(-1, 40))),
        (("evaluation", "intervention_day"), st.integers(-1, 800)),
        (("evaluation", "before_days"), st.integers(-1, 800)),
        (("dealers", "reopen_threshold"), st.floats(0, 1)),
        (
            ("town", "guardianship"),
            st.dictionaries(
                st.sampled_from(["park", "school", "residental"]), st.floats(0, 2), max_size=2
            ),
        ),
        (("town", "raster"), st.one_of(TEXT, st.just("nope.csv"))),
        (("town", "generator"), st.sampled_from(["raster", "procedural", "csv"])),
    ],
}


def _put(doc: Any, path: tuple, value: Any) -> None:
    """Set doc[path], creating mappings on the way; a list position past the end is skipped."""
    node = doc
    for i, part in enumerate(path[:-1]):
        nxt = path[i + 1]
        if isinstance(node, list):
            if not isinstance(part, int) or part >= len(node):
                return
            node = node[part]
            continue
        if not isinstance(node, dict):
            return
        if not isinstance(node.get(part), dict | list):
            node[part] = [] if isinstance(nxt, int) else {}
        node = node[part]
    last = path[-1]
    fits = (
        isinstance(node, list) and isinstance(last, int) and last < len(node)
        if isinstance(last, int)
        else isinstance(node, dict)
    )
    if fits:
        node[last] = value


@st.composite
def input_docs(draw, bases: list[dict[str, Any]], domain: str) -> Any:
    """A shipped file with generic mutations, field-aware ones, or both."""
    generic = draw(st.booleans())
    doc = draw(mutated_docs(bases)) if generic else copy.deepcopy(draw(st.sampled_from(bases)))
    if isinstance(doc, dict):
        for _ in range(draw(st.integers(0 if generic else 1, 2))):
            path, values = draw(st.sampled_from(DOMAIN[domain]))
            _put(doc, path, draw(values))
    return doc


TALLY: dict[str, Counter] = {}


def check_file(tmp: Path, kind: str, doc: Any) -> None:
    """The contract: ok, or one ScenarioError line naming the file; under LIMIT_S."""
    try:
        text = yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)
    except yaml.YAMLError:
        assume(False)
    path = tmp / f"{kind}.yaml"
    path.write_text(text, encoding="utf-8")
    tally = TALLY.setdefault(kind, Counter())
    with timed(tally):
        try:
            _kind, check = file_kind(read_yaml(path))
            _summary, warnings = check(path, [])
            tally["ok, with warnings" if warnings else "ok"] += 1
            assert all(w.strip() and len(w.splitlines()) == 1 for w in warnings), warnings
        except ScenarioError as exc:
            msg = str(exc)
            assert len(msg.splitlines()) == 1 and msg.strip(), f"not one line: {msg!r}"
            assert str(path) in msg, f"does not name the file: {msg!r}"
            tally["clean error"] += 1


@contextlib.contextmanager
def timed(tally: Counter):
    """Fail an example whose checks take over LIMIT_S of CPU (CPU, not wall-clock time:
    the machines this runs on are shared, and a busy neighbour is not a slow check)."""
    cpu, wall = time.process_time(), time.perf_counter()
    yield
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    tally["slowest_cpu_ms"] = max(tally["slowest_cpu_ms"], int(1000 * cpu))
    tally["slowest_wall_ms"] = max(tally["slowest_wall_ms"], int(1000 * wall))
    assert cpu < LIMIT_S, f"the checks took {cpu:.1f} s of CPU"


def check_set(text: str) -> None:
    """`--set` on the baseline: it loads and builds, or one line naming --set or the file."""
    from marketsim.model import MarketModel
    from marketsim.scenario import load_scenario

    tally = TALLY.setdefault("--set", Counter())
    base = ROOT / "scenarios" / "baseline.yaml"
    with timed(tally):
        try:
            sc = load_scenario(base, [text])
            MarketModel(sc)
            tally["ok, with warnings" if sc.warnings() else "ok"] += 1
        except ScenarioError as exc:
            msg = str(exc)
            assert len(msg.splitlines()) == 1 and msg.strip(), f"not one line: {msg!r}"
            assert "--set" in msg or str(base) in msg, msg
            tally["clean error"] += 1


SET_TEXT = st.one_of(
    st.builds(
        lambda p, v: f"{p}={v}",
        PATHS,
        st.one_of(TEXT, st.sampled_from(["[1, 2]", "{a: 1}", "&a [*a]", "true", "1e999", "~"])),
    ),
    st.builds(
        lambda p, v: f"{p}={yaml.safe_dump(v, default_flow_style=True).strip()}", PATHS, JUNK
    ),
    TEXT,
)
KINDS = {
    "scenario": st.deferred(lambda: input_docs(SCENARIOS, "scenario")),
    "sweep": st.deferred(lambda: input_docs(SWEEPS, "experiment")),
    "sensitivity": st.deferred(lambda: input_docs(SENSITIVITY, "experiment")),
    "pilot": st.deferred(lambda: input_docs(PILOTS, "pilot")),
    "calibrate": st.deferred(lambda: input_docs(CALIBRATIONS, "calibrate")),
}


def _fuzz(kind: str, examples: int):
    opts = settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.too_slow,
            HealthCheck.filter_too_much,
        ],
        database=None,
    )
    if kind == "--set":
        return opts(given(text=SET_TEXT)(lambda tmp_path_factory, text: check_set(text)))
    return opts(
        given(doc=KINDS[kind])(
            lambda tmp_path_factory, doc: check_file(tmp_path_factory.mktemp("f"), kind, doc)
        )
    )


@pytest.mark.parametrize("kind", [*KINDS, "--set"])
def test_every_kind_of_input_fails_cleanly_or_passes(tmp_path_factory, kind):
    _fuzz(kind, EXAMPLES)(tmp_path_factory)


@pytest.mark.fuzz
@pytest.mark.parametrize("kind", [*KINDS, "--set"])
def test_fuzz_thousand_examples_per_kind(tmp_path_factory, kind):
    TALLY.pop(kind, None)
    _fuzz(kind, 1000)(tmp_path_factory)
    print(f"\nfuzz {kind}: {dict(TALLY[kind])}")
