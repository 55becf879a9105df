"""Timing commands: ``skygallery lightcurve`` (coded-mask source light curves) and ``skygallery
spiacs-lc`` (SPI-ACS count-rate light curves and burst search).

Heavy imports (numpy, astropy, matplotlib, the science package) happen inside the command bodies.
Library errors (``ValueError`` naming the field) become ``InvalidInput`` (exit code 2).
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated

import typer

from skygallery.gallery.errors import InvalidInput

from .extraction import (
    CACHE_HELP,
    DEFAULT_RADIUS,
    PANEL,
    TAGS,
    WORKERS_HELP,
    cache_dir_option,
    check_workers,
    json_clean,
    resolve_source,
    slug,
)
from .science_cmds import RefCatalog, _as_invalid_input, _progress, _reference_catalog, _select_records

DEFAULT_BAND = {"ISGR": (20.0, 40.0), "JMX1": (3.0, 20.0), "JMX2": (3.0, 20.0)}


# ------------------------------------------------------------------------------------ lightcurve
def _summary(lc, nsigma: float, n_scw: int) -> dict:
    from skygallery.science import lightcurves as L
    from skygallery.science.timesys import from_ijd, isot
    out = {"source": lc.source, "instrument": lc.instrument, "e_min_kev": lc.e_min_kev, "e_max_kev": lc.e_max_kev,
           "n_bins": len(lc), "n_scw": n_scw}
    good = lc.usable()
    if len(good):
        out["tstart_utc"], out["tstop_utc"] = isot(from_ijd(float(good.tstart_ijd.min()))), \
            isot(from_ijd(float(good.tstop_ijd.max())))
    if len(good) >= 2:
        ct = L.constancy_test(good)
        out["constancy"] = {"mean": ct.mean, "mean_error": ct.mean_error, "chi2": ct.chi2, "dof": ct.dof,
                            "reduced_chi2": ct.reduced_chi2, "p_value": ct.p_value}
        if ct.mean > 0 and float(good.rate.mean()) > 0:
            fv = L.fractional_variability(good)
            out["fvar"] = {"fvar": fv.fvar, "fvar_error": fv.fvar_error, "fvar_upper_limit_3sigma": fv.fvar_upper_limit,
                           "nxs": fv.nxs, "nxs_error": fv.nxs_error}
    out["flares"] = [{"start_utc": isot(from_ijd(f.start_ijd)), "peak_utc": isot(from_ijd(f.peak_ijd)),
                      "stop_utc": isot(from_ijd(f.stop_ijd)), "start_ijd": f.start_ijd, "peak_ijd": f.peak_ijd,
                      "stop_ijd": f.stop_ijd, "n_bins": f.n_bins, "peak_rate": f.peak_rate,
                      "peak_error": f.peak_error, "peak_sigma": f.peak_sigma, "baseline": f.baseline,
                      "excess_counts": f.excess_counts, "excess_counts_error": f.excess_counts_error}
                     for f in L.find_flares(good, nsigma)] if len(good) >= 3 else []
    out["flare_nsigma"] = nsigma
    return out


def _plot_lightcurve(lc, summary: dict, path: Path) -> Path:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    good = lc.usable()
    t0 = math.floor(float(good.tstart_ijd.min())) if len(good) else 0.0
    fig, ax = plt.subplots(figsize=(9, 4))
    ax.errorbar((good.time_ijd - t0), good.rate, xerr=good.timedel_s / 86400 / 2, yerr=good.error, fmt="o",
                ms=3, lw=1, color="k")
    if "constancy" in summary:
        ax.axhline(summary["constancy"]["mean"], color="tab:blue", lw=1, label="weighted mean")
    for f in summary["flares"]:
        ax.axvspan(f["start_ijd"] - t0, f["stop_ijd"] - t0, color="tab:red", alpha=0.2)
    ax.set_xlabel(f"IJD − {t0:.0f} (d)")
    ax.set_ylabel("rate (counts/s)")
    band = f"{lc.e_min_kev:g}–{lc.e_max_kev:g} keV" if np.isfinite(lc.e_min_kev) else ""
    ax.set_title(f"{lc.source} {lc.instrument} {band}".strip())
    if "constancy" in summary:
        ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _extract(archive: Path, target, instrument: str, band, time_bin, sel: dict, catalog, min_catalog_rate,
             workers: int | None = None, cache_dir: Path | None = None, quiet: bool = False):
    from skygallery.archive.lightcurve import extract_lightcurve
    records = _select_records(archive, target, sel["radius"], sel["t1"], sel["t2"], sel["version"],
                              sel["max_pointings"], sel["scw"])
    with _progress(disable=quiet) as progress:
        task = progress.add_task(f"lightcurve {target.name} {instrument} {band[0]:g}-{band[1]:g} keV",
                                 total=len(records))
        with _as_invalid_input("lightcurve"):
            run = extract_lightcurve(records, instrument, target, band, time_bin, catalog, min_catalog_rate,
                                     progress=lambda n: progress.update(task, completed=n), workers=workers,
                                     cache_dir=cache_dir)
    return run


def lightcurve(
    archive: Annotated[Path | None, typer.Argument(help="Archive root (OSA layout); omit with --file.")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Output folder for the OGIP light curve and PNG.")] = None,
    source: Annotated[str | None, typer.Option(help="Source name (reference catalog), or the label for --ra/--dec.")] = None,
    ra: Annotated[float | None, typer.Option(help="Source RA (deg).")] = None,
    dec: Annotated[float | None, typer.Option(help="Source Dec (deg).")] = None,
    scw: Annotated[list[str] | None, typer.Option(help="ScW id (repeatable); default: all selected.")] = None,
    t1: Annotated[str | None, typer.Option(help="Start: ISOT UTC, mjd:X, ijd:X.")] = None,
    t2: Annotated[str | None, typer.Option(help="End (same formats).")] = None,
    radius: Annotated[float | None, typer.Option(help="Pointings within this radius (deg) of the source "
                                                          "(default ISGRI 10, JEM-X 5).")] = None,
    max_pointings: Annotated[int | None, typer.Option(help="At most N ScWs (closest first).")] = None,
    data_version: Annotated[str | None, typer.Option(help="CONS or NRT (default: CONS, NRT fallback).")] = None,
    instrument: Annotated[str, typer.Option(help="ISGR, JMX1 or JMX2.")] = "ISGR",
    band: Annotated[tuple[float, float] | None, typer.Option(help="Energy band E1 E2 (keV); default ISGRI "
                                                                     "20 40, JEM-X 3 20.")] = None,
    time_bin: Annotated[float | None, typer.Option(help="Bins of this many seconds inside ScWs (≥ 100 "
                                                           "recommended); default one bin per ScW.")] = None,
    rebin: Annotated[float | None, typer.Option(help="Then rebin to this many seconds.")] = None,
    weighting: Annotated[str, typer.Option(help="Rebinning weights: variance or exposure.")] = "variance",
    nsigma: Annotated[float, typer.Option(help="Flare threshold (sigma above the weighted mean).")] = 3.0,
    min_catalog_rate: Annotated[float, typer.Option(help="Fit catalog sources at least this bright "
                                                         "(catalog counts/s).")] = 2.0,
    file: Annotated[Path | None, typer.Option("--file", help="Analyse an existing OGIP/OSA light curve "
                                                                "instead of extracting one.")] = None,
    plot: Annotated[bool, typer.Option(help="Write the PNG plot.")] = True,
    workers: Annotated[int | None, typer.Option(help=WORKERS_HELP)] = None,
    cache: Annotated[Path | None, typer.Option("--cache", help=CACHE_HELP)] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Bin the events in memory; read and write no "
                                                              "cache.")] = False,
    reference_catalog: RefCatalog = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Source light curve from an archive: OGIP RATE file, PNG plot, variability and flares.

    Selects the ScWs around the source (list, time range, radius, data version), fits each ScW's
    shadowgram (the source plus bright catalog sources in the field, background per module) per
    ScW or per --time-bin seconds, and writes <out>/<instrument>_lc_<source>.fits (TIME in IJD at
    the bin centre, TIMEDEL, RATE, ERROR, FRACEXP, BACKV; MJDREF 51544, TT) and a PNG. Reports
    the chi-square constancy test, the fractional variability F_var (Vaughan et al. 2003) and
    flares (runs of bins above --nsigma). With --file, analyses an existing OGIP/OSA light curve
    (e.g. a JEM-X LCR file) instead.

    Like OSA, the fits start from a binned level: the first run bins each ScW's events (band, and
    time bins) into the --cache folder, in parallel over --workers processes; later runs with the
    same band and bin read those cubes instead of the event lists (a few ms per ScW instead of
    ~0.2 s). Entries are keyed by ScW id, data version, band, time bin, software version and the
    event file, so a changed input never gives a stale result; delete the folder to reclaim space.

    Examples:
      skygallery lightcurve sim --source Crab --out lc --time-bin 300
      skygallery lightcurve sim --ra 83.63 --dec 22.01 --band 30 60 --t1 2008-03-05 --t2 2008-03-07 --out lc
      skygallery lightcurve sim --source Crab --out lc --workers 4 --cache /data/skygallery-binned
      skygallery lightcurve --file jemx1_lc_crab_010200230010.fits.gz --rebin 200 --json
    """
    instrument = instrument.upper()
    if instrument not in TAGS:
        raise InvalidInput(("instrument", f"{instrument!r} is not one of {', '.join(TAGS)}"))
    band = tuple(band) if band else DEFAULT_BAND[instrument]
    if not 0 <= band[0] < band[1]:
        raise InvalidInput(("band", f"E1 ({band[0]:g}) must be below E2 ({band[1]:g}) keV"))
    if time_bin is not None and not time_bin > 0:
        raise InvalidInput(("time-bin", f"must be > 0 s, got {time_bin}"))
    if not nsigma > 0:
        raise InvalidInput(("nsigma", f"must be > 0, got {nsigma}"))
    if file is not None:
        lc, skipped = _read_existing(file), []
    else:
        if archive is None:
            raise InvalidInput(("archive", "give an archive root, or --file LC"))
        if out is None:
            raise InvalidInput(("out", "give --out DIR for the light curve files"))
        check_workers(workers)
        cache_dir = cache_dir_option(cache, no_cache)
        catalog = _reference_catalog(reference_catalog)
        target = resolve_source(catalog, source, ra, dec)
        sel = {"t1": t1, "t2": t2, "radius": radius or DEFAULT_RADIUS[instrument], "version": data_version,
               "max_pointings": max_pointings, "scw": scw}
        run = _extract(archive, target, instrument, band, time_bin, sel, catalog, min_catalog_rate, workers,
                       cache_dir, as_json)
        lc, skipped = run.lightcurve, run.skipped
    _finish(lc, out, rebin, weighting, nsigma, plot, file, as_json, skipped)


