"""Content-addressed file store: each distinct content is stored once, under its SHA-256.

Uploads are *staged* (hashed and copied to a temporary file inside the store) and only moved
to their final place when the database transaction that references them commits, so a
failed post leaves nothing behind. Uploaded names are metadata only, never paths.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterable

from django.conf import settings
from django.db import transaction

CHUNK = 1 << 20


@dataclass
class StagedFile:
    sha256: str
    size: int
    temp_path: Path
    head: bytes  # first bytes, for content sniffing


class FileStore:
    def __init__(self, root: Path | str | None = None):
        self.root = Path(root or settings.FILE_STORE)

    def path(self, sha256: str) -> Path:
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise ValueError("not a sha256 digest")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def exists(self, sha256: str) -> bool:
        return self.path(sha256).exists()

    def stage(self, stream: BinaryIO | Iterable[bytes], limit: int | None = None) -> StagedFile:
        """Copy ``stream`` (a file object or an iterable of chunks) to a temporary file, hashing it."""
        tmp_dir = self.root / "tmp"
        tmp_dir.mkdir(parents=True, exist_ok=True)
        digest, size, head = hashlib.sha256(), 0, b""
        fd, name = tempfile.mkstemp(dir=tmp_dir)
        chunks = iter(lambda: stream.read(CHUNK), b"") if hasattr(stream, "read") else stream
        try:
            with os.fdopen(fd, "wb") as out:
                for chunk in chunks:
                    size += len(chunk)
                    if limit is not None and size > limit:
                        raise OverflowError(f"file larger than {limit} bytes")
                    if len(head) < 4096:
                        head += chunk[: 4096 - len(head)]
                    digest.update(chunk)
                    out.write(chunk)
        except BaseException:
            os.unlink(name)
            raise
        return StagedFile(digest.hexdigest(), size, Path(name), head)

    def commit(self, staged: StagedFile) -> None:
        """Move a staged file to its final place (identical content is kept once)."""
        final = self.path(staged.sha256)
        if final.exists():
            staged.temp_path.unlink(missing_ok=True)
            return
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staged.temp_path, final)

    def discard(self, staged: StagedFile) -> None:
        staged.temp_path.unlink(missing_ok=True)

    def commit_on_success(self, staged: StagedFile) -> None:
        """Commit ``staged`` when the current transaction commits (at once outside a transaction).

        The caller discards its staged files when the transaction fails (see ``staged_files``).
        """
        transaction.on_commit(lambda: self.commit(staged))

    def put_bytes(self, data: bytes) -> str:
        staged = self.stage([data])
        self.commit(staged)
        return staged.sha256

    def stored_digests(self) -> Iterable[str]:
        for path in self.root.glob("??/??/*"):
            if path.is_file():
                yield path.name

    def remove(self, sha256: str) -> None:
        self.path(sha256).unlink(missing_ok=True)

    def clear_stale_temp(self, older_than_s: float = 3600.0) -> int:
        removed = 0
        for path in (self.root / "tmp").glob("*"):
            if time.time() - path.stat().st_mtime > older_than_s:
                path.unlink(missing_ok=True)
                removed += 1
        return removed


@contextmanager
def staged_files(store: FileStore):
    """Collect staged files; on an exception every one of them is discarded."""
    staged: list[StagedFile] = []
    try:
        yield staged
    except BaseException:
        for item in staged:
            store.discard(item)
        raise
