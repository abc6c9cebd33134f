"""Runners: where jobs execute. One interface, three backends.

- `SerialRunner`: in this process, in order (for debugging and tests).
- `LocalRunner`: a pool of worker processes on this machine; no server.
- `DaskRunner`: a Dask distributed cluster (`--scheduler tcp://...`), or a
  LocalCluster started for the run.

Each takes batches of jobs (jobs.batches: consecutive jobs on one seed, which
share their start in the worker) and yields results as batches complete, in any
order; the result store keys them by job id, so the order never reaches the
results.
"""

from __future__ import annotations

import itertools
import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import forkserver
from typing import Protocol

from marketsim import interrupts
from marketsim.experiments.jobs import Job, JobResult, run_batch


class RunnerError(Exception):
    """The backend itself failed (a worker died, a scheduler is unreachable)."""


class Runner(Protocol):
    name: str
    workers: int

    def run(self, batches: Iterable[list[Job]]) -> Iterator[JobResult]: ...

    def close(self, abort: bool = False) -> None:
        """Release the workers; with abort, stop runs in flight instead of waiting for them."""


def default_workers() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1)


class SerialRunner:
    name = "serial"
    workers = 1

    def run(self, batches: Iterable[list[Job]]) -> Iterator[JobResult]:
        for batch in batches:
            yield from run_batch(batch)

    def close(self, abort: bool = False) -> None:
        pass


def _parent_alive(pid: int) -> bool:
    """Whether process `pid` still runs (a zombie, killed but not yet reaped, does not)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except FileNotFoundError:
        return False
    except OSError:  # no /proc (macOS): a signal 0 probe
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True


def _watch_parent(pid: int, every_s: float) -> None:
    while _parent_alive(pid):
        time.sleep(every_s)
    os._exit(1)  # the command is gone (kill -9): its runs can never be collected


def exit_with_parent(parent: int, every_s: float = 1.0) -> None:
    """A pool's initializer: the worker exits within `every_s` seconds of process `parent`
    dying without stopping it (kill -9, or SIGTERM to a script with no handler for it)."""
    threading.Thread(target=_watch_parent, args=(parent, every_s), daemon=True).start()


def _start_worker(parent: int, every_s: float = 1.0) -> None:
    """In each worker: leave Ctrl-C to the parent (which stops the workers itself), and
    exit with the parent."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    exit_with_parent(parent, every_s)


class LocalRunner:
    """Worker processes on this machine. At most 2 batches in flight per worker, so
    results stream back and a sweep never sits in memory."""

    name = "local"

    def __init__(self, workers: int | None = None):
        self.workers = workers or default_workers()
        # forkserver: workers do not inherit the parent's threads (tqdm's monitor).
        ctx = multiprocessing.get_context("forkserver")
        # The forkserver and its resource tracker start now, ignoring Ctrl-C (the workers,
        # forked from the forkserver, inherit that; this command stops them).
        with interrupts.ignored_by_new_processes():
            forkserver.ensure_running()
        self._pool = ProcessPoolExecutor(
            self.workers, mp_context=ctx, initializer=_start_worker, initargs=(os.getpid(),)
        )

    def run(self, batches: Iterable[list[Job]]) -> Iterator[JobResult]:
        pending = set()
        todo = iter(batches)
        try:
            while True:
                while len(pending) < 2 * self.workers:
                    batch = next(todo, None)
                    if batch is None:
                        break
                    try:
                        with interrupts.deferred():  # the submit may start a worker
                            pending.add(self._pool.submit(run_batch, batch))
                    except BrokenProcessPool as exc:  # a worker was killed since the last result
                        raise _worker_died(exc) from None
                if not pending:
                    return
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    try:
                        results = fut.result()
                    except Exception as exc:  # BrokenProcessPool: a worker was killed
                        raise _worker_died(exc) from None
                    yield from results
        finally:
            for fut in pending:
                fut.cancel()

    def close(self, abort: bool = False) -> None:
        if abort:
            # Runs in flight are dropped (a resume redoes them); waiting could take minutes.
            for worker in multiprocessing.active_children():
                worker.terminate()
        self._pool.shutdown(wait=True, cancel_futures=True)


def _worker_died(exc: Exception) -> RunnerError:
    return RunnerError(
        f"a worker process died ({exc}); finished runs are saved: run the same command "
        "again to resume"
    )


