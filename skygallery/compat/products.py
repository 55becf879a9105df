"""post_product_to_gallery and delete_product_to_gallery: the client's form as a gallery product.

A post with a known ``product_id`` makes a new version that starts from the current one (as Drupal patches
a node): fields and file groups that are not sent are kept. ``observation_id`` names an observation;
otherwise T1/T2 link the product to the observation with those times (to the second), created if needed.
Everything (observation, new sources, product, files) is written in one transaction.
"""
from __future__ import annotations

import json
import re
import uuid
from contextlib import ExitStack
from datetime import datetime, timedelta

from django.db import transaction

from skygallery.gallery.errors import InvalidInput
from skygallery.gallery.models import Observation, Product
from skygallery.gallery.services.observations import post_observation
from skygallery.gallery.services.products import delete_product, post_product
from skygallery.gallery.services.resolver import find_source, resolve
from skygallery.gallery.services.sources import create_source
from skygallery.gallery.services.timing import parse_time_field
from skygallery.science.names import normalise_name

from .entities import default_observation_title, full_time, observation_payload
from .files import carried_files, file_error_field, posted_files
from .forms import Fields, renamed, split_names
from .tables import parse_detected_sources, parse_parameters

PRODUCT_FIELDS = {"content_type", "product_title", "product_id", "observation_id", "insert_new_source", "instrument",
                  "product_type", "src_name", "e1_kev", "e2_kev", "ra", "dec", "t1", "t2", "obsid", "time_bin",
                  "produced_by", "job_id", "in_evidence", "additional_information", "detected_sources", "data_version",
                  "entity_portal_link_list", "source_coord_list", "object_ids_list", "object_type_list",
                  # applied by the client itself (through resolve_name) before it posts; no effect here
                  "validate_source", "force_insert_not_valid_new_source", "apply_fields_source_resolution"}
CLIENT_NAMES = {"title": "product_title", "observation": "observation_id", "highlight": "in_evidence",
                "time_bin_s": "time_bin", "provenance.notebook": "produced_by", "provenance.job_id": "job_id",
                "provenance.parameters": "additional_information", "sources": "src_name",
                "create_sources": "insert_new_source", "t1": "T1", "t2": "T2", "ra": "RA", "dec": "DEC"}
_INDEXED = re.compile(r"^(sources|detected_sources)\.(\d+)(.*)$")


def _client_name(fields: Fields, field: str) -> str:
    """The client's name for a field of ProductIn named in an error."""
    m = _INDEXED.match(field)
    if m:
        return f"{'src_name' if m[1] == 'sources' else 'detected_sources'}[{m[2]}]{m[3]}"
    if field.startswith("files."):
        return file_error_field(field)
    if field in ("ra", "dec", "t1", "t2") and field in fields.sent:
        return fields.name(field)
    return CLIENT_NAMES.get(field, field)


def _current_state(p: Product) -> dict:
    """ProductIn of the product's latest version: what an update starts from."""
    version = p.current_version()
    return {"product_id": p.product_id, "title": p.title, "instrument": p.instrument.name,
            "product_type": p.product_type.name, "e1_kev": p.e1_kev, "e2_kev": p.e2_kev,
            "t1": full_time(p.t_start), "t2": full_time(p.t_end), "ra": p.ra_deg, "dec": p.dec_deg,
            "sources": p.source_names,
            "observation": p.observation.title if p.observation_id else None, "time_bin_s": p.time_bin_s,
            "data_version": p.data_version, "highlight": p.highlight,
            "provenance": {"notebook": p.notebook, "commit": p.repository_commit, "parameters": p.parameters,
                           "software": p.software, "job_id": p.job_id},
            "detected_sources": [{"name": d.name, "ra": d.ra_deg, "dec": d.dec_deg, "flux": d.flux,
                                  "flux_err": d.flux_err, "significance": d.significance, "new_source": d.is_new}
                                 for d in version.detected_sources.all()]}


def _default_title(fields: Fields) -> str:
    """As the MMODA gallery names untitled products: source and type, either, or a random name."""
    parts = [x for x in (fields.text("src_name"), fields.text("product_type")) if x]
    return "_".join(parts) if parts else f"data_product_{uuid.uuid4()}"


def _detected(text: str) -> list[dict]:
    """The detected-sources table: the client's HTML, or a JSON list of rows (checked by ProductIn)."""
    if text.lstrip().startswith("["):
        try:
            rows = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidInput(("detected_sources", f"not valid JSON: {exc.msg}")) from None
        return rows if isinstance(rows, list) else [rows]
    return parse_detected_sources(text)


def _form_payload(fields: Fields, base: dict, groups: set[str]) -> dict:
    """ProductIn from the form over ``base`` (the current state of an updated product, else empty)."""
    p = dict(base)
    p["product_id"] = fields.text("product_id")
    p["title"] = fields.text("product_title") or base.get("title") or _default_title(fields)
    for key in ("instrument", "product_type", "data_version", "t1", "t2"):
        if fields.has(key):
            p[key] = fields.text(key)
    for key, target in (("e1_kev", "e1_kev"), ("e2_kev", "e2_kev"), ("ra", "ra"), ("dec", "dec"),
                        ("time_bin", "time_bin_s")):
        if fields.has(key):
            p[target] = fields.number(key)
    p["highlight"] = fields.flag("in_evidence", base.get("highlight", False))
    p["create_sources"] = fields.flag("insert_new_source")
    prov = dict(base.get("provenance", {}))
    if fields.has("produced_by"):
        prov["notebook"] = fields.text("produced_by")
    if fields.has("job_id"):
        prov["job_id"] = fields.text("job_id")
    if fields.has("additional_information"):
        prov["parameters"] = parse_parameters(fields.text("additional_information"))
    p["provenance"] = prov
    if fields.has("detected_sources"):
        p["detected_sources"] = _detected(fields.text("detected_sources"))
    elif "fits_file" in groups:
        p["detected_sources"] = []  # a new image without a table has no detections of the old one
    return p


