"""Publishing to a gallery: one interface, an in-process and a remote implementation, and the
idempotent posting rules shared by every workflow.

:class:`Publisher` is what the workflows talk to. :class:`LocalPublisher` calls the gallery
services in this process (Django set up by the caller); :class:`RemotePublisher` speaks the REST
API ``/api/v1`` of another SkyGallery with a contributor token. Both return the API's JSON shapes
(product metadata, observation dicts), so the workflows run the same code either way.

Posting rules (:func:`publish_product`, :func:`publish_observation`):

* product ids are stable (made from revolution, observation, instrument, source), so re-running
  never creates a second product;
* a product is posted only when what the gallery holds differs from what the run made — title,
  instrument, type, band, data version, observation, time bin, highlight, notebook, parameters,
  detected sources and the files (role, name, SHA-256). A re-run after a crash therefore posts just
  the products that are missing or changed, and never adds an identical version;
* CONS after NRT differs (title, data version, files), so it becomes a new *version* of the same
  product; the NRT version stays in the product's history with its files;
* an observation keeps one attached summary per data version (``obs_rev_NNNN_nrt.yaml``,
  ``obs_rev_NNNN.yaml``); a changed summary replaces the file of the same name, and the other files
  are re-attached (no file is dropped unnoticed).
"""
from __future__ import annotations

import hashlib
import io
import json
from abc import ABC, abstractmethod
from contextlib import ExitStack
from pathlib import Path
from typing import Any

__all__ = [
    "LocalPublisher",
    "Publisher",
    "RemotePublisher",
    "product_signature",
    "publish_observation",
    "publish_product",
    "sha256_file",
]


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class Publisher(ABC):
    """Where products go (see the module docstring); ``where`` names it for logs."""

    where = "gallery"

    @abstractmethod
    def current_product(self, product_id: str) -> dict | None: ...

    @abstractmethod
    def post_product(self, payload: dict, files: list[tuple[str, Path]]) -> dict: ...

    @abstractmethod
    def delete_product(self, product_id: str) -> None: ...

    @abstractmethod
    def revolution_products(self, rev: int) -> list[dict]:
        """Search results (summaries) of the live per-revolution products of ``rev``."""

    @abstractmethod
    def current_observation(self, title: str) -> dict | None: ...

    @abstractmethod
    def observation_file(self, obs: dict, f: dict) -> bytes: ...

    @abstractmethod
    def post_observation(self, payload: dict, files: list[tuple[str, str, bytes]], replace_files: bool) -> dict: ...

    @abstractmethod
    def revolution_status(self, rev: int) -> str:
        """The revolution's data status ("", "NRT" or "CONS")."""

    @abstractmethod
    def set_revolution_status(self, rev: int, status: str) -> None: ...

    @abstractmethod
    def post_log(self, payload: dict) -> dict: ...


class LocalPublisher(Publisher):
    """Through ``skygallery.gallery.services`` in this process, acting as ``actor`` (a contributor)."""

    where = "local gallery"

    def __init__(self, actor=None):
        self.actor = actor

    @classmethod
    def for_user(cls, username: str = "") -> LocalPublisher:
        """Set Django up (settings from the environment) and act as ``username`` — a contributor —
        or, without a name, as the first active admin."""
        import asyncio
        import os
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "skygallery.site.settings")
        try:   # a Jupyter kernel runs cells inside its event loop: the (synchronous) ORM calls are safe there
            asyncio.get_running_loop()
            os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        except RuntimeError:
            pass
        import django
        from django.apps import apps
        if not apps.ready:
            django.setup()
        from skygallery.gallery.services.accounts import acting_user
        return cls(acting_user(username))

    def current_product(self, product_id):
        from skygallery.gallery.errors import NotFound
        from skygallery.gallery.services import products
        try:
            return products.get_version(products.get_product(product_id)).metadata
        except NotFound:
            return None

    def post_product(self, payload, files):
        from skygallery.gallery.services import products
        from skygallery.gallery.services.uploads import Upload
        with ExitStack() as stack:
            uploads = [Upload(role, Path(p).name, stack.enter_context(open(p, "rb"))) for role, p in files]
            product = products.post_product(payload, uploads, actor=self.actor)
        return products.get_version(product).metadata

    def delete_product(self, product_id):
        from skygallery.gallery.services import products
        products.delete_product(product_id, actor=self.actor)

    def revolution_products(self, rev):
        from skygallery.gallery.models import Product
        from skygallery.gallery.services.serialize import product_summary
        qs = (Product.objects.filter(deleted_at__isnull=True, span=0, rev1__lte=rev, rev2__gte=rev)
              .select_related("instrument", "product_type", "observation").prefetch_related("sources"))
        return [product_summary(p) for p in qs]

    def current_observation(self, title):
        from skygallery.gallery.errors import NotFound
        from skygallery.gallery.services.observations import get_observation
        from skygallery.gallery.services.serialize import observation_dict
        try:
            return observation_dict(get_observation(title))
        except NotFound:
            return None

    def observation_file(self, obs, f):
        from skygallery.gallery.services.filestore import FileStore
        return FileStore().path(f["sha256"]).read_bytes()

    def post_observation(self, payload, files, replace_files):
        from skygallery.gallery.services.observations import post_observation
        from skygallery.gallery.services.serialize import observation_dict
        from skygallery.gallery.services.uploads import Upload
        uploads = [Upload(role, name, io.BytesIO(data)) for role, name, data in files]
        obs, _ = post_observation(payload, uploads, actor=self.actor, replace_files=replace_files)
        return observation_dict(obs)

    def revolution_status(self, rev):
        from skygallery.gallery.services.observations import get_revolution
        return get_revolution(rev).data_status or ""

    def set_revolution_status(self, rev, status):
        from skygallery.gallery.services.observations import set_revolution_status
        set_revolution_status(rev, status)

    def post_log(self, payload):
        from skygallery.gallery.services.observations import post_processing_log
        log = post_processing_log(payload, actor=self.actor)
        return {"id": log.pk, "revolution": log.revolution_id, "job_id": log.job_id, "status": log.status}


