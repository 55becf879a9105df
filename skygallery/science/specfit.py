"""Forward-folding spectral fits: a photon model through RMF × ARF compared with a PHA spectrum.

Data selection: channels with QUALITY 0 whose EBOUNDS lie inside [emin, emax] and with a finite
rate and a positive error; GROUPING applied (a group = a channel with GROUPING 1 and the −1
channels after it; kept when all its channels are selected). Per group the rate is the sum, the
variance Σ STAT_ERR² + Σ (SYS_ERR·RATE)².

Statistic: χ² = Σ (data − model)²/σ² for rate spectra — the shadowgram-fit spectra are least-squares
amplitudes with Gaussian errors (they can be negative), for which χ² is the right statistic. For
Poisson count spectra (COUNTS, POISSERR T) the Cash statistic C = 2 Σ (m − n + n ln(n/m)) is used
when any group has fewer than ``min_counts_chi2`` (20) counts ("auto"), χ² with σ² = max(n, 1)
otherwise; ``stat`` forces either. Fits start from a linear fit of the norm at Γ = 1, 2, 3 on
the internal parameters of :mod:`.specmodels`.

Both statistics are minimised by ``scipy.optimize.least_squares`` (trust-region reflective, bounds) —
Cash through its deviance residuals, whose squares sum to C.

Errors: "covariance" — from the curvature at the minimum (χ²: (JᵀJ)⁻¹; Cash: 2·H⁻¹); "scan" —
1σ bounds where the profile statistic (others re-minimised) rises by 1 (Δχ² = 1, brentq), which
captures asymmetric errors of faint sources. Fluxes (erg cm⁻² s⁻¹ in ``flux_band``, default the
fitted energy range) and their errors come from the covariance (numerical gradient). The Crab
rate is the reference Crab (:func:`.specmodels.crab_photon_flux`) folded through the same response
and channels; ``mcrab`` = 1000 × model rate / Crab rate in the fitted channels.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import optimize

from .specmodels import MODELS, FoldingResponse, band_energy_flux, crab_photon_flux

__all__ = ["FitData", "ParamValue", "SpectralFit", "fit_spectrum", "folded_crab_rate", "select_data"]


@dataclass
class FitData:
    """Grouped, selected data: per group rate (counts/s), σ, energy bounds, projector [energy, group]."""

    rate: np.ndarray
    sigma: np.ndarray
    e_lo: np.ndarray
    e_hi: np.ndarray
    projector: np.ndarray
    counts: np.ndarray | None
    exposure: float


def _group_ids(grouping: np.ndarray) -> np.ndarray:
    starts = np.asarray(grouping) != -1
    starts[0] = True
    return np.cumsum(starts) - 1


def select_data(pha, response: FoldingResponse, emin: float | None = None, emax: float | None = None) -> FitData:
    """The fitted data of a spectrum (see the module docstring)."""
    if emin is not None and emax is not None and not emin < emax:
        raise ValueError(f"emin: E_MIN ({emin:g}) must be below E_MAX ({emax:g}) keV")
    cols = response.columns_of(pha.channel)
    lo, hi = response.e_min[cols], response.e_max[cols]
    rate = pha.rate
    err = pha.stat_err if pha.stat_err is not None else np.sqrt(np.maximum(pha.counts, 1.0)) / pha.exposure
    ok = (pha.quality == 0) & np.isfinite(rate) & np.isfinite(err) & (err > 0)
    if emin is not None:
        ok &= lo >= emin - 1e-6
    if emax is not None:
        ok &= hi <= emax + 1e-6
    gid = _group_ids(pha.grouping)
    n_groups = gid.max() + 1
    complete = np.bincount(gid, weights=ok, minlength=n_groups) == np.bincount(gid, minlength=n_groups)
    use = ok & complete[gid]
    if not use.any():
        raise ValueError(f"emin: no good channel of the spectrum in {emin}-{emax} keV (QUALITY, errors, range)")
    keep = np.unique(gid[use])
    remap = -np.ones(n_groups, int)
    remap[keep] = np.arange(keep.size)
    g = remap[gid[use]]
    proj = np.zeros((response.matrix.shape[0], keep.size))
    np.add.at(proj.T, g, response.matrix[:, cols[use]].T)
    var = np.bincount(g, weights=err[use] ** 2 + (pha.sys_err[use] * rate[use]) ** 2)
    counts = np.bincount(g, weights=pha.counts[use]) if pha.counts is not None else None
    return FitData(np.bincount(g, weights=rate[use]), np.sqrt(var),
                   np.array([lo[use][g == k].min() for k in range(keep.size)]),
                   np.array([hi[use][g == k].max() for k in range(keep.size)]), proj, counts, pha.exposure)


@dataclass
class ParamValue:
    value: float
    err_lo: float       # 1σ, ≥ 0 (value − lower bound)
    err_hi: float
    unit: str = ""

    def as_dict(self) -> dict:
        return {"value": self.value, "err_lo": self.err_lo, "err_hi": self.err_hi, "unit": self.unit}


@dataclass
class SpectralFit:
    """Best fit of one model to one spectrum (see the module docstring for the quantities)."""

    model: str
    params: dict[str, ParamValue]
    statistic: str
    stat_value: float
    dof: int
    n_groups: int
    energy_range_kev: tuple[float, float]
    pivot_kev: float
    flux_band_kev: tuple[float, float]
    flux_erg_cm2_s: float
    flux_err: float
    model_rate: float
    crab_rate: float
    mcrab: float
    mcrab_err: float
    errors: str
    data: FitData | None = field(default=None, repr=False)
    model_counts: np.ndarray | None = field(default=None, repr=False)

    @property
    def reduced(self) -> float:
        return self.stat_value / self.dof if self.dof > 0 else math.nan

    def as_dict(self) -> dict:
        return {"model": self.model, "params": {k: v.as_dict() for k, v in self.params.items()},
                "statistic": self.statistic, "stat": self.stat_value, "dof": self.dof, "reduced": self.reduced,
                "n_groups": self.n_groups, "energy_range_kev": list(self.energy_range_kev),
                "flux_band_kev": list(self.flux_band_kev), "flux_erg_cm2_s": self.flux_erg_cm2_s,
                "flux_err": self.flux_err, "model_rate": self.model_rate, "crab_rate": self.crab_rate,
                "mcrab": self.mcrab, "mcrab_err": self.mcrab_err, "errors": self.errors,
                "pivot_kev": self.pivot_kev}


class _Problem:
    """Statistic of the internal parameters for one model and data set."""

    def __init__(self, model, data: FitData, response: FoldingResponse, pivot: float, stat: str):
        self.model, self.data, self.response, self.pivot, self.stat = model, data, response, pivot, stat
        self.lower, self.upper = np.array(model.lower), np.array(model.upper)

    def predicted(self, p) -> np.ndarray:
        return self.response.fold(lambda e: self.model.photon_flux(e, p, self.pivot), self.data.projector)

    def residuals(self, p) -> np.ndarray:
        """χ² residuals, or Cash deviance residuals sign(n − m)·√(2(m − n + n ln(n/m))) whose squares
        sum to C, so that both statistics are minimised by least squares."""
        if self.stat == "chi2":
            return (self.data.rate - self.predicted(p)) / self.data.sigma
        m = np.clip(self.predicted(p) * self.data.exposure, 1e-12, None)
        n = self.data.counts
        dev = 2.0 * (m - n + np.where(n > 0, n * np.log(np.where(n > 0, n, 1.0) / m), 0.0))
        return np.sign(n - m) * np.sqrt(np.clip(dev, 0.0, None))

    def value(self, p) -> float:
        return float(np.sum(self.residuals(p) ** 2))

    def minimise(self, start, fixed: dict[int, float] | None = None) -> tuple[np.ndarray, float]:
        fixed = fixed or {}
        free = [i for i in range(start.size) if i not in fixed]

        def full(q):
            p = np.array(start, float)
            p[free] = q
            for i, v in fixed.items():
                p[i] = v
            return p
        q0 = np.clip(np.array(start, float)[free], self.lower[free] + 1e-9, self.upper[free] - 1e-9)
        lower = self.lower[free].copy()
        if self.stat == "cash" and 0 in free:
            lower[free.index(0)] = 0.0            # Poisson model counts must stay positive
            q0[free.index(0)] = max(q0[free.index(0)], 1e-12)
        res = optimize.least_squares(lambda q: self.residuals(full(q)), q0, method="trf",
                                     bounds=(lower, self.upper[free]), x_scale="jac")
        q = res.x
        p = full(q)
        return p, self.value(p)

    def covariance(self, p) -> np.ndarray:
        steps = np.maximum(np.abs(p) * 1e-4, 1e-6)
        if self.stat == "chi2":   # Gauss–Newton: (JᵀJ)⁻¹ is exact for a linear model
            jac = np.empty((self.data.rate.size, p.size))
            for i in range(p.size):
                dp = np.zeros_like(p)
                dp[i] = steps[i]
                jac[:, i] = (self.residuals(p + dp) - self.residuals(p - dp)) / (2 * steps[i])
            return np.linalg.pinv(jac.T @ jac)
        hess = np.empty((p.size, p.size))
        for i in range(p.size):
            for j in range(p.size):
                di, dj = np.zeros_like(p), np.zeros_like(p)
                di[i], dj[j] = steps[i], steps[j]
                hess[i, j] = (self.value(p + di + dj) - self.value(p + di - dj) - self.value(p - di + dj)
                              + self.value(p - di - dj)) / (4 * steps[i] * steps[j])
        return 2.0 * np.linalg.pinv(hess)


def _scan_bound(problem: _Problem, best, s_min, i, sigma, direction) -> float:
    """Distance from best[i] to where the profile statistic reaches s_min + 1 (NaN if not found)."""
    def delta(v):
        return problem.minimise(best, {i: v})[1] - s_min - 1.0
    step = sigma if np.isfinite(sigma) and sigma > 0 else max(abs(best[i]) * 0.1, 1e-3)
    a = best[i]
    for _ in range(12):
        b = best[i] + direction * step
        b = float(np.clip(b, problem.lower[i], problem.upper[i]))
        if delta(b) > 0:
            try:
                return abs(optimize.brentq(delta, a, b, xtol=abs(step) * 1e-3) - best[i])
            except ValueError:
                return math.nan
        if b in (problem.lower[i], problem.upper[i]):
            return math.nan
        a, step = b, step * 2.0
    return math.nan


def _choose_stat(pha, data: FitData, stat: str, min_counts_chi2: float) -> str:
    if stat not in ("auto", "chi2", "cash"):
        raise ValueError(f"stat: must be auto, chi2 or cash, got {stat!r}")
    if stat == "cash" and data.counts is None:
        raise ValueError("stat: Cash needs a COUNTS spectrum with Poisson errors")
    if stat == "auto":
        return "cash" if pha.poisson and data.counts is not None and data.counts.min() < min_counts_chi2 else "chi2"
    return stat


def folded_crab_rate(response: FoldingResponse, projector: np.ndarray) -> float:
    """Counts/s of the reference Crab through the response, summed over the projector's groups."""
    return float(response.fold(crab_photon_flux, projector).sum())


