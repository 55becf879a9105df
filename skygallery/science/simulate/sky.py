"""Sky model for simulations: sources with spectra, light curves and transients, and the
documented instrument spectral response used to turn them into counts.

Spectra are power laws N(E) = K·(E/1 keV)^(−Γ) photons cm⁻² s⁻¹ keV⁻¹. A flux in mCrab scales
the Crab spectrum, taken as K = 10.0, Γ = 2.1 (the classic Crab power law; folded through the
ISGRI model below it gives ≈ 180 counts/s in 20–40 keV, the reference value of
``integral-facts.md``).

:class:`SpectralResponse` (data, one per instrument) is the *documented simulation model*, not
a calibration: effective area A(E) = A₀ · (1 − exp(−((E − E_thr)/E_turn)²)) · exp(−E/E_cut)
(cm², mask transmission included, 0 below E_thr) and Gaussian energy resolution with
FWHM(E) = f₆₀ · 60 keV · √(E/60 keV). The *true* rate of a source in a band is the integral of
N(E)·A(E)·P(measured energy in band | E) — what a perfect imager should recover.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.special import erf

__all__ = [
    "CRAB_INDEX",
    "CRAB_K",
    "ISGRI_RESPONSE",
    "JEMX_RESPONSE",
    "LightCurve",
    "SimSource",
    "SkyModel",
    "SpectralResponse",
    "band_rate",
    "sample_energies",
]

CRAB_K, CRAB_INDEX = 10.0, 2.1


@dataclass(frozen=True)
class SpectralResponse:
    """Simulation response model (see the module docstring); energies in keV, area in cm²."""

    name: str
    area_cm2: float
    threshold_kev: float
    turn_on_kev: float
    cutoff_kev: float
    fwhm_at_60: float              # fractional FWHM at 60 keV
    e_min_kev: float
    e_max_kev: float

    def grid(self, n: int = 2048) -> np.ndarray:
        return np.geomspace(self.e_min_kev, self.e_max_kev, n)

    def area(self, energy_kev) -> np.ndarray:
        e = np.asarray(energy_kev, float)
        x = np.clip(e - self.threshold_kev, 0.0, None) / self.turn_on_kev
        return self.area_cm2 * (1.0 - np.exp(-x ** 2)) * np.exp(-e / self.cutoff_kev)

    def fwhm(self, energy_kev) -> np.ndarray:
        return self.fwhm_at_60 * 60.0 * np.sqrt(np.asarray(energy_kev, float) / 60.0)


ISGRI_RESPONSE = SpectralResponse("ISGRI", area_cm2=1150.0, threshold_kev=13.0, turn_on_kev=8.0, cutoff_kev=400.0,
                                  fwhm_at_60=0.08, e_min_kev=13.0, e_max_kev=1000.0)
JEMX_RESPONSE = SpectralResponse("JEMX", area_cm2=65.0, threshold_kev=2.5, turn_on_kev=2.0, cutoff_kev=25.0,
                                 fwhm_at_60=0.06, e_min_kev=2.5, e_max_kev=40.0)


def _photon_spectrum(energy, k, index):
    return k * np.power(energy, -index)


def band_rate(k: float, index: float, band_kev: tuple[float, float], response: SpectralResponse) -> float:
    """True count rate (counts/s) in a *measured*-energy band (resolution included)."""
    e1, e2 = band_kev
    if not 0 <= e1 < e2:
        raise ValueError(f"band: E_MIN must be < E_MAX, got {e1!r}-{e2!r}")
    e = response.grid()
    sigma = response.fwhm(e) / 2.3548
    p_in = 0.5 * (erf((e2 - e) / (math.sqrt(2) * sigma)) - erf((e1 - e) / (math.sqrt(2) * sigma)))
    return float(np.trapezoid(_photon_spectrum(e, k, index) * response.area(e) * p_in, e))


def sample_energies(rng: np.random.Generator, n: int, k: float, index: float,
                    response: SpectralResponse) -> np.ndarray:
    """``n`` measured energies (keV) from N(E)·A(E), smeared by the resolution."""
    e = response.grid()
    density = _photon_spectrum(e, k, index) * response.area(e)
    cdf = np.concatenate([[0.0], np.cumsum(0.5 * (density[1:] + density[:-1]) * np.diff(e))])
    true = np.interp(rng.random(n) * cdf[-1], cdf, e)
    return (true + rng.standard_normal(n) * response.fwhm(true) / 2.3548).astype(np.float32)


def total_rate(k: float, index: float, response: SpectralResponse) -> float:
    """Counts/s over the whole simulated range (before resolution)."""
    e = response.grid()
    return float(np.trapezoid(_photon_spectrum(e, k, index) * response.area(e), e))


@dataclass(frozen=True)
class LightCurve:
    """Multiplicative light curve: 1 + Σ flares. Each flare (t0 IJD, amplitude, rise d, decay d)
    is a fast-rise exponential decay; ``on_ijd``/``off_ijd`` bound a transient's visibility."""

    flares: tuple[tuple[float, float, float, float], ...] = ()
    on_ijd: float = -math.inf
    off_ijd: float = math.inf

    def factor(self, t_ijd) -> np.ndarray:
        t = np.asarray(t_ijd, float)
        f = np.ones_like(t)
        for t0, amp, rise, decay in self.flares:
            dt = t - t0
            f = f + amp * np.where(dt < 0, np.exp(dt / max(rise, 1e-9)), np.exp(-dt / max(decay, 1e-9)))
        return np.where((t >= self.on_ijd) & (t <= self.off_ijd), f, 0.0)


