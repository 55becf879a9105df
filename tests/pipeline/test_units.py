"""Pieces of the pipeline without data: configuration, cache keys, product folders, summaries, provenance."""
from __future__ import annotations

import pytest
import yaml

from skygallery.pipeline.cache import ScwCache
from skygallery.pipeline.config import PipelineConfig
from skygallery.pipeline.folders import ProductFolder, slug
from skygallery.pipeline.provenance import repository_commit
from skygallery.pipeline.publish import product_signature
from skygallery.pipeline.summary import observation_entry, revolution_yaml, yaml_name


@pytest.mark.parametrize("kwargs, field", [
    ({"isgri_E1_keV": 40.0, "isgri_E2_keV": 28.0}, "isgri_E1_keV"),
    ({"jemx_E2_keV": 60.0}, "jemx_E1_keV"),
    ({"instruments": "isgri,picsit"}, "instruments"),
    ({"detection_threshold": 0.0}, "detection_threshold"),
    ({"lc_time_bin_s": 5.0}, "lc_time_bin_s"),
    ({"isgri_spectral_edges_keV": (30.0, 20.0)}, "isgri_spectral_edges_keV"),
])
def test_config_errors_name_the_field(kwargs, field):
    with pytest.raises(ValueError, match=f"^{field}:"):
        PipelineConfig(**kwargs)


def test_config_parameters_round_trip_and_bands():
    cfg = PipelineConfig(instruments="jemx2, isgri", lc_time_bin_s=0)
    assert cfg.instruments == ("isgri", "jemx2") and cfg.lc_bin is None
    assert cfg.binned_bands("isgri")[-1] == (28.0, 40.0) and cfg.spectral_bands("jemx2")[0] == (3.0, 4.0)
    assert PipelineConfig.from_parameters({**cfg.parameters(), "rev_num": 1}) == cfg
    assert cfg.digest() != PipelineConfig(isgri_E1_keV=30.0).digest()


def test_cache_keys_separate_data_versions_bands_and_software(tmp_path):
    cache = ScwCache(tmp_path)
    key = {"band": (28.0, 40.0)}
    nrt = cache.path("262000010010.000", "isgri", "image", key, "fits")
    cons = cache.path("262000010010.001", "isgri", "image", key, "fits")
    assert nrt != cons and nrt.parent.parent.name == "262000010010.000"
    assert cache.path("262000010010.001", "isgri", "image", {"band": (20.0, 40.0)}, "fits") != cons
    cache.software = {**cache.software, "pipeline": "999"}
    assert cache.path("262000010010.001", "isgri", "image", key, "fits") != cons
    for p in (nrt, cons):
        p.parent.mkdir(parents=True)
        p.write_text("x")
    assert cache.purge(2620, "NRT") == 1 and not nrt.exists() and cons.exists()


def test_cache_keys_follow_the_event_files(tmp_path):
    """A ScW whose events were re-written (e.g. a new simulation into the same archive) gets new keys."""
    import os
    from types import SimpleNamespace

    from skygallery.archive.events import EVENT_FILES
    from skygallery.pipeline.revolution import scw_tasks_for
    scw_dir = tmp_path / "archive" / "262000010010.001"
    events = scw_dir / EVENT_FILES["ISGR"]
    events.parent.mkdir(parents=True)
    events.write_bytes(b"first")
    rec = SimpleNamespace(scw_id="262000010010.001", path=scw_dir)
    cache, cfg = ScwCache(tmp_path / "cache"), PipelineConfig(instruments="isgri")
    [before] = scw_tasks_for([rec], cfg, cache, ["isgri"])
    assert scw_tasks_for([rec], cfg, cache, ["isgri"])[0] == before
    events.write_bytes(b"second, longer")
    os.utime(events, ns=(10**18, 10**18))
    [after] = scw_tasks_for([rec], cfg, cache, ["isgri"])
    paths = ("image_path", "cube_path", "summary_path")
    assert all(getattr(after, p) != getattr(before, p) for p in paths)


