"""Publishing to a remote SkyGallery through its REST API with a token (a live test server): the same
workflow code as in-process, the same products, and an unchanged re-run posts nothing."""
from __future__ import annotations

import pytest

from skygallery.pipeline.config import PipelineConfig
from skygallery.pipeline.executors import LocalExecutor
from skygallery.pipeline.publish import RemotePublisher
from skygallery.pipeline.revolution import process_revolution

from .helpers import REV2, MemoryPublisher

ISGRI = PipelineConfig(instruments=("isgri",))


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_remote_publishing_with_a_token(sim_archive, workdir, live_server, contributor, contributor_token):
    from skygallery.gallery.models import ProcessingLog, Product, Revolution
    from skygallery.gallery.services.observations import get_observation
    publisher = RemotePublisher(live_server.url, contributor_token)
    report = process_revolution(REV2, "CONS", sim_archive.root, workdir, publisher, ISGRI, LocalExecutor(1))
    memory = MemoryPublisher()
    expected = process_revolution(REV2, "CONS", sim_archive.root, workdir, memory, ISGRI, LocalExecutor(1))
    ids = set(Product.objects.values_list("product_id", flat=True))
    assert ids == set(memory.products) == {p for v in expected.products.values() for p in v}
    assert report.actions["created"] == len(ids) and Product.objects.filter(created_by=contributor).count() == len(ids)
    image = Product.objects.get(product_id=f"rev{REV2}-26210001-isgri-image")
    assert image.notebook == "skygallery/pipeline/revolution.py" and image.parameters["rev_num"] == REV2
    assert image.parameters["scw_list"] == [f"{REV2}000{i}0010.001" for i in (1, 2)]
    assert image.software["pipeline"] and image.repository_commit == memory.products[image.product_id][0][
        "provenance"]["commit"]
    obs = get_observation(f"Crab Rev. {REV2}")
    assert [f.original_name for f in obs.files.all()] == [f"obs_rev_{REV2}.yaml"]
    assert Revolution.objects.get(number=REV2).data_status == "CONS"
    assert list(ProcessingLog.objects.values_list("status", flat=True).order_by("id")) == ["running", "success"]
    again = process_revolution(REV2, "CONS", sim_archive.root, workdir, publisher, ISGRI, LocalExecutor(1))
    assert set(again.actions) == {"unchanged", "observation unchanged"}


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_remote_publishing_needs_a_contributor_token(sim_archive, workdir, live_server, reader_token):
    from skygallery.client.http import GalleryHTTPError
    with pytest.raises(GalleryHTTPError) as err:
        process_revolution(REV2, "CONS", sim_archive.root, workdir, RemotePublisher(live_server.url, reader_token),
                           ISGRI, LocalExecutor(1))
    assert err.value.status == 403
