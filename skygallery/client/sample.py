"""A small, realistic sample gallery modelled on the MMODA gallery's revolutions 2563-2565.

``load_sample()`` posts, through the gallery services only: six observations after the seed talk's cards
(ScW lists, the revolution's MMODA-like ``obs_rev_<rev>.yaml`` attached) and a processing log per revolution;
per observation an ISGRI 28-40 keV image and JEM-X 3-20 keV images (seeded simulations of OSA mosaics, see
:mod:`skygallery.client.sample_files`, with DS9 regions and detected-source tables (previews are drawn by the gallery); the
Galactic Center field holds one simulated uncatalogued excess, found as ``NEW_1``); ISGRI light curves
(1000 s) and spectra (PHA-I + RMF + ARF) of bright sources, a flaring Vela X-1 light curve (highlight), two
JEM-X1 light curves, a Crab light curve over revs 2563-2565 (one point per ScW) and a CONS re-post of the
Crab rev 2565 ISGRI image (version 2); and, given ``real_data_dir``, products made from the real files there.

Idempotency rule: product ids are stable and every file is reproducible byte for byte. A product has one
planned state, or two (NRT then CONS). The loader compares the current version with the planned states --
same metadata (title, instrument, type, band, times, position, sources, observation, bin, data version,
highlight, provenance, detected sources) and the same files (role, name, SHA-256) -- and posts only the states
after the last match; if none matches (content changed) it posts the final state once; a missing product
gets every state. An observation is re-posted (files replaced) only when a field or the YAML digest differs;
a processing log is added only when its revolution has none with that job id. A second run changes nothing.
"""
from __future__ import annotations

import dataclasses
import functools
import hashlib
import io
import json
import math
import os
import re
import zlib
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import numpy as np
import yaml

from skygallery.science import timesys

from . import sample_files as sf
from .sample_files import CAMERAS, ISGRI, Pointing

GENERATOR_VERSION = "1"
COMMIT = f"skygallery-sample-v{GENERATOR_VERSION}"
NOTEBOOK_REV = "notebooks/revolution_products.ipynb"
NOTEBOOK_SRC = "notebooks/source_products.ipynb"
SOFTWARE = {"generator": "skygallery.client.sample", "generator_version": GENERATOR_VERSION,
            "osa_version": "OSA11.2 (simulated)"}
THRESHOLD = 7.0  # detection threshold (sigma), as in the gallery notebooks
SLEW_S = 120.0  # slew between pointings (s)
LC_BIN_S = 1000.0  # light-curve bin (s)
JEMX_LC_AREA_CM2 = 1100.0  # JEM-X light-curve counts/s per image counts/s/cm2 (real Crab: 0.116 image, ~130 LC)
JEMX_LC_K = 40.0  # JEM-X light-curve sigma x sqrt(exposure in s), counts/s

