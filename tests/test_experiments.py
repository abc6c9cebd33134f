"""The experiment layer: experiment files, designs, comparisons, the result store and runners.

Runs here use a small town (see `SMALL`) so that each takes well under a second.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from marketsim.experiments.commands import Backend, run_compare, run_sensitivity, run_sweep
from marketsim.experiments.compare import comparison_table
from marketsim.experiments.design import make_plan
from marketsim.experiments.spec import load_experiment
from marketsim.scenario import ScenarioError
from tests.conftest import ROOT, small

CRACKDOWN = [
    {"type": "standard_patrol"},
    {"type": "crackdown", "start": 10, "duration": 20, "intensity": 2},
]
# conftest's small town, 40 recorded days after 20 of burn-in, with a short crackdown
SMALL = {**small(steps=40, burn_in=20, tactics=CRACKDOWN).resolved(), "seed": 1}


def write(path: Path, data: dict) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.fixture
def small_scenario(tmp_path) -> Path:
    return write(tmp_path / "small.yaml", SMALL)


def experiment(tmp_path: Path, **fields) -> Path:
    write(tmp_path / "small.yaml", SMALL)
    data = {"name": "t", "scenario": "small.yaml", "seed": 5, **fields}
    return write(tmp_path / "exp.yaml", data)


FACTORIAL = {
    "replicates": 2,
    "parameters": [
        {"path": "tactics.crackdown.intensity", "values": [1, 4]},
        {"path": "treatment.places_per_site", "range": [5, 15], "steps": 3},
    ],
    "design": {"method": "factorial"},
}


# ----------------------------------------------------------------- experiment files
@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"replicate": 2}, "unknown key 'replicate'; allowed keys:"),
        ({"design": {"method": "grid"}}, "design.method: bad value 'grid'"),
        (
            {
                "parameters": [{"path": "tactics.crackdown.intensity", "range": [1, 99999]}],
                "design": {"method": "lhs"},
            },
            "parameters.tactics.crackdown.intensity: bad value 99999",
        ),
        (
            {
                "parameters": [{"path": "tactics.nosuch.intensity", "range": [1, 4]}],
                "design": {"method": "lhs"},
            },
            "bad index 'nosuch': no such item",
        ),
        (
            {
                "parameters": [{"path": "police.n_unitz", "range": [1, 4]}],
                "design": {"method": "lhs"},
            },
            "unknown key 'n_unitz'",
        ),
        (
            {
                "parameters": [{"path": "police.n_units", "range": [1, 4]}],
                "design": {"method": "sobol", "samples": 100},
            },
            "design.samples: bad value 100: Sobol needs a power of 2",
        ),
        (
            {
                "parameters": [{"path": "police.n_units", "values": [1, 4]}],
                "design": {"method": "morris"},
            },
            "design 'morris' needs a 'range'",
        ),
        ({"replicates": 0}, "replicates: bad value 0"),
    ],
)
def test_bad_experiment_files_name_file_field_value_and_allowed(tmp_path, fields, message):
    path = experiment(tmp_path, **fields)
    with pytest.raises(ScenarioError) as err:
        load_experiment(path)
    text = str(err.value)
    assert text.startswith(str(path)), text
    assert message in text, text
    assert "\n" not in text


def test_bad_experiment_file_from_the_cli_is_one_line_not_a_traceback(tmp_path):
    path = experiment(tmp_path, design={"method": "grid"})
    proc = subprocess.run(
        [sys.executable, "-m", "marketsim.cli", "sweep", str(path), "--out", str(tmp_path / "o")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith(f"error: {path}: design.method: bad value 'grid'")


def test_factorial_design_pairs_seeds_across_points(tmp_path):
    plan = make_plan(load_experiment(experiment(tmp_path, **FACTORIAL)))
    assert len(plan.points) == 2 * 3 and len(plan.jobs) == 12
    assert {tuple(p.values()) for p in plan.points} == {(i, n) for i in (1, 4) for n in (5, 10, 15)}
    # replicate r of every point runs on seed 5 + r (common random numbers)
    assert {(j.replicate, j.seed) for j in plan.jobs} == {(0, 5), (1, 6)}
    assert sorted(j.id for j in plan.jobs) == list(range(12))


def test_integer_parameters_are_rounded_and_kept_in_bounds(tmp_path):
    path = experiment(
        tmp_path,
        parameters=[
            {"path": "tactics.crackdown.intensity", "range": [1, 6]},
            {"path": "tactics.crackdown.duration", "range": [5, 30]},
        ],
        design={"method": "lhs", "samples": 40},
    )
    plan = make_plan(load_experiment(path))
    values = [p["tactics.crackdown.intensity"] for p in plan.points]
    assert all(isinstance(v, int) and 1 <= v <= 6 for v in values)
    assert set(values) == set(range(1, 7))


# ----------------------------------------------------------------------- comparisons
def test_comparison_table_pairs_by_replicate():
    """Known answer: B = A - 2 on every seed, so the paired difference is exactly -2
    with a zero-width interval although A itself varies a lot; B is better (lower) on
    every seed."""
    a = np.array([10.0, 50.0, 90.0])
    runs = pd.DataFrame(
        {
            "label": ["A"] * 3 + ["B"] * 3,
            "replicate": [0, 1, 2] * 2,
            "job": range(6),
            "point": [0] * 3 + [1] * 3,
            "seed": [1, 2, 3] * 2,
            "all.violent_incidents": np.concatenate([a, a - 2]),
            "all.arrests": np.concatenate([a, a + 1]),
        }
    )
    t = comparison_table(runs, ["A", "B"]).set_index(["scenario", "metric"])
    v = t.loc[("B", "violent_incidents")]
    assert v["mean"] == pytest.approx(48.0)
    assert v.diff_vs_first == pytest.approx(-2.0)
    assert v.diff_ci_low == pytest.approx(-2.0) and v.diff_ci_high == pytest.approx(-2.0)
    assert v.share_seeds_better == 1.0 and v.better_when == "lower"
    # an unpaired interval on A would be wide: 50 +/- t(0.975, 2) * 40 / sqrt(3)
    assert t.loc[("A", "violent_incidents")].ci_high == pytest.approx(50 + 4.302653 * 40 / 3**0.5)
    assert np.isnan(t.loc[("B", "arrests")].share_seeds_better)  # arrests: no "better" reading


def test_compare_asked_for_more_seeds_runs_only_the_new_ones(tmp_path, small_scenario):
    """A finished comparison extended from 2 to 3 seeds runs 2 new jobs (one per scenario),
    and its table equals a fresh 3-seed comparison's; asked for 2 again, it runs nothing and
    its table equals the first one's."""
    other = write(
        tmp_path / "other.yaml", {**SMALL, "name": "more_police", "police": {"n_units": 8}}
    )
    serial = Backend("serial", progress=False)
    out, fresh = tmp_path / "cmp", tmp_path / "fresh"
    first = run_compare([small_scenario, other], out, replicates=2, seed=5, backend=serial)
    table2 = pd.read_csv(out / "comparison.csv")
    more = run_compare([small_scenario, other], out, replicates=3, seed=5, backend=serial)
    assert (first.progress.ran, more.progress.ran, more.progress.skipped) == (4, 2, 4)
    run_compare([small_scenario, other], fresh, replicates=3, seed=5, backend=serial)
    pd.testing.assert_frame_equal(
        pd.read_csv(out / "comparison.csv"), pd.read_csv(fresh / "comparison.csv")
    )
    again = run_compare([small_scenario, other], out, replicates=2, seed=5, backend=serial)
    assert again.progress.ran == 0
    pd.testing.assert_frame_equal(pd.read_csv(out / "comparison.csv"), table2)
    assert "--replicates 2" in again.report.read_text()


