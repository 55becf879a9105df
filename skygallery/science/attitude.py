"""Spacecraft attitude and the sky grid of a decoded ScW image.

Convention (documented, used by the simulator and the imager alike): the pointing (X) axis is
at (``ra_deg``, ``dec_deg``); ``posangle_deg`` is the position angle, east of north, of the
spacecraft Z axis seen from the X axis, which is also the detector +y direction; the detector
+x direction is then at position angle ``posangle_deg`` + 90° (west when the angle is 0, so
east is to the left as on an ordinary sky chart). The decoded sky grid is the TAN projection
about X with CD = s·[[−cos p, sin p], [sin p, cos p]], s = atan(pitch/D) (4.937′ for ISGRI).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from astropy.wcs import WCS

__all__ = ["Pointing", "instrument_angles", "scw_wcs", "z_axis"]


@dataclass(frozen=True)
class Pointing:
    """Attitude of one pointing: X axis (deg) and position angle of Z (deg, east of north)."""

    ra_deg: float
    dec_deg: float
    posangle_deg: float = 0.0

    def __post_init__(self):
        if not (math.isfinite(self.ra_deg) and 0.0 <= self.ra_deg < 360.0):
            raise ValueError(f"ra: must be in [0, 360) deg, got {self.ra_deg!r}")
        if not (math.isfinite(self.dec_deg) and -90.0 <= self.dec_deg <= 90.0):
            raise ValueError(f"dec: must be in [-90, 90] deg, got {self.dec_deg!r}")
        if not math.isfinite(self.posangle_deg):
            raise ValueError(f"posangle: must be finite, got {self.posangle_deg!r}")


def scw_wcs(pointing: Pointing, shape: tuple[int, int], pixel_deg: float) -> WCS:
    """TAN WCS of a decoded image of ``shape`` [ny, nx] whose centre pixel is the X axis."""
    w = WCS(naxis=2)
    w.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    w.wcs.crval = [pointing.ra_deg, pointing.dec_deg]
    w.wcs.crpix = [(shape[1] - 1) // 2 + 1, (shape[0] - 1) // 2 + 1]
    p = math.radians(pointing.posangle_deg)
    w.wcs.cd = pixel_deg * np.array([[-math.cos(p), math.sin(p)], [math.sin(p), math.cos(p)]])
    w.wcs.radesys = "FK5"
    w.wcs.equinox = 2000.0
    return w


def instrument_angles(pointing: Pointing, ra_deg, dec_deg, pixel_deg: float = 1.0):
    """(θ_y, θ_x) in degrees: off-axis angles of sky positions along the detector y and x axes
    (NaN for positions 80° or more from the pointing axis, where the projection is meaningless)."""
    from .sphere import separation_deg
    ra, dec = np.asarray(ra_deg, float), np.asarray(dec_deg, float)
    w = scw_wcs(pointing, (1, 1), pixel_deg)
    x, y = w.world_to_pixel_values(ra, dec)
    k = math.radians(pixel_deg)
    far = np.asarray(separation_deg(pointing.ra_deg, pointing.dec_deg, ra, dec)) >= 80.0
    ty = np.where(far, np.nan, np.degrees(np.arctan(np.asarray(y) * k)))
    tx = np.where(far, np.nan, np.degrees(np.arctan(np.asarray(x) * k)))
    return ty, tx


def z_axis(pointing: Pointing) -> tuple[float, float]:
    """RA/Dec (deg) of the Z axis, 90° from X at position angle ``posangle_deg``."""
    import astropy.units as u
    from astropy.coordinates import SkyCoord
    z = SkyCoord(pointing.ra_deg, pointing.dec_deg, unit="deg").directional_offset_by(
        pointing.posangle_deg * u.deg, 90 * u.deg)
    return float(z.ra.deg), float(z.dec.deg)
