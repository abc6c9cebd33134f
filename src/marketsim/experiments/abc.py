"""ABC-SMC in waves: the search behind `marketsim calibrate`, free of any simulator.

Approximate Bayesian computation by sequential Monte Carlo (Toni et al. 2009, J. R. Soc.
Interface 6: 187; population Monte Carlo weights of Beaumont et al. 2009, Biometrika 96:
983). Each wave is a fixed number of parameter sets ("particles"), so that a wave is
one sweep through the runners and the result store and resumes like one:

- wave 0 draws its particles from the prior (a Latin hypercube over the ranges);
- after a wave is run, its tolerance is the `quantile` of its distances, but never
  below 1 (a distance of at most 1 means every pattern is met); the particles within
  it are kept, with importance weights prior / proposal;
- the next wave draws from the kept particles by weight and moves each by a Gaussian
  kernel with twice their weighted covariance (Beaumont et al. 2009), staying inside
  the prior box.

Parameters live in the unit box [0, 1]^d here (a log-scaled prior is uniform in its
log); the caller maps them to values. Every draw comes from one generator seeded by the
calibration's seed and the wave's number, so a wave's particles follow from the seed
and the earlier waves' distances alone: a rerun proposes the same sets.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import qmc

MET = 1.0  # a particle whose distance is at most this meets every pattern


@dataclass
class Wave:
    """One wave's particles (unit box), their distances and what was kept."""

    index: int
    unit: np.ndarray  # (n, d)
    distance: np.ndarray  # (n,), inf where a run failed to give a figure
    weight: np.ndarray  # (n,) importance weights, normalised over the kept; 0 elsewhere
    kept: np.ndarray  # (n,) bool: within this wave's tolerance
    tolerance: float
    kernel: np.ndarray  # covariance the NEXT wave's moves use


def first_wave(dims: int, population: int, seed: int) -> np.ndarray:
    """Wave 0: a Latin hypercube over the prior box."""
    return qmc.LatinHypercube(d=dims, seed=_rng(seed, 0)).random(population)


def next_wave(previous: Wave, population: int, seed: int) -> np.ndarray:
    """Draw from the kept particles by weight and perturb each, staying in the box."""
    rng = _rng(seed, previous.index + 1)
    kept = np.flatnonzero(previous.kept)
    p = previous.weight[kept] / previous.weight[kept].sum()
    chol = np.linalg.cholesky(previous.kernel)
    out = np.empty((population, previous.unit.shape[1]))
    for i in range(population):
        for _ in range(1000):
            j = kept[rng.choice(kept.size, p=p)]
            x = previous.unit[j] + chol @ rng.standard_normal(out.shape[1])
            if np.all((x >= 0) & (x <= 1)):
                break
        else:  # a kernel far wider than the box: give up on rejection, clip
            x = np.clip(x, 0.0, 1.0)
        out[i] = x
    return out


def settle(
    index: int, unit: np.ndarray, distance: np.ndarray, quantile: float, previous: Wave | None
) -> Wave:
    """A run wave's tolerance, kept particles, importance weights and next kernel."""
    distance = np.where(np.isfinite(distance), distance, np.inf)
    finite = distance[np.isfinite(distance)]
    tolerance = max(MET, float(np.quantile(finite, quantile))) if finite.size else np.inf
    kept = distance <= tolerance
    if not kept.any():  # every run failed or all distances infinite: keep the best
        kept = distance == distance.min()
    weight = np.zeros(len(unit))
    if previous is None:
        weight[kept] = 1.0  # drawn from the prior itself
    else:
        weight[kept] = 1.0 / _proposal_density(unit[kept], previous)
    weight /= weight.sum()
    return Wave(index, unit, distance, weight, kept, tolerance, _kernel(unit[kept], weight[kept]))


def _proposal_density(x: np.ndarray, previous: Wave) -> np.ndarray:
    """Density of the mixture the wave was drawn from (truncation to the box ignored)."""
    kept = np.flatnonzero(previous.kept)
    cov = previous.kernel
    inv = np.linalg.inv(cov)
    norm = 1.0 / np.sqrt((2 * np.pi) ** cov.shape[0] * np.linalg.det(cov))
    diff = x[:, None, :] - previous.unit[kept][None, :, :]
    mahal = np.einsum("ijk,kl,ijl->ij", diff, inv, diff)
    return norm * (np.exp(-0.5 * mahal) @ previous.weight[kept])


def _kernel(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Twice the weighted covariance (Beaumont et al. 2009), with a floor so that a
    population collapsed onto one point still moves (1% of the range)."""
    d = x.shape[1]
    if len(x) > 1:
        mean = w @ x / w.sum()
        cov = ((x - mean) * w[:, None]).T @ (x - mean) / w.sum()
    else:
        cov = np.zeros((d, d))
    return 2.0 * cov + np.eye(d) * 1e-4


def effective_sample_size(weight: np.ndarray) -> float:
    """How many equally weighted sets importance weights are worth: Kish's 1 / sum(w^2)
    over the positive weights, normalised (Kish 1965; the usual check for weights that have
    collapsed onto a few particles in sequential Monte Carlo). 0 with no positive weight."""
    w = weight[weight > 0]
    if w.size == 0:
        return 0.0
    w = w / w.sum()
    return float(1.0 / np.sum(w**2))


def weighted_quantiles(values: np.ndarray, weight: np.ndarray, qs: list[float]) -> list[float]:
    """Quantiles of a weighted sample (step function of the weighted empirical CDF)."""
    order = np.argsort(values)
    cdf = np.cumsum(weight[order]) / weight.sum()
    return [float(values[order][min(np.searchsorted(cdf, q), len(values) - 1)]) for q in qs]


def _rng(seed: int, wave: int) -> np.random.Generator:
    return np.random.default_rng([seed, 0xABC, wave])
