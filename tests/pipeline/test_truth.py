"""The pipeline on a small simulated revolution, compared with the simulation's truth: every injected
source above 10σ in a mosaic has an image detection, a light curve and a spectrum in the gallery, with
fluxes consistent with the injected ones."""
from __future__ import annotations

import math

import numpy as np
import pytest
from astropy.io import fits

from skygallery.pipeline.config import PipelineConfig
from skygallery.pipeline.executors import LocalExecutor
from skygallery.pipeline.folders import slug
from skygallery.pipeline.publish import LocalPublisher
from skygallery.pipeline.revolution import process_revolution

from .helpers import NEW, REV

pytestmark = pytest.mark.django_db

# (instrument, simulation response, imaging band keV, energy-flux band keV of the spectral fit)
CASES = (("isgri", "ISGRI_RESPONSE", (28.0, 40.0), (20.0, 100.0)), ("jemx1", "JEMX_RESPONSE", (3.0, 20.0), (3.0, 20.0)))
IMAGE_FLUX_TOL = 0.06     # image photometry: Gaussian fit on the mosaic (the imaging engine's accuracy)
LC_FLUX_TOL = 0.05        # shadowgram-fit rates: the same model as the simulation
INDEX_TOL = 0.1           # power-law photon index
SPEC_FLUX_TOL = 0.05      # energy flux of the fitted power law


def _file(meta: dict, role: str, suffix: str = ""):
    from skygallery.gallery.services.filestore import FileStore
    f = next(f for f in meta["files"] if f["role"] == role and f["name"].endswith(suffix))
    return FileStore().path(f["sha256"])


def _meta(pid: str) -> dict:
    from skygallery.gallery.services.products import get_product, get_version
    return get_version(get_product(pid)).metadata


def _energy_flux(k: float, index: float, band) -> float:
    """∫ E·K·E^(−Γ) dE over the band, erg/cm²/s."""
    e1, e2 = band
    integral = (e2 ** (2 - index) - e1 ** (2 - index)) / (2 - index) if index != 2 else math.log(e2 / e1)
    return k * integral * 1.602176634e-9


def _true_sigma(mosaic, ra, dec, rate) -> float:
    x, y = (round(float(v)) for v in mosaic.wcs.world_to_pixel_values(ra, dec))
    var = mosaic.get("VARIANCE")
    if not (0 <= y < var.shape[0] and 0 <= x < var.shape[1]) or var[y, x] <= 0:
        return 0.0
    return rate / math.sqrt(var[y, x])


