"""Variability for simulated skies: flare options and sky-model files (YAML or JSON).

A **flare** (or an outburst: the same shape on longer time scales) multiplies a source's steady
flux by a fast-rise exponential-decay profile peaking at ``factor`` × the steady flux at ``t0``
(:class:`~.sky.LightCurve`). A **transient** is a source visible only between ``t_on`` and
``t_off``. Times are anything :func:`~skygallery.science.timesys.parse_time` reads: ISOT UTC
(``2008-03-05T10:00:00``), ``ijd:3006.2``, ``mjd:54530.4`` or a bare IJD.

Command-line form (``skygallery simulate-archive --flare``): ``NAME:T0:DURATION:FACTOR`` — the
source NAME of the model, peak time T0, e-folding decay DURATION in seconds (rise DURATION/10)
and FACTOR = peak / steady flux; T0 may itself contain colons (ISOT), NAME may not.

File form (``--sky-model FILE``, ``.yaml``/``.yml`` or ``.json``)::

    sources:
      - name: GX 339-4                 # a source already in the model: change it ...
        flux_mcrab: 400                # steady flux (mCrab); optional ``index`` (photon index)
        flares:
          - {t0: "2008-03-05T10:00:00", factor: 5, rise_s: 300, decay_s: 3000}
      - name: XTE J1701-462            # ... or a new one (ra/dec in deg required)
        ra: 255.24
        dec: -46.19
        flux_mcrab: 200
        t_on: "2008-03-05T08:00:00"    # transient: visible from t_on to t_off (each optional;
        t_off: "2008-03-06T00:00:00"   # ``on``/``off`` work too, though YAML reads them as booleans)
        outbursts:                     # same keys as ``flares``
          - {t0: "2008-03-05T12:00:00", factor: 3, rise_s: 3600, decay_s: 86400}
    remove: [Crab]                     # optional: sources to drop from the model

Every problem raises ``ValueError`` naming the entry and key.
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import replace
from pathlib import Path

from ..timesys import ijd, parse_time
from .sky import LightCurve, SimSource, SkyModel

__all__ = ["add_flare", "apply_sky_model", "load_sky_model_file", "parse_flare"]

_DAY_S = 86400.0


def _ijd(value, where: str) -> float:
    try:
        return float(ijd(parse_time(value)))
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None


def _positive(value, where: str, minimum: float = 0.0, strict: bool = True) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{where}: must be a number, got {value!r}") from None
    if not math.isfinite(x) or (x <= minimum if strict else x < minimum):
        raise ValueError(f"{where}: must be {'>' if strict else '>='} {minimum:g}, got {value!r}")
    return x


def _flare(t0, factor, rise_s, decay_s, where: str) -> tuple[float, float, float, float]:
    """(t0 IJD, amplitude = factor − 1, rise d, decay d) for :class:`LightCurve`."""
    factor = _positive(factor, f"{where} factor", 1.0, strict=False)
    return (_ijd(t0, f"{where} t0"), factor - 1.0, _positive(rise_s, f"{where} rise_s") / _DAY_S,
            _positive(decay_s, f"{where} decay_s") / _DAY_S)


def parse_flare(spec: str) -> tuple[str, tuple[float, float, float, float]]:
    """``NAME:T0:DURATION:FACTOR`` → (name, flare tuple of :class:`LightCurve`)."""
    name, sep, rest = spec.partition(":")
    parts = rest.rsplit(":", 2)
    if not sep or len(parts) != 3 or not name.strip():
        raise ValueError(f"flare: {spec!r} is not NAME:T0:DURATION:FACTOR")
    t0, duration, factor = parts
    decay = _positive(duration, f"flare {name.strip()} DURATION (s)")
    return name.strip(), _flare(t0, factor, decay / 10.0, decay, f"flare {name.strip()}")


def add_flare(sky: SkyModel, name: str, flare: tuple[float, float, float, float]) -> SkyModel:
    """A copy of ``sky`` whose source ``name`` has one more flare."""
    index = _find(sky, name)
    if index is None:
        raise ValueError(f"flare: no source {name!r} in the sky model "
                         f"({len(sky.sources)} sources; add it with a sky-model file)")
    src = sky.sources[index]
    lc = replace(src.lightcurve, flares=src.lightcurve.flares + (flare,))
    sources = list(sky.sources)
    sources[index] = replace(src, lightcurve=lc)
    return SkyModel(sources)


def _find(sky: SkyModel, name: str) -> int | None:
    key = name.strip().lower()
    return next((i for i, s in enumerate(sky.sources) if s.name.lower() == key), None)


def load_sky_model_file(path: str | os.PathLike) -> dict:
    """The parsed sky-model file (a mapping with ``sources`` and/or ``remove``)."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"sky-model: {path}: no such file")
    text = path.read_text()
    try:
        if path.suffix.lower() == ".json":
            data = json.loads(text)
        elif path.suffix.lower() in (".yaml", ".yml"):
            import yaml
            data = yaml.safe_load(text)
        else:
            raise ValueError(f"sky-model: {path}: extension must be .yaml, .yml or .json")
    except (json.JSONDecodeError, ImportError) as exc:
        raise ValueError(f"sky-model: {path}: not readable ({exc})") from None
    except Exception as exc:  # yaml.YAMLError and friends
        if isinstance(exc, ValueError):
            raise
        raise ValueError(f"sky-model: {path}: not valid YAML ({exc})") from None
    if not isinstance(data, dict) or not set(data) <= {"sources", "remove"}:
        raise ValueError(f"sky-model: {path}: expected a mapping with 'sources' and/or 'remove'")
    if not isinstance(data.get("sources", []), list) or not isinstance(data.get("remove", []), list):
        raise ValueError(f"sky-model: {path}: 'sources' and 'remove' must be lists")  # noqa: TRY004
    return data


