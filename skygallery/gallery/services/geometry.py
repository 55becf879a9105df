"""Cone-search filters on models with the PositionMixin columns."""
from __future__ import annotations

from django.db.models import F, Q, QuerySet

from skygallery.science.sphere import Cone


def cone_filter(qs: QuerySet, cone: Cone, indexable: bool = True, **index_condition) -> QuerySet:
    """Rows of ``qs`` inside ``cone``: zone/RA index ranges, then the exact dot-product test.

    ``indexable=False`` writes the zone/RA box on expressions (``col + 0``) that no index answers, for
    cones with many matches whose first page is best read from a time index, testing each row.
    ``index_condition``: the condition of a partial zone/RA index, repeated in each RA interval's
    term (across RA 0/360 the box is an OR, and SQLite uses a partial index for an OR term only if
    the term itself implies the index's condition).
    """
    zlo, zhi = cone.zone_range()
    zones = list(range(zlo, zhi + 1))
    if not indexable:
        qs = qs.alias(cone_zone=F("dec_zone") + 0, cone_ra=F("ra_deg") + 0.0)
    zone, ra = ("dec_zone", "ra_deg") if indexable else ("cone_zone", "cone_ra")
    box = Q()
    for lo, hi in cone.ra_intervals():
        box |= Q(**{f"{zone}__in": zones, f"{ra}__gte": lo, f"{ra}__lte": hi}, **index_condition)
    cx, cy, cz = cone.centre
    return (qs.filter(box)
            .alias(cone_dot=F("pos_x") * cx + F("pos_y") * cy + F("pos_z") * cz)
            .filter(cone_dot__gte=cone.min_dot - 1e-12))


def radius_to_deg(value: float, unit: str, field: str = "radius") -> float:
    """Convert a radius with units ``deg``, ``arcmin`` or ``arcsec`` to degrees."""
    from ..errors import InvalidInput

    factors = {"deg": 1.0, "arcmin": 1 / 60.0, "arcsec": 1 / 3600.0}
    if unit not in factors:
        raise InvalidInput((f"{field}_unit", f"unknown unit {unit!r}; one of deg, arcmin, arcsec"))
    return value * factors[unit]
