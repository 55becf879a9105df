"""Spectral commands: ``skygallery spectrum`` (source spectra from an archive: PHA + RMF + ARF +
PNG) and ``skygallery fit-spectrum`` (forward-folding fit of any OGIP PHA-I spectrum).

Heavy imports (numpy, astropy, matplotlib, the science package) happen inside the command bodies.
Library errors (``ValueError`` naming the field) become ``InvalidInput`` (exit code 2).
"""
from __future__ import annotations

import json
from itertools import pairwise
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

DEFAULT_RANGE = {"ISGR": (20.0, 300.0), "JMX1": (3.0, 35.0), "JMX2": (3.0, 35.0)}
MODELS = ("powerlaw", "cutoffpl")


def _edges(instrument: str, emin: float | None, emax: float | None, bins: int, edges: str | None) -> list[float]:
    if edges:
        try:
            values = [float(v) for v in edges.replace(" ", "").split(",") if v]
        except ValueError:
            raise InvalidInput(("edges", f"expected comma-separated energies in keV, got {edges!r}")) from None
        if len(values) < 2 or any(b <= a for a, b in pairwise(values)) or values[0] < 0:
            raise InvalidInput(("edges", "need at least two increasing energies >= 0 keV"))
        return values
    lo, hi = DEFAULT_RANGE[instrument]
    e1, e2 = emin if emin is not None else lo, emax if emax is not None else hi
    if not 0 < e1 < e2:
        raise InvalidInput(("emin", f"E_MIN ({e1:g}) must be > 0 and below E_MAX ({e2:g}) keV"))
    if not 1 <= bins <= 512:
        raise InvalidInput(("bins", f"must be in 1..512, got {bins}"))
    import numpy as np
    return [float(v) for v in np.geomspace(e1, e2, bins + 1)]


def _response_model(instrument: str):
    from skygallery.science.simulate.sky import ISGRI_RESPONSE, JEMX_RESPONSE
    return ISGRI_RESPONSE if instrument == "ISGR" else JEMX_RESPONSE


