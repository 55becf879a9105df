"""Light-curve and spectrum products of one source, from its per-ScW shadowgram-fit rates.

Inputs (:class:`SourceTask`): the cached rate files of the ScWs (:func:`.scw_tasks.fit_scw_rates`:
every band of the cube, and time bins of the imaging band), the source, the instrument.

* **Light curve** (:mod:`skygallery.science.lightcurves`): the imaging-band rates, one point per
  ScW, or per time bin of ``lc_time_bin_s``; OGIP RATE table (:mod:`skygallery.science.ogip_lc`).
  Variability: the χ² test against a constant and the fractional rms F_var (Vaughan et al. 2003);
  flares: runs of bins ≥ ``flare_sigma`` above the baseline. The product is a *highlight* when the
  source is variable (p < ``variable_p`` and F_var ≥ ``variable_fvar``) or flares.
* **Spectrum** (:mod:`skygallery.science.spectra`): the channel rates combined over the ScWs
  (variance weighted) as an OGIP PHA-I with the instrument's RMF and ARF
  (:func:`skygallery.science.responses.make_response`, on-axis convention of the fit); a power law
  is fitted through them (:func:`skygallery.science.specfit.fit_spectrum`) for the preview and the
  statistics (photon index, flux, mCrab).

Each product's files live in its :class:`.folders.ProductFolder` and are reused when the inputs are
unchanged. Results are plain dicts (product id, files, statistics, times IJD) for the workflow.
"""
from __future__ import annotations

import math
import shutil
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .cache import atomic_write
from .folders import ProductFolder

__all__ = ["SourceTask", "VariabilityRule", "make_source_products", "response_files"]


@dataclass(frozen=True)
class VariabilityRule:
    """When a light curve is a highlight: p-value of constancy, F_var, flare threshold (σ)."""

    variable_p: float = 1e-4
    variable_fvar: float = 0.05
    flare_sigma: float = 5.0


@dataclass(frozen=True)
class SourceTask:
    lc_product_id: str
    spectrum_product_id: str
    source: dict                               # name, ra, dec, new_source
    instrument: str
    prefix: str
    band: tuple[float, float]
    rates: tuple[tuple[str, str], ...]         # (scw_id, rates .npz path)
    lc_bin_s: float | None
    products_root: str
    lc_title: str
    spectrum_title: str
    rmf_path: str
    arf_path: str
    inputs: str
    rule: VariabilityRule = field(default_factory=VariabilityRule)
    rev_lc_product_id: str = ""                # long-term runs: a second light curve, one point per revolution
    rev_lc_title: str = ""


def response_files(folder: Path, instrument: str, edges: tuple[float, ...]) -> tuple[Path, Path]:
    """RMF and ARF of an instrument's simulation response for the spectral channels ``edges`` (keV),
    written once per channel set into ``folder`` and reused."""
    from astropy.io.fits.verify import VerifyWarning

    from skygallery.science.responses import make_response, write_arf, write_rmf
    from skygallery.science.simulate.sky import ISGRI_RESPONSE, JEMX_RESPONSE

    from .config import digest
    key = digest({"instrument": instrument, "edges": list(edges), "version": 1}, 10)
    name = "isgri" if instrument == "isgri" else "jemx"
    rmf_path, arf_path = folder / f"{name}_{key}.rmf", folder / f"{name}_{key}.arf"
    if not (rmf_path.is_file() and arf_path.is_file()):
        rmf, arf = make_response(ISGRI_RESPONSE if instrument == "isgri" else JEMX_RESPONSE, edges,
                                 instrument="ISGRI" if instrument == "isgri" else instrument.upper())
        with warnings.catch_warnings():   # the generator's long COMMENT card is wrapped by astropy: expected
            warnings.simplefilter("ignore", VerifyWarning)
            atomic_write(rmf_path, lambda tmp: write_rmf(tmp, rmf))
            atomic_write(arf_path, lambda tmp: write_arf(tmp, arf))
    return rmf_path, arf_path


def _finite(x) -> float | None:
    return float(x) if x is not None and math.isfinite(float(x)) else None


def _lightcurve(task: SourceTask, whole: list, timed: list):
    from skygallery.science.lightcurves import from_scw_rates
    src = task.source
    use_timed = task.lc_bin_s and all(t is not None for t in timed)
    rates = timed if use_timed else whole
    return from_scw_rates(rates, src["name"], task.band, task.prefix, src["ra"], src["dec"])