@dataclass(frozen=True)
class SimSource:
    """A simulated point source: position (deg), spectrum (K, Γ), optional light curve."""

    name: str
    ra_deg: float
    dec_deg: float
    k: float
    index: float = CRAB_INDEX
    lightcurve: LightCurve = field(default_factory=LightCurve)

    @classmethod
    def from_mcrab(cls, name: str, ra_deg: float, dec_deg: float, mcrab: float, index: float = CRAB_INDEX,
                   lightcurve: LightCurve | None = None) -> SimSource:
        if not 0.0 <= ra_deg < 360.0:
            raise ValueError(f"ra: must be in [0, 360) deg, got {ra_deg!r} for {name}")
        if not -90.0 <= dec_deg <= 90.0:
            raise ValueError(f"dec: must be in [-90, 90] deg, got {dec_deg!r} for {name}")
        if not mcrab >= 0:
            raise ValueError(f"flux: must be >= 0 mCrab, got {mcrab!r} for {name}")
        # same photon flux at 30 keV as mcrab/1000 Crab
        k = CRAB_K * mcrab / 1000.0 * 30.0 ** (index - CRAB_INDEX)
        return cls(name, float(ra_deg), float(dec_deg), k, index, lightcurve or LightCurve())


@dataclass
class SkyModel:
    """The simulated sky: a list of sources."""

    sources: list[SimSource]

    @classmethod
    def from_catalog(cls, catalog, centre: tuple[float, float], radius_deg: float, mcrab_default: float | None = 5.0,
                     isgri_crab_rate: float = 230.9, extra: Sequence[SimSource] = ()) -> SkyModel:
        """Catalog sources within ``radius_deg`` of ``centre``; fluxes from ISGR_FLUX_1 (counts/s in
        20–60 keV, converted with the catalog's own Crab value 230.9 counts/s) when present, the Crab
        at 1000 mCrab, others at ``mcrab_default`` (left out when it is None)."""
        sources = []
        for src, _ in catalog.nearest(centre[0], centre[1], radius_deg):
            if src.name == "Crab":
                mcrab = 1000.0
            elif not src.isgri_flux and mcrab_default is None:
                continue
            else:
                mcrab = (1000.0 * src.isgri_flux / isgri_crab_rate) if src.isgri_flux else mcrab_default
            sources.append(SimSource.from_mcrab(src.name, src.ra_deg, src.dec_deg, min(mcrab, 3000.0)))
        return cls(sources + list(extra))
