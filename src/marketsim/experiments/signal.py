"""Which patterns a calibration's parameter sets can be told apart on.

A set's figure for a pattern is a mean over a few seeds: part the parameters' effect,
part luck. Where luck dominates, ranking sets by that pattern's distance ranks them by
luck, and ABC-SMC's weights collapse onto the lucky sets. History matching screens its
outputs the same way before it emulates them (Vernon, Goldstein & Bower 2010, Bayesian
Analysis 5: 619).

The check is out-of-sample: how much of the spread of a pattern's figure across all the
sets a smooth function of the parameters predicts, as the k-fold cross-validated R^2
("Q2") of a quadratic ridge regression on the unit box. Q2 near 0 means the spread is luck
at this many seeds a set (add seeds before trusting the ranking); near 1 means the
parameters drive it. A quadratic misses sharp interactions, so a low Q2 says "no smooth
effect found", not "no effect".
"""

from __future__ import annotations

import numpy as np

FOLDS = 5
MIN_SETS = 20  # fewer finite figures than this: no verdict (5 folds of 4)
SIGNAL = 0.2  # Q2 below this: the sets' spread on the pattern is mostly luck


def explained_share(unit: np.ndarray, figure: np.ndarray, seed: int = 0) -> float:
    """Cross-validated R^2 of a quadratic ridge fit of `figure` (n,) on `unit` (n, d).

    NaN with fewer than MIN_SETS finite figures or none that vary.
    """
    from sklearn.linear_model import RidgeCV
    from sklearn.model_selection import KFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import PolynomialFeatures

    unit = np.asarray(unit, dtype=float)
    y = np.asarray(figure, dtype=float)
    ok = np.isfinite(y)
    if ok.sum() < MIN_SETS or np.ptp(y[ok]) == 0:
        return float("nan")
    model = make_pipeline(
        PolynomialFeatures(2, include_bias=False), RidgeCV(alphas=np.logspace(-3, 3, 13))
    )
    folds = KFold(FOLDS, shuffle=True, random_state=seed)
    predicted = cross_val_predict(model, unit[ok], y[ok], cv=folds)
    spread = np.sum((y[ok] - y[ok].mean()) ** 2)
    return float(1.0 - np.sum((predicted - y[ok]) ** 2) / spread)


def governing(distance: np.ndarray) -> np.ndarray:
    """Per set (rows of `distance`, one column a pattern): the column of its largest
    distance, or -1 where every pattern is met (distance <= 1). A failed figure's
    infinite distance counts as a miss; NaN is skipped."""
    distance = np.where(np.isnan(distance), -np.inf, distance)
    which = np.argmax(distance, axis=1)
    return np.where(distance.max(axis=1) > 1.0, which, -1)


def reading(q2: float) -> str:
    """A Q2 in words, for the report."""
    if not np.isfinite(q2):
        return f"no verdict (under {MIN_SETS} sets, or no spread)"
    if q2 < SIGNAL:
        return "mostly luck at these seeds"
    return "the parameters drive it"
