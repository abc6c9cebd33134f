"""Sensitivity analysis of a noisy model through a Gaussian-process emulator.

A single-replicate Saltelli design spends most of its runs measuring luck when
run-to-run noise is a large share of an outcome's variance. Here a space-filling
design with replicates at each point (common random numbers) is averaged per
point, and a Gaussian process with a noise term (scikit-learn: constant x
Matern-5/2 with one length scale per parameter, plus white noise) is fitted to
the point means on the unit cube. Its latent function is the emulated *mean
response*; Sobol indices are those of that mean (Marrel et al. 2009), so noise
does not count as a parameter's effect.

- Indices: SALib's S1 and ST estimators on the emulator's posterior mean (a
  large Saltelli design) give the estimate. Joint posterior draws of the latent
  function on several independent Saltelli designs give the interval: the
  2.5-97.5 percentiles of the draws' indices, which cover both emulator error
  (draws differ) and Monte Carlo error (designs differ).
- Check: k-fold cross-validation on the design points: Q2 of the held-out
  point means, Q2 of the mean response (the noise in a point mean removed from
  both error and variance), and standardised errors, which should look like
  N(0, 1) if the emulator's own uncertainty is honest.
- Main effects: the emulated mean response to each parameter, averaged over the
  others, with a 95% band from the posterior draws.

`tests/test_emulator.py` checks the whole chain on a noisy Ishigami function.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

DRAWS = 200  # posterior draws of the mean response
DESIGNS = 4  # independent Saltelli designs the draws are spread over
DESIGN_ROWS = 2048  # rows per Saltelli design for draws (base N: the largest power of 2 that fits)
ESTIMATE_N = 4096  # Saltelli base size for the posterior mean's indices (cheap: no draws)
FOLDS = 5  # cross-validation folds for the emulator check
GOOD_Q2 = 0.8  # Q2 of the mean response at or above this: a good emulator
USABLE_Q2 = 0.5  # below this the emulator is poor and its indices are not findings
OUTSIDE_2SD = 0.15  # a larger share of standardised errors beyond +-2 flags an overconfident fit
JITTER = 1e-8  # added to a posterior covariance's diagonal so its Cholesky factor exists


@dataclass
class Emulator:
    """A fitted Gaussian process on the unit cube of the parameters' bounds."""

    gp: Any  # sklearn GaussianProcessRegressor, fitted
    low: np.ndarray
    high: np.ndarray

    def unit(self, X: np.ndarray) -> np.ndarray:
        return (np.asarray(X, float) - self.low) / (self.high - self.low)

    def draws(self, X: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
        """n joint posterior draws of the mean response (no noise) at the rows of X."""
        U = self.unit(X)
        gp = self.gp
        signal = gp.kernel_.k1  # the kernel without its white-noise term
        cross = signal(U, gp.X_train_)
        mean = cross @ gp.alpha_
        from scipy.linalg import solve_triangular

        v = solve_triangular(gp.L_, cross.T, lower=True)
        cov = signal(U) - v.T @ v
        cov[np.diag_indices_from(cov)] += JITTER * float(signal.diag(U[:1])[0])
        factor = _cholesky(cov)
        f = mean[:, None] + factor @ rng.standard_normal((len(U), n))
        # normalize_y: the GP works on standardised outcomes (scikit-learn keeps the scaling
        # in these attributes; it has no public way to draw the latent function alone)
        return f * np.asarray(gp._y_train_std) + np.asarray(gp._y_train_mean)


def _cholesky(cov: np.ndarray) -> np.ndarray:
    """Cholesky factor, with more jitter if round-off made the matrix indefinite."""
    scale = float(np.mean(np.diag(cov)))
    for extra in (0.0, 1e-8, 1e-6, 1e-4):
        try:
            return np.linalg.cholesky(cov + extra * scale * np.eye(len(cov)))
        except np.linalg.LinAlgError:
            continue
    raise ValueError("emulator: the posterior covariance is not positive definite")


def make_gp(dims: int, seed: int):
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel

    kernel = ConstantKernel(1.0, (1e-3, 1e3)) * Matern(
        length_scale=np.full(dims, 0.5), length_scale_bounds=(1e-2, 1e2), nu=2.5
    ) + WhiteKernel(0.1, (1e-6, 10.0))
    return GaussianProcessRegressor(
        kernel,
        normalize_y=True,
        n_restarts_optimizer=2,  # the likelihood has local optima; a few restarts find the best
        random_state=seed,
    )


def fit_emulator(X: np.ndarray, Y: np.ndarray, bounds: list[list[float]], seed: int) -> Emulator:
    """Fit the emulator to one outcome's point means Y at design points X (rows)."""
    Y = np.asarray(Y, dtype=float)
    if not np.all(np.isfinite(Y)):
        raise ValueError(f"{int((~np.isfinite(Y)).sum())} outcome values are missing or not finite")
    low = np.array([b[0] for b in bounds], dtype=float)
    high = np.array([b[1] for b in bounds], dtype=float)
    em = Emulator(make_gp(len(bounds), seed), low, high)
    with warnings.catch_warnings():
        # A length scale at its bound means "this parameter does nothing": a finding, not a fault.
        warnings.filterwarnings("ignore", message=".*close to the specified")
        em.gp.fit(em.unit(X), Y)
    return em


def saltelli_indices(draws: np.ndarray, dims: int) -> tuple[np.ndarray, np.ndarray]:
    """S1 and ST (shape draws x dims) of each column of outputs on one Saltelli design
    (SALib's layout without second order: A, AB_1..AB_d, B per base row)."""
    from SALib.analyze.sobol import first_order, total_order

    step = dims + 2
    # Centred: the S1 estimator mean(B (AB - A)) is unbiased under a shift but its variance
    # grows with the mean squared (net harm is ~GBP 190m with effects of a few million).
    draws = draws - draws.mean(axis=0)
    A, B = draws[0::step], draws[step - 1 :: step]
    s1 = np.empty((draws.shape[1], dims))
    st = np.empty_like(s1)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Constant values encountered")
        for j in range(dims):
            AB = draws[j + 1 :: step]
            s1[:, j] = first_order(A, AB, B)
            st[:, j] = total_order(A, AB, B)
    return s1, st


def emulator_indices(
    em: Emulator, problem: dict[str, Any], seed: int, draws: int = DRAWS, designs: int = DESIGNS
) -> pd.DataFrame:
    """S1 and ST of the emulated mean response, each with its 95% interval.

    The estimate is that of the emulator's posterior mean, on a large Saltelli design
    (Monte Carlo error small). The interval is the 2.5-97.5 percentile range of the
    indices of posterior draws, on `designs` smaller independent designs, moved to be
    centred (by median) on the estimate: draws of a Gaussian process are rougher than
    the function it emulates, and that roughness adds spurious interactions, so the
    draws' indices are biased (ST up, S1 down) though their spread is right. On the
    noisy Ishigami test the posterior mean's indices were the closer to the truth.
    """
    from SALib.sample import sobol

    dims = problem["num_vars"]
    X = sobol.sample(problem, ESTIMATE_N, calc_second_order=False, scramble=True, seed=seed)
    s1_hat, st_hat = saltelli_indices(em.gp.predict(em.unit(X))[:, None], dims)
    base = 2 ** int(np.log2(DESIGN_ROWS // (dims + 2)))
    rng = np.random.default_rng(seed)
    s1, st = [], []
    for d in range(designs):
        X = sobol.sample(problem, base, calc_second_order=False, scramble=True, seed=seed + 1 + d)
        a, b = saltelli_indices(em.draws(X, draws // designs, rng), dims)
        s1.append(a)
        st.append(b)
    table: dict[str, Any] = {"parameter": problem["names"]}
    for name, hat, values in (("S1", s1_hat[0], np.vstack(s1)), ("ST", st_hat[0], np.vstack(st))):
        low, mid, high = np.percentile(values, [2.5, 50, 97.5], axis=0)
        low, high = (np.clip(hat + x - mid, 0.0, 1.0) for x in (low, high))  # indices lie in [0, 1]
        table |= {name: hat, f"{name}_low": low, f"{name}_high": high}
    return pd.DataFrame(table)


@dataclass
class Check:
    """How well the emulator predicts design points it was not fitted to."""

    q2: float  # 1 - held-out squared error / variance of the point means
    q2_mean: float  # the same for the mean response: noise of a point mean taken out of both
    outside_2sd: float  # share of standardised held-out errors beyond +-2 (about 5% if honest)
    sd_std_error: float  # SD of the standardised errors (about 1 if honest)

    @property
    def verdict(self) -> str:
        """good, usable or poor: poor emulators' indices are not findings."""
        if not np.isfinite(self.q2_mean) or self.q2_mean < USABLE_Q2:
            return "poor"
        if self.outside_2sd > OUTSIDE_2SD:
            return "poor"
        return "good" if self.q2_mean >= GOOD_Q2 else "usable"


def cross_validate(
    em: Emulator, X: np.ndarray, Y: np.ndarray, noise_of_mean: float, seed: int, folds: int = FOLDS
) -> Check:
    """k-fold check of an emulator, keeping its fitted hyperparameters (refits only the
    posterior on each fold's training points, as is usual for emulator validation).

    noise_of_mean: the run-to-run noise variance of a point mean (sigma^2 / R), which
    no emulator of the mean response can predict; Q2 of the mean response removes it.
    """
    from sklearn.base import clone

    Y = np.asarray(Y, dtype=float)
    U = em.unit(X)
    order = np.random.default_rng(seed).permutation(len(Y))
    pred = np.empty_like(Y)
    sd = np.empty_like(Y)
    for k in range(folds):
        held = order[k::folds]
        train = np.setdiff1d(order, held)
        gp = clone(em.gp).set_params(kernel=em.gp.kernel_, optimizer=None)
        gp.fit(U[train], Y[train])
        pred[held], sd[held] = gp.predict(U[held], return_std=True)
    err = Y - pred
    var = float(np.var(Y))
    mse = float(np.mean(err**2))
    signal = var - noise_of_mean
    q2 = 1 - mse / var if var > 0 else np.nan
    q2_mean = 1 - max(mse - noise_of_mean, 0.0) / signal if signal > 0 else np.nan
    z = err / sd
    return Check(q2, q2_mean, float(np.mean(np.abs(z) > 2)), float(np.std(z)))


def main_effects(
    em: Emulator, problem: dict[str, Any], seed: int, grid: int = 21, others: int = 40
) -> dict[str, pd.DataFrame]:
    """Per parameter: the mean response at `grid` values of it, averaged over `others`
    Latin-hypercube settings of the rest, with a 95% band over posterior draws."""
    from scipy.stats import qmc

    dims = problem["num_vars"]
    low = np.array([b[0] for b in problem["bounds"]], dtype=float)
    high = np.array([b[1] for b in problem["bounds"]], dtype=float)
    rng = np.random.default_rng(seed)
    rest = low + qmc.LatinHypercube(d=dims, seed=seed).random(others) * (high - low)
    effects = {}
    for i, name in enumerate(problem["names"]):
        values = np.linspace(low[i], high[i], grid)
        X = np.repeat(rest[None, :, :], grid, axis=0)
        X[:, :, i] = values[:, None]
        f = em.draws(X.reshape(-1, dims), 100, rng).reshape(grid, others, -1).mean(axis=1)
        lo, hi = np.percentile(f, [2.5, 97.5], axis=1)
        effects[name] = pd.DataFrame(
            {"value": values, "mean": f.mean(axis=1), "low": lo, "high": hi}
        )
    return effects
