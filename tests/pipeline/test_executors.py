"""Executors: the local process pool and Dask (a LocalCluster) run the same tasks to the same results."""
from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from skygallery.pipeline.config import PipelineConfig
from skygallery.pipeline.executors import DaskExecutor, LocalExecutor, make_executor
from skygallery.pipeline.revolution import process_revolution

from .helpers import REV2, MemoryPublisher


def square(x):
    return x * x


def fail_on_three(x):
    if x == 3:
        raise ValueError("x: three is not allowed")
    return x


def test_local_pool_runs_in_parallel_and_reports_each_task():
    done = []
    with LocalExecutor(2) as ex:
        assert ex.map(square, range(8), lambda i, r: done.append((i, r))) == [i * i for i in range(8)]
        assert sorted(done) == [(i, i * i) for i in range(8)]
        with pytest.raises(ValueError, match="three"):
            ex.map(fail_on_three, range(6))
        assert ex.map(square, [5]) == [25]   # the pool survives a failed map


def test_executor_choice_and_bad_settings(monkeypatch):
    with pytest.raises(ValueError, match="workers"):
        LocalExecutor(0)
    with pytest.raises(ValueError, match="workers: give either"):
        make_executor(2, "tcp://127.0.0.1:1")
    monkeypatch.delenv("SKYGALLERY_DASK", raising=False)
    assert isinstance(make_executor(1), LocalExecutor)
    with pytest.raises(ValueError, match="dask: cannot connect"):
        DaskExecutor("tcp://127.0.0.1:1", timeout="1s")


def _content(folder: Path) -> dict:
    """The mosaic maps (decompressed) exactly, and the detections of an image product to 4-5 digits."""
    import json

    import numpy as np
    from astropy.io import fits
    out = {}
    for path in sorted(folder.glob("*.fits")):
        with fits.open(path) as hdul:
            for i, hdu in enumerate(hdul):
                if hdu.data is not None and not hasattr(hdu, "columns") or "mosa_ima" in path.name:
                    raw = repr(hdu.data.tolist()).encode() if hasattr(hdu, "columns") else np.asarray(hdu.data).tobytes()
                    out[f"{path.name}[{i}]"] = hashlib.sha256(raw).hexdigest()
    detections = json.loads((folder / "manifest.json").read_text())["data"]["detections"]
    # detection fits (scipy least squares) may differ in the last digits with another BLAS thread count
    out["detections"] = [(d["name"], round(d["ra"], 4), round(d["dec"], 4), round(d["flux"], 3),
                          round(d["significance"], 2)) for d in detections]
    return out


def test_dask_local_cluster_gives_the_products_of_the_local_pool(sim_archive, warm_workdir, tmp_path, monkeypatch):
    from distributed import LocalCluster
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        monkeypatch.setenv("SKYGALLERY_DASK", cluster.scheduler_address)
        executor = make_executor()
        assert isinstance(executor, DaskExecutor) and executor.workers == 2
        with executor:
            assert executor.map(square, range(5)) == [0, 1, 4, 9, 16]
            with pytest.raises(ValueError, match="three"):
                executor.map(fail_on_three, range(5))
            report = process_revolution(REV2, "CONS", sim_archive.root, tmp_path, MemoryPublisher(),
                                        PipelineConfig(instruments=("isgri", "jemx1")), executor)
    assert report.executor.startswith("dask at tcp://") and report.scws["isgri"]["ok"] == 2
    local = warm_workdir / "cons" / "products"
    for pid in report.products["image"]:
        assert _content(tmp_path / "products" / pid) == _content(local / pid)