# name: RA, Dec (deg, J2000, ISDC reference catalog), SIMBAD type, aliases,
#       ISGRI 28-40 keV rate (counts/s, 2022 response), JEM-X 3-20 keV flux (counts/s/cm2)
SOURCES = {
    "Crab": (83.63321, 22.01447, "SNRemnant", ("M 1", "Tau A", "Crab Nebula"), 69.1, 0.1157),
    "1A 0535+262": (84.72737, 26.31578, "HighMassXBin", ("A0535+26", "HD 245770"), 0.3, 0.0008),
    "GRS 1915+105": (288.79834, 10.94556, "LowMassXBin", ("V1487 Aql",), 9.5, 0.025),
    "IGR J19140+0951": (288.51764, 9.88286, "HighMassXBin", ("IGR J19140+098",), 1.6, 0.006),
    "4U 1909+07": (287.70000, 7.59611, "HighMassXBin", ("4U 1908+075", "3A 1907+074"), 1.4, 0.008),
    "4U 1907+097": (287.40792, 9.82972, "HighMassXBin", ("H 1907+097",), 1.3, 0.004),
    "SS 433": (287.95650, 4.98267, "HighMassXBin", ("V1343 Aql",), 1.1, 0.004),
    "Vela X-1": (135.52858, -40.55470, "HighMassXBin", ("4U 0900-40", "GP Vel", "HD 77581"), 38.0, 0.045),
    "Vela Pulsar": (128.83609, -45.17645, "Pulsar", ("PSR B0833-45", "PSR J0835-4510"), 0.9, 0.002),
    "1E 1740.7-2942": (265.97845, -29.74517, "LowMassXBin", ("Great Annihilator",), 4.3, 0.0021),
    "GX 1+4": (263.00900, -24.74556, "LowMassXBin", ("V2116 Oph", "4U 1728-24"), 5.2, 0.012),
    "3A 1822-371": (276.44500, -37.10528, "LowMassXBin", ("4U 1822-371", "Sgr X-7", "V691 CrA"), 2.6, 0.037),
    "1A 1742-294": (266.52292, -29.51528, "LowMassXBin", ("GC X-1",), 0.53, 0.0022),
    "GX 5-1": (270.28418, -25.07917, "LowMassXBin", ("4U 1758-25",), 2.1, 0.16),
    "GX 3+1": (266.98334, -26.56361, "LowMassXBin", ("Sgr X-1", "4U 1744-26"), 0.6, 0.048),
    "GX 9+1": (270.38458, -20.52889, "LowMassXBin", ("Sgr X-3",), 0.5, 0.038),
    "GX 354-0": (262.98917, -33.83472, "LowMassXBin", ("4U 1728-337", "Slow Burster"), 4.0, 0.067),
    "1RXS J180408.9-342058": (271.03640, -34.33360, "LowMassXBin", (), 0.745, 0.01),
    "GX 349+2": (256.43542, -36.42306, "LowMassXBin", ("Sco X-2", "V1101 Sco"), 3.0, 0.045),
    "4U 1700-377": (255.98654, -37.84414, "HighMassXBin", ("V884 Sco", "HD 153919"), 5.5, 0.014),
    "OAO 1657-415": (255.20375, -41.65600, "HighMassXBin", ("EXO 1657-419",), 3.1, 0.0024),
}
SPECTRAL_INDEX = {"Crab": 2.1, "GRS 1915+105": 2.3, "Vela X-1": 2.0, "1E 1740.7-2942": 1.8}


@dataclass(frozen=True)
class Obs:
    """One observation of the sample: times (UTC ISOT), pointing pattern around ``center`` (deg) and field."""

    rev: int
    target: str
    obsid: str
    expid: str
    pi: str
    proposal: str
    t1: str
    t2: str
    center: tuple[float, float]
    pattern: str  # "5x5" dither or "hex" (7 pointings)
    step_deg: float
    first_pointing: int
    field: tuple[str, ...]
    jemx: tuple[str, ...] = ("jemx1",)
    extra: tuple[tuple[str, float, float, float], ...] = ()  # uncatalogued (name, ra, dec, ISGRI counts/s)

    @property
    def title(self) -> str:
        return f"{self.target} Rev. {self.rev}"

    @property
    def slug(self) -> str:
        return f"{_slug(self.target)}-{self.rev}"


GC_FIELD = ("1E 1740.7-2942", "GX 1+4", "3A 1822-371", "1A 1742-294", "GX 5-1", "GX 3+1", "GX 9+1", "GX 354-0",
            "1RXS J180408.9-342058", "GX 349+2", "4U 1700-377")
