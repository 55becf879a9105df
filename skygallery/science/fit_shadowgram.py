"""Shadowgram fitting: source rates by weighted linear least squares on the detector plane
(the method of OSA ``ii_spectra_extract`` / ``ii_lc_extract``, Goldwurm et al. 2003, A&A 411, L223).

Model of the counts D_k in good pixel k (efficiency W_k > 0; dead pixels and module gaps are left out):

    D_k ≈ Σ_i R_i · S_ik + Σ_j b_j · B_jk

* S_ik = T/A · W_k · PIF_i(k) — the expected counts of source i at unit rate over the exposure T
  (:func:`~skygallery.science.imaging.shadow.source_shadow`: PIF with partial coding, A = Σ W·PIF on-axis).
  R_i is therefore the rate in counts/s "as if on-axis, fully coded" — the quantity the simulator
  draws counts from and the decoded images show.
* B_jk — the background: by default a flat level per detector module (counts per pixel at unit
  efficiency) plus a linear gradient along x and along y (an unmodelled gradient correlates with the
  partial shadows of off-axis sources); with ``background_map`` (relative background per pixel) one
  normalisation of the map per module instead (dimensionless scale factors).

Solution: normal equations (Sᵀ𝐖S)c = Sᵀ𝐖D on the good pixels with Poisson weights 𝐖 = 1/model.
The model comes from the previous pass (first an unweighted pass), never from the data pixel
itself, so the estimate stays unbiased at low counts; two reweighted passes converge to the
Poisson maximum likelihood for practical purposes. Covariance = (Sᵀ𝐖S)⁻¹ (columns scaled to unit
norm and inverted by eigen-decomposition, so overlapping shadows of near-coincident sources give
large, honest errors rather than a failure). All catalogue sources the caller passes are fitted
simultaneously, so a very bright neighbour's shadow (main peak and coding noise) is modelled rather
than leaking into fainter sources. A source whose direction is not seen by any good pixel (coded
fraction 0, or behind the instrument) is left out of the fit and reported with rate = NaN.

:class:`ShadowgramModel` holds the precomputed columns of one ScW (one PIF per source), reused
across energy bands and time bins; :meth:`ShadowgramModel.fit_time_bins` fits many short bins with
the background *shape* fixed from the whole-ScW fit (free: one background normalisation and the
source rates) — a linear problem whose normal matrix is shared by all bins.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .attitude import Pointing, instrument_angles
from .imaging.shadow import source_shadow
from .instruments.geometry import CodedMaskInstrument
from .instruments.response import coded_fraction

__all__ = [
    "FitSource",
    "ShadowgramFit",
    "ShadowgramModel",
    "TimeBinFit",
    "detector_modules",
    "fit_shadowgram",
    "prepare_model",
]

N_REWEIGHT = 2


@dataclass(frozen=True)
class FitSource:
    """A source to fit; position in degrees (ICRS/FK5 J2000)."""

    name: str
    ra_deg: float
    dec_deg: float


@dataclass
class ShadowgramFit:
    """Result of one shadowgram fit. Rates in counts/s (on-axis equivalent), NaN outside the field."""

    names: list[str]
    rate: np.ndarray
    rate_err: np.ndarray
    covariance: np.ndarray        # (n_src, n_src), (counts/s)²; NaN rows/columns for sources not fitted
    background: np.ndarray        # per-module levels (counts/pixel), then x/y gradients (counts/pixel across)
    chi2: float
    dof: int
    coded_fraction: np.ndarray    # per source, 0..1
    model: np.ndarray | None = None   # fitted counts [y, x] (0 on unused pixels)
    background_model: np.ndarray | None = None  # the background part of ``model``

    @property
    def significance(self) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return self.rate / self.rate_err


@dataclass
class TimeBinFit:
    """Rates of many time bins of one ScW and band: arrays (n_tbins, n_src), counts/s."""

    names: list[str]
    rate: np.ndarray
    rate_err: np.ndarray
    background_norm: np.ndarray   # (n_tbins,) scale of the whole-ScW background shape (1 = unchanged)


def detector_modules(inst: CodedMaskInstrument) -> np.ndarray:
    """Module number of each pixel [y, x] (−1 on gaps): connected regions of the valid detector
    separated by fully invalid rows/columns (ISGRI: 8 modules of 32 × 64; JEM-X: 1)."""
    from scipy import ndimage
    labels, _ = ndimage.label(inst.detector.valid)
    return labels.astype(int) - 1


def _background_columns(inst: CodedMaskInstrument, background_map: np.ndarray | None) -> np.ndarray:
    modules = detector_modules(inst)
    w = inst.efficiency
    n_mod = modules.max() + 1
    if background_map is not None:
        bmap = np.asarray(background_map, float)
        if bmap.shape != w.shape:
            raise ValueError(f"background_map: shape {bmap.shape} differs from the {inst.name} grid {w.shape}")
        if not np.all(np.isfinite(bmap)) or bmap.min() < 0:
            raise ValueError("background_map: must be finite and >= 0")
        return np.stack([(modules == m) * w * bmap for m in range(n_mod)])
    ny, nx = w.shape
    yy, xx = np.mgrid[0:ny, 0:nx]
    flat = [(modules == m) * w for m in range(n_mod)]
    grads = [(xx - (nx - 1) / 2) / nx * w, (yy - (ny - 1) / 2) / ny * w]
    return np.stack(flat + grads)


def _solve(normal: np.ndarray, rhs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Solution and inverse of a symmetric normal matrix (column-scaled eigen-decomposition)."""
    d = np.sqrt(np.clip(np.diag(normal), 1e-300, None))
    scaled = normal / np.outer(d, d)
    vals, vecs = np.linalg.eigh(scaled)
    keep = vals > vals.max() * 1e-12
    inv_scaled = (vecs[:, keep] / vals[keep]) @ vecs[:, keep].T
    inv = inv_scaled / np.outer(d, d)
    return inv @ rhs, inv


