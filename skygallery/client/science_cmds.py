"""Science-engine commands: ``simulate-archive``, ``image``, ``mosaic`` and ``detect``.

Heavy imports (numpy, astropy, the science package) happen inside the command bodies.
Library errors (``ValueError`` naming the field) become ``InvalidInput`` (exit code 2).
"""
from __future__ import annotations

import json
import math
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from skygallery.gallery.errors import InvalidInput

from .extraction import PANEL

RefCatalog = Annotated[Path | None, typer.Option(
    "--reference-catalog", envvar="SKYGALLERY_CATALOG", show_envvar=True,
    help="ISDC GNRL-REFR-CAT file or folder for identification (default: the built-in bright list).")]


@contextmanager
def _as_invalid_input(field: str):
    """Turn the library's ValueErrors into InvalidInput naming ``field``."""
    try:
        yield
    except ValueError as exc:
        raise InvalidInput((field, str(exc))) from None


def _select_records(archive, target, radius: float, t1, t2, version, max_pointings, scw) -> list:
    """The archive's pointing ScWs within ``radius`` deg of ``target`` and the other criteria;
    InvalidInput naming ``archive`` or ``selection`` when the archive or the selection is bad or empty."""
    from skygallery.archive.layout import open_archive
    with _as_invalid_input("archive"):
        arch = open_archive(archive)
    with _as_invalid_input("selection"):
        records = arch.select(t1, t2, target.ra_deg, target.dec_deg, radius, version, max_pointings, scw)
    if not records:
        raise InvalidInput(("selection", f"no pointing ScW of {archive} within {radius:g} deg of {target.name} "
                                         "matches"))
    return records


def _progress(disable: bool = False):
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    transient=True, disable=disable)


def _reference_catalog(path: Path | None):
    from skygallery.science.catalog import load_reference_catalog
    with _as_invalid_input("reference-catalog"):
        if path is not None and not Path(path).exists():
            raise ValueError(f"{path}: no such file or folder")
        return load_reference_catalog(path)


def detect(
    mosaic: Annotated[Path, typer.Argument(help="OSA-format sky image or mosaic (FITS, .gz accepted).")],
    threshold: Annotated[float, typer.Option(help="Detection threshold (sigma).")] = 7.0,
    min_exposure_fraction: Annotated[float, typer.Option(
        help="Ignore pixels with exposure below this fraction of the maximum.")] = 0.25,
    edge_margin: Annotated[int, typer.Option(help="Also ignore this many pixels next to unusable ones.")] = 3,
    psf_fwhm: Annotated[float, typer.Option(help="PSF FWHM (arcmin): 12 for ISGRI, 3.3 for JEM-X.")] = 12.0,
    catalog_out: Annotated[Path | None, typer.Option(help="Write the source list (FITS) here.")] = None,
    region_out: Annotated[Path | None, typer.Option(help="Write a DS9 region file here.")] = None,
    reference_catalog: RefCatalog = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the detected sources as JSON.")] = False,
) -> None:
    """Detect sources on a sky image or mosaic (significance map) and identify them.

    Peaks above the threshold on the significance map (exposure and edge cuts applied), positions
    by a PSF fit, 90 % error radius, flux at the fitted position, identification against the
    reference catalog; the rest are named NEW_Jhhmmss.s+ddmmss. Works on any OSA-format file,
    including one that carries only a significance map.

    Examples:
      skygallery detect mosaic.fits --catalog-out sources.fits --region-out sources.reg
      skygallery detect isgri_mosa_ima_1.fits.gz --threshold 7 --json
    """
    from skygallery.science.detect import DetectionConfig, detect_sources
    from skygallery.science.osa_images import read_sky_images
    from skygallery.science.source_list import write_region_file, write_source_catalog
    if not mosaic.is_file():
        raise InvalidInput(("mosaic", f"{mosaic}: no such file"))
    with _as_invalid_input("threshold"):
        config = DetectionConfig(threshold_sigma=threshold, min_exposure_fraction=min_exposure_fraction,
                                 edge_margin_pix=edge_margin, psf_fwhm_arcmin=psf_fwhm)
    catalog = _reference_catalog(reference_catalog)
    with _progress(disable=as_json) as progress:
        task = progress.add_task("detect", total=3)
        with _as_invalid_input("mosaic"):
            images = read_sky_images(mosaic)
        progress.advance(task)
        found = detect_sources(images, catalog, config)
        progress.advance(task)
        if catalog_out:
            write_source_catalog(catalog_out, found, {"THRESHOL": threshold, "SRCFILE": mosaic.name[:60]})
        if region_out:
            write_region_file(region_out, found)
        progress.advance(task)
    if as_json:
        typer.echo(json.dumps([d.as_dict() for d in found], indent=1, allow_nan=True).replace("NaN", "null"))
        return
    _print_detections(found, mosaic)
    for out in (catalog_out, region_out):
        if out:
            typer.echo(f"wrote {out}")


