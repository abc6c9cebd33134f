"""The pilot planner's report: pilot.md, plots and tables, written for a pilot designer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import pandas as pd

from marketsim.citations import readable
from marketsim.experiments.plotting import label_quadrants, subplots
from marketsim.experiments.value import PILOT_VERSUS_COMPARE
from marketsim.harms import HARM_TYPES
from marketsim.pilot.analysis import LEVEL_WHO, PilotResult
from marketsim.pilot.spec import LoadedPilot

HARM = {h.name: h for h in HARM_TYPES}
LEADS_TO = {
    "market": "the market re-forms, moves or fights over the space left",
    "enforcement": "more arrests, prosecutions and custody",
    "drug_use": "changes in use among people moved on, arrested or diverted",
    "treatment": "more people in treatment",
}
# Published value-for-money claims the review reports (UKDPC 2009, ch. 3 and Table 3.2).
PUBLISHED_VFM = (
    "Operation Reduction (Brighton): 'for every GBP 1 spent, GBP 3 saved on crime costs'"
)


def _pct(x: float) -> str:
    return "n/a" if not np.isfinite(x) else f"{x:+.0%}"


def _gbp_m(x: float) -> str:
    return f"GBP {x / 1e6:+,.2f}m"


def plot_power_curve(res: PilotResult, pilot: LoadedPilot, path: Path) -> None:
    fig, ax = subplots(figsize=(8, 4.8))
    colors = matplotlib.colormaps["tab10"](np.arange(len(res.measures)))
    for color, m in zip(colors, res.measures.values(), strict=True):
        if m.measure.info.kind != "count" or m.measure.info.traditional:
            continue
        days = sorted(m.power_by_duration)
        sim = [d for d in days if d not in m.projected]
        proj = [d for d in days if d in m.projected]
        ax.plot(
            np.array(sim) / 7,
            [m.power_by_duration[d] for d in sim],
            "o-",
            color=color,
            label=m.measure.info.label,
        )
        if proj:
            # The dashed line starts from the projection's own value at the planned length,
            # not from the simulated one: the two are different methods (see the note).
            start = pilot.spec.duration // 7 * 7
            ax.plot(
                np.array([start, *proj]) / 7,
                [m.projected_at_planned, *[m.power_by_duration[d] for d in proj]],
                "o--",
                color=color,
                alpha=0.7,
                mfc="white",
            )
    ax.axhline(pilot.spec.power_target, color="0.3", ls=":", lw=1)
    ax.axvline(pilot.spec.duration / 7, color="0.5", lw=1)
    ax.text(pilot.spec.duration / 7, 1.02, " planned", fontsize=8, color="0.4")
    ax.set_ylim(0, 1.05)
    fig.text(
        0.01,
        0.01,
        "Solid: share of simulated evaluations that found a significant improvement.\n"
        "Dashed: projected from the average effect and noise (a normal approximation), "
        "starting at the projection's own value for the planned length.\n"
        "A step down at the planned line is the change of method, not a loss from running longer.",
        fontsize=7,
        color="0.35",
    )
    ax.set_xlabel("weeks of pilot evaluated (dashed: projected beyond the simulated pilot)")
    ax.set_ylabel("power: chance of a significant improvement")
    ax.set_title("How long must the pilot run for the evaluation to see its effect?")
    ax.legend(fontsize=8, loc="upper left")
    ax.grid(alpha=0.3)
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    fig.savefig(path, dpi=110)


FENCE_IQR = 3.0  # effect histograms show the quartiles +- this many interquartile ranges


def shown_range(values: np.ndarray, marks: tuple[float, ...]) -> tuple[float, float, int]:
    """The histogram's range and how many values fall outside it.

    Tukey's far-out fences (quartiles -+ 3 interquartile ranges), no wider than the data,
    widened to take in `marks` (the true effect, zero). A few replicates with tiny baselines
    give changes of +500% to +2000% that would squash the rest into one bar; they are
    counted in the title, not drawn.
    """
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return -1.0, 1.0, 0
    q1, q3 = np.percentile(finite, [25, 75])
    spread = FENCE_IQR * (q3 - q1)
    lo = max(float(finite.min()), q1 - spread)
    hi = min(float(finite.max()), q3 + spread)
    lo, hi = min(lo, *marks), max(hi, *marks)
    if hi <= lo:
        lo, hi = lo - 1.0, hi + 1.0
    return float(lo), float(hi), int(np.sum((finite < lo) | (finite > hi)))


def plot_effect_distribution(res: PilotResult, path: Path) -> None:
    items = [m for m in res.measures.values()]
    cols = 3
    rows = int(np.ceil(len(items) / cols))
    fig, axes = subplots(rows, cols, figsize=(12, 3.2 * rows), squeeze=False)
    for ax, m in zip(axes.ravel(), items, strict=False):
        survey = m.measure.info.kind == "survey"
        est = m.estimates * 100
        true = m.true_change[0] * 100
        lo, hi, outside = shown_range(est, (true, 0.0))
        bins = np.linspace(lo, hi, 26)  # shared by both layers
        ax.hist(est[~m.significant], bins=bins, color="0.7", label="not significant")
        if m.significant.any():
            ax.hist(
                est[m.significant],
                bins=bins,
                color="tab:green",
                alpha=0.8,
                label="significant improvement",
            )
        ax.axvline(true, color="tab:red", lw=2, label="true effect")
        ax.axvline(0, color="black", lw=1)
        title = m.measure.info.label
        if outside:
            title += f"\n({outside} of {est.size} outside the range shown, up to {np.nanmax(np.abs(est)):,.0f})"
        ax.set_title(title, fontsize=9)
        ax.set_xlabel(
            "measured change (percentage points)" if survey else "measured change (%)", fontsize=8
        )
    for ax in axes.ravel()[len(items) :]:
        ax.set_visible(False)
    axes[0][0].legend(fontsize=7)
    fig.suptitle("What the evaluation would measure, against the true effect")
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def plot_ce_plane(vfm: dict[str, Any], path: Path) -> None:
    fig, ax = subplots(figsize=(7, 5.5))
    x, y = vfm["extra"] / 1e6, vfm["averted"] / 1e6
    ax.scatter(x, y, s=12, alpha=0.5, label="one simulated pilot")
    ax.plot(x.mean(), y.mean(), "D", color="tab:red", ms=9, label="mean")
    ax.axhline(0, color="0.3", lw=1)
    ax.axvline(0, color="0.3", lw=1)
    lim = max(abs(x).max(), 1e-6)
    for ratio in (1.0, 3.0):
        ax.plot([0, lim], [0, ratio * lim], ls=":", color="0.5", lw=1)
        ax.text(lim, ratio * lim, f" GBP {ratio:g} per GBP 1", fontsize=7, color="0.4")
    ax.set_xlabel("extra money spent (GBP m): enforcement and treatment")
    ax.set_ylabel("harm averted (GBP m, cost-of-crime weights)")
    ax.set_title("Cost-effectiveness plane")
    label_quadrants(
        ax,
        (
            "costs more, averts harm",
            "saves money and harm",
            "costs more, adds harm",
            "saves money, adds harm",
        ),
    )
    ax.legend(fontsize=8, loc="center left")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def write_pilot_report(out: Path, pilot: LoadedPilot, res: PilotResult, command: str) -> Path:
    spec = pilot.spec
    img = out / "plots"
    img.mkdir(parents=True, exist_ok=True)
    plot_power_curve(res, pilot, img / "power_curve.png")
    plot_effect_distribution(res, img / "effect_distribution.png")
    plot_ce_plane(res.vfm, img / "cost_effectiveness.png")
    table = measures_table(res)
    table.to_csv(out / "measures.csv", index=False, float_format="%.6g")
    primary = res.measures[spec.primary]
    tactics = ", ".join(sorted({t["type"] for t in pilot.pilot_tactics}))
    design = (
        "difference-in-differences against the comparison areas"
        if spec.design == "did"
        else "before/after in the pilot areas, with no comparison areas"
    )
    net = res.net_harm_change
    lines = [
        f"# Pilot plan: {spec.name}",
        "",
        spec.description.strip(),
        "",
        f"**Pilot:** {tactics} in {len(spec.pilot_areas)} area(s) for {spec.duration} days from "
        f"day {spec.start}, evaluated by {design} ({len(spec.comparison_areas)} comparison "
        f"area(s)), {spec.before_days} days before against the pilot period, alpha = {spec.alpha}. "
        f"Simulated {spec.replicates} times, each against the same town without the pilot "
        "(same seed), so the true effect is known.",
        "",
        "## Will the evaluation be able to tell whether it worked?",
        "",
        _headline(primary, spec),
        "",
        "| measure | recorded share | true effect in pilot areas (95% CI) | power | false alarms if the pilot did nothing | smallest effect detectable at "
        f"{spec.power_target:.0%} power | weeks needed | areas needed per arm |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for m in res.measures.values():
        info = m.measure.info
        survey = info.kind == "survey"
        tc = m.true_change
        true = (
            f"{tc[0] * 100:+.2f} pp ({tc[1] * 100:+.2f} to {tc[2] * 100:+.2f})"
            if survey
            else f"{_pct(tc[0])} ({_pct(tc[1])} to {_pct(tc[2])})"
        )
        mde = f"{m.mde * 100:+.2f} pp" if survey else _pct(m.mde)
        share = f"{m.measure.respondents} respondents/wave" if survey else f"{m.measure.rate:.0%}"
        weeks = "-" if survey else (str(m.recommended_weeks) if m.recommended_weeks else "> 156")
        areas = "-" if survey else (str(m.recommended_areas) if m.recommended_areas else "> 40")
        name = info.label + (" *(traditional)*" if info.traditional else "")
        lines.append(
            f"| {name} | {share} | {true} | {m.power:.0%} | {m.false_positive:.0%} | {mde} | {weeks} | {areas} |"
        )
    lines += [
        "",
        "*How to read it:* **power** is the share of simulated evaluations that found a "
        "statistically significant improvement. **False alarms** is the share of significant "
        "changes, either way, when the same evaluation is run on the town without the pilot; "
        f"it should be near the significance level ({spec.alpha:.0%}), and a larger figure "
        "means areas drift apart on their own. "
        "**Weeks** and **areas needed** are projected from the simulated weekly counts, "
        "assuming the effect holds and added areas resemble these; blank when the true effect "
        "is not an improvement (no amount of evaluation will find one). Full table: "
        "`measures.csv`.",
        "",
        *_calibration_lines(res, spec),
        "![power curve](plots/power_curve.png)",
        "",
        "*What this shows:* the chance that the evaluation finds a significant improvement, "
        "by how many weeks of the pilot it covers. Below the dotted line, a null result is "
        "more likely to mean 'too small a pilot' than 'it does not work'.",
        "",
        "![measured against true](plots/effect_distribution.png)",
        "",
        "*What this shows:* across simulated pilots, the change each evaluation would report "
        "(green: significant) against the true effect (red) and no change (black).",
        "",
        "## Could the evaluation mislead?",
        "",
        f"Over the whole town and every harm, observed or not, the pilot changed net harm by "
        f"{_gbp_m(net.mean())} on average (cost of crime, the pilot and {spec.follow_up_days} days "
        f"after), and raised it in {np.mean(net > 0):.0%} of the simulated pilots.",
        "",
        "| measure | significant improvement while net harm rose | significant worsening while net harm fell |",
        "|---|---|---|",
    ]
    for m in res.measures.values():
        lines.append(
            f"| {m.measure.info.label} | {m.misleading_good:.0%} | {m.misleading_bad:.0%} |"
        )
    lines += [
        "",
        "*How to read it:* the first column is the risk of declaring success for a pilot that "
        "made the town worse overall; the second, of abandoning one that helped. Arrest counts "
        "(traditional) show how an activity measure can look like success whatever happens to "
        "harm.",
        "",
        "## Unintended consequences to monitor",
        "",
        "Laid out as UKDPC 2009, Table 4.2 (Problem -> Leads to -> Resultant harm -> Who):",
        "",
        *_chain(res, tactics),
        "",
        "Displacement into the ring of "
        f"{spec.buffer_width} cells around the pilot areas (true change during the pilot, 95% CI): "
        + "; ".join(
            f"{k.replace('_', ' ')} {_pct(v[0])} ({_pct(v[1])} to {_pct(v[2])})"
            for k, v in res.displacement.items()
        )
        + ".",
        "",
        _wdq_line(res.wdq),
        "",
        "## Value for money",
        "",
        *_vfm_lines(res.vfm),
        "",
        "![cost-effectiveness plane](plots/cost_effectiveness.png)",
        "",
        "*What this shows:* each dot is one simulated pilot: its extra cost and the harm it "
        "averted. Dots above the dotted lines return more than GBP 1 (or GBP 3) of harm averted "
        "per GBP 1.",
        "",
        "## How to reproduce",
        "",
        "```",
        command,
        "```",
        "",
    ]
    path = out / "pilot.md"
    path.write_text(readable("\n".join(lines)))
    return path


def _calibration_lines(res: PilotResult, spec) -> list[str]:
    """When false alarms run well above alpha: what a placebo-calibrated test would give."""
    drifting = [
        m
        for m in res.measures.values()
        if m.calibration is not None and m.false_positive > 2 * spec.alpha
    ]
    if not drifting:
        return []
    lines = [
        "### When false alarms run high: calibrate the test on placebos",
        "",
        "For the measures below, areas drift apart without any pilot by more than the test's "
        "standard error allows, so a 'significant' change is often no change at all. An "
        "evaluation can calibrate its test with **placebo evaluations**: the same comparison "
        "run on past periods, or on areas that had no pilot, taking as its critical value "
        f"the |z| that placebos exceed {spec.alpha:.0%} of the time. Here the placebos are the "
        "simulated evaluations of the town without the pilot.",
        "",
        "| measure | false alarms, nominal test | critical abs(z), nominal -> calibrated | "
        "power, nominal -> calibrated | smallest detectable effect, calibrated |",
        "|---|---|---|---|---|",
    ]
    for m in drifting:
        survey = m.measure.info.kind == "survey"
        mde = f"{m.calibrated_mde * 100:+.2f} pp" if survey else _pct(m.calibrated_mde)
        lines.append(
            f"| {m.measure.info.label} | {m.false_positive:.0%} | {m.calibration.nominal:.2f} -> "
            f"{m.calibration.critical:.2f} | {m.power:.0%} -> {m.calibration.power:.0%} | "
            f"{mde} |"
        )
    lines += [
        "",
        "*How to read it:* the calibrated test keeps false alarms at "
        f"{spec.alpha:.0%}; the price is power. If calibrated power is low, the pilot "
        "cannot show its effect on that measure against the area's own drift: choose "
        "another measure, more areas, or a longer period.",
        "",
    ]
    return lines


def measures_table(res: PilotResult) -> pd.DataFrame:
    rows = []
    for name, m in res.measures.items():
        rows.append(
            {
                "measure": name,
                "kind": m.measure.info.kind,
                "recorded_share": m.measure.rate,
                "true_change": m.true_change[0],
                "true_change_ci_low": m.true_change[1],
                "true_change_ci_high": m.true_change[2],
                "power": m.power,
                "false_positive_rate": m.false_positive,
                "mde": m.mde,
                "calibrated_critical_z": m.calibration.critical if m.calibration else None,
                "calibrated_power": m.calibration.power if m.calibration else None,
                "calibrated_mde": m.calibrated_mde,
                "weeks_for_target_power": m.recommended_weeks,
                "areas_for_target_power": m.recommended_areas,
                "misleading_success": m.misleading_good,
                "misleading_failure": m.misleading_bad,
                **{f"power_{d}d": p for d, p in m.power_by_duration.items()},
            }
        )
    return pd.DataFrame(rows)


def _headline(m, spec) -> str:
    label = m.measure.info.label
    verdict = "adequately powered" if m.power >= spec.power_target else "**underpowered**"
    extra = ""
    if m.power < spec.power_target:
        if m.recommended_weeks:
            extra += f" It would need about {m.recommended_weeks} weeks"
            extra += (
                f", or {m.recommended_areas} pilot and comparison areas each at the planned length,"
                if m.recommended_areas
                else ""
            )
            extra += f" to reach {spec.power_target:.0%}."
        else:
            extra += (
                " No plausible length reaches the target: the true effect on this measure "
                "is too small, or not an improvement."
            )
    return (
        f"On the primary measure, {label}, the pilot's true effect is "
        f"{_pct(m.true_change[0])}, and the planned evaluation finds a significant "
        f"improvement {m.power:.0%} of the time: it is {verdict}.{extra} The smallest effect "
        f"it could detect with {spec.power_target:.0%} power is {_pct(m.mde)}."
    )


def _chain(res: PilotResult, tactics: str) -> list[str]:
    rows = ["| Problem | Leads to | Resultant harm | Who |", "|---|---|---|---|"]
    rising = res.harm_changes[
        (res.harm_changes.mean_change_gbp > 0) & (res.harm_changes.share_seeds_rose >= 0.6)
    ]
    for r in rising.sort_values("mean_change_gbp", ascending=False).itertuples():
        h = HARM[r.harm]
        rows.append(
            f"| {tactics} in the pilot areas | {LEADS_TO.get(h.cause, h.cause)} | "
            f"{h.label}: {_gbp_m(r.mean_change_gbp)} (rose in {r.share_seeds_rose:.0%} of runs) | "
            f"{LEVEL_WHO.get(h.level, h.level)} |"
        )
    if len(rows) == 2:
        rows.append("| - | no harm type rose in most simulated pilots | - | - |")
    return rows


def _wdq_line(wdq: np.ndarray) -> str:
    ok = wdq[np.isfinite(wdq)]
    if ok.size == 0:
        return "The WDQ is undefined here (no change in visible dealing in the pilot areas)."
    lo, med, hi = np.percentile(ok, [10, 50, 90])
    return (
        f"Expected WDQ on visible dealing (pilot areas, their rings, comparison areas): "
        f"median {med:+.2f}, 80% of pilots between {lo:+.2f} and {hi:+.2f} (above 0: "
        "benefits spread; 0 to -1: partial displacement; below -1: displacement outweighs "
        "the gain). An evaluation reporting a WDQ outside this range should look for a cause."
    )


def _vfm_lines(v: dict[str, Any]) -> list[str]:
    s, a = v["extra_spend_gbp"], v["harm_averted_gbp"]
    return [
        f"- **Extra money spent** on enforcement (officer-days, arrests, prosecutions, prison "
        f"days) and treatment, against the same town without the pilot: GBP {s[0] / 1e6:,.2f}m "
        f"(95% CI {s[1] / 1e6:,.2f} to {s[2] / 1e6:,.2f}).",
        f"- **Harm averted** (cost-of-crime weights, all harms except those public costs): GBP "
        f"{a[0] / 1e6:,.2f}m (95% CI {a[1] / 1e6:,.2f} to {a[2] / 1e6:,.2f}).",
        f"- **Value for money:** {v['reading']}.",
        f"- Published claim for comparison: {PUBLISHED_VFM}. How ours is computed: both figures "
        "are differences between paired runs with and without the pilot over the pilot and "
        "its follow-up; spend uses the unit costs of the cost-of-crime profile "
        "(`docs/harms.md`); the interval is a bootstrap over simulated pilots. The published "
        "figure counted crime costs only and used before/after data, so it is not like for "
        "like.",
        f"- {PILOT_VERSUS_COMPARE}",
    ]
