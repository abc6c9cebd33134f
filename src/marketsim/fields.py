"""Whole-grid array helpers shared by the town, the model and the tactics."""

from __future__ import annotations

import numpy as np


def box_sum(a: np.ndarray, r: int) -> np.ndarray:
    """Sum of `a` over the (2r+1)x(2r+1) Moore neighbourhood of each cell (no wrap), as floats.

    Counts (an integer or boolean array) are summed exactly by shifted slices, which
    is about three times faster for small r; other arrays through a summed-area table
    on a zero-padded copy, O(cells) whatever the radius. Both give the same result
    for integer counts.
    """
    if r <= 0:
        return a.astype(float, copy=True)
    w, h = a.shape
    if a.dtype.kind in "biu" and r <= 4:
        padded = np.zeros((w + 2 * r, h + 2 * r), dtype=np.int64)
        padded[r : r + w, r : r + h] = a
        rows = padded[:w, :].copy()
        for k in range(1, 2 * r + 1):
            rows += padded[k : k + w, :]
        out = rows[:, :h].copy()
        for k in range(1, 2 * r + 1):
            out += rows[:, k : k + h]
        return out.astype(float)
    n = 2 * r + 1
    c = np.zeros((w + n, h + n))
    c[r + 1 : r + 1 + w, r + 1 : r + 1 + h] = a
    c.cumsum(axis=0, out=c)
    c.cumsum(axis=1, out=c)
    return c[n:, n:] - c[:-n, n:] - c[n:, :-n] + c[:-n, :-n]
