"""Refine a calibration on emulators of its patterns: the second stage of history matching.

ABC-SMC ranks sets by their worst pattern on a few seeds; where that pattern's spread is
mostly luck (`signal.py`), its best set is partly a lucky set. Here every set of one or
more calibration runs is used at once, as history matching uses its first waves
(Vernon, Goldstein & Bower 2010, Bayesian Analysis 5: 619; for an agent-based model,
Andrianakis et al. 2015, PLoS Comput. Biol. 11: e1003968):

- each pattern the parameters drive (cross-validated Q2 at least `signal.SIGNAL`) gets a
  Gaussian-process emulator of its mean figure over the unit box;
- the refined set is the point of a large Latin hypercube, over the `free` parameters
  only (the others stay at `start`), whose smallest emulated margin (`Pattern.margin`:
  how far inside its target, in tolerances) is largest;
- patterns that are mostly luck get no emulator and no say: read them afterwards on many
  seeds that the choice did not see (`scripts/validate_patterns.py --first-seed`).

The emulator's length scales and noise have floors (0.2 of the box, 2% of the variance):
the figures are means of a few seeds, and without floors maximum likelihood can explain
that noise by a wiggly function that fits every set and predicts none.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from scipy.stats import qmc

from marketsim.experiments import signal
from marketsim.experiments.calibrate import Pattern

CANDIDATES = 100_000  # Latin hypercube points the emulated margins are compared on


def make_gp(dims: int, seed: int):
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel

    kernel = ConstantKernel(1.0, (1e-2, 1e2)) * Matern(
        np.ones(dims), (0.2, 1e2), nu=2.5
    ) + WhiteKernel(0.3, (0.02, 2.0))
    return GaussianProcessRegressor(
        kernel, normalize_y=True, n_restarts_optimizer=1, random_state=seed
    )


@dataclass
class Refined:
    unit: np.ndarray  # (d,) the refined set on the unit box
    q2: dict[str, float]  # each pattern's Q2 over the sets (signal.explained_share)
    driven: list[str]  # the patterns with an emulator
    start_figure: dict[str, float]  # emulated figure at `start`, driven patterns
    figure: dict[str, float]  # emulated figure at the refined set, driven patterns
    start_margin: dict[str, float]
    margin: dict[str, float]


def refine(
    patterns: list[Pattern],
    unit: np.ndarray,
    figures: dict[str, np.ndarray],
    start: np.ndarray,
    free: list[int],
    seed: int = 0,
    candidates: int = CANDIDATES,
) -> Refined:
    """The set, moving only the `free` columns of `start`, with the largest smallest
    emulated margin over the driven patterns. `unit` (n, d): the sets on the unit box;
    `figures[name]` (n,): each set's figure for that pattern."""
    unit = np.asarray(unit, dtype=float)
    start = np.asarray(start, dtype=float)
    q2 = {p.name: signal.explained_share(unit, figures[p.name], seed) for p in patterns}
    driven = [p for p in patterns if q2[p.name] >= signal.SIGNAL]
    if not driven:
        raise ValueError("no pattern's spread is driven by the parameters: nothing to refine on")
    points = np.repeat(start[None, :], candidates + 1, axis=0)  # the last row stays at start
    points[:candidates, free] = qmc.LatinHypercube(d=len(free), seed=seed).random(candidates)
    emulated = {}
    for p in driven:
        y = np.asarray(figures[p.name], dtype=float)
        ok = np.isfinite(y)
        gp = make_gp(unit.shape[1], seed)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*close to the specified")
            gp.fit(unit[ok], y[ok])
        emulated[p.name] = gp.predict(points)
    margins = np.array([[p.margin(y) for y in emulated[p.name]] for p in driven])
    best = int(np.argmax(margins.min(axis=0)))
    return Refined(
        unit=points[best],
        q2=q2,
        driven=[p.name for p in driven],
        start_figure={p.name: float(emulated[p.name][-1]) for p in driven},
        figure={p.name: float(emulated[p.name][best]) for p in driven},
        start_margin={p.name: float(margins[j, -1]) for j, p in enumerate(driven)},
        margin={p.name: float(margins[j, best]) for j, p in enumerate(driven)},
    )
