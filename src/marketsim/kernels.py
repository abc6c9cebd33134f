"""Compiled inner loops of the day's phases (numba), each a plain loop.

Each kernel's docstring names the mechanism it serves and its ODD section
(docs/odd.md). The decisions stay in the phase modules; a kernel only does the
arithmetic, in the same order as the numpy code it replaced, so results are
bit-identical and the named random streams are untouched (no kernel draws).

Compiled code is cached on disk (`cache=True`, in `__pycache__`): `python -m
marketsim.kernels` compiles every kernel once (`make` and CI do this after
installing), and later processes load them in well under a second.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def box_sum_counts(a: np.ndarray, r: int) -> np.ndarray:
    """Moore-neighbourhood sums of integer counts (ODD §7.11 fields, §7.4 dealers' rivals).

    Separable: sums along x, then along y, over a window of 2r+1 cells clipped at
    the town's edge (no wrap). Integer sums are exact, so any order gives the same.
    """
    w, h = a.shape
    rows = np.zeros((w, h), dtype=np.int64)
    for x in range(w):
        lo, hi = max(0, x - r), min(w - 1, x + r)
        for y in range(h):
            s = 0
            for k in range(lo, hi + 1):
                s += a[k, y]
            rows[x, y] = s
    out = np.empty((w, h))
    for x in range(w):
        for y in range(h):
            lo, hi = max(0, y - r), min(h - 1, y + r)
            s = 0
            for k in range(lo, hi + 1):
                s += rows[x, k]
            out[x, y] = s
    return out


@njit(cache=True)
def box_sum_floats(a: np.ndarray, r: int) -> np.ndarray:
    """Moore-neighbourhood sums of a float layer by a summed-area table (ODD §7.3, §7.11).

    The same operations, in the same order, as numpy's cumsum over a zero-padded
    copy: cumulative sums down x, then along y, then the four-corner difference
    ((A - B) - C) + D, so the floats are identical to the numpy version.
    """
    w, h = a.shape
    n = 2 * r + 1
    c = np.zeros((w + n, h + n))
    for x in range(w):
        for y in range(h):
            c[r + 1 + x, r + 1 + y] = a[x, y]
    for x in range(1, w + n):
        for y in range(h + n):
            c[x, y] += c[x - 1, y]
    for x in range(w + n):
        for y in range(1, h + n):
            c[x, y] += c[x, y - 1]
    out = np.empty((w, h))
    for x in range(w):
        for y in range(h):
            out[x, y] = c[x + n, y + n] - c[x, y + n] - c[x + n, y] + c[x, y]
    return out


@njit(cache=True)
def open_market_choice(
    hx: np.ndarray,
    hy: np.ndarray,
    ox: np.ndarray,
    oy: np.ndarray,
    pull: np.ndarray,
    kernel: np.ndarray,
    draw: np.ndarray,
    near: np.ndarray,
    height: int,
) -> np.ndarray:
    """Each buyer's open-market pitch, drawn in proportion to attraction (ODD §7.5 trade).

    For buyer i, pitch j in `near` weighs travel(|dx|, |dy|) x pull[j]; the buyer
    takes the first pitch whose cumulative weight reaches draw[i] x total (an
    inverse-CDF draw), or -1 when nothing in reach weighs anything. Returns indices
    into the open pitches (`near` holds the candidates, in order).
    """
    nb, m = hx.size, near.size
    out = np.full(nb, -1, dtype=np.int64)
    cum = np.empty(m)
    flat_kernel = kernel.ravel()
    for i in range(nb):
        total = 0.0
        for k in range(m):
            j = near[k]
            offset = abs(hx[i] - ox[j]) * height + abs(hy[i] - oy[j])
            total += flat_kernel[offset] * pull[j]
            cum[k] = total
        if total > 0:
            target = draw[i] * total
            idx = 0
            for k in range(m):
                if cum[k] < target:
                    idx += 1
            out[i] = near[min(idx, m - 1)]
    return out


@njit(cache=True)
def crewmates_near(x: np.ndarray, y: np.ndarray, crew: np.ndarray) -> np.ndarray:
    """For each crew member, same-crew dealers within one cell, oneself excluded (ODD §7.6).

    Crews do not fight themselves, so crewmates nearby are not rivals in turf
    disputes. Members are sorted by crew, so each looks only at its own crew.
    """
    n = crew.size
    out = np.zeros(n)
    order = np.argsort(crew, kind="mergesort")
    start = 0
    while start < n:
        c = crew[order[start]]
        end = start
        while end < n and crew[order[end]] == c:
            end += 1
        for a in range(start, end):
            i = order[a]
            count = 0
            for b in range(start, end):
                j = order[b]
                if abs(x[i] - x[j]) <= 1 and abs(y[i] - y[j]) <= 1:
                    count += 1
            out[i] = count - 1
        start = end
    return out


@njit(cache=True)
def covering_unit(
    x: np.ndarray, y: np.ndarray, cell_unit: np.ndarray, width: int, height: int
) -> np.ndarray:
    """For each cell, a police unit on it, else on a neighbouring cell, else -1 (ODD §7.7).

    The unit that sees dealing makes the arrest; neighbours are tried in a fixed
    order (west column first, then the same column, then east).
    """
    n = x.size
    out = np.empty(n, dtype=np.int64)
    for i in range(n):
        found = cell_unit[x[i] * height + y[i]]
        if found < 0:
            for dx in (-1, 0, 1):
                for dy in (-1, 0, 1):
                    if found >= 0 or (dx == 0 and dy == 0):
                        continue
                    nx, ny = x[i] + dx, y[i] + dy
                    if 0 <= nx < width and 0 <= ny < height:
                        found = cell_unit[nx * height + ny]
        out[i] = found
    return out


def warm() -> None:
    """Compile (or load from the disk cache) every kernel with the types the model uses."""
    counts = np.zeros((3, 3), dtype=np.int64)
    box_sum_counts(counts, 1)
    box_sum_floats(np.zeros((3, 3)), 1)
    i = np.zeros(1, dtype=np.int64)
    open_market_choice(i, i, i, i, np.ones(1), np.ones((3, 3)), np.zeros(1), i, 3)
    crewmates_near(i, i, i)
    covering_unit(i, i, np.full(9, -1, dtype=np.int64), 3, 3)


if __name__ == "__main__":
    warm()