def _print_detections(found, source: Path) -> None:
    from .common import show, table
    rows = table("name", "RA (deg)", "Dec (deg)", "sigma", "flux (cts/s)", "err (arcmin)", "new")
    for d in found:
        rows.add_row(d.name, f"{d.ra_deg:.4f}", f"{d.dec_deg:.4f}", f"{d.detsig:.1f}",
                     "-" if d.flux != d.flux else f"{d.flux:.3f} ± {d.flux_err:.3f}",
                     f"{d.err_rad_deg * 60:.2f}", "yes" if d.new_source else "")
    rows.title = f"{len(found)} sources in {source.name}"
    show(rows)


def mosaic(
    files: Annotated[list[Path], typer.Argument(help="OSA-format ScW sky images (ours or real OSA).")],
    out: Annotated[Path, typer.Option("--out", help="Mosaic FITS file to write.")],
    pixel_arcmin: Annotated[float | None, typer.Option(
        help="Mosaic pixel (arcmin); default half the finest input pixel (ISGRI 2.47).")] = None,
) -> None:
    """Combine sky images into a variance-weighted, north-up mosaic (OSA ISGR-MOSA-IMA format).

    Every file's INTENSITY and VARIANCE (and EXPOSURE when present) are reprojected onto one
    tangent-plane grid covering all of them: I = sum(I/V)/sum(1/V), V = 1/sum(1/V), S = I/sqrt(V),
    E = sum(E). All inputs must share the energy band (E_MIN/E_MAX).

    Examples:
      skygallery mosaic scw/*/isgri_sky_ima.fits --out mosaic.fits
      skygallery mosaic isgri_sky_ima_066500280010.fits.gz isgri_sky_ima_066500330010.fits.gz --out crab.fits
    """
    from skygallery.science.mosaic import default_extname, make_mosaic
    from skygallery.science.osa_images import read_sky_images, write_sky_images
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise InvalidInput(("files", f"no such file: {', '.join(missing)}"))
    if pixel_arcmin is not None and not pixel_arcmin > 0:
        raise InvalidInput(("pixel-arcmin", f"must be > 0, got {pixel_arcmin}"))
    with _progress() as progress:
        task = progress.add_task("read", total=len(files))
        inputs = []
        for f in files:
            with _as_invalid_input(str(f)):
                inputs.append(read_sky_images(f))
            progress.advance(task)
        progress.update(task, description="reproject", completed=0)
        with _as_invalid_input("files"):
            result = make_mosaic(inputs, None if pixel_arcmin is None else pixel_arcmin / 60.0,
                                 progress=lambda n: progress.update(task, completed=n))
    write_sky_images(out, result.images, result.wcs, result.header, extname=default_extname(inputs))
    ny, nx = result.images["SIGNIFICANCE"].shape
    typer.echo(f"wrote {out}: {len(inputs)} images -> {nx}x{ny} pixels, "
               f"max significance {result.images['SIGNIFICANCE'].max():.1f}")


def _resolve_field(catalog, text: str) -> tuple[str, float, float]:
    """``NAME`` (looked up in the catalog) or ``NAME@RA,DEC`` (degrees)."""
    if "@" in text:
        name, pos = text.split("@", 1)
        try:
            ra, dec = (float(v) for v in pos.split(","))
        except ValueError:
            raise InvalidInput(("field", f"{text!r}: expected NAME@RA,DEC in degrees")) from None
        return name.strip(), ra, dec
    src = catalog.lookup(text)
    if src is None:
        raise InvalidInput(("field", f"{text!r} is not in the reference catalog; give NAME@RA,DEC"))
    return src.name, src.ra_deg, src.dec_deg


def _sky_model(catalog, fields, sky_radius: float, sky_model: Path | None, flares: list[str]):
    """Catalog sources around the fields, then the sky-model file, then the --flare options."""
    from skygallery.science.simulate.sky import SkyModel
    from skygallery.science.simulate.skyfile import (
        add_flare,
        apply_sky_model,
        load_sky_model_file,
        parse_flare,
    )
    sources = {}
    with _as_invalid_input("field"):
        for _name, ra, dec in fields:
            for s in SkyModel.from_catalog(catalog, (ra, dec), sky_radius).sources:
                sources[s.name] = s
    sky = SkyModel(list(sources.values()))
    if sky_model is not None:
        with _as_invalid_input("sky-model"):
            sky = apply_sky_model(sky, load_sky_model_file(sky_model))
    for spec in flares:
        with _as_invalid_input("flare"):
            name, flare = parse_flare(spec)
            sky = add_flare(sky, name, flare)
    return sky


