"""Server-side PNG previews of products posted without one (sky maps, light curves, spectra).

Thread-safe: figures are built with ``matplotlib.figure.Figure`` on an explicit Agg canvas and never
touch pyplot's global state. ``make_preview`` never raises: a file it cannot understand gives None,
so a bad preview can never block an ingest.
"""
from __future__ import annotations

import io
import logging
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
from astropy.coordinates import SkyCoord
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import AsinhNorm
from matplotlib.figure import Figure

from . import fitsdata
from .fitsdata import LightCurve, SkyImage, Spectrum

log = logging.getLogger(__name__)

WIDTH_PX, HEIGHT_PX, DPI = 640, 480, 100
MAX_IMAGE_PX = 1024            # larger maps are decimated before drawing (speed; the PNG is 640 px wide)
CMAP = "magma"
NO_DATA_COLOUR = "#d9d9d9"     # pixels without exposure
KNOWN_COLOUR, NEW_COLOUR = "#00e5ff", "#7CFC00"


def make_preview(fits_paths: Sequence[Path], family: str, title: str = "",
                 detected: Iterable[dict] = ()) -> bytes | None:
    """A 640×480 PNG preview of the first understandable file(s) of a product, or None.

    ``family``: 'image', 'lightcurve' or 'spectrum' (anything else: each kind is tried in turn);
    ``detected``: sources to mark on images, dicts with ``name``, ``ra``/``dec`` (degrees, ICRS/FK5)
    and ``new_source`` (drawn in another colour)."""
    try:
        paths = [Path(p) for p in fits_paths]
        renderers = [_RENDERERS[family]] if family in _RENDERERS else list(_RENDERERS.values())
        for render in renderers:
            fig = render(paths, title, list(detected or ()))
            if fig is not None:
                return _png(fig)
    except Exception:  # a preview must never block an ingest
        log.warning("preview failed for %s (%s)", [str(p) for p in fits_paths], family, exc_info=True)
    return None


def _new_figure() -> Figure:
    fig = Figure(figsize=(WIDTH_PX / DPI, HEIGHT_PX / DPI), dpi=DPI)
    FigureCanvasAgg(fig)
    return fig


def _png(fig: Figure) -> bytes:
    """PNG bytes of exactly WIDTH_PX × HEIGHT_PX pixels (no tight bounding box)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    return buf.getvalue()


# --- sky images ----------------------------------------------------------------------------------

def _image_figure(paths: list[Path], title: str, detected: list[dict]) -> Figure | None:
    image = next((im for im in map(fitsdata.read_sky_image, paths) if im is not None), None)
    if image is None or not np.isfinite(image.data).any():
        return None
    image = _decimate(image)
    fig = _new_figure()
    if image.wcs is not None:
        ax = fig.add_axes((0.13, 0.11, 0.70, 0.80), projection=image.wcs)
        _wcs_axes_style(ax, image.wcs)
    else:
        ax = fig.add_axes((0.10, 0.10, 0.73, 0.80))
        ax.set_xlabel("x [pixel]")
        ax.set_ylabel("y [pixel]")
    cmap = colormaps[CMAP].with_extremes(bad=NO_DATA_COLOUR)
    shown = ax.imshow(image.data, origin="lower", cmap=cmap, norm=_norm(image.data), interpolation="nearest")
    cax = fig.add_axes((0.85, 0.11, 0.03, 0.80))
    kind = image.imatype.lower()
    bar = fig.colorbar(shown, cax=cax, label=f"{kind} [{image.unit}]" if image.unit else kind)
    bar.set_ticks(_colorbar_ticks(shown.norm), labels=None)
    bar.ax.yaxis.set_major_formatter("{x:g}")
    bar.minorticks_off()
    if image.wcs is not None:
        _mark_sources(ax, image, detected)
    ax.set_title(title or _band_title(image), fontsize=10)
    return fig


def _decimate(image: SkyImage) -> SkyImage:
    """Keep every n-th pixel of maps larger than MAX_IMAGE_PX (and slice the WCS alike)."""
    step = int(np.ceil(max(image.data.shape) / MAX_IMAGE_PX))
    if step <= 1:
        return image
    wcs = _decimated_wcs(image.wcs, step) if image.wcs is not None else None
    return SkyImage(image.data[::step, ::step], wcs, image.imatype, image.unit, image.e_min, image.e_max)


def _decimated_wcs(wcs, step: int):
    """The WCS of ``data[::step, ::step]``: FITS pixel q of the new grid is pixel (q − 1)·step + 1 of the
    old one. Done by hand: astropy's WCS slicing ignores the step when the header has a CD matrix."""
    new = wcs.deepcopy()
    new.wcs.crpix = (np.asarray(wcs.wcs.crpix) - 1.0) / step + 1.0
    if new.wcs.has_cd():
        new.wcs.cd = np.asarray(wcs.wcs.cd) * step
    else:
        new.wcs.cdelt = np.asarray(wcs.wcs.cdelt) * step
    new.wcs.set()
    return new


def _norm(data: np.ndarray) -> AsinhNorm:
    """Asinh stretch from the 1st percentile to the maximum of the finite pixels, linear up to about
    the 99.8th-percentile spread: the noise stays visible and bright sources do not saturate."""
    finite = data[np.isfinite(data)]
    lo, p_hi, hi = (float(v) for v in np.percentile(finite, [1.0, 99.8, 100.0]))
    if hi <= lo:
        lo, hi = lo - 1.0, lo + 1.0
    linear_width = (p_hi - lo) / 2.0 if p_hi > lo else (hi - lo) / 2.0
    return AsinhNorm(linear_width=linear_width, vmin=lo, vmax=hi)


