"""PNG previews posted with the products: a mosaic significance map with its detections, a light
curve, a count spectrum. Built on an explicit Agg canvas (no pyplot state, safe in worker
processes and threads); the PNG carries no date, so the same data give the same bytes.
"""
from __future__ import annotations

import io
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

__all__ = ["lightcurve_preview", "sky_preview", "spectrum_preview"]

WIDTH_IN, HEIGHT_IN, DPI = 6.4, 4.8, 100
MAX_PX = 900


def _figure():
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    fig = Figure(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI)
    FigureCanvasAgg(fig)
    return fig


def _save(fig, path: Path) -> Path:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    Path(path).write_bytes(buf.getvalue())
    return Path(path)


def sky_preview(path: Path, significance: np.ndarray, wcs, detections: Sequence[dict], title: str) -> Path:
    """Significance map (asinh stretch, −3…max σ) with the detected sources circled and named
    (catalog sources cyan, new ones green); maps wider than 900 px are decimated for drawing."""
    from matplotlib.colors import AsinhNorm
    step = max(1, math.ceil(max(significance.shape) / MAX_PX))
    sig = significance[::step, ::step]
    fig = _figure()
    ax = fig.add_axes([0.12, 0.1, 0.8, 0.8], projection=wcs[::step, ::step])
    top = max(10.0, float(np.nanmax(sig)) if sig.size else 10.0)
    masked = np.ma.masked_where(sig == 0, sig)
    from matplotlib import colormaps
    cmap = colormaps["magma"].with_extremes(bad="#d9d9d9")
    im = ax.imshow(masked, origin="lower", cmap=cmap, norm=AsinhNorm(linear_width=3.0, vmin=-3.0, vmax=top))
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.02, label="significance (σ)")
    transform = ax.get_transform("fk5")
    for d in detections:
        colour = "#7CFC00" if d.get("new_source") else "#00e5ff"
        ax.scatter([d["ra"]], [d["dec"]], transform=transform, s=80, facecolors="none", edgecolors=colour, lw=1.2)
        ax.text(d["ra"], d["dec"], f"  {d['name']}", transform=transform, color=colour, fontsize=7, clip_on=True)
    ax.coords[0].set_axislabel("RA (J2000)")
    ax.coords[1].set_axislabel("Dec (J2000)")
    ax.set_title(title, fontsize=10)
    return _save(fig, path)


def lightcurve_preview(path: Path, time_ijd: np.ndarray, rate: np.ndarray, error: np.ndarray, title: str,
                       ylabel: str = "rate (counts/s)") -> Path:
    """Rate against time (hours from the first bin, or days when longer than 3 days) with 1σ errors."""
    fig = _figure()
    ax = fig.add_axes([0.13, 0.12, 0.82, 0.78])
    t0 = float(np.min(time_ijd)) if len(time_ijd) else 0.0
    span_d = float(np.ptp(time_ijd)) if len(time_ijd) else 0.0
    scale, unit = (1.0, "d") if span_d > 3 else (24.0, "h")
    ax.errorbar((np.asarray(time_ijd) - t0) * scale, rate, yerr=error, fmt="o", ms=3, lw=0.8, color="#1f5fa6")
    if len(rate):
        w = 1.0 / np.square(np.where(np.asarray(error) > 0, error, np.inf))
        if w.sum() > 0:
            ax.axhline(float(np.sum(w * rate) / w.sum()), color="0.5", lw=0.8, ls="--")
    ax.set_xlabel(f"time since IJD {t0:.4f} ({unit})")
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    return _save(fig, path)


def spectrum_preview(path: Path, e_lo: np.ndarray, e_hi: np.ndarray, rate: np.ndarray, error: np.ndarray,
                     model: np.ndarray | None, title: str) -> Path:
    """Count-rate density (counts/s/keV) against energy, log–log, with the folded model when given."""
    fig = _figure()
    ax = fig.add_axes([0.13, 0.12, 0.82, 0.78])
    width = np.asarray(e_hi) - np.asarray(e_lo)
    centre = np.sqrt(np.asarray(e_lo) * np.asarray(e_hi))
    dens, derr = np.asarray(rate) / width, np.asarray(error) / width
    ax.errorbar(centre, dens, xerr=[centre - e_lo, e_hi - centre], yerr=derr, fmt="o", ms=3, lw=0.8,
                color="#1f5fa6", label="data")
    if model is not None:
        ax.step(np.concatenate([e_lo, e_hi[-1:]]), np.concatenate([np.asarray(model) / width,
                                                                   [np.asarray(model)[-1] / width[-1]]]),
                where="post", color="#c0392b", lw=1.0, label="model")
        ax.legend(fontsize=8)
    ax.set_xscale("log")
    positive = dens[(dens > 0) & np.isfinite(dens)]
    if positive.size:
        ax.set_yscale("log")
        ax.set_ylim(positive.min() / 3.0, positive.max() * 3.0)
    ax.set_xlabel("energy (keV)")
    ax.set_ylabel("counts/s/keV")
    ax.set_title(title, fontsize=10)
    return _save(fig, path)
