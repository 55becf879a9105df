"""/api/v1/products: search, read, versions, post (multipart or JSON), delete, file download."""
from __future__ import annotations

from ninja import Status, Query, Router, Schema

from ..schemas import ProductIn
from ..services import products as svc
from ..services.search import search_products
from ..services.serialize import file_dict, product_summary, version_summary
from .auth import WRITE_AUTH, require_contributor
from .files import file_response
from .multipart import read_metadata_and_files

router = Router(tags=["products"])


class ProductFilters(Schema):
    instrument: str | None = None
    product_type: str | None = None
    family: str | None = None
    source: str | None = None
    object_type: str | None = None
    e1: str | None = None
    e2: str | None = None
    band_mode: str | None = None
    t1: str | None = None
    t2: str | None = None
    time_format: str | None = None
    rev: str | None = None
    rev1: str | None = None
    rev2: str | None = None
    rev_mode: str | None = None
    span: str | None = None
    min_span: str | None = None
    max_span: str | None = None
    long_term: str | None = None
    highlight: str | None = None
    data_version: str | None = None
    observation: str | None = None
    q: str | None = None
    ra: str | None = None
    dec: str | None = None
    radius: str | None = None
    radius_unit: str | None = None
    sort: str | None = None
    page: str | None = None
    page_size: str | None = None


@router.get("", summary="Search products over the whole mission")
def search(request, filters: Query[ProductFilters]):
    """Filters combine with AND; see the parameter list. `total` is exact up to 10,000 (`total_exact`)."""
    page = search_products(filters.dict(exclude_none=True))
    return {"total": page.total, "total_exact": page.total_exact, "page": page.page, "page_size": page.page_size,
            "query": page.query, "results": [product_summary(p) for p in page.results]}


@router.get("/{product_id}", summary="The latest version of a product")
def get(request, product_id: str):
    product = svc.get_product(product_id)
    data = dict(svc.get_version(product).metadata)
    data.update({"version": product.version, "n_versions": product.version})
    return data


@router.get("/{product_id}/versions", summary="All versions of a product, newest first")
def versions(request, product_id: str):
    product = svc.get_product(product_id)
    return [version_summary(v) for v in product.versions.select_related("created_by").order_by("-number")]


@router.get("/{product_id}/versions/{number}", summary="One version of a product, with its own files")
def version(request, product_id: str, number: int):
    return svc.get_version(svc.get_product(product_id), number).metadata


@router.get("/{product_id}/files", summary="Files of the latest version")
def files(request, product_id: str):
    product = svc.get_product(product_id)
    return [file_dict(f, product_id) for f in svc.get_version(product).files.all()]


@router.get("/{product_id}/files/{file_id}", summary="Download a file", response={200: None})
def download(request, product_id: str, file_id: int):
    return file_response(svc.get_file(product_id, file_id))


MULTIPART_DOC = {
    "requestBody": {"content": {
        "multipart/form-data": {"schema": {"type": "object", "required": ["metadata"], "properties": {
            "metadata": {"type": "string", "description": "JSON object of ProductIn"},
            **{role: {"type": "array", "items": {"type": "string", "format": "binary"},
                      "description": f"files with role {role}"}
               for role in ("fits", "region", "rmf", "arf", "preview", "table", "yaml", "html-attachment", "other")},
        }}},
        "application/json": {"schema": ProductIn.model_json_schema()},
    }, "required": True},
}


@router.post("", auth=WRITE_AUTH, response={201: dict, 200: dict}, openapi_extra=MULTIPART_DOC,
             summary="Create a product, or a new version of an existing product_id")
def post(request):
    """Multipart: a `metadata` JSON field plus files in fields named by role (fits, region, rmf, arf,
    preview, table, yaml, html-attachment, other). JSON body: metadata only."""
    user = require_contributor(request)
    metadata, uploads = read_metadata_and_files(request)
    product = svc.post_product(metadata, uploads, actor=user)
    data = svc.get_version(product).metadata
    return Status((201 if product.version == 1 else 200), data)


@router.delete("/{product_id}", auth=WRITE_AUTH, summary="Delete a product (soft: files kept until collected)")
def delete(request, product_id: str):
    user = require_contributor(request)
    product = svc.delete_product(product_id, actor=user)
    return {"product_id": product.product_id, "deleted": True}
