"""Entry points shared by the command line, the notebooks and ``make demo``.

:func:`run_revolution` and :func:`run_source` take the notebook parameters by name (the names of the
``parameters`` cells of ``notebooks/revolution_products.ipynb`` and ``notebooks/source_products.ipynb``),
choose the executor (local pool or Dask), the publisher (the local gallery, or a remote SkyGallery
with a token) and the folders, and run the workflow.

Folders: the archive is ``archive`` or ``$SKYGALLERY_ARCHIVE``; the work folder (per-ScW cache,
product files, locks) is ``workdir`` or ``$SKYGALLERY_WORKDIR`` or ``$SKYGALLERY_HOME/pipeline``
(``~/.skygallery/pipeline``). Execution settings (archive, work folder, gallery, token, workers,
Dask) are not science parameters: they are not recorded in the products' provenance, and a token
never is.
"""
from __future__ import annotations

import os
from pathlib import Path

from .config import PipelineConfig

__all__ = [
    "NOTEBOOK_REVOLUTION",
    "NOTEBOOK_SOURCE",
    "default_workdir",
    "make_publisher",
    "resolve_archive",
    "run_revolution",
    "run_source",
]

NOTEBOOK_REVOLUTION = "notebooks/revolution_products.ipynb"
NOTEBOOK_SOURCE = "notebooks/source_products.ipynb"


def default_workdir(workdir: str | os.PathLike | None = None) -> Path:
    if workdir:
        return Path(workdir).expanduser()
    if os.environ.get("SKYGALLERY_WORKDIR"):
        return Path(os.environ["SKYGALLERY_WORKDIR"]).expanduser()
    return Path(os.environ.get("SKYGALLERY_HOME", Path.home() / ".skygallery")).expanduser() / "pipeline"


def resolve_archive(archive: str | os.PathLike | None = None) -> Path:
    """The archive root: ``archive``, else ``$SKYGALLERY_ARCHIVE`` (ValueError naming ``archive``)."""
    value = str(archive or os.environ.get("SKYGALLERY_ARCHIVE", "")).strip()
    if not value:
        raise ValueError("archive: give the archive folder (--archive or SKYGALLERY_ARCHIVE)")
    path = Path(value).expanduser()
    if not path.is_dir():
        raise ValueError(f"archive: {path} is not a folder")
    return path


def make_publisher(gallery_url: str = "", token: str = "", as_user: str = "", session=None):
    """A :class:`~.publish.RemotePublisher` for ``gallery_url`` (token from the argument or
    ``$SKYGALLERY_TOKEN``), else a :class:`~.publish.LocalPublisher` acting as ``as_user``."""
    from .publish import LocalPublisher, RemotePublisher
    if gallery_url:
        return RemotePublisher(gallery_url, token or os.environ.get("SKYGALLERY_TOKEN") or None, session=session)
    return LocalPublisher.for_user(as_user)


def _executor(workers, dask_address):
    from .executors import make_executor
    return make_executor(int(workers) if workers else None, dask_address or None)


def _config(params: dict, catalog: str | None) -> PipelineConfig:
    cat = catalog if catalog is not None else os.environ.get("SKYGALLERY_CATALOG", "")
    return PipelineConfig.from_parameters(params, catalog=cat or "")


def run_revolution(rev_num: int, data_version: str = "CONS", archive: str = "", workdir: str = "",
                   gallery_url: str = "", token: str = "", as_user: str = "", workers: int | None = None,
                   dask_address: str = "", scw_list=(), notebook: str | None = None, progress=None,
                   publisher=None, executor=None, catalog: str | None = None, force: bool = False, **science):
    """Process one revolution (:func:`.revolution.process_revolution`) with the notebook's parameters."""
    from .provenance import WORKFLOW_REVOLUTION
    from .revolution import process_revolution
    config = _config(science, catalog)
    unknown = set(science) - set(config.parameters())
    if unknown:
        raise ValueError(f"{min(unknown)}: unknown parameter (known: {', '.join(config.parameters())})")
    if str(data_version).upper() not in ("NRT", "CONS"):
        raise ValueError(f"data_version: must be NRT or CONS, got {data_version!r}")
    arch = resolve_archive(archive)
    pub = publisher or make_publisher(gallery_url, token, as_user)
    ex = executor or _executor(workers, dask_address)
    try:
        return process_revolution(int(rev_num), data_version, arch, default_workdir(workdir), pub, config, ex, progress,
                                  notebook or WORKFLOW_REVOLUTION, list(scw_list or ()), force=force)
    finally:
        if executor is None:
            ex.close()


def run_source(src_name: str, T1: str = "", T2: str = "", RA: float | None = None, DEC: float | None = None,
               archive: str = "", workdir: str = "", gallery_url: str = "", token: str = "", as_user: str = "",
               workers: int | None = None, dask_address: str = "", scw_list=(), notebook: str | None = None,
               progress=None, publisher=None, executor=None, catalog: str | None = None, **science):
    """Long-term products of one source (:func:`.source.process_source`) with the notebook's parameters."""
    from .provenance import WORKFLOW_SOURCE
    from .source import process_source
    config = _config(science, catalog)
    unknown = set(science) - set(config.parameters())
    if unknown:
        raise ValueError(f"{min(unknown)}: unknown parameter (known: {', '.join(config.parameters())})")
    arch = resolve_archive(archive)
    pub = publisher or make_publisher(gallery_url, token, as_user)
    ex = executor or _executor(workers, dask_address)
    ra = None if RA in (None, "") else float(RA)
    dec = None if DEC in (None, "") else float(DEC)
    try:
        return process_source(src_name, arch, default_workdir(workdir), pub, config, ex, progress, T1 or None,
                              T2 or None, ra, dec, notebook or WORKFLOW_SOURCE, scw_list=list(scw_list or ()))
    finally:
        if executor is None:
            ex.close()

