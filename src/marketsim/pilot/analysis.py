"""From simulated pilots to the planner's answers: power, MDE, size, misleading results, value.

Each replicate is a pair of runs on one seed: the pilot ("on") and the same
town without it ("off"). The off run gives the truth the evaluation cannot
see (what would have happened anyway, all harms included); the on run is
observed as the evaluation would observe it: weekly counts in the pilot and
comparison areas, thinned by reporting rates, and survey waves.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from marketsim.experiments.value import value_for_money
from marketsim.harms import HARM_TYPES
from marketsim.pilot.spec import LoadedPilot, Measure
from marketsim.pilot.stats import (
    TestResult,
    analytic_power,
    minimum_detectable,
    observe_counts,
    res_test,
    survey_test,
)

LEVEL_WHO = {
    "individual": "users, dealers and their victims",
    "family_peers": "families and peers",
    "local_community": "residents of the area",
    "national": "society and the public purse",
}


@dataclass
class MeasureResult:
    measure: Measure
    true_change: tuple[float, float, float]  # mean and 95% CI of the true change (ratio - 1 or pp)
    power: float  # share of simulated evaluations finding a significant improvement
    power_by_duration: dict[int, float]  # simulated (<= planned) and projected (> planned)
    projected: set[int]
    false_positive: float  # share of significant changes (either way) when the pilot is off
    mde: float  # minimum detectable effect at the target power, as a change (e.g. -0.18)
    recommended_weeks: int | None
    recommended_areas: int | None
    estimates: np.ndarray  # measured effect per replicate, as a change
    significant: np.ndarray  # bool per replicate: a significant improvement
    worse_flag: np.ndarray  # bool per replicate: a significant worsening
    misleading_good: float = 0.0  # significant improvement while net harm rose
    misleading_bad: float = 0.0  # significant worsening while net harm fell


@dataclass
class PilotResult:
    measures: dict[str, MeasureResult]
    net_harm_change: np.ndarray  # on - off, GBP, per replicate (all harms, whole town)
    harm_changes: pd.DataFrame  # per harm type: mean change, share of seeds it rose
    displacement: dict[str, tuple[float, float, float]]  # buffer true change per metric
    wdq: np.ndarray  # per replicate, on visible dealing
    vfm: dict[str, Any]
    meta: dict[str, Any] = field(default_factory=dict)


def _interval(x: np.ndarray) -> tuple[float, float, float]:
    from marketsim.experiments.compare import t_interval

    return t_interval(np.asarray(x, dtype=float))


def _group(
    series: pd.DataFrame, job: int, regions: list[str], columns: tuple[str, ...]
) -> np.ndarray:
    """Weekly totals of `columns` summed over `regions` for one job (weeks in order)."""
    sub = series[(series.job == job) & series.region.isin(regions)]
    return sub.groupby("step", sort=True)[list(columns)].sum().sum(axis=1).to_numpy(float)


def analyse_pilot(pilot: LoadedPilot, runs: pd.DataFrame, series: pd.DataFrame) -> PilotResult:
    spec = pilot.spec
    reps = spec.replicates
    on_jobs = runs[runs.label == "on"].set_index("replicate").sort_index()
    off_jobs = runs[runs.label == "off"].set_index("replicate").sort_index()
    before_w = spec.before_days // 7
    planned_w = spec.duration // 7
    net_change = (on_jobs["all.net_harm_gbp"] - off_jobs["all.net_harm_gbp"]).to_numpy(float)
    harm_worse = net_change > 0

    results = {}
    for k, m in enumerate(spec.measures):
        info = m.info
        sign = -1.0 if info.better == "lower" else 1.0  # improvement means estimate * sign > 0
        est, sig, worse, se_list, fp, true = [], [], [], [], [], []
        by_weeks: dict[int, list[bool]] = {}
        weeks_list = sorted({d // 7 for d in spec.candidate_durations() if d // 7 <= planned_w})
        rates = []
        for r in range(reps):
            on_job, off_job = int(on_jobs.loc[r, "job"]), int(off_jobs.loc[r, "job"])
            rng = np.random.default_rng([spec.seed, r, k])
            if info.kind == "count":
                arms = {}
                for arm, job in (("on", on_job), ("off", off_job)):
                    P = _group(series, job, pilot.pilot_regions, info.columns)
                    C = (
                        _group(series, job, pilot.comparison_regions, info.columns)
                        if pilot.comparison_regions
                        else None
                    )
                    arms[arm] = (P, C)
                P, C = arms["on"]
                true.append(
                    np.log(
                        (P[before_w : before_w + planned_w].sum() + 0.5)
                        / (arms["off"][0][before_w : before_w + planned_w].sum() + 0.5)
                    )
                )
                Po = observe_counts(P, m.rate, rng)
                Co = observe_counts(C, m.rate, rng) if C is not None else None
                for weeks in sorted({*weeks_list, planned_w}):
                    t = _count_test(Po, Co, before_w, weeks, spec.design)
                    hit = t.significant(spec.alpha) and t.estimate * sign > 0
                    by_weeks.setdefault(weeks, []).append(hit)
                    if weeks == planned_w:
                        est.append(np.expm1(t.estimate))
                        sig.append(hit)
                        worse.append(t.significant(spec.alpha) and t.estimate * sign < 0)
                        se_list.append(t.se)
                        rates.append(
                            (
                                Po[:before_w].sum(),
                                Po[before_w : before_w + planned_w].sum(),
                                *(
                                    ()
                                    if Co is None
                                    else (
                                        Co[:before_w].sum(),
                                        Co[before_w : before_w + planned_w].sum(),
                                    )
                                ),
                            )
                        )
                # The same evaluation of the town without the pilot: false positives.
                Pf, Cf = arms["off"]
                tf = _count_test(
                    observe_counts(Pf, m.rate, rng),
                    observe_counts(Cf, m.rate, rng) if Cf is not None else None,
                    before_w,
                    planned_w,
                    spec.design,
                )
                fp.append(tf.significant(spec.alpha))  # either direction: a false alarm
            else:
                shares = {}
                for arm, job in (("on", on_job), ("off", off_job)):
                    shares[arm] = _survey_shares(pilot, runs, series, job, before_w, planned_w)
                true.append(shares["on"][1] - shares["off"][1])
                t = survey_test(_design_shares(shares["on"], spec.design), m.respondents, rng)
                est.append(t.estimate)
                hit = t.significant(spec.alpha) and t.estimate * sign > 0
                sig.append(hit)
                by_weeks.setdefault(planned_w, []).append(hit)
                worse.append(t.significant(spec.alpha) and t.estimate * sign < 0)
                se_list.append(t.se)
                tf = survey_test(_design_shares(shares["off"], spec.design), m.respondents, rng)
                fp.append(tf.significant(spec.alpha))  # either direction: a false alarm
        true = np.array(true, dtype=float)
        mean, lo, hi = _interval(true)
        if info.kind == "count":
            true_change = (np.expm1(mean), np.expm1(lo), np.expm1(hi))
        else:
            true_change = (mean, lo, hi)
        se = float(np.median(se_list))
        mde_raw = minimum_detectable(se, spec.alpha, spec.power_target)
        # As a change in the improving direction: a fall of 18% is -0.18.
        mde = np.expm1(sign * mde_raw) if info.kind == "count" else sign * mde_raw
        power_by = {w * 7: float(np.mean(v)) for w, v in by_weeks.items()}
        projected: set[int] = set()
        rec_weeks = rec_areas = None
        if info.kind == "count":
            effect = float(np.mean(true))  # the true log effect the evaluation tries to find
            totals = np.mean(np.array(rates, dtype=float), axis=0)
            disp = float(
                np.median(
                    [
                        (s / np.sqrt(sum(1 / max(x, 0.5) for x in tot))) ** 2
                        for s, tot in zip(se_list, rates, strict=True)
                    ]
                )
            )
            for d in spec.candidate_durations():
                w = d // 7
                if w > planned_w:
                    power_by[w * 7] = _projected_power(
                        effect, totals, disp, before_w, planned_w, w, 1.0, spec
                    )
                    projected.add(w * 7)
            if effect * sign > 0:
                for w in range(1, 157):
                    if (
                        _projected_power(effect, totals, disp, before_w, planned_w, w, 1.0, spec)
                        >= spec.power_target
                    ):
                        rec_weeks = w
                        break
                n0 = len(spec.pilot_areas)
                for n in range(1, 41):
                    if (
                        _projected_power(
                            effect, totals, disp, before_w, planned_w, planned_w, n / n0, spec
                        )
                        >= spec.power_target
                    ):
                        rec_areas = n
                        break
        res = MeasureResult(
            measure=m,
            true_change=true_change,
            power=float(np.mean(sig)),
            power_by_duration=dict(sorted(power_by.items())),
            projected=projected,
            false_positive=float(np.mean(fp)),
            mde=float(mde),
            recommended_weeks=rec_weeks,
            recommended_areas=rec_areas,
            estimates=np.array(est, dtype=float),
            significant=np.array(sig, dtype=bool),
            worse_flag=np.array(worse, dtype=bool),
        )
        res.misleading_good = float(np.mean(res.significant & harm_worse))
        res.misleading_bad = float(np.mean(res.worse_flag & ~harm_worse))
        results[m.name] = res

    harm_rows = []
    for h in HARM_TYPES:
        col = f"all.harm_gbp.{h.name}"
        diff = (on_jobs[col] - off_jobs[col]).to_numpy(float)
        harm_rows.append(
            {
                "harm": h.name,
                "level": h.level,
                "domain": h.domain,
                "mean_change_gbp": float(diff.mean()),
                "share_seeds_rose": float(np.mean(diff > 0)),
            }
        )
    harm_changes = pd.DataFrame(harm_rows)

    displacement = {}
    for metric in ("open_sales", "visible_dealing", "violent_incidents", "acquisitive_crimes"):
        ratios = []
        for r in range(reps):
            a = _group(series, int(on_jobs.loc[r, "job"]), pilot.buffer_regions, (metric,))
            b = _group(series, int(off_jobs.loc[r, "job"]), pilot.buffer_regions, (metric,))
            window = slice(before_w, before_w + planned_w)
            ratios.append(np.log((a[window].sum() + 0.5) / (b[window].sum() + 0.5)))
        mean, lo, hi = _interval(np.array(ratios))
        displacement[metric] = (np.expm1(mean), np.expm1(lo), np.expm1(hi))

    wdqs = []
    for r in range(reps):
        job = int(on_jobs.loc[r, "job"])
        groups = [
            _group(series, job, regions, ("visible_dealing",))
            for regions in (
                pilot.pilot_regions,
                pilot.buffer_regions,
                pilot.comparison_regions or ["all"],
            )
        ]
        wdqs.append(_wdq(*groups, before_w, planned_w))
    vfm = value_for_money(on_jobs, off_jobs, seed=spec.seed)
    return PilotResult(results, net_change, harm_changes, displacement, np.array(wdqs), vfm)


def _count_test(
    P: np.ndarray, C: np.ndarray | None, before_w: int, weeks: int, design: str
) -> TestResult:
    after = slice(before_w, before_w + weeks)
    if design == "before_after" or C is None:
        return res_test(P[:before_w], P[after])
    return res_test(P[:before_w], P[after], C[:before_w], C[after])


def _survey_shares(pilot: LoadedPilot, runs, series, job: int, before_w: int, weeks: int) -> tuple:
    """True shares of residents afraid: pilot before, after, comparison before, after."""
    row = runs[runs.job == job].iloc[0]
    out = []
    for regions in (pilot.pilot_regions, pilot.comparison_regions):
        if not regions:
            out += [np.nan, np.nan]
            continue
        fear = _group(series, job, regions, ("fear",))
        residents = sum(float(row[f"{r}.residents"]) for r in regions)
        out.append(fear[:before_w].sum() / (residents * 7 * before_w))
        out.append(fear[before_w : before_w + weeks].sum() / (residents * 7 * weeks))
    return tuple(out)


def _design_shares(shares: tuple, design: str) -> tuple:
    return shares[:2] if design == "before_after" or not np.isfinite(shares[2]) else shares


def _projected_power(effect, totals, disp, before_w, planned_w, weeks, area_factor, spec) -> float:
    """Power projected from simulated weekly rates: after-period counts scale with the
    weeks observed and all counts with the number of areas (assumed alike)."""
    tot = np.array(totals, dtype=float) * area_factor
    scaled = tot.copy()
    scaled[1::2] = tot[1::2] * weeks / planned_w  # after-period totals
    if spec.design == "before_after":
        scaled = scaled[:2]
    se = np.sqrt(disp * np.sum(1.0 / np.maximum(scaled, 0.5)))
    return analytic_power(effect, se, spec.alpha)


def _wdq(R: np.ndarray, D: np.ndarray, C: np.ndarray, before_w: int, weeks: int) -> float:
    """Weighted displacement quotient (Bowers & Johnson 2003) from weekly group totals."""
    b, a = slice(0, before_w), slice(before_w, before_w + weeks)
    Rb, Ra, Db, Da, Cb, Ca = R[b].sum(), R[a].sum(), D[b].sum(), D[a].sum(), C[b].sum(), C[a].sum()
    if Cb <= 0 or Ca <= 0:
        return float("nan")
    den = Rb / Cb - Ra / Ca
    return float((Db / Cb - Da / Ca) / den) if den != 0 else float("nan")
