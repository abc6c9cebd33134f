"""Whole-grid array helpers shared by the town, the model and the tactics."""

from __future__ import annotations

import numpy as np

from marketsim import kernels


def box_sum(a: np.ndarray, r: int) -> np.ndarray:
    """Sum of `a` over the (2r+1)x(2r+1) Moore neighbourhood of each cell (no wrap), as floats.

    Counts (integer or boolean arrays) are summed exactly; float layers through a
    summed-area table (compiled loops in kernels.py).
    """
    if r <= 0:
        return a.astype(float, copy=True)
    if a.dtype.kind in "biu":
        return kernels.box_sum_counts(np.ascontiguousarray(a, dtype=np.int64), r)
    return kernels.box_sum_floats(np.ascontiguousarray(a, dtype=float), r)
