"""Value for money: money spent against harm averted, paired by seed.

Used by `compare` (each scenario against the first) and `pilot` (the pilot
against the same town without it).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from marketsim.experiments.compare import t_interval

# Said in both reports where value for money appears: a pilot plan and a comparison of the
# operation_reduction scenario can read "saves money" and "costs more; adds harm" about
# the same tactic, because they measure different things.
PILOT_VERSUS_COMPARE = (
    "**A pilot and the main comparison answer different questions.** `marketsim compare` "
    "runs a scenario's tactic where the scenario puts it (operation_reduction: diversion over "
    "the whole built-up town, from day 90 to the end of the two recorded years) and counts "
    "spend and harm town-wide over the whole run. `marketsim pilot` runs the same tactic only "
    "in the pilot areas (experiments/pilot_diversion.yaml: two areas of radius 6 cells, 26 "
    "weeks) and counts spend and harm over the pilot and its follow-up. Different areas, "
    "windows and measures: a small pilot that saves money and a town-wide operation that "
    "costs more and adds harm do not contradict each other, and neither predicts the other."
)

# Harm-ledger entries that are public money (their cost-of-crime weights are unit costs);
# value for money counts them as spend, not as harm to the community.
SPEND_HARMS = ("officer_day", "treatment_place_day", "arrest", "prosecution", "prison_day")


def value_for_money(
    on: pd.DataFrame, off: pd.DataFrame, seed: int = 0, n_boot: int = 2000
) -> dict[str, Any]:
    """Money spent and community harm averted (cost-of-crime GBP), paired by replicate.

    Spend: officer-days, arrests, prosecutions, prison days, treatment and tactic
    spend (summary `costs.total_gbp`). Community harm: net harm less the ledger
    entries that are those same public costs (SPEND_HARMS), so nothing counts twice.
    The ratio is harm averted per GBP 1 of extra spend, with a bootstrap 95% interval.
    """
    spend_cols = [f"all.harm_gbp.{h}" for h in SPEND_HARMS]
    community_on = on["all.net_harm_gbp"] - on[spend_cols].sum(axis=1)
    community_off = off["all.net_harm_gbp"] - off[spend_cols].sum(axis=1)
    averted = (community_off - community_on).to_numpy(float)
    extra = (on["all.cost.total_gbp"] - off["all.cost.total_gbp"]).to_numpy(float)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(averted), size=(n_boot, len(averted)))
    boot_spend = extra[idx].mean(axis=1)
    boot_avert = averted[idx].mean(axis=1)
    out = {
        "extra_spend_gbp": t_interval(extra),
        "harm_averted_gbp": t_interval(averted),
        "averted": averted,
        "extra": extra,
        "ratio": None,
        "ratio_ci": None,
        "reading": "",
    }
    s_mean, s_lo, s_hi = out["extra_spend_gbp"]
    a_mean, a_lo, a_hi = out["harm_averted_gbp"]
    spend = "costs more" if s_lo > 0 else "saves money" if s_hi < 0 else "costs about the same"
    harm = "averts harm" if a_lo > 0 else "adds harm" if a_hi < 0 else "no clear change in harm"
    out["reading"] = f"{spend}; {harm}"
    if s_mean > 0 and np.all(boot_spend > 0):
        ratio = boot_avert / boot_spend
        out["ratio"] = a_mean / s_mean
        out["ratio_ci"] = (float(np.percentile(ratio, 2.5)), float(np.percentile(ratio, 97.5)))
        out["reading"] += (
            f"; GBP {out['ratio']:.2f} of harm averted per GBP 1 of extra spend "
            f"(95% interval {out['ratio_ci'][0]:.2f} to {out['ratio_ci'][1]:.2f})"
        )
    return out