def test_every_bright_injected_source_has_detection_light_curve_and_spectrum(sim_archive, workdir, contributor):
    from skygallery.gallery.services.resolver import find_source
    from skygallery.science.osa_images import read_sky_images
    from skygallery.science.responses import read_arf, read_rmf
    from skygallery.science.simulate import sky as simsky
    from skygallery.science.specfit import fit_spectrum
    from skygallery.science.spectra import read_pha
    from skygallery.science.sphere import separation_deg
    report = process_revolution(REV, "CONS", sim_archive.root, workdir, LocalPublisher(contributor),
                                PipelineConfig(instruments=("isgri", "jemx1")), LocalExecutor(1))
    assert report.scws == {"isgri": {"ok": 3, "skipped": 0, "cached": 3}, "jemx1": {"ok": 3, "skipped": 0, "cached": 3}}
    checked = []
    for inst, response_name, band, flux_band in CASES:
        response = getattr(simsky, response_name)
        image = _meta(f"rev{REV}-26200001-{inst}-image")
        assert image["title"] == f"Crab Rev. {REV}" and image["data_version"] == "CONS"
        assert {f["role"] for f in image["files"]} == {"fits", "region", "table", "preview"}
        mosaic = read_sky_images(_file(image, "fits", "_mosa_ima.fits"))
        for src in sim_archive.sky.sources:
            true_rate = simsky.band_rate(src.k, src.index, band, response)
            if _true_sigma(mosaic, src.ra_deg, src.dec_deg, true_rate) < 10:
                continue
            det = min(image["detected_sources"], key=lambda d: separation_deg(d["ra"], d["dec"], src.ra_deg, src.dec_deg))
            offset = separation_deg(det["ra"], det["dec"], src.ra_deg, src.dec_deg) * 60
            assert offset < 3.0, (inst, src.name, offset)
            assert abs(det["flux"] / true_rate - 1) < IMAGE_FLUX_TOL, (inst, src.name, det["flux"], true_rate)
            assert det["new_source"] == (src.name == NEW[0])
            if src.name != NEW[0]:
                assert det["name"] == src.name
            lc_meta = _meta(f"rev{REV}-26200001-{inst}-lc-{slug(det['name'])}")
            canonical = find_source(det["name"]).name   # detections of one source by two instruments share it
            assert lc_meta["sources"] == [canonical] and lc_meta["time_bin_s"] == 1000.0
            with fits.open(_file(lc_meta, "fits")) as hdul:
                rate, err = hdul["RATE"].data["RATE"], hdul["RATE"].data["ERROR"]
            w = 1 / err ** 2
            lc_mean, lc_err = float(np.sum(w * rate) / w.sum()), float(w.sum() ** -0.5)
            assert abs(lc_mean / true_rate - 1) < LC_FLUX_TOL or abs(lc_mean - true_rate) < 4 * lc_err, \
                (inst, src.name, lc_mean, true_rate)
            sp_meta = _meta(f"rev{REV}-26200001-{inst}-spectrum-{slug(det['name'])}")
            assert {f["role"] for f in sp_meta["files"]} == {"fits", "rmf", "arf", "preview"}
            pha = read_pha(_file(sp_meta, "fits"))
            fit = fit_spectrum(pha, read_rmf(_file(sp_meta, "rmf")), read_arf(_file(sp_meta, "arf")), "powerlaw",
                               errors="covariance", flux_band=flux_band)
            index = fit.params["PhoIndex"]
            true_flux = _energy_flux(src.k, src.index, flux_band)
            assert abs(index.value - src.index) < max(INDEX_TOL, 3 * index.err_hi), (inst, src.name, index)
            assert abs(fit.flux_erg_cm2_s / true_flux - 1) < max(SPEC_FLUX_TOL, 3 * fit.flux_err / true_flux), \
                (inst, src.name, fit.flux_erg_cm2_s, true_flux)
            checked.append((inst, src.name, det["significance"], det["flux"] / true_rate, lc_mean / true_rate,
                            index.value - src.index, fit.flux_erg_cm2_s / true_flux))
    for row in checked:
        inst, name, sig, image_ratio, lc_ratio, d_index, flux_ratio = row
        print(f"truth check {inst:6s} {name:18s} {sig:7.1f} sigma  image {image_ratio:.3f}  lc {lc_ratio:.3f}  "
              f"dGamma {d_index:+.3f}  spec flux {flux_ratio:.3f}")
    names = {(inst, name) for inst, name, *_ in checked}
    assert {("isgri", "Crab"), ("isgri", "1A 0535+262"), ("isgri", NEW[0]), ("jemx1", "Crab")} <= names


def test_new_source_becomes_a_gallery_source_with_products(sim_archive, workdir, contributor):
    from skygallery.gallery.models import Source
    process_revolution(REV, "CONS", sim_archive.root, workdir, LocalPublisher(contributor),
                       PipelineConfig(instruments=("isgri",)), LocalExecutor(1))
    image = _meta(f"rev{REV}-26200001-isgri-image")
    new = [d for d in image["detected_sources"] if d["new_source"]]
    assert len(new) == 1 and new[0]["name"].startswith("NEW_J05395")
    source = Source.objects.get(name=new[0]["name"])
    assert {p.product_type.name for p in source.products.all()} >= {"isgri_lc", "isgri_spectrum"}
