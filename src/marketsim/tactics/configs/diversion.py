"""The `diversion` tactic's parameters: what its YAML entry may say (behaviour: tactics/diversion.py)."""

from __future__ import annotations

from typing import ClassVar, Literal

from marketsim.areas import AreaSpec
from marketsim.params import param
from marketsim.tactics.configs.base import TacticConfig

S001 = "seed 001_85a9966099c1cff4.txt"


class DiversionConfig(TacticConfig):
    type: Literal["diversion"] = "diversion"
    sliders: ClassVar[tuple[str, ...]] = ("test_purchases_per_day", "acceptance", "cycle_days")
    columns: ClassVar[tuple[str, ...]] = ("test_purchases", "diversions")
    area: AreaSpec | None = param(
        None, unit="-", doc="where test purchases are made (default: the scenario's target region)"
    )
    officers: int = param(
        2,
        ge=1,
        le=2000,
        unit="officer-days per day",
        doc="covert officers making test purchases each day (unseen by buyers and dealers)",
        source=f"{S001} ch. 3, Operation Reduction: continuous covert operations; judgement",
    )
    test_purchases_per_day: float = param(
        1.0,
        ge=0,
        le=1000,
        unit="purchases per day",
        doc="expected test purchases a day by the covert team (Poisson); each identifies its seller",
        source=f"{S001} App. B, Greenbay: test purchasing identified ~80 dealers; judgement",
    )
    closed_reach: float = param(
        0.25,
        ge=0,
        le=1,
        unit="x open dealer",
        doc="chance of buying from a closed dealer relative to an open one (needs an introduction)",
    )
    cycle_days: int = param(
        56,
        ge=1,
        le=3650,
        unit="days",
        doc="days between arrest days; purchases accumulate over a cycle",
        source=f"{S001} ch. 3, Operation Reduction: arrest phases at eight-week intervals",
    )
    arrest_team: int = param(
        6,
        ge=0,
        le=2000,
        unit="officer-days per arrest day",
        doc="visible officers on each arrest day (presence only; the arrests are the operation's)",
        source=f"{S001} ch. 3: Local Support Team officers support the arrest phase; judgement",
    )
    acceptance: float = param(
        0.75,
        ge=0,
        le=1,
        unit="probability",
        doc="identified user-dealers who accept the fast-track offer (the rest are arrested)",
        source=f"{S001} App. B, Iceberg: 27 of 36 managed offenders engaged with treatment",
    )
    hold_if_no_place: bool = param(
        True,
        unit="-",
        doc="with no free place: hold the diverted to the offer at the head of the waiting list "
        "(true) or fall back to arrest (false)",
    )
    return_to_dealing: float = param(
        0.5,
        ge=0,
        le=1,
        unit="probability",
        doc="diverted user-dealers who drop out of treatment and resume dealing",
    )
