"""Posting, versioning, reading and deleting products."""
from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ..errors import InvalidInput, NotFound
from ..models import DetectedSource, Observation, Product, ProductFile, ProductSource, ProductType, ProductVersion, Revolution
from ..schemas import ProductIn, parse_schema
from . import vocab
from .filestore import FileStore, staged_files
from .serialize import product_metadata
from .sources import find_source, link_source, validate_position
from .timing import parse_time_field, revolution_bounds, revolution_range
from .previews import make_preview
from .uploads import CheckedFile, Upload, check_uploads

SOURCE_FAMILIES = {"lightcurve", "spectrum"}


def _validate(data: ProductIn) -> dict[str, Any]:
    """Field checks beyond types; returns the derived values (times, revolutions, vocabulary rows)."""
    errors: list[tuple[str, str]] = []

    def attempt(fn, *args):
        try:
            return fn(*args)
        except InvalidInput as exc:
            errors.extend(exc.errors)
            return None

    out = {"instrument": attempt(vocab.instrument, data.instrument),
           "product_type": attempt(vocab.product_type, data.product_type),
           "t1": attempt(parse_time_field, data.t1, "t1", data.time_format),
           "t2": attempt(parse_time_field, data.t2, "t2", data.time_format)}
    if out["instrument"] and out["product_type"] and not out["product_type"].accepts(out["instrument"]):
        errors.append(("product_type", f"{data.product_type!r} is not a product type of {data.instrument!r}"))
    if not data.e1_kev > 0:
        errors.append(("e1_kev", "must be > 0 keV"))
    if not data.e1_kev < data.e2_kev:
        errors.append(("e2_kev", f"E1 ({data.e1_kev} keV) must be lower than E2 ({data.e2_kev} keV)"))
    if out["t1"] and out["t2"] and out["t1"] > out["t2"]:
        errors.append(("t2", "T1 must not be later than T2"))
    errors.extend(validate_position(data.ra, data.dec))
    for i, det in enumerate(data.detected_sources):
        errors.extend(validate_position(det.ra, det.dec, f"detected_sources.{i}."))
    if data.time_bin_s is not None and not data.time_bin_s > 0:
        errors.append(("time_bin_s", "must be > 0 s"))
    if not data.title.strip():
        errors.append(("title", "must not be blank"))
    if out["product_type"] and out["product_type"].family in SOURCE_FAMILIES and not data.sources:
        errors.append(("sources", f"a {out['product_type'].family} product needs at least one source"))
    if data.observation and not Observation.objects.filter(title=data.observation).exists():
        errors.append(("observation", f"no observation titled {data.observation!r}"))
    if errors:
        raise InvalidInput(errors)
    if out["t1"] is not None:
        out["rev1"], out["rev2"] = revolution_range(out["t1"], out["t2"])
    return out


def ensure_revolutions(rev1: int, rev2: int, data_version: str | None = None) -> None:
    """Create the Revolution rows of [rev1, rev2]; raise their data status to ``data_version``."""
    have = set(Revolution.objects.filter(number__gte=rev1, number__lte=rev2).values_list("number", flat=True))
    rows = []
    for n in range(rev1, rev2 + 1):
        if n not in have:
            start, end = revolution_bounds(n)
            rows.append(Revolution(number=n, start_utc=start, end_utc=end))
    Revolution.objects.bulk_create(rows, ignore_conflicts=True)
    if data_version == "CONS":
        Revolution.objects.filter(number__gte=rev1, number__lte=rev2).update(data_status="CONS")
    elif data_version == "NRT":
        Revolution.objects.filter(number__gte=rev1, number__lte=rev2, data_status="").update(data_status="NRT")


def _source_refs(data: ProductIn) -> list[dict]:
    return [{"name": ref} if isinstance(ref, str) else ref.model_dump() for ref in data.sources]


def post_product(payload: dict | ProductIn, uploads: list[Upload] = (), actor=None,
                 store: FileStore | None = None) -> Product:
    """Create a product, or a new version of the product with the same ``product_id``.

    Everything is validated first; files are staged and only stored when the database
    transaction commits, so a failed post leaves nothing behind.
    """
    data = payload if isinstance(payload, ProductIn) else parse_schema(ProductIn, payload)
    store = store or FileStore()
    with staged_files(store) as staged:
        files = check_uploads(store, list(uploads), settings.MAX_UPLOAD_BYTES, staged)
        files += _generated_preview(data, files, store, staged)
        with transaction.atomic():
            derived = _validate(data)
            sources = [link_source(ref, data.create_sources, f"sources.{i}")
                       for i, ref in enumerate(_source_refs(data))]
            product = _upsert(data, derived, actor)
            product.sources.set(sources, through_defaults=ProductSource.copied_columns(product))
            ProductSource.sync_object_types(product)
            version = ProductVersion.objects.create(product=product, number=product.version, metadata={},
                                                    created_by=actor)
            _attach_files(version, files, data.keep_files, product, store)
            _attach_detections(version, data)
            version.metadata = product_metadata(product, version)
            version.save(update_fields=["metadata"])
            ensure_revolutions(product.rev1, product.rev2, product.data_version if product.span == 0 else None)
    return product


