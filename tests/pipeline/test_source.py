"""Long-term products of a source over several revolutions: a mosaic, light curves per ScW and per
revolution, a cumulative spectrum; shown as long-term (span > 0); a flaring source is a highlight."""
from __future__ import annotations

import pytest
from astropy.io import fits

from skygallery.pipeline.config import PipelineConfig
from skygallery.pipeline.executors import LocalExecutor
from skygallery.pipeline.publish import LocalPublisher
from skygallery.pipeline.source import process_source, resolve_position

from .helpers import NEIGHBOUR, REV, REV2

pytestmark = pytest.mark.django_db
ISGRI = PipelineConfig(instruments=("isgri",))


def _rows(product) -> int:
    from skygallery.gallery.services.filestore import FileStore
    f = product.versions.get(number=product.version).files.get(role="fits")
    with fits.open(FileStore().path(f.sha256)) as hdul:
        return len(hdul["RATE"].data)


def test_long_term_products_and_highlight_of_a_flaring_source(sim_archive, workdir, contributor):
    from skygallery.gallery.models import Product
    report = process_source(NEIGHBOUR[0], sim_archive.root, workdir, LocalPublisher(contributor), ISGRI,
                            LocalExecutor(1))
    base = f"src-1a-0535p262-isgri-{{}}-{REV:04d}-{REV2:04d}"
    products = {kind: Product.objects.get(product_id=base.format(kind)) for kind in ("image", "lc-scw", "lc-rev",
                                                                                  "spectrum")}
    assert report.revolutions == (REV, REV2) and report.scws == {"isgri": 5}
    assert all(p.span == 1 and p.is_long_term for p in products.values())
    assert _rows(products["lc-scw"]) == 5 and _rows(products["lc-rev"]) == 2
    assert products["lc-scw"].highlight and report.stats["isgri"]["lc"]["variable"]
    assert products["lc-scw"].parameters["src_name"] == NEIGHBOUR[0] and "lc_time_bin_s" not in \
        products["lc-scw"].parameters
    assert {f.role for f in products["spectrum"].versions.get().files.all()} == {"fits", "rmf", "arf", "preview"}
    assert [s.name for s in products["spectrum"].sources.all()] == [NEIGHBOUR[0]]
    crab = process_source("Crab", sim_archive.root, workdir, LocalPublisher(contributor), ISGRI, LocalExecutor(1))
    assert not crab.highlights and abs(crab.stats["isgri"]["spectrum"]["photon_index"] - 2.1) < 0.05
    again = process_source("Crab", sim_archive.root, workdir, LocalPublisher(contributor), ISGRI, LocalExecutor(1))
    assert set(again.actions) == {"unchanged"}


def test_source_position_errors():
    with pytest.raises(ValueError, match="^name: 'No Such Source' is not in the reference catalog"):
        resolve_position("No Such Source")
    with pytest.raises(ValueError, match="^ra: give both"):
        resolve_position("X", ra=10.0)
    assert resolve_position("Tau A")[0] == "Crab"