OBSERVATIONS = (
    Obs(2563, "Orion_1", "19200080001", "25630001", "Diehl Roland Prof.", "Massive Stars in the Orion Region",
        "2022-10-23T04:51:04", "2022-10-24T04:36:22", (84.0, 8.0), "5x5", 2.17, 30, ("Crab", "1A 0535+262")),
    Obs(2564, "GRS 1915+105", "19200040001", "25640001", "Public", "GRS 1915+105 monitoring",
        "2022-10-24T21:19:50", "2022-10-25T14:49:49", (288.79834, 10.94556), "5x5", 2.17, 3,
        ("GRS 1915+105", "IGR J19140+0951", "4U 1909+07", "4U 1907+097", "SS 433")),
    Obs(2564, "Orion_1", "19200080002", "25640002", "Diehl Roland Prof.", "Massive Stars in the Orion Region",
        "2022-10-25T16:52:46", "2022-10-25T20:41:29", (84.0, 1.0), "hex", 2.0, 30, ("Crab", "1A 0535+262")),
    Obs(2564, "Gal. Plane, l= 264", "19200050001", "25640003", "Public", "Galactic plane scan at l = 264 deg",
        "2022-10-25T22:01:34", "2022-10-26T05:26:59", (132.30260, -43.81369), "hex", 2.0, 38,
        ("Vela X-1", "Vela Pulsar")),
    Obs(2565, "Galactic Center", "19200140001", "25650001", "Public", "Galactic Center and bulge monitoring",
        "2022-10-27T13:01:29", "2022-10-28T03:44:53", (272.0, -33.5), "5x5", 2.17, 4, GC_FIELD,
        ("jemx1", "jemx2"), (("NEW_1", 268.35, -35.9, 2.2),)),
    Obs(2565, "Crab", "19600010009", "25650002", "Public", "Crab monitoring",
        "2022-10-28T05:52:20", "2022-10-28T13:07:26", (83.63308, 22.0145), "hex", 2.0, 31,
        ("Crab", "1A 0535+262"), ("jemx1", "jemx2")),
)
OBS_BY_TITLE = {o.title: o for o in OBSERVATIONS}
# (observation, source, camera, variability, highlight); ISGRI ones also get a spectrum
SOURCE_PRODUCTS = (
    ("GRS 1915+105 Rev. 2564", "GRS 1915+105", "isgri", "wave", False),
    ("Gal. Plane, l= 264 Rev. 2564", "Vela X-1", "isgri", "flare", True),
    ("Galactic Center Rev. 2565", "1E 1740.7-2942", "isgri", "const", False),
    ("Crab Rev. 2565", "Crab", "isgri", "const", False),
    ("GRS 1915+105 Rev. 2564", "IGR J19140+0951", "jemx1", "const", False),
    ("GRS 1915+105 Rev. 2564", "4U 1909+07", "jemx1", "const", False),
)
CONS_REPOST = ("Crab Rev. 2565", "isgri")
LONG_TERM = ("Orion_1 Rev. 2563", "Crab Rev. 2565")


@dataclass
class Planned:
    """One state of a product to post: the ProductIn payload and its files (role, name, bytes)."""

    payload: dict
    files: list[tuple[str, str, bytes]]


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _seed(*parts) -> int:
    return zlib.crc32("|".join(map(str, parts)).encode())


def _isot(t) -> str:
    """UTC ISOT with milliseconds of an ISOT string or an IJD (days, TT) number."""
    return timesys.isot(timesys.from_ijd(t) if isinstance(t, float) else t, 3)


def _ref(name: str) -> dict:
    ra, dec, otype, aliases, *_ = SOURCES[name]
    return {"name": name, "ra": ra, "dec": dec, "object_type": otype, "aliases": list(aliases)}


def _params(rev: int | None, data_version: str = "NRT", **extra) -> dict:
    """Notebook parameters, named as in the gallery notebooks (bands in keV, threshold in sigma)."""
    return {**({"rev_num": rev} if rev else {}), "E1_keV": 28.0, "E2_keV": 40.0, "J_E1_keV": 3.0, "J_E2_keV": 20.0,
            "osa_version": "OSA11.2", "detection_threshold": THRESHOLD, "data_version": data_version, **extra}


def _payload(pid, title, instrument, ptype, band, times, position, refs, notebook, job, params, **extra) -> dict:
    """ProductIn payload; ``times`` are ISOT strings or IJD floats, ``position`` (ra, dec) in deg."""
    return {"product_id": pid, "title": title, "instrument": instrument, "product_type": ptype, "e1_kev": band[0],
            "e2_kev": band[1], "t1": _isot(times[0]), "t2": _isot(times[1]), "ra": position[0], "dec": position[1],
            "sources": refs, "create_sources": True, "data_version": params["data_version"],
            "provenance": {"notebook": notebook, "commit": COMMIT, "parameters": params, "software": SOFTWARE,
                           "job_id": job}, **extra}


# --------------------------------------------------------------------------- schedule