def fit_spectrum(pha, rmf, arf=None, model: str = "powerlaw", emin: float | None = None, emax: float | None = None,
                 stat: str = "auto", errors: str = "scan", flux_band: tuple[float, float] | None = None,
                 min_counts_chi2: float = 20.0) -> SpectralFit:
    """Fit ``model`` ("powerlaw" or "cutoffpl") to a :class:`~.spectra.Pha` through ``rmf``/``arf``
    (:mod:`.responses`) over [emin, emax] keV (see the module docstring)."""
    if model not in MODELS:
        raise ValueError(f"model: unknown {model!r} (choose from {', '.join(MODELS)})")
    if errors not in ("scan", "covariance"):
        raise ValueError(f"errors: must be scan or covariance, got {errors!r}")
    spec_model = MODELS[model]
    response = FoldingResponse(rmf, arf)
    data = select_data(pha, response, emin, emax)
    n_par = len(spec_model.internal)
    if data.rate.size <= n_par:
        raise ValueError(f"emin: {data.rate.size} good channels cannot constrain {n_par} parameters")
    stat_name = _choose_stat(pha, data, stat, min_counts_chi2)
    if stat_name == "chi2" and data.counts is not None and pha.stat_err is None:
        data.sigma = np.sqrt(np.maximum(data.counts, 1.0)) / data.exposure
    pivot = float(math.sqrt(data.e_lo.min() * data.e_hi.max()))
    problem = _Problem(spec_model, data, response, pivot, stat_name)
    best, s_min = _start_and_fit(problem, spec_model)
    cov = problem.covariance(best)
    sig = np.sqrt(np.clip(np.diag(cov), 0, None))
    bounds = [(s, s) for s in sig]
    if errors == "scan":
        bounds = [(_scan_bound(problem, best, s_min, i, sig[i], -1), _scan_bound(problem, best, s_min, i, sig[i], +1))
                  for i in range(n_par)]
    return _result(problem, best, s_min, cov, bounds, errors, flux_band)


