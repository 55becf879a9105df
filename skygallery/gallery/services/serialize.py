"""Plain-dict views of gallery objects, shared by the API, the page views and the CLI."""
from __future__ import annotations

from urllib.parse import quote

from ..models import Observation, Product, ProductFile, ProductVersion, Source
from .listing import ListedProduct
from .timing import isot


def file_url(product_id: str, file_id: int) -> str:
    return f"/api/v1/products/{quote(product_id, safe='')}/files/{file_id}"


def product_page_url(product_id: str) -> str:
    return f"/products/{quote(product_id, safe='')}/"


def source_page_url(name: str) -> str:
    return f"/sources/{quote(name, safe='')}/"


def file_dict(f: ProductFile, product_id: str) -> dict:
    return {"id": f.pk, "role": f.role, "name": f.original_name, "size": f.size, "sha256": f.sha256,
            "mime": f.mime, "url": file_url(product_id, f.pk)}


def product_summary(p: Product | ListedProduct) -> dict:
    """The fields of a search result (a listed product, or a model instance for one product)."""
    return {
        "product_id": p.product_id, "title": p.title, "instrument": p.instrument.name,
        "product_type": p.product_type.name, "family": p.product_type.family,
        "e1_kev": p.e1_kev, "e2_kev": p.e2_kev, "t1": isot(p.t_start), "t2": isot(p.t_end),
        "rev1": p.rev1, "rev2": p.rev2, "span": p.span, "ra": p.ra_deg, "dec": p.dec_deg,
        "sources": p.source_names,
        "observation": p.observation.title if p.observation_id else None,
        "time_bin_s": p.time_bin_s, "data_version": p.data_version, "highlight": p.highlight,
        "version": p.version, "url": product_page_url(p.product_id),
        "created_at": isot(p.created_at), "updated_at": isot(p.updated_at),
    }


def product_metadata(p: Product, version: ProductVersion) -> dict:
    """Everything about one version of a product (stored as that version's snapshot)."""
    data = product_summary(p)
    data.update({
        "version": version.number,
        "provenance": {"notebook": p.notebook, "commit": p.repository_commit, "parameters": p.parameters,
                       "software": p.software, "job_id": p.job_id},
        "files": [file_dict(f, p.product_id) for f in version.files.all()],
        "detected_sources": [
            {"name": d.name, "source": d.source.name if d.source_id else None, "ra": d.ra_deg, "dec": d.dec_deg,
             "flux": d.flux, "flux_err": d.flux_err, "significance": d.significance, "new_source": d.is_new}
            for d in version.detected_sources.select_related("source")],
        "created_by": p.created_by.username if p.created_by_id else None,
        "version_created_at": isot(version.created_at),
        "version_created_by": version.created_by.username if version.created_by_id else None,
    })
    return data


def version_summary(v: ProductVersion) -> dict:
    return {"number": v.number, "created_at": isot(v.created_at),
            "created_by": v.created_by.username if v.created_by_id else None,
            "title": v.metadata.get("title"), "data_version": v.metadata.get("data_version"),
            "n_files": len(v.metadata.get("files", []))}


def source_dict(s: Source, with_counts: bool = False) -> dict:
    data = {"name": s.name, "aliases": s.aliases, "ra": s.ra_deg, "dec": s.dec_deg, "object_type": s.object_type,
            "catalog_url": s.catalog_url, "url": source_page_url(s.name)}
    if with_counts:
        data["n_products"] = s.products.filter(deleted_at__isnull=True).count()
    return data


def observation_dict(o: Observation) -> dict:
    return {"id": o.pk, "title": o.title, "obsids": o.obsids, "expid": o.expid, "pi": o.pi,
            "proposal_title": o.proposal_title, "target": o.target, "t1": isot(o.t_start), "t2": isot(o.t_end),
            "rev1": o.rev1, "rev2": o.rev2, "span": o.span, "scw_list": o.scw_list, "n_scw": len(o.scw_list),
            "files": [{"id": f.pk, "role": f.role, "name": f.original_name, "size": f.size, "sha256": f.sha256,
                       "mime": f.mime, "url": f"/api/v1/observations/{o.pk}/files/{f.pk}"} for f in o.files.all()]}
