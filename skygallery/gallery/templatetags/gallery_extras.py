"""Template filters: sexagesimal coordinates."""
from __future__ import annotations

from django import template

register = template.Library()


def _sexagesimal(value_deg: float, hours: bool) -> str:
    """'hh:mm:ss.ss' (RA, deg → hours) or '±dd:mm:ss.s' (Dec)."""
    total = abs(value_deg) / 15.0 if hours else abs(value_deg)
    units = int(total)
    minutes = int((total - units) * 60)
    seconds = ((total - units) * 60 - minutes) * 60
    digits = 2 if hours else 1
    if round(seconds, digits) >= 60:
        seconds, minutes = 0.0, minutes + 1
    if minutes == 60:
        minutes, units = 0, units + 1
    if hours and units == 24:
        units = 0
    sign = "" if hours else ("-" if value_deg < 0 else "+")
    return f"{sign}{units:02d}:{minutes:02d}:{seconds:0{3 + digits}.{digits}f}"


@register.filter
def hms(ra_deg):
    return "" if ra_deg is None else _sexagesimal(float(ra_deg) % 360.0, hours=True)


@register.filter
def dms(dec_deg):
    return "" if dec_deg is None else _sexagesimal(float(dec_deg), hours=False)
