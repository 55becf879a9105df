"""Fast injection–recovery for spectra: band shadowgrams drawn directly from the simulator's model.

The archive simulator (:mod:`.simulate.events`) draws events; binned into an energy band they are
Poisson counts with mean, per pixel,

    Σ_src band_rate(src, band)·T/A·W·PIF_src  +  B·T·f_band·shape_bkg,

band_rate being the simulator's true rate in the *measured*-energy band (spectrum × area ×
resolution, :func:`.simulate.sky.band_rate`), B the background rate with its power-law measured
spectrum (fraction f_band of it in the band) and shape_bkg the per-module levels (relative spread
``module_spread``) × a linear gradient × efficiency, normalised to 1 — the simulator's background
model. Drawing those Poisson counts per band is statistically the same as simulating the events and
binning them, without writing archives: what the trial loops of the validation use.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .attitude import Pointing, instrument_angles
from .extract import ScwRates, check_bands
from .fit_shadowgram import FitSource, ShadowgramModel, detector_modules, prepare_model
from .imaging.shadow import source_shadow
from .instruments.geometry import CodedMaskInstrument
from .instruments.response import coded_fraction
from .simulate.events import BackgroundModel, background_shape
from .simulate.sky import SkyModel, SpectralResponse, band_rate

__all__ = ["background_shape", "band_fraction", "expected_source_counts", "fast_scw_rates",
           "simulate_band_counts"]


def band_fraction(index: float, band_kev: tuple[float, float], e_min: float, e_max: float) -> float:
    """Share of a power law N ∝ E^(−index) on [e_min, e_max] that falls in the band."""
    e1, e2 = max(band_kev[0], e_min), min(band_kev[1], e_max)
    if e2 <= e1:
        return 0.0
    g = 1.0 - index
    if abs(g) < 1e-9:
        return float(np.log(e2 / e1) / np.log(e_max / e_min))
    return float((e2 ** g - e1 ** g) / (e_max ** g - e_min ** g))


def expected_source_counts(inst: CodedMaskInstrument, pointing: Pointing, sky: SkyModel,
                           bands_kev: Sequence[tuple[float, float]], exposure_s: float,
                           response: SpectralResponse) -> tuple[np.ndarray, dict]:
    """Mean source counts (n_bands, ny, nx) of one ScW and the true band rates {name: (n_bands,)}
    (counts/s) of the sources in the field."""
    bands = check_bands(bands_kev)
    expected = np.zeros((len(bands), *inst.detector.shape))
    truth = {}
    for src in sky.sources:
        ty, tx = (float(v) for v in instrument_angles(pointing, src.ra_deg, src.dec_deg, inst.sky_pixel_deg))
        if not (abs(ty) < 20 and abs(tx) < 20) or float(coded_fraction(inst, ty, tx)) <= 0:
            continue
        unit = source_shadow(inst, ty, tx, 1.0, exposure_s)
        rates = np.array([band_rate(src.k, src.index, b, response) for b in bands])
        expected += rates[:, None, None] * unit[None]
        truth[src.name] = rates
    return expected, truth


def simulate_band_counts(inst: CodedMaskInstrument, pointing: Pointing, sky: SkyModel,
                         bands_kev: Sequence[tuple[float, float]], exposure_s: float, rng: np.random.Generator,
                         response: SpectralResponse, background: BackgroundModel,
                         sources: tuple[np.ndarray, dict] | None = None) -> tuple[np.ndarray, dict]:
    """Poisson counts (n_bands, ny, nx) of one ScW, and the true band rates of the sources in the
    field (see the module docstring). ``sources``: a precomputed :func:`expected_source_counts`."""
    bands = check_bands(bands_kev)
    expected, truth = sources or expected_source_counts(inst, pointing, sky, bands, exposure_s, response)
    shape = background_shape(inst, background, rng, detector_modules(inst))
    fractions = np.array([band_fraction(background.index, b, response.e_min_kev, response.e_max_kev) for b in bands])
    mean = expected + background.rate_counts_s * exposure_s * fractions[:, None, None] * shape[None]
    return rng.poisson(mean).astype(float), truth


def fast_scw_rates(inst: CodedMaskInstrument, pointing: Pointing, sky: SkyModel, sources: Sequence[FitSource],
                   bands_kev: Sequence[tuple[float, float]], exposure_s: float, rng: np.random.Generator,
                   response: SpectralResponse, background: BackgroundModel, swid: str = "",
                   model: ShadowgramModel | None = None, t_start_ijd: float = 0.0,
                   expected: tuple[np.ndarray, dict] | None = None) -> tuple[ScwRates, dict]:
    """Simulate one ScW's band counts and fit them: (:class:`~.extract.ScwRates`, truth rates).
    Pass ``model`` (:func:`~.fit_shadowgram.prepare_model`) and ``expected``
    (:func:`expected_source_counts`) to reuse the PIFs across trials."""
    bands = check_bands(bands_kev)
    counts, truth = simulate_band_counts(inst, pointing, sky, bands, exposure_s, rng, response, background,
                                         expected)
    model = model or prepare_model(inst, pointing, sources)
    fits_ = [model.fit(c, exposure_s) for c in counts]
    rates = ScwRates(swid, t_start_ijd, t_start_ijd + exposure_s / 86400.0, exposure_s, bands, list(model.names),
                     np.array([f.rate for f in fits_]), np.array([f.rate_err for f in fits_]), None, None,
                     model.coded_fraction.copy(), None, np.array([f.chi2 / max(f.dof, 1) for f in fits_]))
    return rates, truth
