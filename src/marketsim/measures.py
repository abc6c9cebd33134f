"""What police and services would record of the model's events: observable measures.

The model counts events as they happen (offences committed, incidents); a force's
records see a share of them. Each measure sums model timeseries columns and
records them at a default reporting rate, with its source. The pilot planner
(pilot/spec.py) evaluates on these; run summaries use the rates to say what share
of the model's counts would be recorded.
"""

from __future__ import annotations

from dataclasses import dataclass

S001 = "seed 001_85a9966099c1cff4.txt"


@dataclass(frozen=True)
class MeasureInfo:
    columns: tuple[str, ...]  # model timeseries columns summed into the true count
    kind: str  # "count" or "survey"
    label: str
    reporting: float  # default share of true events recorded (counts)
    source: str
    better: str = "lower"  # which direction the evaluation calls an improvement
    traditional: bool = False


MEASURES: dict[str, MeasureInfo] = {
    "recorded_acquisitive_crime": MeasureInfo(
        ("acquisitive_crimes",),
        "count",
        "recorded acquisitive crime",
        0.4,
        "CSEW: about 4 in 10 crimes with a victim are reported to the police (ONS, year "
        f"ending March 2019); {S001} App. C lists recorded acquisitive crime",
    ),
    "violence_incidents": MeasureInfo(
        ("violent_incidents",),
        "count",
        "recorded violent incidents",
        0.5,
        f"CSEW: about half of violent incidents are reported; {S001} App. C (violence)",
    ),
    "drug_nuisance_calls": MeasureInfo(
        ("open_sales", "public_use"),
        "count",
        "calls about drug nuisance (open dealing, public use)",
        0.02,
        f"judgement: a small share of visible sales and public use prompts a call; {S001} "
        "App. C and Box B (calls about nuisance, community intelligence)",
    ),
    "overdose_callouts": MeasureInfo(
        ("overdoses",),
        "count",
        "ambulance call-outs to overdoses",
        0.5,
        f"judgement: an ambulance is called to about half of overdoses; {S001} App. C",
    ),
    "treatment_entries": MeasureInfo(
        ("treatment_entries",),
        "count",
        "treatment entries",
        1.0,
        "NDTMS records every structured treatment entry",
        better="higher",
    ),
    "survey_fear": MeasureInfo(
        ("fear",),
        "survey",
        "residents afraid of drug dealing (survey)",
        1.0,
        f"{S001} Box B and App. C: surveys of residents' fear and perceptions",
    ),
    "arrests": MeasureInfo(
        ("arrests",),
        "count",
        "arrests (traditional measure)",
        1.0,
        "police records: every arrest is recorded",
        better="higher",
        traditional=True,
    ),
}