def _read_existing(file: Path):
    from skygallery.science.ogip_lc import read_lightcurve
    if not file.is_file():
        raise InvalidInput(("file", f"{file}: no such file"))
    with _as_invalid_input("file"):
        return read_lightcurve(file)


def _finish(lc, out, rebin, weighting, nsigma, plot, file, as_json, skipped) -> list[Path]:
    from skygallery.science.lightcurves import rebin as rebin_lc
    from skygallery.science.ogip_lc import write_lightcurve
    n_scw = len(set(lc.swid) - {""})
    if rebin is not None:
        with _as_invalid_input("rebin"):
            lc = rebin_lc(lc, rebin, weighting)
    if len(lc.usable()) == 0:
        raise InvalidInput(("lightcurve", "no usable bins (finite rate, error > 0)"))
    summary = _summary(lc, nsigma, n_scw)
    paths = []
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        stem = f"{TAGS.get(lc.instrument, slug(lc.instrument or 'lc').lower())}_lc_{slug(lc.source)}"
        if file is None or rebin is not None:
            paths.append(write_lightcurve(out / f"{stem}.fits", lc))
        if plot:
            paths.append(_plot_lightcurve(lc, summary, out / f"{stem}.png"))
    summary["files"] = [str(p) for p in paths]
    summary["skipped"] = skipped
    if as_json:
        typer.echo(json.dumps(json_clean(summary), indent=1))
    else:
        _print_lc_summary(summary)
    return paths


