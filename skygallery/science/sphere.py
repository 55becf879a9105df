"""Spherical geometry for positional indexes and cone searches (angles in degrees).

A position is indexed by its unit vector (x, y, z) and by its declination *zone*, a band of
``ZONE_HEIGHT_DEG`` in declination. A cone search asks the database for the zones the cone
touches and, inside them, for an RA interval (two across RA 0/360, the full circle when the
cone contains a pole); the exact test is then the dot product with the centre's unit vector.
No database extension is needed, and SQLite and PostgreSQL answer identically.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

ZONE_HEIGHT_DEG = 0.5
N_ZONES = int(round(180 / ZONE_HEIGHT_DEG))


def unit_vector(ra_deg: float, dec_deg: float) -> tuple[float, float, float]:
    """Unit vector (x, y, z) of an equatorial position in degrees."""
    ra, dec = math.radians(ra_deg), math.radians(dec_deg)
    cos_dec = math.cos(dec)
    return cos_dec * math.cos(ra), cos_dec * math.sin(ra), math.sin(dec)


def unit_vectors(ra_deg, dec_deg) -> np.ndarray:
    """Unit vectors (..., 3) of equatorial positions in degrees (arrays or scalars)."""
    ra, dec = np.radians(np.asarray(ra_deg, float)), np.radians(np.asarray(dec_deg, float))
    cos_dec = np.cos(dec)
    return np.stack([cos_dec * np.cos(ra), cos_dec * np.sin(ra), np.sin(dec)], axis=-1)


def dec_zone(dec_deg: float) -> int:
    """Index of the declination zone containing ``dec_deg`` (0 at the south pole)."""
    return min(N_ZONES - 1, max(0, int(math.floor((dec_deg + 90.0) / ZONE_HEIGHT_DEG))))


def separation_deg(ra1_deg, dec1_deg, ra2_deg, dec2_deg):
    """Great-circle separation in degrees (numpy-vectorised, Vincenty formula)."""
    ra1, dec1, ra2, dec2 = (np.radians(np.asarray(v, dtype=float)) for v in (ra1_deg, dec1_deg, ra2_deg, dec2_deg))
    dra = ra2 - ra1
    num = np.hypot(np.cos(dec2) * np.sin(dra), np.cos(dec1) * np.sin(dec2) - np.sin(dec1) * np.cos(dec2) * np.cos(dra))
    den = np.sin(dec1) * np.sin(dec2) + np.cos(dec1) * np.cos(dec2) * np.cos(dra)
    return np.degrees(np.arctan2(num, den))


@dataclass(frozen=True)
class Cone:
    """A cone on the sky: centre (deg) and radius (deg), with the bounds used by indexes."""

    ra_deg: float
    dec_deg: float
    radius_deg: float

    def __post_init__(self):
        if not (0.0 <= self.ra_deg < 360.0):
            raise ValueError("ra must be in [0, 360) deg")
        if not (-90.0 <= self.dec_deg <= 90.0):
            raise ValueError("dec must be in [-90, 90] deg")
        if not (0.0 < self.radius_deg <= 180.0):
            raise ValueError("radius must be in (0, 180] deg")

    @property
    def min_dot(self) -> float:
        """Smallest dot product of a unit vector inside the cone with the centre's."""
        return math.cos(math.radians(self.radius_deg))

    @property
    def centre(self) -> tuple[float, float, float]:
        return unit_vector(self.ra_deg, self.dec_deg)

    def zone_range(self) -> tuple[int, int]:
        """First and last declination zone touched by the cone."""
        return dec_zone(max(-90.0, self.dec_deg - self.radius_deg)), dec_zone(min(90.0, self.dec_deg + self.radius_deg))

    def ra_intervals(self) -> list[tuple[float, float]]:
        """RA intervals (deg, within [0, 360]) that contain every point of the cone."""
        if abs(self.dec_deg) + self.radius_deg >= 90.0 or self.radius_deg >= 90.0:
            return [(0.0, 360.0)]
        # Widest RA half-extent of a small circle (exact for the cone's tangent meridians).
        half = math.degrees(math.asin(min(1.0, math.sin(math.radians(self.radius_deg))
                                          / math.cos(math.radians(self.dec_deg)))))
        lo, hi = self.ra_deg - half, self.ra_deg + half
        if lo < 0.0:
            return [(0.0, hi), (lo + 360.0, 360.0)]
        if hi >= 360.0:
            return [(0.0, hi - 360.0), (lo, 360.0)]
        return [(lo, hi)]