def _colorbar_ticks(norm: AsinhNorm, min_gap: float = 0.08) -> list[float]:
    """Round values (0, ±1/2/5 × 10ⁿ not below half the linear width) inside the norm's range, at least
    ``min_gap`` apart on the bar."""
    steps = {sign * m * 10.0 ** k for sign in (-1, 1) for k in range(-8, 9) for m in (1, 2, 5)}
    candidates = sorted({0.0} | {v for v in steps if abs(v) >= norm.linear_width / 2})
    ticks: list[float] = []
    for value in candidates:
        if norm.vmin <= value <= norm.vmax and (not ticks or norm(value) - norm(ticks[-1]) >= min_gap):
            ticks.append(value)
    return ticks


def _wcs_axes_style(ax, wcs) -> None:
    """RA (hh:mm) / Dec axes, or Galactic l / b (degrees), with a light coordinate grid."""
    lon, lat = ax.coords[0], ax.coords[1]
    galactic = wcs.wcs.lngtyp.upper().startswith("GLON")
    lon.set_axislabel("Galactic longitude" if galactic else "RA (J2000)")
    lat.set_axislabel("Galactic latitude" if galactic else "Dec (J2000)")
    lon.set_major_formatter("dd" if galactic else "hh:mm")
    lat.set_major_formatter("dd")
    ax.coords.grid(color="white", alpha=0.35, linestyle="solid", linewidth=0.5)


def _band_title(image: SkyImage) -> str:
    band = f" {image.e_min:g}–{image.e_max:g} keV" if image.e_min is not None and image.e_max is not None else ""
    return f"{image.imatype.capitalize()} map{band}"


def _mark_sources(ax, image: SkyImage, detected: list[dict]) -> None:
    """Circles and labels at the detected sources (RA/Dec in degrees, FK5) inside the map; new sources
    in NEW_COLOUR. Entries without usable coordinates are skipped."""
    sources, coords = [], []
    for source in detected:
        try:
            ra, dec = float(source["ra"]), float(source["dec"])
        except (KeyError, TypeError, ValueError):
            continue
        if np.isfinite(ra) and abs(dec) <= 90:
            sources.append(source)
            coords.append((ra, dec))
    if not sources:
        return
    ra, dec = np.transpose(coords)
    xs, ys = image.wcs.world_to_pixel(SkyCoord(ra, dec, unit="deg", frame="fk5"))
    ny, nx = image.data.shape
    for source, x, y in zip(sources, np.atleast_1d(xs), np.atleast_1d(ys)):
        if not (np.isfinite(x) and np.isfinite(y) and -0.5 <= x < nx - 0.5 and -0.5 <= y < ny - 0.5):
            continue
        colour = NEW_COLOUR if source.get("new_source") else KNOWN_COLOUR
        ax.scatter([x], [y], s=90, facecolors="none", edgecolors=colour, linewidths=1.2)
        ax.annotate(str(source.get("name") or ""), (x, y), xytext=(5, 5), textcoords="offset points",
                    color=colour, fontsize=7, clip_on=True)


# --- light curves --------------------------------------------------------------------------------

def _lightcurve_figure(paths: list[Path], title: str, detected: list[dict]) -> Figure | None:
    curves = fitsdata.common_time_axis([lc for lc in map(fitsdata.read_lightcurve, paths) if lc is not None])
    if not curves:
        return None
    fig = _new_figure()
    ax = fig.add_axes((0.12, 0.11, 0.84, 0.80))
    for lc in curves:
        _draw_lightcurve(ax, lc)
    ax.set_xlabel(curves[0].time_label)
    ax.set_ylabel("Rate [counts s⁻¹]")
    ax.set_title(title or curves[0].name, fontsize=10)
    if len(curves) > 1:
        ax.legend(fontsize=7, loc="best")
    ax.grid(alpha=0.3)
    return fig


def _draw_lightcurve(ax, lc: LightCurve) -> None:
    """Points with vertical error bars; no horizontal bars for dense curves (> 500 bins)."""
    xerr = lc.half_width if len(lc.time) <= 500 else None
    ax.errorbar(lc.time, lc.rate, yerr=lc.error, xerr=xerr, fmt="o", ms=2 if len(lc.time) <= 500 else 1,
                elinewidth=0.6, capsize=0, label=lc.name)


# --- spectra -------------------------------------------------------------------------------------

def _spectrum_figure(paths: list[Path], title: str, detected: list[dict]) -> Figure | None:
    pha, rmf = fitsdata.find_spectrum_files(paths)
    spectrum = fitsdata.read_spectrum(pha, rmf) if pha is not None else None
    if spectrum is None:
        return None
    fig = _new_figure()
    ax = fig.add_axes((0.12, 0.11, 0.84, 0.80))
    keep = _log_mask(spectrum) if spectrum.has_energy else np.ones(len(spectrum.x), bool)
    s = spectrum
    ax.errorbar(s.x[keep], s.rate[keep], yerr=s.error[keep],
                xerr=(s.x[keep] - s.lo[keep], s.hi[keep] - s.x[keep]), fmt="o", ms=2, elinewidth=0.6, capsize=0)
    if s.has_energy and keep.any():
        ax.set_xscale("log")
        ax.set_yscale("log")
    ax.set_xlabel(s.x_label)
    ax.set_ylabel(s.y_label)
    ax.set_title(title or s.name, fontsize=10)
    ax.grid(alpha=0.3, which="both")
    return fig


def _log_mask(spectrum: Spectrum) -> np.ndarray:
    """Bins drawable on log–log axes (positive energy and rate); all bins when none is."""
    keep = (spectrum.rate > 0) & (spectrum.lo > 0)
    return keep if keep.any() else np.ones(len(spectrum.x), bool)


_RENDERERS = {"image": _image_figure, "lightcurve": _lightcurve_figure, "spectrum": _spectrum_figure}
