"""The workshop app in a real browser: Playwright drives Debian's chromium.

It starts `marketsim viz` on 127.0.0.1 (a shorter burn-in keeps start-up and
each reset to a second or so; the town is the default one) and checks that the
map and charts render, that Step advances time, that a slider changes an
outcome, that the scenario picker works and that side-by-side mode shows two
maps. It fails on any error in the browser console, and checks that every chart
holds data in each of its series (read from the ECharts instances themselves).
Screenshots go to out/test-artifacts/.

Without /usr/bin/chromium this test fails with a message saying how to get it;
set MARKETSIM_SKIP_BROWSER=1 to skip it on purpose.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest

from marketsim.viz.browser import choose, day_shown, launch_chromium, serve, wait_for_day
from marketsim.viz.charts import CHARTS
from marketsim.viz.explain import CAPTIONS
from tests.conftest import ROOT

if os.environ.get("MARKETSIM_SKIP_BROWSER") == "1":
    pytest.skip("MARKETSIM_SKIP_BROWSER=1", allow_module_level=True)

ARTIFACTS = ROOT / "out" / "test-artifacts"
QUICK = ["--set", "burn_in=60"]
SCENARIO = """\
name: quick_crackdown
description: The crackdown scenario, starting on day 2 so a short test sees it act
seed: 3
tactics:
  - type: standard_patrol
  - type: crackdown
    start: 2
    duration: 60
    intensity: 8
    arrest_priority: open_first
