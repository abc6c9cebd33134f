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
    Calibration,
    TestResult,
    analytic_power,
    minimum_detectable,
    observe_counts,
    placebo_calibration,
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
    # The projection's own power at the planned duration: where its dashed line starts, so
    # the gap to the simulated power there shows the two methods differ, not time.
    projected_at_planned: float | None
    false_positive: float  # share of significant changes (either way) when the pilot is off
    mde: float  # minimum detectable effect at the target power, as a change (e.g. -0.18)
    recommended_weeks: int | None
    recommended_areas: int | None
    estimates: np.ndarray  # measured effect per replicate, as a change
    significant: np.ndarray  # bool per replicate: a significant improvement
    worse_flag: np.ndarray  # bool per replicate: a significant worsening
    misleading_good: float = 0.0  # significant improvement while net harm rose
    misleading_bad: float = 0.0  # significant worsening while net harm fell
    calibration: Calibration | None = None  # the test calibrated on the no-pilot runs
    calibrated_mde: float | None = None  # the smallest detectable effect under it


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
    """Weekly totals of `columns` summed over `regions` for one job (weeks in order).

    `series` is indexed by job (see analyse_pilot), so a job's rows are a lookup, not a scan.
    """
    sub = series.loc[job]
    sub = sub[sub.region.isin(regions)]
    return sub.groupby("step", sort=True)[list(columns)].sum().sum(axis=1).to_numpy(float)


@dataclass
class _Trials:
    """One measure's simulated evaluations: one entry per replicate."""

    estimate: list[float] = field(default_factory=list)  # measured change
    se: list[float] = field(default_factory=list)
    significant: list[bool] = field(default_factory=list)  # a significant improvement
    worse: list[bool] = field(default_factory=list)  # a significant worsening
    false_alarm: list[bool] = field(default_factory=list)  # significant, town without pilot
    z: list[float] = field(default_factory=list)  # test statistic, with the pilot
    placebo_z: list[float] = field(default_factory=list)  # the same, town without the pilot
    true: list[float] = field(default_factory=list)  # log ratio (counts) or pp (surveys)
    by_weeks: dict[int, list[bool]] = field(default_factory=dict)  # improvement found
    totals: list[tuple[float, ...]] = field(default_factory=list)  # observed Pb, Pa[, Cb, Ca]


def analyse_pilot(pilot: LoadedPilot, runs: pd.DataFrame, series: pd.DataFrame) -> PilotResult:
    spec = pilot.spec
    series = series.set_index("job").sort_index()  # every lookup below is by job
    on_jobs = runs[runs.label == "on"].set_index("replicate").sort_index()
    off_jobs = runs[runs.label == "off"].set_index("replicate").sort_index()
    jobs = list(zip(on_jobs.job.astype(int), off_jobs.job.astype(int), strict=True))
    net_change = (on_jobs["all.net_harm_gbp"] - off_jobs["all.net_harm_gbp"]).to_numpy(float)
    results = {}
    for k, m in enumerate(spec.measures):
        if m.info.kind == "count":
            trials = _count_trials(pilot, k, m, jobs, series)
        else:
            trials = _survey_trials(pilot, k, m, jobs, runs, series)
        results[m.name] = _summarise(pilot, m, trials, harm_worse=net_change > 0)
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
    before_w, planned_w = spec.before_days // 7, spec.duration // 7
    during = slice(before_w, before_w + planned_w)
    displacement = {}
    for metric in ("open_sales", "visible_dealing", "violent_incidents", "acquisitive_crimes"):
        ratios = [
            np.log(
                (_group(series, on, pilot.buffer_regions, (metric,))[during].sum() + 0.5)
                / (_group(series, off, pilot.buffer_regions, (metric,))[during].sum() + 0.5)
            )
            for on, off in jobs
        ]
        mean, lo, hi = _interval(np.array(ratios))
        displacement[metric] = (np.expm1(mean), np.expm1(lo), np.expm1(hi))
    control = pilot.comparison_regions or ["all"]
    wdqs = [
        _wdq(
            *(
                _group(series, on, regions, ("visible_dealing",))
                for regions in (pilot.pilot_regions, pilot.buffer_regions, control)
            ),
            before_w,
            planned_w,
        )
        for on, _ in jobs
    ]
    vfm = value_for_money(on_jobs, off_jobs, seed=spec.seed)
    return PilotResult(
        results, net_change, pd.DataFrame(harm_rows), displacement, np.array(wdqs), vfm
    )


