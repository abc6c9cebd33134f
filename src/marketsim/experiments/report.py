"""The comparison report: report.md with PNG plots, written for a policy audience.

Every plot has a plain title, units, and a short "what this shows" under it in
the markdown. Figures are means over paired seeds with 95% t-intervals.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import pandas as pd
from scipy import stats

from marketsim.citations import readable
from marketsim.experiments.compare import t_interval
from marketsim.experiments.plotting import label_quadrants, subplots
from marketsim.experiments.value import PILOT_VERSUS_COMPARE, value_for_money
from marketsim.harms import DOMAINS, LEVELS, harm_matrix_markdown

PROFILES = {
    "cost_of_crime_gbp": "cost of crime (GBP)",
    "crime_harm_index": "crime harm index",
    "residents": "residents' view",
    "public_health": "public health view",
    "enforcement": "enforcement view",
}
HEADLINE = (
    ("all.net_harm_gbp", "net harm (GBP m)", 1e-6),
    ("all.violent_incidents", "violent incidents", 1.0),
    # each dealer's daily chance summed: the same mean without the draws' luck (ODD 7.10)
    ("all.expected_violent_incidents", "violent incidents to expect", 1.0),
    ("all.visible_dealing", "visible dealing (m resident-days)", 1e-6),
    ("all.acquisitive_crimes", "acquisitive crimes", 1.0),
    ("all.arrests", "arrests", 1.0),
)
SERIES_PANELS = (
    ("visible_dealing", "Residents exposed to visible dealing (resident-days per day)"),
    ("violent_incidents", "Drug-market violent incidents per day"),
    ("net_harm", "Net harm per day (harm-weighted)"),
)
REGION_TITLES = {
    "target": "target area",
    "buffer": "buffer (where displacement would go)",
    "control": "rest of town (control)",
}


def _paired_pct(runs: pd.DataFrame, labels: list[str], column: str) -> pd.DataFrame:
    """Per scenario: % change against the first, paired by replicate, with a 95% CI."""
    first = runs[runs.label == labels[0]].set_index("replicate")[column]
    base = float(first.mean())
    rows = []
    for label in labels[1:]:
        sub = runs[runs.label == label].set_index("replicate")[column]
        common = sub.index.intersection(first.index)
        diff = (sub.loc[common] - first.loc[common]).to_numpy(float)
        mean, lo, hi = t_interval(diff)
        scale = 100.0 / base if base else np.nan
        rows.append({"scenario": label, "pct": mean * scale, "lo": lo * scale, "hi": hi * scale})
    return pd.DataFrame(rows)


def _fmt_interval(mean: float, lo: float, hi: float, digits: int = 1) -> str:
    if not np.isfinite(mean):
        return "n/a"
    if not np.isfinite(lo):
        return f"{mean:+,.{digits}f}"
    return f"{mean:+,.{digits}f} [{lo:+,.{digits}f}, {hi:+,.{digits}f}]"


def headline_table(runs: pd.DataFrame, labels: list[str]) -> str:
    """Markdown: each scenario's mean, and its paired difference from the first, with 95% CIs."""
    head = "| scenario | " + " | ".join(name for _, name, _ in HEADLINE) + " |"
    lines = [head, "|---" * (len(HEADLINE) + 1) + "|"]
    first = runs[runs.label == labels[0]].set_index("replicate")
    cells = []
    for column, _, scale in HEADLINE:
        cells.append(f"{first[column].mean() * scale:,.1f}")
    lines.append(f"| **{labels[0]}** (mean) | " + " | ".join(cells) + " |")
    for label in labels[1:]:
        sub = runs[runs.label == label].set_index("replicate")
        common = sub.index.intersection(first.index)
        cells = []
        for column, _, scale in HEADLINE:
            diff = (sub.loc[common, column] - first.loc[common, column]).to_numpy(float) * scale
            cells.append(_fmt_interval(*t_interval(diff)))
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def value_table(runs: pd.DataFrame, labels: list[str], seed: int) -> str:
    """Markdown: each scenario's extra spend and harm averted against the first, and their ratio."""
    first = runs[runs.label == labels[0]].set_index("replicate")
    lines = [
        "| scenario | extra spend, GBP m (95% CI) | harm averted, GBP m (95% CI) | value for money |",
        "|---|---|---|---|",
    ]
    for label in labels[1:]:
        sub = runs[runs.label == label].set_index("replicate")
        common = sub.index.intersection(first.index)
        v = value_for_money(sub.loc[common], first.loc[common], seed=seed)
        s, a = v["extra_spend_gbp"], v["harm_averted_gbp"]
        lines.append(
            f"| {label} | {_fmt_interval(*(x / 1e6 for x in s), digits=2)} | "
            f"{_fmt_interval(*(x / 1e6 for x in a), digits=2)} | {v['reading']} |"
        )
    return "\n".join(lines)


