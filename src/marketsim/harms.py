"""The harm ledger: harm types with their matrix tags, weight profiles, net harm.

Every harm event is recorded with its day, cell, type, cause and count. Types
carry their level and domain in seed 001's harm matrix (Table 4.1), so reports
can be laid out as that matrix and enforcement-caused harm shown on its own.
Net harm = sum over events of weight[type] x count x land-use multiplier
(design §6). Weights live in data files, one per profile, with their sources.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import numpy as np
import yaml

from marketsim import kernels

LEVELS = ("individual", "family_peers", "local_community", "national")
DOMAINS = ("health", "social_structural", "economic", "environmental")
CAUSES = ("drug_use", "market", "enforcement", "treatment")
PROFILE_NAMES = (
    "cost_of_crime_gbp",
    "crime_harm_index",
    "residents",
    "public_health",
    "enforcement",
)


@dataclass(frozen=True)
class HarmType:
    name: str
    unit: str
    level: str
    domain: str
    cause: str  # default cause; events may override (fear from visible raids)
    label: str


HARM_TYPES: tuple[HarmType, ...] = (
    HarmType("homicide", "victims", "individual", "health", "market", "Homicide"),
    HarmType("serious_violence", "incidents", "individual", "health", "market", "Serious violence"),
    HarmType(
        "other_violence",
        "incidents",
        "local_community",
        "social_structural",
        "market",
        "Other violence",
    ),
    HarmType(
        "acquisitive_crime",
        "offences",
        "local_community",
        "economic",
        "drug_use",
        "Acquisitive crime",
    ),
    HarmType(
        "overdose_nonfatal", "events", "individual", "health", "drug_use", "Non-fatal overdose"
    ),
    HarmType("overdose_death", "deaths", "individual", "health", "drug_use", "Overdose death"),
    HarmType("initiation", "new users", "family_peers", "health", "market", "New initiations"),
    HarmType(
        "visible_dealing_exposure",
        "resident-days",
        "local_community",
        "social_structural",
        "market",
        "Exposure to visible dealing",
    ),
    HarmType(
        "public_use",
        "episodes",
        "local_community",
        "social_structural",
        "drug_use",
        "Public drug use",
    ),
    HarmType(
        "litter", "items", "local_community", "environmental", "drug_use", "Discarded paraphernalia"
    ),
    HarmType(
        "fear", "resident-days", "local_community", "social_structural", "market", "Residents' fear"
    ),
    HarmType(
        "runner_exploitation",
        "runner-days",
        "individual",
        "social_structural",
        "market",
        "Exploitation of young runners",
    ),
    HarmType("arrest", "arrests", "individual", "social_structural", "enforcement", "Arrests"),
    HarmType(
        "prosecution",
        "prosecutions",
        "individual",
        "social_structural",
        "enforcement",
        "Prosecutions",
    ),
    HarmType(
        "prison_day", "person-days", "individual", "social_structural", "enforcement", "Prison days"
    ),
    HarmType(
        "children_affected",
        "children",
        "family_peers",
        "social_structural",
        "enforcement",
        "Children affected by arrest",
    ),
    HarmType(
        "missed_treatment",
        "appointments",
        "individual",
        "health",
        "enforcement",
        "Missed treatment",
    ),
    HarmType(
        "treatment_place_day",
        "place-days",
        "national",
        "economic",
        "treatment",
        "Treatment place-days",
    ),
    HarmType("officer_day", "officer-days", "national", "economic", "enforcement", "Officer-days"),
)
HARM_INDEX = {h.name: i for i, h in enumerate(HARM_TYPES)}
CAUSE_INDEX = {c: i for i, c in enumerate(CAUSES)}
N_HARMS = len(HARM_TYPES)


@dataclass(frozen=True)
class WeightProfile:
    name: str
    label: str
    unit: str
    description: str
    weights: np.ndarray  # one per harm type, in HARM_TYPES order
    sources: dict[str, str]


@cache
def load_profile(name: str) -> WeightProfile:
    """Read one weight profile from the package data."""
    if name not in PROFILE_NAMES:
        raise ValueError(f"unknown weight profile {name!r}; allowed: {', '.join(PROFILE_NAMES)}")
    text = resources.files("marketsim.data.weights").joinpath(f"{name}.yaml").read_text("utf-8")
    data = yaml.safe_load(text)
    raw = data["weights"]
    missing = [h.name for h in HARM_TYPES if h.name not in raw]
    if missing:
        raise ValueError(f"weight profile {name} lacks: {', '.join(missing)}")
    weights = np.array([float(raw[h.name]["value"]) for h in HARM_TYPES])
    sources = {h.name: str(raw[h.name]["source"]) for h in HARM_TYPES}
    return WeightProfile(
        name, data["label"], data["unit"], data.get("description", ""), weights, sources
    )


def all_profiles() -> list[WeightProfile]:
    return [load_profile(n) for n in PROFILE_NAMES]


@cache
def _landuse_table() -> dict[str, Any]:
    text = resources.files("marketsim.data").joinpath("landuse_multipliers.yaml").read_text("utf-8")
    return yaml.safe_load(text)


def landuse_multipliers(land_use: np.ndarray, land_use_names: tuple[str, ...]) -> np.ndarray:
    """(N_HARMS, n_cells) multipliers: where a harm happens changes its weight (seed 001 ch. 4)."""
    table = _landuse_table()
    per_use = np.array([float(table["multipliers"][name]) for name in land_use_names])
    mult = np.ones((N_HARMS, land_use.size))
    for name in table["applies_to"]:
        mult[HARM_INDEX[name]] = per_use[land_use.ravel()]
    return mult


def ledger_rows(entries: tuple[tuple[str, str | None, int], ...]) -> tuple[np.ndarray, np.ndarray]:
    """For `HarmLedger.add_rows`: the ledger rows of (harm, cause, per-cell row) entries
    (cause None: the harm's own), and the per-cell rows, as two index arrays."""
    rows = [
        HARM_INDEX[h] * len(CAUSES) + CAUSE_INDEX[c or HARM_TYPES[HARM_INDEX[h]].cause]
        for h, c, _ in entries
    ]
    return np.array(rows), np.array([k for _, _, k in entries])


class HarmLedger:
    """Harm counts by cell, type and cause: today's tallies and the run's running totals.

    During a day, phases call `add()`; `close_day()` adds the day to the totals.
    The per-day array is reused, so an add costs one `np.add.at` (kernels.add_at) and no
    allocation.
    The event table (day, cell, harm, cause) is kept only when `keep_events` is
    set: tests and audits read it, but sweeps need only the totals, and archiving
    every day's non-zero cells costs a tenth of a run.
    """

    def __init__(self, n_cells: int, keep_events: bool = False):
        self.n_cells = n_cells
        self.keep_events = keep_events
        self.today = np.zeros((N_HARMS, len(CAUSES), n_cells))
        self._touched = np.zeros((N_HARMS, len(CAUSES)), dtype=bool)  # (type, cause) booked today
        self._by_cell = np.zeros((N_HARMS, n_cells))
        self._by_cause = np.zeros((N_HARMS, len(CAUSES)))
        # The day's counts by type (close_day), in one buffer for recorded days and one
        # for burn-in's, each with the types it holds counts of (kernels.close_harm_day).
        self._last_day = np.zeros((N_HARMS, n_cells))
        self._last_booked = np.zeros(N_HARMS, dtype=bool)
        self._unrecorded = np.zeros((N_HARMS, n_cells))
        self._unrecorded_booked = np.zeros(N_HARMS, dtype=bool)
        self.booked_types = self._last_booked  # the types booked on the day last closed
        self._days: list[np.ndarray] = []
        self._cells: list[np.ndarray] = []
        self._types: list[np.ndarray] = []
        self._causes: list[np.ndarray] = []
        self._counts: list[np.ndarray] = []

    def add(
        self,
        harm: str,
        cells: np.ndarray | int,
        count: np.ndarray | float = 1.0,
        cause: str | None = None,
    ) -> None:
        h = HARM_INDEX[harm]
        c = CAUSE_INDEX[cause or HARM_TYPES[h].cause]
        many = type(cells) is np.ndarray and cells.ndim == 1
        if many and cells.size == 0:
            return
        self._touched[h, c] = True
        if type(cells) is int:  # one event (an arrest, a death): no index array to build
            self.today[h, c, cells] += count
        elif many and cells.size > 32:
            w = count if type(count) is np.ndarray and count.ndim else None
            binned = np.bincount(cells, weights=w, minlength=self.n_cells)
            self.today[h, c] += binned if w is not None else binned * count
        elif not many:
            np.add.at(self.today[h, c], cells, count)
        elif type(count) is not np.ndarray:  # np.add.at's adds, one at a time in order
            kernels.add_count_at(self.today[h, c], cells, float(count))
        elif count.shape == cells.shape:
            kernels.add_at(self.today[h, c], cells, count)
        else:
            np.add.at(self.today[h, c], cells, count)

    def add_field(self, harm: str, per_cell: np.ndarray, cause: str | None = None) -> None:
        """Add a whole per-cell array at once (resident-days of exposure or fear)."""
        h = HARM_INDEX[harm]
        c = CAUSE_INDEX[cause or HARM_TYPES[h].cause]
        self._touched[h, c] = True
        self.today[h, c] += per_cell.ravel()

    def add_rows(self, rows: np.ndarray, per_cell: np.ndarray, from_rows: np.ndarray) -> None:
        """Add several per-cell arrays in one call, as `add_field` would one after another:
        `per_cell[from_rows[k]]` to ledger row `rows[k]`, a (type, cause) pair (`ledger_rows`)."""
        self._touched.reshape(-1)[rows] = True
        kernels.add_rows(self.today.reshape(-1, self.n_cells), rows, per_cell, from_rows)

    def flat_rows(self) -> tuple[np.ndarray, np.ndarray]:
        """For kernels that book whole rows as `add_rows` does: today's counts as
        (type x cause, cell) rows and the (type, cause) pairs booked, flat; views, to
        add into in place (a kernel marks each row it adds to)."""
        return self.today.reshape(-1, self.n_cells), self._touched.reshape(-1)

    def close_day(self, day: int, record: bool) -> np.ndarray:
        """End the day: returns the (N_HARMS, n_cells) counts, adding them to the totals if
        recorded. The array is the ledger's buffer, rewritten when the next day closes
        (`recorded_day` gives a copy); `booked_types` marks the types booked."""
        by_type, booked = self._day_buffer(day, record)
        kernels.close_harm_day(
            self.today, self._touched, self._by_cause, self._by_cell, record, by_type, booked
        )  # zeroes today's rows
        return by_type

    def close_day_weighted(
        self, day: int, record: bool, weights: np.ndarray, heat: np.ndarray
    ) -> np.ndarray:
        """`close_day`, then the day's harm weighted per cell (`weights` x counts, summed
        over types) and the recent-harm map `heat` (x 0.97, plus 0.03 x today's), in place
        (kernels.close_and_weigh). Returns the weighted harm per cell."""
        by_type, booked = self._day_buffer(day, record)
        return kernels.close_and_weigh(
            self.today,
            self._touched,
            self._by_cause,
            self._by_cell,
            record,
            by_type,
            booked,
            weights,
            heat,
            0.97,
            0.03,
        )

    def _day_buffer(self, day: int, record: bool) -> tuple[np.ndarray, np.ndarray]:
        """Archive the day's events if kept, and pick the buffer the day closes into (one
        for recorded days, one for burn-in's) with the types it holds."""
        if record and self.keep_events:
            hs, cs = np.nonzero(self._touched)  # in (type, cause) order
            if hs.size:
                self._archive(day, hs, cs, self.today[hs, cs])
        if record:
            by_type, booked = self._last_day, self._last_booked
        else:
            by_type, booked = self._unrecorded, self._unrecorded_booked
        self.booked_types = booked
        return by_type, booked

    def _archive(self, day: int, hs: np.ndarray, cs: np.ndarray, slab: np.ndarray) -> None:
        row, cell = np.nonzero(slab)
        self._days.append(np.full(cell.size, day, dtype=np.int32))
        self._types.append(hs[row].astype(np.int16))
        self._causes.append(cs[row].astype(np.int8))
        self._cells.append(cell.astype(np.int32))
        self._counts.append(slab[row, cell])

    def recorded_day(self) -> np.ndarray:
        """The (N_HARMS, n_cells) counts of the latest recorded day."""
        return self._last_day.copy()

    def events(self):
        """The ledger as a pandas DataFrame: day, cell, harm, cause, count (needs keep_events)."""
        import pandas as pd

        if not self.keep_events:
            raise RuntimeError("the event table was not kept: set keep_events before the run")
        if not self._days:
            return pd.DataFrame(columns=["day", "cell", "harm", "cause", "count"])
        types = np.concatenate(self._types)
        causes = np.concatenate(self._causes)
        return pd.DataFrame(
            {
                "day": np.concatenate(self._days),
                "cell": np.concatenate(self._cells),
                "harm": np.array([h.name for h in HARM_TYPES])[types],
                "cause": np.array(CAUSES)[causes],
                "count": np.concatenate(self._counts),
            }
        )

    def totals(self) -> tuple[np.ndarray, np.ndarray]:
        """Recorded totals: (N_HARMS, n_cells) counts and (N_HARMS, len(CAUSES)) by cause."""
        return self._by_cell.copy(), self._by_cause.copy()


def weighted(counts_by_cell: np.ndarray, profile: WeightProfile, mult: np.ndarray) -> np.ndarray:
    """Per-type weighted harm: weight x count x land-use multiplier, summed over cells."""
    return profile.weights * (counts_by_cell * mult).sum(axis=1)


def harm_matrix(weighted_by_type: np.ndarray) -> dict[str, dict[str, float]]:
    """Seed 001 Table 4.1 layout: domain rows by level columns, weighted harm in each."""
    table = {d: dict.fromkeys(LEVELS, 0.0) for d in DOMAINS}
    for h, value in zip(HARM_TYPES, weighted_by_type, strict=True):
        table[h.domain][h.level] += float(value)
    return table


def harm_matrix_markdown(table: dict[str, dict[str, float]], unit: str) -> str:
    header = "| domain | " + " | ".join(level.replace("_", " ") for level in LEVELS) + " |"
    rule = "|---" * (len(LEVELS) + 1) + "|"
    rows = [
        f"| {d.replace('_', '/')} | "
        + " | ".join(f"{table[d][level]:,.0f}" for level in LEVELS)
        + " |"
        for d in DOMAINS
    ]
    return "\n".join(
        [f"Weighted harm ({unit}), laid out as seed 001 Table 4.1", "", header, rule, *rows]
    )