def _count_trials(pilot: LoadedPilot, k: int, m: Measure, jobs, series) -> _Trials:
    """Observe each replicate's weekly counts as the evaluation would, and test them."""
    spec, info, trials = pilot.spec, m.info, _Trials()
    sign = -1.0 if info.better == "lower" else 1.0  # an improvement has estimate * sign > 0
    before_w, planned_w = spec.before_days // 7, spec.duration // 7
    during = slice(before_w, before_w + planned_w)
    weeks_tested = sorted(
        {d // 7 for d in spec.candidate_durations() if d // 7 <= planned_w} | {planned_w}
    )
    comparison = pilot.comparison_regions
    for r, (on, off) in enumerate(jobs):
        rng = np.random.default_rng([spec.seed, r, k])  # observation noise, per measure
        P, Poff = (_group(series, j, pilot.pilot_regions, info.columns) for j in (on, off))
        C, Coff = (
            (_group(series, j, comparison, info.columns) for j in (on, off))
            if comparison
            else (None, None)
        )
        trials.true.append(np.log((P[during].sum() + 0.5) / (Poff[during].sum() + 0.5)))
        Po = observe_counts(P, m.rate, rng)
        Co = observe_counts(C, m.rate, rng) if C is not None else None
        for weeks in weeks_tested:
            t = _count_test(Po, Co, before_w, weeks, spec.design)
            trials.by_weeks.setdefault(weeks, []).append(
                t.significant(spec.alpha) and t.estimate * sign > 0
            )
        t = _count_test(Po, Co, before_w, planned_w, spec.design)
        trials.estimate.append(float(np.expm1(t.estimate)))
        trials.se.append(t.se)
        trials.significant.append(t.significant(spec.alpha) and t.estimate * sign > 0)
        trials.worse.append(t.significant(spec.alpha) and t.estimate * sign < 0)
        observed = (Po[:before_w].sum(), Po[during].sum())
        if Co is not None:
            observed += (Co[:before_w].sum(), Co[during].sum())
        trials.totals.append(observed)
        # The same evaluation of the town without the pilot: a false alarm either way.
        Cf = observe_counts(Coff, m.rate, rng) if Coff is not None else None
        tf = _count_test(observe_counts(Poff, m.rate, rng), Cf, before_w, planned_w, spec.design)
        trials.false_alarm.append(tf.significant(spec.alpha))
        trials.z.append(t.z)
        trials.placebo_z.append(tf.z)
    return trials


def _survey_trials(pilot: LoadedPilot, k: int, m: Measure, jobs, runs, series) -> _Trials:
    """Two survey waves per group, before and during the pilot, in each replicate."""
    spec, trials = pilot.spec, _Trials()
    sign = -1.0 if m.info.better == "lower" else 1.0
    before_w, planned_w = spec.before_days // 7, spec.duration // 7
    for r, (on, off) in enumerate(jobs):
        rng = np.random.default_rng([spec.seed, r, k])
        shares = {
            arm: _survey_shares(pilot, runs, series, job, before_w, planned_w)
            for arm, job in (("on", on), ("off", off))
        }
        trials.true.append(shares["on"][1] - shares["off"][1])
        t = survey_test(_design_shares(shares["on"], spec.design), m.respondents, rng)
        hit = t.significant(spec.alpha) and t.estimate * sign > 0
        trials.estimate.append(t.estimate)
        trials.se.append(t.se)
        trials.significant.append(hit)
        trials.worse.append(t.significant(spec.alpha) and t.estimate * sign < 0)
        trials.by_weeks.setdefault(planned_w, []).append(hit)
        tf = survey_test(_design_shares(shares["off"], spec.design), m.respondents, rng)
        trials.false_alarm.append(tf.significant(spec.alpha))
        trials.z.append(t.z)
        trials.placebo_z.append(tf.z)
    return trials


def _summarise(pilot: LoadedPilot, m: Measure, trials: _Trials, harm_worse) -> MeasureResult:
    spec, count = pilot.spec, m.info.kind == "count"
    sign = -1.0 if m.info.better == "lower" else 1.0
    mean, lo, hi = _interval(np.array(trials.true))
    true_change = (np.expm1(mean), np.expm1(lo), np.expm1(hi)) if count else (mean, lo, hi)
    se = float(np.median(trials.se))

    def as_change(raw: float) -> float:
        # In the improving direction: a fall of 18% is -0.18 (pp for surveys).
        return float(np.expm1(sign * raw) if count else sign * raw)

    mde = as_change(minimum_detectable(se, spec.alpha, spec.power_target))
    power_by = {w * 7: float(np.mean(v)) for w, v in trials.by_weeks.items()}
    projected: set[int] = set()
    weeks_needed = areas_needed = at_planned = None
    if count:
        project = _Projection(trials, spec)
        at_planned = project.power()
        for d in spec.candidate_durations():
            if d // 7 > spec.duration // 7:
                power_by[d // 7 * 7] = project.power(weeks=d // 7)
                projected.add(d // 7 * 7)
        if mean * sign > 0:  # an improvement to find: how big must the evaluation be?
            weeks_needed = next(
                (w for w in range(1, 157) if project.power(weeks=w) >= spec.power_target), None
            )
            n0 = len(spec.pilot_areas)
            areas_needed = next(
                (n for n in range(1, 41) if project.power(area_factor=n / n0) >= spec.power_target),
                None,
            )
    significant = np.array(trials.significant, dtype=bool)
    worse = np.array(trials.worse, dtype=bool)
    calibration = placebo_calibration(trials.z, trials.placebo_z, sign, spec.alpha)
    calibrated_mde = None
    if calibration is not None:
        raw = minimum_detectable(se, spec.alpha, spec.power_target, calibration.critical)
        calibrated_mde = as_change(raw)
    return MeasureResult(
        measure=m,
        true_change=true_change,
        power=float(significant.mean()),
        power_by_duration=dict(sorted(power_by.items())),
        projected=projected,
        projected_at_planned=at_planned,
        false_positive=float(np.mean(trials.false_alarm)),
        mde=mde,
        recommended_weeks=weeks_needed,
        recommended_areas=areas_needed,
        estimates=np.array(trials.estimate, dtype=float),
        significant=significant,
        worse_flag=worse,
        misleading_good=float(np.mean(significant & harm_worse)),
        misleading_bad=float(np.mean(worse & ~harm_worse)),
        calibration=calibration,
        calibrated_mde=calibrated_mde,
    )


class _Projection:
    """Power beyond what was simulated: after-period counts scale with the weeks observed,
    all counts with the number of areas (assumed alike); the effect and the weekly
    overdispersion stay as simulated."""

    def __init__(self, trials: _Trials, spec):
        self.spec = spec
        self.effect = float(np.mean(trials.true))
        self.totals = np.mean(np.array(trials.totals, dtype=float), axis=0)
        # The dispersion behind each replicate's standard error: se^2 / sum(1 / totals).
        self.dispersion = float(
            np.median(
                [
                    se**2 / np.sum(1.0 / (np.array(tot) + 0.5))
                    for se, tot in zip(trials.se, trials.totals, strict=True)
                ]
            )
        )

    def power(self, weeks: int | None = None, area_factor: float = 1.0) -> float:
        planned = self.spec.duration // 7
        scaled = self.totals * area_factor
        scaled[1::2] *= (weeks or planned) / planned  # after-period totals
        se = np.sqrt(self.dispersion * np.sum(1.0 / (scaled + 0.5)))
        return analytic_power(self.effect, se, self.spec.alpha)


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


def _wdq(R: np.ndarray, D: np.ndarray, C: np.ndarray, before_w: int, weeks: int) -> float:
    """Weighted displacement quotient (Bowers & Johnson 2003) from weekly group totals."""
    b, a = slice(0, before_w), slice(before_w, before_w + weeks)
    Rb, Ra, Db, Da, Cb, Ca = R[b].sum(), R[a].sum(), D[b].sum(), D[a].sum(), C[b].sum(), C[a].sum()
    if Cb <= 0 or Ca <= 0:
        return float("nan")
    den = Rb / Cb - Ra / Ca
    return float((Db / Cb - Da / Ca) / den) if den != 0 else float("nan")