def _plot(path: Path, pha, fit, title: str) -> Path:
    """Count spectrum (counts/s/keV) with the folded model and residuals in σ."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    data = fit.data if fit is not None else None
    fig, axes = plt.subplots(2, 1, figsize=(7, 5.5), sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    ax, rax = axes
    if data is not None:
        lo, hi = data.e_lo, data.e_hi
        width, mid = hi - lo, np.sqrt(lo * hi)
        ax.errorbar(mid, data.rate / width, xerr=[mid - lo, hi - mid], yerr=data.sigma / width, fmt="o", ms=3,
                    color="k", lw=1, label="data")
        ax.stairs(fit.model_counts / width, np.append(lo, hi[-1]), baseline=None, color="tab:red",
                  label=f"{fit.model}: Γ = {fit.params['PhoIndex'].value:.2f}")
        rax.errorbar(mid, (data.rate - fit.model_counts) / data.sigma, xerr=[mid - lo, hi - mid], yerr=1.0,
                     fmt="o", ms=3, color="k", lw=1)
        ax.legend(loc="best", fontsize=8)
    rax.axhline(0.0, color="tab:red", lw=1)
    ax.set_xscale("log")
    positive = data is not None and np.any(data.rate > 0)
    if positive:
        ax.set_yscale("log")
    ax.set_ylabel("counts/s/keV")
    rax.set_ylabel("(data−model)/σ")
    rax.set_xlabel("energy (keV)")
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def spectrum(
    archive: Annotated[Path, typer.Argument(help="Archive root (OSA layout, simulated or real).")],
    out: Annotated[Path, typer.Option("--out", help="Output folder for PHA, RMF, ARF, PHA-II and PNG.")],
    source: Annotated[str | None, typer.Option(help="Source name (reference catalog), or the label for "
                                                       "--ra/--dec.")] = None,
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
    emin: Annotated[float | None, typer.Option(help="Lowest channel edge (keV); default ISGRI 20, JEM-X 3.")] = None,
    emax: Annotated[float | None, typer.Option(help="Highest channel edge (keV); default ISGRI 300, "
                                                       "JEM-X 35.")] = None,
    bins: Annotated[int, typer.Option(help="Number of log-spaced channels between --emin and --emax.")] = 16,
    edges: Annotated[str | None, typer.Option(help="Explicit channel edges E0,E1,...,En (keV); overrides "
                                                      "--emin/--emax/--bins.")] = None,
    sys_frac: Annotated[float, typer.Option(help="Systematic fraction written to SYS_ERR (0..1).")] = 0.0,
    min_catalog_rate: Annotated[float, typer.Option(help="Fit catalog sources at least this bright "
                                                         "(catalog counts/s).")] = 2.0,
    model: Annotated[str, typer.Option(help="Quick-look model fitted for the plot: powerlaw or cutoffpl.")] =
    "powerlaw",
    workers: Annotated[int | None, typer.Option(help=WORKERS_HELP)] = None,
    cache: Annotated[Path | None, typer.Option("--cache", help=CACHE_HELP)] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Bin the events in memory; read and write no "
                                                              "cache.")] = False,
    reference_catalog: RefCatalog = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON summary (files, fit).")] = False,
) -> None:
    """Source spectrum from an archive: OGIP PHA-I + RMF + ARF, a PHA-II of all fitted sources and a PNG.

    Selects ScWs around the source (list, time range, radius, data version, max pointings), fits
    each ScW's shadowgram in every channel (the source plus the bright catalog sources in the field,
    per-module background), combines the ScWs with variance weighting and writes
    <out>/<inst>_spectrum_<source>.fits (RATE, STAT_ERR, SYS_ERR, QUALITY, GROUPING, EXPOSURE,
    RESPFILE, ANCRFILE, CRABRATE), the matching .rmf/.arf (on-axis simulation response: ARF =
    effective area, RMF = Gaussian resolution), <out>/<inst>_spectrum_<source>_pha2.fits and a PNG with a
    quick-look fit. Rates are counts/s as if on-axis.

    Like OSA, the fits start from a binned level: the first run bins each ScW's events into the
    channels, in parallel over --workers processes, and keeps the counts in the --cache folder;
    later runs with the same channels read those cubes instead of the event lists (a few ms per
    ScW instead of ~0.2 s). Entries are keyed by ScW id, data version, channels, software version
    and the event file, so a changed input never gives a stale result; delete the folder to
    reclaim space.

    Examples:
      skygallery spectrum sim --source Crab --out spec
      skygallery spectrum sim --ra 266.52 --dec -29.52 --source "1A 1742-294" --edges 20,30,40,60,100,200 --out spec
      skygallery spectrum sim --source Crab --t1 2008-03-05 --t2 2008-03-06 --bins 24 --sys-frac 0.02 --out spec
      skygallery spectrum sim --source Crab --out spec --workers 4 --cache /data/skygallery-binned
    """
    instrument = instrument.upper()
    if instrument not in TAGS:
        raise InvalidInput(("instrument", f"{instrument!r} is not one of {', '.join(TAGS)}"))
    if model not in MODELS:
        raise InvalidInput(("model", f"{model!r} is not one of {', '.join(MODELS)}"))
    if not 0 <= sys_frac < 1:
        raise InvalidInput(("sys-frac", f"must be in [0, 1), got {sys_frac}"))
    check_workers(workers)
    channel_edges = _edges(instrument, emin, emax, bins, edges)
    cache_dir = cache_dir_option(cache, no_cache)
    catalog = _reference_catalog(reference_catalog)
    target = resolve_source(catalog, source, ra, dec)
    records = _select_records(archive, target, radius or DEFAULT_RADIUS[instrument], t1, t2, data_version,
                              max_pointings, scw)
    bands = list(pairwise(channel_edges))
    from skygallery.archive.spectrum import extract_spectra
    with _progress(disable=as_json) as progress:
        task = progress.add_task(f"spectrum {target.name} {instrument} ({len(bands)} channels)", total=len(records))
        with _as_invalid_input("spectrum"):
            run = extract_spectra(records, instrument, target, bands, catalog, min_catalog_rate, workers=workers,
                                  progress=lambda n: progress.update(task, completed=n), cache_dir=cache_dir)
    summary = _write_products(run, instrument, channel_edges, out, sys_frac, model)
    if as_json:
        typer.echo(json.dumps(json_clean(summary), indent=1))
        return
    for line in run.skipped:
        typer.echo(f"skipped {line}")
    _print_fit(summary.get("fit"), f"{target.name} {instrument}: {summary['n_scw']} ScWs, "
                                    f"exposure {summary['exposure_s']:.0f} s")
    for p in summary["files"]:
        typer.echo(f"wrote {p}")


def _write_products(run, instrument: str, channel_edges, out: Path, sys_frac: float, model: str) -> dict:
    import numpy as np

    from skygallery.science.responses import make_response, write_arf, write_rmf
    from skygallery.science.specfit import fit_spectrum, folded_crab_rate
    from skygallery.science.specmodels import FoldingResponse
    from skygallery.science.spectra import spectrum_from_rates, write_pha, write_pha2
    out.mkdir(parents=True, exist_ok=True)
    tag = TAGS[instrument]
    comb = run.combined
    rmf, arf = make_response(_response_model(instrument), channel_edges,
                             instrument="ISGRI" if instrument == "ISGR" else instrument)
    stem = f"{tag}_spectrum_{slug(comb.names[0])}"
    rmf_path, arf_path = write_rmf(out / f"{stem}.rmf", rmf), write_arf(out / f"{stem}.arf", arf)
    response = FoldingResponse(rmf, arf)
    crab = (folded_crab_rate(response, response.matrix), channel_edges[0], channel_edges[-1])
    spectra = [spectrum_from_rates(comb, i, rmf_path.name, arf_path.name, sys_frac,
                                   "ISGRI" if instrument == "ISGR" else instrument, s.ra_deg, s.dec_deg, crab)
               for i, s in enumerate(run.sources)]
    pha_path = write_pha(out / f"{stem}.fits", spectra[0])
    pha2_path = write_pha2(out / f"{stem}_pha2.fits", spectra)
    fit = None
    if int(np.sum(spectra[0].quality == 0)) > 3:
        try:
            fit = fit_spectrum(spectra[0], rmf, arf, model, errors="covariance")
        except ValueError:
            fit = None
    png = _plot(out / f"{stem}.png", spectra[0], fit,
                f"{comb.names[0]} {instrument} — {int(comb.n_scw[0])} ScWs, {comb.exposure_s[0]:.0f} s")
    return {"source": comb.names[0], "instrument": instrument, "n_scw": int(comb.n_scw[0]),
            "exposure_s": float(comb.exposure_s[0]), "channels_kev": [list(b) for b in comb.bands_kev],
            "rate": comb.rate[:, 0].tolist(), "rate_err": comb.rate_err[:, 0].tolist(),
            "crab_rate": crab[0], "fitted_sources": comb.names, "skipped": run.skipped,
            "seconds": run.seconds, "fit": fit.as_dict() if fit else None,
            "files": [str(p) for p in (pha_path, rmf_path, arf_path, pha2_path, png)]}


def _print_fit(fit: dict | None, header: str) -> None:
    typer.echo(header)
    if not fit:
        typer.echo("no fit (fewer than 4 good channels)")
        return
    for name, p in fit["params"].items():
        if name == "norm_pivot":
            continue
        typer.echo(f"  {name:9s} = {p['value']:.4g}  -{p['err_lo']:.2g} +{p['err_hi']:.2g} {p['unit']}".rstrip())
    typer.echo(f"  {fit['statistic']} = {fit['stat']:.2f} / {fit['dof']} dof (reduced {fit['reduced']:.2f}), "
               f"{fit['energy_range_kev'][0]:g}-{fit['energy_range_kev'][1]:g} keV")
    typer.echo(f"  flux {fit['flux_band_kev'][0]:g}-{fit['flux_band_kev'][1]:g} keV = {fit['flux_erg_cm2_s']:.4g} ± "
               f"{fit['flux_err']:.2g} erg/cm2/s; {fit['mcrab']:.1f} ± {fit['mcrab_err']:.1f} mCrab "
               f"(Crab {fit['crab_rate']:.4g} counts/s in the fitted channels)")


def _existing_file(path: Path | None, field: str) -> Path | None:
    if path is not None and not path.is_file():
        raise InvalidInput((field, f"{path}: no such file"))
    return path


def fit_spectrum_cmd(
    pha: Annotated[Path, typer.Argument(help="OGIP PHA spectrum (type I, or type II with --row).")],
    rmf: Annotated[Path | None, typer.Option(help="RMF (default: the spectrum's RESPFILE, relative to it).")] =
    None,
    arf: Annotated[Path | None, typer.Option(help="ARF (default: the spectrum's ANCRFILE; none if NONE).")] = None,
    model: Annotated[str, typer.Option(help="powerlaw or cutoffpl.")] = "powerlaw",
    emin: Annotated[float | None, typer.Option(help="Lowest energy fitted (keV); channels fully inside.")] = None,
    emax: Annotated[float | None, typer.Option(help="Highest energy fitted (keV).")] = None,
    stat: Annotated[str, typer.Option(help="auto (Cash for low-count Poisson spectra, else chi2), chi2 or "
                                          "cash.")] = "auto",
    errors: Annotated[str, typer.Option(help="scan (Δstat = 1 profile) or covariance (curvature).")] = "scan",
    flux_band: Annotated[tuple[float, float] | None, typer.Option(help="Energy-flux band E1 E2 (keV); "
                                                                          "default the fitted range.")] = None,
    row: Annotated[str | None, typer.Option(help="Row (index or OBJECT) of a PHA-II file.")] = None,
    plot: Annotated[Path | None, typer.Option(help="Write a PNG of data, model and residuals here.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the best fit with errors as JSON.")] = False,
) -> None:
    """Fit a power law or cut-off power law to an OGIP spectrum through its RMF and ARF.

    Forward folding: the photon model is integrated over the response energy bins, multiplied by
    the ARF and RMF and compared with the spectrum's good channels (QUALITY 0, GROUPING applied)
    inside --emin/--emax by chi-square (Cash for low-count Poisson spectra). Prints the best fit
    with 1-sigma errors, the reduced statistic, the energy flux in the band (erg/cm2/s) and the
    rate in mCrab (reference Crab of Roques & Jourdain 2018 folded through the same response).
    Works with any OGIP PHA-I, ours or OSA's (RESPFILE/ANCRFILE resolved next to the spectrum).

    Examples:
      skygallery fit-spectrum spec/isgri_spectrum_Crab.fits --json
      skygallery fit-spectrum isgri_spectrum_1A0535.fits.gz --rmf isgri_rmf.fits.gz --arf isgri_arf.fits.gz --emin 20 --emax 100
      skygallery fit-spectrum spec/isgri_spectrum_Crab_pha2.fits --row "GX 1+4" --model cutoffpl --plot gx1.png
    """
    from skygallery.science.responses import read_arf, read_rmf
    from skygallery.science.specfit import fit_spectrum
    from skygallery.science.spectra import read_pha
    if model not in MODELS:
        raise InvalidInput(("model", f"{model!r} is not one of {', '.join(MODELS)}"))
    if emin is not None and emax is not None and not emin < emax:
        raise InvalidInput(("emin", f"E_MIN ({emin:g}) must be below E_MAX ({emax:g}) keV"))
    if flux_band is not None and not 0 < flux_band[0] < flux_band[1]:
        raise InvalidInput(("flux-band", f"E1 must be > 0 and below E2, got {flux_band[0]:g} {flux_band[1]:g}"))
    if not pha.is_file():
        raise InvalidInput(("pha", f"{pha}: no such file"))
    with _as_invalid_input("pha"):
        spec = read_pha(pha, row)
    resp_default, anc_default = spec.response_paths()
    rmf_path = _existing_file(rmf, "rmf") or resp_default
    if rmf_path is None:
        raise InvalidInput(("rmf", "the spectrum has no RESPFILE; give --rmf"))
    if not rmf_path.is_file():
        raise InvalidInput(("rmf", f"{rmf_path}: no such file (RESPFILE of the spectrum); give --rmf"))
    arf_path = _existing_file(arf, "arf") or anc_default
    if arf_path is not None and not arf_path.is_file():
        raise InvalidInput(("arf", f"{arf_path}: no such file (ANCRFILE of the spectrum); give --arf"))
    with _as_invalid_input("rmf"):
        response = read_rmf(rmf_path)
    with _as_invalid_input("arf"):
        ancillary = read_arf(arf_path) if arf_path is not None else None
    with _as_invalid_input("fit"):
        fit = fit_spectrum(spec, response, ancillary, model, emin, emax, stat, errors,
                           tuple(flux_band) if flux_band else None)
    result = fit.as_dict()
    result.update({"pha": str(pha), "rmf": str(rmf_path), "arf": None if arf_path is None else str(arf_path)})
    if plot is not None:
        _plot(plot, spec, fit, f"{spec.header.get('OBJECT', spec.header.get('NAME', pha.name))} — {model}")
        result["plot"] = str(plot)
    if as_json:
        typer.echo(json.dumps(json_clean(result), indent=1))
        return
    _print_fit(result, f"{pha.name}: {model} fit of {fit.n_groups} channels")
    if plot is not None:
        typer.echo(f"wrote {plot}")


def register(app: typer.Typer) -> None:
    app.command("spectrum", rich_help_panel=PANEL)(spectrum)
    app.command("fit-spectrum", rich_help_panel=PANEL)(fit_spectrum_cmd)