class DaskRunner:
    """A Dask distributed cluster: `scheduler` is an address such as tcp://host:8786;
    without one, a LocalCluster of `workers` single-threaded processes is started."""

    name = "dask"

    def __init__(
        self, workers: int | None = None, scheduler: str | None = None, timeout_s: float = 20.0
    ):
        try:
            from dask.distributed import Client, LocalCluster
        except ImportError:
            raise RunnerError(
                "the dask backend needs dask[distributed]: pip install 'marketsim[dask]'"
            ) from None
        self._cluster = None
        try:
            if scheduler:
                check_scheduler(scheduler, timeout_s)
                self._client = Client(scheduler, timeout=f"{timeout_s}s")
            else:
                # Its workers start ignoring Ctrl-C (this command stops them), and a stop
                # signal waits until it is up: a cluster stopped halfway failed to close
                # at exit with a traceback.
                with interrupts.deferred(), interrupts.ignored_by_new_processes():
                    self._cluster = LocalCluster(
                        n_workers=workers or default_workers(),
                        threads_per_worker=1,
                        processes=True,
                        dashboard_address=None,
                        silence_logs=logging.CRITICAL,  # its shutdown logs errors and warnings
                    )
                self._client = Client(self._cluster)
        except KeyboardInterrupt:  # a stop while it started: what did start is stopped
            if self._cluster is not None:
                self._cluster.close()
            raise
        except OSError as exc:
            raise RunnerError(f"cannot reach the Dask scheduler {scheduler!r}: {exc}") from None
        self.workers = len(self._client.scheduler_info().get("workers", {})) or (workers or 1)

    def run(self, batches: Iterable[list[Job]]) -> Iterator[JobResult]:
        from dask.distributed import as_completed

        todo = iter(batches)
        window = 2 * max(self.workers, 1)
        first = [
            self._client.submit(run_batch, b, pure=False) for b in itertools.islice(todo, window)
        ]
        if not first:
            return
        stream = as_completed(first)
        for fut in stream:
            try:
                results = fut.result()
            except Exception as exc:  # a lost worker (after Dask's retries), or scheduler
                reason = " ".join(str(exc).split()) or type(exc).__name__
                raise RunnerError(
                    f"the Dask cluster failed ({reason}); finished runs are saved: run the "
                    "same command again to resume"
                ) from None
            fut.release()
            yield from results
            batch = next(todo, None)
            if batch is not None:
                stream.add(self._client.submit(run_batch, batch, pure=False))

    def close(self, abort: bool = False) -> None:
        # A client that lost its scheduler is reconnecting; closing it cancels that, which
        # Dask logs as an error with a traceback after the command's own line.
        log = logging.getLogger("distributed.client")
        level = log.level
        log.setLevel(logging.CRITICAL)
        try:
            self._client.close()
        finally:
            log.setLevel(level)
        if self._cluster is not None:
            self._cluster.close()


def check_scheduler(address: str, timeout_s: float) -> None:
    """A Dask scheduler answers at `address` within `timeout_s`, or a one-line RunnerError.
    (Dask's Client bounds the connection but not the greeting after it: a server that
    accepts and says nothing held it forever, and one that is not Dask was a traceback.)"""
    import asyncio

    from distributed.comm import connect

    async def greet() -> None:
        comm = await asyncio.wait_for(connect(address, timeout=timeout_s), timeout_s)
        await comm.close()

    try:
        asyncio.run(greet())
    except ValueError as exc:  # no port, an unknown scheme
        raise RunnerError(
            f"--scheduler: bad value {address!r}: {exc} (allowed: a Dask scheduler's "
            "address, such as tcp://10.0.0.5:8786)"
        ) from None
    except TimeoutError:
        raise RunnerError(
            f"cannot reach the Dask scheduler {address!r}: no answer within {timeout_s:g} s"
        ) from None
    except OSError as exc:  # refused, unreachable
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise RunnerError(f"cannot reach the Dask scheduler {address!r}: {reason}") from None
    except Exception as exc:  # a server that is not Dask (its answer read as a message)
        reason = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        raise RunnerError(
            f"cannot reach the Dask scheduler {address!r}: no Dask scheduler answered there "
            f"({reason[:120]})"
        ) from None


def check_backend(backend: str, workers: int | None, scheduler: str | None = None) -> None:
    """The backend's name, and a number of worker processes this machine can start (a
    remote Dask scheduler brings its own); raises RunnerError before anything runs."""
    if backend not in ("serial", "local", "dask"):
        raise RunnerError(f"--backend: bad value {backend!r} (allowed: serial, local, dask)")
    if scheduler is not None and backend != "dask":  # it would be ignored without a word
        raise RunnerError(
            f"--scheduler: bad value {scheduler!r}: the {backend} backend has no scheduler "
            "(allowed: with --backend dask)"
        )
    if backend == "serial" and workers is not None and workers != 1:  # ignored, or a typo
        raise RunnerError(
            f"--workers: bad value {workers}: the serial backend runs one run at a time in "
            "this process (allowed: 1, or --backend local for worker processes)"
        )
    cores = default_workers()
    if workers is not None and workers > 4 * cores and not (backend == "dask" and scheduler):
        raise RunnerError(
            f"--workers: bad value {workers}: allowed 1 to {4 * cores} on this machine "
            f"({cores} cores; each worker is a process, and more than the cores only share them)"
        )


def make_runner(backend: str, workers: int | None, scheduler: str | None = None) -> Runner:
    check_backend(backend, workers, scheduler)
    if backend == "serial":
        return SerialRunner()
    if backend == "local":
        if workers == 1:
            return SerialRunner()
        return LocalRunner(workers)
    if backend == "dask":
        return DaskRunner(workers, scheduler)
    raise RunnerError(f"--backend: bad value {backend!r} (allowed: serial, local, dask)")
