"""The domain sources by publication: one table, used wherever a user reads a source.

Inside the code a source is named by its file in the project's source folder
("seed 001_85a9966099c1cff4.txt Table 4.1", or short: "seed 001 Table 4.1").
Those are file names a reader cannot look up, and "seed" also means the random
seed, so every text a user reads (reports, the app, generated docs) goes
through `readable`, which turns them into publications ("UKDPC 2009, Table 4.1").
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Source:
    short: str  # how a citation starts: "UKDPC 2009"
    title: str  # the full reference, for a reference list


SOURCES: dict[str, Source] = {
    "000": Source(
        "UKDPC 2009 briefing",
        "UK Drug Policy Commission (2009). Moving towards Real Impact Drug Enforcement: "
        "strategy and policy implications. Policy briefing.",
    ),
    "001": Source(
        "UKDPC 2009",
        "UK Drug Policy Commission (2009). Refocusing Drug-Related Law Enforcement to "
        "Address Harms. Full review report, July 2009.",
    ),
    "002": Source(
        "Drug and Alcohol Findings",
        "Drug and Alcohol Findings. Commentary on UKDPC (2009), Refocusing Drug-Related "
        "Law Enforcement to Address Harms. findings.org.uk.",
    ),
    "003": Source(
        "N8 PRP 2024",
        "N8 Policing Research Partnership (2024). Conceptualising and Evaluating the Impact "
        "of Policing Drug Markets. Small grants project, University of Sheffield and South "
        "Yorkshire Police.",
    ),
    "004": Source(
        "IDPC",
        "International Drug Policy Consortium. Modernising Drug Law Enforcement: concept note.",
    ),
}

# "seed 001", "seed 001_85a9966099c1cff4.txt", "seed 001's", then an optional locator.
_LABEL = re.compile(
    r"\b[Ss]eed (00[0-4])(?:_[0-9a-f]{16}\.txt)?(?:'s)?"
    r"(?P<rest>,? (?=(?:Tables?|Box(?:es)?|Figures?|Appendix)\b|ch\.|App\.))?"
)


def readable(text: str) -> str:
    """`text` with every internal source label replaced by its publication.

    "seed 001 Table 4.1" -> "UKDPC 2009, Table 4.1"; "seed 000 Box C" ->
    "UKDPC 2009 briefing, Box C"; "seed 003" -> "N8 PRP 2024". A random seed
    ("seed 2") is left alone.
    """

    def swap(match: re.Match) -> str:
        short = SOURCES[match.group(1)].short
        return f"{short}, " if match.group("rest") else short

    return _LABEL.sub(swap, text)


def references() -> str:
    """The reference list, as Markdown bullet points."""
    return "\n".join(f"- **{s.short}**: {s.title}" for s in SOURCES.values())
