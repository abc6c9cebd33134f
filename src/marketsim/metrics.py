"""Per-day region metrics, the weighted displacement quotient, and run summaries.

Phases add events to a per-cell tally (`DayTally`); at the end of a recorded day the
tally is summed over regions in a fixed order and zeroed for the next day in the same
call (kernels.region_sums). Counts are per day, not cumulative (design §8).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from marketsim import kernels
from marketsim.columns import COLUMNS, REGIONS
from marketsim.harms import (
    CAUSES,
    landuse_multipliers,
    load_profile,
)
from marketsim.scenario import Scenario
from marketsim.town import Town

# Tallied per cell during the day; price and net_harm are derived at day end.
TALLIED = (*(c for c in COLUMNS if c not in ("price", "net_harm")), "units_sold", "revenue")
TALLY_INDEX = {name: i for i, name in enumerate(TALLIED)}
# Where each timeseries column comes from, for Recorder.record.
_TALLIED_COLUMNS = np.array([j for j, c in enumerate(COLUMNS) if c in TALLY_INDEX])
_TALLIED_ROWS = np.array([TALLY_INDEX[c] for c in COLUMNS if c in TALLY_INDEX])
# For kernels.region_columns: the tally rows of units sold and takings, the price and
# net-harm columns, and the number of columns.
_COLUMN_PLAN = np.array(
    [
        TALLY_INDEX["units_sold"],
        TALLY_INDEX["revenue"],
        COLUMNS.index("price"),
        COLUMNS.index("net_harm"),
        len(COLUMNS),
    ]
)


def _row(metric: str) -> int:
    """The tally row of a metric; a column nobody declared cannot be written."""
    try:
        return TALLY_INDEX[metric]
    except KeyError:
        raise KeyError(
            f"{metric!r} is not a tallied column: declare it in marketsim.columns, or on "
            "the config class of the one tactic that writes it (TacticConfig.columns)"
        ) from None


def count_rows(columns: tuple[tuple[str, int], ...]) -> tuple[np.ndarray, np.ndarray]:
    """For `DayTally.add_count_rows`: the tally rows of (column, count row) pairs, and the
    count rows, as two index arrays."""
    return np.array([_row(c) for c, _ in columns]), np.array([k for _, k in columns])


class DayTally:
    """A (metric, cell) array of today's counts, reset every day.

    Adds are queued and applied together on first read, so a day's dozens of
    small adds cost one `np.add.at` (kernels.add_at).
    """

    def __init__(self, n_cells: int):
        self.n_cells = n_cells
        self._values = np.zeros((len(TALLIED), n_cells))
        self._ones = np.ones(n_cells)  # unit weights are views of this, not fresh arrays
        self._keys: list[np.ndarray] = []
        self._weights: list[np.ndarray] = []
        self._rows: list[int] = []  # each queued batch's metric row

    def add(self, metric: str, cells: np.ndarray | int, count: np.ndarray | float = 1.0) -> None:
        # Called ~30 times a day: the common case (a 1-d array, unit count) allocates nothing
        # but the keys.
        if type(cells) is int:  # one event (an arrest): its key array built directly
            row = _row(metric)
            n = 1
            self._keys.append(np.array([cells + row * self.n_cells]))
        else:
            if type(cells) is not np.ndarray or cells.ndim != 1:
                cells = np.atleast_1d(cells)
            n = cells.size
            if n == 0:
                return
            row = _row(metric)
            self._keys.append(cells + row * self.n_cells)
        self._rows.append(row)
        if type(count) is np.ndarray and count.ndim:
            self._weights.append(count)
        elif count == 1.0:
            if n > self._ones.size:
                self._ones = np.ones(2 * n)
            self._weights.append(self._ones[:n])
        else:
            self._weights.append(np.full(n, count, dtype=float))

    @property
    def values(self) -> np.ndarray:
        if self._keys:
            keys = np.concatenate(self._keys)
            weights = np.concatenate(self._weights)
            kernels.add_at(self._values.reshape(-1), keys, weights)  # np.add.at's adds
            self._keys.clear()
            self._weights.clear()
            self._rows.clear()
        return self._values

    @property
    def counts(self) -> np.ndarray:
        """The (metric, cell) array without applying the queued adds, for kernels that
        add to rows no queued add touches (whole-number counts, or rows only they add to)."""
        return self._values

    def total(self, metric: str) -> float:
        """Today's town-wide total of one metric, without binning the queue."""
        row = _row(metric)
        total = float(self._values[row].sum())
        for batch_row, weights in zip(self._rows, self._weights, strict=True):
            if batch_row == row:
                total += float(weights.sum())
        return total

    def add_counts(self, metric: str, per_cell: np.ndarray) -> None:
        """Add whole-number counts for every cell at once (exact whatever the order of adds)."""
        self._values[_row(metric)] += per_cell

    def add_count_rows(self, rows: np.ndarray, counts: np.ndarray, from_rows: np.ndarray) -> None:
        """Add whole-number counts per cell to several tally rows in one call: row
        `counts[from_rows[k]]` to tally row `rows[k]` (exact whatever the order of adds)."""
        kernels.add_rows(self._values, rows, counts, from_rows)

    def set_field(self, metric: str, per_cell: np.ndarray) -> None:
        """Set a whole row (a per-cell state such as exposure); queued adds still apply."""
        self._values[_row(metric)] = per_cell.ravel()

    def reset(self, zeroed: bool = False) -> None:
        """Empty the tally for the next day (`zeroed`: its values are zeros already)."""
        self._keys.clear()
        self._weights.clear()
        self._rows.clear()
        if not zeroed:
            self._values.fill(0.0)


