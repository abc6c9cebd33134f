"""The report of an emulator sensitivity analysis: tables, plots and summary.md.

For each analysed outcome: the run-to-run noise the replicates measured, how well
the emulator predicts held-out design points (in plain words), the Sobol indices
of the mean response with 95% intervals, and main-effect plots with bands. An
outcome whose emulator is poor gets its check and no indices: they would be read
as findings.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from marketsim.experiments.emulator import (
    FOLDS,
    GOOD_Q2,
    OUTSIDE_2SD,
    USABLE_Q2,
    Check,
    cross_validate,
    emulator_indices,
    fit_emulator,
    main_effects,
)
from marketsim.experiments.plotting import subplots
from marketsim.experiments.sensitivity import (
    MATTERS,
    Noise,
    mean_by_point,
    ranges_table,
    replicate_noise,
    replicate_sentence,
    reproduce,
)


def verdict_of(table: pd.DataFrame) -> pd.Series:
    """Per parameter: matters (ST's 95% interval above MATTERS), no (below it) or unclear."""
    return pd.Series(
        np.where(table.ST_low > MATTERS, "yes", np.where(table.ST_high < MATTERS, "no", "unclear")),
        index=table.index,
    )


def analyse_outcome(
    problem: dict[str, Any], X: np.ndarray, Y: np.ndarray, noise: Noise, seed: int
) -> tuple[pd.DataFrame, Check, dict[str, pd.DataFrame]]:
    """Fit and check one outcome's emulator; indices and main effects unless it is poor
    (then the table holds blanks: no index of a poor emulator is a finding)."""
    em = fit_emulator(X, Y, problem["bounds"], seed)
    check = cross_validate(em, X, Y, noise.of_mean, seed)
    if check.verdict == "poor":
        cols = ("S1", "S1_low", "S1_high", "ST", "ST_low", "ST_high")
        table = pd.DataFrame({"parameter": problem["names"], **{c: np.nan for c in cols}})
        table["matters"] = "not estimated"
        effects = {}
    else:
        table = emulator_indices(em, problem, seed)
        table["matters"] = verdict_of(table)
        effects = main_effects(em, problem, seed)
    table["emulator"] = check.verdict
    return table, check, effects


def write_emulator_report(
    out: Path,
    problem: dict[str, Any],
    X: np.ndarray,
    runs: pd.DataFrame,
    outcomes: list[str],
    meta: dict[str, Any],
) -> Path:
    """indices/<outcome>.csv, plots/ and summary.md for each analysed outcome."""
    img, tables = out / "plots", out / "indices"
    img.mkdir(parents=True, exist_ok=True)
    tables.mkdir(parents=True, exist_ok=True)
    runs = runs[runs["point"] >= 0]
    n_points = X.shape[0]
    sections, headline = [], ""
    for k, outcome in enumerate(outcomes):
        if outcome not in runs.columns:
            raise ValueError(
                f"outcomes.analyse: bad value {outcome!r}: not among the kept outcomes"
            )
        Y = mean_by_point(runs, n_points, outcome)
        noise = replicate_noise(runs, outcome)
        if noise is None:
            raise ValueError("replicates: bad value 1: the emulator design needs at least 2")
        slug = outcome.replace(".", "_")
        if np.ptp(Y) == 0:
            sections += [f"## {outcome}", "", f"{outcome} is {Y[0]:,.4g} at every point.", ""]
            continue
        table, check, effects = analyse_outcome(problem, X, Y, noise, meta["seed"])
        table.assign(q2=check.q2, q2_mean=check.q2_mean, outside_2sd=check.outside_2sd).to_csv(
            tables / f"{slug}.csv", index=False, float_format="%.6g"
        )
        trusted = check.verdict != "poor"
        if effects:
            pd.concat(effects, names=["parameter", "row"]).reset_index(level=0).to_csv(
                tables / f"{slug}_main_effects.csv", index=False, float_format="%.6g"
            )
        if trusted:
            plot_indices(table, outcome, img / f"{slug}.png")
            plot_main_effects(effects, X, Y, problem["names"], outcome, img / f"{slug}_main.png")
        if k == 0:
            headline = _headline(outcome, table, check)
        sections += _section(outcome, slug, Y, noise, table, check, n_points)
    lines = [
        f"# Sensitivity analysis: {meta['name']}",
        "",
        meta.get("description", ""),
        "",
        f"Method: **Gaussian-process emulator** over {len(problem['names'])} parameters: "
        f"{n_points} space-filling design points (Latin hypercube) x {meta['replicates']} "
        f"replicate seeds = {len(runs)} runs. Replicate r runs on the same seed at every point "
        "(common random numbers), and each outcome is averaged over the replicates at each "
        "point. An emulator (a Gaussian process with a noise term) is fitted to these means; "
        "its smooth part is the *mean response*, what the outcome would be averaged over "
        "infinitely many seeds. Sobol indices are those of the mean response: the share of "
        "its variance each parameter explains alone (S1) and with its interactions (ST). "
        "Their 95% intervals come from 200 posterior draws of the emulator on 4 independent "
        "Saltelli designs, so they cover the emulator's own uncertainty and Monte Carlo "
        "error. A parameter *matters* when the lower end of its ST interval is above "
        f"{MATTERS}, does not when the upper end is below it, and is *unclear* otherwise. "
        "Parameter ranges:",
        "",
        *ranges_table(problem["names"], meta["ranges"]),
        "",
        headline,
        "",
        *sections,
        *reproduce(meta["command"]),
    ]
    path = out / "summary.md"
    path.write_text("\n".join(lines))
    return path


def check_sentence(check: Check, n_points: int) -> str:
    """How good the emulator is, in plain words, from its cross-validation."""
    words = {
        "good": "**The emulator is good**",
        "usable": "**The emulator is usable but rough**",
        "poor": "**The emulator is poor**",
    }[check.verdict]
    if not np.isfinite(check.q2_mean):
        q2 = (
            "the point means vary no more than their own noise, so there is no mean response "
            "for it to learn"
        )
    elif check.q2_mean >= 1:
        q2 = (
            "its errors at design points it was not fitted to are no larger than the noise "
            f"left in the point means (Q2 of the noisy point means {check.q2:.2f}, about the "
            "most that noise allows)"
        )
    else:
        q2 = (
            f"it predicts {max(check.q2_mean, 0):.0%} of the variation of the mean response "
            f"at design points it was not fitted to (Q2 {check.q2_mean:.2f}; Q2 of the noisy "
            f"point means themselves {check.q2:.2f})"
        )
    text = (
        f"{words}: cross-validated on the {n_points} design points (each predicted by the "
        f"emulator fitted to the others, in {FOLDS} folds), {q2}. Its standardised held-out "
        f"errors have SD {check.sd_std_error:.2f} and {check.outside_2sd:.0%} lie beyond +-2 "
        "(about 1 and 5% when its stated uncertainty is honest)."
    )
    if check.verdict == "poor":
        if not np.isfinite(check.q2_mean):
            reason = ""
        elif check.q2_mean < USABLE_Q2:
            reason = f" (Q2 of the mean response below {USABLE_Q2}.)"
        else:
            reason = f" (More than {OUTSIDE_2SD:.0%} of errors beyond +-2: it is overconfident.)"
        text += (
            f"{reason} Its indices are not reported as findings: either no parameter moves "
            "this outcome's mean by more than the noise hides, or more design points or "
            "replicates are needed to see which does."
        )
    elif check.verdict == "usable":
        text += (
            f" (Q2 between {USABLE_Q2} and {GOOD_Q2}: the indices' intervals include the "
            "emulator's error, so read them as they are, wide.)"
        )
    return text


def _headline(outcome: str, table: pd.DataFrame, check: Check) -> str:
    if check.verdict == "poor":
        return (
            f"**The emulator of {outcome} is poor**, so no parameter can be named as driving "
            "its mean response (see below)."
        )
    ordered = table.sort_values("ST", ascending=False)
    yes = ordered[ordered.matters == "yes"]
    unclear = ordered[ordered.matters == "unclear"]
    if yes.empty:
        line = f"**No parameter clearly matters for the mean of {outcome}.**"
    else:
        line = (
            f"**Parameters that matter for the mean of {outcome}** (total-order index, 95% interval): "
            + ", ".join(
                f"`{r.parameter}` ({r.ST:.2f}, {r.ST_low:.2f}-{r.ST_high:.2f})"
                for r in yes.itertuples()
            )
            + "."
        )
    if not unclear.empty:
        line += (
            " Unclear (interval straddles "
            f"{MATTERS}): " + ", ".join(f"`{p}`" for p in unclear.parameter) + "."
        )
    return line


def _section(
    outcome: str,
    slug: str,
    Y: np.ndarray,
    noise: Noise,
    table: pd.DataFrame,
    check: Check,
    n_points: int,
) -> list[str]:
    lines = [
        f"## {outcome}",
        "",
        f"Across the design, the point means of {outcome} ranged from {Y.min():,.4g} to "
        f"{Y.max():,.4g} (mean {Y.mean():,.4g}).",
        "",
        replicate_sentence(noise, Y),
        "",
        check_sentence(check, n_points),
        "",
    ]
    if check.verdict == "poor":
        return lines
    lines += [
        f"![{outcome}: Sobol indices](plots/{slug}.png)",
        "",
        "| parameter | S1 | 95% interval | ST | 95% interval | matters |",
        "|---|---|---|---|---|---|",
        *[
            f"| `{r.parameter}` | {r.S1:.3f} | {r.S1_low:.3f} to {r.S1_high:.3f} | {r.ST:.3f} | "
            f"{r.ST_low:.3f} to {r.ST_high:.3f} | {r.matters} |"
            for r in table.itertuples()
        ],
        "",
        f"![{outcome}: main effects](plots/{slug}_main.png)",
        "",
        "*What this shows:* the emulated mean response to each parameter, averaged over the "
        "others, with its 95% band; grey dots are the design's point means (each over the "
        "replicates, so scattered by noise and by the other parameters).",
        "",
    ]
    return lines


def plot_indices(table: pd.DataFrame, outcome: str, path: Path) -> None:
    fig, ax = subplots(figsize=(8, 0.5 * len(table) + 1.8))
    y = np.arange(len(table))[::-1]
    for name, shift, colour, label in (
        ("S1", 0.18, "tab:blue", "first order (S1): alone"),
        ("ST", -0.18, "tab:orange", "total order (ST): alone and with others"),
    ):
        values = table[name].to_numpy(float)
        err = np.vstack([values - table[f"{name}_low"], table[f"{name}_high"] - values])
        ax.barh(y + shift, values, 0.36, xerr=err.clip(min=0), color=colour, capsize=2, label=label)
    ax.set_yticks(y, table.parameter)
    ax.axvline(0, color="0.3", lw=1)
    ax.axvline(MATTERS, color="0.5", ls=":", lw=1, label=f"{MATTERS}: matters above")
    ax.set_xlabel("share of the mean response's variance (bars: 95% interval)")
    ax.set_title(f"Drivers of the mean of {outcome} (emulator)")
    ax.legend(fontsize=8)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def plot_main_effects(
    effects: dict[str, pd.DataFrame],
    X: np.ndarray,
    Y: np.ndarray,
    names: list[str],
    outcome: str,
    path: Path,
) -> None:
    cols = min(3, len(names))
    rows = -(-len(names) // cols)
    fig, axes = subplots(rows, cols, figsize=(4.2 * cols, 3.2 * rows), squeeze=False, sharey=True)
    for i, name in enumerate(names):
        ax = axes.flat[i]
        e = effects[name]
        ax.scatter(X[:, i], Y, s=8, color="0.7", zorder=1)
        ax.fill_between(e.value, e.low, e.high, color="tab:blue", alpha=0.25, zorder=2)
        ax.plot(e.value, e["mean"], color="tab:blue", zorder=3)
        ax.set_xlabel(name, fontsize=8)
        ax.grid(alpha=0.3)
    for ax in axes.flat[len(names) :]:
        ax.set_visible(False)
    for ax in axes[:, 0]:
        ax.set_ylabel(f"mean {outcome}", fontsize=8)
    fig.suptitle(f"Main effects on the mean of {outcome} (band: 95% over emulator draws)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