def _weights(model: np.ndarray) -> np.ndarray:
    """Poisson weights 1/model with a floor protecting pixels whose model is ≤ 0 or tiny."""
    floor = max(0.05 * float(np.mean(model)), 1e-6)
    return 1.0 / np.clip(model, floor, None)


@dataclass(eq=False)
class ShadowgramModel:
    """Precomputed design of one ScW: good pixels, background and unit-rate source columns.

    ``src_cols`` are counts per pixel per (counts/s · s) — multiply by an exposure (s)."""

    inst: CodedMaskInstrument
    pointing: Pointing
    names: list[str]
    coded_fraction: np.ndarray
    fitted: np.ndarray            # bool per source: inside the field, in the fit
    good: np.ndarray              # bool [y, x]
    bkg_cols: np.ndarray          # (n_bkg, n_good)
    src_cols: np.ndarray          # (n_fitted, n_good)

    @property
    def n_bkg(self) -> int:
        return self.bkg_cols.shape[0]

    def design(self, exposure_s: float) -> tuple[np.ndarray, np.ndarray]:
        """Design matrix (n_good, n_bkg + n_fitted) for an exposure in seconds, and its AᵀA
        (cached for the last exposure: all bands of a ScW share it)."""
        cached = self.__dict__.get("_design")
        if cached is None or cached[0] != exposure_s:
            a = np.ascontiguousarray(np.concatenate([self.bkg_cols, self.src_cols * exposure_s]).T)
            cached = (exposure_s, a, a.T @ a)
            self.__dict__["_design"] = cached
        return cached[1], cached[2]

    def _unpack(self, coef, cov, chi2, dof, model_good=None, bkg_good=None) -> ShadowgramFit:
        n = len(self.names)
        idx = np.flatnonzero(self.fitted)
        rate, cov_full = np.full(n, np.nan), np.full((n, n), np.nan)
        rate[idx] = coef[self.n_bkg:]
        cov_full[np.ix_(idx, idx)] = cov[self.n_bkg:, self.n_bkg:]
        err = np.sqrt(np.clip(np.diag(cov_full), 0, None))
        model = bkg = None
        if model_good is not None:
            model, bkg = np.zeros(self.good.shape), np.zeros(self.good.shape)
            model[self.good], bkg[self.good] = model_good, bkg_good
        return ShadowgramFit(list(self.names), rate, err, cov_full, np.asarray(coef[:self.n_bkg], float),
                             float(chi2), int(dof), self.coded_fraction.copy(), model, bkg)

    def fit(self, shadowgram: np.ndarray, exposure_s: float, n_reweight: int = N_REWEIGHT) -> ShadowgramFit:
        """Fit one shadowgram of counts [y, x] accumulated over ``exposure_s`` seconds."""
        d = self._data(shadowgram, exposure_s)
        a, ata = self.design(exposure_s)
        coef, _ = _solve(ata, a.T @ d)
        for _ in range(max(1, n_reweight)):
            w = _weights(a @ coef)
            aw = a * w[:, None]
            coef, cov = _solve(aw.T @ a, aw.T @ d)
        model = a @ coef
        chi2 = float(np.sum((d - model) ** 2 * w))
        bkg = a[:, :self.n_bkg] @ coef[:self.n_bkg]
        return self._unpack(coef, cov, chi2, d.size - a.shape[1], model, bkg)

    def fit_time_bins(self, shadowgrams: np.ndarray, exposures_s: np.ndarray, scw_fit: ShadowgramFit,
                      scw_exposure_s: float) -> TimeBinFit:
        """Rates in time bins ``shadowgrams`` (n_t, y, x) of ``exposures_s`` (n_t,) seconds, the
        background shape fixed to the whole-ScW fit ``scw_fit`` (exposure ``scw_exposure_s``).

        With r_k the whole-ScW model rate of pixel k, the columns of bin t are e_t·(background shape,
        unit-rate shadows) and the weights 1/(r_k·e_t): the normal matrix is e_t·M with one M for all
        bins and the right-hand side does not depend on e_t, so every bin costs one matrix–vector
        product; rates = M⁻¹·rhs/e_t, covariance M⁻¹/e_t."""
        exposures = np.asarray(exposures_s, float)
        if shadowgrams.ndim != 3 or shadowgrams.shape[0] != exposures.size:
            raise ValueError("shadowgrams: expected (n_tbins, ny, nx) matching exposures_s")
        if scw_fit.background_model is None or scw_fit.model is None:
            raise ValueError("scw_fit: needs the fitted model (from ShadowgramModel.fit)")
        rate_model = scw_fit.model[self.good] / scw_exposure_s            # counts/s per pixel
        w1 = 1.0 / np.clip(rate_model, max(0.05 * float(rate_model.mean()), 1e-9), None)
        cols = np.concatenate([scw_fit.background_model[self.good][None, :] / scw_exposure_s, self.src_cols]).T
        normal = (cols * w1[:, None]).T @ cols                              # per second of exposure
        _, inv = _solve(normal, np.zeros(normal.shape[0]))
        d = shadowgrams[:, self.good].astype(float)                          # (n_t, n_good)
        rhs = (d * w1[None, :]) @ cols                                       # (n_t, n_par): e_t cancels
        n_t, n = exposures.size, len(self.names)
        rate, err = np.full((n_t, n), np.nan), np.full((n_t, n), np.nan)
        norm = np.full(n_t, np.nan)
        ok = exposures > 0
        coef = (rhs[ok] @ inv.T) / exposures[ok, None]
        var = np.clip(np.diag(inv), 0, None)[None, :] / exposures[ok, None]
        idx = np.flatnonzero(self.fitted)
        rate[np.ix_(np.flatnonzero(ok), idx)] = coef[:, 1:]
        err[np.ix_(np.flatnonzero(ok), idx)] = np.sqrt(var[:, 1:])
        norm[ok] = coef[:, 0]
        return TimeBinFit(list(self.names), rate, err, norm)

    def _data(self, shadowgram: np.ndarray, exposure_s: float) -> np.ndarray:
        if shadowgram.shape != self.good.shape:
            raise ValueError(f"shadowgram: shape {shadowgram.shape} differs from the {self.inst.name} grid "
                             f"{self.good.shape}")
        if not (math.isfinite(exposure_s) and exposure_s > 0):
            raise ValueError(f"exposure_s: must be > 0, got {exposure_s!r}")
        return np.asarray(shadowgram, float)[self.good]


