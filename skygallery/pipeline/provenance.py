"""Provenance of the products: which workflow or notebook made them, at which commit, with what.

Every product carries (the gallery's ``provenance`` field): ``notebook`` — the workflow module or
notebook path relative to the repository (``skygallery/pipeline/revolution.py``,
``notebooks/revolution_products.ipynb``); ``commit`` — the repository commit of that code;
``parameters`` — every input parameter, named as in the notebook's ``parameters`` cell, including
the data version and the ScW list the product was made from; ``software`` — package versions;
``job_id`` — the run (revolution, data version and a digest of the parameters).

The commit is read from the ``.git`` folder of the checkout (HEAD, loose or packed refs; no git
command is run), else from ``SKYGALLERY_COMMIT`` (set it when running from an installed package);
it is empty when neither is available.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from .config import software_versions

__all__ = ["WORKFLOW_REVOLUTION", "WORKFLOW_SOURCE", "Provenance", "repository_commit", "repository_root"]

WORKFLOW_REVOLUTION = "skygallery/pipeline/revolution.py"
WORKFLOW_SOURCE = "skygallery/pipeline/source.py"


def repository_root(start: str | os.PathLike | None = None) -> Path | None:
    """The nearest folder above ``start`` (default: this package) that has a ``.git``."""
    here = Path(start or __file__).resolve()
    for folder in [here, *here.parents]:
        if (folder / ".git").exists():
            return folder
    return None


def _git_dir(root: Path) -> Path:
    git = root / ".git"
    if git.is_file():   # worktree: "gitdir: <path>"
        text = git.read_text().strip()
        if text.startswith("gitdir:"):
            return (root / text.split(":", 1)[1].strip()).resolve()
    return git


def repository_commit(start: str | os.PathLike | None = None) -> str:
    """The commit checked out above ``start`` (module docstring), or ``SKYGALLERY_COMMIT``, or ""."""
    root = repository_root(start)
    if root is not None:
        try:
            git = _git_dir(root)
            head = (git / "HEAD").read_text().strip()
            if not head.startswith("ref:"):
                return head[:40]
            ref = head.split(":", 1)[1].strip()
            for base in (git, Path(str(git).split("/worktrees/")[0])):
                if (base / ref).is_file():
                    return (base / ref).read_text().strip()[:40]
                packed = base / "packed-refs"
                if packed.is_file():
                    for line in packed.read_text().splitlines():
                        if line.endswith(" " + ref):
                            return line.split()[0][:40]
        except OSError:
            pass
    return os.environ.get("SKYGALLERY_COMMIT", "").strip()[:40]


@dataclass
class Provenance:
    """What goes into each product's ``provenance`` (module docstring)."""

    notebook: str
    commit: str = ""
    parameters: dict = field(default_factory=dict)
    job_id: str = ""
    software: dict = field(default_factory=software_versions)

    @classmethod
    def for_workflow(cls, workflow: str, parameters: dict, job_id: str = "") -> Provenance:
        return cls(workflow, repository_commit(), dict(parameters), job_id)

    def with_parameters(self, **extra) -> Provenance:
        """A copy whose parameters add or override ``extra`` (e.g. the product's own ScW list)."""
        return Provenance(self.notebook, self.commit, {**self.parameters, **extra}, self.job_id, dict(self.software))

    def as_payload(self) -> dict:
        return {"notebook": self.notebook, "commit": self.commit, "parameters": self.parameters,
                "software": self.software, "job_id": self.job_id}