def _print_lc_summary(s: dict) -> None:
    from .common import show, table
    for line in s["skipped"]:
        typer.echo(f"skipped {line}")
    scws = f" from {s['n_scw']} ScWs" if s["n_scw"] else ""
    typer.echo(f"{s['source']} {s['instrument']} {s['e_min_kev']:g}-{s['e_max_kev']:g} keV: {s['n_bins']} bins"
               f"{scws}, {s.get('tstart_utc', '?')} .. {s.get('tstop_utc', '?')}")
    if "constancy" in s:
        c = s["constancy"]
        typer.echo(f"mean {c['mean']:.4g} ± {c['mean_error']:.2g} counts/s; constancy chi2 = {c['chi2']:.1f} / "
                   f"{c['dof']} dof, p = {c['p_value']:.3g}")
    if "fvar" in s:
        f = s["fvar"]
        typer.echo(f"F_var = {f['fvar']:.3f} ± {f['fvar_error']:.3f}" if f["fvar"] == f["fvar"]
                   else f"F_var < {f['fvar_upper_limit_3sigma']:.3f} (3 sigma)")
    rows = table("flare", "start (UTC)", "peak (UTC)", "stop (UTC)", "bins", "peak rate", "sigma")
    for i, f in enumerate(s["flares"], 1):
        rows.add_row(str(i), f["start_utc"], f["peak_utc"], f["stop_utc"], str(f["n_bins"]),
                     f"{f['peak_rate']:.3g} ± {f['peak_error']:.2g}", f"{f['peak_sigma']:.1f}")
    rows.title = f"{len(s['flares'])} flares above {s['flare_nsigma']:g} sigma"
    show(rows)
    for p in s["files"]:
        typer.echo(f"wrote {p}")


