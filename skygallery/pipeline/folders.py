"""Product folders: the files of one gallery product on disk, with a manifest of their inputs.

``<work>/products/<product_id>/`` holds the product's files and ``manifest.json``::

    {"product_id": …, "inputs": "<digest of everything the files were made from>",
     "files": [[role, name], …], "data": {…results the workflow needs again…}}

The manifest is written last (atomically), after every file: a folder whose manifest names the
same input digest and whose files all exist is complete and is reused as is — a re-run makes no
new file, so the gallery sees the same SHA-256 and posts nothing. A new run with other inputs
(CONS after NRT) rewrites the folder and removes the files the new manifest does not list, so no
stale file is left behind.
"""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from .cache import atomic_write

__all__ = ["ProductFolder", "slug"]


def slug(text: str) -> str:
    """Lower-case ASCII words joined by ``-`` (``"GX 3+1"`` → ``gx-3p1``): product ids and file names."""
    text = str(text).lower().replace("+", "p").replace(".", "_")
    return re.sub(r"[^a-z0-9_]+", "-", text).strip("-") or "x"


class ProductFolder:
    """One product's folder (see the module docstring)."""

    def __init__(self, root: str | Path, product_id: str):
        self.product_id = product_id
        self.path = Path(root) / slug(product_id)

    @property
    def manifest_path(self) -> Path:
        return self.path / "manifest.json"

    def file(self, name: str) -> Path:
        """Where a file of this product is written (the folder is created)."""
        self.path.mkdir(parents=True, exist_ok=True)
        return self.path / name

    def manifest(self) -> dict | None:
        try:
            return json.loads(self.manifest_path.read_text())
        except (OSError, ValueError):
            return None

    def cached(self, inputs: str) -> dict | None:
        """The manifest when it was made from ``inputs`` and all its files exist, else None."""
        m = self.manifest()
        if not m or m.get("inputs") != inputs:
            return None
        if not all((self.path / name).is_file() for _, name in m.get("files", [])):
            return None
        return m

    def files(self, manifest: dict) -> list[tuple[str, str]]:
        """(role, path) of the files ``manifest`` (this folder's, as read or committed) names."""
        return [(role, str(self.path / name)) for role, name in manifest.get("files", [])]

    def commit(self, inputs: str, files: list[tuple[str, str]], data: dict) -> dict:
        """Record the folder as complete for ``inputs``; files not listed are removed."""
        keep = {name for _, name in files} | {"manifest.json"}
        for p in self.path.iterdir():
            if p.name not in keep:
                shutil.rmtree(p) if p.is_dir() else p.unlink()
        manifest = {"product_id": self.product_id, "inputs": inputs, "files": [list(f) for f in files], "data": data}
        atomic_write(self.manifest_path, lambda tmp: tmp.write_text(json.dumps(manifest, indent=1, default=float)))
        return manifest

    def remove(self) -> None:
        if self.path.is_dir():
            shutil.rmtree(self.path)
