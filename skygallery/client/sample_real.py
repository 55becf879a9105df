"""Sample products made from the real INTEGRAL files of ``../shared/data``, read at load time (never
copied into the repository): the 2003 Galactic-centre OSA mosaic, the 1A 0535+262 ISGRI spectrum with its
RMF/ARF, a JEM-X1 Crab light curve and the SPI-ACS light curve of GRB 230307A."""
from __future__ import annotations

import dataclasses
import gzip
import io
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.wcs import WCS

from . import sample_files as sf
from .sample import NOTEBOOK_REV, NOTEBOOK_SRC, SOURCES, THRESHOLD, Planned, _params, _payload, _ref
from .sample_files import IMATYPES, ISGRI, Mosaic

# --------------------------------------------------------------------------- readers

def _open(raw: bytes) -> fits.HDUList:
    """Open FITS bytes, gzipped or not (astropy does not sniff gzip in memory buffers)."""
    return fits.open(io.BytesIO(gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw))


def read_osa_mosaic(path) -> tuple[bytes, Mosaic, fits.Header]:
    """(raw bytes, the four maps, INTENSITY header) of a real OSA ISGRI mosaic."""
    raw = Path(path).read_bytes()
    with _open(raw) as hdul:
        maps = {h.header["IMATYPE"].strip(): h for h in hdul[1:] if "IMATYPE" in h.header}
        hdr = maps["INTENSITY"].header.copy()
        arrays = [np.nan_to_num(maps[k].data.astype("f4")) for k in IMATYPES]
    cam = replace(ISGRI, e1_kev=float(hdr["E_MIN"]), e2_kev=float(hdr["E_MAX"]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # RADECSYS is deprecated; DATE-OBS fix-ups
        return raw, Mosaic(cam, WCS(hdr).celestial, *arrays), hdr


def read_ogip_spectrum(pha_path, rmf_path) -> dict:
    """Raw bytes, header and good-channel band (keV) of a real PHA-I spectrum and its RMF."""
    raw = Path(pha_path).read_bytes()
    with _open(raw) as hdul, fits.open(rmf_path) as rmf:
        spec = next(h for h in hdul[1:] if h.header.get("HDUCLAS1", "").strip() == "SPECTRUM")
        eb = next(h for h in rmf[1:] if h.header.get("HDUCLAS2", "").strip() == "EBOUNDS").data
        d, hdr = spec.data, spec.header.copy()
        good = (d["QUALITY"] == 0) & np.isfinite(d["RATE"]) & (d["STAT_ERR"] > 0)
        lo, hi = np.asarray(eb["E_MIN"], float)[good], np.asarray(eb["E_MAX"], float)[good]
    return {"raw": raw, "header": hdr, "e1": round(float(lo[0]), 2), "e2": round(float(hi[-1]), 2)}


def read_ogip_lightcurve(path) -> dict:
    """Raw bytes, start/stop (IJD), band (keV) and bin (s) of a real OGIP light curve.

    TSTART/TSTOP are read in the unit of TIMEUNIT (d: IJD; s: seconds)."""
    raw = Path(path).read_bytes()
    with _open(raw) as hdul:
        hdu = next(h for h in hdul[1:] if "RATE" in getattr(getattr(h, "columns", None), "names", ()))
        h = hdu.header
        day = 1.0 if h.get("TIMEUNIT", "d").strip() == "d" else 86400.0
        timedel_s = float(h["TIMEDEL"]) * 86400.0 / day
        out = {"t1": float(h["TSTART"]) / day, "t2": float(h["TSTOP"]) / day, "timedel_s": round(timedel_s, 3),
               "e1": float(h.get("E_MIN", 0)), "e2": float(h.get("E_MAX", 0))}
    return {"raw": raw, **out}


# --------------------------------------------------------------------------- products

REAL_MOSAIC_SOURCES = ("4U 1700-377", "OAO 1657-415", "GX 349+2", "GX 354-0", "1E 1740.7-2942")
GRB = {"name": "GRB 230307A", "ra": 60.8466, "dec": -75.3799, "object_type": "GRB", "aliases": []}


def _real_mosaic(root: Path, rel: str) -> Planned:
    """The real 2003 Galactic-centre OSA mosaic; sources from its significance peaks near catalog positions."""
    raw, m, hdr = read_osa_mosaic(root / rel)
    det = [d for d in sf.detect_sources(m, [(n, *SOURCES[n][:2]) for n in REAL_MOSAIC_SOURCES], THRESHOLD)
           if not d.new_source]  # real mosaics have spurious excesses at their edges
    times = (float(hdr["TSTART"]), float(hdr["TSTOP"])) if "TSTART" in hdr else ("2003-03-15T00:00:00",
                                                                                  "2003-03-16T23:59:59")
    title, band = "Galactic Center 2003-03-15/16 (OSA mosaic)", (float(hdr["E_MIN"]), float(hdr["E_MAX"]))
    files = [("fits", Path(rel).name, raw), ("region", "isgri_mosa_ima_1.reg", sf.region_text(det, 0.3).encode()),
             ("table", "isgri_mosa_ima_1_sources.csv", sf.detections_csv(det, "counts/sec").encode())]
    params = _params(None, "CONS", E1_keV=band[0], E2_keV=band[1], source_file=rel,
                     osa_version=str(hdr.get("CONFIGUR", "")))
    return Planned(_payload("real-isgri-image-gc-2003-03-15", title, "isgri", "isgri_image", band, times,
                            (float(hdr["CRVAL1"]), float(hdr["CRVAL2"])), [_ref(d.name) for d in det], NOTEBOOK_REV,
                            "real-isgri-image-gc-2003-03-15", params,
                            detected_sources=[dataclasses.asdict(d) for d in det]), files)


def _real_spectrum(root: Path, rel: str, rmf: str, arf: str) -> Planned:
    """The real ISGRI spectrum of 1A 0535+262 (long-term, revs 2058-2148) with its RMF and ARF."""
    spec, src = read_ogip_spectrum(root / rel, root / rmf), "1A 0535+262"
    hdr, revs = spec["header"], str(spec["header"].get("REVOLS", "")).replace("..", "-")
    title = f"{src} ISGRI spectrum" + (f" Revs. {revs}" if revs else "") + " (OSA)"
    files = [("fits", Path(rel).name, spec["raw"]), ("rmf", Path(rmf).name, (root / rmf).read_bytes()),
             ("arf", Path(arf).name, (root / arf).read_bytes())]
    params = _params(None, "CONS", E1_keV=spec["e1"], E2_keV=spec["e2"], source_name=src, source_file=rel,
                     exposure_s=float(hdr["EXPOSURE"]), osa_version=str(hdr.get("CONFIGUR", "")))
    return Planned(_payload("real-isgri-spectrum-1a-0535-262", title, "isgri", "isgri_spectrum",
                            (spec["e1"], spec["e2"]), (float(hdr["TSTART"]), float(hdr["TSTOP"])), SOURCES[src][:2],
                            [_ref(src)], NOTEBOOK_SRC, "real-isgri-spectrum-1a-0535-262", params), files)


def _real_lightcurve(root: Path, rel: str, pid: str, title: str, instrument: str, ptype: str, band, ref: dict,
                     highlight: bool) -> Planned:
    """A real OGIP light curve (JEM-X: TIME in IJD; SPI-ACS: TIME in s from TIMEZERO); ``band`` None = E_MIN/E_MAX."""
    lc = read_ogip_lightcurve(root / rel)
    band = band or (lc["e1"], lc["e2"])
    files = [("fits", Path(rel).name, lc["raw"])]
    bands = {"J_E1_keV": band[0], "J_E2_keV": band[1]} if ptype == "jemx_lc" else {"E1_keV": band[0], "E2_keV": band[1]}
    params = _params(None, "CONS", **bands, source_name=ref["name"], time_bin_s=lc["timedel_s"], source_file=rel)
    return Planned(_payload(pid, title, instrument, ptype, band, (lc["t1"], lc["t2"]), (ref["ra"], ref["dec"]), [ref],
                            NOTEBOOK_SRC, pid, params, time_bin_s=lc["timedel_s"], highlight=highlight), files)


SPEC = "isgri/spectrum/"
REAL_FILES = (  # (files needed, maker, maker arguments)
    (("isgri/mosaic/isgri_mosa_ima_1.fits.gz",), _real_mosaic, ()),
    ((SPEC + "isgri_spectrum_1A0535.fits.gz", SPEC + "isgri_rmf.fits.gz", SPEC + "isgri_arf.fits.gz"), _real_spectrum,
     ()),
    (("jemx/jemx1_lc_crab_010200230010.fits.gz",), _real_lightcurve,
     ("real-jemx1-lc-crab-010200230010", "Crab JEM-X1 light curve ScW 010200230010 (OSA)", "jemx1", "jemx_lc", None,
      _ref("Crab"), False)),
    (("spiacs/spiacs_lc_grb230307a.fits",), _real_lightcurve,
     ("real-spiacs-lc-grb-230307a", "GRB 230307A SPI-ACS light curve", "spiacs", "spi_acs_lc", (80.0, 10000.0), GRB,
      True)),
)


def real_products(root: Path) -> list[list[Planned]]:
    """Products made from the real files under ``root``, read now (skipped when a needed file is absent)."""
    return [[make(root, *rels, *args)] for rels, make, args in REAL_FILES if all((root / r).is_file() for r in rels)]