# ------------------------------------------------------------------------------------ spiacs-lc
def _parse_pulse(text: str):
    from skygallery.science.spiacs import GrbPulse
    try:
        offset, peak, tau1, tau2 = (float(v) for v in text.split(":"))
    except ValueError:
        raise InvalidInput(("burst", f"{text!r}: expected OFFSET_S:PEAK_COUNTS_S:TAU1_S:TAU2_S")) from None
    with _as_invalid_input("burst"):
        return GrbPulse(offset, peak, tau1, tau2)


def _random_pulses(n: int, duration_s: float, seed: int):
    """n pulses: peak times uniform in the middle 80 % of the window, peak rates log-uniform
    3×10³–10⁵ counts/s, τ₁ log-uniform 0.03–3 s, τ₂ log-uniform 0.3–10 s."""
    import numpy as np

    from skygallery.science.spiacs import GrbPulse
    rng = np.random.default_rng([seed, 7])
    return [GrbPulse(float(rng.uniform(0.1, 0.9) * duration_s), float(10 ** rng.uniform(3.5, 5.0)),
                     float(10 ** rng.uniform(-1.5, 0.5)), float(10 ** rng.uniform(-0.5, 1.0))) for _ in range(n)]


def _acs_stream(file, t1, t2, bursts, random_bursts, seed):
    from skygallery.science.spiacs import read_acs_fits, simulate_acs
    from skygallery.science.timesys import ijd, parse_time
    if file is not None:
        if bursts or random_bursts:
            raise InvalidInput(("burst", "injected bursts only apply to a simulated stream, not --file"))
        if not file.is_file():
            raise InvalidInput(("file", f"{file}: no such file"))
        with _as_invalid_input("file"):
            return read_acs_fits(file), []
    if t1 is None or t2 is None:
        raise InvalidInput(("t1/t2", "give the time window --t1 and --t2, or --file"))
    with _as_invalid_input("t1/t2"):
        x1, x2 = ijd(parse_time(t1)), ijd(parse_time(t2))
    duration = (x2 - x1) * 86400.0
    if not duration > 0:
        raise InvalidInput(("t1/t2", f"start {t1} must be before end {t2}"))
    pulses = [_parse_pulse(b) for b in bursts or []] + _random_pulses(random_bursts, duration, seed)
    with _as_invalid_input("t1/t2"):
        return simulate_acs(x1, duration, pulses, seed=seed), pulses


