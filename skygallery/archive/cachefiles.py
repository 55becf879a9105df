"""What the on-disk caches of per-ScW results share (the binned cubes here, the pipeline's ScW cache).

* ``atomic_write``: entries are written to a temporary name in their folder and renamed into
  place, so an entry exists only when complete (an interrupted write leaves a ``.tmp-*`` file);
* ``data_version``: NRT or CONS from a ScW id's version (``.000`` is NRT);
* ``input_identity``: size and modification time of an input file, part of every cache key, so
  that a re-written archive (e.g. a new simulation) never hits entries made from the old one;
* ``software_version``: skygallery's version, part of every cache key.
"""
from __future__ import annotations

import functools
import os
import secrets
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

__all__ = ["atomic_write", "data_version", "input_identity", "software_version"]


def atomic_write(path: str | os.PathLike, write: Callable[[Path], object]) -> Path:
    """Call ``write(tmp_path)`` then rename the temporary file to ``path`` (same folder)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".tmp-{secrets.token_hex(6)}-{path.name}")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def data_version(scw_id: str) -> str:
    """"NRT" for a ScW id of version 000, "CONS" for a later one, "" without a version."""
    version = str(scw_id).partition(".")[2]
    return "NRT" if version == "000" else "CONS" if version else ""


def input_identity(path: str | os.PathLike) -> list[int] | None:
    """[size in bytes, modification time in ns] of ``path``; None when it cannot be read."""
    try:
        st = Path(path).stat()
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns]


@functools.lru_cache(maxsize=1)
def software_version() -> str:
    """The installed skygallery version (read once per process)."""
    try:
        return metadata.version("skygallery")
    except metadata.PackageNotFoundError:
        return "unknown"
