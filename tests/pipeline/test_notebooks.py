"""The pipeline notebooks, run with papermill on a local kernel (no network beyond a live test server):
their products link to the notebook and carry its parameters, and the gallery's "Copy parameters"
text pastes straight into the notebook's parameters cell."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from skygallery.client.cli import app

from .helpers import NEIGHBOUR, REV2

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def _parameters_cell(name: str) -> str:
    nb = json.loads((NOTEBOOKS / name).read_text())
    cell = next(c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", []))
    return "".join(cell["source"])


def _check_copy_paste(product, notebook: str) -> None:
    """The product page's parameters text, pasted under the notebook's parameters cell, gives back
    exactly the product's parameters, all of them declared by the notebook."""
    import papermill

    from skygallery.gallery.services.pages import parameters_cell
    declared = set(papermill.inspect_notebook(str(NOTEBOOKS / notebook)))
    assert product.notebook == f"notebooks/{notebook}"
    assert set(product.parameters) <= declared, set(product.parameters) - declared
    namespace: dict = {}
    exec(_parameters_cell(notebook) + "\n" + parameters_cell(product.parameters), namespace)  # noqa: S102
    assert {k: namespace[k] for k in product.parameters} == product.parameters


def _run(tmp_path, name: str, *params) -> dict:
    out = tmp_path / f"{name}.ipynb"
    args = ["run-notebook", name, "--output", str(out)]
    for key, value in params:
        args += ["-p", key, str(value)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    return json.loads(out.read_text())


def test_revolution_notebook(sim_archive, workdir, live_server, contributor_token, monkeypatch, tmp_path):
    from skygallery.gallery.models import Product
    from skygallery.pipeline.provenance import repository_commit
    monkeypatch.setenv("SKYGALLERY_TOKEN", contributor_token)
    executed = _run(tmp_path, "revolution_products", ("rev_num", REV2), ("instruments", "isgri"),
                    ("archive", sim_archive.root), ("workdir", workdir), ("gallery_url", live_server.url),
                    ("workers", 1), ("lc_time_bin_s", 0))
    image = Product.objects.get(product_id=f"rev{REV2}-26210001-isgri-image")
    _check_copy_paste(image, "revolution_products.ipynb")
    assert image.parameters["rev_num"] == REV2 and image.parameters["lc_time_bin_s"] == 0
    assert image.repository_commit == repository_commit()
    lc = Product.objects.get(product_id=f"rev{REV2}-26210001-isgri-lc-crab")
    assert lc.notebook == "notebooks/revolution_products.ipynb" and lc.time_bin_s is None
    outputs = [o for c in executed["cells"] for o in c.get("outputs", [])]
    assert sum("image/png" in o.get("data", {}) for o in outputs) >= 3     # mosaic, light curve, spectrum inline
    assert any("| Crab |" in "".join(o.get("data", {}).get("text/markdown", "")) for o in outputs)


def test_source_notebook(sim_archive, workdir, live_server, contributor_token, monkeypatch, tmp_path):
    from skygallery.gallery.models import Product
    monkeypatch.setenv("SKYGALLERY_TOKEN", contributor_token)
    _run(tmp_path, "source_products", ("src_name", NEIGHBOUR[0]), ("instruments", "isgri"),
         ("archive", sim_archive.root), ("workdir", workdir), ("gallery_url", live_server.url), ("workers", 1))
    products = Product.objects.filter(product_id__startswith="src-1a-0535p262-isgri-")
    assert {p.product_type.name for p in products} == {"isgri_image", "isgri_lc", "isgri_spectrum"}
    assert all(p.span == 1 for p in products) and products.filter(highlight=True).exists()
    for product in products:
        _check_copy_paste(product, "source_products.ipynb")
