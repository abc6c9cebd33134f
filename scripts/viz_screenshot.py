"""Refresh the README's screenshots of the workshop app (docs/img/viz*.png).

Serves `marketsim viz`, runs SCENARIO to DAY in headless chromium (with the app's
"Run to day" control), shows a map layer (and optionally a side-by-side rival),
and saves the first screen at the window size given.

    .venv/bin/python scripts/viz_screenshot.py [--scenario crackdown] [--day 150]
        [--layer Harm] [--rival hotspot_patrol] [--width 1600 --height 1000]
        [--out docs/img/viz.png]

The README's four: viz.png and viz_side_by_side.png (--rival hotspot_patrol) at
1600x1000, viz_1280.png and viz_side_by_side_1280.png at 1280x800.
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
    ap.add_argument("--day", type=int, default=150)
    ap.add_argument("--layer", default="Land use", help="Land use, Harm, Visible dealing, ...")
    ap.add_argument("--rival", default=None)
    ap.add_argument("--out", type=Path, default=Path("docs/img/viz.png"))
    ap.add_argument("--width", type=int, default=1600, help="window width in pixels")
    ap.add_argument("--height", type=int, default=1000, help="window height in pixels")
    args = ap.parse_args()
    with serve([]) as url, sync_playwright() as p:
        browser = launch_chromium(p)
        page = browser.new_page(viewport={"width": args.width, "height": args.height})
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
            wait_for_day(page, lambda d: d == 0, timeout=300)
        page.get_by_label("Run to day").fill(str(args.day))
        page.get_by_role("button", name="Go", exact=True).click()
        wait_for_day(page, lambda d: d >= args.day, timeout=600)
        page.get_by_role("button", name=args.layer, exact=True).click()
        time.sleep(3)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        page.mouse.move(5, 500)
        page.screenshot(path=str(args.out))
        print(f"wrote {args.out} at day {day_shown(page)}")
        browser.close()


if __name__ == "__main__":
    main()
