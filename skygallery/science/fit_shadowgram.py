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
Poisson maximum likelihood for practical purposes. Covariance = (Sᵀ𝐖S)⁻¹, from the Cholesky factor
of the normal matrix with its columns scaled to unit diagonal; when that matrix is singular or
nearly so (near-coincident sources, a fully dead module) the inverse comes from an eigen-
decomposition that drops the null directions instead, so overlapping shadows give large, honest
errors rather than a failure. All catalogue sources the caller passes are fitted simultaneously,
so a very bright neighbour's shadow (main peak and coding noise) is modelled rather than leaking
into fainter sources. A source whose direction is not seen by any good pixel (coded fraction 0, or
behind the instrument) is left out of the fit and reported with rate = NaN.

Speed (the per-ScW cost of spectra and light curves): :class:`ShadowgramModel` holds the
precomputed columns of one ScW (one PIF per source, computed once per instrument, pointing and
source position and kept in a small per-process cache), reused across energy bands and time bins.
:meth:`ShadowgramModel.fit_bands` fits all bands of a ScW together: they share the design, so the
unweighted pass is one matrix product for all bands, and the weighted normal matrices of all bands
come from one product of the weights with the pairwise products of the columns (the per-module
background columns, which do not overlap, are handled block by block: good pixels are stored
grouped by module). The PIF of a source is a sum of a few gathered mask rows (a pixel meets at
most ⌈pitch/cell⌉ + 1 mask cells per axis), with its coded fraction from the same overlaps.
Arithmetic stays in float64: built in float32, the normal equations of ~16 000 pixels moved ISGRI
rates by up to 3×10⁻⁴ relative (3×10⁻⁵ σ) — too much for results that must not depend on how
they were computed (float32 is for storage only: the binned cubes' efficiency maps, of which the
fit uses the zero pattern). :meth:`ShadowgramModel.fit_time_bins` fits many short bins with the
background *shape* fixed from the whole-ScW fit (free: one background normalisation and the source
rates) — a linear problem whose normal matrix is shared by all bins.
"""
from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .attitude import Pointing, instrument_angles
from .imaging.decode import onaxis_area
from .instruments.geometry import CodedMaskInstrument
from .instruments.response import _overlaps

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
COLUMN_CACHE_SIZE = 64          # source columns kept per process (~130 kB each for ISGRI)
PAIR_BYTES_MAX = 32 * 2 ** 20   # above this, the column-pair products are not stored (many sources)
PAIRS_MIN_BANDS = 4             # fewer bands: weighted products band by band (no pair products)
MAX_CONDITION = 1e11            # bound on cond(scaled normal matrix) accepted from Cholesky


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


# ------------------------------------------------------------------ per-instrument pixel layout

@dataclass(frozen=True, eq=False)
class _Layout:
    """Good pixels (efficiency > 0) of one instrument object, grouped by module: ``pix`` flat
    indices; module m occupies ``pix[bounds[m]:bounds[m + 1]]`` (pixels on no module come first)."""

    good: np.ndarray
    pix: np.ndarray
    bounds: np.ndarray
    module_of: np.ndarray         # module of each entry of pix (−1: none)


_LAYOUTS: OrderedDict = OrderedDict()


def _layout(inst: CodedMaskInstrument) -> _Layout:
    hit = _LAYOUTS.get(inst)
    if hit is not None:
        _LAYOUTS.move_to_end(inst)
        return hit
    good = inst.efficiency > 0
    modules = detector_modules(inst).ravel()
    flat = np.flatnonzero(good.ravel())
    order = np.argsort(modules[flat], kind="stable")
    pix, mod = flat[order], modules[flat][order]
    bounds = np.searchsorted(mod, np.arange(int(modules.max()) + 2))
    out = _Layout(good, pix, bounds, mod)
    _LAYOUTS[inst] = out
    if len(_LAYOUTS) > 8:
        _LAYOUTS.popitem(last=False)
    return out


def _background_rows(inst: CodedMaskInstrument, lay: _Layout,
                     background_map: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """(block values (n_good,), dense rows (n_dense, n_good)): module column m is ``block`` on
    module m's pixels and 0 elsewhere; the dense rows are the x/y gradients (none with a map)."""
    w = inst.efficiency.ravel()[lay.pix]
    on_module = lay.module_of >= 0
    if background_map is not None:
        bmap = np.asarray(background_map, float)
        if bmap.shape != inst.efficiency.shape:
            raise ValueError(f"background_map: shape {bmap.shape} differs from the {inst.name} grid "
                             f"{inst.efficiency.shape}")
        if not np.all(np.isfinite(bmap)) or bmap.min() < 0:
            raise ValueError("background_map: must be finite and >= 0")
        return np.where(on_module, w * bmap.ravel()[lay.pix], 0.0), np.zeros((0, lay.pix.size))
    ny, nx = inst.efficiency.shape
    yy, xx = np.divmod(lay.pix, nx)
    grads = np.stack([(xx - (nx - 1) / 2) / nx * w, (yy - (ny - 1) / 2) / ny * w])
    return np.where(on_module, w, 0.0), grads


