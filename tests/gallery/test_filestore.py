"""The file store's on-commit behaviour with real transactions."""
import io

import pytest

from skygallery.gallery.errors import InvalidInput
from skygallery.gallery.services.filestore import FileStore
from skygallery.gallery.services.products import post_product
from skygallery.gallery.services.uploads import Upload
from tests.conftest import fits_image_bytes, image_metadata


@pytest.mark.real_commit
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_files_reach_the_store_only_when_the_post_commits(isolated_store):
    store = FileStore(isolated_store)
    with pytest.raises(InvalidInput):
        post_product(image_metadata(e1_kev=50), [Upload("fits", "m.fits", io.BytesIO(fits_image_bytes()))])
    assert list(store.stored_digests()) == [] and list((isolated_store / "tmp").iterdir()) == []
    product = post_product(image_metadata(), [Upload("fits", "m.fits", io.BytesIO(fits_image_bytes()))])
    digests = [f.sha256 for f in product.current_version().files.all()]  # the FITS and its generated preview
    assert len(digests) == 2 and all(store.exists(d) for d in digests) and list((isolated_store / "tmp").iterdir()) == []


def test_stage_limit_and_stale_temp(isolated_store):
    import os
    import time
    store = FileStore(isolated_store)
    with pytest.raises(OverflowError):
        store.stage(io.BytesIO(b"x" * 100), limit=10)
    assert list((isolated_store / "tmp").iterdir()) == []
    staged = store.stage(io.BytesIO(b"abc"))
    os.utime(staged.temp_path, (time.time() - 7200, time.time() - 7200))
    assert store.clear_stale_temp(3600) == 1
