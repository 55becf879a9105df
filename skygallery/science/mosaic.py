"""Variance-weighted mosaics of sky images (OSA ``ii_skyimage`` mosaic step, re-implemented).

Each input image set (INTENSITY, VARIANCE, optional EXPOSURE) is resampled onto one north-up
tangent-plane grid that covers every input footprint (:func:`mosaic_grid`: tangent point at the
mean direction of the inputs' footprints; pixel by default a quarter of the native decoding
pixel, :func:`default_pixel_deg`, 1.23′ for ISGRI). The weights and the weighted intensity are
resampled, nearest-neighbour by default, so a pixel's value is

    I = Σ (I_k / V_k) / Σ (1 / V_k),   V = 1 / Σ (1 / V_k),   S = I / √V,   E = Σ E_k

with k over the inputs covering the pixel (input pixels with V ≤ 0 carry no weight).
Why nearest-neighbour on a grid at least 2× finer: every output pixel is then a copy of one
input pixel per ScW, so I/√V stays exactly unit-variance on source-free sky (bilinear
interpolation averages correlated neighbours and narrows the significance distribution to
σ ≈ 0.93), every input pixel is represented (any unit square holds a point of a half-unit
lattice), and a source's intensity at its pixel — OSA's FLUX — is carried over unchanged (the
two rev-665 OSA ScW images give exactly the variance-weighted mean of their peak pixels,
178.0 counts/s for the Crab). The price is that the copies of an input pixel are centred up to
half an output pixel away from it: a position quantisation of ≤ ⅛ of OSA's 4.94′ pixel or
¼ of SkyGallery's 2.47′ one (≤ 0.62′ per axis), which averages out over ScWs with different
grids. (On a grid exactly 2× finer than 4.94′ inputs it reached 1.2′; that was the 0.5–1′ offset
of bright sources in earlier mosaics.) Resampling broadens a point source by the variance of the resampling kernel in
*input* pixels: 1/12 px² per axis for nearest-neighbour, 1/6 px² for bilinear; the header
records it in output pixels as ``PSFSMO2`` (used by detection's Gaussian-fit flux).

Speed: between two TAN projections the pixel-to-pixel map is exactly a plane homography (both
are central projections of the same celestial directions), so it is fitted once per input from
a 7 × 7 grid of points transformed with ``astropy.wcs`` and then evaluated in closed form on the
input's cut-out of the output grid. Inputs in another projection (the fitted homography misses
by > 10⁻³ pixel) go through ``reproject.reproject_interp`` instead.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from astropy.io import fits
from astropy.wcs import WCS
from astropy.wcs.utils import proj_plane_pixel_scales

from .osa_images import SkyImages, image_extname
from .sphere import unit_vectors

__all__ = ["DEFAULT_OVERSAMPLE", "NATIVE_SUBDIVISION", "SMOOTHING_VARIANCE_PIX2", "MosaicResult",
           "default_extname", "default_pixel_deg", "make_mosaic", "mosaic_grid", "mosaic_header",
           "pixel_homography"]

DEFAULT_OVERSAMPLE = 2        # output pixels per input pixel at least (see default_pixel_deg)
NATIVE_SUBDIVISION = 4        # default output pixels per native (decoding-grid) pixel
SMOOTHING_VARIANCE_PIX2 = {"bilinear": 1.0 / 6.0, "nearest-neighbor": 1.0 / 12.0}
_PLANES = 3   # weight 1/V, weighted intensity I/V, exposure


@dataclass
class MosaicResult:
    """The four mosaic maps ([y, x]) on ``wcs``; ``n_inputs`` images were combined."""

    images: dict[str, np.ndarray]
    wcs: WCS
    header: fits.Header
    n_inputs: int


def _check_inputs(inputs: Sequence[SkyImages]) -> None:
    if not inputs:
        raise ValueError("images: no input images to mosaic")
    for im in inputs:
        for key in ("INTENSITY", "VARIANCE"):
            if im.get(key) is None:
                raise ValueError(f"{im.path or 'image'}: IMATYPE: no {key} image (needed to mosaic)")
    bands = {(round(float(im.header.get("E_MIN", math.nan)), 3), round(float(im.header.get("E_MAX", math.nan)), 3))
             for im in inputs}
    finite = {b for b in bands if all(math.isfinite(v) for v in b)}
    if len(finite) > 1:
        raise ValueError(f"E_MIN/E_MAX: inputs have different energy bands {sorted(finite)}")


def _valid_bbox(im: SkyImages) -> tuple[int, int, int, int] | None:
    """(y0, y1, x0, x1), exclusive ends, of the input pixels with VARIANCE > 0."""
    good = im.get("VARIANCE") > 0
    rows, cols = np.flatnonzero(good.any(axis=1)), np.flatnonzero(good.any(axis=0))
    if rows.size == 0:
        return None
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1


def _border_pixels(bbox, n: int = 33) -> tuple[np.ndarray, np.ndarray]:
    """Pixel coordinates (x, y) along the outer edges of a bounding box."""
    y0, y1, x0, x1 = bbox
    ys, xs = np.linspace(y0 - 0.5, y1 - 0.5, n), np.linspace(x0 - 0.5, x1 - 0.5, n)
    x = np.concatenate([xs, xs, np.full(n, x0 - 0.5), np.full(n, x1 - 0.5)])
    y = np.concatenate([np.full(n, y0 - 0.5), np.full(n, y1 - 0.5), ys, ys])
    return x, y


def default_pixel_deg(inputs: Sequence[SkyImages], input_wcs: Sequence[WCS] | None = None) -> float:
    """Default mosaic pixel: the finest *native* input pixel (pixel × ``OVERSAMP``, the decoding
    grid atan(pitch/D); OSA's images have OVERSAMP 1) over ``NATIVE_SUBDIVISION`` (4): 1.23′ for
    ISGRI whether the inputs are OSA's 4.94′ images or SkyGallery's 2.47′ ones, so that every
    input pixel is copied and the nearest-neighbour position quantisation stays ≤ ⅛ native pixel."""
    wcs_in = list(input_wcs) if input_wcs is not None else [im.wcs for im in inputs]
    pixels = [float(np.min(proj_plane_pixel_scales(w))) for w in wcs_in]
    native = [p * max(1, int(im.header.get("OVERSAMP", 1) or 1)) for im, p in zip(inputs, pixels)]
    return min(min(native) / NATIVE_SUBDIVISION, min(pixels) / DEFAULT_OVERSAMPLE)


def mosaic_grid(inputs: Sequence[SkyImages], pixel_deg: float | None = None,
                input_wcs: Sequence[WCS] | None = None) -> tuple[WCS, tuple[int, int]]:
    """North-up TAN grid (WCS, shape [ny, nx]) covering every input image's valid pixels
    (``input_wcs``: the inputs' WCS when already built)."""
    wcs_in = list(input_wcs) if input_wcs is not None else [im.wcs for im in inputs]
    if pixel_deg is None:
        pixel_deg = default_pixel_deg(inputs, wcs_in)
    if not pixel_deg > 0:
        raise ValueError(f"pixel_deg: must be > 0, got {pixel_deg!r}")
    ras, decs = [], []
    for im, w in zip(inputs, wcs_in):
        bbox = _valid_bbox(im) or (0, im.shape[0], 0, im.shape[1])
        ra, dec = w.pixel_to_world_values(*_border_pixels(bbox))
        ok = np.isfinite(ra) & np.isfinite(dec)
        ras.append(ra[ok])
        decs.append(dec[ok])
    ra, dec = np.concatenate(ras), np.concatenate(decs)
    mean = unit_vectors(ra, dec).mean(axis=0)
    if np.linalg.norm(mean) < 1e-6:
        raise ValueError("images: the inputs surround the sphere; no tangent plane covers them")
    ra0 = math.degrees(math.atan2(mean[1], mean[0])) % 360.0
    dec0 = math.degrees(math.atan2(mean[2], math.hypot(mean[0], mean[1])))
    if np.any(unit_vectors(ra, dec) @ unit_vectors(ra0, dec0) < math.cos(math.radians(80.0))):
        raise ValueError("images: the inputs span more than 80 deg from their centre; mosaic fewer at once")
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    wcs.wcs.crval = [ra0, dec0]
    wcs.wcs.cdelt = [-pixel_deg, pixel_deg]
    wcs.wcs.crpix = [1.0, 1.0]
    wcs.wcs.radesys = "FK5"
    wcs.wcs.equinox = 2000.0
    x, y = wcs.world_to_pixel_values(ra, dec)
    x0, y0 = math.floor(np.min(x) - 0.5), math.floor(np.min(y) - 0.5)
    shape = (math.ceil(np.max(y) - 0.5) - y0 + 1, math.ceil(np.max(x) - 0.5) - x0 + 1)
    # the tangent point sits on a pixel corner: an input centred there (pixel 2× coarser) then has
    # its pixel centres between output pixel centres — no rounding ties, copies centred on them
    wcs.wcs.crpix = [0.5 - x0, 0.5 - y0]
    wcs.wcs.set()
    return wcs, (int(shape[0]), int(shape[1]))


def pixel_homography(w_from: WCS, w_to: WCS, box: tuple[int, int, int, int], tol_pix: float = 1e-3):
    """3×3 H with (x', y', 1) ∝ H·(x, y, 1) mapping pixels of ``w_from`` in ``box`` (y0, y1, x0, x1)
    to pixels of ``w_to``; None when the map is not projective to ``tol_pix`` (non-TAN inputs)."""
    y0, y1, x0, x1 = box
    gx, gy = np.meshgrid(np.linspace(x0, x1 - 1, 7), np.linspace(y0, y1 - 1, 7))
    ra, dec = w_from.pixel_to_world_values(gx.ravel(), gy.ravel())
    u, v = (np.asarray(c, float) for c in w_to.world_to_pixel_values(ra, dec))
    ok = np.isfinite(u) & np.isfinite(v)
    if ok.sum() < 12:
        return None
    x, y, u, v = gx.ravel()[ok], gy.ravel()[ok], u[ok], v[ok]
    cx, cy, s = x.mean(), y.mean(), max(np.ptp(x), np.ptp(y), 1.0)
    cu, cv, t = u.mean(), v.mean(), max(np.ptp(u), np.ptp(v), 1.0)
    xn, yn, un, vn = (x - cx) / s, (y - cy) / s, (u - cu) / t, (v - cv) / t
    one, zero = np.ones_like(xn), np.zeros_like(xn)
    a = np.concatenate([np.stack([xn, yn, one, zero, zero, zero, -un * xn, -un * yn], 1),
                        np.stack([zero, zero, zero, xn, yn, one, -vn * xn, -vn * yn], 1)])
    h = np.append(np.linalg.lstsq(a, np.concatenate([un, vn]), rcond=None)[0], 1.0).reshape(3, 3)
    norm_from = np.array([[1 / s, 0, -cx / s], [0, 1 / s, -cy / s], [0, 0, 1]])
    denorm_to = np.array([[t, 0, cu], [0, t, cv], [0, 0, 1]])
    hom = denorm_to @ h @ norm_from
    pu, pv = _apply(hom, x, y)
    if not np.all(np.hypot(pu - u, pv - v) < tol_pix):
        return None
    return hom


def _apply(h, x, y):
    den = h[2, 0] * x + h[2, 1] * y + h[2, 2]
    return (h[0, 0] * x + h[0, 1] * y + h[0, 2]) / den, (h[1, 0] * x + h[1, 1] * y + h[1, 2]) / den


def _planes(im: SkyImages, bbox, dtype=np.float64) -> np.ndarray:
    """[3, y + 2, x + 2] over the valid box ``bbox`` of the input: 1/V (0 where V ≤ 0), I/V and
    EXPOSURE (0 when absent), with a border of zeros that out-of-image samples are clipped onto."""
    y0, y1, x0, x1 = bbox
    var = im.get("VARIANCE")[y0:y1, x0:x1]
    good = var > 0
    weight = np.where(good, 1.0 / np.where(good, var, 1.0), 0.0)
    exposure = im.get("EXPOSURE")
    out = np.zeros((_PLANES, var.shape[0] + 2, var.shape[1] + 2), dtype)
    out[0, 1:-1, 1:-1] = weight
    out[1, 1:-1, 1:-1] = weight * im.get("INTENSITY")[y0:y1, x0:x1]
    if exposure is not None:
        out[2, 1:-1, 1:-1] = exposure[y0:y1, x0:x1]
    return out


def _band_x_ranges(hom, shape_in, box, block: int) -> list[tuple[int, int]]:
    """Per block of output rows, the output columns (within ``box``) whose samples can fall in
    the input rectangle ``shape_in``: the image of that rectangle is a convex quadrilateral, cut
    here by each band of rows (vertices inside the band and edge crossings of its limits)."""
    ny, nx = shape_in
    inv = np.linalg.inv(hom)
    cx = np.array([-1.5, nx + 0.5, nx + 0.5, -1.5])
    cy = np.array([-1.5, -1.5, ny + 0.5, ny + 0.5])
    px, py = _apply(inv, cx, cy)
    y0, y1, x0, x1 = box
    edges = [(px[i], py[i], px[(i + 1) % 4], py[(i + 1) % 4]) for i in range(4)]
    out = []
    for b0 in range(y0, y1, block):
        lo, hi = b0 - 1.0, min(b0 + block, y1) + 1.0
        xs = [x for x, y in zip(px, py) if lo <= y <= hi]
        for ax, ay, bx, by in edges:
            for yy in (lo, hi):
                if (ay - yy) * (by - yy) < 0:
                    xs.append(ax + (yy - ay) * (bx - ax) / (by - ay))
        if not xs:
            out.append((x0, x0))
            continue
        out.append((max(x0, math.floor(min(xs)) - 1), min(x1, math.ceil(max(xs)) + 2)))
    return out


def _output_box(wcs_in: WCS, bbox, wcs_out: WCS, shape_out) -> tuple[int, int, int, int] | None:
    ra, dec = wcs_in.pixel_to_world_values(*_border_pixels(bbox))
    x, y = wcs_out.world_to_pixel_values(ra, dec)
    ok = np.isfinite(x) & np.isfinite(y)
    if not ok.any():
        return None
    x0, x1 = max(0, math.floor(x[ok].min()) - 1), min(shape_out[1], math.ceil(x[ok].max()) + 2)
    y0, y1 = max(0, math.floor(y[ok].min()) - 1), min(shape_out[0], math.ceil(y[ok].max()) + 2)
    return (y0, y1, x0, x1) if x0 < x1 and y0 < y1 else None


def _resample_homography(planes: np.ndarray, hom, box, order: str, acc: np.ndarray, block: int = 64) -> None:
    """Add to ``acc`` ([3, y, x], the output cut-out ``box``) the padded ``planes`` sampled through
    ``hom`` (output → input pixels), in blocks of rows (temporaries stay in cache) limited to
    the columns the input covers. Nearest-neighbour works in float32 (index error ≲ 10⁻⁴
    pixel); samples outside the input land on the zero border."""
    y0, y1, x0, _x1 = box
    ny, nx = planes.shape[1] - 2, planes.shape[2] - 2
    flat = [p.ravel() for p in planes]
    nearest = order == "nearest-neighbor"
    dtype = np.float32 if nearest else np.float64
    # padded coordinate (+1), and +0.5 so that truncation rounds, folded into the numerators
    shift = 1.5 if nearest else 1.0
    h = (np.array([[1.0, 0.0, shift], [0.0, 1.0, shift], [0.0, 0.0, 1.0]]) @ hom).astype(dtype)
    for b0, (c0, c1) in zip(range(y0, y1, block), _band_x_ranges(hom, (ny, nx), box, block)):
        if c0 >= c1:
            continue
        xs = np.arange(c0, c1, dtype=dtype)
        ys = np.arange(b0, min(b0 + block, y1), dtype=dtype)[:, None]
        inv_den = 1.0 / (h[2, 0] * xs + (h[2, 1] * ys + h[2, 2]))
        xi = (h[0, 0] * xs + (h[0, 1] * ys + h[0, 2])) * inv_den
        yi = (h[1, 0] * xs + (h[1, 1] * ys + h[1, 2])) * inv_den
        np.clip(xi, 0, nx + 1, out=xi)
        np.clip(yi, 0, ny + 1, out=yi)
        rows, cols = slice(b0 - y0, b0 - y0 + ys.shape[0]), slice(c0 - x0, c1 - x0)
        if nearest:
            index = yi.astype(np.int32) * (nx + 2) + xi.astype(np.int32)
            for k in range(_PLANES):
                acc[k, rows, cols] += flat[k].take(index)
            continue
        fx, fy = np.minimum(np.floor(xi), nx), np.minimum(np.floor(yi), ny)
        tx, ty = xi - fx, yi - fy
        base = fy.astype(np.int64) * (nx + 2) + fx.astype(np.int64)
        for offset, w in ((0, (1 - ty) * (1 - tx)), (1, (1 - ty) * tx), (nx + 2, ty * (1 - tx)),
                          (nx + 3, ty * tx)):
            for k in range(_PLANES):
                acc[k, rows, cols] += flat[k].take(base + offset) * w


def _resample_reproject(planes: np.ndarray, wcs_in: WCS, wcs_out: WCS, box, order: str, acc: np.ndarray) -> None:
    """Fallback for non-TAN inputs: ``reproject.reproject_interp`` on the same planes."""
    from reproject import reproject_interp
    y0, y1, x0, x1 = box
    out, _ = reproject_interp((planes[:, 1:-1, 1:-1], wcs_in), wcs_out[y0:y1, x0:x1],
                              shape_out=(_PLANES, y1 - y0, x1 - x0), order=order, roundtrip_coords=False)
    acc += np.nan_to_num(out, nan=0.0)


def mosaic_header(inputs: Sequence[SkyImages]) -> fits.Header:
    """OSA keywords of the mosaic: band, time span, summed ONTIME/TELAPSE, revolution list."""
    hdr = fits.Header()
    first = inputs[0].header
    for key in ("TELESCOP", "INSTRUME", "DETNAM", "E_MIN", "E_MEAN", "E_MAX", "CHANMIN", "CHANMAX"):
        if key in first:
            hdr[key] = first[key]
    hdr["MJDREF"], hdr["TIMESYS"], hdr["TIMEUNIT"] = 51544.0, "TT", "d"
    starts = [float(im.header["TSTART"]) for im in inputs if "TSTART" in im.header]
    stops = [float(im.header["TSTOP"]) for im in inputs if "TSTOP" in im.header]
    if starts and stops:
        hdr["TSTART"], hdr["TSTOP"] = (min(starts), "[d] IJD"), (max(stops), "[d] IJD")
    for key in ("TELAPSE", "ONTIME", "EXPOSURE"):
        values = [float(im.header[key]) for im in inputs if key in im.header]
        if values:
            hdr[key] = (sum(values), "[s] sum over the input images")
    hdr["NINPUTS"] = (len(inputs), "Number of images combined")
    return hdr


def _combine(acc: np.ndarray) -> dict[str, np.ndarray]:
    """INTENSITY, VARIANCE, SIGNIFICANCE, EXPOSURE from the accumulated Σ1/V, ΣI/V, ΣE."""
    weight, weighted, exposure = acc
    has = weight > 0
    variance = np.zeros_like(weight)
    np.divide(1.0, weight, out=variance, where=has)
    intensity = weighted * variance
    significance = np.zeros_like(weight)
    np.multiply(weighted, np.sqrt(variance, out=significance), out=significance)
    return {"INTENSITY": intensity, "VARIANCE": variance, "SIGNIFICANCE": significance, "EXPOSURE": exposure}


def make_mosaic(inputs: Sequence[SkyImages], pixel_deg: float | None = None, order: str = "nearest-neighbor",
                progress: Callable[[int], None] | None = None) -> MosaicResult:
    """Variance-weighted mosaic of ``inputs`` (see the module docstring)."""
    _check_inputs(inputs)
    if order not in SMOOTHING_VARIANCE_PIX2:
        raise ValueError(f"order: {order!r} not supported ({', '.join(SMOOTHING_VARIANCE_PIX2)})")
    wcs_in = [im.wcs for im in inputs]
    wcs, shape = mosaic_grid(inputs, pixel_deg, wcs_in)
    acc = np.zeros((_PLANES, *shape))
    for i, (im, w) in enumerate(zip(inputs, wcs_in)):
        bbox = _valid_bbox(im)
        box = _output_box(w, bbox, wcs, shape) if bbox is not None else None
        if box is not None:
            hom = pixel_homography(wcs, w, box)
            target = acc[:, box[0]:box[1], box[2]:box[3]]
            if hom is not None:
                to_crop = np.array([[1.0, 0.0, -bbox[2]], [0.0, 1.0, -bbox[0]], [0.0, 0.0, 1.0]])
                planes = _planes(im, bbox, np.float32 if order == "nearest-neighbor" else np.float64)
                _resample_homography(planes, to_crop @ hom, box, order, target)
            else:
                _resample_reproject(_planes(im, (0, im.shape[0], 0, im.shape[1])), w, wcs, box, order, target)
        if progress:
            progress(i + 1)
    images = _combine(acc)
    header = mosaic_header(inputs)
    ratio = min(float(np.min(proj_plane_pixel_scales(w))) for w in wcs_in) / \
        float(np.min(proj_plane_pixel_scales(wcs)))
    header["PSFSMO2"] = (SMOOTHING_VARIANCE_PIX2[order] * ratio ** 2, "[pix**2] PSF variance added by resampling")
    header["MOSAORDR"] = (order, "Resampling used for the mosaic")
    return MosaicResult(images=images, wcs=wcs, header=header, n_inputs=len(inputs))


def default_extname(inputs: Sequence[SkyImages]) -> str:
    """``ISGR-MOSA-IMA`` for ISGRI inputs, ``JMXi-MOSA-IMA`` for JEM-X ones."""
    ext = inputs[0].extname.upper()
    if ext.startswith("JMX1"):
        return image_extname("JEMX1", mosaic=True)
    if ext.startswith("JMX2"):
        return image_extname("JEMX2", mosaic=True)
    return image_extname("ISGRI", mosaic=True)