"""


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    scenario = tmp_path_factory.mktemp("viz") / "quick_crackdown.yaml"
    scenario.write_text(SCENARIO)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with serve([str(scenario), *QUICK]) as url, sync_api.sync_playwright() as p:
        browser = launch_chromium(p)
        page = browser.new_page(viewport={"width": 1680, "height": 1050})
        page.set_default_timeout(60_000)
        page.outside = []  # requests that leave this machine, or fail: offline means none
        page.errors = []  # console errors and uncaught exceptions: there must be none
        page.on("console", lambda m: m.type == "error" and page.errors.append(m.text))
        page.on("pageerror", lambda e: page.errors.append(str(e)))
        page.on("request", lambda r: _note_outside(page, r.url))
        page.on("requestfailed", lambda r: page.outside.append(f"failed: {r.url}"))
        page.on(
            "response", lambda r: r.status >= 400 and page.outside.append(f"{r.status}: {r.url}")
        )
        page.goto(url)
        page.get_by_role("button", name="Step", exact=True).wait_for()
        wait_for_day(page, lambda d: d == 0)
        yield page
        browser.close()


@pytest.fixture(autouse=True)
def no_console_errors(page):
    """Every test fails if the page logged an error while it ran."""
    page.errors.clear()
    yield
    assert page.errors == [], f"{len(page.errors)} console error(s), first: {page.errors[0]}"


def _note_outside(page, url: str) -> None:
    host = urlparse(url).hostname
    if url.startswith(("http:", "https:", "ws:", "wss:")) and host not in (
        "127.0.0.1",
        "localhost",
    ):
        page.outside.append(url)


def _net_harm(page) -> str:
    return page.locator('[data-testid="net-harm"]').inner_text()


def _canvases(page, n: int) -> None:
    """Wait until at least n charts have drawn (ECharts loads after the page)."""
    deadline = time.monotonic() + 30
    while page.locator(".solara-echarts canvas").count() < n:
        assert time.monotonic() < deadline, "the charts did not draw"
        time.sleep(0.2)


SERIES_LENGTHS = """() => Object.fromEntries(
  Array.from(document.querySelectorAll('[class*="marketsim-chart-"]')).map(card => {
    const key = Array.from(card.classList).find(c => c.startsWith('marketsim-chart-'));
    const el = card.querySelector('[_echarts_instance_]');
    const chart = el && el.__vue__ && el.__vue__.chart;
    const series = chart ? chart.getOption().series : [];
    return [key.slice('marketsim-chart-'.length), series.map(s => (s.data || []).length)];
  }))"""


def _charts_hold_data(page, keys: list[str], days: int) -> None:
    """Each chart in `keys` is on the page and every one of its series has a point a day."""
    deadline = time.monotonic() + 30
    while True:
        lengths = page.evaluate(SERIES_LENGTHS)
        short = {k: lengths.get(k) for k in keys if not lengths.get(k) or min(lengths[k]) < days}
        if not short:
            return
        assert time.monotonic() < deadline, f"charts without data after day {days}: {short}"
        time.sleep(0.3)


def test_map_and_charts_render(page) -> None:
    assert page.locator(".marketsim-map img").count() == 1
    _canvases(page, 6)
    for key in CHARTS:  # each chart's card holds a drawn canvas and its caption
        card = page.locator(f".marketsim-chart-{key}")
        assert card.locator("canvas").count() >= 1, key
        assert CAPTIONS[key][:40] in card.inner_text(), key
    assert page.get_by_text("Meant to cut").count() >= 1  # the tactic panel, in words


def test_step_advances_time(page) -> None:
    before = day_shown(page)
    page.get_by_role("button", name="Step", exact=True).click()
    after = wait_for_day(page, lambda d: d > before)
    assert after > before
    _charts_hold_data(page, list(CHARTS), after)
    page.screenshot(path=str(ARTIFACTS / "viz_step.png"))


def test_run_to_a_day(page) -> None:
    """The facilitator's stop: a typed day, then the button for the tactic's end."""
    page.get_by_role("button", name="Reset", exact=True).click()
    wait_for_day(page, lambda d: d == 0)
    page.get_by_label("Run to day").fill("12")
    page.get_by_role("button", name="Go", exact=True).click()
    assert wait_for_day(page, lambda d: d >= 12) == 12
    page.get_by_role("button", name=re.compile(r"to its end \(day 62\)", re.I)).click()
    assert wait_for_day(page, lambda d: d >= 62) == 62
    _charts_hold_data(page, list(CHARTS), 62)


def test_downloads(page) -> None:
    """The data on screen downloads as CSV: a row per day, region and run so far."""
    with page.expect_download() as info:
        page.get_by_role("button", name="Download data (CSV)").click()
    text = Path(info.value.path()).read_text()
    header, *rows = text.splitlines()
    assert header.startswith("run,scenario,step,region")
    day = day_shown(page)
    assert len(rows) == day * 4 * 2  # days x regions x (crackdown, its no-tactic run)
    with page.expect_download() as info:
        page.get_by_role("button", name="Download map (PNG)").click()
    assert Path(info.value.path()).read_bytes()[:4] == b"\x89PNG"


def test_a_1280_projector_shows_map_and_headline_chart(page) -> None:
    """At 1280x800 the whole map and the net-harm chart start on the first screen."""
    page.set_viewport_size({"width": 1280, "height": 800})
    try:
        time.sleep(1)  # the grid reflows
        town = page.locator(".marketsim-map img").bounding_box()
        chart = page.locator(".marketsim-chart-net_harm").bounding_box()
        assert town["y"] + town["height"] <= 800 and town["width"] >= 400, town
        assert chart["y"] < 800 and chart["x"] >= town["x"] + town["width"], chart
    finally:
        page.set_viewport_size({"width": 1680, "height": 1050})


def test_slider_changes_an_outcome(page) -> None:
    # Same seed, same days: only the crackdown's intensity differs between the two runs.
    page.get_by_role("button", name="Reset", exact=True).click()
    wait_for_day(page, lambda d: d == 0)
    page.get_by_role("button", name="Step", exact=True).click()
    day = wait_for_day(page, lambda d: d > 0)
    default_harm = _net_harm(page)

    slider = page.get_by_role("slider", name=re.compile(r"intensity"))
    slider.focus()
    slider.press("End")  # the slider's top: SLIDER_SPAN x the scenario's value, within bounds
    assert slider.get_attribute("aria-valuenow") == slider.get_attribute("aria-valuemax")
    page.get_by_role("button", name="Reset", exact=True).click()
    wait_for_day(page, lambda d: d == 0)
    page.get_by_role("button", name="Step", exact=True).click()
    wait_for_day(page, lambda d: d == day)
    assert "seed 3" in page.locator(".marketsim-stat").all_inner_texts()  # same scenario, seed
    assert page.locator("h4", has_text="crackdown").count() == 1
    assert _net_harm(page) != default_harm


def test_switching_scenario(page) -> None:
    choose(page, "Scenario", "hotspot_patrol")
    page.get_by_role("button", name="Reset", exact=True).click()
    page.locator("h4", has_text="hotspot_patrol").wait_for()
    wait_for_day(page, lambda d: d == 0)
    assert page.locator("h4", has_text="crackdown").count() == 0
    assert page.get_by_role("slider", name=re.compile("hotspot_patrol: k")).count() == 1
    # The seed carries over, and the seed field says so (the model and the field agree).
    assert "seed 3" in page.locator(".marketsim-stat").all_inner_texts()
    assert page.get_by_label(re.compile("^Seed")).input_value() == "3"


def test_side_by_side_shows_two_maps(page) -> None:
    choose(page, "Side by side with", "crackdown")
    page.get_by_role("button", name="Reset", exact=True).click()
    page.locator(".marketsim-map img").nth(1).wait_for()
    assert page.locator(".marketsim-map img").count() == 2
    page.locator(".marketsim-chart-difference").wait_for()
    for _ in range(3):
        before = day_shown(page)
        page.get_by_role("button", name="Step", exact=True).click()
        wait_for_day(page, lambda d, b=before: d > b)
    _canvases(page, 7)
    _charts_hold_data(page, ["difference", *CHARTS], day_shown(page))
    # At 1680 px the key sits beside the two maps, not below them.
    key = page.locator(".marketsim-key").bounding_box()
    second_map = page.locator(".marketsim-map img").nth(1).bounding_box()
    assert key["x"] >= second_map["x"] + second_map["width"] - 1
    assert key["y"] < second_map["y"] + second_map["height"]
    time.sleep(1)  # let the charts finish drawing before the picture
    page.screenshot(path=str(ARTIFACTS / "viz_side_by_side.png"), full_page=True)


def test_works_offline(page) -> None:
    """Everything the page loaded came from the app itself, and nothing failed to load."""
    assert page.outside == []