def plot_net_harm_profiles(runs: pd.DataFrame, labels: list[str], path: Path) -> None:
    fig, ax = subplots(figsize=(9, 0.45 * len(labels) + 1.8))
    n = len(PROFILES)
    colors = matplotlib.colormaps["tab10"](np.arange(n))
    ys = np.arange(len(labels) - 1)[::-1]
    for k, (profile, name) in enumerate(PROFILES.items()):
        t = _paired_pct(runs, labels, f"all.net_harm.{profile}")
        off = (k - (n - 1) / 2) * 0.14
        err = np.vstack([t.pct - t.lo, t.hi - t.pct])
        ax.errorbar(
            t.pct,
            ys + off,
            xerr=np.nan_to_num(err),
            fmt="o",
            ms=4,
            color=colors[k],
            capsize=2,
            lw=1,
            label=name,
        )
    ax.axvline(0, color="0.3", lw=1)
    ax.set_yticks(ys, labels[1:])
    ax.set_xlabel(f"change in net harm vs {labels[0]} (%), mean and 95% interval")
    ax.set_title("Net harm compared with the baseline, under each way of weighting harms")
    ax.legend(fontsize=8, loc="best", title="weight profile", title_fontsize=8)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def plot_harm_by_type(runs: pd.DataFrame, labels: list[str], path: Path, top: int = 8) -> None:
    cols = [c for c in runs.columns if c.startswith("all.harm_gbp.")]
    means = runs.groupby("label", sort=False)[cols].mean().reindex(labels) / 1e6
    order = means.mean().sort_values(ascending=False).index
    keep, rest = list(order[:top]), list(order[top:])
    data = means[keep].copy()
    data["other harms"] = means[rest].sum(axis=1)
    fig, ax = subplots(figsize=(9, 0.45 * len(labels) + 1.8))
    left = np.zeros(len(labels))
    colors = matplotlib.colormaps["tab20"](np.arange(data.shape[1]))
    ys = np.arange(len(labels))[::-1]
    for k, col in enumerate(data.columns):
        name = col.removeprefix("all.harm_gbp.").replace("_", " ")
        ax.barh(ys, data[col], left=left, color=colors[k], label=name, height=0.7)
        left += data[col].to_numpy()
    ax.set_yticks(ys, labels)
    ax.set_xlabel("harm over the run, GBP m (cost-of-crime weights), mean over seeds")
    ax.set_title("What the net harm is made of, by harm type")
    ax.legend(
        fontsize=7, ncol=3, loc="upper center", bbox_to_anchor=(0.5, -0.12 - 0.4 / len(labels))
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110, bbox_inches="tight")


def plot_series(
    series: pd.DataFrame,
    runs: pd.DataFrame,
    labels: list[str],
    metric: str,
    title: str,
    path: Path,
    window: int = 28,
) -> None:
    """Small multiples: a row per scenario, a column per region; the first scenario in grey."""
    label_of = runs.set_index("job")["label"]
    frame = series[series.region.isin(REGION_TITLES)].copy()
    frame["label"] = frame.job.map(label_of)
    mean = frame.groupby(["label", "region", "step"])[metric].mean()
    others = labels[1:]
    fig, axes = subplots(
        len(others),
        3,
        figsize=(12, 1.5 * len(others) + 1.2),
        sharex=True,
        sharey="col",
        squeeze=False,
    )
    for row, label in enumerate(others):
        for col, region in enumerate(REGION_TITLES):
            ax = axes[row][col]
            for name, color, lw in ((labels[0], "0.6", 1.2), (label, "tab:blue", 1.4)):
                if (name, region) in mean.index.droplevel("step"):
                    s = mean.loc[(name, region)].rolling(window, min_periods=1).mean()
                    ax.plot(s.index, s.to_numpy(), color=color, lw=lw)
            ax.grid(alpha=0.3)
            ax.tick_params(labelsize=7)
            if col == 0:
                ax.set_ylabel(label, fontsize=8, rotation=0, ha="right", va="center")
            if row == 0:
                ax.set_title(REGION_TITLES[region], fontsize=9)
    for ax in axes[-1]:
        ax.set_xlabel("day after burn-in", fontsize=8)
    fig.suptitle(
        f"{title}: {window}-day mean over seeds (blue: scenario; grey: {labels[0]})", fontsize=10
    )
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.45 / fig.get_figheight()))
    fig.savefig(path, dpi=90)


