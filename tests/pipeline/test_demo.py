"""`skygallery demo` (what `make demo` runs), scaled down: simulate three revolutions, process them (the
last one NRT then CONS), make long-term products, summarise; a second run reuses everything."""
from __future__ import annotations

import pytest
from typer.testing import CliRunner

from skygallery.client.cli import app

pytestmark = pytest.mark.django_db


def test_demo_pipeline_then_rerun(tmp_path):
    from skygallery.gallery.models import Product, Revolution
    args = ["demo", "--no-serve", "--scale", "0.1", "--instruments", "isgri", "--workers", "1",
            "--workdir", str(tmp_path)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "Demo gallery" in result.output and "time taken" in result.output
    assert dict(Revolution.objects.filter(number__in=(2620, 2621, 2622)).values_list("number", "data_status")) == \
        {2620: "CONS", 2621: "CONS", 2622: "CONS"}
    live = Product.objects.filter(deleted_at__isnull=True)
    last = live.filter(product_id__startswith="rev2622-")
    assert last.exists() and all(p.data_version == "CONS" and not p.title.endswith("(NRT)") for p in last)
    assert last.get(product_id="rev2622-26220001-isgri-image").version == 2   # NRT (first ScW only), then CONS
    assert live.filter(product_id__startswith="rev2621-26210001-isgri-image").exists()
    for source in ("crab", "cyg-x-1"):
        long_term = live.filter(product_id__startswith=f"src-{source}-isgri-")
        assert {p.product_type.name for p in long_term} == {"isgri_image", "isgri_lc", "isgri_spectrum"}
        assert all(p.span >= 1 for p in long_term)   # Crab: revs 2620-2622, Cyg X-1: 2621-2622
    assert live.filter(highlight=True).exists()
    assert (tmp_path / "archive" / "idx" / "scw_index.fits").is_file()
    before = {p.product_id: p.version for p in live}
    again = CliRunner().invoke(app, args)
    assert again.exit_code == 0, again.output
    assert "already replaced by CONS, skipped" in again.output
    assert {p.product_id: p.version for p in Product.objects.filter(deleted_at__isnull=True)} == before
    assert "created" not in again.output.split("gallery actions")[1].split("\n")[0]
