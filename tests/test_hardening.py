"""Hardening (issue 17): hostile or careless input gets one clean line, never a hang,
a traceback, an orphan process or a file written outside its folder."""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from marketsim.scenario import ScenarioError, load_scenario, parse_override
from tests.conftest import ROOT
from tests.test_experiments import SMALL, write


def marketsim(*args: str, cwd=ROOT, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "marketsim.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=timeout,
    )


def one_clean_line(res: subprocess.CompletedProcess, *needles: str) -> str:
    """The command failed with exactly one error line, no traceback, naming each needle."""
    assert res.returncode != 0, res.stdout
    assert "Traceback" not in res.stderr, res.stderr
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, res.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


# ------------------------------------------------------------------ 1. bounded parsing
def alias_bomb(levels: int) -> str:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, levels):
        refs = ",".join([f"*a{i - 1}"] * 9)
        lines.append(f"a{i}: &a{i} [{refs}]")
    return "\n".join(lines) + "\n"


def test_alias_bomb_is_refused_quickly(tmp_path):
    path = tmp_path / "bomb.yaml"
    path.write_text(alias_bomb(9))  # 9**9 = 387 million strings once expanded
    assert len(path.read_bytes()) < 500
    t0 = time.perf_counter()
    with pytest.raises(ScenarioError, match="aliases expand to over") as info:
        load_scenario(path)
    assert time.perf_counter() - t0 < 2.0
    assert str(path) in str(info.value)


def test_alias_bomb_in_set_is_refused():
    bomb = alias_bomb(9).replace("\n", ", ").replace("a0: ", "{a0: ", 1)
    with pytest.raises(ScenarioError, match="aliases expand"):
        parse_override(f"description={bomb.rstrip(', ')}}}")


def test_recursive_alias_is_refused(tmp_path):
    path = tmp_path / "rec.yaml"
    path.write_text("market: &m\n  n_users: 100\n  extra: *m\n")
    with pytest.raises(ScenarioError, match="alias refers to itself"):
        load_scenario(path)


def test_huge_file_is_refused_before_parsing(tmp_path):
    path = tmp_path / "huge.yaml"
    path.write_text("description: " + "x" * 2_100_000 + "\n")
    with pytest.raises(ScenarioError, match="at most 2,000,000"):
        load_scenario(path)


def test_cli_validate_alias_bomb_one_line(tmp_path):
    path = tmp_path / "bomb.yaml"
    path.write_text(alias_bomb(9))
    one_clean_line(marketsim("validate", str(path), timeout=60), str(path), "aliases")


def test_yaml_merge_keys_work_and_own_keys_win(tmp_path):
    path = tmp_path / "merge.yaml"
    path.write_text(
        "market:\n  <<: {n_users: 120, n_dealers: 20}\n  n_dealers: 30\n"
        "police: &p\n  n_units: 3\n"
        "tactics:\n  - <<: {type: standard_patrol, name: a}\n  - <<: {type: standard_patrol}\n"
        "    name: b\n"
    )
    sc = load_scenario(path)
    assert (sc.market.n_users, sc.market.n_dealers) == (120, 30)
    assert [t.label for t in sc.tactics] == ["a", "b"]


def test_duplicate_key_still_refused_beside_a_merge(tmp_path):
    path = tmp_path / "dup.yaml"
    path.write_text("market:\n  <<: {n_users: 120}\n  n_dealers: 30\n  n_dealers: 40\n")
    with pytest.raises(ScenarioError, match="appears twice"):
        load_scenario(path)


# ------------------------------------------------------- helpers for experiment runs
def sweep_file(tmp_path: Path, n_values: int = 8, **fields) -> Path:
    """A factorial sweep of `2 * n_values` small runs (each well under a second)."""
    write(tmp_path / "small.yaml", SMALL)
    data = {
        "name": "t",
        "scenario": "small.yaml",
        "seed": 5,
        "replicates": 2,
        "parameters": [
            {"path": "tactics.crackdown.intensity", "values": list(range(1, n_values + 1))}
        ],
        "design": {"method": "factorial"},
        **fields,
    }
    return write(tmp_path / "exp.yaml", data)