def plot_wdq(runs: pd.DataFrame, labels: list[str], path: Path) -> list[str]:
    rows = []
    for label in labels:
        vals = runs.loc[runs.label == label, "target.wdq"].to_numpy(float)
        vals = vals[np.isfinite(vals)]
        if vals.size:
            rows.append((label, float(np.median(vals)), *np.percentile(vals, [10, 90]), vals.size))
    if not rows:
        return []
    fig, ax = subplots(figsize=(8, 0.45 * len(rows) + 1.6))
    ys = np.arange(len(rows))[::-1]
    ax.axvspan(-1, 0, color="#f4c7a1", alpha=0.5, label="partial displacement (0 to -1)")
    ax.axvspan(
        0,
        max(2.0, max(r[3] for r in rows) + 0.2),
        color="#b9e0c0",
        alpha=0.5,
        label="diffusion of benefits (> 0)",
    )
    for y, (_, med, p10, p90, _) in zip(ys, rows, strict=True):
        ax.plot([p10, p90], [y, y], color="0.3", lw=1.5)
        ax.plot(med, y, "o", color="black")
    ax.set_yticks(ys, [r[0] for r in rows])
    ax.axvline(0, color="0.3", lw=1)
    ax.set_xlabel("weighted displacement quotient: median and 10th-90th percentile over seeds")
    ax.set_title("Displacement: did the benefit in the target spill over, or move next door?")
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return [f"| {r[0]} | {r[1]:+.2f} | {r[2]:+.2f} to {r[3]:+.2f} | {r[4]} |" for r in rows]


def traditional_vs_harm(runs: pd.DataFrame, labels: list[str], path: Path) -> tuple[str, float]:
    """Scatter of arrests-and-seizures change against net-harm change; returns the
    ranking table and Spearman's rho between the two rankings."""
    runs = runs.assign(_trad=runs["all.arrests"] + runs["all.seizures"])
    trad = _paired_pct(runs, labels, "_trad")
    harm = _paired_pct(runs, labels, "all.net_harm_gbp")
    fig, ax = subplots(figsize=(8, 6))
    ax.axhline(0, color="0.3", lw=1)
    ax.axvline(0, color="0.3", lw=1)
    ax.errorbar(
        trad.pct,
        harm.pct,
        yerr=np.nan_to_num(np.vstack([harm.pct - harm.lo, harm.hi - harm.pct])),
        fmt="o",
        color="tab:blue",
        capsize=2,
        lw=1,
    )
    for x, y, name in zip(trad.pct, harm.pct, trad.scenario, strict=True):
        ax.annotate(name, (x, y), xytext=(4, 3), textcoords="offset points", fontsize=8)
    ax.set_xlabel(f"arrests + seizures, change vs {labels[0]} (%)  - the traditional measure")
    ax.set_ylabel(f"net harm (cost of crime), change vs {labels[0]} (%)")
    ax.set_title("Do more arrests mean less harm?")
    label_quadrants(
        ax,
        (
            "more arrests, MORE harm",
            "fewer arrests, more harm",
            "more arrests, less harm",
            "fewer arrests, less harm",
        ),
    )
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    rank_trad = (-trad.pct).rank(method="min").astype(int)
    rank_harm = harm.pct.rank(method="min").astype(int)
    rho = float(stats.spearmanr(trad.pct, harm.pct).statistic) if len(trad) > 2 else np.nan
    lines = [
        "| scenario | arrests + seizures | rank (most first) | net harm | rank (least first) |",
        "|---|---|---|---|---|",
    ]
    for i in np.argsort(rank_harm.to_numpy(), kind="stable"):
        lines.append(
            f"| {trad.scenario[i]} | {trad.pct[i]:+.1f}% | {rank_trad[i]} | "
            f"{harm.pct[i]:+.1f}% | {rank_harm[i]} |"
        )
    return "\n".join(lines), rho


