"""Photon spectral models, the reference Crab spectrum and forward folding through RMF × ARF.

Models (photons cm⁻² s⁻¹ keV⁻¹, E in keV), XSPEC conventions for the reported parameters:

* ``powerlaw``: N(E) = K·E^(−Γ)                      (K at 1 keV)
* ``cutoffpl``: N(E) = K·E^(−Γ)·exp(−E/E_cut)

Internally the normalisation is the flux density N_p at a pivot energy E_p inside the fitted band
(N(E) = N_p·(E/E_p)^(−Γ)[·exp(−E/E_cut)]), which decorrelates it from Γ; E_cut is fitted as
log10(E_cut/keV). Folding: the model is integrated over each response energy bin by 3-point
Gauss–Legendre quadrature (photons cm⁻² s⁻¹ per bin), times ARF (cm²) and the RMF row, summed
into channels → counts/s; the ISDC convention (area in the RMF, ARF ≈ 1) folds identically.

Reference Crab (Roques & Jourdain 2018, ApJ 870, 92; the formula of the public README of
integral-observatory/integral-isgri-rate-meaning): K = 7.417×10⁻⁴ ph cm⁻² s⁻¹ keV⁻¹ at 100 keV,
N = K (E/100)^(−1.98) exp(−E/500) below E_b = 500·(2.33−1.98) = 175 keV and
K (E_b/100)^(0.35) e^(−0.35) (E/100)^(−2.33) above (continuous at E_b).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["KEV_TO_ERG", "MODELS", "FoldingResponse", "SpectralModel", "band_energy_flux", "crab_photon_flux"]

KEV_TO_ERG = 1.602176634e-9


def crab_photon_flux(energy_kev) -> np.ndarray:
    """Reference Crab photon spectrum (photons cm⁻² s⁻¹ keV⁻¹), see the module docstring."""
    e = np.asarray(energy_kev, float)
    k, a1, a2, ec = 7.417e-4, 1.98, 2.33, 500.0
    eb = ec * (a2 - a1)
    low = k * (e / 100.0) ** (-a1) * np.exp(-e / ec)
    high = k * (eb / 100.0) ** (a2 - a1) * math.exp(-(a2 - a1)) * (e / 100.0) ** (-a2)
    return np.where(e < eb, low, high)


@dataclass(frozen=True)
class SpectralModel:
    """A model: reported parameter names/units and the internal parameterisation (see module doc)."""

    name: str
    internal: tuple[str, ...]
    lower: tuple[float, ...]
    upper: tuple[float, ...]

    def photon_flux(self, energy_kev, p, pivot_kev: float) -> np.ndarray:
        e = np.asarray(energy_kev, float)
        out = p[0] * (e / pivot_kev) ** (-p[1])
        if self.name == "cutoffpl":
            out = out * np.exp(-e / 10.0 ** p[2])
        return out

    def start(self, index: float = 2.0) -> np.ndarray:
        return np.array([1.0, index] + ([math.log10(200.0)] if self.name == "cutoffpl" else []))

    def reported(self, p, pivot_kev: float) -> dict[str, float]:
        """XSPEC-style parameters: PhoIndex, norm (K at 1 keV)[, HighECut keV]."""
        out = {"PhoIndex": float(p[1]), "norm": float(p[0] * pivot_kev ** p[1])}
        if self.name == "cutoffpl":
            out["HighECut"] = float(10.0 ** p[2])
        return out


MODELS = {
    "powerlaw": SpectralModel("powerlaw", ("norm_pivot", "PhoIndex"), (-np.inf, -5.0), (np.inf, 10.0)),
    "cutoffpl": SpectralModel("cutoffpl", ("norm_pivot", "PhoIndex", "log10_HighECut"),
                              (-np.inf, -5.0, 0.0), (np.inf, 10.0, 4.0)),
}


class FoldingResponse:
    """ARF × RMF as one matrix [energy bin, channel] (cm² × probability) plus the EBOUNDS."""

    def __init__(self, rmf, arf=None):
        area = np.ones(rmf.energ_lo.size)
        if arf is not None:
            if arf.energ_lo.size != rmf.energ_lo.size or not np.allclose(arf.energ_lo, rmf.energ_lo, rtol=1e-4) \
                    or not np.allclose(arf.energ_hi, rmf.energ_hi, rtol=1e-4):
                raise ValueError(f"arf: its {arf.energ_lo.size} energy bins differ from the RMF's "
                                 f"{rmf.energ_lo.size}")
            area = np.asarray(arf.specresp, float)
        self.energ_lo, self.energ_hi = rmf.energ_lo, rmf.energ_hi
        self.matrix = rmf.matrix * area[:, None]
        self.channel, self.e_min, self.e_max = rmf.channel, rmf.e_min, rmf.e_max
        x, w = np.polynomial.legendre.leggauss(3)
        mid, half = 0.5 * (self.energ_lo + self.energ_hi), 0.5 * (self.energ_hi - self.energ_lo)
        self.nodes = mid[:, None] + half[:, None] * x[None, :]
        self.weights = half[:, None] * w[None, :]

    def columns_of(self, channels) -> np.ndarray:
        """RMF column index of each PHA channel number (ValueError when a channel is unknown)."""
        channels = np.asarray(channels, int)
        order = np.argsort(self.channel)
        pos = np.searchsorted(self.channel[order], channels)
        pos = np.clip(pos, 0, self.channel.size - 1)
        idx = order[pos]
        if np.any(self.channel[idx] != channels):
            raise ValueError("rmf: the spectrum's CHANNEL numbers are not all in the RMF EBOUNDS")
        return idx

    def bin_photons(self, flux_fn) -> np.ndarray:
        """∫ N(E) dE over each response energy bin (photons cm⁻² s⁻¹)."""
        return np.sum(flux_fn(self.nodes) * self.weights, axis=1)

    def fold(self, flux_fn, projector: np.ndarray | None = None) -> np.ndarray:
        """Counts/s per channel (or per column of ``projector`` [energy, group] when given)."""
        photons = self.bin_photons(flux_fn)
        return photons @ (self.matrix if projector is None else projector)


def band_energy_flux(flux_fn, band_kev: tuple[float, float], n: int = 512) -> float:
    """∫ E·N(E) dE over the band, in erg cm⁻² s⁻¹ (log-spaced Gauss–Legendre)."""
    e1, e2 = band_kev
    if not 0 < e1 < e2:
        raise ValueError(f"flux_band: E1 must be > 0 and below E2 (keV), got {e1!r}-{e2!r}")
    edges = np.geomspace(e1, e2, n + 1)
    x, w = np.polynomial.legendre.leggauss(4)
    mid, half = 0.5 * (edges[1:] + edges[:-1]), 0.5 * np.diff(edges)
    e = mid[:, None] + half[:, None] * x[None, :]
    return float(np.sum(e * flux_fn(e) * half[:, None] * w[None, :]) * KEV_TO_ERG)
