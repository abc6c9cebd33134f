"""The scenario schema: every parameter declared once, YAML loading, overrides, errors.

A scenario file is YAML read with a safe loader that also rejects duplicate keys. Each section below is a
pydantic model that rejects unknown keys; each number carries its unit, bounds
and source (see `params.param`). Errors come back as one `ScenarioError` line
that names the file, the field path, the bad value and what is allowed.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BeforeValidator,
    Field,
    SerializeAsAny,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from marketsim.areas import AreaSpec, WatchArea
from marketsim.columns import COLUMNS, REGIONS
from marketsim.harms import PROFILE_NAMES
from marketsim.params import Name, Section, param
from marketsim.tactics.configs.base import repeated_name
from marketsim.tactics.schema import CONFIGS, TacticConfig

S001 = "seed 001_85a9966099c1cff4.txt"
S003 = "seed 003_f1d980d3e2135e00.txt"
# Set jointly by `marketsim calibrate experiments/calibrate_facts.yaml` against design §9's facts
# (docs/validation.md, "The joint calibration").
CALIBRATED = "calibrate_facts.yaml, joint fit to design §9 facts (2026-12-06)"
GRID_FACT9 = (
    "set by hand on a grid over facts 1, 2, 3, 6 and 9 together (2026-12-07, docs/validation.md "
    "fact 9)"
)

LAND_USES = ("residential", "centre", "industrial", "park", "school", "treatment")
# Defaults of the two per-land-use maps; a map given in part keeps these for the rest.
RESIDENTS_PER_CELL = {
    "residential": 80,
    "centre": 20,
    "industrial": 2,
    "park": 0,
    "school": 0,
    "treatment": 5,
}
GUARDIANSHIP = {
    "residential": 0.3,
    "centre": 0.5,
    "industrial": 0.1,
    "park": 0.15,
    "school": 0.6,
    "treatment": 0.5,
}


class ScenarioError(Exception):
    """A bad scenario or experiment input, reported as one line."""


class CrossCheckError(ValueError):
    """A check across fields. `fields` are the dotted fields it reads, the one its message
    names first: a bad value given by --set for any of them is blamed on that --set."""

    def __init__(self, message: str, *fields: str):
        super().__init__(message)
        self.fields = fields


# --------------------------------------------------------------------------- town
# Above any real density (a 100 m cell of high-rise holds a few hundred people), and finite:
# an unbounded value let `inf` or 1e308 through to a traceback while the town was built.
MAX_PER_CELL = 10_000.0


class LandUseNumbers(Section):
    """A number per land use (residents per cell, base guardianship)."""

    residential: float = Field(ge=0, le=MAX_PER_CELL)
    centre: float = Field(ge=0, le=MAX_PER_CELL)
    industrial: float = Field(ge=0, le=MAX_PER_CELL)
    park: float = Field(ge=0, le=MAX_PER_CELL)
    school: float = Field(ge=0, le=MAX_PER_CELL)
    treatment: float = Field(ge=0, le=MAX_PER_CELL)

    def as_list(self) -> list[float]:
        return [getattr(self, name) for name in LAND_USES]


# The largest town side, procedural or raster (town.load_raster): 40 km at ~100 m a cell.
MAX_TOWN_SIDE = 400


class TownConfig(Section):
    generator: Literal["procedural", "raster"] = param(
        "procedural", unit="-", doc="procedural town from the seed, or a raster file"
    )
    raster: str | None = param(
        None,
        unit="path",
        doc="CSV of land-use codes 0-5, or a PNG whose grey/palette values are the codes",
    )
    width: int = param(
        50, ge=10, le=MAX_TOWN_SIDE, unit="cells (~100 m)", doc="grid width", source="design §3"
    )
    height: int = param(
        50, ge=10, le=MAX_TOWN_SIDE, unit="cells (~100 m)", doc="grid height", source="design §3"
    )
    treatment_sites: int = param(
        2, ge=1, le=2, unit="sites", doc="treatment sites placed by the generator", source="issue 2"
    )
    residents_per_cell: LandUseNumbers = Field(
        default_factory=lambda: LandUseNumbers(**RESIDENTS_PER_CELL),
        description="residents per 100 m cell by land use (UK suburban ~35 dwellings/ha x 2.3; judgement)",
    )
    guardianship: LandUseNumbers = Field(
        default_factory=lambda: LandUseNumbers(**GUARDIANSHIP),
        description="base guardianship 0-1 (place management, lighting, CCTV); calibration judgement",
    )

    @model_validator(mode="before")
    @classmethod
    def _partial_maps(cls, data: Any) -> Any:
        """A map given in part (`--set town.guardianship.school=0.9`) keeps the other defaults."""
        if isinstance(data, dict):
            for key, defaults in (
                ("residents_per_cell", RESIDENTS_PER_CELL),
                ("guardianship", GUARDIANSHIP),
            ):
                if isinstance(data.get(key), dict):
                    data = {**data, key: {**defaults, **data[key]}}
        return data

    @model_validator(mode="after")
    def _raster_needs_file(self) -> TownConfig:
        if self.generator == "raster" and not self.raster:
            raise CrossCheckError(
                f"town.raster: bad value {self.raster!r}: generator 'raster' needs a raster "
                "file (allowed: a .csv or .png file)",
                "town.raster",
                "town.generator",
            )
        for use, value in zip(LAND_USES, self.guardianship.as_list(), strict=True):
            if value > 1:
                raise CrossCheckError(
                    f"town.guardianship.{use}: bad value {value:g}: guardianship is a share "
                    "(allowed: 0 to 1)",
                    f"town.guardianship.{use}",
                )
        return self

    def warnings(self) -> list[str]:
        """Settings that are ignored with this generator (the user may have meant another)."""
        given = self.model_fields_set
        if self.generator == "procedural" and self.raster:
            return [f"town.raster {self.raster!r} is ignored: generator is 'procedural'"]
        if self.generator == "raster" and given & {"width", "height"}:
            return ["town.width and town.height are ignored: the raster sets the town's size"]
        return []


# ------------------------------------------------------------------------- market
class EntrantConfig(Section):
    """Entry where demand goes unmet, and the traits of entrants who fill a void.

    Ordinary entrants draw their traits as the founding market does (`market.*`,
    `dealers.close_threshold`). An entrant who fills a void takes the traits below
    instead: one placed where arrests lately removed sellers (the `void` layer, dealer
    arrests fading 7% a day, summed within `void_radius` cells, is at least
    `void_threshold`), on a day of the window `start`..`start + duration - 1` and inside
    `area`. A trait left unset (null), or a multiplier of 1, is the founders'. UKDPC 2009
    App. B, Operation Reduction: a group supplying high-purity heroin filled the void
    and deaths rose.
    """

    rate: float = param(
        0.06,
        ge=0,
        le=1,
        unit="entrants per unmet purchase",
        doc="expected entrants per unmet purchase per day",
    )
    void_threshold: float = param(
        0.5,
        ge=0,
        le=1000,
        unit="dealer arrests (fading 7% a day)",
        doc="void within void_radius that makes an entrant a void filler (one arrest counts "
        "for about 10 days; 0: every entrant in the window and area)",
        source="calibration judgement; the void layer of turf violence (ODD 7.16)",
    )
    void_radius: int = param(
        1,
        ge=0,
        le=50,
        unit="cells",
        doc="how near an entrant's pitch the void must be (square neighbourhood)",
        source="calibration judgement; the neighbourhood in which dealers are rivals (ODD 7.10)",
    )
    start: int = param(
        0,
        ge=0,
        le=36500,
        unit="day",
        doc="first day void fillers take these traits, counted from the end of burn-in",
        source="scenario choice",
    )
    duration: int | None = param(
        None,
        ge=1,
        le=36500,
        unit="days",
        doc="days void fillers take these traits (none: to the end)",
        source="scenario choice",
    )
    area: AreaSpec | None = param(
        None,
        unit="-",
        doc="where void fillers take these traits (none: anywhere in the town)",
        source="scenario choice",
    )
    violence_multiplier: float = param(
        1.0,
        ge=0,
        le=10,
        unit="x",
        doc="void fillers' violence trait relative to the founders' draw",
        source=f"{S001} App. B, Operation Reduction: voids may be filled by more harmful sellers",
    )
    product_risk_multiplier: float = param(
        1.0,
        ge=0,
        le=10,
        unit="x",
        doc="void fillers' product risk (purity variance; overdose, ODD 7.9) relative to the "
        "founders' Beta(2, 5) draw",
        source=f"{S001} App. B, Operation Reduction: a group supplying high-purity heroin "
        "filled the void; drug-related deaths spiked",
    )
    share_open: float | None = param(
        None,
        ge=0,
        le=1,
        unit="fraction",
        doc="void fillers who start in open mode (none: market.share_open)",
        source="scenario choice",
    )
    share_exploit: float | None = param(
        None,
        ge=0,
        le=1,
        unit="fraction",
        doc="void fillers exploiting young runners (none: market.share_exploit)",
        source="scenario choice",
    )
    share_user_dealer: float | None = param(
        None,
        ge=0,
        le=1,
        unit="fraction",
        doc="void fillers who are user-dealers (none: market.share_user_dealers)",
        source="scenario choice",
    )
    share_crew: float | None = param(
        None,
        ge=0,
        le=1,
        unit="fraction",
        doc="void fillers who belong to a crew (none: market.share_crew)",
        source="scenario choice",
    )
    close_threshold: float | None = param(
        None,
        ge=0,
        le=1,
        unit="risk",
        doc="median perceived risk above which open void fillers go closed "
        "(none: dealers.close_threshold)",
        source="scenario choice",
    )

    @property
    def void_fillers_differ(self) -> bool:
        """Whether void fillers' traits differ from the founders' (if not, the void rule is moot)."""
        own = (
            self.share_open,
            self.share_exploit,
            self.share_user_dealer,
            self.share_crew,
            self.close_threshold,
        )
        return (
            self.violence_multiplier != 1
            or self.product_risk_multiplier != 1
            or any(value is not None for value in own)
        )

    def in_window(self, day: int) -> bool:
        """Whether void fillers take these traits on `day` (negative days are burn-in)."""
        return self.start <= day and (self.duration is None or day < self.start + self.duration)


class MarketConfig(Section):
    n_dealers: int = param(
        200, ge=1, le=20000, unit="dealers", doc="dealers at start", source="issue 2 default town"
    )
    n_users: int = param(
        2000, ge=1, le=200000, unit="users", doc="users at start", source="issue 2 default town"
    )
    share_user_dealers: float = param(
        0.3,
        ge=0,
        le=1,
        unit="fraction",
        doc="dealers who are user-dealers",
        source=f"{S003}: user-dealers common at street level; judgement",
    )
    share_crew: float = param(0.45, ge=0, le=1, unit="fraction", doc="dealers who belong to a crew")
    mean_crew_size: float = param(6, ge=2, le=30, unit="dealers", doc="mean crew size")
    share_open: float = param(0.6, ge=0, le=1, unit="fraction", doc="dealers in open mode at start")
    share_exploit: float = param(
        0.2,
        ge=0,
        le=1,
        unit="fraction",
        doc="dealers exploiting young runners",
        source=f"{S003}: county lines exploitation",
    )
    violence_sigma: float = param(
        1.1,
        ge=0,
        le=3,
        unit="log-sd",
        doc="lognormal spread of the violence trait (heavy tail)",
        source="design §4; Braga 2001: a few actors do most violence",
    )
    base_price: float = param(
        10.0,
        gt=0,
        le=200,
        unit="GBP per unit",
        doc="street price of one unit (a bag)",
        source="UK street heroin/crack ~GBP 10 a bag",
    )
    wholesale_share: float = param(
        0.5, ge=0, lt=1, unit="fraction of base price", doc="dealer's cost of a unit"
    )
    capacity: int = param(
        25, ge=1, le=1000, unit="sales per day", doc="most sales one dealer makes a day"
    )
    risk_markup: float = param(
        0.8,
        ge=0,
        le=5,
        unit="x per unit risk",
        doc="price mark-up per unit of perceived risk",
        source="Reuter & Kleiman 1986, risks and prices",
    )
    reputation_pull: float = param(
        1.5,
        ge=0,
        le=10,
        unit="x per unit reputation",
        doc="how strongly a pitch's reputation draws buyers",
        source=f"{S001} Table 4.2: an area's reputation for drugs attracts users",
    )
    centre_draw: float = param(
        2.0,
        ge=0,
        le=20,
        unit="x",
        doc="extra pull of town-centre pitches (footfall, transport, anonymity)",
        source=f"{S001} ch. 4: open markets cluster where footfall gives cover; calibration judgement",
    )
    reputation_memory: float = param(
        0.98, ge=0, lt=1, unit="per day", doc="share of a pitch's reputation kept each day"
    )
    void_memory: float = param(
        0.93,
        ge=0,
        lt=1,
        unit="per day",
        doc="share of the void left by removed sellers kept each day (half-life ~10 days)",
    )
    violence_memory: float = param(
        0.95,
        ge=0,
        lt=1,
        unit="per day",
        doc="share of a place's reputation for violence kept each day (half-life ~14 days)",
    )
    reputation_standing_memory: float = param(
        0.997,
        ge=0,
        lt=1,
        unit="per day",
        doc="share of a place's long-standing reputation kept each day (half-life ~230 days)",
        source="seed 001 Table 4.3 (an area's reputation for drugs); calibration judgement",
    )
    hotspot_reputation: float = param(
        10.0,
        ge=0,
        le=1000,
        unit="open sales a day",
        doc="reputation of the established open market at the town centre at start",
        source="design §9: an established central open market",
    )
    entrants: EntrantConfig = Field(default_factory=EntrantConfig)

    @model_validator(mode="after")
    def _tier_shares(self) -> MarketConfig:
        if self.share_user_dealers + self.share_crew > 1:
            named, other = "share_crew", "share_user_dealers"
            if other in self.model_fields_set and named not in self.model_fields_set:
                named, other = other, named  # name the share the user gave
            raise CrossCheckError(
                f"market.{named}: bad value {getattr(self, named):g}: with {other} "
                f"{getattr(self, other):g} the two add to "
                f"{self.share_user_dealers + self.share_crew:g} (allowed: at most 1 together; "
                "the rest are independent street sellers)",
                f"market.{named}",
                f"market.{other}",
            )
        e = self.entrants
        user_dealer = (
            self.share_user_dealers if e.share_user_dealer is None else e.share_user_dealer
        )
        crew = self.share_crew if e.share_crew is None else e.share_crew
        if user_dealer + crew > 1:
            field = "share_crew" if e.share_crew is not None else "share_user_dealer"
            raise CrossCheckError(
                f"market.entrants.{field}: bad value {getattr(e, field):g}: void fillers' "
                f"share_user_dealer + share_crew = {user_dealer + crew:g} (allowed: at most 1; "
                "an unset share is the founders')",
                f"market.entrants.{field}",
                "market.entrants",
                "market.share_crew",
                "market.share_user_dealers",
            )
        return self


# ------------------------------------------------------------------------ dealers
class DealerConfig(Section):
    risk_learning_rate: float = param(
        0.2218,
        ge=0,
        le=1,
        unit="per day",
        doc="weight of today's signal in perceived risk",
        source=CALIBRATED,
    )
    risk_per_police_hour: float = param(
        0.08,
        ge=0,
        le=5,
        unit="risk per officer-hour",
        doc="risk signal per officer-hour seen nearby",
    )
    risk_per_arrest_nearby: float = param(
        0.5, ge=0, le=5, unit="risk per arrest", doc="risk signal per arrest within 2 cells"
    )
    prior_arrests_per_hour: float = param(
        0.07,
        gt=0,
        le=10,
        unit="arrests seen per officer-hour seen",
        doc="arrests a dealer expects to follow police presence before experience",
        source="Sherman 1990 (offenders learn the real risk); Anwar & Loughran 2011",
    )
    prior_strength: float = param(
        13.77,
        gt=0,
        le=10000,
        unit="officer-hours",
        doc="weight of that expectation against experience (Bayesian prior)",
        source="Anwar & Loughran 2011: offenders update arrest beliefs from experience; "
        + CALIBRATED,
    )
    experience_memory: float = param(
        0.9746,
        ge=0,
        le=1,
        unit="per day",
        doc="share of past police and arrest experience kept each day",
        source="Anwar & Loughran 2011; " + CALIBRATED,
    )
    relocation_radius: int = param(
        6, ge=1, le=50, unit="cells", doc="how far a dealer looks when moving"
    )
    relocation_prob: float = param(
        0.05, ge=0, le=1, unit="per day", doc="chance a dealer reviews its pitch on a quiet day"
    )
    relocation_candidates: int = param(
        8, ge=1, le=64, unit="cells", doc="pitches compared per review"
    )
    relocation_gain: float = param(
        0.15, ge=0, le=5, unit="fraction", doc="profit gain needed to move"
    )
    known_risk_share: float = param(
        0.5,
        ge=0,
        le=1,
        unit="share of own perceived risk",
        doc="risk that follows a dealer to any pitch it deals openly from (known to police)",
        source="Jacobs 1996, 1999: restrictive deterrence; " + GRID_FACT9,
    )
    risk_cost: float = param(
        60.0,
        ge=0,
        le=1000,
        unit="GBP per day per unit risk",
        doc="expected cost of risk in the pitch appraisal",
    )
    resident_watch: float = param(
        0.0,
        ge=0,
        le=5,
        unit="risk per 100 residents in the cell",
        doc="risk a dealer weighs in the pitch appraisal for the residents who can see and "
        "report it (natural surveillance)",
        source="Jacobs 1961 (eyes on the street); Sampson, Raudenbush & Earls 1997 "
        "(collective efficacy); off by default until refitted with facts 1-10: at 0.2 it "
        "lengthens a raid's tail (docs/validation.md, 2026-12-08)",
    )
    close_threshold: float = param(
        0.35,
        ge=0,
        le=1,
        unit="risk",
        doc="median perceived risk above which open dealers go closed",
        source="design §4 tactical displacement; calibration judgement",
    )
    reopen_threshold: float = param(
        0.12,
        ge=0,
        le=1,
        unit="risk",
        doc="perceived risk below which closed dealers return to open trade",
    )
    min_contacts_to_close: int = param(
        4, ge=0, le=100, unit="customers", doc="customers holding the number needed to go closed"
    )
    closed_visibility: float = param(
        0.25, ge=0, le=1, unit="x", doc="detection of closed relative to open dealing"
    )
    closed_risk: float = param(
        0.4,
        ge=0,
        le=1,
        unit="x",
        doc="police risk a closed dealer weighs, relative to an open one (pitch appraisal, exit)",
        source="May & Hough 2004: closed markets are less exposed to street policing; "
        "calibration judgement (probes at 0.1 and 0.25: docs/validation.md, fact 9)",
    )
    exit_prob: float = param(
        0.02, ge=0, le=1, unit="per day", doc="exit chance when profit or risk is out of bounds"
    )
    exit_profit: float = param(
        15.0, ge=0, le=1000, unit="GBP per day", doc="profit below which a dealer may exit"
    )
    exit_risk: float = param(
        0.8, ge=0, le=1, unit="risk", doc="perceived risk above which a dealer may exit"
    )
    violence_cost: float = param(
        15.34,
        ge=0,
        le=1000,
        unit="GBP per day per recent incident nearby",
        doc="expected cost of violence at a pitch (robbery, retaliation) in the appraisal",
        source="Jacobs 2000 (robbery of dealers); Topalli, Wright & Fornango 2002; " + CALIBRATED,
    )
    turf_rate: float = param(
        0.0009489,
        ge=0,
        le=1,
        unit="incidents per rival per unit violence per day",
        doc="turf dispute rate",
        source="design §4; " + CALIBRATED,
    )
    void_boost: float = param(
        1.35,
        ge=0,
        le=50,
        unit="x per recent arrest",
        doc="turf rate boost where a void opened",
        source="Werb 2011; seed 000 Box A; " + CALIBRATED,
    )
    void_user_dealer: float = param(
        0.2,
        ge=0,
        le=1,
        unit="x",
        doc="void opened by arresting a user-dealer, relative to a street or crew seller",
        source=f"{S003}: user-dealers supply friends, not turf; calibration judgement",
    )
    closed_turf_factor: float = param(
        0.3, ge=0, le=1, unit="x", doc="turf violence of closed dealers relative to open"
    )
    debt_rate: float = param(
        0.002143,
        ge=0,
        le=1,
        unit="incidents per unit violence per day",
        doc="debt violence rate while in debt after a seizure",
        source=f"{S003}: drug debts after seizures drive violence; " + CALIBRATED,
    )
    debt_capital: float = param(
        900.0,
        gt=0,
        le=1e6,
        unit="GBP",
        doc="working capital a seizure debt is weighed against (debt violence = debt/(debt+capital))",
        source="Moeller & Sandberg 2015 (credit and trust in drug distribution); Goldstein et al. 1989",
    )
    debt_repay_share: float = param(
        0.3, ge=0, le=1, unit="fraction of profit", doc="profit used to repay debt each day"
    )
    homicide_share: float = param(
        0.001, ge=0, le=1, unit="fraction", doc="incidents that are homicides (scaled by violence)"
    )
    serious_share: float = param(0.15, ge=0, le=1, unit="fraction", doc="incidents with injury")
    p_return_after_prison: float = param(
        0.6, ge=0, le=1, unit="probability", doc="released dealers who resume dealing"
    )


# -------------------------------------------------------------------------- users
class UserConfig(Section):
    share_dependent: float = param(
        0.45, ge=0, le=1, unit="fraction", doc="users dependent at start"
    )
    buy_prob_dependent: float = param(
        0.9, ge=0, le=1, unit="per day", doc="daily purchase chance, dependent users"
    )
    buy_prob_recreational: float = param(
        0.1, ge=0, le=1, unit="per day", doc="daily purchase chance, recreational users"
    )
    units_dependent: float = param(
        2.0, gt=0, le=20, unit="units per purchase", doc="units bought by a dependent user"
    )
    units_recreational: float = param(
        1.0, gt=0, le=20, unit="units per purchase", doc="units bought by a recreational user"
    )
    income_dependent: float = param(
        12.0, ge=0, le=500, unit="GBP per day", doc="median legitimate income, dependent"
    )
    income_recreational: float = param(
        45.0, ge=0, le=500, unit="GBP per day", doc="median legitimate income, recreational"
    )
    search_radius: int = param(
        12, ge=1, le=100, unit="cells", doc="furthest a buyer travels to an open market"
    )
    distance_decay: float = param(
        6.0, gt=0, le=100, unit="cells", doc="distance scale of buyer travel"
    )
    police_deterrence: float = param(
        0.3593,
        ge=0,
        le=10,
        unit="per officer-hour",
        doc="buyers avoid policed pitches",
        source="design §4: police presence deters buyers; " + CALIBRATED,
    )
    violence_avoidance: float = param(
        0.8766,
        ge=0,
        le=10,
        unit="per recent incident nearby",
        doc="buyers avoid pitches known for recent violence",
        source=f"{S001} Table 4.2: people avoid the area; " + CALIBRATED,
    )
    price_elasticity_dependent: float = param(
        -0.25,
        ge=-3,
        le=0,
        unit="-",
        doc="elasticity of dependent users' purchases to the full price (money and search time)",
        source="Gallet 2014 meta-analysis: illicit demand inelastic; Moore 1973 full price",
    )
    price_elasticity_recreational: float = param(
        -0.7,
        ge=-3,
        le=0,
        unit="-",
        doc="elasticity of recreational users' purchases to the full price",
        source="Gallet 2014; Kleiman 1988: casual demand more elastic",
    )
    search_cost: float = param(
        1.0,
        ge=0,
        le=20,
        unit="x price per failed search",
        doc="search time valued as a share of the money price (Moore 1973)",
        source="Moore 1973: search time raises the effective price",
    )
    contact_use_prob: float = param(
        0.6, ge=0, le=1, unit="probability", doc="buyers with a working contact call them first"
    )
    street_wariness: float = param(
        24.0,
        ge=0,
        le=50,
        unit="per unit of risk at the street market used",
        doc="buyers with a working number call it more, the riskier the street they would use",
        source="May & Hough 2004: closed markets give buyers security; " + GRID_FACT9,
    )
    wariness_memory: float = param(
        0.99,
        ge=0,
        lt=1,
        unit="per day",
        doc="share of yesterday's alarm at the street market that buyers keep each day "
        "(0: they read only today's risk; 0.99: a half-life of about 69 days)",
        source="May & Hough 2004: buyers come to rely on sellers they know over time; "
        + GRID_FACT9,
    )
    wariness_exponent: float = param(
        2.0,
        ge=1,
        le=4,
        unit="-",
        doc="power of the buyers' alarm in their wariness (above 1: a brief scare such as a "
        "raid moves few buyers onto the phone, pressure sustained for months moves many)",
        source="Sherman & Rogan 1995 (a raid's effect gone within 7-12 days) against UKDPC "
        "2009 App. B (Iceberg: sustained pressure took the market underground); " + GRID_FACT9,
    )
    referral_prob: float = param(
        0.6,
        ge=0,
        le=1,
        unit="probability",
        doc="chance a buyer who went without today is given a number by a phone buyer",
        source="May & Hough 2004; Edmunds, Hough & Urquia 1996: closed sellers take "
        "buyers someone vouches for; " + GRID_FACT9,
    )
    contact_gain_prob: float = param(
        0.25,
        ge=0,
        le=1,
        unit="probability",
        doc="chance an open purchase gives the dealer's number",
    )
    max_contacts: int = param(3, ge=1, le=10, unit="contacts", doc="dealer numbers a user keeps")
    crime_prob: float = param(
        0.5,
        ge=0,
        le=1,
        unit="probability",
        doc="chance a short dependent user offends to fund use",
        source="NTORS; Bennett & Holloway 2009",
    )
    crime_proceeds: float = param(
        25.0, gt=0, le=1000, unit="GBP per offence", doc="cash raised per acquisitive offence"
    )
    public_use_base: float = param(
        0.06, ge=0, le=1, unit="probability", doc="public use after an open-market purchase"
    )
    public_use_per_police_hour: float = param(
        0.05,
        ge=0,
        le=1,
        unit="per officer-hour",
        doc="rushed or public use under police presence",
        source="Kerr 2005; Wood 2004",
    )
    litter_prob: float = param(
        0.4, ge=0, le=1, unit="probability", doc="public use that leaves paraphernalia"
    )
    overdose_base: float = param(
        0.00035,
        ge=0,
        le=1,
        unit="per use-day",
        doc="overdose chance per dependent use-day",
        source="UK DRD ~1%/yr of problem users; judgement",
    )
    overdose_product_risk: float = param(
        2.0, ge=0, le=20, unit="x per unit product risk", doc="overdose rise with purity variance"
    )
    overdose_rushed: float = param(
        1.5, ge=1, le=20, unit="x", doc="overdose multiplier for rushed use"
    )
    overdose_tolerance_loss: float = param(
        6.0,
        ge=1,
        le=50,
        unit="x",
        doc="overdose multiplier after prison or treatment drop-out",
        source="Merrall 2010: 3-8x mortality in first weeks after release",
    )
    tolerance_loss_days: int = param(
        14, ge=0, le=365, unit="days", doc="how long tolerance loss lasts"
    )
    overdose_fatality: float = param(
        0.05, ge=0, le=1, unit="probability", doc="overdoses that are fatal"
    )
    initiation_rate: float = param(
        1.8e-5,
        ge=0,
        le=1,
        unit="per resident per day per unit access",
        doc="initiation driven by local open-market access",
        source=f"{S001} Table 4.2: visible markets normalise use",
    )
    initiation_baseline: float = param(
        0.15, ge=0, le=10, unit="access units", doc="access through closed and social supply"
    )
    progression_prob: float = param(
        0.0003, ge=0, le=1, unit="per day", doc="recreational to dependent"
    )
    desist_prob_recreational: float = param(
        0.0012, ge=0, le=1, unit="per day", doc="recreational users who stop"
    )
    desist_prob_dependent: float = param(
        0.00025, ge=0, le=1, unit="per day", doc="natural recovery of dependent users"
    )
    treatment_seek_prob: float = param(
        0.002, ge=0, le=1, unit="per day", doc="dependent user asks for treatment"
    )
    treatment_seek_after_adverse: float = param(
        4.0, ge=1, le=50, unit="x", doc="seeking boost after an overdose or arrest (30 days)"
    )
    treatment_police_deterrence: float = param(
        0.25,
        ge=0,
        le=10,
        unit="per officer-hour near site",
        doc="police near the site deter seeking",
        source=f"{S001} App. B, Derbyshire",
    )
    crime_arrest_prob: float = param(
        0.02, ge=0, le=1, unit="per offence", doc="offences that lead to arrest"
    )
    children_mean: float = param(
        0.5,
        ge=0,
        le=5,
        unit="children per person",
        doc="dependent children per user or dealer",
        source="judgement; ~1 in 3 prisoners are parents",
    )


# ------------------------------------------------------------------------- police
class PoliceConfig(Section):
    n_units: int = param(
        20,
        ge=0,
        le=2000,
        unit="units",
        doc="police units (one officer-day each per day)",
        source="issue 2",
    )
    shift_hours: float = param(8.0, gt=0, le=24, unit="hours", doc="hours a unit works a day")
    beat_cells: int = param(
        6, ge=1, le=100, unit="cells per day", doc="cells a patrol unit covers a day"
    )
    detection_rate: float = param(
        0.08,
        ge=0,
        le=10,
        unit="per officer-hour",
        doc="detection hazard for an open dealer",
        source="calibration judgement",
    )
    attention_fatigue: float = param(
        0.1113,
        ge=0,
        le=10,
        unit="per 100 officer-hours spent nearby (decayed)",
        doc="detection lost as officers' attention flags on a long-worked beat",
        source="Sherman 1990: crackdown decay; " + CALIBRATED,
    )
    guardianship_detection: float = param(
        1.0,
        ge=0,
        le=10,
        unit="x per unit guardianship",
        doc="CCTV and place managers help detection",
    )
    processing_hours: float = param(
        5.0,
        ge=0,
        le=48,
        unit="hours per arrest",
        doc="custody processing time off the street",
        source="Kleiman 1993 enforcement swamping; judgement",
    )
    deterrence_gain: float = param(
        0.25, ge=0, le=5, unit="per officer-hour", doc="residual deterrence gained from presence"
    )
    deterrence_saturation: float = param(
        2.0,
        gt=0,
        le=24,
        unit="officer-hours",
        doc="presence beyond which deterrence gains nothing",
        source="Koper 1995: 10-15 minutes per visit",
    )
    deterrence_decay: float = param(
        0.25,
        ge=0,
        le=1,
        unit="per day",
        doc="decay of residual deterrence",
        source="Sherman & Rogan 1995: raid effects gone in 7-12 days (0.25 a day: half-life "
        "2.4 days, 95% gone by day 11; 0.08, half-life 8 days, until 2026-12-07); Sherman 1990",
    )
    charge_prob: float = param(0.8, ge=0, le=1, unit="probability", doc="arrested dealers charged")
    remand_prob: float = param(
        0.35, ge=0, le=1, unit="probability", doc="charged dealers remanded in custody"
    )
    convict_prob: float = param(
        0.8, ge=0, le=1, unit="probability", doc="charged dealers convicted"
    )
    days_to_sentence: int = param(60, ge=0, le=720, unit="days", doc="charge to sentence")
    sentence_dealer: float = param(
        365.0,
        ge=0,
        le=7300,
        unit="days",
        doc="median time served, supply of Class A",
        source="Sentencing Council drug supply guideline; half served",
    )
    sentence_user_dealer: float = param(
        120.0, ge=0, le=7300, unit="days", doc="median time served, user-dealers"
    )
    custody_prob_user: float = param(
        0.25, ge=0, le=1, unit="probability", doc="charged users jailed for acquisitive crime"
    )
    sentence_user: float = param(
        45.0, ge=0, le=3650, unit="days", doc="median time served, acquisitive offending user"
    )
    seizure_value: float = param(
        300.0, ge=0, le=100000, unit="GBP", doc="stock seized per dealer arrest; becomes crew debt"
    )


# ---------------------------------------------------------------------- treatment
class TreatmentConfig(Section):
    places_per_site: int = param(60, ge=0, le=10000, unit="places", doc="treatment places per site")
    duration_days: int = param(
        180, ge=1, le=1000, unit="days", doc="length of a completed episode", source="NTORS"
    )
    dropout_prob: float = param(0.004, ge=0, le=1, unit="per day", doc="daily drop-out")
    missed_dropout_boost: float = param(
        0.01, ge=0, le=1, unit="per missed appointment", doc="drop-out added per missed appointment"
    )
    appointment_prob: float = param(
        0.2, ge=0, le=1, unit="per day", doc="appointments per client-day"
    )
    missed_per_police_hour: float = param(
        0.03,
        ge=0,
        le=1,
        unit="per officer-hour near site",
        doc="appointments missed under police presence",
        source=f"{S001} App. B, Derbyshire",
    )
    use_reduction: float = param(
        0.7, ge=0, le=1, unit="fraction", doc="cut in use while retained", source="NTORS"
    )
    crime_reduction: float = param(
        0.5,
        ge=0,
        le=1,
        unit="fraction",
        doc="cut in offending while retained",
        source="NTORS: 34% to 18% convicted per year",
    )
    relapse_window_days: int = param(
        730,
        ge=0,
        le=36500,
        unit="days",
        doc="after this long in recovery, relapse no longer happens",
    )
    relapse_prob: float = param(
        0.001, ge=0, le=1, unit="per day", doc="relapse after recovery (completion or natural)"
    )


# ------------------------------------------------------------------------ regions
DEFAULT_TARGET = {"centre": (25, 25), "radius": 4}


class RegionConfig(Section):
    target: AreaSpec = Field(
        default_factory=lambda: AreaSpec(**DEFAULT_TARGET),
        description="where a tactic acts (default: the town centre)",
    )
    buffer_width: int = param(
        3, ge=1, le=50, unit="cells", doc="ring around the target", source="Bowers & Johnson 2003"
    )
    control: AreaSpec | Literal["rest"] = Field("rest", description="'rest' or an area")

    @field_validator("target", mode="before")
    @classmethod
    def _target_in_part(cls, value: Any) -> Any:
        """A target given in part (`--set regions.target.radius=6` on a file with no
        regions) keeps the default's centre or radius, as a land-use map given in part
        keeps the other land uses; it used to be refused."""
        if isinstance(value, dict) and value.get("cells") is None:
            given = {k: v for k, v in value.items() if v is not None}
            if ("centre" in given) != ("radius" in given):
                return {**DEFAULT_TARGET, **given}
        return value


class EvaluationConfig(Section):
    wdq_metric: Literal[COLUMNS] = param(
        "visible_dealing", unit="-", doc="timeseries column the WDQ is computed on"
    )
    intervention_day: int | None = param(
        None,
        ge=1,
        unit="day",
        doc="before/after split for WDQ (default: the first tactic's start; no WDQ without a tactic)",
    )
    before_days: int = param(90, ge=1, le=3650, unit="days", doc="WDQ before window")
    watch: dict[str, WatchArea] = Field(
        default_factory=dict,
        description="extra areas recorded as regions of their own in the timeseries "
        "(pilot and comparison areas)",
    )

    @model_validator(mode="after")
    def _watch_names(self) -> EvaluationConfig:
        for name in self.watch:
            if name in REGIONS or not name.replace("_", "").isalnum():
                raise ValueError(
                    f"evaluation.watch: bad value {name!r}: a watched area needs a name of "
                    f"letters, digits and _ other than {', '.join(REGIONS)}"
                )
        return self


class HarmConfig(Section):
    timeseries_profile: Literal[PROFILE_NAMES] = param(
        "cost_of_crime_gbp", unit="-", doc="weight profile behind the net_harm column"
    )


def _areas_in(section: Section, where: str) -> list[tuple[str, AreaSpec]]:
    """Every AreaSpec inside a section (tactic configs nest them in fields and lists)."""
    found = []
    for name in type(section).model_fields:
        value = getattr(section, name)
        items = value if isinstance(value, list) else [value]
        for j, item in enumerate(items):
            label = f"{where}.{name}" + (f"[{j}]" if isinstance(value, list) else "")
            if isinstance(item, AreaSpec):
                found.append((label, item))
            elif isinstance(item, Section):
                found += _areas_in(item, label)
    return found


def _to_tactic_config(item: Any) -> TacticConfig:
    if isinstance(item, TacticConfig):
        return item
    if not isinstance(item, dict):
        raise ValueError("each tactic must be a mapping with a 'type' key")
    kind = item.get("type")
    if not isinstance(kind, str) or kind not in CONFIGS:  # "." : the error names the tactic
        raise ValueError(
            f".type: bad value {kind!r}: unknown tactic type (allowed: {', '.join(sorted(CONFIGS))})"
        )
    return CONFIGS[kind].model_validate(item)


TacticEntry = SerializeAsAny[Annotated[TacticConfig, BeforeValidator(_to_tactic_config)]]


class Scenario(Section):
    name: Name = param("scenario", unit="-", doc="short name")
    description: str = param("", unit="-", doc="one line: what the scenario mirrors")
    seed: int = param(1, ge=0, le=2**63 - 1, unit="-", doc="root seed of every random stream")
    steps: int = param(
        730,
        ge=1,
        le=36500,
        unit="days",
        doc="days recorded after burn-in",
        source="issue 2: 2 simulated years",
    )
    burn_in: int = param(
        365, ge=0, le=3650, unit="days", doc="days to settle before recording and tactics"
    )
    town: TownConfig = Field(default_factory=TownConfig)
    market: MarketConfig = Field(default_factory=MarketConfig)
    dealers: DealerConfig = Field(default_factory=DealerConfig)
    users: UserConfig = Field(default_factory=UserConfig)
    police: PoliceConfig = Field(default_factory=PoliceConfig)
    treatment: TreatmentConfig = Field(default_factory=TreatmentConfig)
    regions: RegionConfig = Field(default_factory=RegionConfig)
    evaluation: EvaluationConfig = Field(default_factory=EvaluationConfig)
    harms: HarmConfig = Field(default_factory=HarmConfig)
    tactics: list[TacticEntry] = Field(
        default_factory=lambda: [CONFIGS["standard_patrol"](type="standard_patrol")],
        description="tactics, run together; each with start day and duration",
    )

    @field_validator("steps", "burn_in", "seed", mode="before")
    @classmethod
    def _not_a_bool(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, bool):  # YAML's true would otherwise count as 1
            raise ValueError(
                f"{info.field_name}: bad value {value}: a whole number, not true/false"
            )
        return value

    @model_validator(mode="after")
    def _cross_checks(self) -> Scenario:
        if self.dealers.reopen_threshold > self.dealers.close_threshold:
            raise CrossCheckError(
                f"dealers.reopen_threshold: bad value {self.dealers.reopen_threshold:g}: above "
                f"close_threshold {self.dealers.close_threshold:g} (allowed: <= close_threshold)",
                "dealers.reopen_threshold",
                "dealers.close_threshold",
            )
        fillers_close = self.market.entrants.close_threshold
        if fillers_close is not None and fillers_close < self.dealers.reopen_threshold:
            raise CrossCheckError(
                f"market.entrants.close_threshold: bad value {fillers_close:g}: below "
                f"dealers.reopen_threshold {self.dealers.reopen_threshold:g} "
                "(allowed: >= reopen_threshold)",
                "market.entrants.close_threshold",
                "dealers.reopen_threshold",
            )
        day = self.evaluation.intervention_day
        if day is not None and day >= self.steps:
            raise CrossCheckError(
                f"evaluation.intervention_day: bad value {day}: the run records days 0-"
                f"{self.steps - 1} (allowed: 1 to {self.steps - 1})",
                "evaluation.intervention_day",
                "steps",
            )
        if (repeated := repeated_name(self.tactics, "tactics")) is not None:
            i, message = repeated
            raise CrossCheckError(message, f"tactics.{i}")
        return self

    @model_validator(mode="after")
    def _areas_inside_town(self) -> Scenario:
        """Areas must lie in the town (checked here for procedural towns; rasters at build)."""
        if self.town.generator != "procedural":
            return self
        w, h = self.town.width, self.town.height
        areas: list[tuple[str, AreaSpec]] = [("regions.target", self.regions.target)]
        if isinstance(self.regions.control, AreaSpec):
            areas.append(("regions.control", self.regions.control))
        if self.market.entrants.area is not None:
            areas.append(("market.entrants.area", self.market.entrants.area))
        for i, tactic in enumerate(self.tactics):
            areas += _areas_in(tactic, f"tactics[{i}]")
        areas += [(f"evaluation.watch.{n}", a) for n, a in self.evaluation.watch.items()]
        for where, area in areas:
            cells = area.cells if area.cells is not None else [area.centre]
            for x, y in cells:
                if not (0 <= x < w and 0 <= y < h):
                    part = "cells" if area.cells is not None else "centre"
                    raise CrossCheckError(
                        f"{where}.{part}: bad value {[x, y]}: outside the {w}x{h} town "
                        f"(allowed: x 0..{w - 1}, y 0..{h - 1})",
                        f"{where}.{part}",
                        "town.width",
                        "town.height",
                    )
        return self

    def resolved(self) -> dict[str, Any]:
        """The scenario with every default filled in, as plain data."""
        return self.model_dump(mode="json")

    def warnings(self) -> list[str]:
        """Settings a user could mean but that do nothing here, one line each."""
        found = self.town.warnings()
        for i, t in enumerate(self.tactics):
            if t.start >= self.steps and not t.acts_in_burn_in:
                found.append(
                    f"tactics[{i}] ({t.label}).start: day {t.start} is after the run's last "
                    f"day ({self.steps - 1}): it never acts"
                )
        fillers = self.market.entrants
        if fillers.void_fillers_differ and fillers.start >= self.steps:
            found.append(
                f"market.entrants.start: day {fillers.start} is after the run's last day "
                f"({self.steps - 1}): no entrant takes the void fillers' traits"
            )
        starts = [t.start for t in self.tactics if t.type != "standard_patrol"]
        day = self.evaluation.intervention_day
        day = day if day is not None else min(starts, default=None)
        if day is not None and day < self.steps and self.evaluation.before_days > day:
            found.append(
                f"evaluation.before_days: {self.evaluation.before_days} days before the "
                f"intervention (day {day}) reach before recording starts: the WDQ compares "
                f"only {day} day(s) before"
            )
        return found


# ------------------------------------------------------------------ load and errors
def _fmt_loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, str) and (
            "function-" in part or part.startswith(("literal[", "tagged-union["))
        ):
            continue  # pydantic's names for union branches, not a field the user wrote
        if isinstance(part, str) and not part.isprintable():
            part = repr(part)
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _allowed(err: dict[str, Any]) -> str:
    ctx = err.get("ctx") or {}
    kind = err["type"]
    if kind == "extra_forbidden":
        return "unknown key"
    bounds = {"ge": ">=", "gt": ">", "le": "<=", "lt": "<"}
    for key, sym in bounds.items():
        if key in ctx:
            return f"allowed: {sym} {ctx[key]}"
    if "expected" in ctx and kind != "literal_error":  # literal errors already list them
        return f"allowed: {ctx['expected']}"
    return ""


def format_validation_error(
    exc: ValidationError,
    source: str | Callable[[dict[str, Any]], str],
    model: type | None = None,
    data: Any = None,
) -> str:
    """The problems on one line, each labelled with `source`: the file, or a function of
    the error that gives its label (the file, or the --set that gave the value)."""
    lines = []
    label = source if callable(source) else lambda _err: source
    for err in exc.errors():
        if err["type"] == "invalid_key":
            # A key YAML reads as a number, a bool or null (`1: 2`): pydantic places it like
            # a list index ([1]); it is an unknown key, said as a misspelt name is.
            *parent, _ = err["loc"]
            key = err["input"]
            value = _value_at(data, [*parent, key], default=key)
            err = {**err, "type": "extra_forbidden", "loc": (*parent, str(key)), "input": value}
        source = label(err)
        loc = _fmt_loc(tuple(err["loc"]))
        value = err.get("input")
        shown = repr(value) if not isinstance(value, dict) else "{...}"
        if len(shown) > 60:
            shown = shown[:57] + "..."
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "value_error" and msg.startswith(".") and ": bad value " in msg:
            # a check within an item (a tactic) that names its field from the item on
            lines.append(f"{source}: {loc}{msg}" if err["loc"] else f"{source}: {msg[1:]}")
            continue
        if err["type"] == "value_error" and ": bad value " in msg:
            lines.append(f"{source}: {msg}")  # a cross-field check that names its own field
            continue
        if err["type"] == "extra_forbidden":
            msg = f"unknown key {str(err['loc'][-1])!r}"  # the whole key: '1.5', not '5'
            parent = tuple(err["loc"][:-1])
            allowed = _allowed_keys(model, parent, data)
            if allowed:
                msg += f"; allowed keys: {', '.join(allowed)}"
        elif _not_finite(err):
            msg = f"not a finite number (allowed: {_range(err, model, data)})"
        else:
            extra = _allowed(err)
            msg = f"{msg} ({extra})" if extra and extra not in msg else msg
        lines.append(f"{source}: {loc}: bad value {shown}: {msg}")
    return "; ".join(lines[:3]) + (f"; and {len(lines) - 3} more" if len(lines) > 3 else "")


def _value_at(data: Any, path: list[Any], default: Any) -> Any:
    """The input's value at path, or default where the path does not lead."""
    for part in path:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return default
    return data


