"""The per-revolution summary attached to the gallery's observations (``obs_rev_NNNN.yaml``).

Modelled on MMODA's ``obs_rev_<rev>.yaml`` (see ``docs/pipeline.md``): a YAML list with one
entry per observation — ``title`` (target), ``extended_title`` (proposal), ``pi``, ``obsid``,
``expid``, ``RA``/``Dec`` (deg), ``tstart``/``tstop`` (UTC ISOT), ``scw_list``, the bands
``E1_isgri``/``E2_isgri``/``E1_jemx``/``E2_jemx`` (keV) and, per instrument,
``<inst>_fluxed_catalog`` (columns ``src_names``, ``ra``, ``dec``, ``significance``, ``FLUX``,
``FLUX_ERR`` (counts/s), ``ERR_RAD`` (deg), ``NEW_SOURCE`` (1 new, −32768 catalog), each a
{row: value} mapping as MMODA writes them), ``<inst>_source_catalog`` (the oda_api catalog JSON)
and ``<inst>_gallery_object`` (product id, title, page). Differences from MMODA: ScW ids are
strings with their version (MMODA's are floats, which lose it); added ``revolution``,
``data_version``, ``n_scw`` per instrument and ``software``.
"""
from __future__ import annotations

import json
from urllib.parse import quote

__all__ = ["observation_entry", "revolution_yaml", "yaml_name"]


def yaml_name(rev: int, data_version: str) -> str:
    """``obs_rev_NNNN.yaml`` for CONS, ``obs_rev_NNNN_nrt.yaml`` for NRT."""
    return f"obs_rev_{rev:04d}{'_nrt' if data_version == 'NRT' else ''}.yaml"


def _fluxed(detections: list[dict]) -> dict:
    cols = {"src_names": "name", "ra": "ra", "dec": "dec", "significance": "significance", "FLUX": "flux",
            "FLUX_ERR": "flux_err", "ERR_RAD": "err_rad_deg"}
    out = {col: {i: d.get(key) for i, d in enumerate(detections)} for col, key in cols.items()}
    out["NEW_SOURCE"] = {i: 1 if d["new_source"] else -32768 for i, d in enumerate(detections)}
    return out


def _source_catalog(detections: list[dict]) -> str:
    names = ["meta_ID", "src_names", "significance", "ra", "dec", "NEW_SOURCE", "ERR_RAD"]
    columns = [list(range(len(detections))), [d["name"] for d in detections],
               [d["significance"] for d in detections], [d["ra"] for d in detections],
               [d["dec"] for d in detections], [1 if d["new_source"] else -32768 for d in detections],
               [d["err_rad_deg"] for d in detections]]
    width = max([len(d["name"]) for d in detections] + [1])
    descr = [["meta_ID", "<i8"], ["src_names", f"<U{width}"], ["significance", "<f8"], ["ra", "<f8"],
             ["dec", "<f8"], ["NEW_SOURCE", "<i8"], ["ERR_RAD", "<f8"]]
    return json.dumps({"cat_frame": "fk5", "cat_coord_units": "deg", "cat_column_list": columns,
                       "cat_column_names": names, "cat_column_descr": descr, "cat_lat_name": "dec",
                       "cat_lon_name": "ra"})


def observation_entry(group, data_version: str, t1_isot: str, t2_isot: str, bands: dict, images: dict) -> dict:
    """One observation of the summary; ``images``: instrument → (ImageResult, product title, n_scw)."""
    entry = {"title": group.target, "extended_title": group.proposal, "pi": group.pi, "obsid": group.obsid,
             "expid": group.expid, "RA": round(group.ra_deg, 6), "Dec": round(group.dec_deg, 6),
             "tstart": t1_isot, "tstop": t2_isot, "revolution": group.rev, "data_version": data_version,
             "scw_list": group.scw_ids, "E1_isgri": bands["isgri"][0], "E2_isgri": bands["isgri"][1],
             "E1_jemx": bands["jemx"][0], "E2_jemx": bands["jemx"][1]}
    for inst, (result, title, n_scw) in images.items():
        entry[f"{inst}_n_scw"] = n_scw
        entry[f"{inst}_fluxed_catalog"] = _fluxed(result.detections) if result.detections else None
        entry[f"{inst}_source_catalog"] = _source_catalog(result.detections)
        entry[f"{inst}_gallery_object"] = {"product_id": result.product_id, "title": title, "instrument": inst,
                                           "url": f"/products/{quote(result.product_id, safe='')}/"}
    return entry


def revolution_yaml(entries: list[dict], software: dict) -> bytes:
    """The YAML document (bytes) of a revolution's observation entries."""
    import yaml
    for e in entries:
        e["software"] = software
    return yaml.safe_dump(entries, sort_keys=True, allow_unicode=True).encode()