def test_product_folder_reuse_and_stale_files(tmp_path):
    folder = ProductFolder(tmp_path, "rev2620-x-isgri-lc-gx 3+1")
    assert folder.path.name == "rev2620-x-isgri-lc-gx-3p1" and slug("NEW_J1234.5+0102") == "new_j1234_5p0102"
    folder.file("a.fits").write_text("1")
    folder.file("old.png").write_text("2")
    folder.commit("in-1", [("fits", "a.fits")], {"n": 1})
    assert not (folder.path / "old.png").exists() and folder.cached("in-1")["data"] == {"n": 1}
    assert folder.cached("in-2") is None
    (folder.path / "a.fits").unlink()
    assert folder.cached("in-1") is None


def test_signature_ignores_commit_but_not_files_or_titles():
    meta = {"title": "Crab Rev. 2620", "instrument": "isgri", "product_type": "isgri_image", "e1_kev": 28,
            "e2_kev": 40, "data_version": "CONS", "provenance": {"commit": "a", "parameters": {"x": 1}},
            "files": [{"role": "fits", "name": "m.fits", "sha256": "0" * 64}], "detected_sources": []}
    same = {**meta, "provenance": {"commit": "b", "parameters": {"x": 1}}}
    assert product_signature(meta) == product_signature(same)
    assert product_signature(meta) != product_signature({**meta, "title": "Crab Rev. 2620 (NRT)"})
    assert product_signature(meta) != product_signature({**meta, "files": [{**meta["files"][0], "sha256": "1" * 64}]})


def test_revolution_summary_follows_the_mmoda_yaml():
    from types import SimpleNamespace
    group = SimpleNamespace(target="Crab", proposal="Crab monitoring", pi="Public", obsid="0001", expid="00010001",
                            ra_deg=83.63, dec_deg=22.01, rev=2620, scw_ids=["262000010010.001"])
    det = {"name": "Crab", "ra": 83.63, "dec": 22.01, "flux": 79.5, "flux_err": 0.2, "significance": 320.0,
           "new_source": False, "err_rad_deg": 0.0003}
    image = SimpleNamespace(product_id="rev2620-0001-isgri-image", detections=[det])
    entry = observation_entry(group, "CONS", "2023-03-22T20:00:00.000", "2023-03-22T21:00:00.000",
                              {"isgri": (28.0, 40.0), "jemx": (3.0, 20.0)}, {"isgri": (image, "Crab Rev. 2620", 1)})
    doc = yaml.safe_load(revolution_yaml([entry], {"skygallery": "0.1.0"}))
    assert doc[0]["isgri_fluxed_catalog"]["src_names"] == {0: "Crab"}
    assert doc[0]["isgri_fluxed_catalog"]["NEW_SOURCE"] == {0: -32768}
    assert doc[0]["isgri_gallery_object"]["product_id"] == "rev2620-0001-isgri-image"
    assert {"title", "extended_title", "pi", "obsid", "expid", "RA", "Dec", "tstart", "tstop", "scw_list",
            "E1_isgri", "E2_jemx", "isgri_source_catalog"} <= set(doc[0])
    assert yaml_name(2620, "NRT") == "obs_rev_2620_nrt.yaml" and yaml_name(2620, "CONS") == "obs_rev_2620.yaml"


def test_repository_commit_is_read_without_git(tmp_path, monkeypatch):
    git = tmp_path / "repo" / ".git"
    (git / "refs" / "heads").mkdir(parents=True)
    (git / "HEAD").write_text("ref: refs/heads/main\n")
    (git / "refs" / "heads" / "main").write_text("a" * 40 + "\n")
    assert repository_commit(tmp_path / "repo" / "notebooks" / "x.ipynb") == "a" * 40
    (git / "refs" / "heads" / "main").unlink()
    (git / "packed-refs").write_text("# pack-refs\n" + "b" * 40 + " refs/heads/main\n")
    assert repository_commit(tmp_path / "repo") == "b" * 40
    monkeypatch.setenv("SKYGALLERY_COMMIT", "c" * 40)
    assert repository_commit(tmp_path / "elsewhere") == "c" * 40
