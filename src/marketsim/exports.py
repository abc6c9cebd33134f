"""The harm ledger, exported: `marketsim run --keep-events`.

Two files beside timeseries.csv:

- `harm_events.parquet`: every non-zero entry of the ledger on a recorded day,
  one row per (day, cell, harm type, cause), with the cell's x, y and land use;
  `count` is in the harm type's own unit (incidents, resident-days, ...).
- `harm_by_cell.csv`: the run's totals per cell: one row per (cell, harm type)
  with a non-zero count, the count, and the harm weighted in the run's
  timeseries profile (land-use multiplier included), so a map of where harm
  fell can be drawn from it, and its `weighted` column sums to the run's net harm.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from marketsim.harms import HARM_TYPES
from marketsim.scenario import LAND_USES

EVENTS_FILE = "harm_events.parquet"
BY_CELL_FILE = "harm_by_cell.csv"


def _cells(model, cell: np.ndarray) -> dict[str, np.ndarray]:
    town = model.town
    return {
        "x": town.cell_x[cell],
        "y": town.cell_y[cell],
        "land_use": np.array(LAND_USES)[town.land_use.ravel()[cell]],
    }


def harm_events(model) -> pd.DataFrame:
    """The ledger's event table with each cell's coordinates and land use."""
    events = model.ledger.events()
    cell = events["cell"].to_numpy(dtype=int)
    for i, (name, values) in enumerate(_cells(model, cell).items()):
        events.insert(2 + i, name, values)
    return events


def harm_by_cell(model) -> pd.DataFrame:
    """Recorded totals per (cell, harm type): count and weighted harm."""
    counts, _ = model.ledger.totals()  # (harm types, cells)
    weights = model.recorder.cell_weights  # timeseries profile x land-use multiplier
    h, cell = np.nonzero(counts)
    frame = pd.DataFrame({"cell": cell, **_cells(model, cell)})
    frame["harm"] = np.array([t.name for t in HARM_TYPES])[h]
    frame["count"] = counts[h, cell]
    frame["weighted"] = counts[h, cell] * weights[h, cell]
    return frame


def write_harm_exports(out: Path, model) -> list[Path]:
    """Write both files to `out`; returns their paths."""
    out.mkdir(parents=True, exist_ok=True)
    events, by_cell = out / EVENTS_FILE, out / BY_CELL_FILE
    harm_events(model).to_parquet(events, index=False)
    harm_by_cell(model).to_csv(by_cell, index=False, float_format="%.10g")
    return [events, by_cell]