def _start_and_fit(problem: _Problem, spec_model) -> tuple[np.ndarray, float]:
    best, s_best = None, math.inf
    for index in (2.0, 1.0, 3.0):
        start = spec_model.start(index)
        unit = problem.predicted(start)
        w = 1.0 / problem.data.sigma ** 2
        norm = float(np.sum(w * unit * problem.data.rate) / max(np.sum(w * unit * unit), 1e-300))
        start[0] = norm if (norm > 0 or problem.stat == "chi2") else 1e-6
        p, s = problem.minimise(start)
        if s < s_best:
            best, s_best = p, s
    return best, s_best


def _result(problem: _Problem, best, s_min, cov, bounds, errors, flux_band) -> SpectralFit:
    spec_model, data, pivot = problem.model, problem.data, problem.pivot
    rep = spec_model.reported(best, pivot)
    params = {"PhoIndex": ParamValue(rep["PhoIndex"], bounds[1][0], bounds[1][1]),
              "norm_pivot": ParamValue(float(best[0]), bounds[0][0], bounds[0][1], "ph/cm2/s/keV"),
              "norm": ParamValue(rep["norm"], *([_propagate(lambda p: spec_model.reported(p, pivot)["norm"],
                                                            best, cov)] * 2), "ph/cm2/s/keV at 1 keV")}
    if spec_model.name == "cutoffpl":
        ec, lo, hi = rep["HighECut"], bounds[2][0], bounds[2][1]
        params["HighECut"] = ParamValue(ec, ec - 10 ** (best[2] - lo) if np.isfinite(lo) else math.nan,
                                        10 ** (best[2] + hi) - ec if np.isfinite(hi) else math.nan, "keV")
    band = flux_band or (float(data.e_lo.min()), float(data.e_hi.max()))

    def flux(p):
        return band_energy_flux(lambda e: spec_model.photon_flux(e, p, pivot), band)

    def rate(p):
        return float(problem.predicted(p).sum())
    crab = folded_crab_rate(problem.response, data.projector)
    model_rate = rate(best)
    rate_err = _propagate(rate, best, cov)
    return SpectralFit(spec_model.name, params, problem.stat, s_min, data.rate.size - best.size, data.rate.size,
                       (float(data.e_lo.min()), float(data.e_hi.max())), pivot, band, flux(best),
                       _propagate(flux, best, cov), model_rate, crab,
                       1000.0 * model_rate / crab if crab > 0 else math.nan,
                       1000.0 * rate_err / crab if crab > 0 else math.nan, errors, data, problem.predicted(best))


def _propagate(fn, p, cov) -> float:
    """1σ error of fn(p) from the parameter covariance (central-difference gradient)."""
    grad = np.empty(p.size)
    for i in range(p.size):
        h = max(abs(p[i]) * 1e-5, 1e-8)
        dp = np.zeros_like(p)
        dp[i] = h
        grad[i] = (fn(p + dp) - fn(p - dp)) / (2 * h)
    return float(math.sqrt(max(grad @ cov @ grad, 0.0)))
