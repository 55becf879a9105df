"""Interactive bokeh plots (light curves, spectra) for the product page, as ``json_item`` dicts.

The page embeds a dict with ``Bokeh.embed.embed_item(item, target_id)``. Figures stretch to the
width of their container (height PLOT_HEIGHT px) and carry pan, zoom, reset, save and hover tools;
error bars are bokeh ``Whisker`` annotations sharing the points' ColumnDataSource.
"""
from __future__ import annotations

import logging
from collections.abc import Sequence
from itertools import cycle
from pathlib import Path

import numpy as np
from bokeh.embed import json_item
from bokeh.models import ColumnDataSource, FixedTicker, HoverTool, Whisker
from bokeh.palettes import Category10_10
from bokeh.plotting import figure

from . import fitsdata
from .fitsdata import LightCurve, Spectrum

log = logging.getLogger(__name__)

PLOT_HEIGHT = 380
TOOLS = "pan,wheel_zoom,box_zoom,reset,save"


def lightcurve_plot(path: Path | Sequence[Path]) -> dict:
    """``json_item`` of one or several OGIP light curves (one coloured series each, with a legend when
    there are several): rate [counts/s] ± error against time (seconds since a stated MJD, or MJD).
    Raises ValueError when no file holds a readable light curve."""
    paths = [Path(path)] if isinstance(path, (str, Path)) else [Path(p) for p in path]
    curves = fitsdata.common_time_axis([lc for lc in map(fitsdata.read_lightcurve, paths) if lc is not None])
    if not curves:
        raise ValueError("no readable OGIP light curve")
    fig = _figure(curves[0].time_label, "Rate [counts/s]")
    for lc, label, colour in zip(curves, _unique_labels([lc.name for lc in curves]), cycle(Category10_10)):
        _lightcurve_series(fig, lc, colour, label if len(curves) > 1 else None)
    if len(curves) > 1:
        fig.legend.click_policy = "hide"
        fig.legend.location = "top_left"
    return json_item(fig)


def _unique_labels(names: list[str]) -> list[str]:
    """Legend labels: the series names, numbered where several series share one (bokeh merges equal labels)."""
    return [f"{name} ({i + 1})" if names.count(name) > 1 else name for i, name in enumerate(names)]


def _lightcurve_series(fig, lc: LightCurve, colour: str, legend: str | None):
    """Points, vertical error bars and a hover tool (time, bin width, rate ± error) of one curve."""
    source = ColumnDataSource({"x": lc.time, "y": lc.rate, "err": lc.error, "lower": lc.rate - lc.error,
                               "upper": lc.rate + lc.error, "bin_s": lc.bin_s})
    fig.add_layout(Whisker(source=source, base="x", lower="lower", upper="upper", line_color=colour,
                           line_alpha=0.6, upper_head=None, lower_head=None))
    extra = {"legend_label": legend} if legend else {}
    if len(lc.time) <= 2000:
        fig.line("x", "y", source=source, line_color=colour, line_alpha=0.35, **extra)
    points = fig.scatter("x", "y", source=source, size=4 if len(lc.time) <= 2000 else 2, color=colour, **extra)
    unit = "s" if lc.time_unit == "s" else "MJD"
    fig.add_tools(HoverTool(renderers=[points], tooltips=[
        ("series", legend or lc.name), ("time", f"@x{{%.6f}} {unit}"), ("bin", "@bin_s{%.4g} s"),
        ("rate", "@y{%.4g} ± @err{%.2g} counts/s")], formatters=_printf("@x", "@bin_s", "@y", "@err")))


def spectrum_plot(pha_path: Path, rmf_path: Path | None = None) -> dict:
    """``json_item`` of an OGIP PHA spectrum: counts/s/keV against keV on log–log axes when ``rmf_path``
    holds matching EBOUNDS, else counts/s/channel against channel (linear axes). Bins with a rate ≤ 0
    are left out of log–log plots. Raises ValueError when the file holds no readable spectrum."""
    spectrum = fitsdata.read_spectrum(pha_path, rmf_path)
    if spectrum is None:
        raise ValueError("no readable OGIP spectrum")
    log_axes = spectrum.has_energy and bool(np.any(spectrum.rate > 0))
    source = ColumnDataSource(_spectrum_columns(spectrum, log_axes))
    fig = _figure(spectrum.x_label, spectrum.y_label, log=log_axes)
    fig.add_layout(Whisker(source=source, base="x", lower="lower", upper="upper", upper_head=None,
                           lower_head=None, line_alpha=0.7))
    fig.add_layout(Whisker(source=source, base="y", lower="lo", upper="hi", dimension="width",
                           upper_head=None, lower_head=None, line_alpha=0.7))
    points = fig.scatter("x", "y", source=source, size=4)
    unit = "keV" if spectrum.has_energy else ""
    fig.add_tools(HoverTool(renderers=[points], tooltips=[
        ("energy" if spectrum.has_energy else "channel", f"@lo{{%.4g}}–@hi{{%.4g}} {unit}"),
        ("rate", "@y{%.4g} ± @err{%.2g} " + spectrum.y_label.split("[")[-1].rstrip("]"))],
        formatters=_printf("@lo", "@hi", "@y", "@err")))
    return json_item(fig)


def _spectrum_columns(spectrum: Spectrum, log_axes: bool) -> dict:
    """Columns of the spectrum's source; on log axes only positive rates, error bars clipped above 0."""
    keep = spectrum.rate > 0 if log_axes else np.ones(len(spectrum.x), bool)
    y, err = spectrum.rate[keep], spectrum.error[keep]
    lower = y - err
    if log_axes:
        lower = np.where(lower > 0, lower, y * 1e-3)
    return {"x": spectrum.x[keep], "lo": spectrum.lo[keep], "hi": spectrum.hi[keep], "y": y, "err": err,
            "lower": lower, "upper": y + err}


def plot_for(family: str, paths: Sequence[Path]) -> dict | None:
    """The interactive plot of a product's files: light curves for 'lightcurve', the PHA (with an RMF
    among ``paths`` when there is one) for 'spectrum'; None for images and anything not plottable."""
    paths = [Path(p) for p in paths]
    try:
        if family == "lightcurve":
            return lightcurve_plot(paths)
        if family == "spectrum":
            pha, rmf = fitsdata.find_spectrum_files(paths)
            return spectrum_plot(pha, rmf) if pha is not None else None
    except ValueError:
        return None
    except Exception:  # an odd file must not break the product page
        log.warning("plot failed for %s (%s)", [str(p) for p in paths], family, exc_info=True)
    return None


def _figure(x_label: str, y_label: str, log: bool = False):
    axes = {"x_axis_type": "log", "y_axis_type": "log"} if log else {}
    fig = figure(sizing_mode="stretch_width", height=PLOT_HEIGHT, tools=TOOLS, active_drag="box_zoom",
                 active_scroll="wheel_zoom", x_axis_label=x_label, y_axis_label=y_label, **axes)
    fig.toolbar.logo = None
    if log:  # 1–2–5 ticks per decade: bokeh's default leaves a 1.5-decade energy axis almost unlabelled
        fig.xaxis.ticker = FixedTicker(ticks=[m * 10.0 ** k for k in range(-2, 6) for m in (1, 2, 5)],
                                       minor_ticks=[m * 10.0 ** k for k in range(-2, 6) for m in range(1, 10)])
    return fig


def _printf(*fields: str) -> dict:
    return {name: "printf" for name in fields}
