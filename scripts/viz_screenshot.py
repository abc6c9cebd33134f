"""Refresh the README's screenshot of the workshop app (docs/img/viz.png).

Serves `marketsim viz`, plays SCENARIO to DAY in headless chromium, shows a map
layer (and optionally a side-by-side rival), and saves the page.

    .venv/bin/python scripts/viz_screenshot.py [--scenario crackdown] [--day 170]
        [--layer Harm] [--rival hotspot_patrol] [--height 2200] [--out docs/img/viz.png]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

from marketsim.viz.browser import choose, day_shown, launch_chromium, serve, wait_for_day


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default="crackdown")
    ap.add_argument("--day", type=int, default=170)
    ap.add_argument("--layer", default="Land use", help="Land use, Harm, Visible dealing, ...")
    ap.add_argument("--rival", default=None)
    ap.add_argument("--out", type=Path, default=Path("docs/img/viz.png"))
    ap.add_argument("--height", type=int, default=1050, help="window height in pixels")
    args = ap.parse_args()
    with serve([]) as url, sync_playwright() as p:
        browser = launch_chromium(p)
        page = browser.new_page(viewport={"width": 1680, "height": args.height})
        page.set_default_timeout(120_000)
        page.goto(url)
        page.get_by_role("button", name="Step", exact=True).wait_for()
        wait_for_day(page, lambda d: d == 0)
        if args.scenario != "crackdown" or args.rival:
            choose(page, "Scenario", args.scenario)
            if args.rival:
                choose(page, "Side by side with", args.rival)
            page.get_by_role("button", name="Reset", exact=True).click()
            time.sleep(2)
            wait_for_day(page, lambda d: d == 0)
        slider = page.get_by_role("slider", name="Render Interval (steps)")
        slider.focus()
        for _ in range(4):
            slider.press("ArrowRight")  # 9 days a redraw: get there quickly
        page.get_by_role("button", name="▶", exact=True).click()
        wait_for_day(page, lambda d: d >= args.day - 9, timeout=600)
        page.get_by_role("button", name="❚❚", exact=True).click()
        page.get_by_role("button", name=args.layer, exact=True).click()
        time.sleep(3)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        page.mouse.move(5, 500)
        page.screenshot(path=str(args.out))
        print(f"wrote {args.out} at day {day_shown(page)}")
        browser.close()


if __name__ == "__main__":
    main()
