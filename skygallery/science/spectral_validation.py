"""Injection–recovery checks of the spectral chain, shared by the tests and
``benchmarks/validate_spectra_lc.py``: shadowgram fits per band (fast path of
:mod:`.spectral_injection`) → variance-weighted combination → PHA → forward-folding fit through the
RMF/ARF generated from the same simulation response.

* :func:`crab_recovery` — a 1 Crab source (K = 10, Γ = 2.1) observed with a hexagonal dither; the
  photon index and the 20–100 keV energy flux against the injected spectrum.
* :func:`faint_coverage` — a faint source (≈ 20σ over the observation) in seeded trials: how often
  the injected Γ and flux fall inside the fitted 1σ intervals (Δχ² = 1 profile scans).
* :func:`crowded_field` — a Galactic-centre 5×5 dither with the catalog sky; a target with bright
  neighbours: channel rates against the truth (χ²), Γ and flux pulls.
* :func:`real_isgri_fit` — the real 1A 0535+262 ISGRI spectrum with its real RMF/ARF.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path

import numpy as np

from .attitude import Pointing
from .fit_shadowgram import FitSource, prepare_model
from .instruments import isgri
from .responses import make_response
from .simulate.events import BackgroundModel
from .simulate.plan import dither_offsets
from .simulate.sky import CRAB_INDEX, CRAB_K, ISGRI_RESPONSE, SimSource, SkyModel
from .specfit import fit_spectrum
from .specmodels import band_energy_flux
from .spectra import combine_scw_rates, spectrum_from_rates
from .spectral_injection import expected_source_counts, fast_scw_rates
from .sphere import separation_deg

__all__ = ["CRAB_POS", "GC_POS", "Recovery", "crab_recovery", "crowded_field", "faint_coverage", "real_isgri_fit",
           "select_fit_sources"]

CRAB_POS = (83.633, 22.014)
GC_POS = (266.417, -29.008)
FLUX_BAND = (20.0, 100.0)
EXPOSURE_S = 1400.0          # 2000 s pointing × dead-time factor 0.7
BACKGROUND = BackgroundModel(rate_counts_s=600.0)


def _edges(n_bands: int, e1: float = 20.0, e2: float = 300.0) -> np.ndarray:
    return np.geomspace(e1, e2, n_bands + 1)


def _pointings(centre, pattern: str, n: int, posangle: float = 20.0) -> list[Pointing]:
    from .simulate.plan import _offset_position
    cycle = dither_offsets(pattern, 2.1)
    return [Pointing(*_offset_position(centre[0], centre[1], *cycle[k % len(cycle)]), posangle + 0.2 * k)
            for k in range(n)]


def _instrument(seed: int):
    inst = isgri()
    return inst.with_dead_pixels(np.random.default_rng([seed, 9999]).random(inst.detector.shape) < 0.002)


@dataclass
class Recovery:
    """Fitted vs injected values of one source (index, 20–100 keV flux in erg cm⁻² s⁻¹)."""

    name: str
    index: float
    index_lo: float
    index_hi: float
    index_true: float
    flux: float
    flux_err: float
    flux_true: float
    reduced: float
    dof: int
    significance: float
    extra: dict = field(default_factory=dict)

    @property
    def flux_ratio(self) -> float:
        return self.flux / self.flux_true

    @property
    def index_pull(self) -> float:
        err = self.index_hi if self.index > self.index_true else self.index_lo
        return (self.index - self.index_true) / err if err > 0 else math.nan

    @property
    def flux_pull(self) -> float:
        return (self.flux - self.flux_true) / self.flux_err


def select_fit_sources(sky: SkyModel, min_mcrab: float, target: str, min_separation_deg: float = 0.1) -> list[FitSource]:
    """The target, then sources ≥ ``min_mcrab`` by decreasing flux, skipping any within
    ``min_separation_deg`` of one already chosen (unresolvable twins would make the fit degenerate)."""
    crab30 = CRAB_K * 30.0 ** (-CRAB_INDEX)
    by_flux = sorted(sky.sources, key=lambda s: -s.k * 30.0 ** (-s.index))
    chosen = [s for s in sky.sources if s.name == target]
    for s in by_flux:
        if s.name == target or 1000.0 * s.k * 30.0 ** (-s.index) / crab30 < min_mcrab:
            continue
        if all(float(separation_deg(s.ra_deg, s.dec_deg, c.ra_deg, c.dec_deg)) >= min_separation_deg for c in chosen):
            chosen.append(s)
    return [FitSource(s.name, s.ra_deg, s.dec_deg) for s in chosen]


def _scene(sky: SkyModel, fit_sources, pointings, edges, inst) -> list:
    """Per pointing: the fit design and the mean source counts (reused by every trial)."""
    bands = list(pairwise(edges))
    return [(prepare_model(inst, p, fit_sources),
             expected_source_counts(inst, p, sky, bands, EXPOSURE_S, ISGRI_RESPONSE)) for p in pointings]


def _run(sky: SkyModel, fit_sources, pointings, edges, rng, inst, scene=None):
    bands = list(pairwise(edges))
    scene = scene or _scene(sky, fit_sources, pointings, edges, inst)
    rates, truths = [], []
    for k, (p, (m, expected)) in enumerate(zip(pointings, scene)):
        r, truth = fast_scw_rates(inst, p, sky, fit_sources, bands, EXPOSURE_S, rng, ISGRI_RESPONSE, BACKGROUND,
                                  swid=f"{k:04d}", model=m, expected=expected)
        rates.append(r)
        truths.append(truth)
    return combine_scw_rates(rates), truths


def _recover(combined, index: int, src: SimSource, rmf, arf, errors: str, fit_range) -> Recovery:
    pha = spectrum_from_rates(combined, index)
    fit = fit_spectrum(pha, rmf, arf, "powerlaw", *fit_range, stat="chi2", errors=errors, flux_band=FLUX_BAND)
    good = pha.quality == 0
    snr = float(np.sqrt(np.sum((pha.rate[good] / pha.stat_err[good]) ** 2)))
    idx = fit.params["PhoIndex"]
    return Recovery(src.name, idx.value, idx.err_lo, idx.err_hi, src.index, fit.flux_erg_cm2_s, fit.flux_err,
                    band_energy_flux(lambda e: src.k * e ** (-src.index), FLUX_BAND), fit.reduced, fit.dof, snr,
                    {"mcrab": fit.mcrab, "mcrab_err": fit.mcrab_err})


def crab_recovery(n_scw: int = 7, n_bands: int = 16, seed: int = 1, errors: str = "scan") -> Recovery:
    """1 Crab on a hexagonal dither (see the module docstring); fit range 20–300 keV."""
    crab = SimSource("Crab", *CRAB_POS, CRAB_K, CRAB_INDEX)
    sky = SkyModel([crab])
    edges = _edges(n_bands)
    inst = _instrument(seed)
    combined, _ = _run(sky, [FitSource("Crab", *CRAB_POS)], _pointings(CRAB_POS, "hex", n_scw), edges,
                       np.random.default_rng(seed), inst)
    rmf, arf = make_response(ISGRI_RESPONSE, edges)
    return _recover(combined, 0, crab, rmf, arf, errors, (20.0, 300.0))


def faint_coverage(n_trials: int = 50, n_scw: int = 7, n_bands: int = 16, mcrab: float = 20.0, seed: int = 7,
                   index: float = 2.1) -> tuple[dict, list[Recovery]]:
    """Seeded trials of a faint source 2° from the Crab field centre with the Crab in the field."""
    faint = SimSource.from_mcrab("Faint", CRAB_POS[0] + 1.5, CRAB_POS[1] + 1.2, mcrab, index)
    crab = SimSource("Crab", *CRAB_POS, CRAB_K, CRAB_INDEX)
    sky = SkyModel([faint, crab])
    fit_sources = [FitSource(s.name, s.ra_deg, s.dec_deg) for s in sky.sources]
    edges = _edges(n_bands)
    inst = _instrument(seed)
    pointings = _pointings(CRAB_POS, "hex", n_scw)
    scene = _scene(sky, fit_sources, pointings, edges, inst)
    rmf, arf = make_response(ISGRI_RESPONSE, edges)
    trials = []
    for t in range(n_trials):
        combined, _ = _run(sky, fit_sources, pointings, edges, np.random.default_rng([seed, t]), inst, scene)
        trials.append(_recover(combined, 0, faint, rmf, arf, "scan", (20.0, 300.0)))
    inside_index = np.mean([r.index - r.index_lo <= r.index_true <= r.index + r.index_hi for r in trials])
    inside_flux = np.mean([abs(r.flux_pull) <= 1 for r in trials])
    summary = {"n_trials": n_trials, "mean_significance": float(np.mean([r.significance for r in trials])),
               "index_within_1sigma": float(inside_index), "flux_within_1sigma": float(inside_flux),
               "mean_index": float(np.mean([r.index for r in trials])),
               "mean_flux_ratio": float(np.mean([r.flux_ratio for r in trials])),
               "mean_reduced_chi2": float(np.mean([r.reduced for r in trials]))}
    return summary, trials


def crowded_field(catalog, target: str = "1A 1742-294", n_scw: int = 10, n_bands: int = 16, seed: int = 3,
                  min_mcrab: float = 2.0, sky_radius_deg: float = 15.0) -> Recovery:
    """The Galactic-centre field (catalog sky, 5×5 dither from its first point); ``extra`` has the
    χ² of the channel rates against the truth, the neighbours within 1° and their fluxes."""
    sky = SkyModel.from_catalog(catalog, GC_POS, sky_radius_deg, mcrab_default=None)
    src = next((s for s in sky.sources if s.name == target), None)
    if src is None:
        raise ValueError(f"target: {target!r} is not in the simulated Galactic-centre sky")
    fit_sources = select_fit_sources(sky, min_mcrab, target)
    edges = _edges(n_bands)
    inst = _instrument(seed)
    combined, truths = _run(sky, fit_sources, _pointings(GC_POS, "5x5", n_scw), edges, np.random.default_rng(seed),
                            inst)
    i = combined.names.index(target)
    true_rate = np.mean([t[target] for t in truths if target in t], axis=0)
    chi2 = float(np.nansum(((combined.rate[:, i] - true_rate) / combined.rate_err[:, i]) ** 2))
    rmf, arf = make_response(ISGRI_RESPONSE, edges)
    rec = _recover(combined, i, src, rmf, arf, "scan", (20.0, 300.0))
    crab30 = CRAB_K * 30.0 ** (-CRAB_INDEX)
    neighbours = sorted(((s.name, round(float(separation_deg(s.ra_deg, s.dec_deg, src.ra_deg, src.dec_deg)), 2),
                          round(1000.0 * s.k * 30.0 ** (-s.index) / crab30, 1)) for s in sky.sources
                         if s is not src and separation_deg(s.ra_deg, s.dec_deg, src.ra_deg, src.dec_deg) < 1.0),
                        key=lambda x: x[1])
    rec.extra.update({"chi2_vs_truth": chi2, "n_channels": int(np.isfinite(combined.rate[:, i]).sum()),
                      "neighbours": neighbours, "n_fit_sources": len(fit_sources), "n_scw": n_scw})
    return rec


def real_isgri_fit(folder: str | Path, emin: float = 20.0, emax: float = 100.0, model: str = "powerlaw"):
    """Fit the real 1A 0535+262 spectrum (``isgri_spectrum_1A0535.fits.gz`` + ISGRI RMF/ARF in
    ``folder``); returns the :class:`~.specfit.SpectralFit`."""
    from .responses import read_arf, read_rmf
    from .spectra import read_pha
    folder = Path(folder)
    pha = read_pha(folder / "isgri_spectrum_1A0535.fits.gz")
    return fit_spectrum(pha, read_rmf(folder / "isgri_rmf.fits.gz"), read_arf(folder / "isgri_arf.fits.gz"), model,
                        emin, emax)   # flux over the channels actually fitted (no extrapolation)