def _not_finite(err: dict[str, Any]) -> bool:
    """A bound failed by nan or inf (`.nan` in a file, `--set x=nan`, which pydantic reads
    from the text): nan fails every bound, so pydantic names the first it checks ('should
    be less than or equal to 1'), as if the value were too large."""
    value = err.get("input")
    if not err["type"].startswith(("greater_than", "less_than")) or isinstance(value, bool):
        return False
    try:
        return not math.isfinite(float(value))
    except (TypeError, ValueError, OverflowError):
        return False


def _range(err: dict[str, Any], model: type | None, data: Any) -> str:
    """The field's whole range ('0 to 1'), from the schema; else the bound that failed."""
    loc = tuple(err["loc"])
    cls = _section_at(model, loc[:-1], data) if loc else None
    field = getattr(cls, "model_fields", {}).get(loc[-1]) if loc else None
    names = ("ge", "gt", "le", "lt")
    found = [(n, getattr(m, n, None)) for m in getattr(field, "metadata", []) for n in names]
    bounds = {n: v for n, v in found if v is not None} or dict(err.get("ctx") or {})
    if "ge" in bounds and "le" in bounds:
        return f"{bounds['ge']} to {bounds['le']}"
    signs = {"ge": ">=", "gt": ">", "le": "<=", "lt": "<"}
    return " and ".join(f"{sign} {bounds[n]}" for n, sign in signs.items() if n in bounds)


