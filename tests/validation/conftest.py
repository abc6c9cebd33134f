"""Paired runs shared by the design §9 validation tests, computed once per session.

How many seeds: `MARKETSIM_VALIDATION_SEEDS` (default 8, the quick set `make test` runs in
CI); `make validate` sets it to 40. Seeds are 101, 102, ..., so the quick set is the first
eight of the full set. Runs use `MARKETSIM_VALIDATION_WORKERS` processes (default 2).

Each test module (or test) names the runs it needs with `@pytest.mark.uses_runs(...)`; the
first test that asks for runs starts all the runs that the collected, not skipped, validation
tests need in one process pool, so both workers stay busy however the tests are selected.
Fact 10's targeting comparison alone runs its two scenarios on more seeds
(`validation.TARGETING_SEEDS`), in a pool of its own.
"""

from __future__ import annotations

import pytest

from marketsim.validation import RunResult, run_many, seeds_from_env, workers_from_env


class PairedRuns:
    """The runs of each scenario key on the validation seeds, made on first request."""

    def __init__(self, seeds: list[int], workers: int, wanted: set[str]):
        self.seeds = seeds
        self.workers = workers
        self.wanted = wanted | {"baseline"}
        self._done: dict[str, dict[int, RunResult]] = {}

    def get(self, *keys: str) -> dict[str, dict[int, RunResult]]:
        """Runs for `keys` and baseline, as {key: {seed: RunResult}}."""
        need = {"baseline", *keys}
        if need - self._done.keys():
            todo = (need | self.wanted) - self._done.keys()
            self._done.update(run_many(sorted(todo), self.seeds, self.workers))
        return {k: self._done[k] for k in need}


@pytest.fixture(scope="session")
def paired_runs(request) -> PairedRuns:
    wanted: set[str] = set()
    for item in request.session.items:
        if any(mark.args and mark.args[0] is True for mark in item.iter_markers("skipif")):
            continue  # e.g. a full-set-only test on the quick set: its runs are not needed
        for mark in item.iter_markers("uses_runs"):
            wanted.update(mark.args)
    return PairedRuns(seeds_from_env(), workers_from_env(), wanted)
