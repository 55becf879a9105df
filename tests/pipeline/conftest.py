"""Session fixtures of the pipeline tests: a small simulated archive (two revolutions on the Crab field,
ISGRI and JEM-X1, an NRT copy of the first) and a work folder warmed by one CONS run of each revolution."""
from __future__ import annotations

import shutil
from types import SimpleNamespace

import pytest

from .helpers import REV, REV2, MemoryPublisher, make_sky, plans


@pytest.fixture(scope="session")
def sim_archive(tmp_path_factory):
    from skygallery.pipeline.simulation import simulate_revolutions
    from skygallery.science.catalog import load_reference_catalog
    root = tmp_path_factory.mktemp("pipeline-archive")
    plan_list = plans()
    sky = make_sky(plan_list)
    info = simulate_revolutions(root, plan_list, load_reference_catalog(), seed=7, instruments=("ISGR", "JMX1"),
                                sky=sky)
    return SimpleNamespace(root=root, sky=sky, plans=plan_list, info=info)


@pytest.fixture(scope="session")
def warm_workdir(sim_archive, tmp_path_factory):
    """A work folder whose cache and product folders hold the CONS results of both revolutions and the
    NRT results of the first (made with an in-memory gallery)."""
    from skygallery.pipeline.config import PipelineConfig
    from skygallery.pipeline.executors import LocalExecutor
    from skygallery.pipeline.revolution import process_revolution
    work = tmp_path_factory.mktemp("pipeline-warm")
    config = PipelineConfig(instruments=("isgri", "jemx1"))
    with LocalExecutor(1) as ex:
        process_revolution(REV, "NRT", sim_archive.root, work / "nrt", MemoryPublisher(), config, ex)
        for rev in (REV, REV2):
            process_revolution(rev, "CONS", sim_archive.root, work / "cons", MemoryPublisher(), config, ex)
    return work


@pytest.fixture
def workdir(warm_workdir, tmp_path):
    """A private copy of the warmed CONS work folder (with the NRT cache entries merged in)."""
    dest = tmp_path / "work"
    shutil.copytree(warm_workdir / "cons", dest, symlinks=True)
    shutil.copytree(warm_workdir / "nrt" / "cache", dest / "cache", dirs_exist_ok=True)
    return dest
