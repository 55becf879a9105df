"""Gallery objects in the shapes the MMODA clients read: Drupal HAL-JSON nodes (``title: [{value}]``,
``created``/``changed``, ``field_*`` lists, ``_links.self.href`` and relation links) and the flat
``field_``-less rows of the product lists. Links point at our own pages and files."""
from __future__ import annotations

import json
from datetime import datetime, timezone

from skygallery.gallery.models import Observation, ProcessingLog, Product, Source
from skygallery.gallery.services.serialize import file_url, product_page_url, source_page_url
from skygallery.gallery.services.timing import isot

DRUPAL_DATE_FORMAT = "Y-m-d\\TH:i:sP"
FILE_FIELDS = {"preview": "field_image_png", "yaml": "field_attachments", "html-attachment": "field_html_file"}


def _v(value) -> list[dict]:
    return [{"value": value}]


def stamp(dt: datetime) -> str:
    """Drupal's date format, to the second, in UTC."""
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def _second(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")


def _node(kind: str, pk: int, title: str, created: datetime, changed: datetime, self_href: str, base: str) -> dict:
    return {"nid": _v(pk), "type": [{"target_id": kind}], "title": _v(title),
            "created": [{"value": stamp(created), "format": DRUPAL_DATE_FORMAT}],
            "changed": [{"value": stamp(changed), "format": DRUPAL_DATE_FORMAT}],
            "_links": {"self": {"href": self_href}, "type": {"href": f"{base}/rest/type/node/{kind}"}}}


def _relate(node: dict, base: str, kind: str, field: str, hrefs: list[str], values: list[dict]) -> None:
    if hrefs:
        node["_links"][f"{base}/rest/relation/node/{kind}/{field}"] = [{"href": h} for h in hrefs]
        node[field] = values


def product_node(p: Product, base: str) -> dict:
    """A product as the node ``post_product_to_gallery`` answers with (created == changed on the first post)."""
    version = p.current_version()
    changed = p.created_at if p.version == 1 else version.created_at
    node = _node("data_product", p.pk, p.title, p.created_at, changed, base + product_page_url(p.product_id), base)
    optional = {"field_ra": p.ra_deg, "field_dec": p.dec_deg, "field_time_bin": p.time_bin_s,
                "field_produced_by": p.notebook or None, "field_job_id": p.job_id or None,
                "field_additional_information": f"parameters = {json.dumps(p.parameters)}" if p.parameters else None}
    node.update({"field_product_id": _v(p.product_id), "field_version": _v(p.version), "field_e1_kev": _v(p.e1_kev),
                 "field_e2_kev": _v(p.e2_kev), "field_in_evidence": _v(p.highlight),
                 "field_data_version": _v(p.data_version),
                 "field_timerange": [{"value": isot(p.t_start), "end_value": isot(p.t_end)}],
                 "field_rev1": _v(p.rev1), "field_rev2": _v(p.rev2), "field_span_rev": _v(p.span),
                 **{k: _v(v) for k, v in optional.items() if v is not None}})
    _relate(node, base, "data_product", "field_instrumentused", [f"{base}/api/v1/instruments"],
            [{"target_id": p.instrument_id, "value": p.instrument.name}])
    _relate(node, base, "data_product", "field_data_product_type", [f"{base}/api/v1/product-types"],
            [{"target_id": p.product_type_id, "value": p.product_type.name}])
    sources = list(p.sources.all())
    _relate(node, base, "data_product", "field_describes_astro_entity",
            [base + source_page_url(s.name) for s in sources], [{"target_id": s.pk, "value": s.name} for s in sources])
    if p.observation_id:
        _relate(node, base, "data_product", "field_derived_from_observation", [f"{base}/revolutions/{p.rev1}/"],
                [{"target_id": p.observation_id, "value": p.observation.title}])
    by_field: dict[str, list] = {}
    for f in version.files.order_by("id"):
        by_field.setdefault(FILE_FIELDS.get(f.role, "field_fits_file"), []).append(f)
    for field, files in by_field.items():
        urls = [base + file_url(p.product_id, f.pk) for f in files]
        _relate(node, base, "data_product", field, urls,
                [{"target_id": f.pk, "value": f.original_name, "url": u} for f, u in zip(files, urls)])
    return node


def product_row(p: Product, base: str, preview_id: int | None = None) -> dict:
    """One product of a product list (keys without ``field_``; ``ra``/``dec`` only when known, since the
    client computes separations from every row that has them)."""
    row = {"nid": p.pk, "title": p.title, "product_id": p.product_id, "instrumentused": p.instrument.name,
           "data_product_type": p.product_type.name, "family": p.product_type.family, "e1_kev": p.e1_kev,
           "e2_kev": p.e2_kev, "t1": isot(p.t_start), "t2": isot(p.t_end), "rev1": p.rev1, "rev2": p.rev2,
           "span_rev": p.span, "time_bin": p.time_bin_s, "in_evidence": p.highlight, "data_version": p.data_version,
           "version": p.version, "describes_astro_entity": p.source_names,
           "derived_from_observation": p.observation.title if p.observation_id else "",
           "produced_by": p.notebook, "job_id": p.job_id, "url": base + product_page_url(p.product_id),
           "image_png": base + file_url(p.product_id, preview_id) if preview_id else "",
           "created": stamp(p.created_at), "changed": stamp(p.updated_at)}
    if p.ra_deg is not None and p.dec_deg is not None:
        row["ra"], row["dec"] = p.ra_deg, p.dec_deg
    return row


def observation_node(o: Observation, base: str) -> dict:
    node = _node("observation", o.pk, o.title, o.created_at, o.updated_at, f"{base}/revolutions/{o.rev1}/", base)
    node.update({"field_timerange": [{"value": _second(o.t_start), "end_value": _second(o.t_end)}],
                 "field_rev1": _v(o.rev1), "field_rev2": _v(o.rev2), "field_span_rev": _v(o.span),
                 "field_obsid": [{"value": str(x)} for x in o.obsids]})
    files = list(o.files.order_by("id"))
    urls = [f"{base}/api/v1/observations/{o.pk}/files/{f.pk}" for f in files]
    _relate(node, base, "observation", "field_attachments", urls,
            [{"target_id": f.pk, "value": f.original_name, "url": u} for f, u in zip(files, urls)])
    return node


def source_node(s: Source, base: str) -> dict:
    node = _node("astro_entity", s.pk, s.name, s.created_at, s.updated_at, base + source_page_url(s.name), base)
    aliases = s.aliases
    node.update({"field_source_name": _v(s.name), "field_object_type": _v(s.object_type),
                 "field_alternative_names_long_str": _v(", ".join(aliases)),
                 "field_alternative_names": [{"value": a} for a in aliases], "field_link": _v(s.catalog_url)})
    if s.ra_deg is not None:
        node.update({"field_source_ra": _v(s.ra_deg), "field_source_dec": _v(s.dec_deg)})
    return node


def entity_info(s: Source, base: str) -> dict:
    """``get_astro_entity_info_by_source_name``: the source node's fields without ``field_`` and lists."""
    aliases = s.aliases
    return {"nid": s.pk, "title": s.name, "source_name": s.name, "source_ra": s.ra_deg, "source_dec": s.dec_deg,
            "object_type": s.object_type, "alternative_names_long_str": ", ".join(aliases),
            "alternative_names": aliases, "link": s.catalog_url, "url": base + source_page_url(s.name),
            "url_preview": base + source_page_url(s.name)}


def log_node(log: ProcessingLog, base: str) -> dict:
    n = log.revolution_id
    node = _node("revolution_processing_log", log.pk, f"rev. {n:04d} {log.status}", log.created_at, log.created_at,
                 f"{base}/revolutions/{n}/", base)
    node.update({"field_revolution_number": _v(n), "field_sbatch_job_id": _v(log.job_id), "field_log": _v(log.text),
                 "field_type": _v(log.status)})
    return node
