"""Stop signals are taken where Python code can take them (marketsim.interrupts).

A signal's handler raises between two bytecodes; inside a compiled kernel's call that
comes back as a SystemError, and inside a finaliser or a ctypes callback Python prints it
and goes on. The handler therefore also records the signal, and the day loop, the
result loop and the job runner look at the record. tests/test_hardening.py sends real
signals to a real command; these tests put each route through its paces directly.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import types

import pytest

from marketsim import cli, interrupts
from marketsim.experiments.jobs import Job, run_job
from marketsim.interrupts import Interrupted
from marketsim.io import simulate
from marketsim.model import MarketModel
from tests.conftest import small
from tests.test_experiments import SMALL, write
from tests.test_hardening import (
    group_members,
    kill_group,
    one_clean_line,
    parts,
    start,
    stopped_in_one_line,
    wait_until,
)


@pytest.fixture(autouse=True)
def no_signal_left():
    interrupts.clear()
    yield
    interrupts.clear()


def test_a_stop_recorded_but_not_raised_ends_the_run_after_the_day():
    days = []
    sc = small(steps=30, burn_in=5)

    original = MarketModel.step

    def step(model):
        original(model)
        days.append(model.world.day)
        if len(days) == 3:
            interrupts.request(signal.SIGTERM)  # as if the handler's raise were lost

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(MarketModel, "step", step)
        with pytest.raises(Interrupted) as info:
            simulate(sc)
    assert info.value.signum == signal.SIGTERM
    assert len(days) == 3  # not one day more


def test_a_stop_that_came_back_as_a_kernels_system_error_is_an_interrupt():
    def step(model):
        interrupts.request(signal.SIGINT)
        raise SystemError("CPUDispatcher(...) returned a result with an exception set")

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(MarketModel, "step", step)
        with pytest.raises(Interrupted) as info:
            simulate(small(steps=5, burn_in=0))
    assert info.value.signum == signal.SIGINT


def test_a_system_error_without_a_stop_stays_an_error():
    def step(model):
        raise SystemError("a real bug")

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(MarketModel, "step", step)
        with pytest.raises(SystemError, match="a real bug"):
            simulate(small(steps=5, burn_in=0))


def test_an_interrupted_job_is_not_recorded_as_a_failed_run():
    sc = small(steps=5, burn_in=0)
    job = Job(0, "small", 0, 0, 1, sc.resolved(), ("seed=1",), "<test>")

    stop = [signal.SIGTERM]

    def step(model):
        for signum in stop:
            interrupts.request(signum)
        raise SystemError("returned a result with an exception set")

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(MarketModel, "step", step)
        with pytest.raises(Interrupted):
            run_job(job)
        interrupts.clear()
        stop.clear()
        # Without a stop, the same error is the run's failure, recorded and not raised.
        result = run_job(job)
    assert result.error is not None and "SystemError" in result.error


def test_an_interrupt_python_could_not_raise_is_not_printed(monkeypatch):
    printed = []
    monkeypatch.setattr(sys, "__unraisablehook__", printed.append)  # Python's own printer
    ignored = types.SimpleNamespace(
        exc_type=Interrupted, exc_value=Interrupted(signal.SIGTERM), object=None
    )
    other = types.SimpleNamespace(exc_type=ValueError, exc_value=ValueError("boom"), object=None)
    # What CI saw (2026-12-07): SIGTERM landed while llvmlite built an object for a kernel
    # loading from the cache, and the half-built object's finaliser failed.
    from llvmlite.binding import ffi

    echo = types.SimpleNamespace(
        exc_type=AttributeError,
        exc_value=AttributeError("'OutputString' object has no attribute '_ptr'"),
        object=ffi.OutputString.__del__,
    )
    cli._unraisable(ignored)  # no signal recorded: printed as before
    cli._unraisable(echo)
    interrupts.request(signal.SIGTERM)
    cli._unraisable(ignored)  # the recorded signal's: the day's check takes it up
    cli._unraisable(echo)  # the compiler's finaliser, after the signal: its echo
    cli._unraisable(other)  # anything else: printed
    assert printed == [ignored, echo, other]


def test_a_signal_ignored_at_start_stays_ignored():
    """`nohup marketsim sweep ...` keeps running when the terminal closes."""
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    saved_hook = sys.unraisablehook
    try:
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        cli._install_stop_handlers()
        assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
        assert signal.getsignal(signal.SIGTERM) is cli._on_stop_signal
        assert signal.getsignal(signal.SIGINT) is cli._on_stop_signal
    finally:
        for s, handler in saved.items():
            signal.signal(s, handler)
        sys.unraisablehook = saved_hook


def test_a_worker_killed_between_two_results_is_one_runner_error():
    """A worker killed (kill -9, the OOM killer) while the parent was handing out the next
    batch broke the pool at `submit`, outside the check on results: a BrokenProcessPool
    traceback instead of the one line a worker's death gets."""
    from marketsim.experiments.runners import LocalRunner, RunnerError

    sc = small(steps=5, burn_in=0)
    job = Job(0, "small", 0, 0, 1, sc.resolved(), ("seed=1",), "<test>")
    runner = LocalRunner(2)
    try:
        runner._pool.submit(os._exit, 1).exception(timeout=60)  # a worker dies: pool broken
        with pytest.raises(RunnerError, match=r"a worker process died.*run the same command"):
            list(runner.run([[job]]))
    finally:
        runner.close(abort=True)