def group_members(pgid: int) -> list[int]:
    """Live processes in process group `pgid` (zombies, already dead, are not counted)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
            found.append(int(stat.parent.name))
    return found


def wait_until(condition, timeout: float, every: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(every)
    return condition()


def parts(out: Path) -> int:
    return len(list((out / "runs").glob("part-*.parquet")))


def start(cmd: list[str]) -> subprocess.Popen:
    """A command in a session of its own, so the test can always clean up its whole group."""
    return subprocess.Popen(
        [sys.executable, "-m", "marketsim.cli", *cmd],
        cwd=ROOT,
        start_new_session=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def kill_group(proc: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=10)


# ------------------------------------------------------------------ 2. --out checked first
@pytest.mark.parametrize("command", ["run", "sweep", "compare"])
@pytest.mark.parametrize("where", ["file", "under_file"])
def test_bad_out_fails_before_any_run(tmp_path, command, where):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder\n")
    out = blocker if where == "file" else blocker / "sub"
    scenario = write(tmp_path / "small.yaml", SMALL)
    args = {
        "run": ["run", str(scenario)],
        "sweep": ["sweep", str(sweep_file(tmp_path))],
        "compare": ["compare", str(scenario), str(scenario), "--replicates", "1"],
    }[command]
    t0 = time.perf_counter()
    res = marketsim(*args, "--out", str(out), *([] if command == "run" else ["--workers", "1"]))
    line = one_clean_line(res, str(out))
    assert ("is a file" in line) if where == "file" else ("Not a directory" in line), line
    assert time.perf_counter() - t0 < 60
    assert blocker.read_text() == "not a folder\n"


def test_disk_full_mid_sweep_is_one_line_and_keeps_finished_runs(tmp_path, monkeypatch):
    """ENOSPC on the fourth result written: a clean error, three runs kept, and the same
    command then resumes from them."""
    from typer.testing import CliRunner

    from marketsim.cli import app
    from marketsim.experiments import store

    path = sweep_file(tmp_path, n_values=3)
    out = tmp_path / "out"
    real = store._write_parquet
    written = []

    def fill_up(frame, target):
        if len(written) >= 3:
            raise OSError(errno.ENOSPC, "No space left on device", str(target))
        written.append(target)
        real(frame, target)

    monkeypatch.setattr(store, "_write_parquet", fill_up)
    args = ["sweep", str(path), "--out", str(out), "--backend", "serial"]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output
    lines = [line for line in res.output.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "No space left on device" in lines[0], res.output
    assert "run the same command again to resume" in lines[0]
    assert parts(out) == 3
    monkeypatch.setattr(store, "_write_parquet", real)
    again = CliRunner().invoke(app, args)
    assert again.exit_code == 0, again.output
    assert "3 run(s)" in again.output and "3 already done" in again.output


# ------------------------------------------------------------------------ 3. processes
@pytest.mark.slow
def test_workers_forkserver_and_tracker_die_with_a_killed_parent(tmp_path):
    path = sweep_file(tmp_path, n_values=12)
    out = tmp_path / "out"
    proc = start(["sweep", str(path), "--out", str(out), "--workers", "2"])
    try:
        assert wait_until(lambda: parts(out) >= 1, 120), proc.stderr
        assert len(group_members(proc.pid)) >= 4  # parent, forkserver, tracker, workers
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        assert wait_until(lambda: not group_members(proc.pid), 15), (
            f"left running 15 s after the kill: {group_members(proc.pid)}"
        )
    finally:
        kill_group(proc)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("sig", "whom"),
    [(signal.SIGTERM, "command"), (signal.SIGINT, "group")],  # kill PID; Ctrl-C at a terminal
)
def test_sigterm_saves_says_how_to_resume_and_leaves_nothing(tmp_path, sig, whom):
    path = sweep_file(tmp_path, n_values=12)
    out = tmp_path / "out"
    proc = start(["sweep", str(path), "--out", str(out), "--workers", "2"])
    try:
        assert wait_until(lambda: parts(out) >= 2, 120)
        (os.kill if whom == "command" else os.killpg)(proc.pid, sig)
        _stdout, stderr = proc.communicate(timeout=30)
        assert proc.returncode == 128 + sig, stderr
        assert "Traceback" not in stderr
        assert "interrupted: finished runs are saved" in stderr and "to resume" in stderr
        assert wait_until(lambda: not group_members(proc.pid), 15), group_members(proc.pid)
    finally:
        kill_group(proc)
    done = parts(out)
    again = marketsim("sweep", str(path), "--out", str(out), "--workers", "1")
    assert again.returncode == 0, again.stderr
    assert f"{done} already done" in again.stdout and f"{24 - done} run(s)" in again.stdout


def test_second_writer_on_one_store_is_refused(tmp_path):
    from marketsim.experiments.store import ResultStore, StoreError

    first, second = ResultStore(tmp_path / "s"), ResultStore(tmp_path / "s")
    manifest = {"digest": "d", "name": "t"}
    first.open(manifest)
    with pytest.raises(StoreError, match=r"another marketsim command \(pid \d+\) is writing"):
        second.open(manifest)
    first.close()
    second.open(manifest)  # free once the first writer is done
    second.close()


def test_second_sweep_on_same_out_is_refused_while_first_runs(tmp_path):
    path = sweep_file(tmp_path, n_values=12)
    out = tmp_path / "out"
    proc = start(["sweep", str(path), "--out", str(out), "--workers", "1"])
    try:
        assert wait_until(lambda: parts(out) >= 1, 120)
        res = marketsim("sweep", str(path), "--out", str(out), "--workers", "1")
        one_clean_line(res, str(out), "another marketsim command")
    finally:
        kill_group(proc)


# --------------------------------------------------------------------- 4. names are names
@pytest.mark.parametrize("name", ["../../x", "/tmp/abs", "", "a/b", "..", ".hidden"])
def test_experiment_name_must_be_a_name(tmp_path, name):
    path = sweep_file(tmp_path, n_values=1, name=name)
    res = marketsim("sweep", str(path), "--workers", "1", cwd=tmp_path)
    one_clean_line(res, str(path), "name: bad value")
    assert not (tmp_path / "out").exists()


def test_pilot_name_must_be_a_name(tmp_path):
    from marketsim.pilot.spec import load_pilot

    text = (ROOT / "experiments" / "pilot_diversion.yaml").read_text()
    path = tmp_path / "pilot.yaml"
    path.write_text(
        text.replace("name: pilot_diversion", "name: ../escape").replace(
            "../scenarios/", f"{ROOT}/scenarios/"
        )
    )
    with pytest.raises(ScenarioError, match=r"name: bad value '\.\./escape'"):
        load_pilot(path)


# ----------------------------------------------------------------------------- viz
@pytest.mark.parametrize("port", ["99999", "0", "-1"])
def test_viz_bad_port_is_one_line(port):
    one_clean_line(marketsim("viz", "--port", port, timeout=60), "--port", port)


def test_viz_port_in_use_is_one_line():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        one_clean_line(marketsim("viz", "--port", port, timeout=60), "--port", port)


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_viz_stopped_by_a_signal_leaves_nothing_listening(sig):
    pytest.importorskip("solara")
    from marketsim.viz.browser import free_port

    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    proc = start(["viz", "--port", str(port), "--set", "burn_in=5"])
    try:

        def answers() -> bool:
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    return response.status == 200
            except OSError:
                return False

        assert wait_until(answers, 120, every=0.5), "the app never answered"
        os.kill(proc.pid, sig)  # the command only, as a service manager's stop would
        proc.wait(timeout=30)
        assert proc.returncode != 0
        assert wait_until(lambda: not group_members(proc.pid), 10)
        assert not _listeners(port), f"still listening on {port}"
    finally:
        kill_group(proc)


def _listeners(port: int) -> list[str]:
    """Sockets listening on `port` (from /proc/net/tcp*; state 0A is LISTEN)."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            local, state = row.split()[1], row.split()[3]
            if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:
                found.append(local)
    return found