class RemotePublisher(Publisher):
    """Through the REST API of the SkyGallery at ``url`` with a contributor ``token``
    (``session``: a ``requests.Session``-like object, e.g. a test adapter)."""

    def __init__(self, url: str, token: str | None, session=None, timeout: float = 300.0):
        from skygallery.client.http import GalleryHTTPClient
        self.client = GalleryHTTPClient(url, token, timeout=timeout, session=session)
        self.where = self.client.root

    def _call(self, method: str, path: str, **kwargs) -> Any:
        return self.client.request(method, self.client.api_url(path), **kwargs).json()

    def current_product(self, product_id):
        from skygallery.client.http import GalleryHTTPError
        try:
            return self.client.get(product_id)
        except GalleryHTTPError as exc:
            if exc.status == 404:
                return None
            raise

    def post_product(self, payload, files):
        return self.client.post_product(payload, [(role, Path(p)) for role, p in files])

    def delete_product(self, product_id):
        self.client.delete(product_id)

    def revolution_products(self, rev):
        out, page = [], 1
        while True:
            result = self.client.search({"rev": rev, "span": 0, "page_size": 500, "page": page})
            out += result["results"]
            if page * result["page_size"] >= result["total"]:
                return out
            page += 1

    def current_observation(self, title):
        found = self._call("GET", "/observations", params={"title": title})
        return next((o for o in found if o["title"] == title), None)

    def observation_file(self, obs, f):
        buf = io.BytesIO()
        self.client.download(f["url"], buf)
        return buf.getvalue()

    def post_observation(self, payload, files, replace_files):
        parts = [(role, (name, io.BytesIO(data), "application/yaml")) for role, name, data in files]
        params = {"update": "true", "replace_files": "true" if replace_files else "false"}
        return self._call("POST", "/observations", params=params, data={"metadata": json.dumps(payload)},
                          files=parts)

    def revolution_status(self, rev):
        return self._call("GET", f"/revolutions/{int(rev)}").get("data_status") or ""

    def set_revolution_status(self, rev, status):
        self._call("PUT", f"/revolutions/{int(rev)}", json={"data_status": status})

    def post_log(self, payload):
        return self._call("POST", "/processing-logs", json=payload)


# ---------------------------------------------------------------------------------- posting rules

def _r(x, nd: int = 6):
    return None if x is None else round(float(x), nd)


def product_signature(meta: dict) -> dict:
    """The compared part of a product's metadata (a gallery version, or a payload plus file digests)."""
    prov = meta.get("provenance") or {}
    return {
        "title": meta.get("title"), "instrument": meta.get("instrument"), "product_type": meta.get("product_type"),
        "e1_kev": _r(meta.get("e1_kev")), "e2_kev": _r(meta.get("e2_kev")), "data_version": meta.get("data_version"),
        "observation": meta.get("observation"), "time_bin_s": _r(meta.get("time_bin_s")),
        "highlight": bool(meta.get("highlight")), "notebook": prov.get("notebook", ""),
        "parameters": json.loads(json.dumps(prov.get("parameters") or {}, sort_keys=True)),
        "detected": sorted((d["name"], _r(d.get("significance"), 3), bool(d.get("new_source")))
                           for d in meta.get("detected_sources") or []),
        "files": sorted((f["role"], f["name"], f["sha256"]) for f in meta.get("files") or []),
    }


def publish_product(publisher: Publisher, payload: dict, files: list[tuple[str, str | Path]]) -> str:
    """Post ``payload`` with ``files`` unless the gallery already holds the same; returns
    ``"created"``, ``"new version"`` or ``"unchanged"``."""
    digests = [{"role": role, "name": Path(p).name, "sha256": sha256_file(p)} for role, p in files]
    current = publisher.current_product(payload["product_id"])
    if current is not None and product_signature(current) == product_signature({**payload, "files": digests}):
        return "unchanged"
    meta = publisher.post_product(payload, [(role, Path(p)) for role, p in files])
    return "created" if meta.get("version", 1) == 1 else "new version"


def publish_observation(publisher: Publisher, payload: dict, yaml_name: str, yaml_bytes: bytes) -> str:
    """Create or update an observation with its summary file (module docstring); returns the action."""
    current = publisher.current_observation(payload["title"])
    digest = hashlib.sha256(yaml_bytes).hexdigest()
    if current is None:
        publisher.post_observation(payload, [("yaml", yaml_name, yaml_bytes)], replace_files=False)
        return "created"
    same_fields = all(current.get(k) == v for k, v in payload.items() if k not in ("t1", "t2"))
    have = {f["name"]: f for f in current.get("files", [])}
    if same_fields and yaml_name in have and have[yaml_name]["sha256"] == digest:
        return "unchanged"
    if yaml_name in have and have[yaml_name]["sha256"] != digest:
        others = [(f["role"], f["name"], publisher.observation_file(current, f)) for f in current["files"]
                  if f["name"] != yaml_name]
        publisher.post_observation(payload, others + [("yaml", yaml_name, yaml_bytes)], replace_files=True)
    else:
        files = [] if yaml_name in have else [("yaml", yaml_name, yaml_bytes)]
        publisher.post_observation(payload, files, replace_files=False)
    return "updated"