@pytest.mark.slow
@pytest.mark.dask
def test_ctrl_c_stops_a_dask_local_cluster_with_one_line(tmp_path):
    """Ctrl-C at a terminal reaches the whole process group: each worker of the Dask
    LocalCluster printed a KeyboardInterrupt traceback, and Dask warned about every run it
    cancelled, around the one line saying how to resume."""
    pytest.importorskip("distributed")

    a = write(tmp_path / "a.yaml", SMALL)
    out = tmp_path / "out"
    proc = start(
        ["compare", str(a), str(a), "--replicates", "8", "--set", "steps=150",
         "--backend", "dask", "--workers", "2", "--out", str(out)]
    )  # fmt: skip
    try:
        assert wait_until(lambda: (out / "runs").is_dir() and parts(out) >= 1, 120)
        os.killpg(proc.pid, signal.SIGINT)
        stopped_in_one_line(proc, 130)
    finally:
        kill_group(proc)


@pytest.mark.slow
@pytest.mark.dask
def test_a_dask_scheduler_lost_mid_run_is_one_line_and_keeps_the_runs(tmp_path):
    """`--scheduler` whose scheduler dies mid-run: Dask's two-line reason ('... cancelled
    for reason: scheduler-connection-lost.' and 'Client lost the connection ...') came
    after a logged traceback of the client's cancelled reconnection."""
    pytest.importorskip("distributed")

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "env": os.environ}
    scheduler = subprocess.Popen(
        [sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port",
         str(port), "--no-dashboard"], start_new_session=True, **quiet
    )  # fmt: skip
    worker = subprocess.Popen(
        [sys.executable, "-m", "distributed.cli.dask_worker", address, "--nthreads", "1",
         "--no-dashboard"], start_new_session=True, **quiet
    )  # fmt: skip
    a = write(tmp_path / "a.yaml", SMALL)
    out = tmp_path / "out"
    proc = start(
        ["compare", str(a), str(a), "--replicates", "40", "--set", "steps=150",
         "--backend", "dask", "--scheduler", address, "--out", str(out)]
    )  # fmt: skip
    try:
        assert wait_until(lambda: (out / "runs").is_dir() and parts(out) >= 2, 120)
        scheduler.kill()
        stdout, stderr = proc.communicate(timeout=60)
        res = subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)
        one_clean_line(res, "the Dask cluster failed", "finished runs are saved")
        assert proc.returncode == 2 and parts(out) >= 2
    finally:
        kill_group(proc)
        for server in (scheduler, worker):
            os.killpg(server.pid, 9)
            server.wait(timeout=30)


@pytest.mark.slow
@pytest.mark.parametrize(("sig", "whom"), [(signal.SIGINT, "group"), (signal.SIGTERM, "command")])
def test_a_stop_while_the_workers_start_is_one_line(tmp_path, sig, whom):
    """A stop in the first seconds, while the pool's helpers and workers were starting:
    Ctrl-C (to the whole group) stopped the forkserver and resource tracker mid-import with
    a KeyboardInterrupt traceback each, and a worker left half-started (its parent stopped
    inside `submit`) failed reading its setup with a FileNotFoundError traceback."""

    a = write(tmp_path / "a.yaml", SMALL)
    out = tmp_path / "out"
    proc = start(
        ["compare", str(a), str(a), "--replicates", "4", "--workers", "2", "--out", str(out)]
    )
    try:
        # the command, its resource tracker and its forkserver: the workers are next
        assert wait_until(lambda: len(group_members(proc.pid)) >= 3, 120, every=0.01)
        (os.killpg if whom == "group" else os.kill)(proc.pid, sig)
        stopped_in_one_line(proc, 128 + sig)
    finally:
        kill_group(proc)


@pytest.mark.slow
@pytest.mark.dask
def test_a_stop_while_a_dask_local_cluster_starts_is_one_line(tmp_path):
    """SIGTERM while the LocalCluster started its workers: the half-built cluster failed
    to close at exit ('Exception ignored in atexit callback', an AssertionError traceback)."""
    pytest.importorskip("distributed")

    a = write(tmp_path / "a.yaml", SMALL)
    out = tmp_path / "out"
    proc = start(
        ["compare", str(a), str(a), "--replicates", "4", "--backend", "dask",
         "--workers", "2", "--out", str(out)]
    )  # fmt: skip
    try:
        # the command and its first worker process: the cluster is starting
        assert wait_until(lambda: len(group_members(proc.pid)) >= 2, 120, every=0.01)
        os.kill(proc.pid, signal.SIGTERM)
        stopped_in_one_line(proc, 143)
    finally:
        kill_group(proc)