def _allowed_keys(model: type | None, loc: tuple[Any, ...], data: Any = None) -> list[str]:
    """The keys allowed at loc (see _section_at)."""
    cls = _section_at(model, loc, data)
    return sorted(getattr(cls, "model_fields", {})) if cls is not None else []


def _section_at(model: type | None, loc: tuple[Any, ...], data: Any = None) -> type | None:
    """Walk the schema (and the input, `data`) along loc to the section found there.

    A tactic entry's keys are those of its own type (the schema only names the base
    class), so the walk reads the entry's `type` from the input.
    """
    cls, node = model, data
    for part in loc:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            node = None
        if cls is None or isinstance(part, int):
            if isinstance(node, dict) and node.get("type") in CONFIGS:
                cls = CONFIGS[node["type"]]
            continue
        fields = getattr(cls, "model_fields", {})
        if part not in fields:
            return None
        cls = _section_class(fields[part].annotation)
    return cls


def _section_class(annotation: Any) -> type | None:
    if isinstance(annotation, type) and issubclass(annotation, Section):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _section_class(arg)
        if found is not None:
            return found
    return None


class _DuplicateKey(Exception):
    pass


class YamlLimitError(ScenarioError):
    """A YAML document over the size or alias-expansion bound."""


MAX_YAML_BYTES = 2_000_000  # far above any real input file; rasters are separate files
MAX_YAML_NODES = 200_000  # values after expanding aliases: a resolved scenario has ~600