def simulate_archive_cmd(
    out: Annotated[Path, typer.Argument(help="Archive root to write (scw/RRRR/..., idx/scw_index.fits).")],
    field: Annotated[list[str], typer.Option(help="Target NAME (catalog) or NAME@RA,DEC; repeatable, "
                                                  "observed in this order.")],
    rev: Annotated[int, typer.Option(help="Revolution (real timeline where known).")] = 665,
    pattern: Annotated[str, typer.Option(help="5x5, hex or staring.")] = "5x5",
    n_pointings: Annotated[int, typer.Option(help="Pointings per field.")] = 25,
    pointing_s: Annotated[float, typer.Option(help="Pointing duration (s, 1800-3600).")] = 2000.0,
    instruments: Annotated[str, typer.Option(help="Comma-separated: ISGR, JMX1, JMX2.")] = "ISGR",
    sky_radius: Annotated[float, typer.Option(help="Catalog sources within this radius (deg) of a field.")] = 20.0,
    sky_model: Annotated[Path | None, typer.Option(
        help="YAML/JSON sky-model file: change catalog sources (flux, flares, outbursts), add new ones "
             "or transients (ra, dec, flux_mcrab, t_on/t_off times), remove some (format in the description above).")] = None,
    flare: Annotated[list[str] | None, typer.Option(
        help="NAME:T0:DURATION:FACTOR — a flare of source NAME peaking at T0 (ISOT UTC, ijd:X, mjd:X) at "
             "FACTOR x its steady flux, e-folding decay DURATION s (rise DURATION/10); repeatable.")] = None,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same archive).")] = 0,
    reference_catalog: RefCatalog = None,
) -> None:
    """Write a simulated INTEGRAL archive (OSA layout) with a truth table per ScW.

    Sources come from the reference catalog (fluxes from ISGR_FLUX_1, else 5 mCrab; the Crab
    1000 mCrab) around each field; each field is observed with the pattern on the revolution's
    real-like timeline. Every ScW gets swg.fits, event files per instrument and truth.fits
    (per source: position, coded fraction, mean light-curve factor LC_MEAN over the ScW and the
    band rates it implies, counts); idx/scw_index.fits lists them.

    Variability: --flare for quick flares; --sky-model FILE (YAML or JSON) for anything else:

    \b
      sources:
        - name: GX 354-0              # a model source: new flux and a flare
          flux_mcrab: 300
          flares: [{t0: "2008-03-05T06:00:00", factor: 4, rise_s: 300, decay_s: 3000}]
        - name: MY TRANSIENT          # a new source, visible from on to off
          ra: 265.0
          dec: -30.0
          flux_mcrab: 500
          t_on: "2008-03-05T03:00:00"
          t_off: "2008-03-05T09:00:00"
          outbursts: [{t0: "2008-03-05T05:00:00", factor: 3, rise_s: 3600, decay_s: 20000}]
      remove: [Crab]

    Examples:
      skygallery simulate-archive sim --field Crab --pattern hex --n-pointings 7
      skygallery simulate-archive sim --field "GX 1+4" --field Crab --instruments ISGR,JMX1 --seed 3
      skygallery simulate-archive sim --field "GX 354-0" --flare "GX 354-0:2008-03-05T05:00:00:3000:5"
      skygallery simulate-archive sim --field "GX 354-0" --sky-model variable_sky.yaml
    """
    from skygallery.science.simulate.archive import simulate_archive
    from skygallery.science.simulate.plan import Observation
    catalog = _reference_catalog(reference_catalog)
    fields = [_resolve_field(catalog, f) for f in field]
    insts = [i.strip().upper() for i in instruments.split(",") if i.strip()]
    with _as_invalid_input("field"):
        observations = [Observation(name, ra, dec, pattern, n_pointings, obsid=f"{rev:04d}{k + 1:03d}",
                                    title=f"Simulated {pattern} on {name}", pointing_s=pointing_s)
                        for k, (name, ra, dec) in enumerate(fields)]
    sky = _sky_model(catalog, fields, sky_radius, sky_model, flare or [])
    with _progress() as progress:
        task = progress.add_task("simulate", total=None)
        with _as_invalid_input("simulate"):
            planned = simulate_archive(out, rev, observations, sky, seed=seed, instruments=insts,
                                       progress=lambda n, total: progress.update(task, completed=n, total=total))
    variable = [s.name for s in sky.sources if s.lightcurve.flares or math.isfinite(s.lightcurve.on_ijd)
                or math.isfinite(s.lightcurve.off_ijd)]
    typer.echo(f"wrote {len(planned)} ScWs of revolution {rev} ({', '.join(insts)}; {len(sky.sources)} sources"
               f"{', variable: ' + ', '.join(variable) if variable else ''}) to {out}")


