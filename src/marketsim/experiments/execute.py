"""Run a list of jobs through a runner into a result store, resuming where it left off."""

from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass

from marketsim import interrupts
from marketsim.experiments.jobs import Job, batches
from marketsim.experiments.runners import Runner
from marketsim.experiments.store import ResultStore


@dataclass
class Progress:
    total: int
    skipped: int  # already on disk from an earlier, interrupted run
    ran: int = 0
    failed: int = 0
    wall_s: float = 0.0

    @property
    def runs_per_minute(self) -> float:
        return 60.0 * self.ran / self.wall_s if self.wall_s > 0 else float("nan")


class ProgressLog:
    """Progress as a plain line on stderr every `every_s` seconds, for runs with no
    terminal to draw a bar on (a cluster job's log, `nohup`)."""

    every_s = 60.0

    def __init__(self):
        self._t0 = self._last = time.perf_counter()

    def update(self, state: Progress) -> None:
        now = time.perf_counter()
        if now - self._last < self.every_s:
            return
        self._last = now
        rate = 60.0 * state.ran / (now - self._t0)
        left = state.total - state.skipped - state.ran
        eta = f"about {_duration(60.0 * left / rate)} left" if rate > 0 else "time left unknown"
        print(
            f"runs: {state.skipped + state.ran}/{state.total} done, {state.failed} failed, "
            f"{rate:.1f} runs/min, {eta}",
            file=sys.stderr,
            flush=True,
        )


def _duration(seconds: float) -> str:
    minutes = round(seconds / 60)
    return f"{minutes // 60} h {minutes % 60:02d} min" if minutes >= 60 else f"{minutes} min"


def execute(
    jobs: list[Job],
    store: ResultStore,
    runner: Runner,
    progress: bool | None = None,
    batch_size: int = 4,
) -> Progress:
    """Run every job not yet in the store; write each result as it completes.

    Jobs go out in batches of up to `batch_size` on one seed, in order of (seed,
    job id), so that runs sharing a start compute it once. A failed job is
    recorded and the rest go on. Progress: a bar on a terminal; otherwise, with
    `progress=None`, a line a minute (`ProgressLog`).
    """
    done, with_series = store.done(), store.done_series()
    todo = sorted(
        # A job that keeps series is redone if they are gone (deleted as damaged, say).
        (j for j in jobs if j.id not in done or (j.series is not None and j.id not in with_series)),
        key=lambda j: (j.seed, j.id),
    )
    state = Progress(total=len(jobs), skipped=len(jobs) - len(todo))
    show = sys.stderr.isatty() if progress is None else progress
    log = ProgressLog() if progress is None and not show else None
    bar = None
    if show:
        from tqdm import tqdm

        bar = tqdm(
            total=len(jobs),
            initial=state.skipped,
            desc=f"runs ({runner.name}, {runner.workers} worker{'s' * (runner.workers != 1)})",
            unit="run",
            smoothing=0.05,
        )
    t0 = time.perf_counter()
    try:
        # Enough batches to keep every worker busy to the end (about 4 per worker).
        size = max(1, min(batch_size, math.ceil(len(todo) / (4 * runner.workers))))
        for result in runner.run(batches(todo, size)):
            store.write(result)
            state.ran += 1
            if result.error is not None:
                state.failed += 1
            if bar is not None:
                bar.update(1)
                bar.set_postfix(failed=state.failed, refresh=False)
            elif log is not None:
                log.update(state)
            interrupts.check()  # a stop signal lost on the way, once this result is saved
    finally:
        state.wall_s = time.perf_counter() - t0
        if bar is not None:
            bar.close()
    return state