def robustness(runs: pd.DataFrame, labels: list[str]) -> tuple[str, str]:
    """Does the verdict on each scenario, and the ranking, survive a change of weights?

    A scenario's verdict under a profile is 'less' or 'more' harm than the first
    scenario when the paired 95% interval excludes zero, else 'unclear'.
    """
    verdicts, ranks = {}, {}
    for profile in PROFILES:
        t = _paired_pct(runs, labels, f"all.net_harm.{profile}").set_index("scenario")
        verdicts[profile] = np.where(t.hi < 0, "less", np.where(t.lo > 0, "more", "unclear"))
        ranks[profile] = t.pct.rank(method="min").astype(int)
    v = pd.DataFrame(verdicts, index=labels[1:])
    r = pd.DataFrame(ranks)
    always_less = [s for s in v.index if (v.loc[s] == "less").all()]
    always_more = [s for s in v.index if (v.loc[s] == "more").all()]
    flips = [s for s in v.index if {"less", "more"} <= set(v.loc[s])]
    best = {p: r[p].idxmin() for p in PROFILES}
    parts = []
    if always_less:
        parts.append(f"less harm than {labels[0]} under every profile: {', '.join(always_less)}")
    if always_more:
        parts.append(f"more harm under every profile: {', '.join(always_more)}")
    if flips:
        parts.append(f"better or worse depending on the weights: {', '.join(flips)}")
    rest = len(v) - len(always_less) - len(always_more) - len(flips)
    if rest:
        parts.append(f"{rest} scenario(s) not clearly different under at least one profile")
    robust = not flips and len(set(best.values())) == 1
    head = (
        "**The verdicts are robust to the choice of weights.**"
        if robust
        else "**The verdicts depend on how harms are weighted.**"
    )
    line = (
        f"{head} "
        + "; ".join(parts)
        + ". The lowest mean net harm is "
        + (
            f"{next(iter(best.values()))} under every profile."
            if len(set(best.values())) == 1
            else "; ".join(f"{best[p]} ({PROFILES[p]})" for p in PROFILES) + "."
        )
    )
    lines = [
        "| scenario | " + " | ".join(PROFILES.values()) + " |",
        "|---" * (len(PROFILES) + 1) + "|",
    ]
    for label in v.index:
        cells = [f"{v.loc[label, p]} (rank {r.loc[label, p]})" for p in PROFILES]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return line, "\n".join(lines)


def harm_matrices(runs: pd.DataFrame, labels: list[str]) -> str:
    parts = []
    for label in labels:
        sub = runs[runs.label == label]
        table = {
            d: {lv: float(sub[f"all.matrix.{d}.{lv}"].mean()) for lv in LEVELS} for d in DOMAINS
        }
        parts += [f"#### {label}", "", harm_matrix_markdown(table, "GBP, mean over seeds"), ""]
    return "\n".join(parts)


