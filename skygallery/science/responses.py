"""Spectral responses: OGIP RMF (``SPECRESP MATRIX`` + ``EBOUNDS``) and ARF (``SPECRESP``) —
reading, writing and generation from the simulator's response model.

Convention (the one the simulator and the shadowgram fit share, :mod:`.simulate.sky` and
:mod:`.fit_shadowgram`): a source of photon spectrum N(E) (photons cm⁻² s⁻¹ keV⁻¹) puts, per
second of (dead-time corrected) exposure, ∫ N(E)·A(E)·P(channel | E) dE counts into a channel when
it is on-axis, where A(E) is the effective area of :class:`~.simulate.sky.SpectralResponse`
(cm², mask transmission included) and P the Gaussian redistribution of resolution FWHM(E). The
shadowgram fit returns exactly this "on-axis equivalent" rate (the PIF and partial coding are
divided out), so the generated ARF is A(E) and the RMF the redistribution probabilities (rows sum
to ≤ 1) — the standard OGIP split. (The ISDC ISGRI files put the area in the RMF and an ARF of ≈ 1;
forward folding only uses the product ARF × RMF, so both conventions fit the same way.)

Generation (:func:`make_response`): energy bins log-spaced over the model's range; per bin, A and
A·P averaged over 4 Gauss–Legendre nodes (exact for a flat spectrum inside the bin), so the folded
rate of any smooth spectrum agrees with the simulator's ``band_rate`` to ≪ 1 %.

Reading keeps the grouped storage (N_GRP, F_CHAN, N_CHAN per row, column formats) and every header
so that :func:`write_rmf`/:func:`write_arf` reproduce a real file (values and keywords); a matrix
is held dense (n_energies × n_channels) for folding.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from astropy.io import fits
from scipy.special import erf

from .ogip import TableColumn, find_hdu, merge_header, open_fits, table_hdu

__all__ = ["Arf", "Rmf", "make_response", "read_arf", "read_rmf", "write_arf", "write_rmf"]

_MATRIX = (("RSP_MATRIX",), ("MATRIX", "SPECRESP MATRIX"))
_EBOUNDS = (("EBOUNDS",), ("EBOUNDS",))
_ARF = (("SPECRESP",), ("SPECRESP",))


@dataclass
class Rmf:
    """Redistribution matrix. ``matrix`` [energy bin, channel] (dense); energies in keV."""

    energ_lo: np.ndarray
    energ_hi: np.ndarray
    matrix: np.ndarray
    channel: np.ndarray           # EBOUNDS CHANNEL numbers
    e_min: np.ndarray             # channel bounds (keV)
    e_max: np.ndarray
    first_channel: int = 1        # TLMIN of F_CHAN: the channel number of matrix column 0
    headers: dict = field(default_factory=dict)    # "primary", "matrix", "ebounds": fits.Header
    grouping: tuple | None = None  # (n_grp, f_chan list, n_chan list) per energy row, as stored
    columns: dict = field(default_factory=dict)    # column name -> (FITS format, unit) as read; EBOUNDS: "EB_"
    ebounds_first: bool = False   # HDU order of the file read (ISDC files: EBOUNDS before the matrix)

    @property
    def n_channels(self) -> int:
        return self.channel.size

    def check(self) -> Rmf:
        n_e, n_c = self.matrix.shape
        if self.energ_lo.size != n_e or self.energ_hi.size != n_e:
            raise ValueError(f"rmf: {n_e} matrix rows but {self.energ_lo.size} energy bins")
        if self.e_min.size != n_c:
            raise ValueError(f"rmf: {n_c} matrix columns but {self.e_min.size} EBOUNDS channels")
        if np.any(self.energ_hi <= self.energ_lo) or np.any(self.e_max < self.e_min):
            raise ValueError("rmf: ENERG_HI must exceed ENERG_LO and E_MAX must not be below E_MIN")
        return self


@dataclass
class Arf:
    """Ancillary response: SPECRESP (cm²) per energy bin (keV)."""

    energ_lo: np.ndarray
    energ_hi: np.ndarray
    specresp: np.ndarray
    headers: dict = field(default_factory=dict)    # "primary", "specresp": fits.Header
    columns: dict = field(default_factory=dict)    # column name -> (FITS format, unit) as read


def _gauss_legendre(lo: np.ndarray, hi: np.ndarray, n: int = 4) -> tuple[np.ndarray, np.ndarray]:
    x, w = np.polynomial.legendre.leggauss(n)
    mid, half = 0.5 * (lo + hi), 0.5 * (hi - lo)
    return mid[:, None] + half[:, None] * x[None, :], np.broadcast_to(w / 2.0, (lo.size, n))


def make_response(response, channel_edges_kev, n_energies: int = 1200, instrument: str = "ISGRI",
                  telescope: str = "INTEGRAL") -> tuple[Rmf, Arf]:
    """RMF and ARF of a :class:`~.simulate.sky.SpectralResponse` for channels with the given edges
    (keV, increasing; channel k spans edges[k]–edges[k+1], numbered from 1)."""
    edges = np.asarray(channel_edges_kev, float)
    if edges.ndim != 1 or edges.size < 2 or not np.all(np.isfinite(edges)) or np.any(np.diff(edges) <= 0):
        raise ValueError("channels: edges must be at least two finite, strictly increasing energies (keV)")
    if edges[0] < 0:
        raise ValueError(f"channels: E_MIN must be >= 0 keV, got {edges[0]:g}")
    grid = np.geomspace(response.e_min_kev, response.e_max_kev, n_energies + 1)
    lo, hi = grid[:-1], grid[1:]
    nodes, weights = _gauss_legendre(lo, hi)
    area = response.area(nodes)                                   # (n_e, 4)
    sigma = response.fwhm(nodes) / (2.0 * math.sqrt(2.0 * math.log(2.0)))
    cdf = 0.5 * (1.0 + erf((edges[None, None, :] - nodes[..., None]) / (math.sqrt(2.0) * sigma[..., None])))
    prob = np.diff(cdf, axis=-1)                                  # (n_e, 4, n_chan)
    arf = np.sum(weights * area, axis=1)
    folded = np.einsum("ek,ekc->ec", weights * area, prob)
    matrix = np.divide(folded, arf[:, None], out=np.zeros_like(folded), where=arf[:, None] > 0)
    channel = np.arange(1, edges.size, dtype=np.int32)
    meta = {"TELESCOP": telescope, "INSTRUME": instrument, "DETNAM": instrument, "FILTER": "NONE",
            "CHANTYPE": "PI", "DETCHANS": int(channel.size)}
    rmf = Rmf(lo, hi, matrix, channel, edges[:-1].copy(), edges[1:].copy(), 1,
              {"primary": fits.Header(), "matrix": _header(meta, "RESPONSE", "RSP_MATRIX", "1.3.0"),
               "ebounds": _header(meta, "RESPONSE", "EBOUNDS", "1.2.0")})
    rmf.headers["matrix"]["LO_THRES"] = (0.0, "lower threshold for stored matrix")
    rmf.headers["matrix"]["HDUCLAS3"] = ("REDIST", "matrix holds the redistribution only")
    rmf.headers["matrix"].add_comment(f"Generated by SkyGallery from the {response.name} simulation response "
                                      "model: ARF = effective area, RMF = Gaussian redistribution")
    arf = Arf(lo.copy(), hi.copy(), arf, {"primary": fits.Header(),
                                          "specresp": _header(meta, "RESPONSE", "SPECRESP", "1.1.0")})
    return rmf, arf


def _header(meta: dict, clas1: str, clas2: str, version: str) -> fits.Header:
    h = fits.Header()
    for k, v in meta.items():
        h[k] = v
    h["HDUCLASS"] = ("OGIP", "format conforms to OGIP standard")
    h["HDUCLAS1"], h["HDUCLAS2"], h["HDUVERS"] = clas1, clas2, version
    return h


def _tlmin(header: fits.Header, data, name: str, default: int = 1) -> int:
    idx = data.columns.names.index(name) + 1
    return int(header.get(f"TLMIN{idx}", default))


def _row_groups(row_ngrp, row_f, row_n) -> tuple[np.ndarray, np.ndarray]:
    n = int(row_ngrp)
    return np.atleast_1d(np.asarray(row_f, int))[:n], np.atleast_1d(np.asarray(row_n, int))[:n]


def read_rmf(path: str | os.PathLike) -> Rmf:
    """An OGIP RMF (matrix + EBOUNDS; any grouping, fixed or variable-length columns)."""
    with open_fits(path, "rmf") as hdul:
        mhdu = find_hdu(hdul, *_MATRIX, "rmf", path)
        ehdu = find_hdu(hdul, *_EBOUNDS, "rmf", path)
        m, e = mhdu.data, ehdu.data
        try:
            first = _tlmin(mhdu.header, m, "F_CHAN")
            channel = np.asarray(e["CHANNEL"], int)
            n_chan_tot = channel.size
            dense = np.zeros((len(m), n_chan_tot))
            ngrp, fch, nch = [], [], []
            for i, row in enumerate(m):
                f, n = _row_groups(row["N_GRP"], row["F_CHAN"], row["N_CHAN"])
                values = np.atleast_1d(np.asarray(row["MATRIX"], float))
                pos = 0
                for f0, n0 in zip(f, n):
                    c0 = f0 - first
                    dense[i, c0:c0 + n0] = values[pos:pos + n0]
                    pos += n0
                ngrp.append(int(row["N_GRP"]))
                fch.append(f)
                nch.append(n)
            rmf = Rmf(np.asarray(m["ENERG_LO"], float), np.asarray(m["ENERG_HI"], float), dense, channel,
                      np.asarray(e["E_MIN"], float), np.asarray(e["E_MAX"], float), first,
                      {"primary": hdul[0].header.copy(), "matrix": mhdu.header.copy(),
                       "ebounds": ehdu.header.copy()},
                      (ngrp, fch, nch), {**_column_meta(m), **_column_meta(e, "EB_")},
                      hdul.index_of(ehdu) < hdul.index_of(mhdu))
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(f"rmf: {path}: malformed matrix or EBOUNDS ({exc})") from None
    return rmf.check()


def _groups_of(rmf: Rmf) -> tuple[list, list, list]:
    if rmf.grouping is not None and len(rmf.grouping[0]) == rmf.matrix.shape[0]:
        return rmf.grouping
    ngrp, fch, nch = [], [], []
    for row in rmf.matrix:
        nz = np.flatnonzero(row > 0)
        if nz.size == 0:
            ngrp.append(0), fch.append(np.array([], int)), nch.append(np.array([], int))
            continue
        ngrp.append(1), fch.append(np.array([nz[0] + rmf.first_channel])), nch.append(np.array([nz[-1] - nz[0] + 1]))
    return ngrp, fch, nch


def _column_meta(data, prefix: str = "") -> dict:
    return {prefix + c.name: (c.format, c.unit) for c in data.columns}


def _col(meta: dict, key: str, name: str, default_fmt: str, array, default_unit: str | None = None) -> TableColumn:
    """A column keeping the format/unit read from a file (defaults for generated responses)."""
    fmt, unit = meta.get(key, (default_fmt, default_unit))
    return TableColumn(name, str(fmt), array, unit)


def _is_variable(fmt: str) -> bool:
    return fmt.lstrip("0123456789").startswith(("P", "Q"))


def _repeat(fmt: str) -> int:
    digits = fmt[:len(fmt) - len(fmt.lstrip("0123456789"))]
    return int(digits) if digits else 1


def _matrix_values(rmf: Rmf, ngrp, fch, nch) -> list[np.ndarray]:
    out = []
    for i in range(rmf.matrix.shape[0]):
        parts = [rmf.matrix[i, f - rmf.first_channel:f - rmf.first_channel + n] for f, n in zip(fch[i], nch[i])]
        out.append(np.concatenate(parts) if ngrp[i] and parts else np.zeros(0))
    return out


def _fixed_or_variable(rows: list, fmt: str, dtype):
    """Rows of a column: padded 2-D array for a fixed repeat count, object array for P/Q formats."""
    if _is_variable(fmt):
        return np.array([np.asarray(r, dtype) for r in rows] + [None], dtype=object)[:-1]
    n = _repeat(fmt)
    arr = np.array([np.pad(np.asarray(r, dtype), (0, max(0, n - len(r))))[:n] for r in rows], dtype=dtype)
    return arr[:, 0] if n == 1 else arr


def _matrix_columns(rmf: Rmf) -> list[TableColumn]:
    ngrp, fch, nch = _groups_of(rmf)
    values = _matrix_values(rmf, ngrp, fch, nch)
    meta = rmf.columns
    width = max((v.size for v in values), default=1)
    gwidth = max((len(f) for f in fch), default=1)
    mfmt = meta.get("MATRIX", (f"{width}E",))[0]
    if not _is_variable(mfmt) and _repeat(mfmt) < width:
        mfmt = "PE()"
    gfmt = "1J" if gwidth <= 1 else "PJ()"
    ffmt, nfmt = meta.get("F_CHAN", (gfmt,))[0], meta.get("N_CHAN", (gfmt,))[0]
    if not _is_variable(ffmt) and _repeat(ffmt) < gwidth:
        ffmt = nfmt = "PJ()"
    return [_col(meta, "ENERG_LO", "ENERG_LO", "E", rmf.energ_lo.astype(np.float32), "keV"),
            _col(meta, "ENERG_HI", "ENERG_HI", "E", rmf.energ_hi.astype(np.float32), "keV"),
            _col(meta, "N_GRP", "N_GRP", "I", np.asarray(ngrp, np.int16)),
            TableColumn("F_CHAN", ffmt, _fixed_or_variable(fch, ffmt, np.int32), meta.get("F_CHAN", (0, None))[1]),
            TableColumn("N_CHAN", nfmt, _fixed_or_variable(nch, nfmt, np.int32), meta.get("N_CHAN", (0, None))[1]),
            TableColumn("MATRIX", mfmt, _fixed_or_variable(values, mfmt, np.float32),
                        meta.get("MATRIX", (0, None))[1])]


def write_rmf(path: str | os.PathLike, rmf: Rmf, overwrite: bool = True) -> Path:
    """Write an RMF (primary, matrix and EBOUNDS, in the order of the file it was read from)."""
    rmf.check()
    mh = rmf.headers.get("matrix") or fits.Header()
    eh = rmf.headers.get("ebounds") or fits.Header()
    matrix = table_hdu(_matrix_columns(rmf), mh, extname=None if "EXTNAME" in mh else "MATRIX")
    if "TLMIN4" not in matrix.header:
        matrix.header["TLMIN4"] = (rmf.first_channel, "first channel number")
        matrix.header["TLMAX4"] = (rmf.first_channel + rmf.n_channels - 1, "last channel number")
    meta = rmf.columns
    eb = table_hdu([_col(meta, "EB_CHANNEL", "CHANNEL", "J", rmf.channel.astype(np.int32)),
                    _col(meta, "EB_E_MIN", "E_MIN", "E", rmf.e_min.astype(np.float32), "keV"),
                    _col(meta, "EB_E_MAX", "E_MAX", "E", rmf.e_max.astype(np.float32), "keV")],
                   eh, extname=None if "EXTNAME" in eh else "EBOUNDS")
    order = [eb, matrix] if rmf.ebounds_first else [matrix, eb]
    fits.HDUList([_primary(rmf.headers.get("primary")), *order]).writeto(path, overwrite=overwrite, checksum=True)
    return Path(path)


def _primary(header: fits.Header | None) -> fits.PrimaryHDU:
    hdu = fits.PrimaryHDU()
    if header is not None:
        hdu.header = merge_header(hdu.header, header)
    return hdu


def read_arf(path: str | os.PathLike) -> Arf:
    """An OGIP ARF (SPECRESP table: ENERG_LO, ENERG_HI, SPECRESP)."""
    with open_fits(path, "arf") as hdul:
        hdu = find_hdu(hdul, *_ARF, "arf", path)
        d = hdu.data
        try:
            arf = Arf(np.asarray(d["ENERG_LO"], float), np.asarray(d["ENERG_HI"], float),
                      np.asarray(d["SPECRESP"], float),
                      {"primary": hdul[0].header.copy(), "specresp": hdu.header.copy()}, _column_meta(d))
        except KeyError as exc:
            raise ValueError(f"arf: {path}: column {exc.args[0]} missing") from None
    if np.any(arf.energ_hi <= arf.energ_lo):
        raise ValueError(f"arf: {path}: ENERG_HI must exceed ENERG_LO")
    return arf


def write_arf(path: str | os.PathLike, arf: Arf, overwrite: bool = True) -> Path:
    """Write an ARF (primary + SPECRESP table; keywords and column formats kept from a file read)."""
    h = arf.headers.get("specresp") or fits.Header()
    meta = arf.columns
    cols = [_col(meta, "ENERG_LO", "ENERG_LO", "E", arf.energ_lo.astype(np.float32), "keV"),
            _col(meta, "ENERG_HI", "ENERG_HI", "E", arf.energ_hi.astype(np.float32), "keV"),
            _col(meta, "SPECRESP", "SPECRESP", "E", arf.specresp.astype(np.float32), "cm**2")]
    hdu = table_hdu(cols, h, extname=None if "EXTNAME" in h else "SPECRESP")
    fits.HDUList([_primary(arf.headers.get("primary")), hdu]).writeto(path, overwrite=overwrite, checksum=True)
    return Path(path)
