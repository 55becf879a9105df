"""Pipeline configuration: instruments, energy bands, detection threshold, light-curve binning.

One :class:`PipelineConfig` drives a revolution or a source run. Its :meth:`~PipelineConfig.parameters`
are the *notebook parameters* (the names of the ``parameters`` cell of
``notebooks/revolution_products.ipynb``), stored in every product's provenance, so the gallery's
"Copy parameters" text pastes straight back into that cell; :meth:`PipelineConfig.from_parameters`
reads them back. Units: energies in keV, thresholds in σ, times in s.

Instruments are named as in the gallery (``isgri``, ``jemx1``, ``jemx2``); ``ARCHIVE_PREFIX`` maps
them to the OSA extension prefixes of the event files (ISGR, JMX1, JMX2).
"""
from __future__ import annotations

import hashlib
import itertools
import json
import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, fields
from importlib import metadata
from typing import Any

__all__ = [
    "ARCHIVE_PREFIX",
    "PIPELINE_VERSION",
    "PRODUCT_FAMILY",
    "PipelineConfig",
    "digest",
    "parse_instruments",
    "software_versions",
]

#: Bumped whenever a change alters the per-ScW intermediate results (it is part of every cache key).
PIPELINE_VERSION = "1"
ARCHIVE_PREFIX = {"isgri": "ISGR", "jemx1": "JMX1", "jemx2": "JMX2"}
#: gallery product-type prefix per instrument: isgri_image, jemx_lc, ...
PRODUCT_FAMILY = {"isgri": "isgri", "jemx1": "jemx", "jemx2": "jemx"}
INSTRUMENT_LABEL = {"isgri": "ISGRI", "jemx1": "JEM-X1", "jemx2": "JEM-X2"}

ISGRI_SPECTRAL_EDGES = (20.0, 25.0, 30.0, 35.0, 40.0, 50.0, 60.0, 80.0, 100.0, 150.0, 200.0, 300.0)
JEMX_SPECTRAL_EDGES = (3.0, 4.0, 5.0, 6.0, 8.0, 10.0, 13.0, 16.0, 20.0, 25.0, 35.0)


def parse_instruments(value: str | Iterable[str]) -> tuple[str, ...]:
    """``"isgri,jemx1"`` or a list → validated tuple in the canonical order (ValueError naming ``instruments``)."""
    items = [v.strip().lower() for v in (value.split(",") if isinstance(value, str) else value) if v.strip()]
    unknown = [v for v in items if v not in ARCHIVE_PREFIX]
    if unknown:
        raise ValueError(f"instruments: unknown {', '.join(unknown)} (choose from {', '.join(ARCHIVE_PREFIX)})")
    if not items:
        raise ValueError("instruments: at least one of isgri, jemx1, jemx2")
    return tuple(i for i in ARCHIVE_PREFIX if i in items)


def _band(name: str, e1: float, e2: float, lo: float, hi: float) -> None:
    if not (math.isfinite(e1) and math.isfinite(e2)):
        raise ValueError(f"{name}: energies must be finite keV values, got {e1!r}-{e2!r}")
    if not e1 < e2:
        raise ValueError(f"{name}: E1 ({e1:g} keV) must be lower than E2 ({e2:g} keV)")
    if e1 < lo or e2 > hi:
        raise ValueError(f"{name}: {e1:g}-{e2:g} keV is outside the instrument range {lo:g}-{hi:g} keV")


def _edges(name: str, edges, lo: float, hi: float) -> tuple[float, ...]:
    out = tuple(float(e) for e in edges)
    if len(out) < 2 or any(not b > a for a, b in itertools.pairwise(out)):
        raise ValueError(f"{name}: spectral edges must be >= 2 increasing keV values, got {list(out)}")
    _band(name, out[0], out[-1], lo, hi)
    return out