def _plot_acs(lc, bursts, path: Path, title: str) -> Path:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(9, 4))
    ax.step(lc.time_s, lc.rate, where="mid", lw=0.7, color="k")
    for i, b in enumerate(bursts):
        ax.axvspan(b.t_start_s, b.t_stop_s, color="tab:orange", alpha=0.2, label="extent" if i == 0 else None)
        ax.axvspan(b.t90_start_s, b.t90_start_s + b.t90_s, color="tab:red", alpha=0.25,
                   label="T90" if i == 0 else None)
    if bursts:
        ax.legend(loc="upper right", fontsize=8)
    ax.set_xlabel(f"time (s) after IJD {lc.tref_ijd:.6f}")
    ax.set_ylabel(f"SPI-ACS rate (counts/s, {lc.width_s:g} s bins)")
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def spiacs_lc(
    t1: Annotated[str | None, typer.Option(help="Window start: ISOT UTC, mjd:X, ijd:X (simulation).")] = None,
    t2: Annotated[str | None, typer.Option(help="Window end (same formats; at most 2 days).")] = None,
    file: Annotated[Path | None, typer.Option("--file", help="Read this SPI-ACS FITS (MMODA format) "
                                                                "instead of simulating.")] = None,
    burst: Annotated[list[str] | None, typer.Option(help="Inject a pulse OFFSET_S:PEAK_COUNTS_S:TAU1_S:TAU2_S "
                                                            "(Norris 2005 shape; offset = peak time after t1; "
                                                            "repeatable).")] = None,
    random_bursts: Annotated[int, typer.Option(help="Also inject N random pulses (seeded).")] = 0,
    seed: Annotated[int, typer.Option(help="Random seed of the simulation.")] = 0,
    bin_s: Annotated[float | None, typer.Option("--bin", help="Rebin to this many seconds before the search "
                                                                 "(a multiple of the input bins).")] = None,
    threshold: Annotated[float, typer.Option(help="Burst threshold (sigma over the local background).")] = 6.0,
    out: Annotated[Path | None, typer.Option("--out", help="Write the light curve (MMODA SPI-ACS FITS).")] = None,
    plot: Annotated[Path | None, typer.Option("--plot", help="Write a PNG plot here.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the light curve summary and bursts as JSON.")] = False,
) -> None:
    """SPI-ACS light curve for a time window (simulated) or a FITS file, with a burst search.

    Simulation: 50 ms bins, background about 9e4 counts/s modulated along the orbit (revolution
    table), noise 1.57 sqrt(B) per bin, plus injected GRB-like pulses. The search triggers on
    several timescales (0.05-16 s) against a clipped polynomial background, refits the background
    on side windows around each candidate and reports start, peak, T90, fluence (counts) and
    peak significance. With --file, reads an existing SPI-ACS light curve (e.g. from MMODA).

    Examples:
      skygallery spiacs-lc --t1 2023-03-07T15:40:00 --t2 2023-03-07T15:50:00 --burst 200:40000:0.5:5 --json
      skygallery spiacs-lc --file spiacs_lc_grb230307a.fits --plot grb.png
    """
    if not threshold > 0:
        raise InvalidInput(("threshold", f"must be > 0 sigma, got {threshold}"))
    if random_bursts < 0:
        raise InvalidInput(("random-bursts", f"must be >= 0, got {random_bursts}"))
    from skygallery.science.spiacs import (
        BurstSearchConfig,
        search_bursts,
        write_acs_fits,
    )
    lc, pulses = _acs_stream(file, t1, t2, burst, random_bursts, seed)
    if bin_s is not None:
        with _as_invalid_input("bin"):
            lc = lc.rebin(bin_s)
    with _as_invalid_input("counts"):
        found = search_bursts(lc, BurstSearchConfig(threshold_sigma=threshold))
    files = []
    if out is not None:
        files.append(str(write_acs_fits(out, lc)))
    if plot is not None:
        files.append(str(_plot_acs(lc, found, plot, file.name if file else "simulated SPI-ACS")))
    summary = _acs_summary(lc, found, pulses, files)
    if as_json:
        typer.echo(json.dumps(json_clean(summary), indent=1))
    else:
        _print_acs(summary)


def _acs_summary(lc, found, pulses, files) -> dict:
    from skygallery.science.timesys import from_ijd, isot
    rate = lc.rate
    return {"tref_ijd": lc.tref_ijd, "tref_utc": isot(from_ijd(lc.tref_ijd)), "bin_s": lc.width_s, "n_bins": len(lc),
            "duration_s": lc.duration_s, "mean_rate": float(rate.mean()), "simulated": bool(lc.meta.get("SIMULATE")),
            "injected": [{"t_peak_s": p.t_peak_s, "peak_counts_s": p.peak_counts_s, "tau1_s": p.tau1_s,
                          "tau2_s": p.tau2_s, "fluence_counts": p.fluence_counts, "t90_s": p.t90_s} for p in pulses],
            "bursts": [b.as_dict(lc.tref_ijd) for b in found], "files": files}


def _print_acs(s: dict) -> None:
    from .common import show, table
    kind = "simulated" if s["simulated"] else "read"
    typer.echo(f"SPI-ACS {kind}: {s['n_bins']} bins of {s['bin_s']:g} s from {s['tref_utc']} UTC "
               f"(IJD {s['tref_ijd']:.6f}), mean {s['mean_rate']:.4g} counts/s")
    rows = table("burst", "start (UTC)", "peak (UTC)", "peak net rate (1 s)", "T90 (s)", "fluence (counts)",
                 "peak sigma", "timescale (s)")
    for i, b in enumerate(s["bursts"], 1):
        rows.add_row(str(i), b["t_start_utc"], b["t_peak_utc"], f"{b['peak_rate_counts_s']:.4g}", f"{b['t90_s']:.2f}",
                     f"{b['fluence_counts']:.4g} ± {b['fluence_error']:.2g}", f"{b['peak_sigma']:.1f}",
                     f"{b['timescale_s']:g}")
    rows.title = f"{len(s['bursts'])} bursts"
    show(rows)
    for p in s["files"]:
        typer.echo(f"wrote {p}")


def register(app: typer.Typer) -> None:
    app.command("lightcurve", rich_help_panel=PANEL)(lightcurve)
    app.command("spiacs-lc", rich_help_panel=PANEL)(spiacs_lc)
