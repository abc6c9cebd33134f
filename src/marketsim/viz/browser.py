"""Serving the app and driving it in a real browser, for the browser test and benchmark.

Playwright drives Debian's chromium (`/usr/bin/chromium`); it never downloads a
browser of its own. `.ci/run` installs chromium with apt when it is missing.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

CHROMIUM = Path(os.environ.get("MARKETSIM_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def serve(args: list[str], timeout: float = 90.0) -> Iterator[str]:
    """Run `marketsim viz ARGS` on a free local port; yield its URL; always stop it."""
    port = free_port()
    cmd = [sys.executable, "-m", "marketsim.cli", "viz", *args, "--port", str(port)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                out = proc.stdout.read() if proc.stdout else ""
                raise RuntimeError(f"marketsim viz exited with {proc.returncode}:\n{out}")
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"marketsim viz did not answer on {url} in {timeout:.0f} s")
            time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def launch_chromium(playwright):
    """Headless Debian chromium, with no background network traffic."""
    if not CHROMIUM.exists():
        raise FileNotFoundError(
            f"{CHROMIUM} not found: install Debian's chromium (apt-get install -y chromium), "
            "or set MARKETSIM_SKIP_BROWSER=1 to skip the browser test"
        )
    return playwright.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
    )


def day_shown(page) -> int:
    return int(page.locator('[data-testid="day"]').inner_text())


def wait_for_day(page, predicate, timeout: float = 60.0) -> int:
    """Poll the day counter until `predicate(day)` holds; returns the day."""
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(Exception):
            day = day_shown(page)
            if predicate(day):
                return day
        if time.monotonic() > deadline:
            raise TimeoutError(f"day counter stuck at {day_shown(page)}")
        time.sleep(0.2)


def choose(page, label: str, option: str) -> None:
    """Pick `option` in the vuetify select labelled `label`."""
    field = page.locator(".v-select").filter(has=page.locator("label", has_text=label))
    field.first.click()
    menu = page.locator(".menuable__content__active")
    menu.get_by_role("option", name=option, exact=True).click()