def test_compare_end_to_end_writes_csv_and_report(tmp_path, small_scenario):
    other = write(
        tmp_path / "other.yaml", {**SMALL, "name": "more_police", "police": {"n_units": 8}}
    )
    out = tmp_path / "cmp"
    result = run_compare(
        [small_scenario, other],
        out,
        replicates=3,
        seed=11,
        backend=Backend("serial", progress=False),
    )
    assert result.complete and result.report == out / "report.md"
    table = pd.read_csv(out / "comparison.csv")
    assert set(table.columns) >= {
        "scenario",
        "region",
        "metric",
        "mean",
        "ci_low",
        "ci_high",
        "diff_vs_first",
        "diff_ci_low",
        "diff_ci_high",
        "share_seeds_better",
    }
    assert set(table.scenario) == {"small", "more_police"}
    assert set(table.region) == {"all", "target", "buffer", "control"}
    runs = pd.read_parquet(out / "results.parquet")
    assert sorted(runs.seed.unique()) == [11, 12, 13]
    text = result.report.read_text()
    for image in (
        "net_harm_profiles",
        "harm_by_type",
        "traditional_vs_harm",
        "series_visible_dealing",
        "wdq",
    ):
        assert f"plots/{image}.png" in text
        assert (out / "plots" / f"{image}.png").stat().st_size > 5_000
    assert "What this shows" in text and "way of weighting harms" in text
    assert f"marketsim compare {small_scenario} {other} --replicates 3 --seed 11" in text