def prepare_model(inst: CodedMaskInstrument, pointing: Pointing, sources: Sequence[FitSource],
                  background_map: np.ndarray | None = None) -> ShadowgramModel:
    """The precomputed design of one ScW (see the module docstring). Sources are fitted when their
    direction is within 89° of the axis and casts a shadow on at least one good pixel."""
    names = [s.name for s in sources]
    if len(set(names)) != len(names):
        raise ValueError(f"sources: duplicate names {sorted({n for n in names if names.count(n) > 1})}")
    good = inst.efficiency > 0
    if not good.any():
        raise ValueError(f"efficiency: no working pixel on {inst.name}")
    cf = np.zeros(len(sources))
    cols, fitted = [], np.zeros(len(sources), bool)
    if sources:
        ty, tx = instrument_angles(pointing, [s.ra_deg for s in sources], [s.dec_deg for s in sources],
                                   inst.sky_pixel_deg)
        for i, (a, b) in enumerate(zip(np.atleast_1d(ty), np.atleast_1d(tx))):
            if not (np.isfinite(a) and np.isfinite(b) and abs(a) < 89 and abs(b) < 89):
                continue
            cf[i] = float(coded_fraction(inst, a, b))
            if cf[i] <= 0:
                continue
            col = source_shadow(inst, float(a), float(b), 1.0, 1.0)[good]
            if col.sum() > 0:
                cols.append(col)
                fitted[i] = True
            else:
                cf[i] = 0.0
    src = np.array(cols) if cols else np.zeros((0, int(good.sum())))
    bkg = _background_columns(inst, background_map)[:, good]
    return ShadowgramModel(inst, pointing, names, cf, fitted, good, bkg, src)


def fit_shadowgram(shadowgram: np.ndarray, inst: CodedMaskInstrument, exposure_s: float, pointing: Pointing,
                   sources: Sequence[FitSource], background_map: np.ndarray | None = None) -> ShadowgramFit:
    """Fit source rates (counts/s, on-axis equivalent) and the background to one shadowgram of
    counts [y, x] (see the module docstring). ``inst.efficiency`` carries the dead pixels (0)."""
    return prepare_model(inst, pointing, sources, background_map).fit(shadowgram, exposure_s)