def _pattern(kind: str, step: float) -> list[tuple[float, float]]:
    """Pointing offsets (east, north) in deg: hexagon (7) or 5x5 dither walked as a snake."""
    if kind == "hex":
        return [(0.0, 0.0)] + [(step * math.cos(math.radians(a)), step * math.sin(math.radians(a)))
                               for a in range(0, 360, 60)]
    grid = (-2, -1, 0, 1, 2)
    return [(i * step, j * step) for k, i in enumerate(grid) for j in (grid if k % 2 == 0 else grid[::-1])]


@functools.cache
def schedule(obs: Obs, version: int = 0) -> tuple[Pointing, ...]:
    """Pointings filling [t1, t2] (1800-3600 s each, 120-s slews); ScW ids RRRRPPPP0010.VVV (000 NRT, 001 CONS)."""
    t1, t2 = timesys.ijd(obs.t1), timesys.ijd(obs.t2)
    span_s = (t2 - t1) * 86400.0
    offsets = _pattern(obs.pattern, obs.step_deg)
    n = max(len(offsets), math.ceil(span_s / 3400.0))
    dur = 1.0 + np.random.default_rng(_seed(obs.title, "schedule")).uniform(-0.08, 0.08, n)
    dur *= (span_s - (n - 1) * SLEW_S) / dur.sum()
    start = np.concatenate([[0.0], np.cumsum(dur[:-1] + SLEW_S)])
    return tuple(Pointing(f"{obs.rev:04d}{obs.first_pointing + i:04d}0010.{version:03d}",
                          *sf.offset_position(*obs.center, *offsets[i % len(offsets)]),
                          t1 + start[i] / 86400.0, t1 + (start[i] + dur[i]) / 86400.0) for i in range(n))


# --------------------------------------------------------------------------- simulated products

def _image(obs: Obs, cam: sf.Camera, version: str = "NRT") -> tuple[Planned, list[sf.Detection]]:
    """Mosaic image product of one observation and camera, and its detections."""
    pts = list(schedule(obs, int(version == "CONS")))
    col = 4 if cam is ISGRI else 5
    truth = [(n, *SOURCES[n][:2], SOURCES[n][col]) for n in obs.field] + list(obs.extra if cam is ISGRI else ())
    m = sf.simulate_mosaic(cam, pts, obs.center, truth, _seed(obs.title, cam.name, version))
    det = sf.detect_sources(m, [(n, *SOURCES[n][:2]) for n in obs.field], THRESHOLD)
    pid = f"sample-{cam.name}-image-{obs.slug}"
    title = obs.title if version == "CONS" else f"{obs.title} (NRT)"
    kw = {**sf.time_keywords(pts[0].t1_ijd, pts[-1].t2_ijd, _isot(obs.t1), _isot(obs.t2)), "OBJECT": obs.target,
          "REVOL": (obs.rev, "Revolution number"), "NUM_SCW": (len(pts), "Number of science windows"),
          "ONTIME": (round(sum(p.duration_s for p in pts), 3), "[s] Sum of good time intervals")}
    stem = f"{pid}_{version.lower()}"
    files = [("fits", f"{stem}_mosaic.fits.gz", sf.mosaic_fits(m, kw)),
             ("region", f"{stem}.reg", sf.region_text(det, 1.5 * cam.psf_fwhm_deg).encode()),
             ("table", f"{stem}_sources.csv", sf.detections_csv(det, cam.bunit).encode())]
    params = _params(obs.rev, version, use_isgri=True, use_jemx1="jemx1" in obs.jemx, use_jemx2="jemx2" in obs.jemx,
                     include_new_sources=False, scw_count=len(pts))
    payload = _payload(pid, title, cam.name, "isgri_image" if cam is ISGRI else "jemx_image", (cam.e1_kev, cam.e2_kev),
                       (obs.t1, obs.t2), obs.center, [_ref(d.name) for d in det if not d.new_source], NOTEBOOK_REV,
                       f"sample-rev{obs.rev}-{version.lower()}", params, observation=obs.title,
                       detected_sources=[dataclasses.asdict(d) for d in det])
    return Planned(payload, files), det


