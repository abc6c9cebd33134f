"""The columns of timeseries.csv (design §8), shared by the schema and the recorder.

Every run records the same columns, whatever its tactics, so runs of different
scenarios compare column by column and stack into one Parquet store: the core
columns below, and the columns each registered tactic declares on its config
class (`TacticConfig.columns`), which only that tactic writes and which stay at
zero in runs without it.
"""

from __future__ import annotations

from collections.abc import Mapping

from marketsim.tactics.schema import CONFIGS, TacticConfig

# The core columns, in order (design §8), after step and region; the tactics'
# own columns come between the two parts, after the enforcement counts.
CORE_BEFORE_TACTICS = (
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
    "new_users",
    "violent_incidents",
    "expected_violent_incidents",
    "homicides",
    "acquisitive_crimes",
    "overdoses",
    "overdose_deaths",
    "public_use",
    "litter",
    "visible_dealing",
    "fear",
    "arrests",
    "prosecutions",
    "prison_days",
    "seizures",
)
CORE_AFTER_TACTICS = (
    "users_in_treatment",
    "treatment_waiting",
    "treatment_entries",
    "treatment_dropouts",
    "missed_appointments",
    "police_officer_days",
    "unmet_demand",
    "net_harm",
)


def tactic_columns(configs: Mapping[str, type[TacticConfig]]) -> dict[str, str]:
    """Each column the tactics declare -> the tactic type that declares it, in registry order.

    A column belongs to one tactic: declaring a core column, or one another tactic
    declared, is an error.
    """
    owner: dict[str, str] = {}
    core = {*CORE_BEFORE_TACTICS, *CORE_AFTER_TACTICS}
    for kind, config in configs.items():
        for column in config.columns:
            if column in core or column in owner:
                taken = "a core column" if column in core else f"declared by {owner[column]!r}"
                raise ValueError(f"tactic {kind!r} declares column {column!r}, {taken}")
            owner[column] = kind
    return owner


# Column -> owning tactic type, for every registered tactic.
TACTIC_COLUMNS = tactic_columns(CONFIGS)

# Output columns of timeseries.csv, in order, after step and region.
COLUMNS = (*CORE_BEFORE_TACTICS, *TACTIC_COLUMNS, *CORE_AFTER_TACTICS)

# The regions every run records (design §8); scenarios may add watched areas.
REGIONS = ("all", "target", "buffer", "control")
