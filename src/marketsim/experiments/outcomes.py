"""Outcomes: the numbers an experiment keeps from each run.

A run's record is one flat mapping of `<region>.<metric>` to a float, read from
the run's summary (so the experiment layer never reaches into the model). The
region comes first so that reports can split on the first dot.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

REGIONS = ("all", "target", "buffer", "control")
# Daily series kept when an experiment asks for time series (the report's panels).
SERIES = (
    "net_harm",
    "violent_incidents",
    "visible_dealing",
    "open_sales",
    "sales",
    "acquisitive_crimes",
    "arrests",
    "users_in_treatment",
    "treatment_waiting",
)
# Harms are better lower; these traditional or service measures are read the other way.
HIGHER_IS_BETTER = frozenset({"treatment_entries", "users_in_treatment"})
TRADITIONAL = ("arrests", "seizures", "prosecutions", "test_purchases")
NEUTRAL = frozenset(
    {
        "sales",
        "open_sales",
        "closed_sales",
        "price",
        "active_dealers",
        "open_dealers",
        "closed_dealers",
        "user_dealers",
        "users",
        "dependent_users",
        "police_officer_days",
        "unmet_demand",
        "diversions",
        "treatment_waiting",
        "treatment_dropouts",
        "wdq",
        "violence_top20_share",
        *TRADITIONAL,
    }
)


def direction(metric: str) -> str:
    """'lower' or 'higher' is better for the community, or '' where neither reading holds."""
    if metric in HIGHER_IS_BETTER:
        return "higher"
    if metric in NEUTRAL or metric.startswith("cost."):
        return ""
    return "lower"


def summary_outcomes(summary: dict[str, Any]) -> dict[str, float]:
    """Flatten a run's summary.json into `<region>.<metric>` floats."""
    out: dict[str, float] = {}
    for region, totals in summary["totals_by_region"].items():
        for metric, value in totals.items():
            out[f"{region}.{metric}"] = _num(value)
    coc = summary["net_harm"]["cost_of_crime_gbp"]
    for region, value in coc["by_region"].items():
        out[f"{region}.net_harm_gbp"] = _num(value)
    for profile, block in summary["net_harm"].items():
        out[f"all.net_harm.{profile}"] = _num(block["total"])
    out["all.enforcement_harm_gbp"] = _num(coc["enforcement_caused"])
    for harm, row in summary["harm_by_type"].items():
        out[f"all.harm_gbp.{harm}"] = _num(row["weighted_cost_of_crime_gbp"])
    for domain, levels in summary["harm_matrix"]["cost_of_crime_gbp"].items():
        for level, value in levels.items():
            out[f"all.matrix.{domain}.{level}"] = _num(value)
    for item, value in summary["costs"].items():
        if not isinstance(value, dict):
            out[f"all.cost.{item}"] = _num(value)
    out["target.wdq"] = _num(summary["wdq"]["value"])
    out["all.violence_top20_share"] = _num(summary["violence_concentration"].get("top_20pct_share"))
    return out


def keep(record: dict[str, float], metrics: list[str] | None) -> dict[str, float]:
    """The chosen outcome columns (all when `metrics` is None)."""
    if metrics is None:
        return record
    return {m: record.get(m, math.nan) for m in metrics}


def binned_series(ts: pd.DataFrame, spec) -> pd.DataFrame:
    """Chosen columns per region, summed over bins of `spec.bin_days` days from `spec.start`.

    `step` is the first day of each bin; a last, incomplete bin is dropped.
    """
    frame = ts[ts.step >= spec.start]
    if spec.regions is not None:
        frame = frame[frame.region.isin(spec.regions)]
    frame = frame[["step", "region", *spec.columns]]
    if spec.bin_days == 1:
        return frame.reset_index(drop=True)
    days = ts.step.max() + 1 - spec.start
    full = (days // spec.bin_days) * spec.bin_days
    frame = frame[frame.step < spec.start + full].copy()
    frame["step"] = spec.start + (frame.step - spec.start) // spec.bin_days * spec.bin_days
    return frame.groupby(["step", "region"], sort=True, as_index=False)[list(spec.columns)].sum()


def _num(value: Any) -> float:
    if value is None:
        return math.nan
    return float(np.float64(value))


def split(column: str) -> tuple[str, str]:
    """'target.violent_incidents' -> ('target', 'violent_incidents')."""
    region, _, metric = column.partition(".")
    return region, metric
