"""Named random streams spawned from one root seed.

Each subsystem (town, dealers, users, police, treatment, market, violence, and
each tactic by its name) gets its own numpy Generator derived from the root seed
and a stable hash of its name. Adding a tactic therefore leaves every other
stream's draws unchanged: common random numbers across scenarios.
"""

from __future__ import annotations

import zlib

import numpy as np

from marketsim import kernels


def stream_key(name: str) -> int:
    """A stable 32-bit key for a stream name (Python's hash() is salted per process)."""
    return zlib.crc32(name.encode("utf-8"))


class Streams:
    """Lazily created, named numpy Generators under one root seed."""

    def __init__(self, root_seed: int):
        self.root_seed = int(root_seed)
        self._streams: dict[str, np.random.Generator] = {}

    def __getitem__(self, name: str) -> np.random.Generator:
        gen = self._streams.get(name)
        if gen is None:
            seq = np.random.SeedSequence(entropy=self.root_seed, spawn_key=(stream_key(name),))
            gen = np.random.Generator(np.random.PCG64(seq))
            self._streams[name] = gen
        return gen

    def forget(self, name: str) -> None:
        """Drop a stream; asked for again, it restarts from the root seed."""
        self._streams.pop(name, None)

    def names(self) -> list[str]:
        return sorted(self._streams)


def weighted_choice(rng: np.random.Generator, p: np.ndarray, size: int) -> np.ndarray:
    """`size` indices drawn with probabilities `p` (non-negative, summing to 1): the very
    draws of `rng.choice(p.size, size, p=p)`, from the same uniforms, without `choice`'s
    checks of `p`, which cost two thirds of a call over a town's cells: the cumulative
    sums over their last, searched from the right (kernels.weighted_indices)."""
    return kernels.weighted_indices(p, rng.random(size))
