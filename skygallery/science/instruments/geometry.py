"""Instrument geometry as data: detector grids, mask rasters and the INTEGRAL instruments.

Conventions: detector and mask arrays are indexed [y, x]; lengths are in mm, angles in degrees;
the detector and mask centres lie on the pointing (X) axis, the mask ``distance_mm`` above the
detector plane. A mask is a *raster* of transmission values (1 open, 0 opaque) with square
cells of ``cell_mm``: ISGRI's raster is its 95 × 95 elements of 11.2 mm; JEM-X's hexagonal
elements are rasterised on 1.1 mm cells (one code path for both).

Numbers (``integral-facts.md``): ISGRI 128 × 128 CdTe pixels of 4.6 mm pitch (4.0 mm active),
8 modules of 32 × 64, decoding grid 130 × 134 with 2-pixel gaps (one along the 130 axis, three
along the 134 axis); mask 95 × 95 tungsten elements of 11.2 mm, MURA-53 replicated, 3202.97 mm
above the detector. JEM-X (approximate — the flight mask is not public and the detector is a
gas chamber read out continuously): hexagonal 25 %-open random pattern, 3.3 mm elements in a
535 mm disc, 3400 mm above a 250 mm-diameter detector binned here on a 1.65 mm grid.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .mura import mura_basic, replicate_cyclic

__all__ = ["DetectorGrid", "MaskRaster", "CodedMaskInstrument", "RateOnlyInstrument", "isgri", "jemx",
           "spi_acs", "read_mask_file", "ISGRI_MURA_FIRST"]

ISGRI_MURA_FIRST = 21  # the complete basic pattern occupies elements 21..73 of 95 (centred)


@dataclass(frozen=True, eq=False)
class DetectorGrid:
    """A pixelated detector plane. ``valid`` is False on module gaps and outside the sensitive area."""

    shape: tuple[int, int]          # (n_y, n_x) decoding-grid pixels
    pitch_mm: float                 # pixel pitch
    active_mm: float                # sensitive width of a pixel (centred in its pitch)
    valid: np.ndarray               # bool [y, x]

    @property
    def size_mm(self) -> tuple[float, float]:
        return self.shape[0] * self.pitch_mm, self.shape[1] * self.pitch_mm

    def pixel_bounds_mm(self, axis: int) -> tuple[np.ndarray, np.ndarray]:
        """Lower/upper edges of each pixel's active area along ``axis`` (0 = y, 1 = x), centred on 0."""
        n = self.shape[axis]
        centre = (np.arange(n) - (n - 1) / 2.0) * self.pitch_mm
        return centre - self.active_mm / 2.0, centre + self.active_mm / 2.0


@dataclass(frozen=True, eq=False)
class MaskRaster:
    """Mask transmission raster (0..1, [y, x]) of square ``cell_mm`` cells, centred on the axis."""

    transmission: np.ndarray
    cell_mm: float
    distance_mm: float
    origin: str = ""                # where the pattern came from

    @property
    def open_fraction(self) -> float:
        return float(self.transmission.mean())

    def cell_bounds_mm(self, axis: int) -> tuple[np.ndarray, np.ndarray]:
        n = self.transmission.shape[axis]
        lo = (np.arange(n) - n / 2.0) * self.cell_mm
        return lo, lo + self.cell_mm


@dataclass(frozen=True, eq=False)
class CodedMaskInstrument:
    """A coded-mask imager: detector grid, mask raster, pixel efficiency (0 = dead) and metadata."""

    name: str
    detector: DetectorGrid
    mask: MaskRaster
    efficiency: np.ndarray          # [y, x] relative efficiency, 0 on gaps and dead pixels
    energy_range_kev: tuple[float, float]
    psf_fwhm_arcmin: float
    extname_prefix: str             # ISGR, JMX1, JMX2
    approximate: bool = False
    notes: str = ""
    meta: dict = field(default_factory=dict)

    @property
    def sky_pixel_deg(self) -> float:
        """Angular size of one detector pixel seen from the mask: atan(pitch / distance)."""
        return math.degrees(math.atan(self.detector.pitch_mm / self.mask.distance_mm))

    def with_dead_pixels(self, dead: np.ndarray) -> "CodedMaskInstrument":
        """A copy whose efficiency is 0 where ``dead`` (bool [y, x]) is True."""
        dead = np.asarray(dead, dtype=bool)
        if dead.shape != self.detector.shape:
            raise ValueError(f"dead_pixels: shape {dead.shape} differs from the detector {self.detector.shape}")
        eff = np.where(dead, 0.0, self.efficiency)
        return CodedMaskInstrument(self.name, self.detector, self.mask, eff, self.energy_range_kev,
                                   self.psf_fwhm_arcmin, self.extname_prefix, self.approximate, self.notes,
                                   dict(self.meta))


@dataclass(frozen=True)
class RateOnlyInstrument:
    """A non-imaging counter (SPI-ACS): baseline rate (counts/s), bin (s), noise ≈ factor·√B per bin."""

    name: str
    baseline_counts_s: float
    bin_s: float
    noise_factor: float
    threshold_kev: float


