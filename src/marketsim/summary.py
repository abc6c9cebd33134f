"""summary.json: a finished run's totals, harms, net harm, WDQ and costs.

Reads the world after its last day (state.py), so it sits above the phases.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from marketsim.agents import dealer as D
from marketsim.agents import user as U
from marketsim.columns import COLUMNS
from marketsim.harms import CAUSES, HARM_TYPES, PROFILE_NAMES, harm_matrix, load_profile, weighted
from marketsim.metrics import _enforcement_caused, _mean_price, target_change, wdq, wdq_reading
from marketsim.state import World


def intervention_day(world: World) -> int | None:
    """The before/after split: as configured, else the first tactic's start (None: no tactic)."""
    sc = world.config
    if sc.evaluation.intervention_day is not None:
        return sc.evaluation.intervention_day
    starts = [t.config.start for t in world.tactics if t.config.type != "standard_patrol"]
    return min(starts) if starts else None


def summarize(world: World, ts: pd.DataFrame) -> dict[str, Any]:
    """summary.json: totals by region, harms by type and matrix cell, net harm
    under every profile, WDQ, traditional metrics beside harm metrics, costs."""
    sc = world.config
    by_cell, by_cause = world.ledger.totals()
    mult = world.recorder.mult
    counts = by_cell.sum(axis=1)
    totals = {
        region: {
            col: (_mean_price(g[col]) if col == "price" else float(g[col].sum())) for col in COLUMNS
        }
        for region, g in ts.groupby("region", sort=False)
    }
    harm_by_type = {
        h.name: {
            "count": float(counts[i]),
            "unit": h.unit,
            "level": h.level,
            "domain": h.domain,
            "by_cause": {c: float(by_cause[i, j]) for j, c in enumerate(CAUSES) if by_cause[i, j]},
        }
        for i, h in enumerate(HARM_TYPES)
    }
    net_harm: dict[str, Any] = {}
    matrices: dict[str, Any] = {}
    region_masks = world.town.region_masks
    for name in PROFILE_NAMES:
        profile = load_profile(name)
        w = weighted(by_cell, profile, mult)
        by_region = {
            r: float((profile.weights[:, None] * (by_cell * mult))[:, mask].sum())
            for r, mask in region_masks.items()
        }
        net_harm[name] = {
            "label": profile.label,
            "unit": profile.unit,
            "total": float(w.sum()),
            "by_region": by_region,
            "by_type": {h.name: float(w[i]) for i, h in enumerate(HARM_TYPES)},
            "enforcement_caused": _enforcement_caused(by_cause, profile, w, counts),
        }
        matrices[name] = harm_matrix(w)
        for i, h in enumerate(HARM_TYPES):
            harm_by_type[h.name][f"weighted_{name}"] = float(w[i])
    day = intervention_day(world)
    metric = sc.evaluation.wdq_metric
    if day is None:
        wdq_value = change = None
    else:
        wdq_value = wdq(ts, metric, day, sc.evaluation.before_days)
        change = target_change(ts, metric, day, sc.evaluation.before_days)
    cost = load_profile("cost_of_crime_gbp")
    cost_idx = {h.name: i for i, h in enumerate(HARM_TYPES)}

    def spend(name: str) -> float:
        return float(counts[cost_idx[name]] * cost.weights[cost_idx[name]])

    costs = {
        "officer_days_gbp": spend("officer_day"),
        "arrests_gbp": spend("arrest"),
        "prosecutions_gbp": spend("prosecution"),
        "prison_days_gbp": spend("prison_day"),
        "treatment_gbp": spend("treatment_place_day"),
    }
    unit_costs = {
        "officer_days": float(cost.weights[cost_idx["officer_day"]]),
        "arrests": float(cost.weights[cost_idx["arrest"]]),
        "prosecutions": float(cost.weights[cost_idx["prosecution"]]),
        "prison_days": float(cost.weights[cost_idx["prison_day"]]),
        "treatment_place_days": float(cost.weights[cost_idx["treatment_place_day"]]),
    }
    by_tactic = world.accounts.summary(unit_costs)
    costs["tactic_spend_gbp"] = sum(sum(a["spend_gbp"].values()) for a in by_tactic.values())
    costs["enforcement_total_gbp"] = sum(
        v for k, v in costs.items() if k.endswith("_gbp") and k != "treatment_gbp"
    )
    costs["total_gbp"] = costs["enforcement_total_gbp"] + costs["treatment_gbp"]
    costs["by_tactic"] = by_tactic
    allr = totals.get("all", {})
    return {
        "scenario": sc.name,
        "seed": sc.seed,
        "steps": sc.steps,
        "burn_in": sc.burn_in,
        "town": {  # who lives there: the denominator for any per-resident rate
            "residents": int(world.town.residents.sum()),
            "width_cells": int(world.town.width),
            "height_cells": int(world.town.height),
        },
        "totals_by_region": totals,
        "harm_by_type": harm_by_type,
        "harm_matrix": matrices,
        "net_harm": net_harm,
        "wdq": {
            "metric": metric,
            "intervention_day": day,
            "before_days": sc.evaluation.before_days,
            "value": wdq_value,
            "target_change": change,
            "reading": (
                "no intervention to evaluate (set evaluation.intervention_day to split the run)"
                if day is None
                else wdq_reading(wdq_value, change)
            ),
        },
        "traditional_metrics": {
            "arrests": allr.get("arrests", 0.0),
            "seizures": allr.get("seizures", 0.0),
            "prosecutions": allr.get("prosecutions", 0.0),
            "test_purchases": allr.get("test_purchases", 0.0),
        },
        "harm_metrics": {
            "net_harm_cost_of_crime_gbp": net_harm["cost_of_crime_gbp"]["total"],
            "violent_incidents": allr.get("violent_incidents", 0.0),
            "homicides": allr.get("homicides", 0.0),
            "overdose_deaths": allr.get("overdose_deaths", 0.0),
            "acquisitive_crimes": allr.get("acquisitive_crimes", 0.0),
            "visible_dealing": allr.get("visible_dealing", 0.0),
        },
        "costs": costs,
        "violence_concentration": violence_concentration(world),
        "tactics": {t.name: {"type": t.config.type, **t.report(world)} for t in world.tactics},
        "final_state": census(world),
    }


def violence_concentration(world: World) -> dict[str, Any]:
    """Share of recorded violent incidents caused by the most violent 10% and 20% of dealers."""
    # Dealers who were active in the market at some time during the recorded period.
    d = world.dealers
    counts = np.sort(d.view("violence_total")[d.view("days_active") > 0])[::-1]
    total = counts.sum()
    n = max(1, counts.size)
    out: dict[str, Any] = {"incidents": int(total), "dealers": int(n)}
    for q in (0.1, 0.2):
        k = max(1, int(round(q * n)))
        out[f"top_{int(q * 100)}pct_share"] = float(counts[:k].sum() / total) if total else None
    return out


def census(world: World) -> dict[str, Any]:
    """Every agent accounted for in exactly one state."""
    d, u = world.dealers, world.users
    return {
        "dealers": {
            name: int((d.view("state") == i).sum()) for i, name in enumerate(D.STATE_NAMES)
        },
        "users": {name: int((u.view("state") == i).sum()) for i, name in enumerate(U.STATE_NAMES)},
        "treatment": {
            name: int((u.view("treatment") == i).sum()) for i, name in enumerate(U.TREATMENT_NAMES)
        },
        "police_units": world.police.n_units,
    }
