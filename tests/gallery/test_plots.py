"""Interactive bokeh plots of the product page (services/plots.py): json_item dicts of light curves and
spectra, synthetic and real."""
from __future__ import annotations

import json

import numpy as np
import pytest

from skygallery.gallery.services import fitsdata
from skygallery.gallery.services.plots import PLOT_HEIGHT, lightcurve_plot, plot_for, spectrum_plot

from .test_previews import (
    REAL_ACS,
    REAL_ARF,
    REAL_JEMX,
    REAL_MOSAIC,
    REAL_PHA,
    REAL_RMF,
    realdata,
    write_lightcurve,
    write_mosaic,
    write_pha,
    write_rmf,
)


def objects(item: dict, name: str) -> list[dict]:
    """Every fully serialised bokeh model called ``name`` in a json_item's document."""
    found = []

    def walk(node):
        if isinstance(node, dict):
            if node.get("type") == "object" and node.get("name") == name:
                found.append(node)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)
    walk(item["doc"])
    return found


def column_lengths(source: dict) -> dict[str, int]:
    """Length of every column of a serialised ColumnDataSource (ndarray or list)."""
    lengths = {}
    for key, value in source["attributes"]["data"]["entries"]:
        lengths[key] = value["shape"][0] if isinstance(value, dict) and "shape" in value else len(value)
    return lengths


def source_sizes(item: dict) -> list[int]:
    """Number of data points of each ColumnDataSource (all its columns have that length)."""
    sizes = []
    for source in objects(item, "ColumnDataSource"):
        lengths = set(column_lengths(source).values())
        assert len(lengths) == 1, lengths
        sizes.append(lengths.pop())
    return sizes


def assert_json_item(item: dict, log_axes: bool) -> str:
    assert {"doc", "target_id"} <= item.keys()
    text = json.dumps(item)  # serialisable as is, for the page
    (fig,) = [o for o in objects(item, "Figure")]
    attrs = fig["attributes"]
    assert attrs["sizing_mode"] == "stretch_width" and attrs["height"] == PLOT_HEIGHT
    for tool in ("PanTool", "WheelZoomTool", "BoxZoomTool", "ResetTool", "SaveTool", "HoverTool"):
        assert objects(item, tool), tool
    assert objects(item, "Whisker")
    assert bool(objects(item, "LogScale")) == log_axes
    return text


def axis_labels(item: dict) -> set[str]:
    return {o["attributes"].get("axis_label") for kind in ("LinearAxis", "LogAxis") for o in objects(item, kind)}


def test_lightcurve_plot(tmp_path):
    item = lightcurve_plot(write_lightcurve(tmp_path / "lc.fits.gz", n=37, gz=True))
    text = assert_json_item(item, log_axes=False)
    assert source_sizes(item) == [37]
    assert {"Rate [counts/s]", "Time since MJD 59544.000000 (TT) [s]"} == axis_labels(item)
    assert "counts/s" in text and not objects(item, "Legend")


def test_several_lightcurves_one_series_each_with_legend(tmp_path):
    paths = [write_lightcurve(tmp_path / "a.fits", n=20), write_lightcurve(tmp_path / "b.fits", n=30, ijd0=8000.3)]
    item = lightcurve_plot(paths)
    assert_json_item(item, log_axes=False)
    assert sorted(source_sizes(item)) == [20, 30]
    assert len(objects(item, "LegendItem")) == 2 and len(objects(item, "HoverTool")) == 2


def test_spectrum_plot_in_energy_with_rmf(tmp_path):
    pha, rmf = write_pha(tmp_path / "pha.fits"), write_rmf(tmp_path / "rmf.fits")
    item = spectrum_plot(pha, rmf)
    assert_json_item(item, log_axes=True)
    assert source_sizes(item) == [63]
    assert axis_labels(item) == {"Energy [keV]", "Rate [counts s⁻¹ keV⁻¹]"}
    assert len(objects(item, "Whisker")) == 2  # rate errors and energy bins


def test_spectrum_plot_per_channel_without_rmf(tmp_path):
    item = spectrum_plot(write_pha(tmp_path / "pha.fits"))
    assert_json_item(item, log_axes=False)
    assert source_sizes(item) == [63]
    assert "Channel" in axis_labels(item)


def test_plot_for_chooses_and_declines(tmp_path):
    pha, rmf = write_pha(tmp_path / "pha.fits"), write_rmf(tmp_path / "rmf.fits")
    lc = write_lightcurve(tmp_path / "lc.fits", n=12)
    garbage = tmp_path / "garbage.fits"
    garbage.write_bytes(b"\x00\x01not fits" * 100)
    assert objects(plot_for("spectrum", [garbage, rmf, pha]), "LogScale")
    assert source_sizes(plot_for("lightcurve", [garbage, lc])) == [12]
    assert plot_for("image", [write_mosaic(tmp_path / "m.fits")]) is None
    assert plot_for("lightcurve", [garbage]) is None
    assert plot_for("spectrum", [rmf]) is None
    assert plot_for("lightcurve", []) is None and plot_for("other", [lc]) is None
    with pytest.raises(ValueError):
        lightcurve_plot(garbage)
    with pytest.raises(ValueError):
        spectrum_plot(garbage)


@realdata
def test_real_jemx_lightcurve_plot():
    item = plot_for("lightcurve", [REAL_JEMX])
    assert_json_item(item, log_axes=False)
    assert source_sizes(item) == [96]


@realdata
def test_real_spiacs_lightcurve_plot():
    item = plot_for("lightcurve", [REAL_ACS])
    assert_json_item(item, log_axes=False)
    assert source_sizes(item) == [5400]


@realdata
def test_real_spectrum_plot_with_rmf():
    item = plot_for("spectrum", [REAL_ARF, REAL_RMF, REAL_PHA])
    assert_json_item(item, log_axes=True)
    spectrum = fitsdata.read_spectrum(REAL_PHA, REAL_RMF)
    assert source_sizes(item) == [int(np.sum(spectrum.rate > 0))]
    assert 15 <= spectrum.lo.min() and spectrum.hi.max() <= 1100


@realdata
def test_real_mosaic_has_no_interactive_plot():
    assert plot_for("image", [REAL_MOSAIC]) is None
