"""The workshop app, in-process: the model it drives, the map, the charts, the page.

A small town (set through the same `--set` overrides `marketsim viz` takes)
keeps each test to a second or two. The browser test is tests/test_viz_browser.py.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from marketsim.harms import HARM_TYPES
from marketsim.params import describe
from marketsim.scenario import load_scenario
from marketsim.tactics.registry import TACTICS
from marketsim.tactics.schema import CONFIGS
from marketsim.viz import charts, explain, render
from marketsim.viz.workshop import (
    ENV_OVERRIDES,
    ENV_SCENARIO,
    HARM_GROUPS,
    Workshop,
    no_tactic_version,
    scenario_files,
    slider_key,
    slider_specs,
)
from tests.conftest import ROOT

SMALL_TOWN = [
    "burn_in=20",
    "town.width=20",
    "town.height=20",
    "market.n_users=300",
    "market.n_dealers=40",
    "police.n_units=6",
    "treatment.places_per_site=10",
    "regions.target.centre=[10, 10]",
    "regions.target.radius=3",
    "regions.buffer_width=2",
]


@pytest.fixture
def small_town(monkeypatch) -> None:
    monkeypatch.setenv(ENV_OVERRIDES, "\n".join(SMALL_TOWN))


EARLY_CRACKDOWN = """\
name: early_crackdown
description: a crackdown from day 3
seed: 2
tactics:
  - type: standard_patrol
  - type: crackdown
    start: 3
    intensity: 4
