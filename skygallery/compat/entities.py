"""post_observation_to_gallery, post_astro_entity_to_gallery and post_revolution_processing_log_to_gallery."""
from __future__ import annotations

from datetime import datetime, timezone

from django.db import transaction

from skygallery.gallery.errors import Conflict, InvalidInput, NotFound
from skygallery.gallery.models import Observation, ProcessingLog, Source
from skygallery.gallery.services.filestore import FileStore
from skygallery.gallery.services.observations import post_observation, post_processing_log
from skygallery.gallery.services.resolver import find_source, resolve_offline_catalogs, resolve_simbad
from skygallery.gallery.services.sources import add_alias, create_source, update_source
from skygallery.gallery.services.timing import parse_time_field

from .forms import Fields, renamed

OBSERVATION_FIELDS = {"title", "t1", "t2", "obsid", "update_observation", "create_new", "expid", "pi",
                      "proposal_title", "target", "scw_list"}
ENTITY_FIELDS = {"src_name", "update_astro_entity", "auto_update", "source_ra", "source_dec", "object_type",
                 "object_ids", "src_portal_link"}
LOG_FIELDS = {"revolution_number", "sbatch_job_id", "log", "type"}


def full_time(dt: datetime) -> str:
    """ISOT in UTC with microseconds: a stored time read back without loss."""
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")


def observation_payload(obs: Observation, **overrides) -> dict:
    """ObservationIn of an existing observation, with some fields replaced (the service replaces them all)."""
    data = {"title": obs.title, "t1": full_time(obs.t_start), "t2": full_time(obs.t_end), "obsids": obs.obsids,
            "expid": obs.expid, "pi": obs.pi, "proposal_title": obs.proposal_title, "target": obs.target,
            "scw_list": obs.scw_list}
    data.update(overrides)
    return data


def default_observation_title(t1: datetime, t2: datetime) -> str:
    fmt = "%Y-%m-%dT%H:%M:%S"
    return f"observation_{t1.astimezone(timezone.utc):{fmt}}_{t2.astimezone(timezone.utc):{fmt}}"


def _comma_list(values: list[str]) -> list[str]:
    return [part.strip() for v in values for part in v.split(",") if part.strip()]


def _observation_changes(fields: Fields) -> dict:
    changes = {"t1": fields.text("t1"), "t2": fields.text("t2"), "expid": fields.text("expid"), "pi": fields.text("pi"),
               "proposal_title": fields.text("proposal_title"), "target": fields.text("target")}
    if fields.has("obsid"):
        changes["obsids"] = _comma_list(fields.items("obsid"))
    if fields.has("scw_list"):
        changes["scw_list"] = _comma_list(fields.items("scw_list"))
    return {k: v for k, v in changes.items() if v is not None}


OBSERVATION_NAMES = {"t1": "T1", "t2": "T2", "obsids": "obsid"}


def post_observation_form(fields: Fields, uploads: list, actor) -> Observation:
    """Create an observation; with ``update_observation`` update the one with that title (created when
    missing only with ``create_new``). Attachments sent with an update replace the previous ones."""
    fields.check_known(OBSERVATION_FIELDS)
    update, create_new = fields.flag("update_observation"), fields.flag("create_new")
    changes = _observation_changes(fields)
    title = fields.text("title")
    if title is None:
        if "t1" not in changes or "t2" not in changes:
            raise InvalidInput(("title", "give a title, or T1 and T2"))
        title = default_observation_title(parse_time_field(changes["t1"], "T1"), parse_time_field(changes["t2"], "T2"))
    existing = Observation.objects.filter(title=title).first()
    if existing is None and update and not create_new:
        raise NotFound(f"no observation titled {title!r} (set create_new=True to create it)")
    if existing is None and not ("t1" in changes and "t2" in changes):
        raise InvalidInput([(n, "required for a new observation") for n in ("T1", "T2") if n.lower() not in changes])
    payload = observation_payload(existing, **changes) if existing else {"title": title, **changes}
    try:
        obs, _ = post_observation(payload, uploads, actor=actor, update=update, replace_files=update and bool(uploads))
    except InvalidInput as exc:
        raise renamed(exc, lambda f: OBSERVATION_NAMES.get(f, f)) from None
    return obs


