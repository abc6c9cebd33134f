"""What the validation tests share besides the runs: the seed count and its markers."""

from __future__ import annotations

import pytest

from marketsim.validation import FULL_SEEDS, Interval, seeds_from_env

N_SEEDS = len(seeds_from_env())

# Every validation module carries these: `slow` (multi-seed) and `validation` (design §9).
VALIDATION = [pytest.mark.slow, pytest.mark.validation]


def needs_full_set(why: str):
    """Skip on the quick CI set: the effect is real but too small against the spread between
    seeds for a handful of seeds to fix its sign. `make validate` runs it."""
    return pytest.mark.skipif(
        N_SEEDS < FULL_SEEDS,
        reason=f"needs the full set ({FULL_SEEDS} seeds, `make validate`): {why}",
    )


def describe(name: str, ci: Interval) -> str:
    return f"{name}: {ci.num()} over {ci.n} seeds"