class Recorder:
    """Collects each recorded day's region totals into one (days, regions, columns) array."""

    def __init__(self, town: Town, config: Scenario):
        self.town = town
        self.config = config  # the scenario in force (a shared state may take a new one at day 0)
        self.mult = landuse_multipliers(town.land_use, town.LAND_USES)
        profile = load_profile(config.harms.timeseries_profile)
        # Weighted harm per unit count in each cell, for the net_harm column.
        self.cell_weights = profile.weights[:, None] * self.mult
        self.rows: list[np.ndarray] = []
        self.regions: tuple[str, ...] = REGIONS
        self._matrix: np.ndarray | None = None
        self._members: tuple[np.ndarray, ...] | None = None

    def region_matrix(self) -> np.ndarray:
        """(cells, regions) indicator: the four regions, then any watched areas.

        Built on the first recorded day, from the scenario in force then (a run
        started from a shared state may have taken a new scenario at day 0).
        """
        if self._matrix is None:
            town = self.town
            watch = self.config.evaluation.watch
            masks = [town.watch_mask(spec, f"evaluation.watch.{n}") for n, spec in watch.items()]
            self.regions = (*REGIONS, *watch)
            self._matrix = np.column_stack([town.region_matrix, *masks]).astype(float)
        return self._matrix

    def region_members(self) -> tuple[np.ndarray, ...]:
        """The cells of each region, as kernels.region_sums takes them: region r's are
        `cells[start[r]:start[r + 1]]`, in cell order, and as runs of consecutive cells
        (kernels.region_runs): `start`, then the runs' `at`, `first` and `length`."""
        if self._members is None:
            regions, cells = np.nonzero(self.region_matrix().T)  # region by region
            start = np.searchsorted(regions, np.arange(len(self.regions) + 1))
            start, cells = start.astype(np.int64), cells.astype(np.int64)
            self._members = (start, *kernels.region_runs(start, cells))
        return self._members

    def record(self, tally: DayTally, harm_per_cell: np.ndarray) -> None:
        """Sum today's tally and weighted harm (per cell, timeseries profile) over regions,
        and reset the tally for the next day (its rows zeroed as they are summed)."""
        # The sums (kernels.region_sums), then the columns laid out region by region, and
        # the price (kernels.region_columns), in one call (kernels.region_rows).
        values = tally.values
        self.rows.append(
            kernels.region_rows(
                values,
                harm_per_cell,
                *self.region_members(),
                _TALLIED_ROWS,
                _TALLIED_COLUMNS,
                _COLUMN_PLAN,
            )
        )
        tally.reset(zeroed=True)

    def frame(self) -> pd.DataFrame:
        """timeseries.csv as a DataFrame: one row per (step, region)."""
        if not self.rows:
            return pd.DataFrame(columns=["step", "region", *COLUMNS])
        data = np.stack(self.rows)  # (days, regions, cols)
        days, nreg, ncol = data.shape
        df = pd.DataFrame(data.reshape(days * nreg, ncol), columns=list(COLUMNS))
        df.insert(0, "region", np.tile(np.array(self.regions), days))
        df.insert(0, "step", np.repeat(np.arange(days), nreg))
        count_cols = [
            c for c in COLUMNS if c not in ("price", "net_harm", "fear", "visible_dealing")
        ]
        df[count_cols] = df[count_cols].round(6)
        return df