"""


@pytest.fixture
def crackdown(small_town, tmp_path, monkeypatch) -> Workshop:
    """A crackdown from day 3, given as `marketsim viz early_crackdown.yaml` would give it."""
    path = tmp_path / "early_crackdown.yaml"
    path.write_text(EARLY_CRACKDOWN)
    monkeypatch.setenv(ENV_SCENARIO, str(path))
    return Workshop(scenario_name="early_crackdown")


def test_same_seed_baseline_matches_until_the_tactic_starts(crackdown) -> None:
    ws = crackdown
    assert ws.day == 0  # burnt in on construction
    for _ in range(8):
        ws.step()
    assert ws.day == 8
    main, base = ws.main.series("net_harm"), ws.baseline.series("net_harm")
    assert main.shape == base.shape == (8,)
    # Common random numbers: identical days before the crackdown starts on day 3 ...
    np.testing.assert_array_equal(main[:3], base[:3])
    # ... and the crackdown's officers change the day's policing once it does.
    arrests_main = ws.main.series("police_officer_days", "target")[3:]
    arrests_base = ws.baseline.series("police_officer_days", "target")[3:]
    assert arrests_main.sum() > arrests_base.sum()


def test_harm_by_type_adds_up_to_net_harm(crackdown) -> None:
    for _ in range(4):
        crackdown.step()
    groups = crackdown.main.harm_by_group()
    assert groups.shape == (4, len(HARM_GROUPS))
    np.testing.assert_allclose(groups.sum(axis=1), crackdown.main.series("net_harm"), rtol=1e-9)


def test_every_harm_type_is_in_exactly_one_group() -> None:
    grouped = [name for names in HARM_GROUPS.values() for name in names]
    assert sorted(grouped) == sorted(h.name for h in HARM_TYPES)


def test_baseline_keeps_the_town_and_drops_the_tactics() -> None:
    sc = load_scenario(ROOT / "scenarios" / "nemesis.yaml")
    base = no_tactic_version(sc)
    assert [t.type for t in base.tactics] == ["standard_patrol"]
    assert base.town == sc.town and base.market == sc.market and base.seed == sc.seed


def test_sliders_take_bounds_units_and_words_from_the_schema() -> None:
    sc = load_scenario(ROOT / "scenarios" / "crackdown.yaml")
    specs = {s.path: s for s in slider_specs(sc)}
    intensity = specs["tactics.1.intensity"]
    schema = {r["name"]: r for r in describe(TACTICS["crackdown"].Config)}["intensity"]
    assert intensity.value == sc.tactics[1].intensity
    assert intensity.lo == schema["min"] and intensity.hi <= schema["max"]
    assert intensity.hi >= intensity.value and intensity.is_int
    assert intensity.unit == schema["unit"] and intensity.doc == schema["doc"]
    assert schema["unit"] in intensity.label


def test_each_tactic_declares_sliders_that_name_real_schema_fields() -> None:
    assert set(CONFIGS) == set(TACTICS)
    for kind, config in CONFIGS.items():
        assert set(config.sliders) <= set(config.model_fields), kind
        assert TACTICS[kind].Config is config
        if kind != "partnership":  # a partnership's parts get their sliders
            assert config.sliders, f"{kind} offers the workshop no slider"


def test_a_slider_value_reaches_the_model(small_town) -> None:
    values = {
        slider_key("crackdown", "tactics.1.intensity"): 3,
        slider_key("crackdown", "tactics.1.start"): 0,  # not a slider: ignored
        slider_key("raid", "tactics.1.duration"): 5,  # another scenario's slider: ignored
    }
    ws = Workshop(scenario_name="crackdown", **values)
    assert ws.config.tactics[1].intensity == 3
    assert ws.main.model.tactics[1].config.intensity == 3
    assert ws.config.tactics[1].start == 120
    assert ws.config.tactics[1].duration == 60


def test_every_shipped_scenario_has_sliders_and_plain_words() -> None:
    files = scenario_files()
    assert {p.stem for p in (ROOT / "scenarios").glob("*.yaml")} <= set(files)
    for name, path in files.items():
        sc = load_scenario(path)
        for spec in slider_specs(sc):
            assert spec.lo <= spec.value <= spec.hi, (name, spec.path)
        for cfg in sc.tactics:
            aims = explain.harm_aims(cfg.type)
            assert aims.cuts and aims.risks, (name, cfg.type)


def test_aims_parse_both_table_layouts() -> None:
    two = "## Harms it is meant to cut, and may raise\n\n| meant to cut | may raise |\n| --- | --- |\n| fear | `arrests` |\n| litter | |\n"
    three = (
        "## Harms it is meant to cut, and harms it may raise\n\n| harm | direction | how |\n"
        "|---|---|---|\n| violence | cut or raised | voids (odd.md §7.10) |\n| cost | cost | money |\n"
        "## Next\n| not | this |\n"
    )
    a = explain.parse_aims("x", two)
    assert a.cuts == ["Fear", "Litter"] and a.risks == ["Arrests"]
    b = explain.parse_aims("y", three)
    assert b.cuts == ["Violence: voids"]
    assert b.risks == ["Violence: voids", "Cost: money"]


def test_map_shows_layers_and_agents(crackdown) -> None:
    for _ in range(5):
        crackdown.step()
    side = crackdown.main
    town = side.model.town
    plain = np.asarray(render.draw_map(side, "none"))
    assert plain.shape == (town.height * render.CELL_PX, town.width * render.CELL_PX, 3)
    police = np.asarray(render.draw_map(side, "police"))
    assert (police != plain).any()  # the crackdown's presence shows as heat
    # A dealer is drawn in one of the violence colours.
    colours = {c for _, c in render.VIOLENCE_STYLE}
    assert any((plain == np.array(c)).all(axis=-1).any() for c in colours)


def test_charts_carry_one_point_a_day(small_town) -> None:
    ws = Workshop(scenario_name="crackdown", rival="hotspot_patrol")
    for _ in range(6):
        ws.step()
    for key, build in charts.CHARTS.items():
        option = build(ws)
        assert option["series"], key
        for series in option["series"]:
            assert len(series["data"]) == 6, (key, series["name"])
        assert key in explain.CAPTIONS
    diff = charts.difference(ws)
    expected = (ws.main.cumulative_net_harm() - ws.rival.cumulative_net_harm())[-1] / 1e6
    line = diff["series"][-1]["data"]
    assert line[-1][1] == pytest.approx(expected, abs=1e-3)
    # The green area holds the days this scenario was ahead, the red the days it was behind.
    below, above = (np.array(s["data"])[:, 1] for s in diff["series"][:2])
    values = np.array(line)[:, 1]
    assert np.allclose(below, np.minimum(values, 0), atol=1e-3)
    assert np.allclose(above, np.maximum(values, 0), atol=1e-3)
    assert "visualMap" not in diff  # its pieces with an area broke ECharts (no drawing)


def test_cli_import_does_not_load_solara() -> None:
    code = "import sys, marketsim.cli; print('solara' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_viz_command_is_listed() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "marketsim.cli", "viz", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "--port" in out.stdout and "--host" in out.stdout


# --------------------------------------------------------------- the page
def test_page_renders_and_steps(small_town) -> None:
    import ipyvuetify as v
    import ipywidgets
    import solara

    from marketsim.viz import app

    # As `solara run` serves it: inside an AppLayout, whose sidebar holds the controls.
    box, rc = solara.render(solara.AppLayout(children=[app.Page()]), handle_error=False)
    step = rc.find(v.Btn, children=["Step"])
    step.assert_single()
    html_before = _html(rc)
    assert 'Day <b data-testid="day">0</b>' in html_before
    step.widget.click()
    html_after = _html(rc)
    assert f'Day <b data-testid="day">{app.RENDER_INTERVAL}</b>' in html_after
    # The map and every chart are on the page.
    maps = rc.find(ipywidgets.Image).widgets
    assert len(maps) == 1 and bytes(maps[0].value).startswith(b"\x89PNG")
    figures = _charts(box)
    assert len(figures) == len(charts.CHARTS)
    # Each chart shows the days stepped so far (the option is set on the widget itself).
    net = next(f for f in figures if f.option["title"]["text"] == "Net harm, cumulative")
    assert len(net.option["series"][0]["data"]) == app.RENDER_INTERVAL
    # A redraw for another reason (a map layer) keeps the charts' data.
    rc.find(v.Btn, children=["Harm"]).widget.click()
    assert len(net.option["series"][0]["data"]) == app.RENDER_INTERVAL

    # Switching scenario (then Reset) rebuilds the town under it, back at day 0, with
    # sliders for its own tactics; a slider's value reaches the new model.
    rc.find(v.Select, label="Scenario (then press Reset)").widget.v_model = "hotspot_patrol"
    rc.find(v.Btn, children=["Reset"]).widget.click()
    assert ">hotspot_patrol</h4>" in _html(rc)  # the tactic panel explains the new tactic
    assert ">crackdown</h4>" not in _html(rc)
    assert 'Day <b data-testid="day">0</b>' in _html(rc)
    rc.find(v.Slider, label="hotspot_patrol: k (cells)").widget.v_model = 17
    rc.find(v.Select, label="Side by side with").widget.v_model = "crackdown"
    rc.find(v.Btn, children=["Reset"]).widget.click()
    assert len(rc.find(ipywidgets.Image).widgets) == 2  # side by side: two maps
    assert len(_charts(box)) == len(charts.CHARTS) + 1  # and the difference chart


def _charts(root) -> list:
    """Every ECharts widget under `root` (they are displayed widgets, not reacton elements)."""
    from solara.components.echarts import EchartsWidget

    found, stack = [], [root]
    while stack:
        w = stack.pop()
        if isinstance(w, EchartsWidget):
            found.append(w)
        children = getattr(w, "children", None) or []
        stack.extend(c for c in children if not isinstance(c, str))
    return found


def _html(rc) -> str:
    from solara.widgets import HTML

    return " ".join(w.unsafe_innerHTML for w in rc.find(HTML).widgets)


def test_viz_command_serves_offline_and_warns_on_open_host(monkeypatch) -> None:
    """`marketsim viz` hands over to `solara run` with telemetry and the version check off."""
    from typer.testing import CliRunner

    from marketsim import cli as cli_module
    from marketsim.cli import app as cli

    calls = []
    monkeypatch.setattr(cli_module, "serve", lambda argv, env: calls.append((argv, env)) or 0)
    runner = CliRunner()
    local = runner.invoke(cli, ["viz", "--port", "8999"])
    assert local.exit_code == 0, local.output
    argv, env = calls[-1]
    assert argv[argv.index("--host") + 1] == "127.0.0.1"
    assert argv[argv.index("--port") + 1] == "8999"
    assert "--no-check-version" in argv and "marketsim.viz.app" in argv
    assert env["SOLARA_TELEMETRY_MIXPANEL_ENABLE"] == "False"
    assert "warning" not in local.output

    scenario = ROOT / "scenarios" / "nemesis.yaml"
    open_host = runner.invoke(cli, ["viz", str(scenario), "--host", "0.0.0.0"])
    assert open_host.exit_code == 0, open_host.output
    assert "warning: binding to 0.0.0.0" in open_host.output
    argv, env = calls[-1]
    assert argv[argv.index("--host") + 1] == "0.0.0.0"
    assert env["MARKETSIM_VIZ_SCENARIO"] == str(scenario.resolve())

    bad = runner.invoke(cli, ["viz", str(ROOT / "no_such.yaml")])
    assert bad.exit_code == 2 and len(calls) == 2  # a bad scenario never starts a server
