"""Burst search in SPI-ACS streams: multi-timescale trigger, then a local background fit per burst.

1. **Trigger background.** The stream is rebinned to ``coarse_bin_s`` and, in segments of
   ``segment_s``, fitted by a polynomial of order ``background_order`` with iterative clipping
   (points above +3σ or below −5σ of the robust residual scatter are left out, and the left-out
   runs widened by ``merge_gap_s`` to drop burst tails). The fit, interpolated, is the
   background B per native bin.
2. **Noise per timescale.** The ACS scatter is wider than Poisson and not white over long times,
   so it is measured, not assumed: for each timescale of k native bins the sums of (counts − B)
   over disjoint windows clear of bursts give a robust standard deviation σ_k (1.4826 × MAD) and
   f_k = σ_k / √⟨B_k⟩ (≈ 1.57 for 50 ms ACS data per ``integral-facts.md``).
3. **Trigger.** For every timescale, sliding sums S and B over k bins give z = (S − B)/(f_k√B);
   windows with z ≥ ``threshold_sigma`` are triggers; triggers closer than ``merge_gap_s`` merge
   into one candidate interval.
4. **Local background and extent.** Around each candidate [a, b] the background is refitted as a
   polynomial to two side windows [a − g − s, a − g] and [b + g, b + g + s] (g = max(``gap_s``,
   span/4), s = max(``side_s``, span)) that exclude every candidate. On a resolution of the best
   trigger timescale (at most ``coarse_bin_s``) the extent becomes the run of bins with
   excess ≥ ``extent_sigma`` around the brightest one (gaps ≤ ``merge_gap_s`` bridged); the fit
   and the extent are iterated until the extent is stable.
5. **Measurements.** Between the side windows: fluence = Σ(counts − B) in counts, its error
   from f²·Σ(B + excess) plus the background-fit covariance; T90 = t95 − t05 of the cumulative
   excess (the times at which 5 % and 95 % of the fluence have arrived; BATSE-style, Koshut et
   al. 1996, without their plateau fit); the peak significance is the largest z over all
   timescales with the local background (window variance f_k²·B plus the variance of the fitted
   background summed over the window) and its timescale; the peak is the brightest
   ``peak_bin_s`` window (time and net rate).
   Bursts below ``threshold_sigma`` after the local fit are dropped.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from itertools import pairwise

import numpy as np

from ..timesys import from_ijd, isot
from .stream import DAY_S, AcsLightCurve

__all__ = ["Burst", "BurstSearchConfig", "noise_factors", "search_bursts"]

MIN_WINDOWS = 30


@dataclass(frozen=True)
class BurstSearchConfig:
    """Parameters of :func:`search_bursts` (times in seconds; see the module docstring)."""

    threshold_sigma: float = 6.0
    timescales_s: tuple[float, ...] = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0)
    background_order: int = 2
    coarse_bin_s: float = 1.0
    segment_s: float = 600.0
    side_s: float = 40.0
    gap_s: float = 5.0
    merge_gap_s: float = 5.0
    extent_sigma: float = 2.5
    peak_bin_s: float = 1.0
    max_iterations: int = 8

    def __post_init__(self):
        if not self.threshold_sigma > 0:
            raise ValueError(f"threshold: must be > 0 sigma, got {self.threshold_sigma!r}")
        if not self.timescales_s or min(self.timescales_s) <= 0:
            raise ValueError(f"timescales: must be > 0 s, got {self.timescales_s!r}")
        if self.background_order not in (0, 1, 2, 3):
            raise ValueError(f"background_order: must be 0-3, got {self.background_order!r}")
        for name in ("coarse_bin_s", "segment_s", "side_s", "gap_s", "merge_gap_s", "extent_sigma", "peak_bin_s"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name}: must be > 0, got {getattr(self, name)!r}")


@dataclass(frozen=True)
class Burst:
    """One burst; times in s after the stream's ``tref_ijd``; counts and counts/s.

    ``t_peak_s`` and ``peak_rate_counts_s``: centre and net rate of the brightest window of
    ``peak_bin_s`` (1 s); ``peak_sigma`` and ``timescale_s``: the largest significance over the
    search timescales and the window length where it is reached; ``background_counts_s``: the
    local background rate at the peak."""

    t_start_s: float
    t_stop_s: float
    t_peak_s: float
    t90_s: float
    t90_start_s: float
    fluence_counts: float
    fluence_error: float
    peak_rate_counts_s: float
    peak_sigma: float
    timescale_s: float
    background_counts_s: float

    @property
    def significance(self) -> float:
        """Fluence / its error."""
        return self.fluence_counts / self.fluence_error if self.fluence_error > 0 else math.nan

    def as_dict(self, tref_ijd: float | None = None) -> dict:
        out = asdict(self)
        out["significance"] = self.significance
        if tref_ijd is not None:
            for key in ("t_start", "t_peak", "t_stop", "t90_start"):
                t = tref_ijd + getattr(self, f"{key}_s") / DAY_S
                out[f"{key}_ijd"], out[f"{key}_utc"] = t, isot(from_ijd(t), 3)
        return out


# ------------------------------------------------------------------------------------ helpers
def _sliding(x: np.ndarray, k: int) -> np.ndarray:
    c = np.concatenate([[0.0], np.cumsum(x)])
    return c[k:] - c[:-k]


def _runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """[(first, last)] index runs of True."""
    d = np.diff(np.concatenate([[0], flags.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1) - 1))


def _dilate(mask_bad: np.ndarray, n: int) -> np.ndarray:
    if n <= 0 or not mask_bad.any():
        return mask_bad
    c = np.concatenate([[0], np.cumsum(mask_bad)])
    idx = np.arange(mask_bad.size)
    return (c[np.minimum(idx + n + 1, mask_bad.size)] - c[np.maximum(idx - n, 0)]) > 0


def _clipped_poly(t: np.ndarray, c: np.ndarray, order: int, widen: int) -> tuple[np.ndarray, np.ndarray]:
    """Polynomial background of one segment with iterative asymmetric clipping; (model, good)."""
    x = (t - t.mean()) / max(np.ptp(t) / 2, 1e-9)
    good = np.ones(c.size, bool)
    model = np.full(c.size, np.median(c))
    for _ in range(12):
        if good.sum() <= order + 2:
            break
        model = np.polyval(np.polyfit(x[good], c[good], order), x)
        res = c - model
        s = 1.4826 * np.median(np.abs(res[good] - np.median(res[good]))) or 1e-9
        new = ~_dilate(~((res < 3 * s) & (res > -5 * s)), widen)
        if np.array_equal(new, good):
            break
        good = new
    return model, good


def _segments(t: np.ndarray, segment_s: float) -> list[slice]:
    n_seg = max(1, round((t[-1] - t[0]) / segment_s))
    edges = np.linspace(t[0], t[-1] + 1e-9, n_seg + 1)
    idx = np.searchsorted(t, edges)
    idx[-1] = t.size
    return [slice(a, b) for a, b in pairwise(idx) if b > a]


def _trigger_background(lc: AcsLightCurve, cfg: BurstSearchConfig) -> tuple[np.ndarray, np.ndarray]:
    """Background counts per native bin and the native 'clear of bursts' mask (step 1)."""
    n = max(1, round(cfg.coarse_bin_s / lc.width_s))
    coarse = lc.rebin(n * lc.width_s) if len(lc) >= 2 * n else lc
    n = round(coarse.width_s / lc.width_s)
    model, good = np.empty(len(coarse)), np.empty(len(coarse), bool)
    widen = round(cfg.merge_gap_s / coarse.width_s)
    for seg in _segments(coarse.time_s, cfg.segment_s):
        order = min(cfg.background_order, max(0, seg.stop - seg.start - 3))
        model[seg], good[seg] = _clipped_poly(coarse.time_s[seg], coarse.counts[seg], order, widen)
    bkg = np.interp(lc.time_s, coarse.time_s, model / n)
    k = np.clip(np.searchsorted(coarse.time_s, lc.time_s), 0, len(coarse) - 1)
    return bkg, good[k]


def noise_factors(lc: AcsLightCurve, bkg: np.ndarray, clear: np.ndarray, ks) -> dict[int, float]:
    """f_k = robust σ of disjoint k-bin sums of (counts − bkg) / √⟨B_k⟩, for each k (step 2)."""
    res = lc.counts - bkg
    out: dict[int, float] = {}
    for k in sorted({int(v) for v in ks}):
        m = len(lc) // k * k
        if m == 0:
            continue
        ok = clear[:m].reshape(-1, k).all(axis=1)
        if ok.sum() < MIN_WINDOWS:
            continue
        sums = res[:m].reshape(-1, k).sum(axis=1)[ok]
        sigma = 1.4826 * np.median(np.abs(sums - np.median(sums)))
        out[k] = float(sigma / math.sqrt(max(bkg[:m].reshape(-1, k).sum(axis=1)[ok].mean(), 1e-9)))
    if not out:
        sigma = np.std(res) if len(lc) > 1 else 1.0
        out[1] = float(sigma / math.sqrt(max(bkg.mean(), 1e-9)))
    return out


def _f_of(factors: dict[int, float], k: int) -> float:
    """f_k by log-interpolation between measured timescales (held constant beyond them)."""
    keys = sorted(factors)
    return float(np.interp(math.log(k), np.log(keys), [factors[q] for q in keys]))


def _timescale_bins(lc: AcsLightCurve, cfg: BurstSearchConfig) -> list[int]:
    ks = {max(1, round(t / lc.width_s)) for t in cfg.timescales_s}
    return sorted(k for k in ks if k <= max(1, len(lc) // 4))


def _merge_intervals(intervals: list[tuple[float, float]], gap: float) -> list[tuple[float, float]]:
    out: list[list[float]] = []
    for a, b in sorted(intervals):
        if out and a <= out[-1][1] + gap:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return [(a, b) for a, b in out]


def _triggers(lc, bkg, factors, ks, cfg) -> list[tuple[float, float, int]]:
    """Candidate intervals (start s, stop s, best k) from the multi-timescale trigger (step 3)."""
    found = []
    half = lc.width_s / 2
    for k in ks:
        s, b = _sliding(lc.counts, k), _sliding(bkg, k)
        z = (s - b) / (_f_of(factors, k) * np.sqrt(np.clip(b, 1e-9, None)))
        for i0, i1 in _runs(z >= cfg.threshold_sigma):
            peak = i0 + int(np.argmax(z[i0:i1 + 1]))
            found.append((lc.time_s[i0] - half, lc.time_s[i1 + k - 1] + half, k, float(z[peak])))
    merged = _merge_intervals([(a, b) for a, b, _, _ in found], cfg.merge_gap_s)
    out = []
    for a, b in merged:
        inside = [(zz, k) for aa, bb, k, zz in found if aa >= a - 1e-9 and bb <= b + 1e-9]
        out.append((a, b, max(inside)[1]))
    return out


# ------------------------------------------------------------------- local background (step 4)
@dataclass
class _LocalFit:
    coef: np.ndarray
    cov: np.ndarray
    centre: float
    scale: float

    def basis(self, t: np.ndarray) -> np.ndarray:
        return np.vander((t - self.centre) / self.scale, self.coef.size)

    def counts(self, t: np.ndarray) -> np.ndarray:
        return self.basis(t) @ self.coef

    def sum_variance(self, t: np.ndarray, k: int, step: int = 1) -> np.ndarray:
        """Variance of the fitted background summed over windows of k bins of times ``t``
        (sliding with ``step`` 1, or disjoint with ``step`` = k): gᵀ·Cov·g, g = Σ basis."""
        basis = self.basis(t)
        cum = np.vstack([np.zeros(basis.shape[1]), np.cumsum(basis, axis=0)])
        g = (cum[k:] - cum[:-k])[::step]
        return np.einsum("ij,jk,ik->i", g, self.cov, g)


def _outside(t: np.ndarray, intervals) -> np.ndarray:
    ok = np.ones(t.size, bool)
    for a, b in intervals:
        ok &= ~((t >= a) & (t <= b))
    return ok


def _side_fit(lc, a, b, gap, side, exclude, order) -> _LocalFit | None:
    t = lc.time_s
    ok = _outside(t, exclude)
    pre = ok & (t >= a - gap - side) & (t < a - gap)
    post = ok & (t > b + gap) & (t <= b + gap + side)
    if min(pre.sum(), post.sum()) < 10:      # one side only: no extrapolated slope or curvature
        order = 0
    sel = pre | post
    if sel.sum() < order + 3:
        return None
    fit = _LocalFit(np.zeros(order + 1), np.zeros((order + 1, order + 1)), 0.5 * (a + b), gap + side + (b - a) / 2)
    design = fit.basis(t[sel])
    coef, *_ = np.linalg.lstsq(design, lc.counts[sel], rcond=None)
    res = lc.counts[sel] - design @ coef
    s2 = float(res @ res) / max(sel.sum() - coef.size, 1)
    fit.coef, fit.cov = coef, s2 * np.linalg.pinv(design.T @ design)
    return fit


def _extent(lc, fit: _LocalFit, a, b, gap, k_ext, factors, cfg) -> tuple[float, float] | None:
    """The run of k_ext-bin excesses ≥ extent_sigma around the brightest one, within [a−g, b+g]."""
    idx = np.flatnonzero((lc.time_s >= a - gap) & (lc.time_s <= b + gap))
    m = idx.size // k_ext * k_ext
    if m == 0:
        return None
    idx = idx[:m]
    c = lc.counts[idx].reshape(-1, k_ext).sum(axis=1)
    bb = np.clip(fit.counts(lc.time_s[idx]).reshape(-1, k_ext).sum(axis=1), 1e-9, None)
    var = _f_of(factors, k_ext) ** 2 * bb + fit.sum_variance(lc.time_s[idx], k_ext, k_ext)
    z = (c - bb) / np.sqrt(var)
    start = lc.time_s[idx[::k_ext]] - lc.width_s / 2
    stop = lc.time_s[idx[k_ext - 1::k_ext]] + lc.width_s / 2
    j = int(np.argmax(z))
    if z[j] < cfg.extent_sigma:
        return None
    flagged = np.flatnonzero(z >= cfg.extent_sigma)
    pos = int(np.searchsorted(flagged, j))
    lo = hi = pos
    while lo > 0 and start[flagged[lo]] - stop[flagged[lo - 1]] <= cfg.merge_gap_s:
        lo -= 1
    while hi < flagged.size - 1 and start[flagged[hi + 1]] - stop[flagged[hi]] <= cfg.merge_gap_s:
        hi += 1
    return float(start[flagged[lo]]), float(stop[flagged[hi]])


def _peak_sigma(lc, fit: _LocalFit, sel, ks, factors) -> tuple[float, int]:
    """(z, k) of the most significant window in ``sel``; a window's variance is f_k²·B plus that
    of the fitted background summed over it."""
    best = (-math.inf, 1)
    t = lc.time_s[sel]
    c, b = lc.counts[sel], np.clip(fit.counts(t), 1e-9, None)
    for k in ks:
        if k > c.size:
            continue
        s, bs = _sliding(c, k), _sliding(b, k)
        z = (s - bs) / np.sqrt(_f_of(factors, k) ** 2 * bs + fit.sum_variance(t, k))
        i = int(np.argmax(z))
        if z[i] > best[0]:
            best = (float(z[i]), k)
    return best


def _brightest(lc, bkg, sel, k) -> tuple[float, float, float]:
    """(centre time, net rate, background rate) of the brightest k-bin window in ``sel``."""
    t, c, b = lc.time_s[sel], lc.counts[sel], bkg[sel]
    k = min(k, c.size)
    s, bs = _sliding(c, k), _sliding(b, k)
    i = int(np.argmax(s - bs))
    width = k * lc.width_s
    return float(t[i:i + k].mean()), float((s[i] - bs[i]) / width), float(bs[i] / width)


def _measure(lc, fit: _LocalFit, a, b, gap, ks, factors, cfg) -> Burst:
    """Fluence, T90 and peak of the burst [a, b] over the local background ``fit`` (step 5)."""
    t = lc.time_s
    sel = (t >= a - gap) & (t <= b + gap)
    bkg = fit.counts(t)
    net = lc.counts[sel] - bkg[sel]
    cum = np.cumsum(net)
    fluence = float(cum[-1])
    g = fit.basis(t[sel]).sum(axis=0)
    f_r = _f_of(factors, int(sel.sum()))
    var = f_r ** 2 * float(np.sum(bkg[sel] + np.clip(net, 0, None))) + float(g @ fit.cov @ g)
    ts = t[sel]
    if fluence > 0:
        t05 = float(ts[np.argmax(cum >= 0.05 * fluence)]) - lc.width_s / 2
        t95 = float(ts[np.argmax(cum >= 0.95 * fluence)]) + lc.width_s / 2
    else:
        t05 = t95 = math.nan
    z, k = _peak_sigma(lc, fit, sel, ks, factors)
    t_peak, peak_rate, b_rate = _brightest(lc, bkg, sel, max(1, round(cfg.peak_bin_s / lc.width_s)))
    return Burst(float(a), float(b), t_peak, t95 - t05, t05, fluence, math.sqrt(max(var, 0.0)), peak_rate, z,
                 k * lc.width_s, b_rate)


def _refine(lc, a, b, k_best, cfg, factors, ks, exclude) -> Burst | None:
    k_ext = max(1, min(k_best, round(cfg.coarse_bin_s / lc.width_s)))
    for _ in range(cfg.max_iterations):
        gap, side = max(cfg.gap_s, (b - a) / 4), max(cfg.side_s, b - a)
        fit = _side_fit(lc, a, b, gap, side, exclude, cfg.background_order)
        if fit is None:
            return None
        ext = _extent(lc, fit, a, b, gap, k_ext, factors, cfg)
        if ext is None:
            break
        stable = abs(ext[0] - a) < k_ext * lc.width_s and abs(ext[1] - b) < k_ext * lc.width_s
        a, b = ext
        if stable:
            break
    gap, side = max(cfg.gap_s, (b - a) / 4), max(cfg.side_s, b - a)
    fit = _side_fit(lc, a, b, gap, side, exclude, cfg.background_order)
    return None if fit is None else _measure(lc, fit, a, b, gap, ks, factors, cfg)


def search_bursts(lc: AcsLightCurve, config: BurstSearchConfig | None = None) -> list[Burst]:
    """Bursts in ``lc`` above ``config.threshold_sigma`` (module docstring), in time order."""
    cfg = config or BurstSearchConfig()
    if len(lc) < 40:
        raise ValueError(f"counts: the burst search needs >= 40 bins, got {len(lc)}")
    bkg, clear = _trigger_background(lc, cfg)
    ks = _timescale_bins(lc, cfg)
    k_all = ks + [max(1, round(cfg.coarse_bin_s / lc.width_s))]
    factors = noise_factors(lc, bkg, clear, k_all)
    triggers = _triggers(lc, bkg, factors, ks, cfg)
    if triggers:      # re-measure the noise clear of the candidates, then trigger again
        clear &= _outside(lc.time_s, [(a - cfg.gap_s, b + cfg.gap_s) for a, b, _ in triggers])
        factors = noise_factors(lc, bkg, clear, k_all)
        triggers = _triggers(lc, bkg, factors, ks, cfg)
    bursts: list[Burst] = []
    pads = [(a - cfg.gap_s, b + cfg.gap_s) for a, b, _ in triggers]
    for i, (a, b, k) in enumerate(triggers):
        burst = _refine(lc, a, b, k, cfg, factors, ks, pads[:i] + pads[i + 1:])
        if burst is not None and burst.peak_sigma >= cfg.threshold_sigma:
            bursts.append(burst)
    return _merge_overlapping(lc, bursts, cfg, factors, ks)


def _merge_overlapping(lc, bursts: list[Burst], cfg, factors, ks) -> list[Burst]:
    """Refined bursts whose extents overlap are measured again as one."""
    bursts = sorted(bursts, key=lambda x: x.t_start_s)
    out: list[Burst] = []
    for burst in bursts:
        if out and burst.t_start_s <= out[-1].t_stop_s:
            prev = out.pop()
            a, b = prev.t_start_s, max(prev.t_stop_s, burst.t_stop_s)
            k = round(min(prev.timescale_s, burst.timescale_s) / lc.width_s)
            others = [(x.t_start_s - cfg.gap_s, x.t_stop_s + cfg.gap_s) for x in out]
            merged = _refine(lc, a, b, k, cfg, factors, ks, others)
            out.append(merged if merged is not None else max(prev, burst, key=lambda x: x.peak_sigma))
        else:
            out.append(burst)
    return out
