"""Global sensitivity analysis with SALib: Sobol indices and Morris screening.

The pipeline is independent of the model: `analyse` takes a SALib problem, the
sample matrix and one outcome per sample row. `tests/test_sensitivity.py` runs
it on the Ishigami function, whose indices are known, to show it recovers them.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from marketsim.experiments.plotting import subplots

MATTERS = 0.05  # a total-order index (or normalised mu*) above this "matters"
# Indices are not estimated for an outcome that differs from its most common value at
# fewer than this share of design points: they would rest on a handful of runs (a
# treatment service full on nearly every day of every run, say), and a few outliers
# can pass any test.
FEW_VARY = 0.05
MORRIS_COLUMNS = ("mu", "mu_star", "mu_star_conf", "sigma")


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
        with warnings.catch_warnings():
            # A rare harm can be identical across a block of runs; the report names
            # parameters with no effect itself, so SALib's console warning adds nothing.
            warnings.filterwarnings("ignore", message="Constant values encountered")
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


def most_common(Y: np.ndarray) -> tuple[float, float]:
    """The outcome's most common value across design points, and the share of points
    that differ from it."""
    values, counts = np.unique(np.asarray(Y, dtype=float), return_counts=True)
    k = counts.argmax()
    return float(values[k]), 1.0 - counts[k] / counts.sum()


def not_estimated(method: str, names: list[str]) -> dict[str, pd.DataFrame]:
    """Index tables of NaN, for an outcome that varies at too few design points."""
    cols = ("S1", "S1_conf", "ST", "ST_conf") if method == "sobol" else MORRIS_COLUMNS
    table = pd.DataFrame({"parameter": names, **{c: np.nan for c in cols}})
    return {"indices": table, "second_order": pd.DataFrame()}


def importance(method: str, table: pd.DataFrame) -> pd.Series:
    """One number per parameter on a 0-1 scale: ST for Sobol, mu* / max mu* for Morris."""
    if method == "sobol":
        return table.set_index("parameter")["ST"].clip(lower=0)
    mu = table.set_index("parameter")["mu_star"]
    top = mu.max()
    return mu / top if top > 0 else mu * 0


class NoiseFloor(NamedTuple):
    sd: float  # run-to-run noise in a design point's mean
    floor: float  # the index luck alone gives
    upper: float  # its one-sided 95% upper bound: what an index must clear


def noise_floor(
    method: str, noise: np.ndarray, Y: np.ndarray, replicates: int = 1, levels: int = 4
) -> NoiseFloor | None:
    """Run-to-run noise of one outcome, and the index that luck alone could produce.

    Design points share seeds (common random numbers), so a parameter that changes
    nothing scores exactly zero. But one that changes anything at all sets the run
    on another random path, and that alone can move the outcome by up to what a
    change of seed does. The floor is that amount, from `noise`: the outcome of
    runs at one point on seeds of their own. Its SD over sqrt(replicates) is the
    noise in a design point's mean. Returns the SD, the floor and its upper bound:
    - Sobol: floor = noise variance / variance across the design, the total order
      index of a parameter whose effect is only to re-draw the luck (Jansen's ST
      estimator counts independent noise in full).
    - Morris: floor = E|e1 - e2| / delta = 2 SD / (sqrt(pi) delta), the mu* of such
      a parameter (delta: SALib's step, levels / (2 (levels - 1))).
    The upper floor uses the one-sided 95% upper bound of the noise variance
    (chi-square, n - 1 degrees of freedom): a few noise runs pin the floor down
    only loosely, and the test must not count that looseness as an effect.
    None when fewer than two noise runs were made.
    """
    from scipy.stats import chi2

    noise = np.asarray(noise, dtype=float)
    noise = noise[np.isfinite(noise)]
    if noise.size < 2:
        return None
    dof = noise.size - 1
    sd = float(noise.std(ddof=1)) / np.sqrt(max(1, replicates))
    sd_upper = sd * float(np.sqrt(dof / chi2.ppf(0.05, dof)))

    if method == "sobol":
        var = float(np.var(Y))

        def floor(s: float) -> float:
            return min(1.0, s**2 / var) if var > 0 else 1.0
    else:
        delta = levels / (2.0 * (levels - 1))

        def floor(s: float) -> float:
            return 2.0 * s / (np.sqrt(np.pi) * delta)

    return NoiseFloor(sd, floor(sd), floor(sd_upper))


def clear_of_noise(
    method: str, table: pd.DataFrame, floor: float | None, trajectories: int | None = None
) -> pd.Series:
    """Whether each parameter's effect stands clear of run-to-run noise.

    Two ways to stand clear, either is enough:
    - its magnitude (Sobol ST, Morris mu*) exceeds the noise floor by more than
      its 95% CI: noise only ever adds to these (pass the upper floor);
    - a systematic direction: Sobol S1 above 0 (one-sided, at 2.5%, the level at which
      its 95% CI excludes 0), or Morris mu (the signed mean effect) away from 0 (a
      t-test at 5% over the trajectories). Noise averages out of these, so they see a
      consistent effect below the floor. Holm's correction across the parameters keeps
      the chance that any inert one passes at that level, however many there are.
    With no floor (no noise runs) nothing can be told apart, and all count as clear.
    """
    if floor is None:
        return pd.Series(True, index=table.index)
    from scipy.stats import norm, t

    if method == "sobol":
        above = (table["ST"] - table["ST_conf"].fillna(0)) > floor
        se = table["S1_conf"].to_numpy(dtype=float) / norm.ppf(0.975)  # SALib: conf = z * SE
        with np.errstate(divide="ignore", invalid="ignore"):
            p = norm.sf(table["S1"].to_numpy(dtype=float) / se)
        return above | pd.Series(holm(p, alpha=0.025), index=table.index)
    above = (table["mu_star"] - table["mu_star_conf"].fillna(0)) > floor
    if trajectories is None or trajectories < 2:
        return above
    se = table["sigma"].to_numpy(dtype=float) / np.sqrt(trajectories)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.abs(table["mu"].to_numpy(dtype=float)) / se
    p = 2 * t.sf(z, trajectories - 1)
    return above | pd.Series(holm(p, alpha=0.05), index=table.index)


def holm(p: np.ndarray, alpha: float) -> np.ndarray:
    """Holm's step-down test: which of these hypotheses to reject, keeping the chance of
    any false rejection at most alpha. The i-th smallest p-value is tested at alpha / (m - i).

    An undefined p-value (NaN: no effect and no spread, 0 / 0) is never rejected.
    """
    p = np.nan_to_num(np.asarray(p, dtype=float), nan=1.0)
    reject = np.zeros(p.size, dtype=bool)
    for i, k in enumerate(np.argsort(p, kind="stable")):
        if p[k] > alpha / (p.size - i):
            break
        reject[k] = True
    return reject


def plot_sobol(table: pd.DataFrame, outcome: str, path: Path, floor: float | None = None) -> None:
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
    if floor is not None:
        ax.axvline(floor, color="tab:red", ls="--", lw=1, label="run-to-run noise floor")
    ax.set_xlabel("share of the outcome's variance (bars: 95% confidence interval)")
    ax.set_title(f"Which parameters drive {outcome}? (Sobol indices)")
    ax.legend(fontsize=8)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def plot_morris(table: pd.DataFrame, outcome: str, path: Path, floor: float | None = None) -> None:
    fig, ax = subplots(figsize=(7, 5.5))
    ax.errorbar(table.mu_star, table.sigma, xerr=table.mu_star_conf, fmt="o", capsize=2)
    if floor is not None:
        ax.axvline(floor, color="tab:red", ls="--", lw=1)
        ax.text(floor, 0, " noise floor", color="tab:red", fontsize=8, rotation=90, va="bottom")
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


class Noise(NamedTuple):
    """Run-to-run noise of one outcome, from the replicates at each design point.

    Replicate r runs on the same seed at every point (common random numbers), so a
    seed's luck is partly shared by every point: that part shifts all point means
    alike and cancels out of comparisons between them. What remains, the seed x point
    interaction, is the noise that blurs differences between points.
    """

    variance: float  # of a single run, relative to other points on the same seed
    dof: int  # its degrees of freedom: (points - 1) x (replicates - 1)
    share: float  # of the variance of single runs across the design
    replicates: int
    shared: float  # variance of the luck every point on a seed shares (cancels out)

    @property
    def of_mean(self) -> float:
        """What R replicates buy: the noise variance of a point mean, sigma^2 / R."""
        return self.variance / self.replicates


def replicate_noise(runs: pd.DataFrame, outcome: str) -> Noise | None:
    """Two-way (point x replicate) split of an outcome's runs at the design points
    (point >= 0; points missing a replicate are left out). None with fewer than 2
    replicates or 2 complete points."""
    design = runs[runs["point"] >= 0]
    table = design.pivot_table(index="point", columns="replicate", values=outcome)
    table = table.dropna().to_numpy(float)
    n, reps = table.shape
    if n < 2 or reps < 2:
        return None
    resid = table - table.mean(axis=1, keepdims=True) - table.mean(axis=0) + table.mean()
    dof = (n - 1) * (reps - 1)
    variance = float((resid**2).sum() / dof)
    shared = max(0.0, float(np.var(table.mean(axis=0), ddof=1)) - variance / n)
    total = float(np.var(table, ddof=1))
    share = min(1.0, variance / total) if total > 0 else 1.0
    return Noise(variance, dof, share, reps, shared)


def replicate_sentence(noise: Noise | None, Y: np.ndarray) -> str:
    """The noise variance the replicates measured, and what averaging R of them buys."""
    if noise is None:
        return ""
    var_means = float(np.var(Y, ddof=1)) if len(Y) > 1 else 0.0
    of_means = f"{min(1.0, noise.of_mean / var_means):.0%}" if var_means > 0 else "all"
    signal = var_means - noise.of_mean  # the variance of the points' true means
    more = ""
    if signal > 0:
        # noise share s = (sigma^2 / R) / (signal + sigma^2 / R) = 10%: R = 9 sigma^2 / signal
        more = (
            f"; about {int(np.ceil(9 * noise.variance / signal))} replicates would bring it to 10%"
        )
    return (
        f"Replicates: seeds alone move a single run by SD {np.sqrt(noise.variance):,.4g} "
        f"against the other points on the same seed (variance {noise.variance:,.4g}, "
        f"{noise.dof} degrees of freedom), {noise.share:.0%} of the variance of single runs "
        f"across the design; a further SD {np.sqrt(noise.shared):,.4g} is luck that every "
        "point on the same seed shares, and cancels out of comparisons between points. "
        f"Averaging {noise.replicates} replicates divides the first by {noise.replicates} "
        f"(SD of a point mean {np.sqrt(noise.of_mean):,.4g}), which leaves noise {of_means} of "
        f"the variance of the point means analysed here{more}."
    )


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
    noise_runs = runs[runs["point"] < 0]
    runs = runs[runs["point"] >= 0]
    harm_cols = [c for c in runs.columns if c.startswith("all.harm_gbp.")]
    analysed = list(dict.fromkeys([*outcomes, *harm_cols]))
    importances, clear, md_sections = {}, {}, []
    few_vary: dict[str, tuple[float, float]] = {}  # unestimated: most common value, share differing
    trajectories = n_points // (len(problem["names"]) + 1)  # Morris: runs per trajectory k + 1
    for outcome in analysed:
        if outcome not in runs.columns:
            raise ValueError(
                f"outcomes.analyse: bad value {outcome!r}: not among the kept outcomes"
            )
        Y = mean_by_point(runs, n_points, outcome)
        mode, varying = most_common(Y)
        if 0 < varying < FEW_VARY:
            few_vary[outcome] = (mode, varying)
            res = not_estimated(method, problem["names"])
        else:
            res = analyse(
                method,
                problem,
                X,
                Y,
                meta.get("second_order", True),
                meta.get("levels", 4),
                seed=meta["seed"],
            )
        noise = noise_floor(
            method,
            noise_runs[outcome].to_numpy(float),
            Y,
            meta["replicates"],
            meta.get("levels", 4),
        )
        floor, upper = (None, None) if noise is None else (noise.floor, noise.upper)
        table = res["indices"]
        table["clear_of_noise"] = clear_of_noise(method, table, upper, trajectories)
        table["noise_floor"] = np.nan if floor is None else floor
        table["noise_floor_upper"] = np.nan if upper is None else upper
        slug = outcome.replace(".", "_")
        table.to_csv(tables / f"{slug}.csv", index=False, float_format="%.6g")
        if method == "sobol" and not res["second_order"].empty:
            res["second_order"].to_csv(tables / f"{slug}_S2.csv", index=False, float_format="%.6g")
        importances[outcome] = importance(method, table)
        clear[outcome] = table.set_index("parameter")["clear_of_noise"]
        if outcome in few_vary:
            if outcome in outcomes:
                md_sections += _few_vary_section(outcome, Y, *few_vary[outcome])
        elif outcome in outcomes:
            if method == "sobol":
                plot_sobol(table, outcome, img / f"{slug}.png", floor)
            else:
                plot_morris(table, outcome, img / f"{slug}.png", floor)
            replicates = replicate_sentence(replicate_noise(runs, outcome), Y)
            md_sections += _outcome_section(method, outcome, slug, res, Y, noise, replicates)
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
        f"replicates. {_noise_sentence(len(noise_runs))} Parameter ranges:",
        "",
        *ranges_table(problem["names"], meta["ranges"]),
        "",
        _few_vary_line(outcomes[0], few_vary[outcomes[0]][1])
        if outcomes[0] in few_vary
        else _matters_line(method, importances, clear, outcomes[0]),
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
            "(rows) drives it. Tables for every harm type are in `indices/`. The lists below "
            "name only parameters clear of run-to-run noise.",
            "",
        ]
        for harm, col in matrix.items():
            ok = clear[f"all.harm_gbp.{harm}"].reindex(col.index, fill_value=False)
            top = col[(col > MATTERS) & ok].sort_values(ascending=False)
            if not top.empty:
                lines.append(
                    f"- **{harm.replace('_', ' ')}**: "
                    + ", ".join(f"`{p}` ({v:.2f})" for p, v in top.items())
                )
        lines.append("")
    rare_harms = {k: v for k, v in few_vary.items() if k in harm_cols}
    if rare_harms:
        lines += [
            f"Not estimated, because they differ from their most common value at fewer than "
            f"{FEW_VARY:.0%} of design points (indices would rest on a handful of runs): "
            + ", ".join(
                f"{k.removeprefix('all.harm_gbp.').replace('_', ' ')} ({varying:.1%})"
                for k, (_, varying) in rare_harms.items()
            )
            + ".",
            "",
        ]
    lines += reproduce(meta["command"])
    path = out / "summary.md"
    path.write_text("\n".join(lines))
    return path


def ranges_table(names: list[str], ranges: list) -> list[str]:
    return [
        "| parameter | low | high |",
        "|---|---|---|",
        *[f"| `{n}` | {lo:g} | {hi:g} |" for n, (lo, hi) in zip(names, ranges, strict=True)],
    ]


def reproduce(command: str) -> list[str]:
    return ["## How to reproduce", "", "```", command, "```", ""]


def _few_vary_line(outcome: str, varying: float) -> str:
    return (
        f"**{outcome} hardly varies across the design**: it differs from its most common "
        f"value at {varying:.1%} of design points, too few to estimate indices from (the "
        f"threshold is {FEW_VARY:.0%})."
    )


def _few_vary_section(outcome: str, Y: np.ndarray, mode: float, varying: float) -> list[str]:
    return [
        f"## {outcome}",
        "",
        f"{outcome} is {mode:,.4g} at {1 - varying:.1%} of design points (range "
        f"{Y.min():,.4g} to {Y.max():,.4g}). Indices are not estimated: with so few points "
        "that differ, they would rest on a handful of runs.",
        "",
    ]


def _noise_sentence(n_noise: int) -> str:
    if n_noise < 2:
        return (
            "No noise runs were made (`design.noise_runs`), so effects cannot be told apart "
            "from run-to-run noise."
        )
    return (
        f"{n_noise} further runs at the centre of the ranges, on seeds of their own, measure "
        "run-to-run noise. Any change to a run puts it on another random path, so a "
        "parameter is *clear of noise* only when its index exceeds what that alone could "
        "give (the noise floor) by more than its 95% CI, or its effect has a consistent "
        "direction (Sobol S1 above 0, Morris mu away from 0; tests corrected for the number "
        "of parameters (Holm), so the chance that any inert parameter passes is at most 5%)."
    )


def _matters_line(
    method: str, importances: dict[str, pd.Series], clear: dict[str, pd.Series], headline: str
) -> str:
    imp = importances[headline].sort_values(ascending=False)
    ok = clear[headline].reindex(imp.index, fill_value=False)
    top = imp[(imp > MATTERS) & ok]
    inert = imp[imp == 0]  # every change left the outcome identical
    noisy = imp[~ok & (imp != 0)]
    what = "total-order index" if method == "sobol" else "mu* relative to the largest"
    if top.empty:
        line = (
            f"**No parameter clearly matters for {headline}** (none has a {what} above "
            f"{MATTERS} and clear of run-to-run noise)."
        )
    else:
        line = (
            f"**Parameters that matter for {headline}** ({what} above {MATTERS}, clear of "
            "run-to-run noise): " + ", ".join(f"`{p}` ({v:.2f})" for p, v in top.items()) + "."
        )
    if not noisy.empty:
        line += (
            f" Not distinguishable from noise: {', '.join(f'`{p}`' for p in noisy.index)}. "
            "More replicates would lower the floor and tell these apart."
        )
    if not inert.empty:
        line += (
            f" No effect at all (every change left {headline} identical): "
            f"{', '.join(f'`{p}`' for p in inert.index)}; check that what it acts on happens "
            "in this set-up."
        )
    return line


def _outcome_section(
    method: str,
    outcome: str,
    slug: str,
    res: dict,
    Y: np.ndarray,
    noise: NoiseFloor | None,
    replicates: str = "",
) -> list[str]:
    table = res["indices"]
    lines = [
        f"## {outcome}",
        "",
        f"Across the design, {outcome} ranged from {Y.min():,.4g} to "
        f"{Y.max():,.4g} (mean {Y.mean():,.4g}).",
        "",
    ]
    if noise is not None:
        sd, floor, upper = noise
        if method == "sobol":
            what = (
                f"that is {floor:.0%} of the variance across the design, the total-order index "
                "luck alone could give a parameter"
            )
        else:
            what = f"luck alone could give a parameter mu* of about {floor:,.4g}"
        lines += [
            f"Run-to-run noise: seeds alone move it by SD {sd:,.4g}; {what} (95% upper "
            f"bound {upper:,.4g}, the level a parameter's index must clear).",
            "",
        ]
    if replicates:
        lines += [replicates, ""]
    lines += [
        f"![{outcome}](plots/{slug}.png)",
        "",
    ]
    mark = {True: "yes", False: "no"}
    if method == "sobol":
        lines += [
            "*What this shows:* S1 is the share of the outcome's variance a parameter explains "
            "alone; ST adds its interactions with the others. A gap between them means the "
            "parameter matters through combinations.",
            "",
            "| parameter | S1 | 95% CI | ST | 95% CI | clear of noise |",
            "|---|---|---|---|---|---|",
            *[
                f"| `{r.parameter}` | {r.S1:.3f} | ±{r.S1_conf:.3f} | {r.ST:.3f} | "
                f"±{r.ST_conf:.3f} | {mark[bool(r.clear_of_noise)]} |"
                for r in table.itertuples()
            ],
        ]
        s2 = res["second_order"]
        if not s2.empty:
            big = s2[s2.S2 - s2.S2_conf > 0].sort_values("S2", ascending=False).head(5)
            if not big.empty:
                n_pairs = len(s2)
                lines += [
                    "",
                    f"Interactions whose S2 interval excludes zero (at 5% each: of {n_pairs} "
                    "pairs, about one in twenty passes by chance, more when noise is a large "
                    "share of the variance): "
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
            "| parameter | mu* | 95% CI | mu | sigma | clear of noise |",
            "|---|---|---|---|---|---|",
            *[
                f"| `{r.parameter}` | {r.mu_star:,.4g} | ±{r.mu_star_conf:,.3g} | {r.mu:,.4g} | "
                f"{r.sigma:,.4g} | {mark[bool(r.clear_of_noise)]} |"
                for r in table.itertuples()
            ],
        ]
    return [*lines, ""]