def write_comparison_report(
    out: Path, runs: pd.DataFrame, series: pd.DataFrame, labels: list[str], meta: dict[str, Any]
) -> Path:
    """Write report.md and its plots into `out`; returns the report's path."""
    img = out / "plots"
    img.mkdir(parents=True, exist_ok=True)
    n = meta["replicates"]
    first = labels[0]
    plot_net_harm_profiles(runs, labels, img / "net_harm_profiles.png")
    plot_harm_by_type(runs, labels, img / "harm_by_type.png")
    for metric, title in SERIES_PANELS:
        plot_series(series, runs, labels, metric, title, img / f"series_{metric}.png")
    wdq_rows = plot_wdq(runs, labels, img / "wdq.png")
    trad_table, rho = traditional_vs_harm(runs, labels, img / "traditional_vs_harm.png")
    robust_line, robust_table = robustness(runs, labels)

    md = [
        f"# Comparison: {', '.join(labels[1:4])}{' and others' if len(labels) > 4 else ''} against {first}",
        "",
        f"{len(labels)} scenarios, {n} paired seeds each ({meta['seed']} to {meta['seed'] + n - 1}), "
        f"{meta['days']} recorded days after a {meta['burn_in']}-day burn-in. Paired seeds mean each "
        "scenario ran in the same town with the same people and the same luck, so a difference "
        "is the tactic's doing, not chance in who lives where. Intervals are 95% t-intervals "
        "over seeds. Every number is in `comparison.csv`.",
        "",
        "## Headline: each scenario against the baseline",
        "",
        f"First row: the {first} mean over the run. Other rows: the paired difference from {first} "
        "(scenario minus baseline, same seed), mean and 95% interval. Negative is less.",
        "",
        headline_table(runs, labels),
        "",
        "## Value for money",
        "",
        "Extra money spent on enforcement (officer-days, arrests, prosecutions, prison days), "
        "tactic spending and treatment, against the harm averted (cost-of-crime weights, every "
        f"harm except those public costs, so nothing counts twice), both against {first} on "
        "the same seeds. The ratio's interval is a bootstrap over seeds. For comparison, the "
        "review reports Operation Reduction's claim of GBP 3 of crime costs saved per GBP 1 "
        "spent (UKDPC 2009, ch. 3), from before/after data on crime costs alone.",
        "",
        PILOT_VERSUS_COMPARE,
        "",
        value_table(runs, labels, meta["seed"]),
        "",
        "## Net harm under each way of weighting harms",
        "",
        "![net harm under each profile](plots/net_harm_profiles.png)",
        "",
        "*What this shows:* how much each scenario changes total harm compared with the baseline, "
        "when harms are weighted by their cost to society, by the Cambridge crime harm index, and "
        "by the priorities of residents, public health and enforcement (see `docs/harms.md`). "
        "A dot left of the line means less harm; an interval that crosses the line means the "
        "runs cannot tell the scenario from the baseline.",
        "",
        robust_line,
        "",
        f"Net harm against {first} under each profile (less / more: the 95% interval excludes "
        "no change; rank 1 = the largest fall):",
        "",
        robust_table,
        "",
        "## What the harm is made of",
        "",
        "![harm by type](plots/harm_by_type.png)",
        "",
        "*What this shows:* the net harm of each scenario split into the harms of the review's "
        "harm matrix, in pounds. Acquisitive crime by dependent users is usually the largest "
        "part; enforcement's own harms (arrests, prison days, children affected) are counted too.",
        "",
        "## Traditional measures against harm",
        "",
        "![arrests against harm](plots/traditional_vs_harm.png)",
        "",
        "*What this shows:* the traditional yardstick (arrests and seizures) against the harm "
        "the community suffers. Scenarios in the top right make more arrests *and* more harm: "
        "judged by arrests they look like successes. "
        + (
            f"Spearman's rank correlation between the two rankings is {rho:+.2f} "
            "(+1 would mean arrests rank scenarios exactly as harm does; 0 or below, that they "
            "tell you nothing or the opposite)."
            if np.isfinite(rho)
            else ""
        ),
        "",
        trad_table,
        "",
        "## Over time, in the target, the buffer and the rest of town",
        "",
    ]
    for metric, title in SERIES_PANELS:
        md += [f"![{title}](plots/series_{metric}.png)", ""]
    md += [
        "*What this shows:* daily values averaged over seeds (28-day rolling mean). A tactic that "
        "works in the target while the buffer rises has displaced harm rather than removed it.",
        "",
    ]
    if wdq_rows:
        md += [
            "## Displacement (WDQ)",
            "",
            "![WDQ](plots/wdq.png)",
            "",
            "*What this shows:* the weighted displacement quotient (Bowers & Johnson 2003) on "
            "visible dealing, before against after each tactic starts. Above 0: the buffer "
            "improved too (diffusion of benefits). 0 to -1: some displacement, smaller than "
            "the gain in the target. Below -1: displacement outweighed the gain.",
            "",
            "| scenario | median WDQ | 10th to 90th percentile | seeds with a WDQ |",
            "|---|---|---|---|",
            *wdq_rows,
            "",
        ]
    md += [
        "## Harm matrices (UKDPC 2009, Table 4.1 layout)",
        "",
        "Mean weighted harm over seeds, cost-of-crime weights, by domain and by who bears it.",
        "",
        harm_matrices(runs, labels),
        "## How to reproduce",
        "",
        "```",
        meta["command"],
        "```",
        "",
    ]
    path = out / "report.md"
    path.write_text(readable("\n".join(md)))
    return path


# The outcomes a sweep's table shows per point (the rest are in results.parquet).
KEY_OUTCOMES = (
    "all.net_harm_gbp",
    "all.violent_incidents",
    "all.acquisitive_crimes",
    "all.visible_dealing",
    "all.arrests",
)