def _variability(lc, rule: VariabilityRule) -> dict:
    from skygallery.science.lightcurves import (
        constancy_test,
        find_flares,
        fractional_variability,
    )
    out = {"n_bins": len(lc), "variable": False, "flares": 0}
    good = lc.usable()
    if len(good) < 2:
        return out
    test = constancy_test(good)
    out.update(mean_rate=test.mean, mean_rate_err=test.mean_error, chi2=test.chi2, dof=test.dof,
               p_value=test.p_value)
    fvar = fractional_variability(good) if test.mean > 0 else None
    out["fvar"] = _finite(fvar.fvar) if fvar is not None else None
    flares = find_flares(good, rule.flare_sigma) if len(good) >= 3 else []
    out["flares"] = len(flares)
    out["flare_peaks_ijd"] = [f.peak_ijd for f in flares]
    out["variable"] = bool(test.p_value < rule.variable_p and (out["fvar"] or 0.0) >= rule.variable_fvar)
    return out


def _lc_files(task: SourceTask, lc, folder: ProductFolder, title: str) -> list[tuple[str, str]]:
    from skygallery.science.ogip_lc import write_lightcurve

    from .plots import lightcurve_preview
    stem = folder.product_id
    lc_name, png_name = f"{stem}_lc.fits", f"{stem}.png"

    def write(tmp: Path):
        write_lightcurve(tmp, lc)
        from astropy.io import fits
        with fits.open(tmp, mode="update") as hdul:   # no creation date: same data, same bytes
            hdul[0].header.remove("DATE", ignore_missing=True)
    atomic_write(folder.file(lc_name), write)
    atomic_write(folder.file(png_name), lambda tmp: lightcurve_preview(tmp, lc.time_ijd, lc.rate, lc.error, title))
    return [("fits", lc_name), ("preview", png_name)]


def _spectrum(task: SourceTask, whole: list, folder: ProductFolder) -> tuple[list, dict]:
    from astropy.io.fits.verify import VerifyWarning

    from skygallery.science.spectra import (
        combine_scw_rates,
        spectrum_from_rates,
        write_pha,
    )

    from .plots import spectrum_preview
    combined = combine_scw_rates(whole)
    index = combined.names.index(task.source["name"])
    n_chan = len(combined.bands_kev) - 1          # the last band is the imaging band, not a channel
    combined.rate, combined.rate_err = combined.rate[:n_chan], combined.rate_err[:n_chan]
    combined.bands_kev = combined.bands_kev[:n_chan]
    stem = folder.product_id
    names = {"fits": f"{stem}_spectrum.fits", "rmf": f"{stem}.rmf", "arf": f"{stem}.arf",
             "preview": f"{stem}.png"}
    pha = spectrum_from_rates(combined, index, respfile=names["rmf"], ancrfile=names["arf"],
                              instrument="ISGRI" if task.instrument == "isgri" else task.instrument.upper(),
                              ra_deg=task.source["ra"], dec_deg=task.source["dec"])
    with warnings.catch_warnings():   # long file names in RESPFILE/ANCRFILE: astropy shortens their comments
        warnings.simplefilter("ignore", VerifyWarning)
        atomic_write(folder.file(names["fits"]), lambda tmp: write_pha(tmp, pha))
    for role in ("rmf", "arf"):
        src = Path(task.rmf_path if role == "rmf" else task.arf_path)
        atomic_write(folder.file(names[role]), lambda tmp, src=src: shutil.copyfile(src, tmp))
    e_lo = np.array([b[0] for b in combined.bands_kev])
    e_hi = np.array([b[1] for b in combined.bands_kev])
    good = pha.quality == 0
    fit = _fit_powerlaw(pha, task) if good.sum() >= 3 else {}
    chans = fit.pop("fit_channels", None)
    if chans:
        plot = [np.asarray(chans[k]) for k in ("e_lo", "e_hi", "rate", "sigma", "model")]
    else:
        plot = [e_lo[good], e_hi[good], pha.rate[good], pha.stat_err[good], None]
    atomic_write(folder.file(names["preview"]), lambda tmp: spectrum_preview(tmp, *plot, task.spectrum_title))
    stats = {"exposure_s": float(pha.exposure), "n_scw": int(combined.n_scw[index]),
             "t1_ijd": combined.t_start_ijd, "t2_ijd": combined.t_stop_ijd,
             "e1_kev": float(e_lo[good][0]) if good.any() else float(e_lo[0]),
             "e2_kev": float(e_hi[good][-1]) if good.any() else float(e_hi[-1]), **fit}
    return [("fits", names["fits"]), ("rmf", names["rmf"]), ("arf", names["arf"]),
            ("preview", names["preview"])], stats


FLUX_BAND_KEV = {"isgri": (20.0, 100.0), "jemx": (3.0, 20.0)}


