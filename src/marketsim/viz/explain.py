"""Plain-language text for the app: what a tactic aims to cut and what it risks raising.

The words come from each tactic's page, `docs/tactics/<type>.md`, section
"Harms it is meant to cut, and ... may raise", so the docs and the app say the
same thing. Pages use one of two table layouts:

- two columns, `| meant to cut | may raise |`;
- three columns, `| harm | direction | how, in the model |`, where the
  direction says "cut", "raised", "cost" or a mix ("cut or raised").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

SECTION = re.compile(r"^## Harms it is meant to cut", re.IGNORECASE)


@dataclass
class HarmAims:
    """What a tactic is meant to cut, and what it may raise, in words."""

    tactic: str
    cuts: list[str] = field(default_factory=list)
    risks: list[str] = field(default_factory=list)
    source: str = ""


def docs_dir() -> Path:
    """`docs/tactics` of the repository (or of the current directory)."""
    here = Path.cwd() / "docs" / "tactics"
    if here.is_dir():
        return here
    return Path(__file__).resolve().parents[3] / "docs" / "tactics"


def _section_rows(text: str) -> list[list[str]]:
    """The table rows (cells stripped, header and rule dropped) under the harms section."""
    rows: list[list[str]] = []
    inside = False
    for line in text.splitlines():
        if line.startswith("## "):
            if inside:
                break
            inside = bool(SECTION.match(line))
            continue
        if inside and line.strip().startswith("|"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if all(set(c) <= set("-: ") for c in cells):
                continue  # the |---|---| rule
            rows.append(cells)
    return rows[1:] if rows else []  # drop the header row


def _plain(text: str) -> str:
    """Drop markdown emphasis, code ticks and references into other docs; capitalise."""
    text = re.sub(r"\s*\([^)]*(?:§|odd\.md|_)[^)]*\)", "", text)
    text = re.sub(r"[`*]", "", text).strip()
    return text[:1].upper() + text[1:]


def parse_aims(tactic: str, text: str) -> HarmAims:
    aims = HarmAims(tactic=tactic, source=f"docs/tactics/{tactic}.md")
    for cells in _section_rows(text):
        if len(cells) == 2:
            cut, risk = cells
            if cut:
                aims.cuts.append(_plain(cut))
            if risk:
                aims.risks.append(_plain(risk))
        elif len(cells) >= 3:
            harm, direction, how = cells[0], cells[1].lower(), cells[2]
            phrase = _plain(f"{harm}: {how}" if how else harm)
            if "cut" in direction:
                aims.cuts.append(phrase)
            if any(w in direction for w in ("rais", "rise", "risk", "cost")):
                aims.risks.append(phrase)
    return aims


def harm_aims(tactic: str, folder: Path | None = None) -> HarmAims:
    """The tactic's aims from its docs page; empty lists if the page is missing."""
    path = (folder or docs_dir()) / f"{tactic}.md"
    if not path.is_file():
        return HarmAims(tactic=tactic)
    return parse_aims(tactic, path.read_text(encoding="utf-8"))


# One caption per chart: what it shows and how to read it.
CAPTIONS = {
    "net_harm": (
        "Total harm to the community so far, every harm weighted in pounds (Home Office cost "
        "of crime), including harm caused by enforcement. The dashed line is the same town, "
        "same seed, with the tactic taken away. Below the dashed line, the tactic is winning."
    ),
    "harm_by_type": (
        "Where today's harm comes from, in pounds a day (7-day average). Neighbourhood: "
        "visible dealing, fear, litter, public use, exploited runners. Enforcement: arrests, "
        "prosecutions, prison days, children affected, missed treatment, officer time. "
        "Those are harms too."
    ),
    "violence": (
        "Violent incidents per day between dealers and their victims (7-day average), against "
        "the no-tactic line. Disrupting a market often raises violence over the gap left behind."
    ),
    "visible_dealing": (
        "Residents living next to open street dealing, per day, in the target (where the tactic "
        "acts), the buffer ring around it and the control area (the rest of town). A fall in "
        "the target with a rise in the buffer is displacement."
    ),
    "arrests_vs_harm": (
        "The traditional metric (arrests, cumulative) beside the harm metric (net harm, "
        "cumulative), each relative to the no-tactic run. When arrests go up and harm goes up "
        "too, the two ways of scoring a tactic disagree."
    ),
    "treatment": (
        "People in treatment against the places available, and the waiting list. A waiting "
        "list that grows means the service is full: more referrals will not get people in."
    ),
    "difference": (
        "Cumulative net harm of this scenario minus the other, same town and same luck. Green, "
        "below zero: this scenario has done less harm so far; red, above zero: the other has."
    ),
}