# ------------------------------------------------------------ store, resume, failures
def test_failed_runs_are_recorded_and_retried(tmp_path, monkeypatch):
    import marketsim.io

    real = marketsim.io.simulate

    def flaky(scenario, progress=False, cache=None):
        if scenario.seed == 6 and scenario.treatment.places_per_site == 10:
            raise RuntimeError("simulated failure")
        return real(scenario, progress, cache)

    monkeypatch.setattr(marketsim.io, "simulate", flaky)
    path = experiment(tmp_path, **FACTORIAL)
    out = tmp_path / "sweep"
    first = run_sweep(path, out, Backend("serial", progress=False))
    assert not first.complete and len(first.failures) == 2  # two points x seed 6
    assert first.progress.ran == 12 and first.progress.failed == 2
    info = next(iter(first.failures.values()))
    assert "simulated failure" in info["error"] and info["seed"] == 6
    assert not (out / "results.parquet").exists()
    monkeypatch.setattr(marketsim.io, "simulate", real)
    second = run_sweep(path, out, Backend("serial", progress=False))
    assert second.complete and second.progress.skipped == 10 and second.progress.ran == 2
    assert len(pd.read_parquet(out / "results.parquet")) == 12


def test_a_store_refuses_results_of_another_experiment(tmp_path):
    from marketsim.experiments.store import StoreError

    path = experiment(tmp_path, **FACTORIAL)
    out = tmp_path / "sweep"
    run_sweep(path, out, Backend("serial", progress=False))
    changed = experiment(tmp_path, **{**FACTORIAL, "replicates": 3})
    with pytest.raises(StoreError, match="different experiment"):
        run_sweep(changed, out, Backend("serial", progress=False))


def test_a_store_refuses_results_made_under_other_parameter_defaults(tmp_path, monkeypatch):
    """Results made before a recalibration are another model's: the same command refuses
    them instead of resuming (and mixing) them."""
    import marketsim.experiments.store as store
    from marketsim.experiments.store import StoreError

    path = experiment(tmp_path, **FACTORIAL)
    out = tmp_path / "sweep"
    run_sweep(path, out, Backend("serial", progress=False))
    assert json.loads((out / "manifest.json").read_text())["defaults"] == store.defaults_digest()
    monkeypatch.setattr(store, "defaults_digest", lambda: "recalibrated")
    with pytest.raises(StoreError, match="other parameter defaults"):
        run_sweep(path, out, Backend("serial", progress=False))


