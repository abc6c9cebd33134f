"""Global sensitivity analysis with SALib: Sobol indices and Morris screening.

The pipeline is independent of the model: `analyse` takes a SALib problem, the
sample matrix and one outcome per sample row. `tests/test_sensitivity.py` runs
it on the Ishigami function, whose indices are known, to show it recovers them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from marketsim.experiments.plotting import subplots

MATTERS = 0.05  # a total-order index (or normalised mu*) above this "matters"


def analyse(
    method: str,
    problem: dict[str, Any],
    X: np.ndarray,
    Y: np.ndarray,
    second_order: bool = True,
    levels: int = 4,
    seed: int = 0,
) -> dict[str, pd.DataFrame]:
    """Sobol (S1, ST, S2 with 95% CIs) or Morris (mu, mu*, sigma) indices as tables."""
    Y = np.asarray(Y, dtype=float)
    if not np.all(np.isfinite(Y)):
        raise ValueError(f"{int((~np.isfinite(Y)).sum())} outcome values are missing or not finite")
    names = problem["names"]
    if method == "sobol":
        from SALib.analyze import sobol

        if np.ptp(Y) == 0:
            zeros = np.zeros(len(names))
            first = pd.DataFrame(
                {"parameter": names, "S1": zeros, "S1_conf": zeros, "ST": zeros, "ST_conf": zeros}
            )
            return {"indices": first, "second_order": pd.DataFrame()}
        res = sobol.analyze(problem, Y, calc_second_order=second_order, seed=seed)
        first = pd.DataFrame(
            {
                "parameter": names,
                "S1": res["S1"],
                "S1_conf": res["S1_conf"],
                "ST": res["ST"],
                "ST_conf": res["ST_conf"],
            }
        )
        pairs = []
        if second_order:
            for i in range(len(names)):
                for j in range(i + 1, len(names)):
                    pairs.append(
                        {
                            "parameter_1": names[i],
                            "parameter_2": names[j],
                            "S2": res["S2"][i, j],
                            "S2_conf": res["S2_conf"][i, j],
                        }
                    )
        return {"indices": first, "second_order": pd.DataFrame(pairs)}
    if method == "morris":
        from SALib.analyze import morris

        res = morris.analyze(problem, np.asarray(X, float), Y, num_levels=levels, seed=seed)
        table = pd.DataFrame(
            {
                "parameter": names,
                "mu": res["mu"],
                "mu_star": res["mu_star"],
                "mu_star_conf": res["mu_star_conf"],
                "sigma": res["sigma"],
            }
        )
        return {"indices": table}
    raise ValueError(f"method: bad value {method!r} (allowed: sobol, morris)")


def importance(method: str, table: pd.DataFrame) -> pd.Series:
    """One number per parameter on a 0-1 scale: ST for Sobol, mu* / max mu* for Morris."""
    if method == "sobol":
        return table.set_index("parameter")["ST"].clip(lower=0)
    mu = table.set_index("parameter")["mu_star"]
    top = mu.max()
    return mu / top if top > 0 else mu * 0


def plot_sobol(table: pd.DataFrame, outcome: str, path: Path) -> None:
    fig, ax = subplots(figsize=(8, 0.5 * len(table) + 1.8))
    y = np.arange(len(table))[::-1]
    ax.barh(
        y + 0.18,
        table.S1,
        0.36,
        xerr=table.S1_conf,
        label="first order (S1): alone",
        color="tab:blue",
        capsize=2,
    )
    ax.barh(
        y - 0.18,
        table.ST,
        0.36,
        xerr=table.ST_conf,
        label="total order (ST): alone and with others",
        color="tab:orange",
        capsize=2,
    )
    ax.set_yticks(y, table.parameter)
    ax.axvline(0, color="0.3", lw=1)
    ax.set_xlabel("share of the outcome's variance (bars: 95% confidence interval)")
    ax.set_title(f"Which parameters drive {outcome}? (Sobol indices)")
    ax.legend(fontsize=8)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def plot_morris(table: pd.DataFrame, outcome: str, path: Path) -> None:
    fig, ax = subplots(figsize=(7, 5.5))
    ax.errorbar(table.mu_star, table.sigma, xerr=table.mu_star_conf, fmt="o", capsize=2)
    for x, y, name in zip(table.mu_star, table.sigma, table.parameter, strict=True):
        ax.annotate(name, (x, y), xytext=(4, 3), textcoords="offset points", fontsize=8)
    top = float(max(table.mu_star.max(), table.sigma.max(), 1e-12))
    ax.plot([0, top], [0, top], ls="--", color="0.5", lw=1)
    ax.text(top, top, " sigma = mu*", fontsize=8, color="0.4", va="bottom", ha="right")
    ax.set_xlabel("mu*: mean absolute effect of a step in the parameter (outcome units)")
    ax.set_ylabel("sigma: how much that effect varies (interactions, non-linearity)")
    ax.set_title(f"Morris screening of {outcome}")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def plot_importance_map(matrix: pd.DataFrame, method: str, path: Path) -> None:
    fig, ax = subplots(figsize=(1.0 + 0.55 * matrix.shape[1], 1.5 + 0.4 * matrix.shape[0]))
    im = ax.imshow(matrix.to_numpy(float), cmap="Oranges", vmin=0, vmax=1, aspect="auto")
    ax.set_xticks(range(matrix.shape[1]), matrix.columns, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(matrix.shape[0]), matrix.index, fontsize=8)
    for (i, j), v in np.ndenumerate(matrix.to_numpy(float)):
        if np.isfinite(v) and v >= 0.1:
            ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=7)
    what = "total-order Sobol index" if method == "sobol" else "mu* relative to the largest"
    fig.colorbar(im, ax=ax, label=what, shrink=0.8)
    ax.set_title("Which parameters matter for which harm")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def mean_by_point(runs: pd.DataFrame, n_points: int, outcome: str) -> np.ndarray:
    """One value per design point: the mean over its replicates."""
    means = runs.groupby("point")[outcome].mean()
    return means.reindex(range(n_points)).to_numpy(float)


def write_sensitivity_report(
    out: Path,
    method: str,
    problem: dict[str, Any],
    X: np.ndarray,
    runs: pd.DataFrame,
    outcomes: list[str],
    meta: dict[str, Any],
) -> Path:
    """Index tables (CSV), plots and summary.md for the headline outcomes and every harm type."""
    img = out / "plots"
    tables = out / "indices"
    img.mkdir(parents=True, exist_ok=True)
    tables.mkdir(parents=True, exist_ok=True)
    n_points = X.shape[0]
    harm_cols = [c for c in runs.columns if c.startswith("all.harm_gbp.")]
    analysed = list(dict.fromkeys([*outcomes, *harm_cols]))
    importances, md_sections = {}, []
    for outcome in analysed:
        if outcome not in runs.columns:
            raise ValueError(
                f"outcomes.analyse: bad value {outcome!r}: not among the kept outcomes"
            )
        Y = mean_by_point(runs, n_points, outcome)
        res = analyse(
            method,
            problem,
            X,
            Y,
            meta.get("second_order", True),
            meta.get("levels", 4),
            seed=meta["seed"],
        )
        slug = outcome.replace(".", "_")
        res["indices"].to_csv(tables / f"{slug}.csv", index=False, float_format="%.6g")
        if method == "sobol" and not res["second_order"].empty:
            res["second_order"].to_csv(tables / f"{slug}_S2.csv", index=False, float_format="%.6g")
        importances[outcome] = importance(method, res["indices"])
        if outcome in outcomes:
            if method == "sobol":
                plot_sobol(res["indices"], outcome, img / f"{slug}.png")
            else:
                plot_morris(res["indices"], outcome, img / f"{slug}.png")
            md_sections += _outcome_section(method, outcome, slug, res, Y)
    matrix = pd.DataFrame(
        {
            k.removeprefix("all.harm_gbp."): v
            for k, v in importances.items()
            if k in harm_cols and np.isfinite(v).all()
        }
    )
    matrix = matrix.loc[:, matrix.max() > 0] if not matrix.empty else matrix
    if not matrix.empty:
        plot_importance_map(matrix, method, img / "harm_types.png")
    lines = [
        f"# Sensitivity analysis: {meta['name']}",
        "",
        meta.get("description", ""),
        "",
        f"Method: **{method}** over {len(problem['names'])} parameters, {n_points} design points "
        f"x {meta['replicates']} replicate seed(s) = {len(runs)} runs; outcomes are means over "
        "replicates. Parameter ranges:",
        "",
        "| parameter | low | high |",
        "|---|---|---|",
        *[
            f"| `{n}` | {lo:g} | {hi:g} |"
            for n, (lo, hi) in zip(problem["names"], meta["ranges"], strict=True)
        ],
        "",
        _matters_line(method, importances, outcomes[0]),
        "",
        *md_sections,
    ]
    if not matrix.empty:
        lines += [
            "## By harm type",
            "",
            "![importance by harm type](plots/harm_types.png)",
            "",
            "*What this shows:* for each harm in the ledger (columns), how much each parameter "
            "(rows) drives it. Tables for every harm type are in `indices/`.",
            "",
        ]
        for harm, col in matrix.items():
            top = col[col > MATTERS].sort_values(ascending=False)
            if not top.empty:
                lines.append(
                    f"- **{harm.replace('_', ' ')}**: "
                    + ", ".join(f"`{p}` ({v:.2f})" for p, v in top.items())
                )
        lines.append("")
    lines += ["## How to reproduce", "", "```", meta["command"], "```", ""]
    path = out / "summary.md"
    path.write_text("\n".join(lines))
    return path


def _matters_line(method: str, importances: dict[str, pd.Series], headline: str) -> str:
    imp = importances[headline].sort_values(ascending=False)
    top = imp[imp > MATTERS]
    what = "total-order index" if method == "sobol" else "mu* relative to the largest"
    if top.empty:
        return f"**No parameter matters much for {headline}** (none has a {what} above {MATTERS})."
    return (
        f"**Parameters that matter for {headline}** ({what} above {MATTERS}): "
        + ", ".join(f"`{p}` ({v:.2f})" for p, v in top.items())
        + "."
    )


def _outcome_section(method: str, outcome: str, slug: str, res: dict, Y: np.ndarray) -> list[str]:
    table = res["indices"]
    lines = [
        f"## {outcome}",
        "",
        f"Across the design, {outcome} ranged from {Y.min():,.4g} to "
        f"{Y.max():,.4g} (mean {Y.mean():,.4g}).",
        "",
        f"![{outcome}](plots/{slug}.png)",
        "",
    ]
    if method == "sobol":
        lines += [
            "*What this shows:* S1 is the share of the outcome's variance a parameter explains "
            "alone; ST adds its interactions with the others. A gap between them means the "
            "parameter matters through combinations.",
            "",
            "| parameter | S1 | 95% CI | ST | 95% CI |",
            "|---|---|---|---|---|",
            *[
                f"| `{r.parameter}` | {r.S1:.3f} | ±{r.S1_conf:.3f} | {r.ST:.3f} | ±{r.ST_conf:.3f} |"
                for r in table.itertuples()
            ],
        ]
        s2 = res["second_order"]
        if not s2.empty:
            big = s2[s2.S2 - s2.S2_conf > 0].sort_values("S2", ascending=False).head(5)
            if not big.empty:
                lines += [
                    "",
                    "Interactions whose S2 interval excludes zero: "
                    + ", ".join(
                        f"`{r.parameter_1}` x `{r.parameter_2}` ({r.S2:.3f})"
                        for r in big.itertuples()
                    ),
                ]
    else:
        lines += [
            "*What this shows:* mu* (right) is how much a step in the parameter moves the "
            "outcome on average; sigma (up) how much that depends on the other parameters. "
            "Parameters near the origin can be fixed at their defaults.",
            "",
            "| parameter | mu* | 95% CI | mu | sigma |",
            "|---|---|---|---|---|",
            *[
                f"| `{r.parameter}` | {r.mu_star:,.4g} | ±{r.mu_star_conf:,.3g} | {r.mu:,.4g} | {r.sigma:,.4g} |"
                for r in table.itertuples()
            ],
        ]
    return [*lines, ""]