@dataclass(frozen=True)
class PipelineConfig:
    """What the pipeline computes (see the module docstring for units)."""

    instruments: tuple[str, ...] = ("isgri", "jemx1", "jemx2")
    isgri_E1_keV: float = 28.0
    isgri_E2_keV: float = 40.0
    jemx_E1_keV: float = 3.0
    jemx_E2_keV: float = 20.0
    detection_threshold: float = 7.0
    lc_time_bin_s: float = 1000.0          # 0 = one light-curve point per ScW
    isgri_spectral_edges_keV: tuple[float, ...] = ISGRI_SPECTRAL_EDGES
    jemx_spectral_edges_keV: tuple[float, ...] = JEMX_SPECTRAL_EDGES
    clean_excess_sigma: float = 6.0        # new excesses searched in each ScW image above this
    catalog: str = field(default="", compare=False)   # ISDC GNRL-REFR-CAT path; "" = built-in list

    def __post_init__(self):
        object.__setattr__(self, "instruments", parse_instruments(self.instruments))
        _band("isgri_E1_keV", float(self.isgri_E1_keV), float(self.isgri_E2_keV), 15.0, 1000.0)
        _band("jemx_E1_keV", float(self.jemx_E1_keV), float(self.jemx_E2_keV), 3.0, 35.0)
        if not (math.isfinite(self.detection_threshold) and self.detection_threshold > 0):
            raise ValueError(f"detection_threshold: must be > 0 sigma, got {self.detection_threshold!r}")
        if not (math.isfinite(self.lc_time_bin_s) and self.lc_time_bin_s >= 0):
            raise ValueError(f"lc_time_bin_s: must be >= 0 s (0 = per ScW), got {self.lc_time_bin_s!r}")
        if 0 < self.lc_time_bin_s < 10:
            raise ValueError(f"lc_time_bin_s: bins shorter than 10 s are not supported, got {self.lc_time_bin_s!r}")
        object.__setattr__(self, "isgri_spectral_edges_keV",
                           _edges("isgri_spectral_edges_keV", self.isgri_spectral_edges_keV, 15.0, 1000.0))
        object.__setattr__(self, "jemx_spectral_edges_keV",
                           _edges("jemx_spectral_edges_keV", self.jemx_spectral_edges_keV, 3.0, 35.0))
        if not self.clean_excess_sigma > 0:
            raise ValueError(f"clean_excess_sigma: must be > 0 sigma, got {self.clean_excess_sigma!r}")

    # -- per instrument ---------------------------------------------------------------------------
    def band(self, instrument: str) -> tuple[float, float]:
        """The imaging (and light-curve) band of an instrument, keV."""
        if instrument == "isgri":
            return float(self.isgri_E1_keV), float(self.isgri_E2_keV)
        return float(self.jemx_E1_keV), float(self.jemx_E2_keV)

    def spectral_bands(self, instrument: str) -> list[tuple[float, float]]:
        """Spectral channels (keV) of an instrument: consecutive pairs of its edges."""
        edges = self.isgri_spectral_edges_keV if instrument == "isgri" else self.jemx_spectral_edges_keV
        return list(itertools.pairwise(edges))

    def binned_bands(self, instrument: str) -> list[tuple[float, float]]:
        """Everything binned per ScW: the spectral channels, then the imaging band (last)."""
        return self.spectral_bands(instrument) + [self.band(instrument)]

    @property
    def lc_bin(self) -> float | None:
        """Light-curve bin in s, or None for one point per ScW."""
        return self.lc_time_bin_s or None

    # -- notebook parameters ----------------------------------------------------------------------
    def parameters(self) -> dict[str, Any]:
        """The notebook parameters (JSON values; instruments as a comma list)."""
        out = {}
        for f in fields(self):
            if f.name == "catalog":
                continue
            value = getattr(self, f.name)
            out[f.name] = ",".join(value) if f.name == "instruments" else (list(value) if isinstance(value, tuple)
                                                                            else value)
        return out

    @classmethod
    def from_parameters(cls, params: dict[str, Any], catalog: str = "") -> PipelineConfig:
        """A config from notebook parameters; unknown names are ignored (they belong to the run, not the science)."""
        names = {f.name for f in fields(cls)} - {"catalog"}
        kwargs = {k: v for k, v in params.items() if k in names}
        for key in ("isgri_spectral_edges_keV", "jemx_spectral_edges_keV"):
            if isinstance(kwargs.get(key), str):
                kwargs[key] = tuple(float(x) for x in kwargs[key].split(",") if x.strip())
        return cls(**kwargs, catalog=catalog)

    def digest(self) -> str:
        """Hex digest of everything that changes the science results (instruments excluded)."""
        data = asdict(self)
        data.pop("instruments")
        return digest(data)


def software_versions() -> dict[str, str]:
    """Versions of the software that made a product (recorded in its provenance)."""
    import platform
    out = {"skygallery": _version("skygallery"), "pipeline": PIPELINE_VERSION,
           "python": platform.python_version()}
    for name in ("numpy", "scipy", "astropy", "reproject"):
        out[name] = _version(name)
    return out


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "unknown"


def digest(obj: Any, length: int = 16) -> str:
    """Stable hex digest of a JSON-able object (keys sorted, floats as repr)."""
    text = json.dumps(obj, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:length]
