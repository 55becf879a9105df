"""Observations (with attached YAML/other files), revolutions and processing logs."""
from __future__ import annotations

from django.conf import settings
from django.db import transaction

from ..errors import InvalidInput, NotFound
from ..models import Observation, ObservationFile, ProcessingLog, Revolution
from ..schemas import ObservationIn, ProcessingLogIn, parse_schema
from .filestore import FileStore, staged_files
from .products import ensure_revolutions
from .timing import parse_time_field, revolution_range
from .uploads import Upload, check_uploads


def get_observation(title: str) -> Observation:
    obs = Observation.objects.filter(title=title).first()
    if obs is None:
        raise NotFound(f"no observation titled {title!r}")
    return obs


def post_observation(payload: dict | ObservationIn, uploads: list[Upload] = (), actor=None, update: bool = True,
                     replace_files: bool = False, store: FileStore | None = None) -> tuple[Observation, bool]:
    """Create an observation, or update the one with the same title when ``update``. Returns (obs, created)."""
    data = payload if isinstance(payload, ObservationIn) else parse_schema(ObservationIn, payload)
    t1 = parse_time_field(data.t1, "t1", data.time_format)
    t2 = parse_time_field(data.t2, "t2", data.time_format)
    if t1 > t2:
        raise InvalidInput(("t2", "T1 must not be later than T2"))
    rev1, rev2 = revolution_range(t1, t2)
    store = store or FileStore()
    with staged_files(store) as staged:
        files = check_uploads(store, list(uploads), settings.MAX_UPLOAD_BYTES, staged)
        with transaction.atomic():
            obs = Observation.objects.select_for_update().filter(title=data.title.strip()).first()
            created = obs is None
            if not created and not update:
                raise InvalidInput(("title", f"an observation titled {data.title!r} exists already"))
            obs = obs or Observation(title=data.title.strip(), created_by=actor)
            for key in ("obsids", "expid", "pi", "proposal_title", "target", "scw_list"):
                setattr(obs, key, getattr(data, key))
            obs.t_start, obs.t_end, obs.rev1, obs.rev2, obs.span = t1, t2, rev1, rev2, rev2 - rev1
            obs.save()
            if replace_files:
                obs.files.all().delete()
            for f in files:
                ObservationFile.objects.create(observation=obs, role=f.role, original_name=f.name,
                                               size=f.staged.size, sha256=f.staged.sha256, mime=f.mime)
                store.commit_on_success(f.staged)
            ensure_revolutions(rev1, rev2)
    return obs, created


def get_observation_file(obs_id: int, file_id: int) -> ObservationFile:
    f = ObservationFile.objects.filter(pk=file_id, observation_id=obs_id).first()
    if f is None:
        raise NotFound(f"observation {obs_id} has no file {file_id}")
    return f


def get_revolution(number: int) -> Revolution:
    if not 1 <= number <= 9999:
        raise InvalidInput(("number", "revolution numbers are 1..9999"))
    ensure_revolutions(number, number)
    return Revolution.objects.get(number=number)


@transaction.atomic
def set_revolution_status(number: int, data_status: str) -> Revolution:
    rev = get_revolution(number)
    rev.data_status = data_status
    rev.save(update_fields=["data_status", "updated_at"])
    return rev


@transaction.atomic
def post_processing_log(payload: dict | ProcessingLogIn, actor=None) -> ProcessingLog:
    data = payload if isinstance(payload, ProcessingLogIn) else parse_schema(ProcessingLogIn, payload)
    rev = get_revolution(data.revolution)
    return ProcessingLog.objects.create(revolution=rev, job_id=data.job_id, status=data.status, text=data.text,
                                        created_by=actor)


def _given(qs, **lookups):
    """``qs`` filtered by the lookups whose value was given (None and "" mean "no filter")."""
    return qs.filter(**{k: v for k, v in lookups.items() if v not in (None, "")})


def list_revolutions(rev1: int | None = None, rev2: int | None = None, data_status: str | None = None):
    return _given(Revolution.objects.prefetch_related("logs"), number__gte=rev1, number__lte=rev2,
                  data_status=data_status)


def list_observations(rev1: int | None = None, rev2: int | None = None, title: str | None = None, limit: int = 1000):
    """Observations overlapping [rev1, rev2], optionally with ``title`` in their title."""
    return _given(Observation.objects.prefetch_related("files"), rev2__gte=rev1, rev1__lte=rev2,
                  title__icontains=title)[:limit]


def list_logs(revolution: int | None = None, status: str | None = None, limit: int = 100):
    return _given(ProcessingLog.objects.all(), revolution_id=revolution, status=status)[: max(1, min(limit, 1000))]
