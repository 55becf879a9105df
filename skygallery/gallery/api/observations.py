"""/api/v1 revolutions, observations (with files) and processing logs."""
from __future__ import annotations

from ninja import Status, Router

from ..errors import NotFound
from ..models import Observation, ProcessingLog, Revolution
from ..schemas import ProcessingLogIn, RevolutionIn
from ..services import observations as svc
from ..services.serialize import observation_dict
from ..services.timing import isot
from .auth import WRITE_AUTH, require_contributor
from .files import file_response
from .multipart import read_metadata_and_files

router = Router(tags=["observations and revolutions"])


def revolution_dict(rev: Revolution, with_detail: bool = False) -> dict:
    last = rev.logs.first()
    data = {"number": rev.number, "start": isot(rev.start_utc), "end": isot(rev.end_utc),
            "data_status": rev.data_status or None, "processing_status": last.status if last else None}
    if with_detail:
        data["observations"] = [observation_dict(o) for o in Observation.objects.filter(
            rev1__lte=rev.number, rev2__gte=rev.number).prefetch_related("files")]
        data["logs"] = [log_dict(log) for log in rev.logs.all()[:20]]
    return data


def log_dict(log: ProcessingLog) -> dict:
    return {"id": log.pk, "revolution": log.revolution_id, "job_id": log.job_id, "status": log.status,
            "text": log.text, "created_at": isot(log.created_at)}


@router.get("/revolutions", summary="Revolutions known to the gallery")
def revolutions(request, rev1: int | None = None, rev2: int | None = None, data_status: str | None = None):
    qs = svc.list_revolutions(rev1, rev2, data_status)
    return [revolution_dict(r) for r in qs]


@router.get("/revolutions/{number}", summary="One revolution: time span, status, observations, logs")
def revolution(request, number: int):
    return revolution_dict(svc.get_revolution(number), with_detail=True)


@router.put("/revolutions/{number}", auth=WRITE_AUTH, summary="Set a revolution's data status")
def set_revolution(request, number: int, data: RevolutionIn):
    require_contributor(request)
    return revolution_dict(svc.set_revolution_status(number, data.data_status))


@router.get("/observations", summary="Observations, optionally of a revolution range")
def observations(request, rev1: int | None = None, rev2: int | None = None, title: str | None = None):
    return [observation_dict(o) for o in svc.list_observations(rev1, rev2, title)]


@router.get("/observations/{obs_id}", summary="One observation")
def observation(request, obs_id: int):
    obs = Observation.objects.filter(pk=obs_id).first()
    if obs is None:
        raise NotFound(f"no observation {obs_id}")
    return observation_dict(obs)


@router.get("/observations/{obs_id}/files/{file_id}", summary="Download an observation's file")
def observation_file(request, obs_id: int, file_id: int):
    return file_response(svc.get_observation_file(obs_id, file_id), inline_ok=False)


@router.post("/observations", auth=WRITE_AUTH, response={200: dict, 201: dict},
             summary="Create an observation or update the one with the same title",
             openapi_extra={"requestBody": {"content": {"multipart/form-data": {"schema": {
                 "type": "object", "properties": {"metadata": {"type": "string"},
                                                  "yaml": {"type": "array", "items": {"type": "string",
                                                                                      "format": "binary"}}}}}}}})
def post_observation(request, update: bool = True, replace_files: bool = False):
    user = require_contributor(request)
    payload, uploads = read_metadata_and_files(request)
    obs, created = svc.post_observation(payload, uploads, actor=user, update=update, replace_files=replace_files)
    return Status((201 if created else 200), observation_dict(obs))


@router.get("/processing-logs", summary="Processing logs, newest first")
def logs(request, revolution: int | None = None, status: str | None = None, limit: int = 100):
    return [log_dict(log) for log in svc.list_logs(revolution, status, limit)]


@router.post("/processing-logs", auth=WRITE_AUTH, response={201: dict}, summary="Record a processing log")
def post_log(request, data: ProcessingLogIn):
    user = require_contributor(request)
    return Status(201, log_dict(svc.post_processing_log(data, actor=user)))