def _add_obsids(obs: Observation, obsids: list[str], actor) -> None:
    missing = [o for o in obsids if o not in obs.obsids]
    if missing:
        post_observation(observation_payload(obs, obsids=obs.obsids + missing), actor=actor, update=True)


def _observation_for_times(t1: datetime, t2: datetime, obsids: list[str], actor) -> Observation:
    """The observation whose times equal T1 and T2 to the second, else a new one named after them."""
    s1, s2, second = t1.replace(microsecond=0), t2.replace(microsecond=0), timedelta(seconds=1)
    obs = (Observation.objects.filter(t_start__gte=s1, t_start__lt=s1 + second, t_end__gte=s2, t_end__lt=s2 + second)
           .order_by("id").first())
    title = default_observation_title(t1, t2)
    obs = obs or Observation.objects.filter(title=title).first()
    if obs is None:
        return post_observation({"title": title, "t1": full_time(t1), "t2": full_time(t2), "obsids": obsids},
                                actor=actor, update=False)[0]
    _add_obsids(obs, obsids, actor)
    return obs


def _observation(fields: Fields, p: dict, actor) -> str | None:
    obsids = [x.strip() for v in fields.items("obsid") for x in v.split(",") if x.strip()]
    title = fields.text("observation_id")
    if title:
        obs = Observation.objects.filter(title=title).first()
        if obs is None:
            raise InvalidInput(("observation_id", f"no observation titled {title!r}"))
        if not fields.has("t1") and "t1" not in p:  # a product without times takes its observation's
            p["t1"], p["t2"] = full_time(obs.t_start), full_time(obs.t_end)
        _add_obsids(obs, obsids, actor)
        return title
    if fields.has("t1") and fields.has("t2"):
        t1 = parse_time_field(p["t1"], fields.name("t1"))
        t2 = parse_time_field(p["t2"], fields.name("t2"))
        if t1 > t2:
            raise InvalidInput((fields.name("t2"), "T1 must not be later than T2"))
        return _observation_for_times(t1, t2, obsids, actor).title
    return p.get("observation")


def _position(coords: list, i: int, detection: dict | None) -> tuple[float, float] | None:
    given = coords[i] if i < len(coords) and isinstance(coords[i], dict) else {}
    if given.get("source_ra") is not None and given.get("source_dec") is not None:
        try:
            return float(given["source_ra"]), float(given["source_dec"])
        except (TypeError, ValueError):
            raise InvalidInput((f"source_coord_list[{i}]", "source_ra and source_dec must be numbers")) from None
    if detection is not None and all(isinstance(detection.get(k), (int, float)) for k in ("ra", "dec")):
        return detection["ra"], detection["dec"]
    return None


def _source_refs(fields: Fields, p: dict) -> list:
    """Sources of the product. Names we can resolve are linked through the gallery and the catalogs; an
    unknown name takes the position the client gives or that of the detection with that name, and with
    ``insert_new_source`` and no position at all it becomes a source without a position (as in MMODA)."""
    if not fields.has("src_name"):
        return p.get("sources", [])
    names = split_names(fields.values["src_name"], lambda n: find_source(n) is not None)
    coords = fields.json("source_coord_list") or []
    types = fields.json("object_type_list") or []
    ids = fields.json("object_ids_list") or []
    detected = {normalise_name(d.get("name", "")): d for d in p.get("detected_sources", []) if isinstance(d, dict)}
    refs = []
    for i, name in enumerate(names):
        ref: dict = {"name": name}
        if i < len(types) and isinstance(types[i], str) and types[i].strip():
            ref["object_type"] = types[i].strip()[:32]
        if i < len(ids) and isinstance(ids[i], list):
            ref["aliases"] = [str(a).strip() for a in ids[i] if str(a).strip()]
        if resolve(name) is None:
            position = _position(coords, i, detected.get(normalise_name(name)))
            if position is not None:
                ref["ra"], ref["dec"] = position
            elif p["create_sources"]:
                try:
                    create_source(name, None, None, ref.get("object_type", ""), ref.get("aliases", []))
                except InvalidInput as exc:
                    raise InvalidInput([(f"src_name[{i}]", msg) for _, msg in exc.errors]) from None
        refs.append(ref)
    return refs


def post_product_form(fields: Fields, files, actor) -> Product:
    fields.check_known(PRODUCT_FIELDS)
    if fields.text("content_type") not in (None, "data_product"):
        raise InvalidInput(("content_type", "only data_product can be posted here"))
    pid = fields.text("product_id")
    existing = Product.objects.filter(product_id=pid).first() if pid else None
    uploads, groups = posted_files(files)
    with ExitStack() as stack:
        if existing is not None:
            carried = carried_files(existing.current_version(), groups)
            for upload in carried:
                stack.callback(upload.stream.close)
            uploads += carried
        try:
            payload = _form_payload(fields, _current_state(existing) if existing else {}, groups)
            with transaction.atomic():
                payload["observation"] = _observation(fields, payload, actor)
                payload["sources"] = _source_refs(fields, payload)
                return post_product(payload, uploads, actor=actor)
        except InvalidInput as exc:
            raise renamed(exc, lambda f: _client_name(fields, f), {"create_sources": "insert_new_source"}) from None


def delete_product_form(fields: Fields, actor) -> dict:
    fields.check_known({"content_type", "product_id"})
    pid = fields.text("product_id")
    if pid is None:
        raise InvalidInput(("product_id", "the product_id of the product to delete is required"))
    delete_product(pid, actor=actor)
    return {}