# What marketsim writes. Given back as an input, each is named for what it is rather than
# read as a scenario with odd keys ("town.residents: unknown key") or as bad YAML.
OUTPUT_FILES = {
    "summary.json": "a run's summary",
    "timeseries.csv": "a run's time series",
    "harm_matrix.md": "a run's harm matrix",
    "harm_by_cell.csv": "a run's harm by cell",
    "manifest.json": "a results folder's manifest",
    "comparison.csv": "a comparison's table",
    "report.md": "a comparison's report",
    "sweep.csv": "a sweep's table",
    "sweep.md": "a sweep's report",
    "summary.md": "a sensitivity analysis's report",
    "pilot.md": "a pilot's report",
    "measures.csv": "a pilot's measures",
    "calibration.md": "a calibration's report",
    "particles.csv": "a calibration's parameter sets",
    "accepted.csv": "a calibration's accepted sets",
    "posterior.csv": "a calibration's posterior",
}
OUTPUT_SUFFIXES = {".parquet": "a table of results", ".png": "a plot"}
INPUT_KINDS = "a scenario, sweep, sensitivity, pilot or calibration file, in YAML"
# Each kind of input file, told apart by a top-level key only it has (the first match
# wins; a file with none of these keys is a scenario), with the command that runs it.
# Adding a kind is one line here (and its check in cli.CHECKS).
FILE_KINDS = (
    ("pilot", "pilot_areas", "pilot"),
    ("calibration", "patterns", "calibrate"),
    ("experiment", "parameters", "sweep` or `marketsim sensitivity"),
    ("experiment", "design", "sweep` or `marketsim sensitivity"),
)
KIND_NAMES = {"experiment": "sweep or sensitivity"}  # as the user knows them
# Keys only a kind has: a file with one is of that kind, with a mistake the schema names.
OWN_KEYS = {
    "pilot": {"pilot_areas", "comparison_areas", "measures", "primary"},
    "calibration": {"patterns", "scenarios", "search"},
    "experiment": {"outcomes"},  # (a pilot has a design: too)
}