def _generated_preview(data: ProductIn, files: list[CheckedFile], store: FileStore, staged: list) -> list[CheckedFile]:
    """A PNG preview made from the FITS files when the poster gave none (none when it cannot be made)."""
    if any(f.role == "preview" for f in files) or data.keep_files or not settings.SKYGALLERY.get("AUTO_PREVIEW"):
        return []
    ptype = ProductType.objects.filter(name=(data.product_type or "").strip().lower()).first()
    fits_paths = [f.staged.temp_path for f in files if f.role in ("fits", "rmf", "arf")]
    if ptype is None or not fits_paths:
        return []
    detected = [d.model_dump() for d in data.detected_sources]
    png = make_preview(fits_paths, ptype.family, data.title, detected)
    if png is None:
        return []
    item = store.stage([png])
    staged.append(item)
    name = f"{data.product_id or 'product'}_preview.png"
    return [CheckedFile("preview", name, "image/png", item)]


def _upsert(data: ProductIn, derived: dict, actor) -> Product:
    product_id = data.product_id or uuid.uuid4().hex
    product = Product.objects.select_for_update().filter(product_id=product_id).first()
    if product is None:
        product = Product(product_id=product_id, created_by=actor, version=1)
    else:
        product.version += 1
        product.deleted_at = None
    t1, t2 = derived["t1"], derived["t2"]
    observation = Observation.objects.filter(title=data.observation).first() if data.observation else None
    prov = data.provenance
    fields = dict(title=data.title.strip(), instrument=derived["instrument"], product_type=derived["product_type"],
                  e1_kev=data.e1_kev, e2_kev=data.e2_kev, t_start=t1, t_end=t2, rev1=derived["rev1"],
                  rev2=derived["rev2"], observation=observation, time_bin_s=data.time_bin_s,
                  data_version=data.data_version, highlight=data.highlight, notebook=prov.notebook,
                  repository_commit=prov.commit, parameters=prov.parameters, software=prov.software,
                  job_id=prov.job_id, updated_by=actor)
    for key, value in fields.items():
        setattr(product, key, value)
    product.set_position(data.ra, data.dec)
    product.save()
    return product


def _attach_files(version: ProductVersion, files, keep_files: bool, product: Product, store: FileStore) -> None:
    if keep_files and version.number > 1:
        previous = product.versions.get(number=version.number - 1)
        for f in previous.files.all():
            ProductFile.objects.create(version=version, role=f.role, original_name=f.original_name, size=f.size,
                                       sha256=f.sha256, mime=f.mime)
    for f in files:
        ProductFile.objects.create(version=version, role=f.role, original_name=f.name, size=f.staged.size,
                                   sha256=f.staged.sha256, mime=f.mime)
        store.commit_on_success(f.staged)


def _attach_detections(version: ProductVersion, data: ProductIn) -> None:
    rows = [DetectedSource(version=version, name=d.name.strip(), source=find_source(d.name), ra_deg=d.ra,
                           dec_deg=d.dec, flux=d.flux, flux_err=d.flux_err, significance=d.significance,
                           is_new=d.new_source) for d in data.detected_sources]
    DetectedSource.objects.bulk_create(rows)


def get_product(product_id: str, include_deleted: bool = False) -> Product:
    qs = Product.objects.select_related("instrument", "product_type", "observation")
    if not include_deleted:
        qs = qs.filter(deleted_at__isnull=True)
    product = qs.filter(product_id=product_id).first()
    if product is None:
        raise NotFound(f"no product with product_id {product_id!r}")
    return product


def get_version(product: Product, number: int | None = None) -> ProductVersion:
    number = product.version if number is None else number
    version = product.versions.filter(number=number).first()
    if version is None:
        raise NotFound(f"product {product.product_id!r} has no version {number}")
    return version


@transaction.atomic
def delete_product(product_id: str, actor=None) -> Product:
    """Soft delete: the product disappears from searches; its files stay until collected."""
    product = get_product(product_id)
    product.deleted_at = timezone.now()
    product.updated_by = actor
    product.save(update_fields=["deleted_at", "updated_by", "updated_at"])
    return product


def get_file(product_id: str, file_id: int) -> ProductFile:
    product = get_product(product_id)
    f = ProductFile.objects.filter(pk=file_id, version__product=product).first()
    if f is None:
        raise NotFound(f"product {product_id!r} has no file {file_id}")
    return f



def payload_from_metadata(meta: dict) -> dict:
    """A ProductIn payload that re-posts a version's metadata (its files carried over)."""
    prov = meta.get("provenance", {})
    detected = [{k: d[k] for k in ("name", "ra", "dec", "flux", "flux_err", "significance", "new_source")}
                for d in meta.get("detected_sources", [])]
    return {"product_id": meta["product_id"], "title": meta["title"], "instrument": meta["instrument"],
            "product_type": meta["product_type"], "e1_kev": meta["e1_kev"], "e2_kev": meta["e2_kev"],
            "t1": meta["t1"], "t2": meta["t2"], "ra": meta.get("ra"), "dec": meta.get("dec"),
            "sources": list(meta.get("sources", [])), "observation": meta.get("observation"),
            "time_bin_s": meta.get("time_bin_s"), "data_version": meta["data_version"],
            "highlight": meta["highlight"], "detected_sources": detected, "keep_files": True,
            "provenance": {k: prov.get(k, d) for k, d in (("notebook", ""), ("commit", ""), ("parameters", {}),
                                                          ("software", {}), ("job_id", ""))}}


def edit_product(product_id: str, changes: dict, actor=None) -> Product:
    """A new version with some fields changed (title, highlight, data version, ...) and the same files."""
    product = get_product(product_id)
    return post_product({**payload_from_metadata(get_version(product).metadata), **changes}, [], actor=actor)