_KEYS = {"name", "ra", "dec", "flux_mcrab", "index", "flares", "outbursts", "t_on", "t_off"}
# YAML 1.1 reads a bare ``on``/``off`` key as true/false
_ALIASES = {"on": "t_on", "off": "t_off", True: "t_on", False: "t_off"}


def _lightcurve(entry: dict, base: LightCurve, where: str) -> LightCurve:
    flares = list(base.flares)
    for key in ("flares", "outbursts"):
        items = entry.get(key, [])
        if not isinstance(items, list):
            raise ValueError(f"{where} {key}: must be a list")  # noqa: TRY004 — bad input → exit 2
        for k, f in enumerate(items):
            if not isinstance(f, dict) or not {"t0", "factor", "rise_s", "decay_s"} <= set(f):
                raise ValueError(f"{where} {key}[{k}]: needs t0, factor, rise_s, decay_s")
            flares.append(_flare(f["t0"], f["factor"], f["rise_s"], f["decay_s"], f"{where} {key}[{k}]"))
    on = _ijd(entry["t_on"], f"{where} t_on") if "t_on" in entry else base.on_ijd
    off = _ijd(entry["t_off"], f"{where} t_off") if "t_off" in entry else base.off_ijd
    if not on < off:
        raise ValueError(f"{where}: t_on must be before t_off")
    return LightCurve(tuple(flares), on, off)


def _entry_source(entry: dict, sky: SkyModel, k: int) -> tuple[int | None, SimSource]:
    if not isinstance(entry, dict) or "name" not in entry:
        raise ValueError(f"sky-model sources[{k}]: needs a 'name'")
    entry = {_ALIASES.get(key, key): value for key, value in entry.items()}
    unknown = {str(key) for key in entry} - _KEYS
    name = str(entry["name"]).strip()
    where = f"sky-model source {name!r}"
    if unknown:
        raise ValueError(f"{where}: unknown keys {sorted(unknown)} (allowed: {sorted(_KEYS)})")
    index = _find(sky, name)
    old = sky.sources[index] if index is not None else None
    if old is None and not {"ra", "dec", "flux_mcrab"} <= set(entry):
        raise ValueError(f"{where}: not in the model, so ra, dec and flux_mcrab are required")
    index_ph = float(entry.get("index", old.index if old else 2.1))
    if "flux_mcrab" in entry or old is None:
        ra = float(entry.get("ra", old.ra_deg if old else math.nan))
        dec = float(entry.get("dec", old.dec_deg if old else math.nan))
        flux = _positive(entry["flux_mcrab"], f"{where} flux_mcrab", 0.0, strict=False)
        src = SimSource.from_mcrab(name if old is None else old.name, ra, dec, flux, index_ph)
    else:
        src = replace(old, ra_deg=float(entry.get("ra", old.ra_deg)), dec_deg=float(entry.get("dec", old.dec_deg)))
    base = old.lightcurve if old is not None else LightCurve()
    return index, replace(src, lightcurve=_lightcurve(entry, base, where))


def apply_sky_model(sky: SkyModel, data: dict) -> SkyModel:
    """``sky`` with the file's removals, changed sources and added sources (transients)."""
    sources = list(sky.sources)
    for name in data.get("remove", []):
        index = _find(SkyModel(sources), str(name))
        if index is None:
            raise ValueError(f"sky-model remove: no source {name!r} in the model")
        sources.pop(index)
    for k, entry in enumerate(data.get("sources", [])):
        index, src = _entry_source(entry, SkyModel(sources), k)
        if index is None:
            sources.append(src)
        else:
            sources[index] = src
    return SkyModel(sources)