def _isgri_detector() -> DetectorGrid:
    n_y, n_x = 134, 130
    gaps_y = [32, 33, 66, 67, 100, 101]   # three 2-pixel gaps between the four module rows
    gaps_x = [64, 65]                     # one 2-pixel gap between the two module columns
    valid = np.ones((n_y, n_x), dtype=bool)
    valid[gaps_y, :] = False
    valid[:, gaps_x] = False
    return DetectorGrid(shape=(n_y, n_x), pitch_mm=4.6, active_mm=4.0, valid=valid)


def read_mask_file(path: str | Path, cell_mm: float = 11.2, distance_mm: float = 3202.97) -> MaskRaster:
    """A mask from an OSA IC mask file (e.g. ``isgr_mask_mod_0003.fits``): the first 2-D image HDU,
    values read as transmission (> 0 open). ``cell_mm``/``distance_mm`` unless the header has
    ``MASKELEM``/``MASKDIST`` (mm)."""
    from astropy.io import fits
    try:
        with fits.open(path) as hdul:
            hdu = next((h for h in hdul if h.is_image and h.data is not None and np.ndim(h.data) == 2), None)
            if hdu is None:
                raise ValueError(f"{path}: mask file has no 2-D image HDU")
            data = np.asarray(hdu.data, dtype=float)
            cell_mm = float(hdu.header.get("MASKELEM", cell_mm))
            distance_mm = float(hdu.header.get("MASKDIST", distance_mm))
    except OSError as exc:
        raise ValueError(f"{path}: mask file is not readable FITS ({exc})") from None
    if not np.all(np.isfinite(data)) or data.min() < 0:
        raise ValueError(f"{path}: mask values must be finite and >= 0")
    transmission = (data > 0).astype(float) if data.max() > 1 else data
    return MaskRaster(transmission, cell_mm, distance_mm, origin=str(path))


def isgri(mask_file: str | Path | None = None) -> CodedMaskInstrument:
    """IBIS/ISGRI: 130 × 134 decoding grid with module gaps, MURA-53 mask (or ``mask_file``)."""
    detector = _isgri_detector()
    if mask_file is not None:
        mask = read_mask_file(mask_file)
    else:
        pattern = replicate_cyclic(mura_basic(53), 95, ISGRI_MURA_FIRST).astype(float)
        mask = MaskRaster(pattern, 11.2, 3202.97, origin="MURA-53 construction replicated to 95x95")
    return CodedMaskInstrument("ISGRI", detector, mask, detector.valid.astype(float), (15.0, 1000.0), 12.0, "ISGR",
                               notes="mask from a MURA-53 construction unless an IC mask file is given")


def _hex_mask(seed: int, element_mm=3.3, diameter_mm=535.0, open_fraction=0.25, cell_mm=1.1) -> np.ndarray:
    """Hexagonal elements (pitch ``element_mm``) in a disc, ``open_fraction`` open, on a square raster."""
    from scipy.spatial import cKDTree
    rng = np.random.default_rng(seed)
    r = diameter_mm / 2.0
    rows = np.arange(-r, r + element_mm, element_mm * math.sqrt(3) / 2)
    centres = np.array([(x + (0.5 * element_mm if i % 2 else 0.0), y) for i, y in enumerate(rows)
                        for x in np.arange(-r, r + element_mm, element_mm)])
    centres = centres[np.hypot(centres[:, 0], centres[:, 1]) <= r]
    is_open = rng.random(len(centres)) < open_fraction
    n = int(math.ceil(diameter_mm / cell_mm))
    axis = (np.arange(n) - (n - 1) / 2.0) * cell_mm
    xx, yy = np.meshgrid(axis, axis)
    _, nearest = cKDTree(centres).query(np.column_stack([xx.ravel(), yy.ravel()]))
    inside = (np.hypot(xx, yy) <= r).ravel()
    return np.where(inside, is_open[nearest], False).reshape(n, n).astype(float)


def jemx(unit: int = 1) -> CodedMaskInstrument:
    """JEM-X 1 or 2 (approximate geometry; see the module docstring)."""
    if unit not in (1, 2):
        raise ValueError(f"unit: JEM-X unit must be 1 or 2, got {unit!r}")
    pitch, diameter = 1.65, 250.0
    n = int(round(diameter / pitch))
    axis = (np.arange(n) - (n - 1) / 2.0) * pitch
    valid = np.hypot(*np.meshgrid(axis, axis)) <= diameter / 2.0
    detector = DetectorGrid(shape=(n, n), pitch_mm=pitch, active_mm=pitch, valid=valid)
    mask = MaskRaster(_hex_mask(seed=1000 + unit), 1.1, 3400.0,
                      origin=f"approximate hexagonal 25%-open random pattern (seed {1000 + unit})")
    return CodedMaskInstrument(f"JEMX{unit}", detector, mask, valid.astype(float), (3.0, 35.0), 3.3, f"JMX{unit}",
                               approximate=True, notes="JEM-X mask and detector are approximations")


def spi_acs() -> RateOnlyInstrument:
    """SPI anticoincidence shield: total rate only, 50 ms bins, σ ≈ 1.57·√B."""
    return RateOnlyInstrument("SPI-ACS", baseline_counts_s=9.0e4, bin_s=0.05, noise_factor=1.57, threshold_kev=80.0)
