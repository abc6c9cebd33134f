"""Whole-grid array helpers shared by the town, the model and the tactics."""

from __future__ import annotations

import numpy as np


def box_sum(a: np.ndarray, r: int) -> np.ndarray:
    """Sum of `a` over the (2r+1)x(2r+1) Moore neighbourhood of each cell (no wrap).

    A summed-area table on a zero-padded copy: O(cells) whatever the radius.
    """
    if r <= 0:
        return a.astype(float, copy=True)
    w, h = a.shape
    n = 2 * r + 1
    c = np.zeros((w + n, h + n))
    c[r + 1 : r + 1 + w, r + 1 : r + 1 + h] = a
    c.cumsum(axis=0, out=c)
    c.cumsum(axis=1, out=c)
    return c[n:, n:] - c[:-n, n:] - c[n:, :-n] + c[:-n, :-n]
