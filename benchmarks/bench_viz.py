"""Steps per second of the workshop app in a real browser (issue 5: at least 5).

Starts `marketsim viz` (default town, crackdown scenario, which also runs its
no-tactic baseline: two markets a step), opens it in headless chromium, presses
play for a while at several render intervals, and reads the day counter.

    .venv/bin/python benchmarks/bench_viz.py [--seconds 15] [--rival hotspot_patrol]
"""

from __future__ import annotations

import argparse
import time

from playwright.sync_api import sync_playwright

from marketsim.viz.browser import choose, day_shown, launch_chromium, serve, wait_for_day


def set_render_interval(page, value: int) -> None:
    slider = page.get_by_role("slider", name="Render Interval (steps)")
    slider.focus()
    slider.press("Home")  # 1
    for _ in range((value - 1) // 2):  # Mesa's slider moves in steps of 2 from 1
        slider.press("ArrowRight")
    assert int(slider.get_attribute("aria-valuenow")) == value, slider.get_attribute(
        "aria-valuenow"
    )


def measure(page, seconds: float) -> float:
    play = page.get_by_role("button", name="▶", exact=True)
    start_day = day_shown(page)
    play.click()
    wait_for_day(page, lambda d: d > start_day)  # the first redraw
    first_day, t1 = day_shown(page), time.monotonic()
    time.sleep(seconds)
    last_day, t2 = day_shown(page), time.monotonic()
    page.get_by_role("button", name="❚❚", exact=True).click()
    return (last_day - first_day) / (t2 - t1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=15.0)
    ap.add_argument("--rival", default=None, help="also run a side-by-side scenario")
    ap.add_argument("--intervals", default="1,5,9")
    args = ap.parse_args()
    with serve([]) as url, sync_playwright() as p:
        browser = launch_chromium(p)
        page = browser.new_page(viewport={"width": 1680, "height": 1050})
        page.set_default_timeout(120_000)
        page.goto(url)
        page.get_by_role("button", name="Step", exact=True).wait_for()
        wait_for_day(page, lambda d: d == 0)
        label = "crackdown + baseline"
        if args.rival:
            choose(page, "Side by side with", args.rival)
            page.get_by_role("button", name="Reset", exact=True).click()
            page.locator(".marketsim-map img").nth(1).wait_for()
            label += f" + {args.rival}"
        print(f"markets stepped: {label}; default 50x50 town, 2000 users, 200 dealers")
        for interval in (int(v) for v in args.intervals.split(",")):
            set_render_interval(page, interval)
            rate = measure(page, args.seconds)
            print(f"render interval {interval:>2}: {rate:5.1f} steps/s over {args.seconds:.0f} s")
            time.sleep(1)
        browser.close()


if __name__ == "__main__":
    main()
