"""Helpers for the gallery tests: authenticated requests and multipart posts."""
from __future__ import annotations

import json

from django.core.files.uploadedfile import SimpleUploadedFile


def auth(token: str | None) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}


def post_product(client, token, metadata: dict, files: dict[str, list[tuple[str, bytes]]] | None = None):
    """POST /api/v1/products as multipart: ``files`` maps a role to [(name, content), ...]."""
    data = {"metadata": json.dumps(metadata)}
    for role, items in (files or {}).items():
        data[role] = [SimpleUploadedFile(name, content) for name, content in items]
    return client.post("/api/v1/products", data, **auth(token))


def json_call(client, method: str, url: str, token=None, body=None):
    fn = getattr(client, method)
    if body is None:
        return fn(url, **auth(token))
    return fn(url, data=json.dumps(body), content_type="application/json", **auth(token))


def fields(response) -> set[str]:
    """Field names named by a 4xx response's detail."""
    return {".".join(str(p) for p in d.get("loc", [])) for d in response.json()["detail"]}


def post_light_curve(product_id: str, sources: list, **changes):
    """Post (through the services) a minimal ISGRI light-curve product linked to ``sources``."""
    from skygallery.gallery.services.products import post_product as post
    meta = {"product_id": product_id, "title": product_id, "instrument": "isgri", "product_type": "isgri_lc",
            "e1_kev": 28, "e2_kev": 40, "t1": "2022-10-27T13:01:29", "t2": "2022-10-28T03:44:53", "sources": sources,
            "create_sources": True, **changes}
    return post(meta)