def file_kind(data: dict[str, Any]) -> str:
    """The kind of an input file (scenario, experiment, pilot, calibration) from its keys."""
    return next((kind for kind, key, _run in FILE_KINDS if key in data), "scenario")


def _check_kind(data: dict[str, Any], where: str, kind: str, takes: str) -> None:
    """A file of another kind than the command reads (a pilot file given to sweep) is named
    as what it is, with the command that runs it, not as a heap of unknown keys."""
    found = [row for row in FILE_KINDS if row[1] in data]
    other, key, command = found[0] if found else ("scenario", "", "run` or `marketsim compare")
    if other == kind or OWN_KEYS.get(kind, set()) & data.keys():
        return
    # a scenario by its keys alone (an empty file, or a stray key, is left to the schema)
    if not found and (not data or not data.keys() <= {*Scenario.model_fields, *PROVENANCE_KEYS}):
        return
    has = f" (it has {key}:)" if key else ""
    raise ScenarioError(
        f"{where}: bad value: a {KIND_NAMES.get(other, other)} file{has}, not a "
        f"{KIND_NAMES.get(kind, kind)} file; `marketsim {command}` runs it (allowed: {takes})"
    )


class _BoundedLoader(yaml.SafeLoader):
    """yaml.SafeLoader that rejects a key given twice in one mapping (YAML would keep the
    last), supports merge keys (`<<: *base`), and refuses a document whose aliases expand
    to more than MAX_YAML_NODES values (an alias bomb), before anything walks it."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _value in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue  # merged keys may be overridden by the mapping's own keys
            key = self.construct_object(key_node, deep=deep)
            try:
                duplicate = key in seen
                seen.add(key)
            except TypeError:
                continue  # an unhashable key: the base loader reports it
            if duplicate:
                line = key_node.start_mark.line + 1
                raise _DuplicateKey(f"line {line}: key {key!r} appears twice in the same mapping")
        return super().construct_mapping(node, deep=deep)


def _expanded_size(node: yaml.Node, sizes: dict[int, int], busy: set[int]) -> int:
    """Values in the document once every alias is expanded (shared nodes counted each time)."""
    key = id(node)
    if key in sizes:
        return sizes[key]
    if key in busy:
        raise _DuplicateKey(f"line {node.start_mark.line + 1}: an alias refers to itself")
    busy.add(key)
    total = 1
    if isinstance(node, yaml.SequenceNode):
        for item in node.value:
            total += _expanded_size(item, sizes, busy)
            if total > MAX_YAML_NODES:
                break
    elif isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            total += _expanded_size(k, sizes, busy) + _expanded_size(v, sizes, busy)
            if total > MAX_YAML_NODES:
                break
    busy.discard(key)
    sizes[key] = total
    return total


def parse_yaml(text: str, where: str) -> Any:
    """YAML text to data, bounded in size and alias expansion; problems as ScenarioError."""
    if len(text) > MAX_YAML_BYTES:
        raise YamlLimitError(
            f"{where}: bad value: {len(text):,} characters (allowed: at most {MAX_YAML_BYTES:,})"
        )
    loader = None
    try:
        loader = _BoundedLoader(text)
        node = loader.get_single_node()
        if node is None:
            return None
        size = _expanded_size(node, {}, set())
        if size > MAX_YAML_NODES:
            raise YamlLimitError(
                f"{where}: bad value: aliases expand to over {MAX_YAML_NODES:,} values "
                "(an alias bomb?); write the values out or use fewer aliases"
            )
        return loader.construct_document(node)
    except RecursionError:
        raise ScenarioError(f"{where}: malformed YAML: nested too deeply") from None
    except _DuplicateKey as exc:
        raise ScenarioError(f"{where}: {exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ScenarioError(f"{where}: malformed YAML{at}: {problem}") from None
    finally:
        if loader is not None:
            loader.dispose()


def read_yaml(path: str | Path, takes: str = INPUT_KINDS, kind: str = "") -> dict[str, Any]:
    """Read a YAML mapping, turning every I/O or syntax problem into ScenarioError. `takes`
    is what the caller reads, for the error when the file is one of marketsim's outputs or
    (with `kind`: scenario, experiment, pilot, calibration) an input of another kind."""
    path = Path(path)
    where = str(path) if str(path).isprintable() else repr(str(path))  # one line, always
    try:
        if path.is_dir():
            raise ScenarioError(f"{where}: is a directory, expected a YAML file")
        if not path.exists():
            raise ScenarioError(f"{where}: file not found")
        output = OUTPUT_FILES.get(path.name) or OUTPUT_SUFFIXES.get(path.suffix.lower())
        if output:
            raise ScenarioError(
                f"{where}: bad value {path.name!r}: {output}, an output of marketsim, not an "
                f"input file (allowed: {takes})"
            )
        # At most the limit and a byte is read: a device or pipe (/dev/zero, /dev/stdin)
        # reports size 0 and may never end.
        with path.open("rb") as stream:
            raw = stream.read(MAX_YAML_BYTES + 1)
        if len(raw) > MAX_YAML_BYTES:
            size = path.stat().st_size
            raise ScenarioError(
                f"{where}: bad value: {f'{size:,} bytes' if size > MAX_YAML_BYTES else 'a stream'} "
                f"(allowed: at most {MAX_YAML_BYTES:,} bytes); is this the right file?"
            )
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        utf16 = raw[:2] in (b"\xff\xfe", b"\xfe\xff")  # what some editors save as "Unicode"
        what = "UTF-16 text" if utf16 else f"not UTF-8 text (byte {exc.start:,})"
        raise ScenarioError(
            f"{where}: bad value {raw[max(0, exc.start - 8) : exc.start + 8]!r}: {what} "
            "(allowed: a YAML text file in UTF-8; save it as UTF-8)"
        ) from None
    except (OSError, ValueError) as exc:
        raise ScenarioError(f"{where}: cannot read: {exc}") from None
    data = parse_yaml(text, where)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ScenarioError(
            f"{where}: (top level): bad value {type(data).__name__}: a scenario must be a mapping of keys"
        )
    if kind:
        _check_kind(data, where, kind, takes)
    return data


def refuse_set_by_runs(texts: list[str], where: str, rules: dict[str, str]) -> None:
    """Refuse an override of a field each run sets itself (a replicate's seed, a calibration
    scenario's steps): the run's own value would replace it in silence. `where` is how the
    overrides were given ('exp.yaml: set', '--set'); `rules` maps each such field to what
    sets it and what to use instead. A malformed entry is left to whoever applies it."""
    for text in texts:
        try:
            keys, _ = parse_override(text)
        except ScenarioError:
            continue
        rule = rules.get(".".join(keys))
        if rule is not None:
            raise ScenarioError(f"{where}: bad value {text!r}: {rule}")


def parse_override(text: str) -> tuple[list[str], Any]:
    """'a.b.c=v' to (['a','b','c'], v), with v parsed as YAML (so 3 is int, [1,2] a list)."""
    if "=" not in text:
        raise ScenarioError(f"--set {text!r}: expected dotted.path=value")
    key, raw = text.split("=", 1)
    parts = key.strip().split(".")
    if not all(parts):
        raise ScenarioError(f"--set {text!r}: empty name in dotted path")
    try:
        value = parse_yaml(raw, f"--set {key.strip()}") if raw.strip() else ""
    except YamlLimitError:
        raise
    except ScenarioError:
        value = raw  # not YAML: the text itself
    return parts, value


def apply_override(data: dict[str, Any], path: list[str], value: Any, label: str) -> None:
    """Set data[path] = value; list elements by index or tactic name (tactics.0.start, tactics.crackdown.start)."""
    node: Any = data
    for i, part in enumerate(path[:-1]):
        nxt = _child(node, part, create=True, label=label, where=".".join(path[: i + 1]))
        node = nxt
    last = path[-1]
    if isinstance(node, list):
        idx = _index(last, node, label, ".".join(path))
        node[idx] = value
    elif isinstance(node, dict):
        node[last] = value
    else:
        raise ScenarioError(f"{label}: {'.'.join(path)}: cannot set inside a {type(node).__name__}")


def by_index(data: Any, path: list[str]) -> list[str]:
    """An applied override's path with list items by index, as errors name them
    (tactics.crackdown.intensity -> tactics.0.intensity)."""
    out, node = [], data
    for part in path:
        if isinstance(node, list):
            part = str(_index(part, node, "", "") % len(node))
            node = node[int(part)]
        else:
            node = node.get(part) if isinstance(node, dict) else None
        out.append(part)
    return out


def _index(part: str, node: list, label: str, where: str) -> int:
    """A list position, or for a list of tactics the one whose name (or type) is `part`."""
    if not part.lstrip("-").isdigit():
        named = [
            i
            for i, item in enumerate(node)
            if isinstance(item, dict) and part in (item.get("name"), item.get("type"))
        ]
        if len(named) == 1:
            return named[0]
        labels = [
            str(item.get("name") or item.get("type")) for item in node if isinstance(item, dict)
        ]
        why = "names several items; use its index or a unique name" if named else "no such item"
        raise ScenarioError(
            f"{label}: {where}: bad index {part!r}: {why} "
            f"(allowed: 0..{len(node) - 1} or one of {labels})"
        )
    if not -len(node) <= int(part) < len(node):
        raise ScenarioError(f"{label}: {where}: bad index {part!r} (allowed: 0..{len(node) - 1})")
    return int(part)


def _child(node: Any, part: str, create: bool, label: str, where: str) -> Any:
    if isinstance(node, list):
        return node[_index(part, node, label, where)]
    if not isinstance(node, dict):
        raise ScenarioError(f"{label}: {where}: cannot descend into a {type(node).__name__}")
    if part not in node or node[part] is None:
        if not create:
            raise ScenarioError(f"{label}: {where}: no such key")
        node[part] = {}
    return node[part]


# Written into a run's resolved scenario.yaml to say what made it; a resolved file runs
# again as it is, so these are read past, not refused as unknown keys.
PROVENANCE_KEYS = ("marketsim_version", "model_revision")


def scenario_from_dict(
    data: dict[str, Any],
    source: str = "<scenario>",
    overrides: list[str] | None = None,
    options: dict[str, str] | None = None,
) -> Scenario:
    """Validate a scenario mapping (after applying --set overrides). `options` are
    overrides a command's own options make, each with the option as the user wrote it
    ({"steps=3": "--steps 3"}): applied after the --set ones and blamed on the option."""
    data = copy.deepcopy(data)
    if isinstance(data, dict):
        for key in PROVENANCE_KEYS:
            data.pop(key, None)
    if "tactics" not in data and overrides and any(o.startswith("tactics.") for o in overrides):
        data["tactics"] = [{"type": "standard_patrol"}]
    # (override, the option it came from as the user wrote it): --set first, then options
    given = [(t, f"--set {t if t.isprintable() else repr(t)}") for t in overrides or []]
    given += (options or {}).items()
    labels: list[tuple[list[str], str]] = []  # each override's path and its errors' label
    for text, option in given:
        try:
            path, value = parse_override(text)
        except ScenarioError as exc:  # `--set steps`: name the file it was meant for, as run does
            raise ScenarioError(f"{source}: {exc}") from None
        option = option if option.isprintable() else repr(option)  # an error stays on one line
        label = f"{source} ({option})"
        try:  # before applying it: `--set tactics.crackdown.type=...` renames the item
            indexed = by_index(data, path)
        except ScenarioError:
            indexed = None  # no such item: apply_override says so, naming the option
        apply_override(data, path, value, label=label)
        labels.append((indexed if indexed is not None else by_index(data, path), label))
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        # A bad value that came from --set is blamed on the --set, not on the file.
        raise ScenarioError(
            format_validation_error(exc, lambda e: _blamed(e, labels, source), Scenario, data)
        ) from None


def strip_source(exc: ScenarioError, source: str) -> str:
    """An error's text without its leading file label (`source: `, `source (--set ...): `
    or another option's label), for callers that name the file and the field themselves."""
    text = str(exc)
    if text.startswith(f"{source} (") and "): " in text:
        return text.split("): ", 1)[1]
    return text.removeprefix(f"{source}: ")


def _blamed(error: dict[str, Any], labels: list[tuple[list[str], str]], source: str) -> str:
    """The label for an error (one of a ValidationError's): the last --set at or under the
    field in error (or setting part of an item, such as a tactic's type), else the file. A
    check across fields (CrossCheckError) blames a --set of the field it names, else of a
    field it reads (`--set steps=20` that leaves evaluation.intervention_day past the run);
    a check across a whole section or the whole scenario is not pinned on an override."""
    cause = error.get("ctx", {}).get("error")
    if isinstance(cause, CrossCheckError):
        fields = [[p for p in re.split(r"[.\[\]]", f) if p] for f in cause.fields]
    else:
        fields = [[str(part) for part in error["loc"]]]
    for loc in fields:
        hits = [
            label
            for path, label in labels
            if loc[: len(path)] == path
            or (len(loc) >= 2 and path[: len(loc)] == loc)
            # an unknown key the --set made, as deep as it goes (`--set bogus.x=3`)
            or (error["type"] == "extra_forbidden" and path[: len(loc)] == loc)
            # a new type for an item (a tactic): the item's other keys may not fit it
            or (len(path) >= 2 and path[-1] == "type" and loc[: len(path) - 1] == path[:-1])
        ]
        if hits:
            return hits[-1]
    return source


def defaults_digest() -> str:
    """A fingerprint of every parameter's default, the tactics' included: results made
    under other defaults (a recalibration, say) are another model's, even where the
    scenario files are the same."""
    # model_construct: a tactic's defaults alone need not make a valid tactic (a
    # partnership needs parts), but they are defaults all the same.
    tactics = {
        kind: config.model_construct().model_dump(mode="json") for kind, config in CONFIGS.items()
    }
    text = json.dumps([Scenario().model_dump(mode="json"), tactics], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def load_scenario(
    path: str | Path, overrides: list[str] | None = None, options: dict[str, str] | None = None
) -> Scenario:
    """Load, override and validate a scenario file. Raises ScenarioError on any problem."""
    data = read_yaml(path, takes="a scenario file, in YAML", kind="scenario")
    scenario = scenario_from_dict(data, source=str(path), overrides=overrides, options=options)
    if scenario.town.generator == "raster" and scenario.town.raster:
        try:
            raster = Path(scenario.town.raster)
            if not raster.is_absolute():
                raster = (Path(path).parent / raster).resolve()
        except (OSError, ValueError) as exc:
            raise ScenarioError(
                f"{path}: town.raster: bad value {scenario.town.raster!r}: not a usable path ({exc})"
            ) from None
        scenario.town.raster = str(raster)
    return scenario