# ------------------------------------------------------------------ linear algebra

def _solve(normal: np.ndarray, rhs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Solution and inverse of a symmetric normal matrix (see :func:`_solve_many`)."""
    coef, inv = _solve_many(normal[None], np.asarray(rhs, float)[None])
    return coef[0], inv[0]


def _eigen_inverse(scaled: np.ndarray) -> np.ndarray:
    """Pseudo-inverse of a symmetric matrix, dropping eigenvalues below 10⁻¹² of the largest."""
    vals, vecs = np.linalg.eigh(scaled)
    keep = vals > vals.max() * 1e-12
    return (vecs[:, keep] / vals[keep]) @ vecs[:, keep].T


def _solve_many(normal: np.ndarray, rhs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Solutions (k, p) and inverses (k, p, p) of k symmetric normal matrices (k, p, p).

    Columns are scaled to a unit diagonal, then inverted through the Cholesky factor (S⁻¹ = L⁻ᵀL⁻¹).
    With p·max diag(S⁻¹) ≥ ‖S⁻¹‖ and ‖S‖ ≤ trace S = p, cond(S) ≤ p²·max diag(S⁻¹); a matrix whose
    bound exceeds :data:`MAX_CONDITION`, or whose factorisation fails, is inverted by eigen-
    decomposition with its null directions dropped (the pseudo-inverse)."""
    d = np.sqrt(np.clip(np.diagonal(normal, axis1=1, axis2=2), 1e-300, None))
    dd = d[:, :, None] * d[:, None, :]
    scaled = normal / dd
    p = normal.shape[1]
    inv_scaled = np.empty_like(scaled)
    try:
        chol = np.linalg.cholesky(scaled)
        ok = np.ones(len(scaled), bool)
    except np.linalg.LinAlgError:
        chol, ok = None, np.zeros(len(scaled), bool)
    if chol is not None:
        linv = np.linalg.inv(chol)
        inv_scaled = np.swapaxes(linv, 1, 2) @ linv
        bound = p * p * np.max(np.diagonal(inv_scaled, axis1=1, axis2=2), axis=1)
        ok = np.isfinite(bound) & (bound < MAX_CONDITION)
    for i in np.flatnonzero(~ok):
        inv_scaled[i] = _eigen_inverse(scaled[i])
    inv = inv_scaled / dd
    return np.einsum("kij,kj->ki", inv, rhs), inv


def _weights(model: np.ndarray) -> np.ndarray:
    """Poisson weights 1/model per column (band) with a floor protecting pixels whose model is ≤ 0
    or tiny: 5 % of the column's mean model (at least 10⁻⁶)."""
    floor = np.maximum(0.05 * np.mean(model, axis=0), 1e-6)
    out = np.maximum(model, floor)
    return np.divide(1.0, out, out=out)


# ------------------------------------------------------------------ the design of one ScW

@dataclass(eq=False)
class _Design:
    """The design of one exposure: parameters are the module levels (columns = the model's
    ``block`` on each module's pixels, implicit), then the ``dense`` rows — background gradients
    and source shadows × exposure."""

    dense: np.ndarray             # (q, n_good)
    pairs: np.ndarray | None      # (q(q+1)/2, n_good): products of dense rows i ≤ j (built when worth it)
    ata: np.ndarray               # (p, p) unweighted normal matrix


@dataclass(eq=False)
class ShadowgramModel:
    """Precomputed design of one ScW: good pixels, background and unit-rate source columns.

    Columns are over the good pixels in the order ``pix`` (flat indices into [y, x], grouped by
    module). ``src_cols`` are counts per pixel per (counts/s · s) — multiply by an exposure (s)."""

    inst: CodedMaskInstrument
    pointing: Pointing
    names: list[str]
    coded_fraction: np.ndarray
    fitted: np.ndarray            # bool per source: inside the field, in the fit
    good: np.ndarray              # bool [y, x]
    pix: np.ndarray               # (n_good,) flat pixel indices
    bounds: np.ndarray            # module m: pix[bounds[m]:bounds[m + 1]]
    block: np.ndarray             # (n_good,) value of each pixel's own module background column
    dense_bkg: np.ndarray         # (n_dense_bkg, n_good) gradient columns
    src_cols: np.ndarray          # (n_fitted, n_good)

    @property
    def n_modules(self) -> int:
        return self.bounds.size - 1

    @property
    def n_bkg(self) -> int:
        return self.n_modules + self.dense_bkg.shape[0]

    def _design(self, exposure_s: float) -> _Design:
        """The design for ``exposure_s`` (cached for the last exposure: all bands of a ScW share it)."""
        cached = self.__dict__.get("_design_cache")
        if cached is not None and cached[0] == exposure_s:
            return cached[1]
        design = _Design(np.concatenate([self.dense_bkg, self.src_cols * exposure_s]), None, np.zeros(0))
        design.ata = self._normals(design, np.ones((self.pix.size, 1)))[0]
        self.__dict__["_design_cache"] = (exposure_s, design)
        return design

    def _slices(self):
        return [slice(self.bounds[m], self.bounds[m + 1]) for m in range(self.n_modules)]

    def _apply(self, des: _Design, coef: np.ndarray, n_rows: int | None = None) -> np.ndarray:
        """A·coef (n_good, k) for coefficients (p, k); only the first ``n_rows`` parameters if given."""
        n_mod = self.n_modules
        n_dense = des.dense.shape[0] if n_rows is None else n_rows - n_mod
        out = des.dense[:n_dense].T @ coef[n_mod:n_mod + n_dense]
        for m, s in enumerate(self._slices()):
            out[s] += self.block[s, None] * coef[m]
        return out

    def _project(self, des: _Design, x: np.ndarray) -> np.ndarray:
        """Aᵀ·x (p, k) for x (n_good, k)."""
        mods = [self.block[s] @ x[s] for s in self._slices()]
        return np.concatenate([np.array(mods).reshape(len(mods), x.shape[1]), des.dense @ x])

    def _normals(self, des: _Design, weights: np.ndarray) -> np.ndarray:
        """Weighted normal matrices AᵀWA (k, p, p) for weights (n_good, k), one per column: module
        blocks slice by slice, the dense part from the pair products (many bands) or band by band."""
        n_mod, q, k = self.n_modules, des.dense.shape[0], weights.shape[1]
        normal = np.zeros((k, n_mod + q, n_mod + q))
        bw = self.block[:, None] * weights
        for m, s in enumerate(self._slices()):
            normal[:, m, m] = self.block[s] @ bw[s]
            cross = (des.dense[:, s] @ bw[s]).T                        # (k, q)
            normal[:, m, n_mod:] = cross
            normal[:, n_mod:, m] = cross
        if des.pairs is None and k >= PAIRS_MIN_BANDS and q * (q + 1) // 2 * des.dense.shape[1] * 8 <= PAIR_BYTES_MAX:
            des.pairs = np.empty((q * (q + 1) // 2, des.dense.shape[1]))
            off = 0
            for i in range(q):
                np.multiply(des.dense[i], des.dense[i:], out=des.pairs[off:off + q - i])
                off += q - i
        if des.pairs is not None and k >= PAIRS_MIN_BANDS:
            iu = np.triu_indices(q)
            flat = (des.pairs @ weights).T                              # (k, n_pairs)
            normal[:, n_mod + iu[0], n_mod + iu[1]] = flat
            normal[:, n_mod + iu[1], n_mod + iu[0]] = flat
        else:
            for b in range(k):
                normal[b, n_mod:, n_mod:] = (des.dense * weights[:, b]) @ des.dense.T
        return normal

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
            model.ravel()[self.pix], bkg.ravel()[self.pix] = model_good, bkg_good
        return ShadowgramFit(list(self.names), rate, err, cov_full, np.asarray(coef[:self.n_bkg], float),
                             float(chi2), int(dof), self.coded_fraction.copy(), model, bkg)

    def fit(self, shadowgram: np.ndarray, exposure_s: float, n_reweight: int = N_REWEIGHT) -> ShadowgramFit:
        """Fit one shadowgram of counts [y, x] accumulated over ``exposure_s`` seconds."""
        return self.fit_bands(np.asarray(shadowgram)[None], exposure_s, n_reweight)[0]

    def fit_bands(self, shadowgrams: np.ndarray, exposure_s: float, n_reweight: int = N_REWEIGHT,
                  keep_model: bool | Sequence[bool] = True) -> list[ShadowgramFit]:
        """Fit k shadowgrams (k, y, x) sharing one exposure (the bands of a ScW), each independently
        (its own Poisson weights); ``keep_model`` (per band or for all) keeps the fitted model maps."""
        d = self._data(shadowgrams, exposure_s)                          # (n_good, k)
        k = d.shape[1]
        keep = [keep_model] * k if isinstance(keep_model, bool) else [bool(v) for v in keep_model]
        if len(keep) != k:
            raise ValueError(f"keep_model: expected {k} values, got {len(keep)}")
        des = self._design(exposure_s)
        n_par = des.ata.shape[0]
        _, inv0 = _solve(des.ata, np.zeros(n_par))
        coef = inv0 @ self._project(des, d)                               # (p, k) unweighted pass
        for _ in range(max(1, n_reweight)):
            w = _weights(self._apply(des, coef))
            solved, cov = _solve_many(self._normals(des, w), self._project(des, w * d).T)
            coef = solved.T
        model = self._apply(des, coef)
        chi2 = np.sum((d - model) ** 2 * w, axis=0)
        bkg = self._apply(des, coef, self.n_bkg) if any(keep) else model
        dof = d.shape[0] - n_par
        return [self._unpack(coef[:, b], cov[b], chi2[b], dof, model[:, b] if keep[b] else None,
                             bkg[:, b] if keep[b] else None) for b in range(k)]

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
        rate_model = scw_fit.model.ravel()[self.pix] / scw_exposure_s       # counts/s per pixel
        w1 = 1.0 / np.clip(rate_model, max(0.05 * float(rate_model.mean()), 1e-9), None)
        rows = np.concatenate([scw_fit.background_model.ravel()[self.pix][None, :] / scw_exposure_s,
                               self.src_cols])                              # (n_par, n_good)
        weighted = rows * w1
        normal = weighted @ rows.T                                          # per second of exposure
        _, inv = _solve(normal, np.zeros(normal.shape[0]))
        d = shadowgrams.reshape(shadowgrams.shape[0], -1)[:, self.pix].astype(float)   # (n_t, n_good)
        rhs = d @ weighted.T                                                 # (n_t, n_par): e_t cancels
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

    def _data(self, shadowgrams: np.ndarray, exposure_s: float) -> np.ndarray:
        """Counts of the good pixels, (n_good, k) float64, of shadowgrams (k, y, x)."""
        if shadowgrams.ndim != 3 or shadowgrams.shape[1:] != self.good.shape:
            raise ValueError(f"shadowgram: shape {shadowgrams.shape[-2:]} differs from the {self.inst.name} grid "
                             f"{self.good.shape}")
        if not (math.isfinite(exposure_s) and exposure_s > 0):
            raise ValueError(f"exposure_s: must be > 0, got {exposure_s!r}")
        flat = shadowgrams.reshape(shadowgrams.shape[0], -1)
        return np.ascontiguousarray(flat[:, self.pix].T, dtype=float)


# ------------------------------------------------------------------ source columns

_COLUMNS: OrderedDict = OrderedDict()


def _runs(overlap: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """An overlap matrix [pixel, cell] as (cell indices, lengths) of shape (n_pixels, m): a pixel
    meets at most m consecutive cells (m = ⌈pitch/cell⌉ + 1 at most), so O·X is a sum of m row
    gathers of X instead of a sparse product. Indices past the last cell carry length 0."""
    hit = overlap > 0
    m = max(1, int(hit.sum(axis=1).max()))
    first = np.argmax(hit, axis=1)
    idx = first[:, None] + np.arange(m)[None, :]
    inside = idx < overlap.shape[1]
    idx = np.where(inside, idx, overlap.shape[1] - 1)
    return idx, np.where(inside, np.take_along_axis(overlap, idx, axis=1), 0.0)


def _source_column(inst: CodedMaskInstrument, lay: _Layout, key: tuple, theta_y: float,
                   theta_x: float) -> tuple[float, np.ndarray | None]:
    """(coded fraction, unit-rate shadow over the good pixels or None when nothing is seen) of one
    direction, from one pair of mask–pixel overlap matrices: the coded fraction as in
    :func:`~skygallery.science.instruments.response.coded_fraction`, the shadow as
    :func:`~skygallery.science.imaging.shadow.source_shadow` at unit rate and exposure (PIF as in
    :func:`~skygallery.science.instruments.response.pif`). Cached per process by ``key``
    (instrument object, pointing, source position)."""
    hit = _COLUMNS.get(key)
    if hit is not None:
        _COLUMNS.move_to_end(key)
        return hit
    oy, ox = _overlaps(inst, theta_y, theta_x)
    area = inst.detector.active_mm ** 2
    valid = inst.detector.valid.astype(float)
    cf = min(1.0, float(oy.sum(axis=1) @ valid @ ox.sum(axis=1)) / area / valid.sum())
    col = None
    if cf > 0:
        iy, wy = _runs(oy)
        ix, wx = _runs(ox)
        rows = np.einsum("ik,ikj->ij", wy, inst.mask.transmission[iy])              # O_y·T  [y, mask x]
        pif = np.einsum("jk,ijk->ij", wx, rows[:, ix]) / area * inst.detector.valid  # (O_y·T)·O_xᵀ
        col = (1.0 * 1.0 / onaxis_area(inst) * inst.efficiency * pif).ravel()[lay.pix]
        if not col.sum() > 0:
            cf, col = 0.0, None
    _COLUMNS[key] = (cf, col)
    if len(_COLUMNS) > COLUMN_CACHE_SIZE:
        _COLUMNS.popitem(last=False)
    return cf, col


def prepare_model(inst: CodedMaskInstrument, pointing: Pointing, sources: Sequence[FitSource],
                  background_map: np.ndarray | None = None) -> ShadowgramModel:
    """The precomputed design of one ScW (see the module docstring). Sources are fitted when their
    direction is within 89° of the axis and casts a shadow on at least one good pixel."""
    names = [s.name for s in sources]
    if len(set(names)) != len(names):
        raise ValueError(f"sources: duplicate names {sorted({n for n in names if names.count(n) > 1})}")
    lay = _layout(inst)
    if not lay.pix.size:
        raise ValueError(f"efficiency: no working pixel on {inst.name}")
    cf = np.zeros(len(sources))
    cols, fitted = [], np.zeros(len(sources), bool)
    if sources:
        ty, tx = instrument_angles(pointing, [s.ra_deg for s in sources], [s.dec_deg for s in sources],
                                   inst.sky_pixel_deg)
        where = (pointing.ra_deg, pointing.dec_deg, pointing.posangle_deg)
        for i, (a, b) in enumerate(zip(np.atleast_1d(ty), np.atleast_1d(tx))):
            if not (np.isfinite(a) and np.isfinite(b) and abs(a) < 89 and abs(b) < 89):
                continue
            key = (inst, *where, float(sources[i].ra_deg), float(sources[i].dec_deg))
            cf[i], col = _source_column(inst, lay, key, float(a), float(b))
            if col is not None:
                cols.append(col)
                fitted[i] = True
    src = np.array(cols) if cols else np.zeros((0, lay.pix.size))
    block, dense = _background_rows(inst, lay, background_map)
    return ShadowgramModel(inst, pointing, names, cf, fitted, lay.good, lay.pix, lay.bounds, block, dense, src)


def fit_shadowgram(shadowgram: np.ndarray, inst: CodedMaskInstrument, exposure_s: float, pointing: Pointing,
                   sources: Sequence[FitSource], background_map: np.ndarray | None = None) -> ShadowgramFit:
    """Fit source rates (counts/s, on-axis equivalent) and the background to one shadowgram of
    counts [y, x] (see the module docstring). ``inst.efficiency`` carries the dead pixels (0)."""
    return prepare_model(inst, pointing, sources, background_map).fit(shadowgram, exposure_s)
