"""Files and tables as a notebook using oda_api would post them (synthetic, seeded)."""
from __future__ import annotations

from pathlib import Path

from skygallery.client.sample_files import isgri_response, response_files
from tests.conftest import png_bytes
from tests.gallery.test_previews import write_lightcurve, write_mosaic, write_pha

# Galactic Centre field: (name as it appears in the table, RA, Dec, flux, error, significance)
DETECTIONS = [("GX 1+4", 263.0090, -24.7456, 12.5, 0.3, 41.7), ("1E 1740.7-2942", 265.9785, -29.7452, 6.1, 0.3, 20.3),
              ("IGR J17591-2342", 269.7620, -23.7190, 1.9, 0.3, 6.3), ("NEW_1", 267.1000, -27.2000, 1.4, 0.3, 7.1)]
HTML_ATTACHMENT = "<html><body><script>window.SKYGALLERY_XSS = 1;</script><div id='js9'>JS9 page</div></body></html>"


def detections_html(rows=DETECTIONS) -> str:
    """The table oda_api users post as ``detected_sources`` (the shape of MMODA's notebooks)."""
    head = "".join(f"<th>{h}</th>" for h in ("Name", "RA", "Dec", "Flux (cts/s)", "Error (cts/s)", "Significance"))
    body = "".join("<tr>" + "".join(f"<td>{v}</td>" for v in row) + "</tr>" for row in rows)
    return f'<table class="table"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def write_files(folder: Path) -> dict[str, str]:
    """Paths of every file the oda_api tests post: previews, mosaics, region, light curve, spectrum, YAML."""
    folder.mkdir(parents=True, exist_ok=True)
    rmf, arf = response_files(*isgri_response())
    paths = {"png": folder / "mosaic.png", "png2": folder / "mosaic_v2.png", "rmf": folder / "isgri_rmf.fits",
             "arf": folder / "isgri_arf.fits", "region": folder / "sources.reg",
             "yaml1": folder / "obs_rev_2563.yaml", "yaml2": folder / "obs_rev_2563_jemx.yaml"}
    paths["png"].write_bytes(png_bytes())
    paths["png2"].write_bytes(png_bytes() + b"\0")  # another preview (PNG readers ignore trailing bytes)
    paths["rmf"].write_bytes(rmf)
    paths["arf"].write_bytes(arf)
    paths["region"].write_text("# Region file format: DS9\nfk5\n" + "".join(
        f"circle({ra},{dec},0.2) # text={{{name}}}\n" for name, ra, dec, *_ in DETECTIONS))
    paths["yaml1"].write_text("- title: Galactic Centre\n  obsid: '0220001'\n  scw_list: ['256300120010.001']\n")
    paths["yaml2"].write_text("- title: GC JEM-X\n  obsid: '0220002'\n  energy_band: [3, 20]\n")
    paths["mosaic"] = write_mosaic(folder / "isgri_mosaic.fits")
    paths["mosaic_gz"] = write_mosaic(folder / "isgri_mosaic_2.fits.gz", gz=True)
    paths["lc"] = write_lightcurve(folder / "crab_lc.fits")
    paths["pha"] = write_pha(folder / "crab_spectrum.fits")
    return {k: str(v) for k, v in paths.items()}