def image(
    archive: Annotated[Path, typer.Argument(help="Archive root (OSA layout, simulated or real).")],
    out: Annotated[Path, typer.Option("--out", help="Output folder for ScW images, mosaic, catalog, regions.")],
    scw: Annotated[list[str] | None, typer.Option(help="ScW id (repeatable); default: all selected.")] = None,
    t1: Annotated[str | None, typer.Option(help="Start: ISOT UTC, mjd:X, ijd:X.")] = None,
    t2: Annotated[str | None, typer.Option(help="End (same formats).")] = None,
    ra: Annotated[float | None, typer.Option(help="Position RA (deg).")] = None,
    dec: Annotated[float | None, typer.Option(help="Position Dec (deg).")] = None,
    radius: Annotated[float, typer.Option(help="Pointings within this radius (deg) of RA/Dec.")] = 10.0,
    max_pointings: Annotated[int | None, typer.Option(help="At most N ScWs (closest to RA/Dec first).")] = None,
    data_version: Annotated[str | None, typer.Option(help="CONS or NRT (default: CONS, NRT fallback).")] = None,
    instrument: Annotated[str, typer.Option(help="ISGR, JMX1 or JMX2.")] = "ISGR",
    e1: Annotated[float, typer.Option(help="Lower energy bound (keV).")] = 20.0,
    e2: Annotated[float, typer.Option(help="Upper energy bound (keV).")] = 40.0,
    threshold: Annotated[float, typer.Option(help="Detection threshold (sigma) on the mosaic.")] = 7.0,
    reference_catalog: RefCatalog = None,
) -> None:
    """Image ScWs of an archive: cleaned ScW images, a mosaic, a source catalog and regions.

    Selects ScWs (list, time range, position within a radius, data version, max pointings), images
    each in the band (shadowgram, balanced FFT decoding, cleaning of catalog sources then excesses;
    OSA-format images on a grid 2x finer than OSA's), writes each ScW's source list next to its
    images (scw/<SWID>_<inst>_srcl.fits), mosaics them with variance weighting and detects sources
    on the mosaic (<inst>_srcl.fits and .reg). FLUX in the source lists is OSA's: the intensity
    (counts/s) at the detection pixel, FLUX/FLUX_ERR = DETSIG.

    Examples:
      skygallery image sim --ra 83.63 --dec 22.01 --radius 8 --out products
      skygallery image sim --t1 2008-03-05 --t2 2008-03-06 --e1 25 --e2 80 --out products
    """
    from skygallery.archive.layout import open_archive
    from skygallery.archive.products import run_imaging
    from skygallery.science.detect import DetectionConfig
    if not e1 < e2:
        raise InvalidInput(("e1", f"E1 ({e1}) must be below E2 ({e2}) keV"))
    catalog = _reference_catalog(reference_catalog)
    with _as_invalid_input("archive"):
        arch = open_archive(archive)
    with _as_invalid_input("selection"):
        records = arch.select(t1, t2, ra, dec, radius, data_version, max_pointings, scw)
        config = DetectionConfig(threshold_sigma=threshold, psf_fwhm_arcmin=12.0 if instrument == "ISGR" else 3.3)
    if not records:
        raise InvalidInput(("selection", f"no pointing ScW of {archive} matches"))
    with _progress() as progress:
        task = progress.add_task(f"image {instrument} {e1:g}-{e2:g} keV", total=len(records))
        with _as_invalid_input("image"):
            run = run_imaging(records, out, instrument.upper(), (e1, e2), catalog, config,
                              progress=lambda stage, n: progress.update(task, completed=n))
    for line in run.skipped:
        typer.echo(f"skipped {line}")
    typer.echo(f"{len(run.scw_images)} ScW images and their source lists (*_srcl.fits) in {out / 'scw'}; "
               f"mosaic {run.mosaic}")
    _print_detections(run.detections, run.mosaic)
    typer.echo(f"wrote {run.catalog} and {run.regions}")


def register(app: typer.Typer) -> None:
    app.command("simulate-archive", rich_help_panel=PANEL)(simulate_archive_cmd)
    app.command("image", rich_help_panel=PANEL)(image)
    app.command("mosaic", rich_help_panel=PANEL)(mosaic)
    app.command("detect", rich_help_panel=PANEL)(detect)
