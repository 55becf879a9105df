"""The on-disk cache of per-ScW intermediate results, and atomic file writing.

Layout: ``<root>/<RRRR>/<RRRRPPPPSSSF.VVV>/<instrument>/<kind>-<key>.<ext>`` where the version
``VVV`` of the ScW id carries the data version (000 NRT, 001+ CONS) and ``key`` is a digest of
everything the result depends on: ScW id, data version, instrument, energy band(s), the science
configuration and the software version (skygallery's and :data:`~.config.PIPELINE_VERSION`).
A changed input or a new software version therefore gives a new key, never a stale hit.

Files are written to a temporary name in the same folder and renamed into place, so an entry
exists only when it is complete: a pipeline killed mid-write leaves at most a ``.tmp-*`` file
(removed by the next write of that entry or by :meth:`ScwCache.clean_temporary`), and a re-run
recomputes exactly the entries that are missing.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

from skygallery.archive.cachefiles import atomic_write, data_version

from .config import PIPELINE_VERSION, digest, software_versions

__all__ = ["ScwCache", "atomic_write"]


class ScwCache:
    """Per-ScW cache entries under ``root`` (see the module docstring)."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        self.software = {"skygallery": software_versions()["skygallery"], "pipeline": PIPELINE_VERSION}

    def folder(self, scw_id: str, instrument: str) -> Path:
        return self.root / scw_id[:4] / scw_id / instrument

    def path(self, scw_id: str, instrument: str, kind: str, key: dict, ext: str) -> Path:
        """Where the ``kind`` result of one ScW and instrument for ``key`` lives (it may not exist yet)."""
        full = {"scw_id": scw_id, "data_version": data_version(scw_id),
                "instrument": instrument, "kind": kind, "software": self.software, **key}
        return self.folder(scw_id, instrument) / f"{kind}-{digest(full)}.{ext}"

    def purge(self, rev: int, data_version: str) -> int:
        """Remove every entry of revolution ``rev`` for ``data_version`` (NRT: ScW version 000); returns
        the number of ScW folders removed. Used once a revolution's CONS products have replaced NRT."""
        folder = self.root / f"{rev:04d}"
        if not folder.is_dir():
            return 0
        removed = 0
        for scw in folder.iterdir():
            version = scw.name.partition(".")[2]
            if scw.is_dir() and version and (version == "000") == (data_version == "NRT"):
                shutil.rmtree(scw)
                removed += 1
        return removed

    def clean_temporary(self, rev: int | None = None) -> int:
        """Remove ``.tmp-*`` files left by interrupted writes (of revolution ``rev`` only, if given);
        returns how many."""
        n = 0
        folder = self.root if rev is None else self.root / f"{rev:04d}"
        if folder.is_dir():
            for tmp in folder.rglob(".tmp-*"):
                tmp.unlink(missing_ok=True)
                n += 1
        return n
