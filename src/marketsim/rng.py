"""Named random streams spawned from one root seed.

Each subsystem (town, dealers, users, police, treatment, market, violence, and
each tactic by its name) gets its own numpy Generator derived from the root seed
and a stable hash of its name. Adding a tactic therefore leaves every other
stream's draws unchanged: common random numbers across scenarios.
"""

from __future__ import annotations

import ctypes
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


# Views onto streams' PCG64 states, by id, with the stream they belong to.
_RAW: dict[int, tuple[np.random.Generator, np.ndarray, np.ndarray]] = {}
# The layout `raw_state` reads (numpy/random/src/pcg64/pcg64.h, the same from numpy 1.17
# through 2.x, on 64-bit builds). On any other numpy the pointer is not followed at all:
# a changed layout could make it point anywhere, and the copy route is always right.
_VIEWS = np.lib.NumpyVersion(np.__version__) < "3.0.0" and ctypes.sizeof(ctypes.c_void_p) == 8


def raw_state(gen: np.random.Generator) -> tuple[np.ndarray, np.ndarray, bool]:
    """A stream's PCG64 state for kernels that draw from it themselves
    (kernels.next_double, kernels.stream_integers): the 128-bit state and increment as
    four 64-bit words (low, high; low, high), and numpy's spare 32-bit half (a flag,
    then the half). Views onto the generator's own state where its layout is the one
    checked here, so a kernel's draws advance the stream in place; otherwise copies,
    and `write_back` is True: `set_raw_state` must then put them back."""
    hit = _RAW.get(id(gen))
    if hit is not None and hit[0] is gen:
        return hit[1], hit[2], False
    bg = gen.bit_generator
    if type(bg) is not np.random.PCG64:
        raise TypeError(f"kernels draw from PCG64 streams, not {type(bg).__name__}")
    st = bg.state
    state, inc = st["state"]["state"], st["state"]["inc"]
    low = (1 << 64) - 1
    words = np.array([state & low, state >> 64, inc & low, inc >> 64], dtype=np.uint64)
    spare = np.array([st["has_uint32"], st["uinteger"]], dtype=np.uint32)
    if not _VIEWS:
        return words, spare, True
    # numpy's pcg64_state: a pointer to the 128-bit state and increment (low word first
    # where the compiler has 128-bit integers), then has_uint32 and uinteger.
    address = bg.ctypes.state_address
    pointer = ctypes.c_void_p.from_address(address).value
    view = np.ctypeslib.as_array((ctypes.c_uint64 * 4).from_address(pointer))
    spare_view = np.ctypeslib.as_array((ctypes.c_uint32 * 2).from_address(address + 8))
    if not (np.array_equal(view, words) and np.array_equal(spare_view, spare)):
        return words, spare, True
    if len(_RAW) > 256:  # streams of finished runs
        _RAW.clear()
    _RAW[id(gen)] = (gen, view, spare_view)
    return view, spare_view, False


def set_raw_state(gen: np.random.Generator, words: np.ndarray, spare: np.ndarray) -> None:
    """Put a state copied by `raw_state` back into the stream."""
    bg = gen.bit_generator
    st = bg.state
    st["state"]["state"] = int(words[0]) | int(words[1]) << 64
    st["state"]["inc"] = int(words[2]) | int(words[3]) << 64
    st["has_uint32"], st["uinteger"] = int(spare[0]), int(spare[1])
    bg.state = st


class stream_state:  # a context manager named as the function it reads as
    """A stream's PCG64 state lent to kernels that draw from it themselves:
    `with stream_state(rng) as (state, spare): kernels.k(state, spare, ...)`. The state
    and spare half are `raw_state`'s; where they are copies, leaving the block puts them
    back into the stream (`set_raw_state`), so the stream's next draws follow the
    kernel's wherever the state lives."""

    __slots__ = ("gen", "spare", "state", "write_back")

    def __init__(self, gen: np.random.Generator):
        self.gen = gen

    def __enter__(self) -> tuple[np.ndarray, np.ndarray]:
        self.state, self.spare, self.write_back = raw_state(self.gen)
        return self.state, self.spare

    def __exit__(self, *exc: object) -> None:
        if self.write_back:
            set_raw_state(self.gen, self.state, self.spare)


def integers(
    gen: np.random.Generator, high: int, size: int | tuple[int, ...] | None = None
) -> np.ndarray | np.int64:
    """`gen.integers(0, high, size)`, the same draws, for 1 <= high < 2^32: numpy's
    bounded draws on the stream's state (kernels.stream_integers; `stream_state`), as
    `Generator.integers` spends about 6 us a call, 20-30 in a run's rare events, on its
    arguments. A scalar when `size` is None, as numpy gives; other ranges go to numpy."""
    if not 1 <= high < 2**32:
        return gen.integers(0, high, size)
    # np.prod costs about 3 us, even of one int.
    n = 1 if size is None else size if type(size) is int else int(np.prod(size))
    with stream_state(gen) as (state, spare):
        out = kernels.stream_integers(state, spare, int(high), n)
    return out[0] if size is None else out.reshape(size)
