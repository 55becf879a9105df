"""Resumability: a run killed in the middle (a real SIGKILL of the command), a run failing while posting,
and a run failing in one ScW task are completed by a re-run without any duplicate product or version."""
from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from skygallery.pipeline.config import PipelineConfig
from skygallery.pipeline.executors import LocalExecutor
from skygallery.pipeline.publish import LocalPublisher
from skygallery.pipeline.revolution import process_revolution

from .helpers import REV, MemoryPublisher

ISGRI = PipelineConfig(instruments=("isgri",))
SG = [sys.executable, "-m", "skygallery.client.cli"]


def _env(home: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "SKYGALLERY_URL", "SKYGALLERY_TOKEN")}
    env.update(SKYGALLERY_HOME=str(home), SKYGALLERY_CATALOG="", SKYGALLERY_DASK="")
    return env


def test_killed_command_is_completed_by_a_rerun_without_duplicates(sim_archive, tmp_path):
    """SIGKILL while the ScWs are being processed; the re-run reuses the finished ScWs and posts each
    product once (its own SQLite gallery: the command runs in another process)."""
    home, work = tmp_path / "home", tmp_path / "work"
    env = _env(home)
    subprocess.run([*SG, "init"], env=env, check=True, capture_output=True)
    subprocess.run([*SG, "user", "create", "admin", "--role", "admin", "--no-password"], env=env, check=True,
                   capture_output=True)
    command = [*SG, "process-revolution", str(REV), "--archive", str(sim_archive.root), "--workdir", str(work),
               "--instruments", "isgri", "--workers", "1"]
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not list((work / "cache" / "scw").glob("*/*/isgri/summary-*.json")):
        assert proc.poll() is None, "the run ended before it could be killed"
        assert time.monotonic() < deadline, "no ScW finished within 120 s"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done_before = len(list((work / "cache" / "scw").glob("*/*/isgri/summary-*.json")))
    assert 1 <= done_before < 3
    rerun = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert f"3 ({done_before} cached, 0 without data)" in rerun.stdout
    with sqlite3.connect(home / "skygallery.sqlite3") as db:
        products = db.execute("SELECT product_id, version FROM gallery_product").fetchall()
        versions = db.execute("SELECT COUNT(*) FROM gallery_productversion").fetchone()[0]
        logs = [s for (s,) in db.execute("SELECT status FROM gallery_processinglog ORDER BY id")]
    ids = [p for p, _ in products]
    assert len(ids) == len(set(ids)) >= 7 and all(v == 1 for _, v in products) and versions == len(ids)
    assert {f"rev{REV}-26200001-isgri-image", f"rev{REV}-26200001-isgri-lc-crab"} <= set(ids)
    assert logs == ["running", "running", "success"]   # the killed run never finished its log
    assert not list(work.rglob(".tmp-*"))


class FailingPublisher(LocalPublisher):
    """Posts ``limit`` products, then fails like a gallery going away."""

    def __init__(self, actor, limit: int):
        super().__init__(actor)
        self.left = limit

    def post_product(self, payload, files):
        if self.left == 0:
            raise ConnectionError("gallery unreachable")
        self.left -= 1
        return super().post_product(payload, files)


@pytest.mark.django_db
def test_failure_while_posting_then_rerun_posts_only_the_rest(sim_archive, workdir, contributor):
    from skygallery.gallery.models import ProcessingLog, Product, ProductVersion
    with pytest.raises(ConnectionError):
        process_revolution(REV, "CONS", sim_archive.root, workdir, FailingPublisher(contributor, 3), ISGRI,
                           LocalExecutor(1))
    assert Product.objects.count() == 3
    assert ProcessingLog.objects.filter(status="failure", text__contains="gallery unreachable").count() == 1
    report = process_revolution(REV, "CONS", sim_archive.root, workdir, LocalPublisher(contributor), ISGRI,
                                LocalExecutor(1))
    n = report.n_products
    assert report.actions["unchanged"] == 3 and report.actions["created"] == n - 3
    assert Product.objects.count() == n == ProductVersion.objects.count()
    assert list(ProcessingLog.objects.order_by("id").values_list("status", flat=True)) == \
        ["running", "failure", "running", "success"]


def test_failing_scw_task_then_rerun_redoes_only_the_missing_scws(sim_archive, tmp_path, monkeypatch):
    from skygallery.pipeline import revolution
    real, calls = revolution.process_scw, []

    def flaky(task):
        calls.append(task.scw_id)
        if len(calls) == 2:
            raise OSError(f"{task.scw_path}: disk error")
        return real(task)
    monkeypatch.setattr(revolution, "process_scw", flaky)
    gallery = MemoryPublisher()
    with pytest.raises(OSError, match="disk error"):
        process_revolution(REV, "CONS", sim_archive.root, tmp_path, gallery, ISGRI, LocalExecutor(1))
    assert gallery.posts == 0 and [log["status"] for log in gallery.logs] == ["running", "failure"]
    monkeypatch.setattr(revolution, "process_scw", real)
    report = process_revolution(REV, "CONS", sim_archive.root, tmp_path, gallery, ISGRI, LocalExecutor(1))
    assert report.scws["isgri"] == {"ok": 3, "skipped": 0, "cached": 1}
    assert all(len(v) == 1 for v in gallery.products.values()) and gallery.posts == report.n_products