def wdq(
    ts: pd.DataFrame,
    metric: str,
    intervention: int,
    before_days: int,
    after_days: int | None = None,
) -> float | None:
    """Weighted displacement quotient (Bowers & Johnson 2003).

    WDQ = (Db/Cb - Da/Ca) / (Rb/Cb - Ra/Ca), R target, D buffer, C control,
    b before and a after the intervention. > 0 diffusion of benefits;
    0 to -1 partial displacement; < -1 the benefit is more than erased.
    Returns None where it is undefined (no change in the target, or an empty control).
    """
    before = ts[(ts.step >= intervention - before_days) & (ts.step < intervention)]
    after = ts[ts.step >= intervention]
    if after_days is not None:
        after = after[after.step < intervention + after_days]
    if before.empty or after.empty:
        return None

    def total(frame: pd.DataFrame, region: str) -> float:
        return float(frame.loc[frame.region == region, metric].sum()) / max(1, frame.step.nunique())

    rb, ra = total(before, "target"), total(after, "target")
    db, da = total(before, "buffer"), total(after, "buffer")
    cb, ca = total(before, "control"), total(after, "control")
    if cb <= 0 or ca <= 0:
        return None
    denom = rb / cb - ra / ca
    if abs(denom) < 1e-12:
        return None
    value = (db / cb - da / ca) / denom
    return float(value) if math.isfinite(value) else None


def target_change(
    ts: pd.DataFrame, metric: str, intervention: int, before_days: int
) -> float | None:
    """Relative change of the target's share against control, (Ra/Ca) / (Rb/Cb) - 1.

    A WDQ is only worth reading when this is clearly away from 0; otherwise its
    denominator is noise and the quotient can take any value.
    """
    before = ts[(ts.step >= intervention - before_days) & (ts.step < intervention)]
    after = ts[ts.step >= intervention]
    if before.empty or after.empty:
        return None

    def share(frame: pd.DataFrame) -> float:
        c = float(frame.loc[frame.region == "control", metric].sum())
        return float(frame.loc[frame.region == "target", metric].sum()) / c if c > 0 else math.nan

    b, a = share(before), share(after)
    if not (math.isfinite(a) and math.isfinite(b)) or b == 0:
        return None
    return a / b - 1.0


def _mean_price(prices: pd.Series) -> float:
    """Mean daily price over days with sales (NaN when the region never had one)."""
    traded = prices.dropna()
    return float(traded.mean()) if len(traded) else float("nan")


MIN_TARGET_CHANGE = 0.05  # below this the WDQ's denominator is noise


def wdq_reading(value: float | None, change: float | None = None) -> str:
    if value is None:
        return "undefined (no change in the target)"
    if change is not None and abs(change) < MIN_TARGET_CHANGE:
        return f"not interpretable: the target changed by only {change:+.1%} against control"
    if value > 0:
        return "diffusion of benefits"
    if value >= -1:
        return "partial displacement"
    return "displacement larger than the direct effect"


def _enforcement_caused(
    by_cause: np.ndarray, profile, weighted_by_type: np.ndarray, counts: np.ndarray
) -> float:
    """Weighted harm whose cause is enforcement (arrests, prison, raids' fear...).

    Land-use multipliers are applied per type, so each type's enforcement share
    of its count is applied to its weighted total.
    """
    share = np.divide(
        by_cause[:, CAUSES.index("enforcement")],
        counts,
        out=np.zeros_like(counts),
        where=counts > 0,
    )
    return float((weighted_by_type * share).sum())
