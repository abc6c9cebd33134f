"""What `marketsim calibrate` writes once its last wave is run.

particles.csv   every parameter set of every wave: values, distance, kept, weight,
                and each pattern's figure and distance
accepted.csv    the accepted sets (any wave, every pattern met), weighted, with figures
posterior.csv   per parameter: prior, posterior quantiles, pinned down or left free
best.yaml       the calibration's scenario with the closest set, ready to run
plots/          posterior.png (each parameter), patterns.png (each pattern's figure
                per set against its target)
calibration.md  the report
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from marketsim.experiments import abc, signal
from marketsim.experiments.calibrate import (
    Calibration,
    LoadedCalibration,
    Posterior,
    SearchResult,
    best_scenario,
    best_set,
    distances,
    posterior,
)
from marketsim.experiments.plotting import subplots


def particle_table(cal: LoadedCalibration, result: SearchResult) -> pd.DataFrame:
    rows = []
    for wave, values, figures in zip(result.waves, result.values, result.figures, strict=True):
        for i, (point, figs) in enumerate(zip(values, figures, strict=True)):
            each = distances(cal.spec.patterns, figs)[1]
            rows.append(
                {
                    "wave": wave.index,
                    "set": i,
                    **point,
                    "distance": wave.distance[i],
                    "kept": bool(wave.kept[i]),
                    "weight": wave.weight[i],
                    **{f"figure:{name}": v for name, v in figs.items()},
                    **{
                        f"distance:{p.name}": d
                        for p, d in zip(cal.spec.patterns, each, strict=True)
                    },
                }
            )
    return pd.DataFrame(rows)


def posterior_table(spec: Calibration, result: SearchResult) -> pd.DataFrame:
    """Weighted 5/50/95% quantiles per parameter; 'pinned down' when the 90% interval is
    narrower than `search.pinned` of the prior range (on the prior's own scale)."""
    post = posterior(result)
    w = post.weight
    rows = []
    for p in spec.parameters:
        x = post.values(result, p.path)
        q05, q50, q95 = abc.weighted_quantiles(x, w, [0.05, 0.5, 0.95])
        lo, hi = p.range
        if p.scale == "log":
            share = (math.log(q95) - math.log(q05)) / (math.log(hi) - math.log(lo))
        else:
            share = (q95 - q05) / (hi - lo)
        rows.append(
            {
                "parameter": p.path,
                "prior_low": lo,
                "prior_high": hi,
                "scale": p.scale,
                "posterior_mean": float(w @ x),
                "q05": q05,
                "median": q50,
                "q95": q95,
                "width_share": share,
                "verdict": _verdict(post, share, spec.search.pinned),
            }
        )
    return pd.DataFrame(rows)


MIN_SETS = 10  # fewer accepted sets than this give no verdict: their quantiles mean little


def _verdict(post: Posterior, share: float, pinned: float) -> str:
    if not post.met:
        return "no set fits"
    if len(post.sets) < MIN_SETS:
        return f"too few sets (< {MIN_SETS})"
    return "pinned down" if share < pinned else "left free"


def plot_posterior(cal: LoadedCalibration, result: SearchResult, path: Path) -> None:
    post = posterior(result)
    w = post.weight
    k, i = best_set(result)
    best = result.values[k][i]
    params = cal.spec.parameters
    fig, axes = subplots(1, len(params), figsize=(3.2 * len(params), 2.8), squeeze=False)
    for ax, p in zip(axes[0], params, strict=True):
        x = post.values(result, p.path)
        lo, hi = p.range
        bins = np.geomspace(lo, hi, 13) if p.scale == "log" else np.linspace(lo, hi, 13)
        ax.hist(x, bins=bins, weights=w, color="tab:blue", alpha=0.7, label="posterior")
        ax.axhline(1 / 12, color="0.5", ls="--", lw=1, label="prior")
        ax.axvline(float(best[p.path]), color="tab:red", lw=1.5, label="best set")
        if p.scale == "log":
            ax.set_xscale("log")
        ax.set_xlim(lo, hi)
        ax.set_title(p.path, fontsize=9)
        ax.set_ylabel("weight")
    axes[0][0].legend(fontsize=7)
    fig.suptitle(f"{cal.spec.name}: where the patterns put each parameter", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def plot_patterns(cal: LoadedCalibration, result: SearchResult, path: Path) -> None:
    post = posterior(result)
    figures = result.figures[-1]
    k, i = best_set(result)
    best = result.figures[k][i]
    pats = cal.spec.patterns
    fig, axes = subplots(len(pats), 1, figsize=(7, 0.9 + 0.7 * len(pats)), squeeze=False)
    for ax, p in zip(axes[:, 0], pats, strict=True):
        every = [figures[i][p.name] for i in range(len(figures))]
        chosen = post.figures(result, p.name)
        ax.plot(every, np.zeros(len(every)), "|", color="0.6", ms=10, label="last wave")
        ax.plot(chosen, np.zeros(len(chosen)), "|", color="tab:blue", ms=14, label="posterior")
        ax.plot([best[p.name]], [0], "v", color="tab:red", label="best set")
        if p.target is not None:
            ax.axvspan(p.target - p.tolerance, p.target + p.tolerance, color="tab:green", alpha=0.2)
            ax.axvline(p.target, color="tab:green")
        else:
            lo, hi = p.interval
            left, right = ax.get_xlim()
            ax.axvspan(
                left if lo is None else lo,
                right if hi is None else hi,
                color="tab:green",
                alpha=0.2,
            )
        ax.set_yticks([])
        ax.set_ylabel(p.name, rotation=0, ha="right", fontsize=8)
    axes[0, 0].legend(fontsize=7, loc="upper right")
    fig.suptitle("Each pattern: model figures (ticks) against the target (green)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def write_calibration_report(
    out: Path,
    cal: LoadedCalibration,
    result: SearchResult,
    command: str,
    log: Callable[[str], None] | None = None,
) -> Path:
    (out / "plots").mkdir(parents=True, exist_ok=True)
    particles = particle_table(cal, result)
    particles.to_csv(out / "particles.csv", index=False, float_format="%.6g")
    post = posterior(result)
    keyed = particles.set_index(["wave", "set"])
    accepted = keyed.loc[post.sets].reset_index().drop(columns=["weight", "kept"])
    accepted.insert(2, "posterior_weight", post.weight)
    if not post.met:
        accepted = accepted.iloc[:0]
    accepted.to_csv(out / "accepted.csv", index=False, float_format="%.6g")
    table = posterior_table(cal.spec, result)
    table.to_csv(out / "posterior.csv", index=False, float_format="%.6g")
    best_k, best_i = best_set(result)
    point = result.values[best_k][best_i]
    scenario = best_scenario(cal, point)
    (out / "best.yaml").write_text(
        f"# Best set of calibration {cal.spec.name!r} ({cal.source}); {command}\n"
        + yaml.safe_dump(scenario, sort_keys=False)
    )
    plot_posterior(cal, result, out / "plots" / "posterior.png")
    plot_patterns(cal, result, out / "plots" / "patterns.png")
    met_any = post.met
    spec = cal.spec
    n_runs = sum(len(v) for v in result.values) * spec.replicates * len(cal.runs)
    lines = [
        f"# Calibration: {spec.name}",
        "",
        spec.description.strip(),
        "",
        f"ABC-SMC in {len(result.waves)} wave(s) of {spec.search.population} parameter sets, "
        f"{spec.replicates} seed(s) each ({spec.seed} on), over {len(cal.runs)} scenario(s) "
        f"({', '.join(cal.runs)}): {n_runs} runs. A set's distance is its largest pattern "
        "distance; at most 1 means every pattern is met.",
        "",
        f"**{len(accepted)} of the {len(particles)} sets meet every pattern** (the accepted "
        "sets; the posterior pools them over the waves by importance weight)."
        if met_any
        else "**No set meets every pattern**: the posterior below is the "
        "closest sets the last wave kept; read it as where the model comes nearest, not as "
        "a fit. More waves, a larger population, or a model change may be needed.",
        "",
        _weights_line(result),
        "",
        "## Parameters",
        "",
        "![posterior](plots/posterior.png)",
        "",
        "| parameter | prior | posterior median [90% interval] | verdict |",
        "| --- | --- | --- | --- |",
    ]
    for row in table.itertuples(index=False):
        lines.append(
            f"| `{row.parameter}` | {row.prior_low:g} to {row.prior_high:g} ({row.scale}) | "
            f"{row.median:.4g} [{row.q05:.4g}, {row.q95:.4g}] | {row.verdict} |"
        )
    lines += [
        "",
        f"A parameter is *pinned down* when its 90% posterior interval covers less than "
        f"{spec.search.pinned:.0%} of its prior range; otherwise the patterns leave it free "
        f"(much of its range fits as well). With fewer than {MIN_SETS} accepted sets there is "
        "no verdict, and with a few dozen the quantiles are rough.",
        "",
        "## Patterns",
        "",
        "![patterns](plots/patterns.png)",
        "",
        "| pattern | scenario | statistic | wanted | best set | posterior range | source |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for p in spec.patterns:
        col = post.figures(result, p.name)
        what = p.measure if p.statistic == "measure" else f"{p.statistic} {p.region}.{p.metric}"
        pair = p.scenario + (f" vs {p.against}" if p.against else "")
        lines.append(
            f"| {p.name} | {pair if p.statistic != 'measure' else '(validation.py)'} | {what} | "
            f"{p.wanted()} | {result.figures[best_k][best_i][p.name]:.4g} | "
            f"{np.nanmin(col):.4g} to {np.nanmax(col):.4g} | {' '.join(p.source.split())} |"
        )
    section, warning = _signal_section(spec, result)
    lines += ["", *section]
    if log and warning:
        log(
            f"warning: {warning} at {spec.replicates} seed(s) a set; see 'Which patterns "
            f"tell the sets apart' in {out / 'calibration.md'}"
        )
    lines += [
        "",
        "## Best set",
        "",
        f"Wave {best_k + 1}, set {best_i}, distance {result.waves[best_k].distance[best_i]:.3g}; written to `best.yaml`:",
        "",
        *[f"- `{k}` = {_fmt(v)}" for k, v in point.items()],
        "",
        "## Files",
        "",
        "`particles.csv` (every set of every wave), `accepted.csv`, `posterior.csv`, "
        "`best.yaml`, `wave-<k>/` (each wave's runs, resumable).",
        "",
        "## Reproduce",
        "",
        "```bash",
        command,
        "```",
        "",
    ]
    path = out / "calibration.md"
    path.write_text("\n".join(lines))
    return path


def _weights_line(result: SearchResult) -> str:
    """Each wave's effective number of kept sets, with a warning when the last wave's
    weights rest on fewer than MIN_SETS of them (its quantiles are then those few values)."""
    each = [abc.effective_sample_size(w.weight) for w in result.waves]
    kept = [int(w.kept.sum()) for w in result.waves]
    line = (
        "Effective number of sets behind each wave's weights (Kish's 1/sum(w^2), of the sets "
        f"kept): {', '.join(f'{e:.1f} of {k}' for e, k in zip(each, kept, strict=True))}."
    )
    if each and each[-1] < MIN_SETS:
        line += (
            f" **The last wave's weights rest on about {each[-1]:.0f} set(s)**, so the "
            "quantiles below are those few sets' values, not a spread: use more sets a wave, "
            "or more seeds a set so that distances rank sets less by luck."
        )
    return line


def _signal_section(spec: Calibration, result: SearchResult) -> tuple[list[str], str | None]:
    """Which patterns the sets can be ranked on, and which patterns set the distances: the
    report's lines, and the warning when luck-only patterns rule most sets (or None)."""
    unit = np.vstack([w.unit for w in result.waves])
    figs = [f for wave in result.figures for f in wave]
    dist = np.array([distances(spec.patterns, f)[1] for f in figs])
    ruling = signal.governing(dist)
    q2 = [
        signal.explained_share(unit, np.array([f[p.name] for f in figs]), spec.seed)
        for p in spec.patterns
    ]
    lines = [
        "## Which patterns tell the sets apart",
        "",
        f"Q2: the share of the spread of a pattern's figure across all {len(figs)} sets that "
        "the parameters predict out of sample (5-fold cross-validated R² of a quadratic "
        f"ridge fit; `experiments/signal.py`). Below {signal.SIGNAL:g} the spread is mostly "
        f"luck at {spec.replicates} seed(s) a set, so a ranking by it is too. *Sets it "
        "rules*: the sets whose distance is this pattern's (their worst miss).",
        "",
        "| pattern | Q2 | reading | sets meeting it | sets it rules |",
        "| --- | --- | --- | --- | --- |",
    ]
    for j, p in enumerate(spec.patterns):
        lines.append(
            f"| {p.name} | {q2[j]:.2f} | {signal.reading(q2[j])} | "
            f"{np.mean(dist[:, j] <= abc.MET):.0%} | {int(np.sum(ruling == j))} |"
        )
    warning = luck_warning(q2, ruling)
    if warning:
        lines += [
            "",
            f"**{warning} here**: their distances, and so the waves' choice of sets, rank them "
            "largely by luck. Use more seeds a set, or leave out patterns no set can meet (a "
            "column of 0% above) and read them on their own.",
        ]
    return lines, warning


def luck_warning(q2: list[float], ruling: np.ndarray) -> str | None:
    """A warning when most sets that miss a pattern are ruled by one whose Q2 is below
    signal.SIGNAL; none when no Q2 could be read (too few sets) or few sets miss."""
    noisy = [j for j, q in enumerate(q2) if np.isfinite(q) and q < signal.SIGNAL]
    ruled = int(np.isin(ruling, noisy).sum())
    missed = int((ruling >= 0).sum())
    if missed and ruled * 2 > missed:
        return (
            f"{ruled} of the {missed} sets that miss a pattern are ruled by patterns that are "
            "mostly luck"
        )
    return None


def _fmt(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)
