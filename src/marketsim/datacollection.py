"""Mesa's own data-collection tools on a marketsim model.

`MarketModel.datacollector` is a Mesa `DataCollector` recording the headline
metrics of each recorded day (town-wide, as in timeseries.csv's "all" rows), so
`mesa.batch_run(MarketModel, {"scenario": [...]}, ...)` and
`model.datacollector.get_model_vars_dataframe()` work as in any Mesa model.

It is a view for Mesa users: marketsim's own outputs (timeseries.csv, the
experiment store) come from the model's recorder, which holds every column and
region. For sweeps, use `marketsim sweep` or `marketsim.sweep`: bit-identical
on any number of workers, resumable, and it keeps only summaries in memory
(batch_run keeps every row and sets the multiprocessing start method).
"""

from __future__ import annotations

from functools import partial

from mesa import DataCollector

from marketsim.columns import COLUMNS

HEADLINE = (
    "sales",
    "active_dealers",
    "violent_incidents",
    "acquisitive_crimes",
    "overdose_deaths",
    "arrests",
    "users_in_treatment",
    "net_harm",
)
_ALL = 0  # the town-wide row of each recorded day (REGIONS[0] is "all")
_INDEX = {column: j for j, column in enumerate(COLUMNS)}


def recorded_day(model) -> int:
    return model.day - 1


def today(model, column: str) -> float:
    """`column` on the day just recorded, town-wide."""
    return float(model.world.recorder.rows[-1][_ALL, _INDEX[column]])


def headline_collector() -> DataCollector:
    """A DataCollector of the day number and the headline metrics of the day just recorded.

    Module-level functions and partials, not lambdas: models are pickled (burnin.py).
    """
    reporters = {"day": recorded_day}
    reporters.update({column: partial(today, column=column) for column in HEADLINE})
    return DataCollector(model_reporters=reporters)
