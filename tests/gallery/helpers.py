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