def _fit_powerlaw(pha, task: SourceTask) -> dict:
    """Power-law fit of the spectrum through its RMF and ARF (:func:`skygallery.science.specfit.fit_spectrum`,
    χ², covariance errors): photon index, K at 1 keV, energy flux in 20–100 keV (ISGRI) or 3–20 keV
    (JEM-X) in erg/cm²/s, mCrab, and the folded model per fitted channel for the preview. Empty when
    the spectrum cannot constrain it (too few good channels, no convergence)."""
    from skygallery.science.responses import read_arf, read_rmf
    from skygallery.science.specfit import fit_spectrum
    band = FLUX_BAND_KEV["isgri" if task.instrument == "isgri" else "jemx"]
    try:
        fit = fit_spectrum(pha, read_rmf(task.rmf_path), read_arf(task.arf_path), "powerlaw",
                           errors="covariance", flux_band=band)
    except (ValueError, np.linalg.LinAlgError, FloatingPointError):
        return {}
    index, norm = fit.params["PhoIndex"], fit.params["norm"]
    return {"model": "powerlaw", "photon_index": index.value, "photon_index_err": max(index.err_lo, index.err_hi),
            "norm_1kev": norm.value, "flux_band_kev": list(band), "flux_erg_cm2_s": fit.flux_erg_cm2_s,
            "flux_err_erg_cm2_s": fit.flux_err, "mcrab": fit.mcrab, "mcrab_err": fit.mcrab_err,
            "chi2": fit.stat_value, "dof": fit.dof,
            "fit_channels": {"e_lo": fit.data.e_lo.tolist(), "e_hi": fit.data.e_hi.tolist(),
                             "rate": fit.data.rate.tolist(), "sigma": fit.data.sigma.tolist(),
                             "model": np.asarray(fit.model_counts).tolist()}}


def per_revolution(lc):
    """One bin per revolution (revolution from the first 4 digits of each bin's ScW id): the
    variance-weighted mean of its bins (:func:`skygallery.science.lightcurves.rebin` over the
    revolution's span), bins merged back in time order."""
    from skygallery.science.lightcurves import merge, rebin
    revs = np.array([s[:4] for s in lc.swid])
    parts = []
    for rev in sorted(set(revs)):
        sub = lc.select(revs == rev).usable()
        if len(sub):
            span_s = (float(sub.tstop_ijd.max()) - float(sub.tstart_ijd.min())) * 86400.0
            parts.append(rebin(sub, max(span_s * 1.001, float(sub.timedel_s.max())) + 1.0))
    return merge(parts) if parts else lc.select(np.zeros(len(lc), bool))


def _lc_product(task: SourceTask, lc, folder: ProductFolder, title: str, time_bin_s) -> dict:
    stats = _variability(lc, task.rule)
    stats.update(t1_ijd=float(lc.tstart_ijd.min()) if len(lc) else None,
                 t2_ijd=float(lc.tstop_ijd.max()) if len(lc) else None, time_bin_s=time_bin_s,
                 highlight=bool(stats["variable"] or stats["flares"]))
    files = _lc_files(task, lc, folder, title) if len(lc) else []
    return _result(folder, folder.commit(task.inputs, files, stats), False)


def make_source_products(task: SourceTask) -> dict:
    """Light curve(s) and spectrum of one source (module docstring); cached per product folder.

    With ``task.rev_lc_product_id`` (long-term products) the light curve has one point per ScW and a
    second light curve one point per revolution."""
    folders = {"lc": ProductFolder(task.products_root, task.lc_product_id),
               "spectrum": ProductFolder(task.products_root, task.spectrum_product_id)}
    if task.rev_lc_product_id:
        folders["rev_lc"] = ProductFolder(task.products_root, task.rev_lc_product_id)
    cached = {k: f.cached(task.inputs) for k, f in folders.items()}
    if all(cached.values()):
        return {k: _result(folders[k], m, True) for k, m in cached.items()}
    started = time.perf_counter()
    from .scw_tasks import load_rates
    loaded = [load_rates(path, scw) for scw, path in task.rates]
    whole = [w for w, _ in loaded]
    timed = [t for _, t in loaded]
    lc = _lightcurve(task, whole, timed)
    out = {"lc": _lc_product(task, lc, folders["lc"], task.lc_title, task.lc_bin_s)}
    if "rev_lc" in folders:
        rev_lc = per_revolution(lc)
        width = float(np.median(rev_lc.timedel_s)) if len(rev_lc) else None
        out["rev_lc"] = _lc_product(task, rev_lc, folders["rev_lc"], task.rev_lc_title, width)
    sp_files, sp_stats = _spectrum(task, whole, folders["spectrum"])
    out["spectrum"] = _result(folders["spectrum"], folders["spectrum"].commit(task.inputs, sp_files, sp_stats), False)
    out["seconds"] = time.perf_counter() - started
    return out


def _result(folder: ProductFolder, manifest: dict, cached: bool) -> dict:
    return {"product_id": folder.product_id, "files": folder.files(manifest),
            "stats": manifest["data"], "cached": cached}