def _lightcurve(pid: str, title: str, cam: sf.Camera, src: str, bins: tuple, pts: list[Pointing], kind: str,
                obs: str | None, highlight: bool, params: dict) -> Planned:
    """Light curve of ``src`` in bins [b1, b2) (IJD): good time from the pointings, errors from the source's
    effective exposure (dead time x coding response); bins with < 20 % good time or < 60 s are dropped."""
    b1, b2 = (np.asarray(b, float) for b in bins)
    p1, p2 = np.array([p.t1_ijd for p in pts]), np.array([p.t2_ijd for p in pts])
    overlap_s = np.clip(np.minimum(b2[:, None], p2) - np.maximum(b1[:, None], p1), 0.0, None) * 86400.0
    eff = overlap_s @ (sf.source_exposures_s(cam, pts, *SOURCES[src][:2]) / ((p2 - p1) * 86400.0))
    frac = overlap_s.sum(axis=1) / ((b2 - b1) * 86400.0)
    keep = (frac >= 0.2) & (eff >= 60.0)
    b1, b2, frac, eff, ontime = b1[keep], b2[keep], frac[keep], eff[keep], overlap_s[keep].sum()
    t, td = (b1 + b2) / 2, b2 - b1
    base = SOURCES[src][4] if cam is ISGRI else SOURCES[src][5] * JEMX_LC_AREA_CM2
    err = (ISGRI.noise_k if cam is ISGRI else JEMX_LC_K) / np.sqrt(eff)
    shape = sf.variability(kind, (t - p1[0]) * 86400.0, (p2[-1] - p1[0]) * 86400.0)
    rate = base * shape + np.random.default_rng(_seed(pid)).standard_normal(len(t)) * err
    kw = {**sf.time_keywords(b1[0], b2[-1], _isot(b1[0]), _isot(b2[-1])), "INSTRUME": cam.instrume,
          "DETNAM": cam.detnam, "E_MIN": (cam.e1_kev, "[keV]"), "E_MAX": (cam.e2_kev, "[keV]"), "NAME": src,
          "OBJECT": src, "RA_OBJ": (SOURCES[src][0], "[deg]"), "DEC_OBJ": (SOURCES[src][1], "[deg]"),
          "ONTIME": (round(float(ontime), 3), "[s]"), "EXPOSURE": (round(float(eff.sum()), 3), "[s]")}
    files = [("fits", f"{pid}_lc.fits", sf.lightcurve_fits(t, td, rate, err, frac, kw))]
    payload = _payload(pid, title, cam.name, "isgri_lc" if cam is ISGRI else "jemx_lc", (cam.e1_kev, cam.e2_kev),
                       (float(b1[0]), float(b2[-1])), SOURCES[src][:2], [_ref(src)], NOTEBOOK_SRC,
                       f"sample-{pid}", params, observation=obs, time_bin_s=params.get("time_bin_s"),
                       highlight=highlight)
    return Planned(payload, files)


def _obs_lightcurve(obs: Obs, src: str, cam: sf.Camera, kind: str, highlight: bool) -> Planned:
    """1000-s light curve of a source over one observation."""
    pts = list(schedule(obs))
    b1 = np.arange(pts[0].t1_ijd, pts[-1].t2_ijd, LC_BIN_S / 86400.0)
    label = "ISGRI" if cam is ISGRI else cam.name.upper().replace("JEMX", "JEM-X")
    return _lightcurve(f"sample-{cam.name}-lc-{_slug(src)}-{obs.rev}", f"{src} {label} light curve Rev. {obs.rev}",
                       cam, src, (b1, np.minimum(b1 + LC_BIN_S / 86400.0, pts[-1].t2_ijd)), pts, kind, obs.title,
                       highlight, _params(obs.rev, source_name=src, time_bin_s=LC_BIN_S))


def _crab_longterm() -> Planned:
    """Long-term Crab ISGRI light curve over revs 2563-2565, one point per ScW that sees the Crab."""
    pts = [p for title in LONG_TERM for p in schedule(OBS_BY_TITLE[title])]
    bins = ([p.t1_ijd for p in pts], [p.t2_ijd for p in pts])
    return _lightcurve("sample-isgri-lc-crab-2563-2565", "Crab ISGRI light curve Revs. 2563-2565 (per ScW)", ISGRI,
                       "Crab", bins, pts, "const", None, False,
                       _params(None, source_name="Crab", rev_range=[2563, 2565], time_bin="ScW"))


