"""Source light curves: build from per-ScW shadowgram-fit rates, merge, rebin, variability, flares.

A :class:`LightCurve` is one source in one energy band: bins with a centre time (IJD, TT days),
a width TIMEDEL (s), a background-subtracted rate and its 1σ error (counts/s, "as if on-axis and
fully coded", the amplitudes of the shadowgram fit), FRACEXP (dead-time-corrected exposure of
the bin / TIMEDEL) and BACKV, the detector background rate under the fit (counts/s, NaN when
unknown). It is the in-memory form of the OGIP RATE table (:mod:`skygallery.science.ogip_lc`).

Methods (the errors are treated as independent 1σ Gaussian errors and propagated):

* **Rebinning** (:func:`rebin`) groups input bins whose centres fall into the same output bin
  of ``bin_s`` seconds (grid anchored at the first bin start). Two weightings:
  ``"variance"`` (default): R = Σ(rᵢ/σᵢ²)/Σ(1/σᵢ²), σ = (Σ 1/σᵢ²)^−½ — the maximum-likelihood
  combination of independent amplitude measurements, right for background-dominated coded-mask
  fits; ``"exposure"``: R = Σ(xᵢrᵢ)/Σxᵢ, σ = √Σ(xᵢσᵢ)²/Σxᵢ with xᵢ the exposure — the rate of the
  summed counts, unbiased when errors scale with the rate. The output bin spans its contributing
  bins (first start to last stop): TIME is the middle of that span, TIMEDEL its length, FRACEXP
  = Σ exposure / TIMEDEL; BACKV is the exposure-weighted mean.
* **Constancy** (:func:`constancy_test`): χ² of the rates about their variance-weighted mean,
  N − 1 degrees of freedom, p-value = P(χ² ≥ observed) (``scipy.stats.chi2.sf``).
* **Fractional variability** (:func:`fractional_variability`), Vaughan et al. 2003 (MNRAS 345,
  1271): S² the sample variance, ⟨σ²_err⟩ the mean squared error, x̄ the mean; normalised excess
  variance σ²_NXS = (S² − ⟨σ²_err⟩)/x̄², F_var = √σ²_NXS, with the errors of their eq. 11 and
  B2. These errors cover the measurement noise only, not the scatter between realisations of
  the random process itself (as Vaughan et al. stress). When the excess is ≤ 0, F_var is undefined
  (NaN) and a 3σ upper limit is given.
* **Flares** (:func:`find_flares`): the baseline is the variance-weighted mean of the bins not
  flagged, iterated until the flagged set is stable; bins with (r − μ)/√(σ² + σ_μ²) ≥ N are
  flagged; consecutive flagged bins (no data gap longer than ``max_gap_s``) form one flare with
  its start, peak, stop, peak significance and excess fluence (counts).
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
from scipy import stats

__all__ = [
    "ConstancyTest",
    "Flare",
    "FractionalVariability",
    "LightCurve",
    "chi2_against_model",
    "constancy_test",
    "find_flares",
    "fractional_variability",
    "from_scw_rates",
    "merge",
    "rebin",
]

DAY_S = 86400.0
WEIGHTINGS = ("variance", "exposure")


def _column(name: str, values, n: int | None) -> np.ndarray:
    arr = np.atleast_1d(np.asarray(values, dtype=float))
    if arr.ndim != 1:
        raise ValueError(f"{name}: must be one-dimensional, got shape {arr.shape}")
    if n is not None and arr.size != n:
        raise ValueError(f"{name}: {arr.size} values for {n} bins")
    return arr


@dataclass
class LightCurve:
    """One source, one band: binned rates (see the module docstring for units and meaning)."""

    time_ijd: np.ndarray
    timedel_s: np.ndarray
    rate: np.ndarray
    error: np.ndarray
    fracexp: np.ndarray
    backv: np.ndarray
    source: str = ""
    instrument: str = ""
    e_min_kev: float = math.nan
    e_max_kev: float = math.nan
    ra_deg: float = math.nan
    dec_deg: float = math.nan
    swid: np.ndarray | None = None
    meta: dict = field(default_factory=dict)

    def __post_init__(self):
        self.time_ijd = _column("time", self.time_ijd, None)
        n = self.time_ijd.size
        for name in ("timedel_s", "rate", "error", "fracexp", "backv"):
            setattr(self, name, _column(name.split("_")[0], getattr(self, name), n))
        if not np.all(np.isfinite(self.time_ijd)):
            raise ValueError("time: every bin needs a finite IJD")
        if np.any(~(self.timedel_s > 0)):
            raise ValueError("timedel: bin widths must be > 0 s")
        if np.any(self.error < 0) or np.any(np.isnan(self.error)):
            raise ValueError("error: must be >= 0 and not NaN")
        if np.any((self.fracexp < 0) | (self.fracexp > 1 + 1e-6)):
            raise ValueError("fracexp: must be within [0, 1]")
        if self.e_min_kev >= self.e_max_kev:
            raise ValueError(f"band: E_MIN ({self.e_min_kev}) must be below E_MAX ({self.e_max_kev}) keV")
        self.swid = np.asarray([""] * n if self.swid is None else self.swid, dtype="U16")
        if self.swid.shape != (n,):
            raise ValueError(f"swid: {self.swid.size} values for {n} bins")

    def __len__(self) -> int:
        return int(self.time_ijd.size)

    @property
    def tstart_ijd(self) -> np.ndarray:
        """Bin starts (IJD)."""
        return self.time_ijd - 0.5 * self.timedel_s / DAY_S

    @property
    def tstop_ijd(self) -> np.ndarray:
        """Bin stops (IJD)."""
        return self.time_ijd + 0.5 * self.timedel_s / DAY_S

    @property
    def exposure_s(self) -> np.ndarray:
        """Dead-time-corrected exposure per bin (s) = FRACEXP × TIMEDEL."""
        return self.fracexp * self.timedel_s

    def select(self, mask) -> LightCurve:
        """The bins where ``mask`` is true (boolean array or index array)."""
        idx = np.asarray(mask)
        return replace(self, time_ijd=self.time_ijd[idx], timedel_s=self.timedel_s[idx], rate=self.rate[idx],
                       error=self.error[idx], fracexp=self.fracexp[idx], backv=self.backv[idx], swid=self.swid[idx],
                       meta=dict(self.meta))

    def sorted(self) -> LightCurve:
        return self.select(np.argsort(self.time_ijd, kind="stable"))

    def usable(self) -> LightCurve:
        """Bins with a finite rate and an error > 0 (what the statistics use)."""
        return self.select(np.isfinite(self.rate) & (self.error > 0))


def _pick_index(names: Sequence[str], source: str) -> int:
    wanted = source.strip().lower()
    for i, name in enumerate(names):
        if str(name).strip().lower() == wanted:
            return i
    raise ValueError(f"source: {source!r} is not among the fitted sources {list(names)}")


def _pick_band(bands: Sequence[tuple[float, float]], band_kev) -> int:
    if band_kev is None:
        if len(bands) != 1:
            raise ValueError(f"band: several bands fitted {list(bands)}; choose one")
        return 0
    e1, e2 = (float(v) for v in band_kev)
    for i, (b1, b2) in enumerate(bands):
        if math.isclose(b1, e1, abs_tol=1e-6) and math.isclose(b2, e2, abs_tol=1e-6):
            return i
    raise ValueError(f"band: {e1:g}-{e2:g} keV is not among the fitted bands {list(bands)}")


def _bins_of_scw(r, i_band: int, i_src: int, bkg):
    """(start IJD, stop IJD, rate, error, fracexp, backv) arrays for one ScwRates."""
    duration_s = (r.t_stop_ijd - r.t_start_ijd) * DAY_S
    rate, err = np.asarray(r.rate, float), np.asarray(r.rate_err, float)
    if rate.ndim == 2:
        start, stop = np.array([r.t_start_ijd]), np.array([r.t_stop_ijd])
        vals, errs = rate[i_band, i_src][None], err[i_band, i_src][None]
        expo = np.array([r.exposure_s])
        back = np.full(1, np.nan) if bkg is None else np.atleast_1d(np.asarray(bkg, float)[i_band])
    elif rate.ndim == 3:
        if r.tbin_start_ijd is None or r.tbin_stop_ijd is None:
            raise ValueError(f"{r.swid}: time-binned rates without tbin_start_ijd/tbin_stop_ijd")
        start, stop = np.asarray(r.tbin_start_ijd, float), np.asarray(r.tbin_stop_ijd, float)
        vals, errs = rate[:, i_band, i_src], err[:, i_band, i_src]
        texp = getattr(r, "tbin_exposure_s", None)
        expo = (np.asarray(texp, float) if texp is not None
                else r.exposure_s * (stop - start) * DAY_S / max(duration_s, 1e-9))
        back = np.full(start.size, np.nan) if bkg is None else np.asarray(bkg, float)[:, i_band]
    else:
        raise ValueError(f"{r.swid}: rate must be (bands, sources) or (tbins, bands, sources), got {rate.shape}")
    frac = expo / np.maximum((stop - start) * DAY_S, 1e-9)
    return start, stop, vals, errs, np.clip(frac, 0.0, 1.0), back


def from_scw_rates(rates: Sequence, source: str, band_kev: tuple[float, float] | None = None,
                   instrument: str = "", ra_deg: float = math.nan, dec_deg: float = math.nan,
                   min_fracexp: float = 0.0, background: Sequence | None = None) -> LightCurve:
    """The light curve of ``source`` in ``band_kev`` from shadowgram-fit rates, one per ScW.

    Each ``ScwRates`` (:mod:`skygallery.science.extract`) gives one bin per ScW (rate of shape
    (bands, sources)) or its time bins ((tbins, bands, sources) with ``tbin_start_ijd``,
    ``tbin_stop_ijd`` and ``tbin_exposure_s``). FRACEXP = exposure / bin length. Bins without a
    finite rate and an error > 0 (source outside the field) or with FRACEXP ≤ ``min_fracexp``
    are dropped. ``background``, one array per ScW ((bands,) or (tbins, bands), counts/s), fills
    BACKV; without it BACKV is NaN.
    """
    if not rates:
        raise ValueError("scws: no ScW rates given")
    if background is not None and len(background) != len(rates):
        raise ValueError(f"background: {len(background)} arrays for {len(rates)} ScWs")
    parts, band = [], None
    for n, r in enumerate(rates):
        i_band = _pick_band(r.bands_kev, band_kev)
        band = tuple(float(v) for v in r.bands_kev[i_band])
        i_src = _pick_index(r.names, source)
        start, stop, vals, errs, frac, back = _bins_of_scw(r, i_band, i_src,
                                                           None if background is None else background[n])
        keep = np.isfinite(vals) & np.isfinite(errs) & (errs > 0) & (frac > max(min_fracexp, 0.0))
        parts.append((start[keep], stop[keep], vals[keep], errs[keep], frac[keep], back[keep],
                      np.full(int(keep.sum()), str(r.swid)[:16])))
    start, stop, vals, errs, frac, back, swid = (np.concatenate(c) for c in zip(*parts))
    lc = LightCurve(0.5 * (start + stop), (stop - start) * DAY_S, vals, errs, frac, back, source=source,
                    instrument=instrument, e_min_kev=band[0], e_max_kev=band[1], ra_deg=ra_deg,
                    dec_deg=dec_deg, swid=swid)
    return lc.sorted()


def _same_band(a: LightCurve, b: LightCurve) -> bool:
    if math.isnan(a.e_min_kev) and math.isnan(b.e_min_kev):
        return True
    return bool(np.isclose(a.e_min_kev, b.e_min_kev) and np.isclose(a.e_max_kev, b.e_max_kev))


def merge(curves: Sequence[LightCurve]) -> LightCurve:
    """Concatenate light curves of one source and band (e.g. from successive runs), time-sorted;
    a bin present twice (same ScW and centre time to 1 ms) is kept once."""
    if not curves:
        raise ValueError("curves: nothing to merge")
    first = curves[0]
    for c in curves[1:]:
        if c.source.strip().lower() != first.source.strip().lower():
            raise ValueError(f"source: cannot merge {first.source!r} with {c.source!r}")
        if not _same_band(first, c):
            raise ValueError(f"band: {first.e_min_kev:g}-{first.e_max_kev:g} keV differs from "
                             f"{c.e_min_kev:g}-{c.e_max_kev:g} keV")
    cols = {k: np.concatenate([getattr(c, k) for c in curves])
            for k in ("time_ijd", "timedel_s", "rate", "error", "fracexp", "backv", "swid")}
    out = replace(first, **cols, meta=dict(first.meta)).sorted()
    key = np.round(out.time_ijd * DAY_S, 3)
    dup = np.zeros(len(out), bool)
    dup[1:] = (key[1:] == key[:-1]) & (out.swid[1:] == out.swid[:-1])
    return out.select(~dup)


def _group_indices(lc: LightCurve, bin_s: float) -> np.ndarray:
    t0 = float(lc.tstart_ijd.min())
    return np.floor((lc.time_ijd - t0) * DAY_S / bin_s).astype(np.int64)


def rebin(lc: LightCurve, bin_s: float, weighting: str = "variance") -> LightCurve:
    """Rebin to ``bin_s`` seconds with error propagation (module docstring: both weightings).

    ``bin_s`` must be at least the widest input bin; bins without a usable rate (and, for the
    exposure weighting, without exposure) are ignored. SWID is that of the first contributing bin.
    """
    if weighting not in WEIGHTINGS:
        raise ValueError(f"weighting: must be one of {', '.join(WEIGHTINGS)}, got {weighting!r}")
    if not (math.isfinite(bin_s) and bin_s > 0):
        raise ValueError(f"bin: must be > 0 s, got {bin_s!r}")
    good = lc.usable()
    if weighting == "exposure":
        good = good.select(good.exposure_s > 0)
    if len(good) == 0:
        raise ValueError("rate: no usable bins to rebin")
    if bin_s < good.timedel_s.max() * (1 - 1e-9):
        raise ValueError(f"bin: {bin_s:g} s is shorter than the widest input bin ({good.timedel_s.max():g} s)")
    groups = _group_indices(good, bin_s)
    uniq, first, inv = np.unique(groups, return_index=True, return_inverse=True)
    n = uniq.size

    def total(x):
        return np.bincount(inv, weights=x, minlength=n)

    expo = good.exposure_s
    if weighting == "variance":
        w = 1.0 / good.error ** 2
        rate, error = total(w * good.rate) / total(w), 1.0 / np.sqrt(total(w))
    else:
        sx = total(expo)
        rate, error = total(expo * good.rate) / sx, np.sqrt(total((expo * good.error) ** 2)) / sx
    start = np.full(n, np.inf)
    stop = np.full(n, -np.inf)
    np.minimum.at(start, inv, good.tstart_ijd)
    np.maximum.at(stop, inv, good.tstop_ijd)
    width_s = (stop - start) * DAY_S
    has_b = np.isfinite(good.backv)
    bsum = total(np.where(has_b, good.backv * expo, 0.0))
    bexp = total(np.where(has_b, expo, 0.0))
    backv = np.divide(bsum, bexp, out=np.full(n, np.nan), where=bexp > 0)
    meta = dict(lc.meta, REBIN_S=bin_s, REBIN_W=weighting)
    return replace(lc, time_ijd=0.5 * (start + stop), timedel_s=width_s, rate=rate, error=error,
                   fracexp=np.clip(total(expo) / width_s, 0.0, 1.0), backv=backv, swid=good.swid[first], meta=meta)


@dataclass(frozen=True)
class ConstancyTest:
    """χ² of the rates about their variance-weighted mean (counts/s)."""

    mean: float
    mean_error: float
    chi2: float
    dof: int
    p_value: float

    @property
    def reduced_chi2(self) -> float:
        return self.chi2 / self.dof if self.dof > 0 else math.nan

    @property
    def sigma(self) -> float:
        """Gaussian-equivalent significance of the variability (one-sided)."""
        return float(stats.norm.isf(self.p_value)) if self.p_value > 0 else math.inf

    def variable(self, p_threshold: float = 1e-3) -> bool:
        return self.p_value < p_threshold


def _weighted_mean(rate, error) -> tuple[float, float]:
    w = 1.0 / error ** 2
    return float(np.sum(w * rate) / np.sum(w)), float(1.0 / math.sqrt(np.sum(w)))


def constancy_test(lc: LightCurve) -> ConstancyTest:
    """χ²-to-constant test (module docstring); needs at least 2 usable bins."""
    good = lc.usable()
    if len(good) < 2:
        raise ValueError(f"rate: the constancy test needs >= 2 usable bins, got {len(good)}")
    mean, mean_err = _weighted_mean(good.rate, good.error)
    chi2 = float(np.sum(((good.rate - mean) / good.error) ** 2))
    dof = len(good) - 1
    return ConstancyTest(mean, mean_err, chi2, dof, float(stats.chi2.sf(chi2, dof)))


def chi2_against_model(lc: LightCurve, model_rate) -> tuple[float, int]:
    """χ² of the rates against expected rates ``model_rate`` (one per bin; no free parameter),
    and the number of bins used (the degrees of freedom)."""
    model = np.asarray(model_rate, float)
    if model.shape != lc.rate.shape:
        raise ValueError(f"model: {model.size} values for {len(lc)} bins")
    ok = np.isfinite(lc.rate) & (lc.error > 0) & np.isfinite(model)
    return float(np.sum(((lc.rate[ok] - model[ok]) / lc.error[ok]) ** 2)), int(ok.sum())


@dataclass(frozen=True)
class FractionalVariability:
    """Vaughan et al. (2003) excess variance: σ²_NXS and F_var (NaN when the excess is ≤ 0)."""

    nxs: float
    nxs_error: float
    fvar: float
    fvar_error: float
    fvar_upper_limit: float     # 3σ upper limit on F_var when fvar is NaN, else NaN
    n_bins: int


def fractional_variability(lc: LightCurve) -> FractionalVariability:
    """σ²_NXS and F_var with the errors of Vaughan et al. 2003 (eq. 11 and B2)."""
    good = lc.usable()
    n = len(good)
    if n < 2:
        raise ValueError(f"rate: fractional variability needs >= 2 usable bins, got {n}")
    mean = float(np.mean(good.rate))
    if not mean > 0:
        raise ValueError(f"rate: fractional variability needs a positive mean rate, got {mean:g}")
    s2 = float(np.var(good.rate, ddof=1))
    err2 = float(np.mean(good.error ** 2))
    nxs = (s2 - err2) / mean ** 2
    if nxs > 0:
        fvar = math.sqrt(nxs)
        nxs_err = math.sqrt((math.sqrt(2.0 / n) * err2 / mean ** 2) ** 2
                            + (math.sqrt(err2 / n) * 2.0 * fvar / mean) ** 2)
        fvar_err = math.sqrt((math.sqrt(1.0 / (2 * n)) * err2 / (mean ** 2 * fvar)) ** 2
                             + (math.sqrt(err2 / n) / mean) ** 2)
        return FractionalVariability(nxs, nxs_err, fvar, fvar_err, math.nan, n)
    nxs_err = math.sqrt(2.0 / n) * err2 / mean ** 2
    upper = math.sqrt(max(nxs + 3.0 * nxs_err, 0.0))
    return FractionalVariability(nxs, nxs_err, math.nan, math.nan, upper, n)


@dataclass(frozen=True)
class Flare:
    """Consecutive bins above the threshold: times IJD, rates counts/s, fluence counts."""

    start_ijd: float
    peak_ijd: float
    stop_ijd: float
    n_bins: int
    peak_rate: float
    peak_error: float
    peak_sigma: float
    baseline: float
    excess_counts: float
    excess_counts_error: float

    @property
    def duration_s(self) -> float:
        return (self.stop_ijd - self.start_ijd) * DAY_S


def _flag_bins(good: LightCurve, nsigma: float, max_iter: int = 20):
    """Iterate baseline (weighted mean of the unflagged bins) and flags until stable."""
    flagged = np.zeros(len(good), bool)
    for _ in range(max_iter):
        mean, mean_err = _weighted_mean(good.rate[~flagged], good.error[~flagged])
        z = (good.rate - mean) / np.sqrt(good.error ** 2 + mean_err ** 2)
        new = z >= nsigma
        if np.array_equal(new, flagged) or new.all():
            break
        flagged = new
    return flagged & (z >= nsigma), z, mean


def find_flares(lc: LightCurve, nsigma: float = 3.0, max_gap_s: float | None = None) -> list[Flare]:
    """Flares: runs of bins ≥ ``nsigma`` above the baseline (module docstring).

    Two flagged bins belong to the same flare when they are adjacent in the curve and the gap
    between them is at most ``max_gap_s`` (default: twice the wider of the two bins).
    """
    if not nsigma > 0:
        raise ValueError(f"nsigma: must be > 0, got {nsigma!r}")
    good = lc.usable().sorted()
    if len(good) < 3:
        return []
    flagged, z, mean = _flag_bins(good, nsigma)
    idx = np.flatnonzero(flagged)
    runs: list[list[int]] = []
    for i in idx:
        if runs and runs[-1][-1] == i - 1:
            gap = (good.tstart_ijd[i] - good.tstop_ijd[i - 1]) * DAY_S
            limit = max_gap_s if max_gap_s is not None else 2 * max(good.timedel_s[i], good.timedel_s[i - 1])
            if gap <= limit:
                runs[-1].append(i)
                continue
        runs.append([i])
    out = []
    for run in runs:
        r = np.asarray(run)
        k = r[np.argmax(z[r])]
        expo = good.exposure_s[r]
        out.append(Flare(float(good.tstart_ijd[r[0]]), float(good.time_ijd[k]), float(good.tstop_ijd[r[-1]]),
                         int(r.size), float(good.rate[k]), float(good.error[k]), float(z[k]), mean,
                         float(np.sum((good.rate[r] - mean) * expo)), float(np.sqrt(np.sum((good.error[r] * expo) ** 2)))))
    return out
