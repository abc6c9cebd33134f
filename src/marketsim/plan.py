"""The day's plan: the phases in order, one module each, each `run(world)`.

`PHASES` is the one plan that drives both `MarketModel.step` and
`benchmarks/bench_phases.py` (names as in ODD §7).
"""

from __future__ import annotations

from collections.abc import Callable

from marketsim.phases import (
    custody,
    dealers,
    deploy,
    enforcement,
    entry_exit,
    fields,
    initiation,
    record,
    tactics,
    trade,
    treatment,
    violence,
)
from marketsim.state import World

PHASES: tuple[tuple[str, Callable[[World], None]], ...] = (
    ("custody", custody.run),  # sentences and releases due today
    ("tactics", tactics.run),  # yesterday's violence logged; active tactics issue orders
    ("deploy", deploy.run),  # police units go out; presence and deterrence layers
    ("dealers", dealers.run),  # perceived risk, relocation, open/closed mode, price
    ("trade", trade.run),  # users buy, fund use, use, overdose
    ("violence", violence.run),  # turf and debt disputes
    ("enforcement", enforcement.run),  # detection and arrests; arrests for acquisitive crime
    ("treatment", treatment.run),  # seeking, admission, appointments, drop-out, completion
    ("entry_exit", entry_exit.run),  # entrants fill unmet demand; poor or scared dealers exit
    ("initiation", initiation.run),  # new users, progression, recovery and relapse
    ("fields", fields.run),  # reputation, litter, fear, void and unmet-demand layers
    ("record", record.run),  # harms and region metrics for the day
)