@functools.cache
def _response():
    return sf.isgri_response()


def _spectrum(obs: Obs, src: str, kind: str) -> Planned:
    """ISGRI PHA-I spectrum of a power law whose 28-40 keV rate matches the image, with RMF and ARF."""
    pts = list(schedule(obs))
    expo = float(sf.source_exposures_s(ISGRI, pts, *SOURCES[src][:2]).sum())
    ch, en, matrix, arf = _response()
    span_s = (pts[-1].t2_ijd - pts[0].t1_ijd) * 86400.0
    mean = float(sf.variability(kind, np.linspace(0.0, span_s, 512), span_s).mean())
    index = SPECTRAL_INDEX.get(src, 2.0)
    norm = sf.powerlaw_norm(SOURCES[src][4] * mean, index, 28.0, 40.0, en, matrix, arf)
    model = sf.powerlaw_counts(norm, index, en, matrix, arf)
    lo, hi = ch[:-1], ch[1:]
    err = ISGRI.noise_k / math.sqrt(expo) * np.sqrt((hi - lo) / 12.0)  # background-dominated, per channel
    rate = model + np.random.default_rng(_seed(obs.title, src, "spectrum")).standard_normal(len(lo)) * err
    good = (lo >= 19.5) & (hi <= 300.0)
    pid, title = f"sample-isgri-spectrum-{_slug(src)}-{obs.rev}", f"{src} ISGRI spectrum Rev. {obs.rev}"
    names = {r: f"{pid}_{r}.fits" for r in ("spectrum", "rmf", "arf")}
    kw = {**sf.time_keywords(pts[0].t1_ijd, pts[-1].t2_ijd, _isot(obs.t1), _isot(obs.t2)), "NAME": src,
          "OBJECT": src, "RA_OBJ": SOURCES[src][0], "DEC_OBJ": SOURCES[src][1], "REVOL": obs.rev}
    rmf, arf_bytes = sf.response_files(ch, en, matrix, arf)
    pha = sf.pha_fits(rate, err, np.where(good, 0, 1), round(expo, 3), names["rmf"], names["arf"], kw)
    files = [("fits", names["spectrum"], pha), ("rmf", names["rmf"], rmf), ("arf", names["arf"], arf_bytes)]
    params = _params(obs.rev, source_name=src, model=f"powerlaw index {index}",
                     norm_ph_cm2_s_keV_at_1keV=float(f"{norm:.6g}"))
    band = (round(float(lo[good][0]), 2), round(float(hi[good][-1]), 2))
    return Planned(_payload(pid, title, "isgri", "isgri_spectrum", band, (obs.t1, obs.t2), SOURCES[src][:2],
                            [_ref(src)], NOTEBOOK_SRC, f"sample-{pid}", params, observation=obs.title), files)


# --------------------------------------------------------------------------- the whole sample

def _yaml_entry(obs: Obs, images: dict[str, tuple[Planned, list[sf.Detection]]]) -> dict:
    """One observation of a per-revolution YAML, after MMODA's obs_rev_<rev>.yaml."""
    entry = {"Dec": obs.center[1], "E1_isgri": 28.0, "E1_jemx": 3.0, "E2_isgri": 40.0, "E2_jemx": 20.0,
             "RA": obs.center[0], "api_cat_fname": f"api_cat_str_{_slug(obs.target)}_isgri.txt",
             "expid": float(obs.expid), "extended_title": obs.proposal, "obsid": float(obs.obsid), "pi": obs.pi,
             "scw_list": [float(p.scw[:12]) for p in schedule(obs)], "title": obs.target,
             "tstart": _isot(obs.t1), "tstop": _isot(obs.t2)}
    for cam, (plan, det) in images.items():
        pid = plan.payload["product_id"]
        fluxed, catalog = sf.mmoda_catalogs(det, CAMERAS[cam].psf_fwhm_deg, cam == "isgri")
        entry.update({f"{cam}_fluxed_catalog": fluxed, f"{cam}_source_catalog": catalog,
                      f"{cam}_gallery_object": {"product_id": pid, "title": plan.payload["title"], "instrument": cam,
                                                "url": f"/products/{quote(pid, safe='')}/"}})
    return entry


