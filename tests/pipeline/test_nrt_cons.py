"""NRT then CONS: new versions of the same products (titles lose "(NRT)"), the revolution marked CONS,
NRT-only products removed, and no orphan file in the gallery's store, the cache or the product folders."""
from __future__ import annotations

import pytest

from skygallery.pipeline.config import PipelineConfig
from skygallery.pipeline.executors import LocalExecutor
from skygallery.pipeline.folders import slug
from skygallery.pipeline.publish import LocalPublisher
from skygallery.pipeline.revolution import process_revolution

from .helpers import REV

pytestmark = pytest.mark.django_db
ISGRI = PipelineConfig(instruments=("isgri",))


def test_nrt_then_cons_makes_versions_and_leaves_no_orphans(sim_archive, workdir, contributor):
    from skygallery.gallery.models import Product, Revolution
    from skygallery.gallery.services.maintenance import collect_garbage
    from skygallery.gallery.services.observations import get_observation
    from skygallery.gallery.services.products import get_version
    publisher = LocalPublisher(contributor)

    def run(dv):
        return process_revolution(REV, dv, sim_archive.root, workdir, publisher, ISGRI, LocalExecutor(1))
    nrt = run("NRT")
    assert Revolution.objects.get(number=REV).data_status == "NRT"
    nrt_ids = {pid for ids in nrt.products.values() for pid in ids}
    assert all(p.title.endswith("(NRT)") and p.data_version == "NRT" for p in Product.objects.all())
    obs = get_observation(f"Crab Rev. {REV}")
    assert [f.original_name for f in obs.files.all()] == [f"obs_rev_{REV}_nrt.yaml"]
    assert all(s.endswith(".000") for s in obs.scw_list) and len(obs.scw_list) == 2   # NRT lacks the last ScW

    cons = run("CONS")
    cons_ids = {pid for ids in cons.products.values() for pid in ids}
    assert Revolution.objects.get(number=REV).data_status == "CONS"
    for product in Product.objects.filter(product_id__in=nrt_ids & cons_ids):
        assert product.version == 2 and product.data_version == "CONS" and not product.title.endswith("(NRT)")
        first = get_version(product, 1).metadata
        assert first["title"] == product.title + " (NRT)" and first["data_version"] == "NRT"
        assert {f["sha256"] for f in first["files"] if f["role"] == "fits"} != \
            {f["sha256"] for f in get_version(product).metadata["files"] if f["role"] == "fits"}
    removed = nrt_ids - cons_ids
    assert set(Product.objects.filter(deleted_at__isnull=False).values_list("product_id", flat=True)) == removed
    assert cons.actions["removed"] == len(removed)
    obs.refresh_from_db()
    assert sorted(f.original_name for f in obs.files.all()) == [f"obs_rev_{REV}.yaml", f"obs_rev_{REV}_nrt.yaml"]
    assert all(s.endswith(".001") for s in obs.scw_list) and len(obs.scw_list) == 3

    assert collect_garbage(dry_run=True).blobs_removed == []                   # every stored file is referenced
    scw_cache = workdir / "cache" / "scw" / f"{REV:04d}"
    assert not [p for p in scw_cache.iterdir() if p.name.endswith(".000")]    # NRT cache entries purged
    live = {slug(p) for p in Product.objects.filter(deleted_at__isnull=True).values_list("product_id", flat=True)}
    folders = {p.name for p in (workdir / "products").iterdir() if p.name.startswith(f"rev{REV}-26200001-isgri")}
    assert folders <= live and {slug(pid) for pid in cons_ids} <= folders
    assert [p.name for p in (workdir / "products" / f"rev_{REV:04d}").iterdir()] == [f"obs_rev_{REV}.yaml"]
    assert not list(workdir.rglob(".tmp-*"))

    with pytest.raises(ValueError, match="data_version: revolution 2620 already has CONS"):
        run("NRT")
    again = run("CONS")
    assert set(again.actions) == {"unchanged", "observation unchanged"}