def observation_attachments(title: str | None, base: str) -> dict:
    """The YAML attachments of an observation: their URLs and their text (several as one YAML stream)."""
    if not title:
        raise InvalidInput(("title", "the observation title is required"))
    obs = Observation.objects.filter(title=title).first()
    if obs is None:
        raise NotFound(f"no observation titled {title!r}")
    store, files = FileStore(), []
    for f in obs.files.filter(role="yaml").order_by("id"):
        path = store.path(f.sha256)
        text = path.read_text("utf-8") if path.exists() else ""
        files.append({"name": f.original_name, "url": f"{base}/api/v1/observations/{obs.pk}/files/{f.pk}",
                      "content": text})
    if not files:
        return {"title": obs.title, "files": []}
    return {"title": obs.title, "file_path": [f["url"] for f in files],
            "file_content": "\n---\n".join(f["content"].strip() for f in files) + "\n", "files": files}


# ------------------------------------------------------------------------------------------- sources
def _resolved_values(name: str, source: Source | None) -> dict:
    """auto_update: position, type, aliases and link from the offline catalogs (SIMBAD when enabled)."""
    names = [name] + ([source.name] if source is not None and source.name != name else [])
    for candidate in names:
        found = resolve_offline_catalogs(candidate) or resolve_simbad(candidate)
        if found is not None:
            aliases = [a for a in [found.name, *found.aliases] if a]
            return {"ra": found.ra_deg, "dec": found.dec_deg, "object_type": found.object_type, "aliases": aliases,
                    "link": found.catalog_url, "canonical": found.name}
    raise InvalidInput(("src_name", f"{name!r} could not be resolved by the catalogs (auto_update)"))


def _given_values(fields: Fields, source: Source | None) -> dict:
    ra, dec = fields.number("source_ra"), fields.number("source_dec")
    if source is not None and (ra is None) != (dec is None):  # one coordinate updated, the other kept
        ra = source.ra_deg if ra is None else ra
        dec = source.dec_deg if dec is None else dec
    return {"ra": ra, "dec": dec, "object_type": fields.text("object_type"), "aliases": fields.items("object_ids"),
            "link": fields.text("src_portal_link")}


ENTITY_NAMES = {"ra": "source_ra", "dec": "source_dec", "name": "src_name", "aliases": "object_ids",
                "catalog_url": "src_portal_link"}


def _add_aliases(source: Source, aliases: list[str], skip_conflicts: bool) -> None:
    for alias in aliases:
        try:
            add_alias(source, alias, "object_ids")
        except Conflict:
            if not skip_conflicts:
                raise


@transaction.atomic
def post_astro_entity_form(fields: Fields) -> Source:
    """Create a source, or update it with ``update_astro_entity``; ``auto_update`` re-resolves it.
    Aliases (``object_ids``) arrive as a list and are kept one by one, never split on commas."""
    fields.check_known(ENTITY_FIELDS)
    name = fields.text("src_name")
    if name is None:
        raise InvalidInput(("src_name", "the source name is required"))
    source, auto = find_source(name), fields.flag("auto_update")
    if source is not None and not fields.flag("update_astro_entity"):
        raise Conflict(f"src_name: a source named {name!r} exists already (set update_astro_entity=True)")
    values = _resolved_values(name, source) if auto else _given_values(fields, source)
    try:
        if source is None:
            canonical = values.get("canonical") or name
            aliases = [a for a in [name, *values["aliases"]] if a != canonical]
            return create_source(canonical, values["ra"], values["dec"], values["object_type"] or "", aliases,
                                 values["link"] or "")
        update_source(source, ra_deg=values["ra"], dec_deg=values["dec"], object_type=values["object_type"],
                      catalog_url=values["link"])
        _add_aliases(source, values["aliases"], skip_conflicts=auto)
    except InvalidInput as exc:
        raise renamed(exc, lambda f: ENTITY_NAMES.get(f, f)) from None
    return source


LOG_NAMES = {"revolution": "revolution_number", "job_id": "sbatch_job_id", "status": "type", "text": "log"}


def post_log_form(fields: Fields, actor) -> ProcessingLog:
    fields.check_known(LOG_FIELDS)
    number = fields.number("revolution_number")
    if number is None or number != int(number):
        raise InvalidInput(("revolution_number", "a revolution number is required"))
    payload = {"revolution": int(number), "job_id": fields.text("sbatch_job_id") or "",
               "status": (fields.text("type") or "").lower(), "text": fields.text("log") or ""}
    try:
        return post_processing_log(payload, actor=actor)
    except InvalidInput as exc:
        raise renamed(exc, lambda f: LOG_NAMES.get(f, f)) from None