@functools.cache
def build_sample() -> tuple[list, list[list[Planned]], list[dict]]:
    """(observations [(payload, files)], products [[states]], processing logs); pure and cached per process."""
    products, entries = [], defaultdict(list)
    for obs in OBSERVATIONS:
        images = {cam: _image(obs, CAMERAS[cam]) for cam in ("isgri", *obs.jemx)}
        for cam, (plan, _det) in images.items():
            cons = [_image(obs, CAMERAS[cam], "CONS")[0]] if (obs.title, cam) == CONS_REPOST else []
            products.append([plan, *cons])
        entries[obs.rev].append(_yaml_entry(obs, images))
    for title, src, cam, kind, highlight in SOURCE_PRODUCTS:
        products.append([_obs_lightcurve(OBS_BY_TITLE[title], src, CAMERAS[cam], kind, highlight)])
        if cam == "isgri":
            products.append([_spectrum(OBS_BY_TITLE[title], src, kind)])
    products.append([_crab_longterm()])
    docs = {rev: yaml.safe_dump(e, sort_keys=True).encode() for rev, e in entries.items()}
    observations = [({"title": o.title, "t1": _isot(o.t1), "t2": _isot(o.t2), "obsids": [o.obsid], "expid": o.expid,
                      "pi": o.pi, "proposal_title": o.proposal, "target": o.target,
                      "scw_list": [p.scw for p in schedule(o)]}, [("yaml", f"obs_rev_{o.rev}.yaml", docs[o.rev])])
                    for o in OBSERVATIONS]
    logs = [{"revolution": rev, "job_id": f"sample-rev{rev}-nrt", "status": "success",
             "text": f"Revolution {rev}: {len(e)} observation(s), {sum(len(x['scw_list']) for x in e)} ScWs "
                     f"processed (NRT); images, light curves and spectra posted by {SOFTWARE['generator']}."}
            for rev, e in sorted(entries.items())]
    return observations, products, logs


# --------------------------------------------------------------------------- posting

KEYS = ("title", "instrument", "product_type", "e1_kev", "e2_kev", "t1", "t2", "ra", "dec", "observation",
        "time_bin_s", "data_version", "highlight")


def _norm(x):
    """JSON-like value with floats at 9 significant digits."""
    if isinstance(x, float):
        return float(f"{x:.9g}")
    if isinstance(x, dict):
        return {k: _norm(v) for k, v in sorted(x.items())}
    return [_norm(v) for v in x] if isinstance(x, (list, tuple)) else x


def _signature(meta: dict) -> dict:
    """The compared part of a version's metadata (or of a planned state put in the same shape)."""
    sig = {k: meta.get(k) for k in KEYS}
    sig["sources"] = sorted(meta["sources"])
    sig["provenance"] = {k: meta["provenance"].get(k) for k in ("notebook", "commit", "parameters", "software",
                                                                 "job_id")}
    sig["detected"] = sorted([d[k] for k in ("name", "ra", "dec", "flux", "flux_err", "significance", "new_source")]
                             for d in meta.get("detected_sources", []))
    # previews are drawn by the gallery on ingest: not part of what the sample plans
    sig["files"] = sorted([f["role"], f["name"], f["sha256"]] for f in meta["files"] if f["role"] != "preview")
    return _norm(json.loads(json.dumps(sig)))


def _digests(files) -> list[dict]:
    return [{"role": r, "name": n, "sha256": hashlib.sha256(b).hexdigest()} for r, n, b in files]