def write_sweep_report(out: Path, exp, plan, runs: pd.DataFrame, command: str) -> Path:
    """sweep.csv (per point: parameters, then mean and 95% CI of key outcomes) and sweep.md."""
    params = [p.path for p in exp.spec.parameters]
    keys = [k for k in KEY_OUTCOMES if k in runs.columns] or [
        c for c in runs.columns if "." in c and not c.startswith("param:")
    ][:5]
    rows = []
    for point, sub in runs.groupby("point", sort=True):
        row = {"point": point, **plan.points[point]}
        for k in keys:
            mean, lo, hi = t_interval(sub[k].to_numpy(float))
            row.update({k: mean, f"{k}_ci_low": lo, f"{k}_ci_high": hi})
        rows.append(row)
    table = pd.DataFrame(rows)
    table.to_csv(out / "sweep.csv", index=False, float_format="%.6g")
    (out / "plots").mkdir(exist_ok=True)
    headline = keys[0]
    md = [
        f"# Sweep: {exp.name}",
        "",
        exp.spec.description,
        "",
        f"{len(plan.points)} points x {exp.spec.replicates} replicate seed(s); design "
        f"{exp.spec.design.method}. Means and 95% intervals per point are in `sweep.csv`; "
        "every run is in `results.parquet`.",
        "",
    ]
    numeric = [p for p in params if pd.api.types.is_numeric_dtype(table[p])]
    # Money in GBP m on the plots; counts as they are.
    scale, label = (1e6, f"{headline} (GBP m)") if "gbp" in headline else (1.0, headline)
    if len(numeric) == 2 and exp.spec.design.method == "factorial":
        a, b = numeric
        grid = table.pivot_table(index=a, columns=b, values=headline)
        values = grid.to_numpy(float) / scale
        fig, ax = subplots(figsize=(7, 5))
        im = ax.imshow(
            values,
            origin="lower",
            aspect="auto",
            cmap="viridis_r",
        )
        ax.set_xticks(range(grid.shape[1]), [f"{v:g}" for v in grid.columns])
        ax.set_yticks(range(grid.shape[0]), [f"{v:g}" for v in grid.index])
        ax.set_xlabel(b)
        ax.set_ylabel(a)
        for (i, j), v in np.ndenumerate(values):
            ax.text(j, i, f"{v:,.1f}", ha="center", va="center", fontsize=8, color="white")
        fig.colorbar(im, ax=ax, label=label)
        ax.set_title(f"{headline}: mean over seeds at each combination")
        fig.tight_layout()
        fig.savefig(out / "plots" / "sweep_grid.png", dpi=110)
        md += [
            "![grid](plots/sweep_grid.png)",
            "",
            f"*What this shows:* mean {headline} at each combination of `{a}` and `{b}`; "
            "lower (lighter) is less harm.",
            "",
        ]
    elif numeric:
        fig, axes = subplots(1, len(numeric), figsize=(4 * len(numeric), 3.6), squeeze=False)
        for ax, p in zip(axes[0], numeric, strict=True):
            ax.errorbar(
                table[p],
                table[headline] / scale,
                yerr=np.nan_to_num(
                    ((table[headline] - table[f"{headline}_ci_low"]) / scale).to_numpy()
                ),
                fmt="o",
                ms=3,
                alpha=0.7,
                capsize=1,
            )
            ax.set_xlabel(p)
            ax.grid(alpha=0.3)
        axes[0][0].set_ylabel(label)
        fig.suptitle(f"{headline} against each parameter")
        fig.tight_layout()
        fig.savefig(out / "plots" / "sweep_params.png", dpi=110)
        md += [
            "![by parameter](plots/sweep_params.png)",
            "",
            f"*What this shows:* mean {headline} at each design point against each varied "
            "parameter (bars: 95% intervals over seeds).",
            "",
        ]
    best = table.nsmallest(min(5, len(table)), headline)
    md += [
        f"Lowest {headline}:",
        "",
        "| " + " | ".join([*params, headline]) + " |",
        "|---" * (len(params) + 1) + "|",
    ]
    for _, r in best.iterrows():
        md.append(
            "| "
            + " | ".join(
                [
                    *(f"{r[p]}" for p in params),
                    f"{r[headline]:,.4g} [{r[f'{headline}_ci_low']:,.4g}, "
                    f"{r[f'{headline}_ci_high']:,.4g}]",
                ]
            )
            + " |"
        )
    md += ["", "## How to reproduce", "", "```", command, "```", ""]
    path = out / "sweep.md"
    path.write_text(readable("\n".join(md)))
    return path