def test_a_store_refuses_results_made_by_another_model_revision(tmp_path, monkeypatch):
    """A change of behaviour (a new mechanism) leaves the version and the defaults as they
    were: the model revision is what tells the same command not to resume old results."""
    import marketsim.experiments.store as store
    from marketsim.experiments.store import StoreError

    path = experiment(tmp_path, **FACTORIAL)
    out = tmp_path / "sweep"
    run_sweep(path, out, Backend("serial", progress=False))
    assert json.loads((out / "manifest.json").read_text())["model_revision"] == (
        store.MODEL_REVISION
    )
    monkeypatch.setattr(store, "MODEL_REVISION", "a later model")
    with pytest.raises(StoreError, match=r"made by model revision .*, this is model revision a"):
        run_sweep(path, out, Backend("serial", progress=False))
    # A store from before revisions were recorded says so in words.
    manifest = json.loads((out / "manifest.json").read_text())
    del manifest["model_revision"]
    (out / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(StoreError, match=r"made by an earlier model revision, this is model"):
        run_sweep(path, out, Backend("serial", progress=False))


def test_the_defaults_digest_covers_the_tactics_defaults(monkeypatch):
    """A changed default of a tactic (the crackdown's, say) is a change of defaults too, so
    a store made before it is refused rather than reported as the new model's."""
    from marketsim import scenario
    from marketsim.tactics.configs.crackdown import CrackdownConfig

    class Recalibrated(CrackdownConfig):
        attention_halflife: float | None = 30.0

    before = scenario.defaults_digest()
    monkeypatch.setitem(scenario.CONFIGS, "crackdown", Recalibrated)
    assert scenario.defaults_digest() != before


def _resume_experiment(tmp_path: Path) -> Path:
    return experiment(
        tmp_path,
        replicates=2,
        parameters=[{"path": "tactics.crackdown.intensity", "values": [1, 2, 3, 4, 5, 6, 7, 8]}],
        design={"method": "factorial"},
        outcomes={"timeseries": True},
    )


def test_sweep_resumes_after_kill_9_with_identical_results(tmp_path):
    """Kill the whole sweep (parent and workers) with SIGKILL mid-way; running the same
    command again skips the finished runs and ends with exactly the results of an
    uninterrupted run."""
    path = _resume_experiment(tmp_path)
    out = tmp_path / "killed"
    cmd = [
        sys.executable,
        "-m",
        "marketsim.cli",
        "sweep",
        str(path),
        "--out",
        str(out),
        "--workers",
        "2",
    ]
    proc = subprocess.Popen(
        cmd, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.time() + 120
    while time.time() < deadline and len(list((out / "runs").glob("part-*.parquet"))) < 4:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done = len(list((out / "runs").glob("part-*.parquet")))
    assert 4 <= done < 16, f"{done} runs finished before the kill"
    assert not (out / "results.parquet").exists()
    again = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert again.returncode == 0, again.stderr
    assert f"{16 - done} run(s)" in again.stdout and f"{done} already done" in again.stdout
    reference = run_sweep(path, tmp_path / "clean", Backend("serial", progress=False))
    assert reference.complete
    pd.testing.assert_frame_equal(
        pd.read_parquet(out / "results.parquet"),
        pd.read_parquet(tmp_path / "clean" / "results.parquet"),
        check_exact=True,
    )
    from marketsim.experiments.store import ResultStore

    pd.testing.assert_frame_equal(
        ResultStore(out).load_series(),
        ResultStore(tmp_path / "clean").load_series(),
        check_exact=True,
    )
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seeds"] == [5, 6] and manifest["n_jobs"] == 16
    finished = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert finished.returncode == 0, finished.stderr
    assert "no runs left to do, 16 already done" in finished.stdout


@pytest.mark.dask
def test_results_are_bit_identical_across_backends_and_worker_counts(tmp_path):
    pytest.importorskip("dask.distributed")
    path = experiment(tmp_path, **FACTORIAL)
    frames = {}
    for name, backend in {
        "serial": Backend("serial", progress=False),
        "local-2": Backend("local", workers=2, progress=False),
        "local-3": Backend("local", workers=3, progress=False),
        "dask-2": Backend("dask", workers=2, progress=False),
    }.items():
        result = run_sweep(path, tmp_path / name, backend)
        assert result.complete, result.failures
        frames[name] = pd.read_parquet(tmp_path / name / "results.parquet")
    for name, frame in frames.items():
        pd.testing.assert_frame_equal(frame, frames["serial"], check_exact=True, obj=name)
    # and the sweep wrote its table and plot
    assert (tmp_path / "serial" / "sweep.csv").exists()
    assert (tmp_path / "serial" / "plots" / "sweep_grid.png").exists()


def test_sensitivity_end_to_end_on_the_model(tmp_path):
    """A small Morris screening through the CLI path: index tables, plot and summary."""
    path = experiment(
        tmp_path,
        parameters=[
            {"path": "tactics.crackdown.intensity", "range": [1, 6]},
            {"path": "police.n_units", "range": [2, 8]},
        ],
        design={"method": "morris", "samples": 3, "levels": 4, "noise_runs": 3},
    )
    result = run_sensitivity(path, tmp_path / "sa", Backend("serial", progress=False))
    assert result.complete and result.report.name == "summary.md"
    table = pd.read_csv(tmp_path / "sa" / "indices" / "all_net_harm_gbp.csv")
    assert list(table.parameter) == ["tactics.crackdown.intensity", "police.n_units"]
    assert (table.mu_star >= 0).all() and table.mu_star.max() > 0
    # The floor comes from the three noise runs, which differ only in their seeds.
    runs = pd.read_parquet(tmp_path / "sa" / "results.parquet")
    noise = runs.loc[runs.point < 0, "all.net_harm_gbp"]
    assert len(noise) == 3 and noise.nunique() == 3
    assert table.noise_floor.iloc[0] == pytest.approx(
        2 * noise.std() / (np.sqrt(np.pi) * 4 / 6),
        rel=1e-5,  # CSV keeps 6 digits
    )
    assert (table.noise_floor_upper > table.noise_floor).all()
    assert table.clear_of_noise.dtype == bool
    text = result.report.read_text()
    assert "police.n_units" in text and "Run-to-run noise" in text


def test_shipped_experiment_files_load_and_plan():
    files = sorted(
        f
        for f in (ROOT / "experiments").glob("*.yaml")
        if not f.stem.startswith(("pilot_", "calibrate_"))  # own formats, own tests
    )
    assert len(files) >= 3
    methods = set()
    for f in files:
        exp = load_experiment(f)
        plan = make_plan(exp)
        methods.add(exp.spec.design.method)
        noise = exp.spec.design.noise_runs if exp.spec.design.method in ("sobol", "morris") else 0
        assert len(plan.jobs) == len(plan.points) * exp.spec.replicates + noise > 0
    assert {"sobol", "morris", "factorial"} <= methods


def test_samples_option_resizes_the_design_and_keeps_its_results_apart():
    path = ROOT / "experiments" / "sobol_tactics.yaml"
    full = load_experiment(path)
    quick = load_experiment(path, samples=8)
    k = len(full.spec.parameters)
    noise = full.spec.design.noise_runs
    assert len(make_plan(quick).jobs) == 8 * (2 * k + 2) + noise
    assert len(make_plan(full).jobs) == full.spec.design.samples * (2 * k + 2) + noise
    assert quick.digest() != full.digest()  # a store of one refuses the other
    assert quick.default_out == Path("out") / "sobol_tactics-n8"
    assert full.default_out == Path("out") / "sobol_tactics"


@pytest.mark.parametrize(
    ("file", "samples", "message"),
    [
        ("sobol_tactics.yaml", 12, "--samples: bad value 12: sobol needs a power of 2"),
        ("treatment_x_diversion.yaml", 8, "--samples: bad value 8: design 'factorial'"),
    ],
)
def test_samples_option_rejects_what_the_design_cannot_use(file, samples, message):
    path = ROOT / "experiments" / file
    with pytest.raises(ScenarioError) as err:
        load_experiment(path, samples=samples)
    assert str(err.value).startswith(str(path))
    assert message in str(err.value)
    proc = subprocess.run(
        [sys.executable, "-m", "marketsim.cli", "sweep", str(path), "--samples", str(samples)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert message in proc.stderr and "Traceback" not in proc.stderr


def test_noise_runs_sit_at_the_centre_on_seeds_no_design_point_uses():
    exp = load_experiment(ROOT / "experiments" / "sobol_tactics.yaml")
    plan = make_plan(exp)
    noise = [j for j in plan.jobs if j.point < 0]
    design = [j for j in plan.jobs if j.point >= 0]
    assert len(noise) == exp.spec.design.noise_runs > 1
    assert [j.id for j in plan.jobs] == list(range(len(plan.jobs)))
    assert {j.seed for j in noise}.isdisjoint({j.seed for j in design})
    assert len({j.seed for j in noise}) == len(noise)
    for p in exp.spec.parameters:
        lo, hi = p.range
        values = {j.params[p.path] for j in noise}
        assert len(values) == 1 and abs(values.pop() - (lo + hi) / 2) <= 0.5


def test_without_a_terminal_progress_is_a_plain_line_with_time_left(tmp_path, monkeypatch, capsys):
    """No bar can be drawn in a cluster job's log: a line a minute says runs done, failures,
    rate and time left (here every run, with the interval set to 0)."""
    from marketsim.experiments import execute

    monkeypatch.setattr(execute.ProgressLog, "every_s", 0.0)
    run_sweep(experiment(tmp_path, **FACTORIAL), tmp_path / "sweep", Backend("serial"))
    lines = [x for x in capsys.readouterr().err.splitlines() if x.startswith("runs: ")]
    assert len(lines) == 12
    assert lines[0].startswith("runs: 1/12 done, 0 failed, ") and "left" in lines[0]
    assert lines[-1].startswith("runs: 12/12 done, 0 failed, ")
    assert "about 0 min left" in lines[-1]


def test_consolidating_again_keeps_results_that_hold_every_run(tmp_path, monkeypatch):
    """A second consolidate with nothing new keeps results.parquet (no re-reading of parts);
    once another run is on disk it is gathered again and includes it."""
    from marketsim.experiments.jobs import Job, JobResult
    from marketsim.experiments.store import ResultStore

    store = ResultStore(tmp_path)
    store.open({"digest": "d", "name": "t"})

    def finish(i: int) -> None:
        job = Job(i, f"point {i}", i, 0, 1, {}, (), "t.yaml")
        store.write(JobResult(job, outcomes={"all.net_harm_gbp": float(i)}))

    for i in range(3):
        finish(i)
    store.consolidate()
    assert pd.read_parquet(tmp_path / "results.parquet").job.tolist() == [0, 1, 2]

    def no_gather(folder):
        raise AssertionError("re-read the parts")

    monkeypatch.setattr(ResultStore, "_gather", staticmethod(no_gather))
    store.consolidate()  # nothing new: kept as it is
    monkeypatch.undo()
    finish(3)
    store.consolidate()
    assert pd.read_parquet(tmp_path / "results.parquet").job.tolist() == [0, 1, 2, 3]