class _Loader:
    """Posts observations, products and logs through the services, skipping what the gallery already has."""

    def __init__(self, actor, console):
        from skygallery.gallery.errors import NotFound
        from skygallery.gallery.services import observations, products, resolver, timing, uploads
        self.obs, self.prod, self.resolver = observations, products, resolver
        self.timing, self.uploads = timing, uploads
        self.NotFound, self.actor, self.console, self.actions = NotFound, actor, console, Counter()

    def _done(self, verb: str, what: str) -> None:
        self.actions[verb] += 1
        if self.console is not None:
            colour = {"created": "green", "new version": "yellow", "updated": "yellow"}.get(verb, "dim")
            self.console.log(f"[{colour}]{verb:>11}[/] {what}")

    def _files(self, files):
        return [self.uploads.Upload(role, name, io.BytesIO(data)) for role, name, data in files]

    def observation(self, payload: dict, files) -> None:
        try:
            obs = self.obs.get_observation(payload["title"])
        except self.NotFound:
            obs = None
        if obs is not None:
            have = {"title": obs.title, "t1": self.timing.isot(obs.t_start), "t2": self.timing.isot(obs.t_end),
                    **{k: getattr(obs, k) for k in ("obsids", "expid", "pi", "proposal_title", "target", "scw_list")},
                    "files": sorted([f.role, f.original_name, f.sha256] for f in obs.files.all())}
            if have == {**payload, "files": sorted([f["role"], f["name"], f["sha256"]] for f in _digests(files))}:
                return self._done("unchanged", f"observation {payload['title']}")
        self.obs.post_observation(payload, self._files(files), actor=self.actor, replace_files=True)
        self._done("created" if obs is None else "updated", f"observation {payload['title']}")

    def product(self, states: list[Planned]) -> None:
        pid = states[0].payload["product_id"]
        try:
            have = _signature(self.prod.get_version(self.prod.get_product(pid)).metadata)
        except self.NotFound:
            have = None
        pending = states
        if have is not None:
            matches = [i for i, s in enumerate(states) if self._wanted(s) == have]
            pending = states[matches[-1] + 1:] if matches else states[-1:]
        for state in pending:
            product = self.prod.post_product(state.payload, self._files(state.files), actor=self.actor)
            self._done("created" if product.version == 1 else "new version", f"{pid} v{product.version}")
        if not pending:
            self._done("unchanged", pid)

    def _wanted(self, state: Planned) -> dict:
        """A planned state in the shape of a version's metadata (source names made canonical)."""
        names = [getattr(self.resolver.find_source(s["name"]), "name", s["name"]) for s in state.payload["sources"]]
        return _signature({"observation": None, "time_bin_s": None, "highlight": False, **state.payload,
                           "sources": names, "files": _digests(state.files)})

    def log(self, payload: dict) -> None:
        if self.obs.get_revolution(payload["revolution"]).logs.filter(job_id=payload["job_id"]).exists():
            return self._done("unchanged", f"processing log {payload['job_id']}")
        self.obs.post_processing_log(payload, actor=self.actor)
        self._done("created", f"processing log {payload['job_id']}")


def load_sample(actor=None, real_data_dir: Path | None = None, console=None) -> dict:
    """Fill the gallery with the sample (see the module docstring) and return a summary.

    ``real_data_dir``: the shared data folder; products from its real files are added when it exists.
    ``console``: a ``rich.console.Console`` that gets one progress line per observation, product and log.
    """
    observations, products, logs = build_sample()
    if real_data_dir is not None and Path(real_data_dir).is_dir():
        from .sample_real import real_products
        products = products + real_products(Path(real_data_dir))
    loader = _Loader(actor, console)
    for payload, files in observations:
        loader.observation(payload, files)
    for states in products:
        loader.product(states)
    for payload in logs:
        loader.log(payload)
    sources = {s["name"] for states in products for s in states[-1].payload["sources"]}
    return {"observations": len(observations), "processing_logs": len(logs), "products": len(products),
            "products_by_type": dict(sorted(Counter(s[0].payload["product_type"] for s in products).items())),
            "planned_versions": sum(len(s) for s in products), "sources": len(sources),
            "real_data": any(s[0].payload["product_id"].startswith("real-") for s in products),
            "actions": dict(loader.actions)}


def main() -> None:
    """``python -m skygallery.client.sample``: migrate the configured database, then load the sample."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "skygallery.site.settings")
    import django
    django.setup()
    from django.core.management import call_command
    from rich.console import Console
    call_command("migrate", verbosity=0)
    console = Console()
    real = Path(__file__).resolve().parents[2].parent / "shared" / "data"
    console.print(load_sample(real_data_dir=real if real.is_dir() else None, console=console))


if __name__ == "__main__":
    main()
